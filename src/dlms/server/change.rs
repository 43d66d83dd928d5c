//! The services that change a meter: SET (normal, with-list, with datablocks), ACTION (normal,
//! with-list, parameter blocks, return data in blocks) and SN WRITE / UNCONFIRMED-WRITE; each
//! item is checked against the access rights of the client associated before the model sees it.

use super::session::{exception, Granted};
use super::{CosemServer, ObjectAccess, ServerSession};
use crate::dlms::acse::Conformance;
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{
    ActionRequest, ActionResponse, AttributeDescriptor, DataAccessResult, DataBlock, GetDataResult,
    MethodDescriptor, SelectiveAccess, SetRequest, SetResponse, VariableAccess, WriteRequest,
    WriteResponse, WriteResult,
};

/// The most a long SET or ACTION parameter may take before the server gives up on it.
const MAX_LONG_CHANGE: usize = 1 << 20;

/// A long SET or ACTION whose value is arriving in blocks.
#[derive(Debug)]
pub(super) struct LongChange {
    target: Targets,
    /// True for the with-list forms: the blocks carry a SEQUENCE OF Data.
    list: bool,
    raw: Vec<u8>,
    /// The last block received.
    block: u32,
}

#[derive(Debug)]
enum Targets {
    Set(Vec<(AttributeDescriptor, Option<SelectiveAccess>)>),
    Action(Vec<MethodDescriptor>),
}

/// An ACTION's return data too long for one APDU, sent in blocks.
#[derive(Debug)]
pub(super) struct LongReturn {
    raw: Vec<u8>,
    offset: usize,
    /// The last block sent.
    block: u32,
}

/// `count {Data}`: the values of a with-list SET or the parameters of a with-list ACTION, as
/// their blocks carry them.
fn decode_list(raw: &[u8]) -> Result<Vec<Data>, DecodeError> {
    let mut r = Reader::new(raw);
    let n = r.bounded_length("value count", 1)?;
    let values = (0..n)
        .map(|_| Data::decode(&mut r))
        .collect::<Result<Vec<_>, _>>()?;
    r.finish("values")?;
    Ok(values)
}

impl ServerSession {
    /// The rights of the client associated on an object (the public client's are reads only).
    pub(super) fn rights_of(&self, model: &dyn CosemServer, o: &ObjectListEntry) -> ObjectAccess {
        let rights = model.access(o);
        if self.writer {
            rights
        } else {
            rights.reads_only()
        }
    }

    fn rights(
        &self,
        model: &dyn CosemServer,
        class_id: u16,
        obis: Obis,
    ) -> Result<ObjectAccess, DataAccessResult> {
        let objects = model.objects();
        let o = objects
            .iter()
            .find(|o| o.obis == obis)
            .ok_or(DataAccessResult::ObjectUndefined)?;
        if o.class_id != class_id {
            return Err(DataAccessResult::ObjectClassInconsistent);
        }
        Ok(self.rights_of(model, o))
    }

    /// Writes one attribute if the rights allow it.
    fn write_one(
        &self,
        model: &mut dyn CosemServer,
        a: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
        value: Data,
    ) -> DataAccessResult {
        let allowed = self
            .rights(model, a.class_id, a.instance)
            .and_then(|r| match r.attribute(a.attribute) {
                None => Err(DataAccessResult::ObjectUndefined),
                Some(m) if m.writable() => Ok(()),
                Some(_) => Err(DataAccessResult::ReadWriteDenied),
            })
            // Nothing the simulator serves takes selective access on a write.
            .and_then(|()| access.map_or(Ok(()), |_| Err(DataAccessResult::OtherReason)));
        match allowed.and_then(|()| model.set(a, value)) {
            Ok(()) => DataAccessResult::Success,
            Err(e) => e,
        }
    }

    /// Invokes one method if the rights allow it; the error is the Action-Result.
    fn call_one(
        &self,
        model: &mut dyn CosemServer,
        m: &MethodDescriptor,
        parameter: Option<Data>,
    ) -> Result<Option<Data>, DataAccessResult> {
        match self.rights(model, m.class_id, m.instance)?.method(m.method) {
            None => Err(DataAccessResult::ObjectUndefined),
            Some(false) => Err(DataAccessResult::ReadWriteDenied),
            Some(true) => model.action(m, parameter),
        }
    }

