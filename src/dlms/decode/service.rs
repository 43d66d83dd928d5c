//! The fields of xDLMS service APDUs (GET, SET, ACTION, event-notification), for the tree:
//! invoke-id, attribute or method descriptors, access selection, data, results. Values are
//! decoded by `xdlms::Apdu` first, so the tree never says more than the codec accepted.

use super::data::data_node;
use super::tree::Node;
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::xdlms::DataAccessResult;

/// The field nodes of a GET/SET/ACTION/event-notification APDU, or `None` for other APDUs
/// and forms these fields are not read for.
pub fn fields(bytes: &[u8]) -> Option<Vec<Node>> {
    let mut f = Fields {
        r: Reader::new(bytes),
        bytes,
        nodes: Vec::new(),
    };
    let ok = match bytes {
        [0xC0, 1, ..] => f.get_request_normal(),
        [0xC0, 2, ..] => f.get_request_next(),
        [0xC0, 3, ..] => f.get_request_with_list(),
        [0xC4, 1, ..] => f.get_response_normal(),
        [0xC4, 2, ..] => f.get_response_with_block(),
        [0xC4, 3, ..] => f.get_response_with_list(),
        [0xC1, 1, ..] => f.set_request_normal(),
        [0xC5, 1, ..] => f.set_response_normal(),
        [0xC3, 1, ..] => f.action_request_normal(),
        [0xC7, 1, ..] => f.action_response_normal(),
        [0xC2, ..] => f.event_notification(),
        _ => return None,
    };
    (ok.is_ok() && f.r.is_empty()).then_some(f.nodes)
}

struct Fields<'a> {
    r: Reader<'a>,
    bytes: &'a [u8],
    nodes: Vec<Node>,
}

type Step = Result<(), DecodeError>;

