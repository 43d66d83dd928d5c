//! The xDLMS services served: GET (normal, next, with-list) and SN Read, with block transfer.

use super::session::{exception, LongRead};
use super::{object_list_ln, CosemServer, ServerSession};
use crate::dlms::acse::Conformance;
use crate::dlms::axdr::write_length;
use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{
    encode_get_response_normal_raw, AttributeDescriptor, DataAccessResult, GetRequest, GetResponse,
    ReadRequest, ReadResponse, ReadResult, SelectiveAccess, VariableAccess,
};

/// The current association's logical name.
const ASSOCIATION_LN: Obis = Obis::new(0, 0, 40, 0, 0, 255);

impl ServerSession {
    pub(super) fn get(&mut self, req: GetRequest, model: &mut dyn CosemServer) -> Vec<u8> {
        let limit = self.plain_limit();
        match req {
            GetRequest::Normal {
                invoke_id,
                attribute,
                access,
            } => {
                self.long_read = None;
                match self.read_one(model, &attribute, access.as_ref()) {
                    Ok(d) => {
                        let bytes = d.to_bytes();
                        let normal = encode_get_response_normal_raw(invoke_id, &bytes);
                        // Ciphered GBT: whole here, split into blocks once ciphered (`handle`).
                        if normal.len() <= limit || (self.gbt_granted() && self.is_ciphered()) {
                            normal
                        } else if self.gbt_granted() {
                            self.start_gbt(&normal)
                        } else {
                            self.start_blocks(invoke_id, bytes, false)
                        }
                    }
                    Err(e) => GetResponse::Normal {
                        invoke_id,
                        result: crate::dlms::xdlms::GetDataResult::Error(e),
                    }
                    .encode(),
                }
            }
            GetRequest::WithList {
                invoke_id,
                attributes,
            } => {
                self.long_read = None;
                let raw = self.results_list(
                    attributes
                        .iter()
                        .map(|(a, s)| self.read_one(model, a, s.as_ref()))
                        .collect(),
                );
                let mut whole = vec![0xC4, 0x03, invoke_id];
                whole.extend_from_slice(&raw);
                if whole.len() <= limit || (self.gbt_granted() && self.is_ciphered()) {
                    whole
                } else if self.gbt_granted() {
                    self.start_gbt(&whole)
                } else {
                    self.start_blocks(invoke_id, raw, false)
                }
            }
            GetRequest::Next {
                invoke_id,
                block_number,
            } => self.next_block(invoke_id, block_number),
        }
    }

    /// Reads one attribute for this association: the Association LN's object_list with the
    /// client's own access rights is the session's; everything else is the model's.
    fn read_one(
        &self,
        model: &mut dyn CosemServer,
        a: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.may_read(a)?;
        if a.class_id == 15 && a.instance == ASSOCIATION_LN && a.attribute == 2 && access.is_none()
        {
            let objects = model.objects();
            return Ok(object_list_ln(&objects, |o| self.rights_of(model, o)));
        }
        model.get(a, access)
    }

    /// `count {00 Data | 01 DAR}`, the body of with-list answers.
    fn results_list(&self, results: Vec<Result<Data, DataAccessResult>>) -> Vec<u8> {
        let mut raw = Vec::new();
        write_length(&mut raw, results.len());
        for r in results {
            match r {
                Ok(d) => {
                    raw.push(0);
                    d.encode(&mut raw);
                }
                Err(e) => raw.extend_from_slice(&[1, e.to_u8()]),
            }
        }
        raw
    }

    fn block_size(&self) -> usize {
        // Room for the block header (tag, type, invoke id, last, number, choice, length).
        self.plain_limit().saturating_sub(16).max(16)
    }

    fn start_blocks(&mut self, invoke_id: u8, raw: Vec<u8>, sn: bool) -> Vec<u8> {
        // SN clients (Gurux's among them) rarely propose block-transfer-with-read yet expect
        // Read data blocks, as meters send them; so SN answers in blocks regardless.
        if !sn
            && !self
                .granted()
                .conformance
                .contains(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ)
        {
            // The answer does not fit and the client cannot take blocks.
            return GetResponse::Normal {
                invoke_id,
                result: crate::dlms::xdlms::GetDataResult::Error(DataAccessResult::OtherReason),
            }
            .encode();
        }
        self.long_read = Some(LongRead {
            raw,
            offset: 0,
            block: 0,
            sn,
        });
        self.emit_block(invoke_id)
    }