    fn granted_has(&self, bit: Conformance) -> bool {
        self.granted
            .is_some_and(|g: Granted| g.conformance.contains(bit))
    }

    pub(super) fn set(&mut self, req: SetRequest, model: &mut dyn CosemServer) -> Vec<u8> {
        if !self.granted_has(Conformance::SET) {
            return exception(1, 2);
        }
        match req {
            SetRequest::Normal {
                invoke_id,
                attribute,
                access,
                value,
            } => {
                self.long_change = None;
                let result = self.write_one(model, &attribute, access.as_ref(), value);
                SetResponse::Normal { invoke_id, result }.encode()
            }
            SetRequest::WithList {
                invoke_id,
                attributes,
                values,
            } => {
                self.long_change = None;
                let results = self.write_list(model, &attributes, values);
                SetResponse::WithList { invoke_id, results }.encode()
            }
            SetRequest::WithFirstDatablock {
                invoke_id,
                attribute,
                access,
                block,
            } => self.first_block(
                invoke_id,
                Targets::Set(vec![(attribute, access)]),
                false,
                block,
                model,
            ),
            SetRequest::WithListAndFirstDatablock {
                invoke_id,
                attributes,
                block,
            } => self.first_block(invoke_id, Targets::Set(attributes), true, block, model),
            SetRequest::WithDatablock { invoke_id, block } => {
                self.next_change_block(invoke_id, block, true, model)
            }
        }
    }

    fn write_list(
        &self,
        model: &mut dyn CosemServer,
        attributes: &[(AttributeDescriptor, Option<SelectiveAccess>)],
        values: Vec<Data>,
    ) -> Vec<DataAccessResult> {
        if attributes.len() != values.len() {
            return vec![DataAccessResult::OtherReason; attributes.len()];
        }
        attributes
            .iter()
            .zip(values)
            .map(|((a, s), v)| self.write_one(model, a, s.as_ref(), v))
            .collect()
    }

    pub(super) fn action(&mut self, req: ActionRequest, model: &mut dyn CosemServer) -> Vec<u8> {
        if !self.granted_has(Conformance::ACTION) {
            return exception(1, 2);
        }
        match req {
            ActionRequest::Normal {
                invoke_id,
                method,
                parameters,
            } => {
                self.long_change = None;
                self.long_return = None;
                let r = self.call_one(model, &method, parameters);
                self.action_answer(invoke_id, r)
            }
            ActionRequest::WithList {
                invoke_id,
                methods,
                parameters,
            } => {
                self.long_change = None;
                self.long_return = None;
                let results = self.call_list(model, &methods, parameters);
                ActionResponse::WithList { invoke_id, results }.encode()
            }
            ActionRequest::WithFirstPblock {
                invoke_id,
                method,
                block,
            } => self.first_block(
                invoke_id,
                Targets::Action(vec![method]),
                false,
                block,
                model,
            ),
            ActionRequest::WithListAndFirstPblock {
                invoke_id,
                methods,
                block,
            } => self.first_block(invoke_id, Targets::Action(methods), true, block, model),
            ActionRequest::WithPblock { invoke_id, block } => {
                self.next_change_block(invoke_id, block, false, model)
            }
            ActionRequest::NextPblock {
                invoke_id,
                block_number,
            } => self.next_return_block(invoke_id, block_number),
        }
    }

    fn call_list(
        &self,
        model: &mut dyn CosemServer,
        methods: &[MethodDescriptor],
        parameters: Vec<Data>,
    ) -> Vec<(DataAccessResult, Option<GetDataResult>)> {
        if methods.len() != parameters.len() {
            return vec![(DataAccessResult::OtherReason, None); methods.len()];
        }
        methods
            .iter()
            .zip(parameters)
            .map(|(m, p)| match self.call_one(model, m, Some(p)) {
                Ok(ret) => (DataAccessResult::Success, ret.map(GetDataResult::Data)),
                Err(e) => (e, None),
            })
            .collect()
    }

