//! Changing a meter: SET an attribute or invoke a method (ACTION) over LN, WRITE (confirmed or
//! unconfirmed) over SN; values longer than the meter's PDU go in blocks. [`ChangeOp`] is
//! driven like [`super::ReadOp`]: send what it hands out, feed back each answer.

use super::read_op::CIPHER_OVERHEAD;
use super::{sn_attribute_name, AttributeRef, ClientSession, Referencing, SessionError, Step};
use crate::dlms::acse::Conformance;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::security::Policy;
use crate::dlms::xdlms::{
    ActionRequest, ActionResponse, Apdu, DataAccessResult, DataBlock, GetDataResult,
    MethodDescriptor, SetRequest, SetResponse, UnconfirmedWriteRequest, VariableAccess,
    WriteRequest, WriteResult,
};

/// A method of an object: class, logical name and method index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodRef {
    /// Interface class.
    pub class_id: u16,
    /// Logical name.
    pub obis: Obis,
    /// Method index (from 1).
    pub method: i8,
}

impl MethodRef {
    /// A method of an object.
    pub fn new(class_id: u16, obis: Obis, method: i8) -> Self {
        MethodRef {
            class_id,
            obis,
            method,
        }
    }
}

impl std::fmt::Display for MethodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} method {} (class {})",
            self.obis, self.method, self.class_id
        )
    }
}

/// One change to a meter.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Write an attribute (SET over LN, WRITE over SN).
    Set {
        /// The attribute.
        attribute: AttributeRef,
        /// Its new value.
        value: Data,
    },
    /// Invoke a method (ACTION, LN only).
    Action {
        /// The method.
        method: MethodRef,
        /// Its parameter (methods without one take none; many meters want `integer 0`).
        parameter: Option<Data>,
    },
}

impl Change {
    /// The plain request APDU (before any ciphering; LN, normal, invoke id 0xC1), as a dry
    /// run or a confirmation shows it.
    pub fn plain_apdu(&self) -> Vec<u8> {
        match self {
            Change::Set { attribute, value } => SetRequest::Normal {
                invoke_id: 0xC1,
                attribute: crate::dlms::xdlms::AttributeDescriptor {
                    class_id: attribute.class_id,
                    instance: attribute.obis,
                    attribute: attribute.attribute,
                },
                access: None,
                value: value.clone(),
            }
            .encode(),
            Change::Action { method, parameter } => ActionRequest::Normal {
                invoke_id: 0xC1,
                method: MethodDescriptor {
                    class_id: method.class_id,
                    instance: method.obis,
                    method: method.method,
                },
                parameters: parameter.clone(),
            }
            .encode(),
        }
    }

    /// The change in words: `SET 0.0.1.0.0.255:2 (class 8) = octet-string …`.
    pub fn describe(&self) -> String {
        match self {
            Change::Set { attribute, value } => format!(
                "SET {}:{} (class {}) = {} {value}",
                attribute.obis,
                attribute.attribute,
                attribute.class_id,
                value.type_name()
            ),
            Change::Action { method, parameter } => match parameter {
                Some(p) => format!("ACTION {method} with {} {p}", p.type_name()),
                None => format!("ACTION {method} without parameter"),
            },
        }
    }
}

/// What the meter answered to a change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeOutcome {
    /// `success`, or the data-access / action-result code the meter gave.
    pub result: DataAccessResult,
    /// What an ACTION returned: its data, or the error code in its place.
    pub returned: Option<Result<Data, DataAccessResult>>,
    /// False for an SN unconfirmed write: the meter answers nothing, so nothing is known.
    pub confirmed: bool,
}

impl ChangeOutcome {
    /// True when the meter said the change was made.
    pub fn succeeded(&self) -> bool {
        self.result == DataAccessResult::Success
    }
}

/// Bytes of a SET-Request-With-Datablock besides the block: tag, choice, invoke id,
/// descriptor, access flag and the block header (last, number, a length of up to 3 bytes).
const SET_HEADER: usize = 3 + 9 + 1 + 1 + 4 + 3;

/// A SET, ACTION or WRITE in progress.
#[derive(Debug)]
pub struct ChangeOp {
    invoke_id: u8,
    kind: Kind,
    /// The first request (whole, or with its first block).
    first: Vec<u8>,
    /// Blocks still to send after the first, in order (block number, last, raw).
    blocks: Vec<DataBlock>,
    /// The return data of an ACTION that comes in blocks, so far.
    returned: Vec<u8>,
    outcome: Option<ChangeOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Set,
    Action,
    Write,
    UnconfirmedWrite,
}

