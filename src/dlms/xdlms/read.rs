//! ReadRequest / ReadResponse (short-name referencing).

use super::codec::{read_octets, read_seq, write_octets, write_seq};
use super::dar::DataAccessResult;
use super::error::{decode_apdu, expect_tag, ApduError};
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::data::Data;

/// Variable-Access-Specification: what one item of a READ or WRITE addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum VariableAccess {
    /// `02 <name>`: an attribute by short name.
    Name(u16),
    /// `04 <name> <selector> <Data>`: an attribute with selective access, or a method call.
    Parameterized {
        /// Short name.
        name: u16,
        /// Access selector.
        selector: u8,
        /// Selector parameters.
        parameters: Data,
    },
    /// `05 <block>`: the next block of a long read (the last block received).
    BlockNumber(u16),
}

/// A READ request.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRequest(pub Vec<VariableAccess>);

/// One Read-Data-Result.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadResult {
    /// `00 <Data>`: the value.
    Data(Data),
    /// `01 <DAR>`: the access failed.
    Error(DataAccessResult),
    /// `02 <last> <block u16> <len raw>`: one block of a long result.
    DataBlock {
        /// True for the last block.
        last_block: bool,
        /// Block number, starting at 1.
        block_number: u16,
        /// The raw block, to concatenate.
        raw: Vec<u8>,
    },
}

/// A READ response: one result per requested item.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadResponse(pub Vec<ReadResult>);

/// Smallest encoded Variable-Access-Specification.
pub(crate) const VARIABLE_ACCESS_MIN_LEN: usize = 3;

impl VariableAccess {
    /// Appends the A-XDR form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            VariableAccess::Name(n) => {
                out.push(2);
                out.extend_from_slice(&n.to_be_bytes());
            }
            VariableAccess::Parameterized {
                name,
                selector,
                parameters,
            } => {
                out.push(4);
                out.extend_from_slice(&name.to_be_bytes());
                out.push(*selector);
                parameters.encode(out);
            }
            VariableAccess::BlockNumber(b) => {
                out.push(5);
                out.extend_from_slice(&b.to_be_bytes());
            }
        }
    }

    /// Reads the A-XDR form.
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let at = r.position();
        Ok(match r.u8("variable-access choice")? {
            2 => VariableAccess::Name(r.u16("variable-name")?),
            4 => VariableAccess::Parameterized {
                name: r.u16("variable-name")?,
                selector: r.u8("selector")?,
                parameters: Data::decode(r)?,
            },
            5 => VariableAccess::BlockNumber(r.u16("block-number")?),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "variable-access choice",
                    tag,
                    at,
                })
            }
        })
    }
}

impl ReadRequest {
    /// APDU tag.
    pub const TAG: u8 = 0x05;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_seq(&mut out, &self.0, VariableAccess::encode);
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("READ-request", bytes, |r| {
            expect_tag(r, Self::TAG, "READ-request")?;
            Ok(ReadRequest(read_seq(
                r,
                "variable count",
                VARIABLE_ACCESS_MIN_LEN,
                VariableAccess::decode,
            )?))
        })
    }
}

impl ReadResult {
    /// Appends the A-XDR form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ReadResult::Data(d) => {
                out.push(0);
                d.encode(out);
            }
            ReadResult::Error(e) => out.extend_from_slice(&[1, e.to_u8()]),
            ReadResult::DataBlock {
                last_block,
                block_number,
                raw,
            } => {
                out.extend_from_slice(&[2, u8::from(*last_block)]);
                out.extend_from_slice(&block_number.to_be_bytes());
                write_octets(out, raw);
            }
        }
    }

    /// Reads the A-XDR form.
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let at = r.position();
        Ok(match r.u8("Read-Data-Result choice")? {
            0 => ReadResult::Data(Data::decode(r)?),
            1 => ReadResult::Error(DataAccessResult::from_u8(r.u8("data-access-result")?)),
            2 => ReadResult::DataBlock {
                last_block: r.u8("last-block")? != 0,
                block_number: r.u16("block-number")?,
                raw: read_octets(r, "raw-data")?,
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "Read-Data-Result choice",
                    tag,
                    at,
                })
            }
        })
    }
}

impl ReadResponse {
    /// APDU tag.
    pub const TAG: u8 = 0x0C;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_seq(&mut out, &self.0, ReadResult::encode);
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("READ-response", bytes, |r| {
            expect_tag(r, Self::TAG, "READ-response")?;
            Ok(ReadResponse(read_seq(
                r,
                "result count",
                2,
                ReadResult::decode,
            )?))
        })
    }
}

