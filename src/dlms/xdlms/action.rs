//! ACTION-Request / ACTION-Response (LN referencing): method invocation.

use super::block::DataBlock;
use super::codec::{read_optional, read_seq, write_optional, write_seq};
use super::dar::DataAccessResult;
use super::descriptor::{MethodDescriptor, DESCRIPTOR_LEN};
use super::error::{decode_apdu, expect_tag, ApduError};
use super::get::GetDataResult;
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::data::Data;

/// An ACTION request; `invoke_id` is the whole Invoke-Id-And-Priority byte.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionRequest {
    /// Invoke one method.
    Normal {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The method.
        method: MethodDescriptor,
        /// Its parameter.
        parameters: Option<Data>,
    },
    /// Ask for the next block of a long return value.
    NextPblock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The last block received.
        block_number: u32,
    },
    /// Invoke several methods.
    WithList {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The methods.
        methods: Vec<MethodDescriptor>,
        /// One parameter per method.
        parameters: Vec<Data>,
    },
    /// Invoke one method whose parameter is sent in blocks; this is the first.
    WithFirstPblock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The method.
        method: MethodDescriptor,
        /// The first block.
        block: DataBlock,
    },
    /// Invoke several methods whose parameters are sent in blocks; this is the first.
    WithListAndFirstPblock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The methods.
        methods: Vec<MethodDescriptor>,
        /// The first block.
        block: DataBlock,
    },
    /// A further parameter block.
    WithPblock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The block.
        block: DataBlock,
    },
}

/// Action-Response-With-Optional-Data: the result and what the method returned.
pub type ActionResult = (DataAccessResult, Option<GetDataResult>);

/// An ACTION response.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionResponse {
    /// Result of a Normal ACTION.
    Normal {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// Action-Result (DAR codes; 15/16 mean long-action-aborted/no-long-action-in-progress).
        result: DataAccessResult,
        /// Returned value, if any.
        return_parameters: Option<GetDataResult>,
    },
    /// One block of a long return value.
    WithPblock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The block.
        block: DataBlock,
    },
    /// Results of an ACTION with list.
    WithList {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// One result per method.
        results: Vec<ActionResult>,
    },
    /// Acknowledges a parameter block and asks for the next.
    NextPblock {
        /// Invoke-Id-And-Priority.
        invoke_id: u8,
        /// The block acknowledged.
        block_number: u32,
    },
}

fn read_methods(r: &mut Reader) -> Result<Vec<MethodDescriptor>, DecodeError> {
    read_seq(r, "method count", DESCRIPTOR_LEN, MethodDescriptor::decode)
}

fn write_result(result: DataAccessResult, ret: Option<&GetDataResult>, out: &mut Vec<u8>) {
    out.push(result.to_u8());
    write_optional(out, ret, GetDataResult::encode);
}

fn read_result(r: &mut Reader) -> Result<ActionResult, DecodeError> {
    Ok((
        DataAccessResult::from_u8(r.u8("action-result")?),
        read_optional(r, "return-parameters presence", GetDataResult::decode)?,
    ))
}

impl ActionRequest {
    /// APDU tag.
    pub const TAG: u8 = 0xC3;

