//! GET-Request / GET-Response (LN referencing), including block transfer and with-list.

use super::codec::{read_octets, read_seq, write_octets, write_seq};
use super::dar::DataAccessResult;
use super::descriptor::{
    decode_with_selection, encode_with_selection, AttributeDescriptor, AttributeWithSelection,
    SelectiveAccess, DESCRIPTOR_LEN,
};
use super::error::{decode_apdu, expect_tag, ApduError};
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::data::Data;

/// A GET request; `invoke_id` is the whole Invoke-Id-And-Priority byte (e.g. 0xC1).
#[derive(Debug, Clone, PartialEq)]
pub enum GetRequest {
    /// Read one attribute.
    Normal {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The attribute.
        attribute: AttributeDescriptor,
        /// Selective access (profile buffers).
        access: Option<SelectiveAccess>,
    },
    /// Ask for the block after `block_number` (the last one received).
    Next {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// Number of the last block received.
        block_number: u32,
    },
    /// Read several attributes at once.
    WithList {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The attributes.
        attributes: Vec<AttributeWithSelection>,
    },
}

/// Get-Data-Result: a value or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum GetDataResult {
    /// The value.
    Data(Data),
    /// The access failed.
    Error(DataAccessResult),
}

/// A GET response.
#[derive(Debug, Clone, PartialEq)]
pub enum GetResponse {
    /// The whole result.
    Normal {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The result.
        result: GetDataResult,
    },
    /// One block of a long result: raw bytes to concatenate, or an error.
    WithDataBlock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// True for the last block.
        last_block: bool,
        /// Block number, starting at 1.
        block_number: u32,
        /// The raw block or the error that ended the transfer.
        result: Result<Vec<u8>, DataAccessResult>,
    },
    /// One result per requested attribute.
    WithList {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The results, in request order.
        results: Vec<GetDataResult>,
    },
}

impl GetDataResult {
    /// Appends `00 <Data>` or `01 <DAR>`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            GetDataResult::Data(d) => {
                out.push(0);
                d.encode(out);
            }
            GetDataResult::Error(e) => out.extend_from_slice(&[1, e.to_u8()]),
        }
    }

    /// Reads `00 <Data>` or `01 <DAR>`.
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let at = r.position();
        match r.u8("Get-Data-Result choice")? {
            0 => Ok(GetDataResult::Data(Data::decode(r)?)),
            1 => Ok(GetDataResult::Error(DataAccessResult::from_u8(
                r.u8("data-access-result")?,
            ))),
            tag => Err(DecodeError::UnknownTag {
                what: "Get-Data-Result choice",
                tag,
                at,
            }),
        }
    }
}

impl GetRequest {
    /// APDU tag.
    pub const TAG: u8 = 0xC0;

    /// The Invoke-Id-And-Priority byte.
    pub fn invoke_id(&self) -> u8 {
        let (GetRequest::Normal { invoke_id, .. }
        | GetRequest::Next { invoke_id, .. }
        | GetRequest::WithList { invoke_id, .. }) = self;
        *invoke_id
    }

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        match self {
            GetRequest::Normal {
                invoke_id,
                attribute,
                access,
            } => {
                out.extend_from_slice(&[1, *invoke_id]);
                attribute.encode(&mut out);
                SelectiveAccess::encode_optional(access.as_ref(), &mut out);
            }
            GetRequest::Next {
                invoke_id,
                block_number,
            } => {
                out.extend_from_slice(&[2, *invoke_id]);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            GetRequest::WithList {
                invoke_id,
                attributes,
            } => {
                out.extend_from_slice(&[3, *invoke_id]);
                write_seq(&mut out, attributes, encode_with_selection);
            }
        }
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("GET-request", bytes, |r| {
            expect_tag(r, Self::TAG, "GET-request")?;
            let at = r.position();
            let choice = r.u8("GET-request type")?;
            let invoke_id = r.u8("invoke-id-and-priority")?;
            Ok(match choice {
                1 => GetRequest::Normal {
                    invoke_id,
                    attribute: AttributeDescriptor::decode(r)?,
                    access: SelectiveAccess::decode_optional(r)?,
                },
                2 => GetRequest::Next {
                    invoke_id,
                    block_number: r.u32("block-number")?,
                },
                3 => GetRequest::WithList {
                    invoke_id,
                    attributes: read_seq(
                        r,
                        "attribute count",
                        DESCRIPTOR_LEN + 1,
                        decode_with_selection,
                    )?,
                },
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "GET-request type",
                        tag,
                        at,
                    })
                }
            })
        })
    }
}