/// Encodes a one-item READ response from already-encoded Data bytes (`0C 01 00 <data>`).
pub fn encode_read_response_single_raw(data_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data_bytes.len() + 3);
    out.extend_from_slice(&[ReadResponse::TAG, 1, 0]);
    out.extend_from_slice(data_bytes);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use proptest::prelude::*;

    /// wrapper_sn_none: the SN association object_list (read of 0xFA08).
    const OBJECT_LIST: &str = "\
0C0100010C02041000A0120008110009060000010000FF02041000E01200011100090600002A0000FF02041000F01200\
01110009060000600100FF0204100100120003110009060100010800FF0204100118120003110009060100020800FF02\
04100130120003110009060100200700FF02041001481200031100090601001F0700FF02041001601200031100090601\
00150700FF0204100178120004110009060100010600FF02041001A0120005110009060100010400FF02041001E81200\
07110009060100630100FF020410FA0012000C110009060000280000FF";

    #[test]
    fn notes_and_trace_vectors() {
        let req = ReadRequest(vec![VariableAccess::Name(0x0108)]);
        assert_eq!(req.encode(), unhex("05 01 02 01 08"));
        assert_eq!(ReadRequest::decode(&unhex("05 01 02 01 08")).unwrap(), req);
        assert_eq!(
            ReadRequest::decode(&unhex("050102FA08")).unwrap(),
            ReadRequest(vec![VariableAccess::Name(0xFA08)])
        );
        assert_eq!(
            ReadResponse::decode(&unhex("0C010006000F4240")).unwrap(),
            ReadResponse(vec![ReadResult::Data(Data::DoubleLongUnsigned(1_000_000))])
        );
        assert_eq!(
            ReadResponse::decode(&unhex("0C010002020F00161E")).unwrap(),
            ReadResponse(vec![ReadResult::Data(Data::Structure(vec![
                Data::Integer(0),
                Data::Enum(30)
            ]))])
        );
        let next = ReadRequest(vec![VariableAccess::BlockNumber(2)]);
        assert_eq!(next.encode(), unhex("05 01 05 00 02"));
    }

    #[test]
    fn sn_object_list() {
        let b = unhex(OBJECT_LIST);
        let resp = ReadResponse::decode(&b).unwrap();
        assert_eq!(resp.encode(), b);
        let [ReadResult::Data(Data::Array(objects))] = &resp.0[..] else {
            panic!()
        };
        assert_eq!(objects.len(), 12);
        let Data::Structure(first) = &objects[0] else {
            panic!()
        };
        assert_eq!(first[0], Data::Long(0xA0));
        assert_eq!(first[1], Data::LongUnsigned(8));
        assert_eq!(first[3].as_obis().unwrap().to_string(), "0.0.1.0.0.255");
        let Data::Structure(last) = &objects[11] else {
            panic!()
        };
        assert_eq!(last[0], Data::Long(0xFA00u16 as i16));
        assert_eq!(last[1], Data::LongUnsigned(12));
        // The raw encoder gives the same bytes.
        assert_eq!(encode_read_response_single_raw(&b[3..]), b);
    }

    #[test]
    fn block_and_error_results() {
        let b = unhex("0C 02 01 04 02 01 0003 02 AABB");
        let resp = ReadResponse::decode(&b).unwrap();
        assert_eq!(
            resp,
            ReadResponse(vec![
                ReadResult::Error(DataAccessResult::ObjectUndefined),
                ReadResult::DataBlock {
                    last_block: true,
                    block_number: 3,
                    raw: vec![0xAA, 0xBB]
                }
            ])
        );
        assert_eq!(resp.encode(), b);
        let e = ReadRequest::decode(&unhex("05 01 03 01 08"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("READ-request") && e.contains("variable-access choice 0x03"),
            "{e}"
        );
    }

    pub fn arb_variable_access() -> impl Strategy<Value = VariableAccess> {
        prop_oneof![
            any::<u16>().prop_map(VariableAccess::Name),
            (any::<u16>(), any::<u8>(), arb_data()).prop_map(|(name, selector, parameters)| {
                VariableAccess::Parameterized {
                    name,
                    selector,
                    parameters,
                }
            }),
            any::<u16>().prop_map(VariableAccess::BlockNumber),
        ]
    }

    fn arb_read_result() -> impl Strategy<Value = ReadResult> {
        prop_oneof![
            arb_data().prop_map(ReadResult::Data),
            any::<u8>().prop_map(|v| ReadResult::Error(DataAccessResult::from_u8(v))),
            (
                any::<bool>(),
                any::<u16>(),
                proptest::collection::vec(any::<u8>(), 0..300)
            )
                .prop_map(|(last_block, block_number, raw)| ReadResult::DataBlock {
                    last_block,
                    block_number,
                    raw
                }),
        ]
    }

    proptest! {
        #[test]
        fn request_round_trip(x in proptest::collection::vec(arb_variable_access(), 0..4)) {
            let x = ReadRequest(x);
            prop_assert_eq!(ReadRequest::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn response_round_trip(x in proptest::collection::vec(arb_read_result(), 0..4)) {
            let x = ReadResponse(x);
            prop_assert_eq!(ReadResponse::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            for tag in [ReadRequest::TAG, ReadResponse::TAG] {
                let mut v = vec![tag];
                v.extend_from_slice(&b);
                let _ = ReadRequest::decode(&v);
                let _ = ReadResponse::decode(&v);
            }
        }
    }
}