    /// The Invoke-Id-And-Priority byte.
    pub fn invoke_id(&self) -> u8 {
        let (ActionRequest::Normal { invoke_id, .. }
        | ActionRequest::NextPblock { invoke_id, .. }
        | ActionRequest::WithList { invoke_id, .. }
        | ActionRequest::WithFirstPblock { invoke_id, .. }
        | ActionRequest::WithListAndFirstPblock { invoke_id, .. }
        | ActionRequest::WithPblock { invoke_id, .. }) = self;
        *invoke_id
    }

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        match self {
            ActionRequest::Normal {
                invoke_id,
                method,
                parameters,
            } => {
                out.extend_from_slice(&[1, *invoke_id]);
                method.encode(&mut out);
                write_optional(&mut out, parameters.as_ref(), Data::encode);
            }
            ActionRequest::NextPblock {
                invoke_id,
                block_number,
            } => {
                out.extend_from_slice(&[2, *invoke_id]);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            ActionRequest::WithList {
                invoke_id,
                methods,
                parameters,
            } => {
                out.extend_from_slice(&[3, *invoke_id]);
                write_seq(&mut out, methods, MethodDescriptor::encode);
                write_seq(&mut out, parameters, Data::encode);
            }
            ActionRequest::WithFirstPblock {
                invoke_id,
                method,
                block,
            } => {
                out.extend_from_slice(&[4, *invoke_id]);
                method.encode(&mut out);
                block.encode(&mut out);
            }
            ActionRequest::WithListAndFirstPblock {
                invoke_id,
                methods,
                block,
            } => {
                out.extend_from_slice(&[5, *invoke_id]);
                write_seq(&mut out, methods, MethodDescriptor::encode);
                block.encode(&mut out);
            }
            ActionRequest::WithPblock { invoke_id, block } => {
                out.extend_from_slice(&[6, *invoke_id]);
                block.encode(&mut out);
            }
        }
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("ACTION-request", bytes, |r| {
            expect_tag(r, Self::TAG, "ACTION-request")?;
            let at = r.position();
            let choice = r.u8("ACTION-request type")?;
            let invoke_id = r.u8("invoke-id-and-priority")?;
            Ok(match choice {
                1 => ActionRequest::Normal {
                    invoke_id,
                    method: MethodDescriptor::decode(r)?,
                    parameters: read_optional(
                        r,
                        "method-invocation-parameters presence",
                        Data::decode,
                    )?,
                },
                2 => ActionRequest::NextPblock {
                    invoke_id,
                    block_number: r.u32("block-number")?,
                },
                3 => ActionRequest::WithList {
                    invoke_id,
                    methods: read_methods(r)?,
                    parameters: read_seq(r, "parameter count", 1, Data::decode)?,
                },
                4 => ActionRequest::WithFirstPblock {
                    invoke_id,
                    method: MethodDescriptor::decode(r)?,
                    block: DataBlock::decode(r)?,
                },
                5 => ActionRequest::WithListAndFirstPblock {
                    invoke_id,
                    methods: read_methods(r)?,
                    block: DataBlock::decode(r)?,
                },
                6 => ActionRequest::WithPblock {
                    invoke_id,
                    block: DataBlock::decode(r)?,
                },
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "ACTION-request type",
                        tag,
                        at,
                    })
                }
            })
        })
    }
}

impl ActionResponse {
    /// APDU tag.
    pub const TAG: u8 = 0xC7;

