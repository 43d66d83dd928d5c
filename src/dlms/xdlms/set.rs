//! SET-Request / SET-Response (LN referencing).

use super::block::DataBlock;
use super::codec::{read_seq, write_seq};
use super::dar::DataAccessResult;
use super::descriptor::{
    decode_with_selection, encode_with_selection, AttributeDescriptor, AttributeWithSelection,
    SelectiveAccess, DESCRIPTOR_LEN,
};
use super::error::{decode_apdu, expect_tag, ApduError};
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::data::Data;

/// A SET request; `invoke_id` is the whole Invoke-Id-And-Priority byte.
#[derive(Debug, Clone, PartialEq)]
pub enum SetRequest {
    /// Write one attribute.
    Normal {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The attribute.
        attribute: AttributeDescriptor,
        /// Selective access.
        access: Option<SelectiveAccess>,
        /// The new value.
        value: Data,
    },
    /// Write one attribute whose value is sent in blocks; this is the first.
    WithFirstDatablock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The attribute.
        attribute: AttributeDescriptor,
        /// Selective access.
        access: Option<SelectiveAccess>,
        /// The first block.
        block: DataBlock,
    },
    /// A further block of a long SET.
    WithDatablock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The block.
        block: DataBlock,
    },
    /// Write several attributes.
    WithList {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The attributes.
        attributes: Vec<AttributeWithSelection>,
        /// One value per attribute.
        values: Vec<Data>,
    },
    /// Write several attributes whose values are sent in blocks; this is the first.
    WithListAndFirstDatablock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The attributes.
        attributes: Vec<AttributeWithSelection>,
        /// The first block.
        block: DataBlock,
    },
}

/// A SET response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetResponse {
    /// Result of a Normal SET.
    Normal {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The result.
        result: DataAccessResult,
    },
    /// Acknowledges a block of a long SET.
    Datablock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The block acknowledged.
        block_number: u32,
    },
    /// Result of a long SET, after its last block.
    LastDatablock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The result.
        result: DataAccessResult,
        /// The last block number.
        block_number: u32,
    },
    /// Results of a long SET with list, after its last block.
    LastDatablockWithList {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// One result per attribute.
        results: Vec<DataAccessResult>,
        /// The last block number.
        block_number: u32,
    },
    /// Results of a SET with list.
    WithList {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// One result per attribute.
        results: Vec<DataAccessResult>,
    },
}

fn write_dar(d: &DataAccessResult, out: &mut Vec<u8>) {
    out.push(d.to_u8());
}

fn read_dar(r: &mut Reader) -> Result<DataAccessResult, DecodeError> {
    Ok(DataAccessResult::from_u8(r.u8("data-access-result")?))
}

fn read_attributes(r: &mut Reader) -> Result<Vec<AttributeWithSelection>, DecodeError> {
    read_seq(
        r,
        "attribute count",
        DESCRIPTOR_LEN + 1,
        decode_with_selection,
    )
}

impl SetRequest {
    /// APDU tag.
    pub const TAG: u8 = 0xC1;

    /// The Invoke-Id-And-Priority byte.
    pub fn invoke_id(&self) -> u8 {
        let (SetRequest::Normal { invoke_id, .. }
        | SetRequest::WithFirstDatablock { invoke_id, .. }
        | SetRequest::WithDatablock { invoke_id, .. }
        | SetRequest::WithList { invoke_id, .. }
        | SetRequest::WithListAndFirstDatablock { invoke_id, .. }) = self;
        *invoke_id
    }

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        match self {
            SetRequest::Normal {
                invoke_id,
                attribute,
                access,
                value,
            } => {
                out.extend_from_slice(&[1, *invoke_id]);
                attribute.encode(&mut out);
                SelectiveAccess::encode_optional(access.as_ref(), &mut out);
                value.encode(&mut out);
            }
            SetRequest::WithFirstDatablock {
                invoke_id,
                attribute,
                access,
                block,
            } => {
                out.extend_from_slice(&[2, *invoke_id]);
                attribute.encode(&mut out);
                SelectiveAccess::encode_optional(access.as_ref(), &mut out);
                block.encode(&mut out);
            }
            SetRequest::WithDatablock { invoke_id, block } => {
                out.extend_from_slice(&[3, *invoke_id]);
                block.encode(&mut out);
            }
            SetRequest::WithList {
                invoke_id,
                attributes,
                values,
            } => {
                out.extend_from_slice(&[4, *invoke_id]);
                write_seq(&mut out, attributes, encode_with_selection);
                write_seq(&mut out, values, Data::encode);
            }
            SetRequest::WithListAndFirstDatablock {
                invoke_id,
                attributes,
                block,
            } => {
                out.extend_from_slice(&[5, *invoke_id]);
                write_seq(&mut out, attributes, encode_with_selection);
                block.encode(&mut out);
            }
        }
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("SET-request", bytes, |r| {
            expect_tag(r, Self::TAG, "SET-request")?;
            let at = r.position();
            let choice = r.u8("SET-request type")?;
            let invoke_id = r.u8("invoke-id-and-priority")?;
            Ok(match choice {
                1 => SetRequest::Normal {
                    invoke_id,
                    attribute: AttributeDescriptor::decode(r)?,
                    access: SelectiveAccess::decode_optional(r)?,
                    value: Data::decode(r)?,
                },
                2 => SetRequest::WithFirstDatablock {
                    invoke_id,
                    attribute: AttributeDescriptor::decode(r)?,
                    access: SelectiveAccess::decode_optional(r)?,
                    block: DataBlock::decode(r)?,
                },
                3 => SetRequest::WithDatablock {
                    invoke_id,
                    block: DataBlock::decode(r)?,
                },
                4 => SetRequest::WithList {
                    invoke_id,
                    attributes: read_attributes(r)?,
                    values: read_seq(r, "value count", 1, Data::decode)?,
                },
                5 => SetRequest::WithListAndFirstDatablock {
                    invoke_id,
                    attributes: read_attributes(r)?,
                    block: DataBlock::decode(r)?,
                },
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "SET-request type",
                        tag,
                        at,
                    })
                }
            })
        })
    }
}