impl GetResponse {
    /// APDU tag.
    pub const TAG: u8 = 0xC4;

    /// The Invoke-Id-And-Priority byte.
    pub fn invoke_id(&self) -> u8 {
        let (GetResponse::Normal { invoke_id, .. }
        | GetResponse::WithDataBlock { invoke_id, .. }
        | GetResponse::WithList { invoke_id, .. }) = self;
        *invoke_id
    }

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        match self {
            GetResponse::Normal { invoke_id, result } => {
                out.extend_from_slice(&[1, *invoke_id]);
                result.encode(&mut out);
            }
            GetResponse::WithDataBlock {
                invoke_id,
                last_block,
                block_number,
                result,
            } => {
                out.extend_from_slice(&[2, *invoke_id, u8::from(*last_block)]);
                out.extend_from_slice(&block_number.to_be_bytes());
                match result {
                    Ok(raw) => {
                        out.push(0);
                        write_octets(&mut out, raw);
                    }
                    Err(e) => out.extend_from_slice(&[1, e.to_u8()]),
                }
            }
            GetResponse::WithList { invoke_id, results } => {
                out.extend_from_slice(&[3, *invoke_id]);
                write_seq(&mut out, results, GetDataResult::encode);
            }
        }
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("GET-response", bytes, |r| {
            expect_tag(r, Self::TAG, "GET-response")?;
            let at = r.position();
            let choice = r.u8("GET-response type")?;
            let invoke_id = r.u8("invoke-id-and-priority")?;
            Ok(match choice {
                1 => GetResponse::Normal {
                    invoke_id,
                    result: GetDataResult::decode(r)?,
                },
                2 => {
                    let last_block = r.u8("last-block")? != 0;
                    let block_number = r.u32("block-number")?;
                    let at = r.position();
                    let result = match r.u8("DataBlock-G result choice")? {
                        0 => Ok(read_octets(r, "raw-data")?),
                        1 => Err(DataAccessResult::from_u8(r.u8("data-access-result")?)),
                        tag => {
                            return Err(DecodeError::UnknownTag {
                                what: "DataBlock-G result choice",
                                tag,
                                at,
                            })
                        }
                    };
                    GetResponse::WithDataBlock {
                        invoke_id,
                        last_block,
                        block_number,
                        result,
                    }
                }
                3 => GetResponse::WithList {
                    invoke_id,
                    results: read_seq(r, "result count", 2, GetDataResult::decode)?,
                },
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "GET-response type",
                        tag,
                        at,
                    })
                }
            })
        })
    }
}