    /// The Invoke-Id-And-Priority byte.
    pub fn invoke_id(&self) -> u8 {
        let (ActionResponse::Normal { invoke_id, .. }
        | ActionResponse::WithPblock { invoke_id, .. }
        | ActionResponse::WithList { invoke_id, .. }
        | ActionResponse::NextPblock { invoke_id, .. }) = self;
        *invoke_id
    }

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        match self {
            ActionResponse::Normal {
                invoke_id,
                result,
                return_parameters,
            } => {
                out.extend_from_slice(&[1, *invoke_id]);
                write_result(*result, return_parameters.as_ref(), &mut out);
            }
            ActionResponse::WithPblock { invoke_id, block } => {
                out.extend_from_slice(&[2, *invoke_id]);
                block.encode(&mut out);
            }
            ActionResponse::WithList { invoke_id, results } => {
                out.extend_from_slice(&[3, *invoke_id]);
                write_seq(&mut out, results, |(d, ret), o| {
                    write_result(*d, ret.as_ref(), o)
                });
            }
            ActionResponse::NextPblock {
                invoke_id,
                block_number,
            } => {
                out.extend_from_slice(&[4, *invoke_id]);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
        }
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("ACTION-response", bytes, |r| {
            expect_tag(r, Self::TAG, "ACTION-response")?;
            let at = r.position();
            let choice = r.u8("ACTION-response type")?;
            let invoke_id = r.u8("invoke-id-and-priority")?;
            Ok(match choice {
                1 => {
                    // Gurux-based meters end a refused ACTION right after the result, without
                    // the presence byte of the return parameters: read that as "none".
                    let result = DataAccessResult::from_u8(r.u8("action-result")?);
                    let return_parameters = if r.remaining() == 0 {
                        None
                    } else {
                        read_optional(r, "return-parameters presence", GetDataResult::decode)?
                    };
                    ActionResponse::Normal {
                        invoke_id,
                        result,
                        return_parameters,
                    }
                }
                2 => ActionResponse::WithPblock {
                    invoke_id,
                    block: DataBlock::decode(r)?,
                },
                3 => ActionResponse::WithList {
                    invoke_id,
                    results: read_seq(r, "result count", 2, read_result)?,
                },
                4 => ActionResponse::NextPblock {
                    invoke_id,
                    block_number: r.u32("block-number")?,
                },
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "ACTION-response type",
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
    use crate::dlms::xdlms::descriptor::tests::arb_method;
    use crate::dlms::xdlms::get::tests::arb_get_data_result;
    use proptest::prelude::*;

    fn normal(hex: &str) -> (DataAccessResult, Option<GetDataResult>) {
        let b = unhex(hex);
        let resp = ActionResponse::decode(&b).unwrap();
        assert_eq!(resp.encode(), b);
        let ActionResponse::Normal {
            result,
            return_parameters,
            ..
        } = resp
        else {
            panic!()
        };
        (result, return_parameters)
    }

    #[test]
    fn notes_vectors() {
        assert_eq!(normal("C7 01 C1 00 00"), (DataAccessResult::Success, None));
        assert_eq!(
            normal("C7 01 C0 00 01 01 FA"),
            (
                DataAccessResult::Success,
                Some(GetDataResult::Error(DataAccessResult::OtherReason))
            )
        );
        let disconnect = ActionRequest::Normal {
            invoke_id: 0xC1,
            method: MethodDescriptor {
                class_id: 70,
                instance: Obis([0, 0, 96, 3, 10, 255]),
                method: 1,
            },
            parameters: Some(Data::Integer(0)),
        };
        assert_eq!(
            disconnect.encode(),
            unhex("C3 01 C1 0046 000060030AFF 01 01 0F 00")
        );
    }

    #[test]
    fn g7_hls_pass_3_and_4() {
        let pairs = [
            ("C3 01 C1 00 0F 00 00 28 00 00 FF 01 01 09 11 10 00 00 00 01 1A 52 FE 7D D3 E7 27 48 97 3C 1E 28",
             "C7 01 C1 00 01 00 09 11 10 01 23 45 67 FE 14 66 AF B3 DB CD 4F 93 89 E2 B7"),
            ("C3 01 C1 00 0F 00 00 28 00 00 FF 01 01 09 11 10 01 23 45 67 7D 52 39 1C 40 7E 3A 45 21 0F 00 0E",
             "C7 01 C1 00 01 00 09 11 10 1A 91 90 BC 0A 58 72 17 BC D2 BC D4 FD DB 71 43"),
        ];
        for (req, resp) in pairs {
            let b = unhex(req);
            let ActionRequest::Normal {
                method,
                parameters: Some(Data::OctetString(p)),
                ..
            } = ActionRequest::decode(&b).unwrap()
            else {
                panic!()
            };
            assert_eq!(method.to_string(), "0.0.40.0.0.255 method 1");
            assert_eq!((method.class_id, p.len(), p[0]), (15, 17, 0x10));
            assert_eq!(ActionRequest::decode(&b).unwrap().encode(), b);
            let (result, ret) = normal(resp);
            assert_eq!(result, DataAccessResult::Success);
            assert!(
                matches!(ret, Some(GetDataResult::Data(Data::OctetString(v))) if v.len() == 17)
            );
        }
        // GX MD5 trace (HDLC): pass 3 with a 16-byte digest, pass 4 answer.
        let b = unhex("C301C1000F0000280000FF0101091094510B865B2FF659F87D71FD7C64F6FC");
        assert_eq!(ActionRequest::decode(&b).unwrap().invoke_id(), 0xC1);
        normal("C701C100010009104D3931F43F957155EEFFCD75406062B3");
    }

    pub fn arb_action_request() -> impl Strategy<Value = ActionRequest> {
        let methods = || proptest::collection::vec(arb_method(), 0..4);
        prop_oneof![
            (any::<u8>(), arb_method(), proptest::option::of(arb_data())).prop_map(
                |(invoke_id, method, parameters)| ActionRequest::Normal {
                    invoke_id,
                    method,
                    parameters
                }
            ),
            (any::<u8>(), any::<u32>()).prop_map(|(invoke_id, block_number)| {
                ActionRequest::NextPblock {
                    invoke_id,
                    block_number,
                }
            }),
            (
                any::<u8>(),
                methods(),
                proptest::collection::vec(arb_data(), 0..3)
            )
                .prop_map(|(invoke_id, methods, parameters)| ActionRequest::WithList {
                    invoke_id,
                    methods,
                    parameters
                }),
            (any::<u8>(), arb_method(), arb_block()).prop_map(|(invoke_id, method, block)| {
                ActionRequest::WithFirstPblock {
                    invoke_id,
                    method,
                    block,
                }
            }),
            (any::<u8>(), methods(), arb_block()).prop_map(|(invoke_id, methods, block)| {
                ActionRequest::WithListAndFirstPblock {
                    invoke_id,
                    methods,
                    block,
                }
            }),
            (any::<u8>(), arb_block())
                .prop_map(|(invoke_id, block)| ActionRequest::WithPblock { invoke_id, block }),
        ]
    }

    pub fn arb_action_response() -> impl Strategy<Value = ActionResponse> {
        let result = || {
            (
                any::<u8>().prop_map(DataAccessResult::from_u8),
                proptest::option::of(arb_get_data_result()),
            )
        };
        prop_oneof![
            (any::<u8>(), result()).prop_map(|(invoke_id, (result, return_parameters))| {
                ActionResponse::Normal {
                    invoke_id,
                    result,
                    return_parameters,
                }
            }),
            (any::<u8>(), arb_block())
                .prop_map(|(invoke_id, block)| ActionResponse::WithPblock { invoke_id, block }),
            (any::<u8>(), proptest::collection::vec(result(), 0..3))
                .prop_map(|(invoke_id, results)| ActionResponse::WithList { invoke_id, results }),
            (any::<u8>(), any::<u32>()).prop_map(|(invoke_id, block_number)| {
                ActionResponse::NextPblock {
                    invoke_id,
                    block_number,
                }
            }),
        ]
    }

    #[test]
    fn a_refusal_without_the_return_presence_byte_is_read_as_none() {
        // The Gurux meter ends a refused ACTION after the result (C7 01 C1 03).
        assert_eq!(
            ActionResponse::decode(&[0xC7, 0x01, 0xC1, 0x03]).unwrap(),
            ActionResponse::Normal {
                invoke_id: 0xC1,
                result: DataAccessResult::ReadWriteDenied,
                return_parameters: None,
            }
        );
    }

    proptest! {
        #[test]
        fn request_round_trip(x in arb_action_request()) {
            prop_assert_eq!(ActionRequest::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn response_round_trip(x in arb_action_response()) {
            prop_assert_eq!(ActionResponse::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            choice in 0u8..8,
            b in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            for tag in [ActionRequest::TAG, ActionResponse::TAG] {
                let mut v = vec![tag, choice];
                v.extend_from_slice(&b);
                let _ = ActionRequest::decode(&v);
                let _ = ActionResponse::decode(&v);
            }
        }
    }
}