impl Fields<'_> {
    /// A leaf over the bytes read by `f`.
    fn leaf<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Reader) -> Result<T, DecodeError>,
        text: impl FnOnce(&T) -> String,
    ) -> Result<T, DecodeError> {
        let at = self.r.position();
        let v = f(&mut self.r)?;
        self.nodes.push(Node::leaf(
            name,
            &self.bytes[at..self.r.position()],
            text(&v),
        ));
        Ok(v)
    }

    fn head(&mut self, service: &'static str) -> Step {
        self.leaf("tag", |r| r.u8("tag"), |_| String::new())?;
        self.leaf("choice", |r| r.u8("choice"), |_| service.to_string())?;
        self.leaf(
            "invoke-id-and-priority",
            |r| r.u8("invoke-id-and-priority"),
            |b| {
                format!(
                    "invoke id {}, {}, {}",
                    b & 0x0F,
                    if b & 0x40 != 0 {
                        "confirmed"
                    } else {
                        "unconfirmed"
                    },
                    if b & 0x80 != 0 {
                        "high priority"
                    } else {
                        "normal priority"
                    }
                )
            },
        )?;
        Ok(())
    }

    fn descriptor(&mut self, last: &'static str) -> Step {
        self.leaf("class-id", |r| r.u16("class-id"), u16::to_string)?;
        self.leaf(
            "instance-id",
            |r| r.array::<6>("instance-id"),
            |b| format!("{}.{}.{}.{}.{}.{}", b[0], b[1], b[2], b[3], b[4], b[5]),
        )?;
        self.leaf(last, |r| r.u8(last), |a| (*a as i8).to_string())?;
        Ok(())
    }

    fn access_selection(&mut self) -> Step {
        let present = self.leaf(
            "access-selection",
            |r| r.u8("access-selection"),
            |p| if *p == 0 { "none" } else { "given" }.to_string(),
        )?;
        if present != 0 {
            self.leaf(
                "access-selector",
                |r| r.u8("access-selector"),
                u8::to_string,
            )?;
            self.data("access-parameters")?;
        }
        Ok(())
    }

    fn data(&mut self, name: &'static str) -> Step {
        let (node, _) = data_node(&mut self.r, name)?;
        self.nodes.push(node);
        Ok(())
    }

    fn dar(&mut self) -> Step {
        self.leaf(
            "data-access-result",
            |r| r.u8("data-access-result"),
            |d| DataAccessResult::from_u8(*d).to_string(),
        )?;
        Ok(())
    }

    /// get-data-result: `00 data` or `01 data-access-result`.
    fn get_data_result(&mut self) -> Step {
        let choice = self.leaf(
            "result",
            |r| r.u8("result"),
            |c| {
                if *c == 0 {
                    "data"
                } else {
                    "data-access-result"
                }
                .to_string()
            },
        )?;
        if choice == 0 {
            self.data("data")
        } else {
            self.dar()
        }
    }

    fn get_request_normal(&mut self) -> Step {
        self.head("get-request-normal")?;
        self.descriptor("attribute-id")?;
        self.access_selection()
    }

    fn get_request_next(&mut self) -> Step {
        self.head("get-request-next")?;
        self.leaf("block-number", |r| r.u32("block-number"), u32::to_string)?;
        Ok(())
    }

    fn get_request_with_list(&mut self) -> Step {
        self.head("get-request-with-list")?;
        let n = self.leaf("count", |r| r.length("count"), usize::to_string)?;
        for _ in 0..n {
            self.descriptor("attribute-id")?;
            self.access_selection()?;
        }
        Ok(())
    }

    fn get_response_normal(&mut self) -> Step {
        self.head("get-response-normal")?;
        self.get_data_result()
    }

    fn get_response_with_block(&mut self) -> Step {
        self.head("get-response-with-datablock")?;
        self.leaf(
            "last-block",
            |r| r.u8("last-block"),
            |b| (*b != 0).to_string(),
        )?;
        self.leaf("block-number", |r| r.u32("block-number"), u32::to_string)?;
        let choice = self.leaf(
            "result",
            |r| r.u8("result"),
            |c| {
                if *c == 0 {
                    "raw-data"
                } else {
                    "data-access-result"
                }
                .to_string()
            },
        )?;
        if choice == 0 {
            let len = self.leaf(
                "raw-data length",
                |r| r.length("raw-data length"),
                usize::to_string,
            )?;
            self.leaf(
                "raw-data",
                |r| r.bytes(len, "raw-data").map(<[u8]>::to_vec),
                |_| String::new(),
            )?;
            Ok(())
        } else {
            self.dar()
        }
    }

    fn get_response_with_list(&mut self) -> Step {
        self.head("get-response-with-list")?;
        let n = self.leaf("count", |r| r.length("count"), usize::to_string)?;
        for _ in 0..n {
            self.get_data_result()?;
        }
        Ok(())
    }

    fn set_request_normal(&mut self) -> Step {
        self.head("set-request-normal")?;
        self.descriptor("attribute-id")?;
        self.access_selection()?;
        self.data("value")
    }

    fn set_response_normal(&mut self) -> Step {
        self.head("set-response-normal")?;
        self.dar()
    }

    fn action_request_normal(&mut self) -> Step {
        self.head("action-request-normal")?;
        self.descriptor("method-id")?;
        let present = self.leaf(
            "method-invocation-parameters",
            |r| r.u8("parameters"),
            |p| if *p == 0 { "none" } else { "given" }.to_string(),
        )?;
        if present != 0 {
            self.data("parameters")?;
        }
        Ok(())
    }

    fn action_response_normal(&mut self) -> Step {
        self.head("action-response-normal")?;
        self.leaf(
            "action-result",
            |r| r.u8("action-result"),
            |d| DataAccessResult::from_u8(*d).to_string(),
        )?;
        let present = self.leaf(
            "return-parameters",
            |r| r.u8("return-parameters"),
            |p| if *p == 0 { "none" } else { "given" }.to_string(),
        )?;
        if present != 0 {
            self.get_data_result()?;
        }
        Ok(())
    }

    fn event_notification(&mut self) -> Step {
        self.leaf(
            "tag",
            |r| r.u8("tag"),
            |_| "event-notification-request".into(),
        )?;
        let present = self.leaf(
            "time",
            |r| r.u8("time"),
            |p| if *p == 0 { "not given" } else { "given" }.to_string(),
        )?;
        if present != 0 {
            let len = self.leaf("time length", |r| r.length("time length"), usize::to_string)?;
            self.leaf(
                "time value",
                |r| r.bytes(len, "time").map(<[u8]>::to_vec),
                |b| {
                    crate::dlms::datetime::CosemDateTime::from_octets(b)
                        .map_or_else(String::new, |t| t.to_string())
                },
            )?;
        }
        self.descriptor("attribute-id")?;
        self.data("attribute-value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::unhex;
    use proptest::prelude::*;

    #[test]
    fn get_request_and_response_fields() {
        let n = fields(&unhex("C0 01 C1 00 03 01 00 01 08 00 FF 02 00")).unwrap();
        let names: Vec<&str> = n.iter().map(|n| n.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "tag",
                "choice",
                "invoke-id-and-priority",
                "class-id",
                "instance-id",
                "attribute-id",
                "access-selection"
            ]
        );
        assert_eq!(n[4].value, "1.0.1.8.0.255");
        let n = fields(&unhex("C4 01 C1 00 06 00 00 04 62")).unwrap();
        assert_eq!(n.last().unwrap().value, "double-long-unsigned 1122");
        let n = fields(&unhex("C4 01 C1 01 04")).unwrap();
        assert!(
            n.last().unwrap().value.contains("object-undefined")
                || !n.last().unwrap().value.is_empty()
        );
        assert!(fields(&unhex("C4 01 C1 00 06 00")).is_none());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(tag in prop::sample::select(vec![0xC0u8, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC7]), b in proptest::collection::vec(any::<u8>(), 0..60)) {
            let mut v = vec![tag];
            v.extend_from_slice(&b);
            let _ = fields(&v);
        }
    }
}