impl ClientSession {
    /// Starts a change; drive the returned operation to completion. `unconfirmed` asks for an
    /// SN unconfirmed write (no answer; LN has no such service).
    pub fn change(&self, change: &Change, unconfirmed: bool) -> Result<ChangeOp, SessionError> {
        let assoc = self
            .association
            .as_ref()
            .ok_or(SessionError::NotAssociated)?;
        let granted = |bit: Conformance, service: &'static str| {
            if assoc.conformance.contains(bit) {
                Ok(())
            } else {
                Err(SessionError::NotGranted(service))
            }
        };
        let invoke_id = self.settings.invoke_id;
        let ciphered = self
            .settings
            .ciphering
            .as_ref()
            .is_some_and(|c| c.policy != Policy::None);
        let room = usize::from(assoc.max_pdu)
            .saturating_sub(SET_HEADER + if ciphered { CIPHER_OVERHEAD } else { 0 })
            .max(16);
        let op = |kind, first, blocks| ChangeOp {
            invoke_id,
            kind,
            first,
            blocks,
            returned: Vec::new(),
            outcome: None,
        };
        match (self.settings.referencing, change) {
            (Referencing::Ln, Change::Set { attribute, value }) => {
                granted(Conformance::SET, "SET")?;
                let whole = SetRequest::Normal {
                    invoke_id,
                    attribute: attribute.descriptor(),
                    access: attribute.access.clone(),
                    value: value.clone(),
                }
                .encode();
                if whole.len()
                    <= usize::from(assoc.max_pdu).saturating_sub(if ciphered {
                        CIPHER_OVERHEAD
                    } else {
                        0
                    })
                {
                    return Ok(op(Kind::Set, whole, Vec::new()));
                }
                granted(
                    Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE,
                    "block transfer with SET",
                )?;
                let mut blocks = blocks_of(&value.to_bytes(), room);
                let first = blocks.remove(0);
                let first = SetRequest::WithFirstDatablock {
                    invoke_id,
                    attribute: attribute.descriptor(),
                    access: attribute.access.clone(),
                    block: first,
                }
                .encode();
                Ok(op(Kind::Set, first, blocks))
            }
            (Referencing::Ln, Change::Action { method, parameter }) => {
                granted(Conformance::ACTION, "ACTION")?;
                let descriptor = MethodDescriptor {
                    class_id: method.class_id,
                    instance: method.obis,
                    method: method.method,
                };
                let whole = ActionRequest::Normal {
                    invoke_id,
                    method: descriptor,
                    parameters: parameter.clone(),
                }
                .encode();
                let limit = usize::from(assoc.max_pdu).saturating_sub(if ciphered {
                    CIPHER_OVERHEAD
                } else {
                    0
                });
                match parameter {
                    Some(p) if whole.len() > limit => {
                        granted(
                            Conformance::BLOCK_TRANSFER_WITH_ACTION,
                            "block transfer with ACTION",
                        )?;
                        let mut blocks = blocks_of(&p.to_bytes(), room);
                        let first = blocks.remove(0);
                        let first = ActionRequest::WithFirstPblock {
                            invoke_id,
                            method: descriptor,
                            block: first,
                        }
                        .encode();
                        Ok(op(Kind::Action, first, blocks))
                    }
                    _ => Ok(op(Kind::Action, whole, Vec::new())),
                }
            }
            (Referencing::Sn, Change::Set { attribute, value }) => {
                let base = if attribute.class_id == 12
                    && attribute.obis == Obis::new(0, 0, 40, 0, 0, 255)
                {
                    Some(0xFA00)
                } else {
                    self.short_names.get(&attribute.obis).copied()
                };
                let Some(base) = base else {
                    return Err(SessionError::UnknownShortName(attribute.obis));
                };
                let names = vec![VariableAccess::Name(sn_attribute_name(
                    base,
                    attribute.attribute,
                ))];
                let values = vec![value.clone()];
                if unconfirmed {
                    granted(Conformance::UNCONFIRMED_WRITE, "unconfirmed WRITE")?;
                    let apdu = UnconfirmedWriteRequest(WriteRequest { names, values }).encode();
                    Ok(op(Kind::UnconfirmedWrite, apdu, Vec::new()))
                } else {
                    granted(Conformance::WRITE, "WRITE")?;
                    let apdu = WriteRequest { names, values }.encode();
                    Ok(op(Kind::Write, apdu, Vec::new()))
                }
            }
            (Referencing::Sn, Change::Action { .. }) => Err(SessionError::Settings(
                "calling a method over SN referencing is not supported; use an LN association"
                    .into(),
            )),
        }
    }
}

/// The encoded value cut into blocks of at most `room` bytes, numbered from 1.
fn blocks_of(bytes: &[u8], room: usize) -> Vec<DataBlock> {
    let chunks: Vec<&[u8]> = bytes.chunks(room.max(1)).collect();
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, raw)| DataBlock {
            last_block: i + 1 == n,
            block_number: i as u32 + 1,
            raw: raw.to_vec(),
        })
        .collect()
}

impl ChangeOp {
    /// The first request.
    pub fn start(&mut self) -> Step {
        Step::Send(self.first.clone())
    }

    /// True when the meter answers (everything but an SN unconfirmed write).
    pub fn expects_answer(&self) -> bool {
        self.kind != Kind::UnconfirmedWrite
    }