    /// The answer to one method: its result and return data, in blocks when too long.
    fn action_answer(
        &mut self,
        invoke_id: u8,
        r: Result<Option<Data>, DataAccessResult>,
    ) -> Vec<u8> {
        let (result, returned) = match r {
            Ok(ret) => (DataAccessResult::Success, ret),
            Err(e) => (e, None),
        };
        let whole = ActionResponse::Normal {
            invoke_id,
            result,
            return_parameters: returned.clone().map(GetDataResult::Data),
        }
        .encode();
        let Some(data) = returned.filter(|_| whole.len() > self.plain_limit()) else {
            return whole;
        };
        if !self.granted_has(Conformance::BLOCK_TRANSFER_WITH_ACTION) {
            // Done, but what it returned does not fit and the client cannot take blocks.
            return ActionResponse::Normal {
                invoke_id,
                result,
                return_parameters: Some(GetDataResult::Error(DataAccessResult::OtherReason)),
            }
            .encode();
        }
        self.long_return = Some(LongReturn {
            raw: data.to_bytes(),
            offset: 0,
            block: 0,
        });
        self.emit_return_block(invoke_id)
    }

    fn emit_return_block(&mut self, invoke_id: u8) -> Vec<u8> {
        // Room for tag, choice, invoke id and the block header (last, number, length).
        let size = self.plain_limit().saturating_sub(16).max(16);
        let Some(lr) = self.long_return.as_mut() else {
            return exception(1, 1);
        };
        let end = (lr.offset + size).min(lr.raw.len());
        let raw = lr.raw[lr.offset..end].to_vec();
        lr.offset = end;
        lr.block += 1;
        let last_block = end >= lr.raw.len();
        let block_number = lr.block;
        if last_block {
            self.long_return = None;
        }
        ActionResponse::WithPblock {
            invoke_id,
            block: DataBlock {
                last_block,
                block_number,
                raw,
            },
        }
        .encode()
    }

    fn next_return_block(&mut self, invoke_id: u8, block_number: u32) -> Vec<u8> {
        let refuse = |result| {
            ActionResponse::Normal {
                invoke_id,
                result,
                return_parameters: None,
            }
            .encode()
        };
        match &self.long_return {
            // Action-Result 16: no-long-action-in-progress.
            None => refuse(DataAccessResult::NoLongGetInProgress),
            Some(lr) if lr.block != block_number => {
                self.long_return = None;
                // Action-Result 15: long-action-aborted.
                refuse(DataAccessResult::LongGetAborted)
            }
            Some(_) => self.emit_return_block(invoke_id),
        }
    }

    fn first_block(
        &mut self,
        invoke_id: u8,
        target: Targets,
        list: bool,
        block: DataBlock,
        model: &mut dyn CosemServer,
    ) -> Vec<u8> {
        self.long_change = None;
        self.long_return = None;
        let set = matches!(target, Targets::Set(_));
        if block.block_number != 1 {
            return block_refused(
                invoke_id,
                set,
                &target,
                DataAccessResult::DataBlockNumberInvalid,
                block.block_number,
            );
        }
        self.long_change = Some(LongChange {
            target,
            list,
            raw: Vec::new(),
            block: 0,
        });
        self.next_change_block(invoke_id, block, set, model)
    }

