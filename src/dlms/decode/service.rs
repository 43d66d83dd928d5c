//! The fields of the xDLMS services (GET, SET, ACTION requests and responses) as tree nodes:
//! what was asked for, the values sent and returned, each result. The Trace view shows them.

use super::data::data_node;
use super::tree::Node;
use crate::dlms::axdr::Reader;
use crate::dlms::data::Data;
use crate::dlms::xdlms::{
    ActionRequest, ActionResponse, Apdu, GetDataResult, GetRequest, GetResponse, SetRequest,
    SetResponse,
};

/// The nodes under an APDU's header: its fields decoded, or nothing for other APDUs.
pub fn service_nodes(apdu: &Apdu) -> Vec<Node> {
    let mut out = Vec::new();
    let invoke = |id: u8| {
        Node::leaf(
            "invoke-id-and-priority",
            &[id],
            format!(
                "invoke id {}, {}, {}",
                id & 0x0F,
                if id & 0x40 != 0 {
                    "confirmed"
                } else {
                    "unconfirmed"
                },
                if id & 0x80 != 0 {
                    "high priority"
                } else {
                    "normal priority"
                }
            ),
        )
    };
    match apdu {
        Apdu::GetRequest(r) => match r {
            GetRequest::Normal {
                invoke_id,
                attribute,
                access,
            } => {
                out.push(invoke(*invoke_id));
                out.push(Node::leaf("attribute", &[], attribute.to_string()));
                if let Some(a) = access {
                    out.push(Node::leaf(
                        "selective access",
                        &[],
                        format!("selector {}", a.selector),
                    ));
                }
            }
            GetRequest::Next {
                invoke_id,
                block_number,
            } => {
                out.push(invoke(*invoke_id));
                out.push(Node::leaf("block number", &[], block_number.to_string()));
            }
            GetRequest::WithList {
                invoke_id,
                attributes,
            } => {
                out.push(invoke(*invoke_id));
                for (i, (a, access)) in attributes.iter().enumerate() {
                    let sel = access
                        .as_ref()
                        .map(|a| format!(", selector {}", a.selector))
                        .unwrap_or_default();
                    out.push(Node::leaf(
                        format!("attribute {}", i + 1),
                        &[],
                        format!("{a}{sel}"),
                    ));
                }
            }
        },
        Apdu::GetResponse(r) => match r {
            GetResponse::Normal { invoke_id, result } => {
                out.push(invoke(*invoke_id));
                out.push(result_node("result", result));
            }
            GetResponse::WithDataBlock {
                invoke_id,
                last_block,
                block_number,
                result,
            } => {
                out.push(invoke(*invoke_id));
                out.push(Node::leaf("last block", &[], last_block.to_string()));
                out.push(Node::leaf("block number", &[], block_number.to_string()));
                out.push(match result {
                    Ok(raw) => Node::leaf("raw data", raw, format!("{} bytes", raw.len())),
                    Err(e) => Node::leaf("data-access-result", &[], e.to_string()),
                });
            }
            GetResponse::WithList { invoke_id, results } => {
                out.push(invoke(*invoke_id));
                for (i, r) in results.iter().enumerate() {
                    out.push(result_node(format!("result {}", i + 1), r));
                }
            }
        },
        Apdu::SetRequest(SetRequest::Normal {
            invoke_id,
            attribute,
            value,
            ..
        }) => {
            out.push(invoke(*invoke_id));
            out.push(Node::leaf("attribute", &[], attribute.to_string()));
            out.push(value_node("value", value));
        }
        Apdu::SetResponse(SetResponse::Normal { invoke_id, result }) => {
            out.push(invoke(*invoke_id));
            out.push(Node::leaf("result", &[], result.to_string()));
        }
        Apdu::ActionRequest(ActionRequest::Normal {
            invoke_id,
            method,
            parameters,
        }) => {
            out.push(invoke(*invoke_id));
            out.push(Node::leaf("method", &[], method.to_string()));
            if let Some(p) = parameters {
                out.push(value_node("parameter", p));
            }
        }
        Apdu::ActionResponse(ActionResponse::Normal {
            invoke_id,
            result,
            return_parameters,
        }) => {
            out.push(invoke(*invoke_id));
            out.push(Node::leaf("result", &[], result.to_string()));
            if let Some(r) = return_parameters {
                out.push(result_node("return data", r));
            }
        }
        _ => {}
    }
    out
}

/// A value as its tree (tags, lengths, every element), named `name`.
fn value_node(name: impl Into<String>, d: &Data) -> Node {
    let name = name.into();
    let b = d.to_bytes();
    match data_node(&mut Reader::new(&b), name.clone()) {
        Ok((n, _)) => n,
        Err(_) => Node::leaf(name, &b, d.to_string()),
    }
}

fn result_node(name: impl Into<String>, r: &GetDataResult) -> Node {
    match r {
        GetDataResult::Data(d) => value_node(name, d),
        GetDataResult::Error(e) => Node::leaf(name.into(), &[], format!("data-access-result: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::decode::{decode_frame, Keys};

    #[test]
    fn get_set_and_action_show_what_was_asked_and_what_came_back() {
        // GET-response with-list: a date-time octet string, and an error.
        let apdu = [
            0xC4, 0x03, 0xC1, 0x02, 0x00, 0x06, 0x00, 0x00, 0x04, 0xD2, 0x01, 0x04,
        ];
        let text = decode_frame(&apdu, &Keys::default())
            .unwrap()
            .tree
            .to_text();
        assert!(text.contains("result 1") && text.contains("1234"), "{text}");
        assert!(
            text.contains("result 2: data-access-result: object undefined"),
            "{text}"
        );
        // SET-request normal of 1.0.1.8.0.255:2 = double-long-unsigned 123456.
        let set = crate::dlms::xdlms::SetRequest::Normal {
            invoke_id: 0xC1,
            attribute: crate::dlms::xdlms::AttributeDescriptor {
                class_id: 3,
                instance: crate::dlms::obis::Obis::new(1, 0, 1, 8, 0, 255),
                attribute: 2,
            },
            access: None,
            value: Data::DoubleLongUnsigned(123_456),
        }
        .encode();
        let text = decode_frame(&set, &Keys::default()).unwrap().tree.to_text();
        assert!(
            text.contains("1.0.1.8.0.255") && text.contains("123456"),
            "{text}"
        );
        assert!(
            text.contains("invoke id 1, confirmed, high priority"),
            "{text}"
        );
    }
}