    fn emit_block(&mut self, invoke_id: u8) -> Vec<u8> {
        let size = self.block_size();
        let Some(lr) = self.long_read.as_mut() else {
            return exception(1, 1);
        };
        let end = (lr.offset + size).min(lr.raw.len());
        let chunk = lr.raw[lr.offset..end].to_vec();
        lr.offset = end;
        lr.block += 1;
        let last = end >= lr.raw.len();
        let (block, sn) = (lr.block, lr.sn);
        if last {
            self.long_read = None;
        }
        if sn {
            ReadResponse(vec![ReadResult::DataBlock {
                last_block: last,
                block_number: block as u16,
                raw: chunk,
            }])
            .encode()
        } else {
            GetResponse::WithDataBlock {
                invoke_id,
                last_block: last,
                block_number: block,
                result: Ok(chunk),
            }
            .encode()
        }
    }

    fn next_block(&mut self, invoke_id: u8, block_number: u32) -> Vec<u8> {
        let refuse = |e: DataAccessResult| {
            GetResponse::WithDataBlock {
                invoke_id,
                last_block: true,
                block_number,
                result: Err(e),
            }
            .encode()
        };
        match &self.long_read {
            None => refuse(DataAccessResult::NoLongGetInProgress),
            Some(lr) if lr.block != block_number || lr.sn => {
                self.long_read = None;
                refuse(DataAccessResult::DataBlockNumberInvalid)
            }
            Some(_) => self.emit_block(invoke_id),
        }
    }

    /// Resolves an SN variable name to (class, logical name, attribute).
    pub(super) fn resolve(
        &self,
        objects: &[ObjectListEntry],
        name: u16,
    ) -> Option<AttributeDescriptor> {
        let o = objects
            .iter()
            .filter(|o| o.short_name.is_some_and(|b| b <= name))
            .max_by_key(|o| o.short_name)?;
        let offset = name - o.short_name?;
        if !offset.is_multiple_of(8) || offset / 8 > 30 {
            return None;
        }
        Some(AttributeDescriptor {
            class_id: o.class_id,
            instance: o.obis,
            attribute: (offset / 8 + 1) as i8,
        })
    }

    pub(super) fn read(&mut self, req: ReadRequest, model: &mut dyn CosemServer) -> Vec<u8> {
        if let [VariableAccess::BlockNumber(n)] = req.0.as_slice() {
            return match &self.long_read {
                Some(lr) if lr.sn && lr.block == *n as u32 => self.emit_block(0),
                _ => {
                    self.long_read = None;
                    ReadResponse(vec![ReadResult::Error(
                        DataAccessResult::DataBlockNumberInvalid,
                    )])
                    .encode()
                }
            };
        }
        self.long_read = None;
        let objects = model.objects();
        let results: Vec<Result<Data, DataAccessResult>> = req
            .0
            .iter()
            .map(|v| {
                let (name, access) = match v {
                    VariableAccess::Name(n) => (*n, None),
                    VariableAccess::Parameterized {
                        name,
                        selector,
                        parameters,
                    } => (
                        *name,
                        Some(SelectiveAccess {
                            selector: *selector,
                            parameters: parameters.clone(),
                        }),
                    ),
                    VariableAccess::BlockNumber(_) => return Err(DataAccessResult::OtherReason),
                };
                let attr = self
                    .resolve(&objects, name)
                    .ok_or(DataAccessResult::ObjectUndefined)?;
                self.may_read(&attr)?;
                model.get(&attr, access.as_ref())
            })
            .collect();
        let limit = self.plain_limit();
        if let [single] = results.as_slice() {
            let raw = match single {
                Ok(d) => d.to_bytes(),
                Err(e) => return ReadResponse(vec![ReadResult::Error(*e)]).encode(),
            };
            let mut whole = vec![0x0C, 0x01, 0x00];
            whole.extend_from_slice(&raw);
            return if whole.len() <= limit {
                whole
            } else {
                self.start_blocks(0, raw, true)
            };
        }
        let raw = self.results_list(results);
        let mut whole = vec![0x0C];
        whole.extend_from_slice(&raw);
        if whole.len() <= limit {
            whole
        } else {
            self.start_blocks(0, raw, true)
        }
    }
}