    /// The outcome, once the operation is done (an unconfirmed write: sent, outcome unknown).
    pub fn outcome(&self) -> Option<ChangeOutcome> {
        if self.kind == Kind::UnconfirmedWrite {
            return Some(ChangeOutcome {
                result: DataAccessResult::Success,
                returned: None,
                confirmed: false,
            });
        }
        self.outcome.clone()
    }

    fn done(&mut self, result: DataAccessResult, returned: Option<GetDataResult>) -> Step {
        self.outcome = Some(ChangeOutcome {
            result,
            returned: returned.map(|r| match r {
                GetDataResult::Data(d) => Ok(d),
                GetDataResult::Error(e) => Err(e),
            }),
            confirmed: true,
        });
        Step::Done
    }

    fn unexpected(&self, expected: &'static str, got: &Apdu) -> SessionError {
        SessionError::Unexpected {
            expected,
            got: got.name().to_string(),
        }
    }

    fn check_invoke_id(&self, got: u8) -> Result<(), SessionError> {
        if got & 0x0F == self.invoke_id & 0x0F {
            Ok(())
        } else {
            Err(SessionError::Unexpected {
                expected: "an answer with our invoke id",
                got: format!("invoke id {}", got & 0x0F),
            })
        }
    }

    /// The next block of a long SET or ACTION parameter, after the meter acknowledged `acked`.
    fn next_block(&mut self, acked: u32) -> Result<Step, SessionError> {
        if self.blocks.first().map(|b| b.block_number) != Some(acked + 1) {
            return Err(SessionError::Unexpected {
                expected: "the acknowledgement of the block just sent",
                got: format!("an acknowledgement of block {acked}"),
            });
        }
        let block = self.blocks.remove(0);
        let apdu = match self.kind {
            Kind::Action => ActionRequest::WithPblock {
                invoke_id: self.invoke_id,
                block,
            }
            .encode(),
            _ => SetRequest::WithDatablock {
                invoke_id: self.invoke_id,
                block,
            }
            .encode(),
        };
        Ok(Step::Send(apdu))
    }

    /// Feeds the meter's answer; returns the next request or `Done`.
    pub fn handle(&mut self, apdu: &[u8]) -> Result<Step, SessionError> {
        let answer = Apdu::decode(apdu)?;
        match (self.kind, answer) {
            (_, Apdu::ExceptionResponse(e)) => Err(SessionError::Exception(e)),
            (_, Apdu::ConfirmedServiceError(e)) => Err(SessionError::ServiceError(e)),
            (Kind::Set, Apdu::SetResponse(r)) => {
                self.check_invoke_id(r.invoke_id())?;
                match r {
                    SetResponse::Normal { result, .. }
                    | SetResponse::LastDatablock { result, .. } => Ok(self.done(result, None)),
                    SetResponse::Datablock { block_number, .. } => self.next_block(block_number),
                    SetResponse::WithList { results, .. }
                    | SetResponse::LastDatablockWithList { results, .. } => Ok(self.done(
                        results
                            .first()
                            .copied()
                            .unwrap_or(DataAccessResult::OtherReason),
                        None,
                    )),
                }
            }
            (Kind::Action, Apdu::ActionResponse(r)) => {
                self.check_invoke_id(r.invoke_id())?;
                match r {
                    ActionResponse::Normal {
                        result,
                        return_parameters,
                        ..
                    } => Ok(self.done(result, return_parameters)),
                    ActionResponse::NextPblock { block_number, .. } => {
                        self.next_block(block_number)
                    }
                    ActionResponse::WithPblock { block, .. } => {
                        self.returned.extend_from_slice(&block.raw);
                        if !block.last_block {
                            return Ok(Step::Send(
                                ActionRequest::NextPblock {
                                    invoke_id: self.invoke_id,
                                    block_number: block.block_number,
                                }
                                .encode(),
                            ));
                        }
                        // The blocks hold Action-Response-With-Optional-Data's data part.
                        let data = Data::from_bytes(&self.returned).map_err(|e| {
                            SessionError::Unexpected {
                                expected: "the method's return data",
                                got: format!("data that does not decode ({e})"),
                            }
                        })?;
                        Ok(self.done(DataAccessResult::Success, Some(GetDataResult::Data(data))))
                    }
                    ActionResponse::WithList { results, .. } => {
                        let (result, ret) = results
                            .into_iter()
                            .next()
                            .unwrap_or((DataAccessResult::OtherReason, None));
                        Ok(self.done(result, ret))
                    }
                }
            }
            (Kind::Write, Apdu::WriteResponse(r)) => match r.0.first() {
                Some(WriteResult::Success) => Ok(self.done(DataAccessResult::Success, None)),
                Some(WriteResult::Error(e)) => Ok(self.done(*e, None)),
                Some(WriteResult::BlockNumber(_)) | None => Err(SessionError::Unexpected {
                    expected: "the result of the write",
                    got: "a block acknowledgement or no result".into(),
                }),
            },
            (Kind::Set, other) => Err(self.unexpected("a SET response", &other)),
            (Kind::Action, other) => Err(self.unexpected("an ACTION response", &other)),
            (_, other) => Err(self.unexpected("a WRITE response", &other)),
        }
    }
}