/// Encodes a Get-Response-Normal from already-encoded Data bytes (the server encodes once,
/// then decides whether block transfer is needed).
pub fn encode_get_response_normal_raw(invoke_id: u8, data_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data_bytes.len() + 4);
    out.extend_from_slice(&[GetResponse::TAG, 1, invoke_id, 0]);
    out.extend_from_slice(data_bytes);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use crate::dlms::obis::Obis;
    use crate::dlms::xdlms::descriptor::tests::{arb_access, arb_attribute, arb_with_selection};
    use proptest::prelude::*;

    fn get(class_id: u16, obis: [u8; 6], attribute: i8) -> GetRequest {
        GetRequest::Normal {
            invoke_id: 0xC1,
            attribute: AttributeDescriptor {
                class_id,
                instance: Obis(obis),
                attribute,
            },
            access: None,
        }
    }

    fn data(hex: &str) -> Data {
        let GetResponse::Normal {
            result: GetDataResult::Data(d),
            ..
        } = GetResponse::decode(&unhex(hex)).unwrap()
        else {
            panic!("{hex} is not a data result")
        };
        d
    }

    #[test]
    fn g1_g2_g4_normal() {
        let req = get(1, [0, 0, 43, 1, 0, 255], 2);
        assert_eq!(
            req.encode(),
            unhex("C0 01 C1 00 01 00 00 2B 01 00 FF 02 00")
        );
        assert_eq!(GetRequest::decode(&req.encode()).unwrap(), req);
        assert_eq!(
            data("C4 01 C1 00 06 00 00 13 91"),
            Data::DoubleLongUnsigned(5009)
        );
        assert_eq!(
            GetRequest::decode(&unhex("C0 01 C1 00 08 00 00 01 00 00 FF 03 00")).unwrap(),
            get(8, [0, 0, 1, 0, 0, 255], 3)
        );
        assert_eq!(data("C4 01 C1 00 10 00 3C"), Data::Long(60));
        assert_eq!(
            get(3, [1, 0, 1, 8, 0, 255], 2).encode(),
            unhex("C0 01 C1 00 03 01 00 01 08 00 FF 02 00")
        );
        assert_eq!(
            data("C4 01 C1 00 06 00 BC 61 4E"),
            Data::DoubleLongUnsigned(12345678)
        );
        assert_eq!(
            data("C4 01 C1 00 02 02 0F FD 16 1E"),
            Data::Structure(vec![Data::Integer(-3), Data::Enum(30)])
        );
        let list = unhex("C0 03 C1 02 00 03 01 00 01 08 00 FF 02 00 00 03 01 00 01 08 00 FF 03 00");
        let GetRequest::WithList { attributes, .. } = GetRequest::decode(&list).unwrap() else {
            panic!()
        };
        assert_eq!(attributes.len(), 2);
        assert_eq!(attributes[1].0.attribute, 3);
        assert_eq!(
            GetRequest::WithList {
                invoke_id: 0xC1,
                attributes
            }
            .encode(),
            list
        );
    }

    #[test]
    fn g3_clock_reads() {
        let GetResponse::Normal { invoke_id, result } = GetResponse::decode(&unhex(
            "C4 01 81 00 09 0C 07 D2 0C 04 03 0A 06 0B FF 00 78 00",
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(invoke_id, 0x81);
        let GetDataResult::Data(d) = result else {
            panic!()
        };
        assert_eq!(d.to_string(), "2002-12-04T10:06:11-02:00");
        assert_eq!(data("C4 01 81 00 10 00 78"), Data::Long(120));
        assert_eq!(data("C4 01 81 00 11 00"), Data::Unsigned(0));
        assert_eq!(data("C4 01 81 00 03 00"), Data::Boolean(false));
        assert_eq!(data("C4 01 81 00 16 01"), Data::Enum(1));
    }

    #[test]
    fn g5_block_transfer_flow() {
        let steps = [
            (
                "C0 01 C1 00 07 01 00 63 01 00 FF 02 00",
                "C4 02 C1 00 00 00 00 01 00 0C 01 05 06 00 00 00 01 06 00 00 00 02",
            ),
            (
                "C0 02 C1 00 00 00 01",
                "C4 02 C1 00 00 00 00 02 00 0A 06 00 00 00 03 06 00 00 00 04",
            ),
            (
                "C0 02 C1 00 00 00 02",
                "C4 02 C1 01 00 00 00 03 00 05 06 00 00 00 05",
            ),
        ];
        let mut joined = Vec::new();
        for (i, (req, resp)) in steps.iter().enumerate() {
            let req_bytes = unhex(req);
            assert_eq!(GetRequest::decode(&req_bytes).unwrap().encode(), req_bytes);
            if i > 0 {
                assert_eq!(
                    GetRequest::decode(&req_bytes).unwrap(),
                    GetRequest::Next {
                        invoke_id: 0xC1,
                        block_number: i as u32
                    }
                );
            }
            let resp_bytes = unhex(resp);
            let GetResponse::WithDataBlock {
                last_block,
                block_number,
                result,
                ..
            } = GetResponse::decode(&resp_bytes).unwrap()
            else {
                panic!()
            };
            assert_eq!((last_block, block_number), (i == 2, i as u32 + 1));
            joined.extend(result.unwrap());
            assert_eq!(
                GetResponse::decode(&resp_bytes).unwrap().encode(),
                resp_bytes
            );
        }
        assert_eq!(
            Data::from_bytes(&joined).unwrap(),
            Data::Array((1..=5).map(Data::DoubleLongUnsigned).collect())
        );
    }

    #[test]
    fn g6_g8_errors_and_long_blocks() {
        let e = GetResponse::decode(&unhex("C4 02 C1 01 00 00 00 13 01 01")).unwrap();
        assert_eq!(
            e,
            GetResponse::WithDataBlock {
                invoke_id: 0xC1,
                last_block: true,
                block_number: 19,
                result: Err(DataAccessResult::HardwareFault)
            }
        );
        assert_eq!(
            GetResponse::decode(&unhex("C4 01 C1 01 01")).unwrap(),
            GetResponse::Normal {
                invoke_id: 0xC1,
                result: GetDataResult::Error(DataAccessResult::HardwareFault)
            }
        );
        // G6 first block header: raw length 82 04 9E = 1182, here truncated.
        let e = GetResponse::decode(&unhex("C4 02 C1 00 00 00 00 01 00 82 04 9E 01 82 05 A0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("GET-response") && e.contains("raw-data"), "{e}");
    }

    #[test]
    fn s1_s2_s3_selective_access() {
        let s1 = unhex("C0 01 C1 00 07 01 00 63 01 00 FF 02 01 01 02 04 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00 09 0C 07 E1 0A 01 07 00 00 00 00 FF C4 80 09 0C 07 E1 0A 01 07 01 00 00 00 FF C4 80 01 00");
        let GetRequest::Normal {
            access: Some(a), ..
        } = GetRequest::decode(&s1).unwrap()
        else {
            panic!()
        };
        assert_eq!(a.selector, 1);
        let Data::Structure(ref p) = a.parameters else {
            panic!()
        };
        assert_eq!(p.len(), 4);
        // Status 0x80: the vector's clock says daylight saving is active.
        assert_eq!(p[1].to_string(), "2017-10-01T00:00:00+01:00 (DST)");
        assert_eq!(p[3], Data::Array(vec![]));
        assert_eq!(GetRequest::decode(&s1).unwrap().encode(), s1);

        let mut s2 = unhex("C0 01 C1 00 07 01 00 63 01 00 FF 02");
        s2.extend(unhex("01 01 02 04 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00 09 0C 07 E8 01 01 FF 00 00 00 00 FF C4 00 09 0C 07 E8 01 02 FF 00 00 00 00 FF C4 00 01 00"));
        let GetRequest::Normal {
            access: Some(a), ..
        } = GetRequest::decode(&s2).unwrap()
        else {
            panic!()
        };
        assert_eq!(a.selector, 1);

        let s3 = unhex("C0 01 C1 00 07 01 00 63 01 00 FF 02 01 02 02 04 06 00 00 00 01 06 00 00 00 0A 12 00 01 12 00 00");
        let req = GetRequest::Normal {
            invoke_id: 0xC1,
            attribute: AttributeDescriptor {
                class_id: 7,
                instance: Obis([1, 0, 99, 1, 0, 255]),
                attribute: 2,
            },
            access: Some(SelectiveAccess {
                selector: 2,
                parameters: Data::Structure(vec![
                    Data::DoubleLongUnsigned(1),
                    Data::DoubleLongUnsigned(10),
                    Data::LongUnsigned(1),
                    Data::LongUnsigned(0),
                ]),
            }),
        };
        assert_eq!(req.encode(), s3);
        assert_eq!(GetRequest::decode(&s3).unwrap(), req);
    }

    /// wrapper_ln_none_blocktransfer: entries 1..60 of 1.0.99.1.0.255 by entry, two blocks.
    const TRACE_REQUEST: &str = "C001C100070100630100FF02010202040600000001060000003C120001120000";
    const TRACE_NEXT: &str = "C002C100000001";
    const TRACE_BLOCK_1: &str = "\
C402C10000000001008203F4013C0203090C07EA0B0AFF0F2D0000000000060007A1CE060001731A0203090C07EA0B0A\
FF10000000000000060007A3C2060001731F0203090C07EA0B0AFF100F0000000000060007A5B606000173240203090C\
07EA0B0AFF101E0000000000060007A7AA06000173290203090C07EA0B0AFF102D0000000000060007A99E060001732E\
0203090C07EA0B0AFF11000000000000060007AB9206000173330203090C07EA0B0AFF110F0000000000060007AD8606\
000173380203090C07EA0B0AFF111E0000000000060007AF7A060001733D0203090C07EA0B0AFF112D00000000000600\
07B16E06000173420203090C07EA0B0AFF12000000000000060007B36206000173470203090C07EA0B0AFF120F000000\
0000060007B556060001734C0203090C07EA0B0AFF121E0000000000060007B74A06000173510203090C07EA0B0AFF12\
2D0000000000060007B93E06000173560203090C07EA0B0AFF13000000000000060007BB32060001735B0203090C07EA\
0B0AFF130F0000000000060007BD2606000173600203090C07EA0B0AFF131E0000000000060007BF1A06000173650203\
090C07EA0B0AFF132D0000000000060007C10E060001736A0203090C07EA0B0AFF14000000000000060007C302060001\
736F0203090C07EA0B0AFF140F0000000000060007C4F606000173740203090C07EA0B0AFF141E0000000000060007C6\
EA06000173790203090C07EA0B0AFF142D0000000000060007C8DE060001737E0203090C07EA0B0AFF15000000000000\
060007CAD206000173830203090C07EA0B0AFF150F0000000000060007CCC606000173880203090C07EA0B0AFF151E00\
00000000060007CEBA060001738D0203090C07EA0B0AFF152D0000000000060007D0AE06000173920203090C07EA0B0A\
FF16000000000000060007D2A206000173970203090C07EA0B0AFF160F0000000000060007D496060001739C0203090C\
07EA0B0AFF161E0000000000060007D68A06000173A10203090C07EA0B0AFF162D0000000000060007D87E06000173A6\
0203090C07EA0B0AFF17000000000000060007DA7206000173AB0203090C07EA0B0AFF170F0000000000060007DC6606\
000173B00203090C07EA0B0AFF171E0000000000060007DE5A06000173B50203090C07EA0B0AFF172D00000000000600\
07E04E06000173BA0203090C07EA0B0BFF00000000000000060007E24206000173BF0203090C07EA0B0BFF000F000000\
0000060007E43606000173C40203090C07EA0B0BFF001E0000000000060007E62A06000173C90203090C07EA0B0BFF00\
2D0000000000060007E81E06000173CE0203090C07EA0B0BFF01000000000000060007EA1206000173D30203090C07EA\
0B0BFF010F0000000000060007EC0606";
    const TRACE_BLOCK_2: &str = "\
C402C1010000000200820226000173D80203090C07EA0B0BFF011E0000000000060007EDFA06000173DD0203090C07EA\
0B0BFF012D0000000000060007EFEE06000173E20203090C07EA0B0BFF02000000000000060007F1E206000173E70203\
090C07EA0B0BFF020F0000000000060007F3D606000173EC0203090C07EA0B0BFF021E0000000000060007F5CA060001\
73F10203090C07EA0B0BFF022D0000000000060007F7BE06000173F60203090C07EA0B0BFF03000000000000060007F9\
B206000173FB0203090C07EA0B0BFF030F0000000000060007FBA606000174000203090C07EA0B0BFF031E0000000000\
060007FD9A06000174050203090C07EA0B0BFF032D0000000000060007FF8E060001740A0203090C07EA0B0BFF040000\
000000000600080182060001740F0203090C07EA0B0BFF040F0000000000060008037606000174140203090C07EA0B0B\
FF041E0000000000060008056A06000174190203090C07EA0B0BFF042D0000000000060008075E060001741E0203090C\
07EA0B0BFF05000000000000060008095206000174230203090C07EA0B0BFF050F00000000000600080B460600017428\
0203090C07EA0B0BFF051E00000000000600080D3A060001742D0203090C07EA0B0BFF052D00000000000600080F2E06\
000174320203090C07EA0B0BFF06000000000000060008112206000174370203090C07EA0B0BFF060F00000000000600\
081316060001743C0203090C07EA0B0BFF061E0000000000060008150A0600017441";

    #[test]
    fn trace_block_transfer_profile() {
        let GetRequest::Normal {
            access: Some(a), ..
        } = GetRequest::decode(&unhex(TRACE_REQUEST)).unwrap()
        else {
            panic!()
        };
        assert_eq!(a.selector, 2);
        assert_eq!(
            GetRequest::decode(&unhex(TRACE_NEXT)).unwrap(),
            GetRequest::Next {
                invoke_id: 0xC1,
                block_number: 1
            }
        );
        let mut joined = Vec::new();
        for (hex, last) in [(TRACE_BLOCK_1, false), (TRACE_BLOCK_2, true)] {
            let bytes = unhex(hex);
            let resp = GetResponse::decode(&bytes).unwrap();
            let GetResponse::WithDataBlock {
                last_block,
                result: Ok(raw),
                ..
            } = &resp
            else {
                panic!()
            };
            assert_eq!(*last_block, last);
            joined.extend_from_slice(raw);
            assert_eq!(resp.encode(), bytes);
        }
        let Data::Array(rows) = Data::from_bytes(&joined).unwrap() else {
            panic!()
        };
        assert_eq!(rows.len(), 60);
        assert_eq!(
            rows[0].to_string(),
            "{2026-11-10T15:45:00+00:00, 500174, 95002}"
        );
    }

    #[test]
    fn raw_normal_response() {
        let bytes = Data::DoubleLongUnsigned(5009).to_bytes();
        assert_eq!(
            encode_get_response_normal_raw(0xC1, &bytes),
            unhex("C4 01 C1 00 06 00 00 13 91")
        );
    }

    pub fn arb_get_request() -> impl Strategy<Value = GetRequest> {
        prop_oneof![
            (any::<u8>(), arb_attribute(), arb_access()).prop_map(
                |(invoke_id, attribute, access)| {
                    GetRequest::Normal {
                        invoke_id,
                        attribute,
                        access,
                    }
                }
            ),
            (any::<u8>(), any::<u32>()).prop_map(|(invoke_id, block_number)| GetRequest::Next {
                invoke_id,
                block_number
            }),
            (
                any::<u8>(),
                proptest::collection::vec(arb_with_selection(), 0..4)
            )
                .prop_map(|(invoke_id, attributes)| GetRequest::WithList {
                    invoke_id,
                    attributes
                }),
        ]
    }

    pub fn arb_get_data_result() -> impl Strategy<Value = GetDataResult> {
        prop_oneof![
            arb_data().prop_map(GetDataResult::Data),
            any::<u8>().prop_map(|v| GetDataResult::Error(DataAccessResult::from_u8(v))),
        ]
    }

    pub fn arb_get_response() -> impl Strategy<Value = GetResponse> {
        prop_oneof![
            (any::<u8>(), arb_get_data_result())
                .prop_map(|(invoke_id, result)| GetResponse::Normal { invoke_id, result }),
            (
                any::<u8>(),
                any::<bool>(),
                any::<u32>(),
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..300).prop_map(Ok),
                    any::<u8>().prop_map(|v| Err(DataAccessResult::from_u8(v))),
                ]
            )
                .prop_map(|(invoke_id, last_block, block_number, result)| {
                    GetResponse::WithDataBlock {
                        invoke_id,
                        last_block,
                        block_number,
                        result,
                    }
                }),
            (
                any::<u8>(),
                proptest::collection::vec(arb_get_data_result(), 0..4)
            )
                .prop_map(|(invoke_id, results)| GetResponse::WithList { invoke_id, results }),
        ]
    }

    proptest! {
        #[test]
        fn request_round_trip(x in arb_get_request()) {
            prop_assert_eq!(GetRequest::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn response_round_trip(x in arb_get_response()) {
            prop_assert_eq!(GetResponse::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            choice in 0u8..5,
            b in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            for tag in [GetRequest::TAG, GetResponse::TAG] {
                let mut v = vec![tag, choice];
                v.extend_from_slice(&b);
                let _ = GetRequest::decode(&v);
                let _ = GetResponse::decode(&v);
            }
        }
    }
}