impl SetResponse {
    /// APDU tag.
    pub const TAG: u8 = 0xC5;

    /// The Invoke-Id-And-Priority byte.
    pub fn invoke_id(&self) -> u8 {
        let (SetResponse::Normal { invoke_id, .. }
        | SetResponse::Datablock { invoke_id, .. }
        | SetResponse::LastDatablock { invoke_id, .. }
        | SetResponse::LastDatablockWithList { invoke_id, .. }
        | SetResponse::WithList { invoke_id, .. }) = self;
        *invoke_id
    }

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        match self {
            SetResponse::Normal { invoke_id, result } => {
                out.extend_from_slice(&[1, *invoke_id, result.to_u8()]);
            }
            SetResponse::Datablock {
                invoke_id,
                block_number,
            } => {
                out.extend_from_slice(&[2, *invoke_id]);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::LastDatablock {
                invoke_id,
                result,
                block_number,
            } => {
                out.extend_from_slice(&[3, *invoke_id, result.to_u8()]);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::LastDatablockWithList {
                invoke_id,
                results,
                block_number,
            } => {
                out.extend_from_slice(&[4, *invoke_id]);
                write_seq(&mut out, results, write_dar);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::WithList { invoke_id, results } => {
                out.extend_from_slice(&[5, *invoke_id]);
                write_seq(&mut out, results, write_dar);
            }
        }
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("SET-response", bytes, |r| {
            expect_tag(r, Self::TAG, "SET-response")?;
            let at = r.position();
            let choice = r.u8("SET-response type")?;
            let invoke_id = r.u8("invoke-id-and-priority")?;
            Ok(match choice {
                1 => SetResponse::Normal {
                    invoke_id,
                    result: read_dar(r)?,
                },
                2 => SetResponse::Datablock {
                    invoke_id,
                    block_number: r.u32("block-number")?,
                },
                3 => SetResponse::LastDatablock {
                    invoke_id,
                    result: read_dar(r)?,
                    block_number: r.u32("block-number")?,
                },
                4 => SetResponse::LastDatablockWithList {
                    invoke_id,
                    results: read_seq(r, "result count", 1, read_dar)?,
                    block_number: r.u32("block-number")?,
                },
                5 => SetResponse::WithList {
                    invoke_id,
                    results: read_seq(r, "result count", 1, read_dar)?,
                },
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "SET-response type",
                        tag,
                        at,
                    })
                }
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use crate::dlms::obis::Obis;
    use crate::dlms::xdlms::block::tests::arb_block;
    use crate::dlms::xdlms::descriptor::tests::{arb_access, arb_attribute, arb_with_selection};
    use proptest::prelude::*;

    #[test]
    fn notes_and_g3_vectors() {
        let b = unhex("C1 01 C1 0008 0000010000FF 02 00 09 0C 07E5 01 18 FF 0E 30 39 50 FF C4 00");
        let SetRequest::Normal {
            attribute,
            access,
            value,
            ..
        } = SetRequest::decode(&b).unwrap()
        else {
            panic!()
        };
        assert_eq!(attribute.to_string(), "0.0.1.0.0.255:2");
        assert_eq!(access, None);
        assert!(matches!(value, Data::OctetString(ref v) if v.len() == 12));
        assert_eq!(SetRequest::decode(&b).unwrap().encode(), b);
        let ok = SetResponse::Normal {
            invoke_id: 0xC1,
            result: DataAccessResult::Success,
        };
        assert_eq!(SetResponse::decode(&unhex("C5 01 C1 00")).unwrap(), ok);
        assert_eq!(ok.encode(), unhex("C5 01 C1 00"));

        let g3 = unhex(
            "C1 01 81 00 08 00 00 01 00 00 FF 02 00 09 0C 07 D2 0C 04 03 0A 06 0B FF 00 78 00",
        );
        let req = SetRequest::Normal {
            invoke_id: 0x81,
            attribute: AttributeDescriptor {
                class_id: 8,
                instance: Obis([0, 0, 1, 0, 0, 255]),
                attribute: 2,
            },
            access: None,
            value: Data::OctetString(unhex("07 D2 0C 04 03 0A 06 0B FF 00 78 00")),
        };
        assert_eq!(req.encode(), g3);
        assert_eq!(
            SetResponse::decode(&unhex("C5 01 81 00"))
                .unwrap()
                .invoke_id(),
            0x81
        );
    }

    #[test]
    fn block_and_list_forms() {
        let b = unhex("C1 03 C1 01 00000002 03 AABBCC");
        assert_eq!(
            SetRequest::decode(&b).unwrap(),
            SetRequest::WithDatablock {
                invoke_id: 0xC1,
                block: DataBlock {
                    last_block: true,
                    block_number: 2,
                    raw: vec![0xAA, 0xBB, 0xCC]
                }
            }
        );
        assert_eq!(
            SetResponse::decode(&unhex("C5 03 C1 00 00000002")).unwrap(),
            SetResponse::LastDatablock {
                invoke_id: 0xC1,
                result: DataAccessResult::Success,
                block_number: 2
            }
        );
        let e = SetRequest::decode(&unhex("C1 06 C1"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "bad SET-request: unknown SET-request type 0x06 at byte 1"
        );
    }

    pub fn arb_set_request() -> impl Strategy<Value = SetRequest> {
        let list = || proptest::collection::vec(arb_with_selection(), 0..3);
        prop_oneof![
            (any::<u8>(), arb_attribute(), arb_access(), arb_data()).prop_map(
                |(invoke_id, attribute, access, value)| SetRequest::Normal {
                    invoke_id,
                    attribute,
                    access,
                    value
                }
            ),
            (any::<u8>(), arb_attribute(), arb_access(), arb_block()).prop_map(
                |(invoke_id, attribute, access, block)| SetRequest::WithFirstDatablock {
                    invoke_id,
                    attribute,
                    access,
                    block
                }
            ),
            (any::<u8>(), arb_block())
                .prop_map(|(invoke_id, block)| SetRequest::WithDatablock { invoke_id, block }),
            (
                any::<u8>(),
                list(),
                proptest::collection::vec(arb_data(), 0..3)
            )
                .prop_map(|(invoke_id, attributes, values)| SetRequest::WithList {
                    invoke_id,
                    attributes,
                    values
                }),
            (any::<u8>(), list(), arb_block()).prop_map(|(invoke_id, attributes, block)| {
                SetRequest::WithListAndFirstDatablock {
                    invoke_id,
                    attributes,
                    block,
                }
            }),
        ]
    }

    fn arb_set_response() -> impl Strategy<Value = SetResponse> {
        let dar = || any::<u8>().prop_map(DataAccessResult::from_u8);
        let dars = move || proptest::collection::vec(dar(), 0..5);
        prop_oneof![
            (any::<u8>(), dar())
                .prop_map(|(invoke_id, result)| SetResponse::Normal { invoke_id, result }),
            (any::<u8>(), any::<u32>()).prop_map(|(invoke_id, block_number)| {
                SetResponse::Datablock {
                    invoke_id,
                    block_number,
                }
            }),
            (any::<u8>(), dar(), any::<u32>()).prop_map(|(invoke_id, result, block_number)| {
                SetResponse::LastDatablock {
                    invoke_id,
                    result,
                    block_number,
                }
            }),
            (any::<u8>(), dars(), any::<u32>()).prop_map(|(invoke_id, results, block_number)| {
                SetResponse::LastDatablockWithList {
                    invoke_id,
                    results,
                    block_number,
                }
            }),
            (any::<u8>(), dars())
                .prop_map(|(invoke_id, results)| SetResponse::WithList { invoke_id, results }),
        ]
    }

    proptest! {
        #[test]
        fn request_round_trip(x in arb_set_request()) {
            prop_assert_eq!(SetRequest::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn response_round_trip(x in arb_set_response()) {
            prop_assert_eq!(SetResponse::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            choice in 0u8..7,
            b in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            for tag in [SetRequest::TAG, SetResponse::TAG] {
                let mut v = vec![tag, choice];
                v.extend_from_slice(&b);
                let _ = SetRequest::decode(&v);
                let _ = SetResponse::decode(&v);
            }
        }
    }
}