    /// One more block of a long SET (`set`) or ACTION: acknowledged, or the change is made
    /// when it is the last.
    fn next_change_block(
        &mut self,
        invoke_id: u8,
        block: DataBlock,
        set: bool,
        model: &mut dyn CosemServer,
    ) -> Vec<u8> {
        let Some(mut lc) = self.long_change.take() else {
            // Data-Access-Result 18 no-long-set-in-progress; Action-Result 16.
            let e = if set {
                DataAccessResult::NoLongSetInProgress
            } else {
                DataAccessResult::NoLongGetInProgress
            };
            return block_refused(
                invoke_id,
                set,
                &Targets::Action(Vec::new()),
                e,
                block.block_number,
            );
        };
        let kind_matches = matches!(lc.target, Targets::Set(_)) == set;
        let e = if !kind_matches || block.block_number != lc.block.wrapping_add(1) {
            Some(if set {
                DataAccessResult::DataBlockNumberInvalid
            } else {
                DataAccessResult::LongGetAborted
            })
        } else if lc.raw.len() + block.raw.len() > MAX_LONG_CHANGE {
            Some(if set {
                DataAccessResult::LongSetAborted
            } else {
                DataAccessResult::LongGetAborted
            })
        } else {
            None
        };
        if let Some(e) = e {
            return block_refused(invoke_id, set, &lc.target, e, block.block_number);
        }
        lc.raw.extend_from_slice(&block.raw);
        lc.block = block.block_number;
        if !block.last_block {
            let block_number = lc.block;
            self.long_change = Some(lc);
            return if set {
                SetResponse::Datablock {
                    invoke_id,
                    block_number,
                }
                .encode()
            } else {
                ActionResponse::NextPblock {
                    invoke_id,
                    block_number,
                }
                .encode()
            };
        }
        let values = if lc.list {
            decode_list(&lc.raw)
        } else {
            Data::from_bytes(&lc.raw).map(|d| vec![d])
        };
        let block_number = lc.block;
        match (lc.target, values) {
            (Targets::Set(attrs), Ok(values)) => {
                let results = self.write_list(model, &attrs, values);
                match (lc.list, results.as_slice()) {
                    (false, [result]) => SetResponse::LastDatablock {
                        invoke_id,
                        result: *result,
                        block_number,
                    }
                    .encode(),
                    _ => SetResponse::LastDatablockWithList {
                        invoke_id,
                        results,
                        block_number,
                    }
                    .encode(),
                }
            }
            (Targets::Action(methods), Ok(mut values)) => {
                if lc.list {
                    let results = self.call_list(model, &methods, values);
                    ActionResponse::WithList { invoke_id, results }.encode()
                } else {
                    let r = match (methods.first(), values.pop()) {
                        (Some(m), p) => self.call_one(model, m, p),
                        (None, _) => Err(DataAccessResult::OtherReason),
                    };
                    self.action_answer(invoke_id, r)
                }
            }
            // The joined blocks are not the value(s) announced.
            (target, Err(_)) => block_refused(
                invoke_id,
                set,
                &target,
                DataAccessResult::TypeUnmatched,
                block_number,
            ),
        }
    }

    /// SN WRITE: one result per variable.
    pub(super) fn write(&mut self, req: WriteRequest, model: &mut dyn CosemServer) -> Vec<u8> {
        if !self.granted_has(Conformance::WRITE) {
            return exception(1, 2);
        }
        WriteResponse(self.write_items(req, model)).encode()
    }

    /// SN UNCONFIRMED-WRITE: done like a WRITE, answered with nothing.
    pub(super) fn unconfirmed_write(&mut self, req: WriteRequest, model: &mut dyn CosemServer) {
        if self.granted_has(Conformance::UNCONFIRMED_WRITE) {
            self.write_items(req, model);
        }
    }

    fn write_items(&mut self, req: WriteRequest, model: &mut dyn CosemServer) -> Vec<WriteResult> {
        if req.names.len() != req.values.len() {
            return vec![WriteResult::Error(DataAccessResult::OtherReason); req.names.len()];
        }
        let objects = model.objects();
        req.names
            .iter()
            .zip(req.values)
            .map(|(name, value)| {
                let VariableAccess::Name(n) = name else {
                    // Parameterized and block writes are not served.
                    return WriteResult::Error(DataAccessResult::OtherReason);
                };
                let Some(a) = self.resolve(&objects, *n) else {
                    return WriteResult::Error(DataAccessResult::ObjectUndefined);
                };
                match self.write_one(model, &a, None, value) {
                    DataAccessResult::Success => WriteResult::Success,
                    e => WriteResult::Error(e),
                }
            })
            .collect()
    }
}

/// The answer that ends a long SET or ACTION with an error.
fn block_refused(
    invoke_id: u8,
    set: bool,
    target: &Targets,
    e: DataAccessResult,
    block_number: u32,
) -> Vec<u8> {
    match (set, target) {
        (true, Targets::Set(attrs)) if attrs.len() > 1 => SetResponse::LastDatablockWithList {
            invoke_id,
            results: vec![e; attrs.len()],
            block_number,
        }
        .encode(),
        (true, _) => SetResponse::LastDatablock {
            invoke_id,
            result: e,
            block_number,
        }
        .encode(),
        (false, _) => ActionResponse::Normal {
            invoke_id,
            result: e,
            return_parameters: None,
        }
        .encode(),
    }
}
