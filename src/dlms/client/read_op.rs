//! Reading attributes: chunking items into requests and [`ReadOp`], the read state machine.

use super::{sn_attribute_name, AttributeRef, ClientSession, ReadError, Referencing, SessionError};
use crate::dlms::acse::Conformance;
use crate::dlms::axdr::Reader;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::security::{is_ciphered, Policy};
use crate::dlms::xdlms::{
    gbt, Apdu, DataAccessResult, GbtReceiver, GeneralBlockTransfer, GetDataResult, GetRequest,
    GetResponse, ReadRequest, ReadResponse, ReadResult, Received, VariableAccess,
};

/// The largest APDU joined from general-block-transfer blocks.
const GBT_LIMIT: usize = 16 << 20;
/// Timeouts in a row after which a general-block-transfer is given up.
pub const GBT_TIMEOUTS: u32 = 3;

/// Bytes of one request APDU besides its attribute descriptors: GET-with-list tag, choice,
/// invoke-id and a one-byte count (SN Read: tag and count).
const LIST_HEADER: usize = 4;
/// Bytes one attribute descriptor takes in a GET-with-list: class, OBIS, attribute and the
/// access-selection flag.
const LIST_ITEM: usize = 10;
/// Bytes one variable name takes in an SN ReadRequest: choice and name.
const SN_ITEM: usize = 3;
/// The LLC header (E6 E6 00) that the first HDLC frame of an APDU carries.
pub(super) const LLC: usize = 3;
/// What ciphering adds to an APDU, at most: tag, a length of up to three bytes, security
/// control, invocation counter and the 12-byte tag; general-glo-ciphering also the system
/// title (with its length).
pub(super) const CIPHER_OVERHEAD: usize = 1 + 3 + 1 + 4 + 12 + 9;

impl ClientSession {
    /// How many items fit one list request: the meter's PDU size (with a margin: 12 bytes
    /// an item after 16 for the header, as before), and one link frame when the link has a
    /// frame limit; both less ciphering's overhead when requests are ciphered. At least one,
    /// at most 32.
    fn per_request(&self, max_pdu: u16, item: usize) -> usize {
        let ciphered = self
            .settings
            .ciphering
            .as_ref()
            .is_some_and(|c| c.policy != Policy::None);
        let cipher = if ciphered { CIPHER_OVERHEAD } else { 0 };
        let mut per = usize::from(max_pdu).saturating_sub(16 + cipher) / 12;
        if let Some(frame) = self.settings.max_frame_info {
            let room = frame.saturating_sub(LLC + cipher + LIST_HEADER);
            per = per.min(room / item);
        }
        per.clamp(1, 32)
    }

    /// Starts reading attributes; drive the returned operation to completion.
    pub fn read(&self, items: &[AttributeRef]) -> Result<ReadOp, SessionError> {
        let assoc = self
            .association
            .as_ref()
            .ok_or(SessionError::NotAssociated)?;
        let multi =
            assoc.conformance.contains(Conformance::MULTIPLE_REFERENCES) && self.settings.with_list;
        let mut results: Vec<Option<Result<Data, ReadError>>> = vec![None; items.len()];
        let mut chunks = Vec::new();
        match self.settings.referencing {
            Referencing::Ln => {
                // Large objects go alone: meters often cannot answer a with-list whose result
                // needs block transfer (the Gurux meter's blocked with-list answer is malformed).
                let (alone, listed): (Vec<usize>, Vec<usize>) =
                    (0..items.len()).partition(|&i| is_large(&items[i]));
                let per = if multi {
                    self.per_request(assoc.max_pdu, LIST_ITEM)
                } else {
                    1
                };
                for c in listed.chunks(per) {
                    chunks.push(Chunk::Ln(c.to_vec()));
                }
                chunks.extend(alone.into_iter().map(|i| Chunk::Ln(vec![i])));
            }
            Referencing::Sn => {
                let mut named = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    // The association object is always at 0xFA00.
                    let base = if it.class_id == 12 && it.obis == Obis::new(0, 0, 40, 0, 0, 255) {
                        Some(0xFA00)
                    } else {
                        self.short_names.get(&it.obis).copied()
                    };
                    match base {
                        Some(b) => named.push((i, sn_attribute_name(b, it.attribute))),
                        None => results[i] = Some(Err(ReadError::UnknownShortName(it.obis))),
                    }
                }
                let (alone, listed): (Vec<_>, Vec<_>) =
                    named.into_iter().partition(|&(i, _)| is_large(&items[i]));
                let per = if multi {
                    self.per_request(assoc.max_pdu, SN_ITEM)
                } else {
                    1
                };
                for c in listed.chunks(per) {
                    chunks.push(Chunk::Sn(c.to_vec()));
                }
                chunks.extend(alone.into_iter().map(|n| Chunk::Sn(vec![n])));
            }
        }
        chunks.reverse();
        Ok(ReadOp {
            invoke_id: self.settings.invoke_id,
            items: items.to_vec(),
            results,
            pending: chunks,
            current: None,
            probes: Vec::new(),
            fallback_reason: None,
            gbt_window: self.settings.gbt_window,
            gbt_recoveries: 0,
            gbt_timeouts: 0,
        })
    }
}

/// Attributes whose value is usually large (profile buffers, object lists) or selected.
fn is_large(item: &AttributeRef) -> bool {
    item.access.is_some() || matches!((item.class_id, item.attribute), (7, 2) | (12 | 15, 2))
}

#[derive(Debug, Clone)]
enum Chunk {
    /// Item indices read by one GET (normal or with-list).
    Ln(Vec<usize>),
    /// (item index, variable name) read by one ReadRequest.
    Sn(Vec<(usize, u16)>),
}

#[derive(Debug)]
struct InFlight {
    chunk: Chunk,
    /// Raw data of a block transfer so far, and the last block number received.
    blocks: Vec<u8>,
    last_block: u32,
    /// The general-block-transfer blocks of the answer joined so far.
    gbt: Option<GbtReceiver>,
}

/// What the driver must do next.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Send this APDU and feed back the answer.
    Send(Vec<u8>),
    /// Send nothing: feed back the next APDU that arrives (more general-block-transfer blocks
    /// of the window are streaming in).
    Receive,
    /// The general-block-transfer blocks joined into this ciphered APDU: decipher it through
    /// the session ([`ClientSession::unprotect`]) and feed the plain APDU back with `handle`.
    Decipher(Vec<u8>),
    /// Every item has a result.
    Done,
}

/// A read of several attributes in progress (normal, with-list, block transfer, SN Read).
#[derive(Debug)]
pub struct ReadOp {
    invoke_id: u8,
    items: Vec<AttributeRef>,
    results: Vec<Option<Result<Data, ReadError>>>,
    pending: Vec<Chunk>,
    current: Option<InFlight>,
    /// The items of with-list requests the meter failed as a whole, re-read one by one.
    probes: Vec<Vec<usize>>,
    /// Why the first with-list request failed as a whole.
    fallback_reason: Option<String>,
    /// The general-block-transfer window we take.
    gbt_window: u8,
    /// How many lost general-block-transfer blocks were asked for again.
    gbt_recoveries: u32,
    /// Timeouts in a row while general-block-transfer blocks were arriving.
    gbt_timeouts: u32,
}

/// True when a with-list answer that gives every item this same error is a failure of the
/// list, not of the objects: errors that name an object (undefined, unavailable, denied,
/// wrong class, out of scope) can be true of every item at once.
fn fails_the_list(e: DataAccessResult) -> bool {
    !matches!(
        e,
        DataAccessResult::ObjectUndefined
            | DataAccessResult::ObjectUnavailable
            | DataAccessResult::ReadWriteDenied
            | DataAccessResult::ObjectClassInconsistent
            | DataAccessResult::ScopeOfAccessViolated
    )
}

impl ReadOp {
    /// True when a with-list request failed as a whole (malformed answer, an error for the
    /// whole list, every item the same error) while reading its items one by one succeeded
    /// for some: the meter cannot answer GET-with-list, so a caller should stop using it for
    /// this meter ([`ClientSession::disable_with_list`]). The items themselves were read one
    /// by one already. When the single reads fail too, the list was not the problem.
    pub fn list_broken(&self) -> bool {
        self.probes.iter().any(|idx| {
            idx.iter()
                .any(|&i| matches!(self.results.get(i), Some(Some(Ok(_)))))
        })
    }

    /// No answer came in time. While general-block-transfer blocks are arriving, the end of
    /// a window may have been lost: the acknowledgement that asks again for everything after
    /// the last block received in order (at most [`GBT_TIMEOUTS`] times in a row). `None`:
    /// nothing to recover, the timeout fails the read.
    pub fn on_timeout(&mut self) -> Option<Step> {
        let rx = self.current.as_mut()?.gbt.as_mut()?;
        if self.gbt_timeouts >= GBT_TIMEOUTS {
            return None;
        }
        self.gbt_timeouts += 1;
        Some(Step::Send(rx.on_timeout().encode()))
    }

    /// How many lost general-block-transfer blocks were asked for again in this read.
    pub fn gbt_recoveries(&self) -> u32 {
        self.gbt_recoveries
    }

    /// One general-block-transfer block of the answer: joined; the window acknowledged;
    /// a lost block asked for again; the whole APDU handled as the answer.
    fn on_gbt(&mut self, apdu: &[u8]) -> Result<Step, SessionError> {
        let window = self.gbt_window;
        let Some(cur) = self.current.as_mut() else {
            return Ok(Step::Done);
        };
        let indices = chunk_indices(&cur.chunk);
        let received = GeneralBlockTransfer::decode(apdu)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                cur.gbt
                    .get_or_insert_with(|| GbtReceiver::new(window, GBT_LIMIT))
                    .receive(b)
                    .map_err(|e| e.to_string())
            });
        match received {
            Ok(Received::Wait) => Ok(Step::Receive),
            Ok(Received::Ack(a)) => Ok(Step::Send(a.encode())),
            Ok(Received::Complete(whole)) => {
                if let Some(rx) = cur.gbt.take() {
                    self.gbt_recoveries += rx.recoveries();
                }
                // A ciphered answer travels ciphered in the blocks: it is opened now.
                if whole.first().is_some_and(|&t| is_ciphered(t)) {
                    return Ok(Step::Decipher(whole));
                }
                // The joined APDU is the answer (never itself a block transfer).
                if whole.first() == Some(&gbt::TAG) {
                    self.fail(
                        &indices,
                        ReadError::Block("a general-block-transfer inside another".into()),
                    );
                    return Ok(self.next_chunk());
                }
                self.handle(&whole)
            }
            Err(e) => {
                self.fail(&indices, ReadError::Block(e));
                Ok(self.next_chunk())
            }
        }
    }

    /// Why a with-list request failed as a whole, when one did (for the log).
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// The with-list request in flight failed as a whole (`why`, for the log): reads its items
    /// (and those of every list request still to come) one by one instead.
    fn read_singly(&mut self, idx: &[usize], why: ReadError) -> Step {
        let mut rest: Vec<Chunk> = Vec::with_capacity(self.pending.len() + idx.len());
        for chunk in std::mem::take(&mut self.pending) {
            match chunk {
                Chunk::Ln(v) if v.len() > 1 => {
                    rest.extend(v.into_iter().rev().map(|i| Chunk::Ln(vec![i])))
                }
                other => rest.push(other),
            }
        }
        rest.extend(idx.iter().rev().map(|&i| Chunk::Ln(vec![i])));
        self.pending = rest;
        self.probes.push(idx.to_vec());
        self.fallback_reason.get_or_insert_with(|| why.to_string());
        self.next_chunk()
    }

    /// The first request (or `Done` when nothing is left to ask).
    pub fn start(&mut self) -> Step {
        self.next_chunk()
    }

    fn next_chunk(&mut self) -> Step {
        let Some(chunk) = self.pending.pop() else {
            self.current = None;
            return Step::Done;
        };
        let apdu = match &chunk {
            Chunk::Ln(idx) if idx.len() == 1 => {
                let it = &self.items[idx[0]];
                GetRequest::Normal {
                    invoke_id: self.invoke_id,
                    attribute: it.descriptor(),
                    access: it.access.clone(),
                }
                .encode()
            }
            Chunk::Ln(idx) => GetRequest::WithList {
                invoke_id: self.invoke_id,
                attributes: idx
                    .iter()
                    .map(|&i| (self.items[i].descriptor(), self.items[i].access.clone()))
                    .collect(),
            }
            .encode(),
            Chunk::Sn(named) => ReadRequest(
                named
                    .iter()
                    .map(|&(i, name)| match &self.items[i].access {
                        Some(a) => VariableAccess::Parameterized {
                            name,
                            selector: a.selector,
                            parameters: a.parameters.clone(),
                        },
                        None => VariableAccess::Name(name),
                    })
                    .collect(),
            )
            .encode(),
        };
        self.current = Some(InFlight {
            chunk,
            blocks: Vec::new(),
            last_block: 0,
            gbt: None,
        });
        Step::Send(apdu)
    }

    /// Feeds the answer to the last request sent; returns what to do next.
    ///
    /// Item-level failures land in [`ReadOp::results`]; an `Err` here means the answer did not
    /// fit the request at all (the driver should drop the association).
    pub fn handle(&mut self, apdu: &[u8]) -> Result<Step, SessionError> {
        let Some(cur) = self.current.as_mut() else {
            return Err(SessionError::Unexpected {
                expected: "no answer (nothing was asked)",
                got: Apdu::decode(apdu)
                    .map(|a| a.name().to_string())
                    .unwrap_or_default(),
            });
        };
        if apdu.first() == Some(&gbt::TAG) {
            self.gbt_timeouts = 0;
            return self.on_gbt(apdu);
        }
        let decoded = Apdu::decode(apdu);
        let indices = chunk_indices(&cur.chunk);
        let list = matches!(&cur.chunk, Chunk::Ln(v) if v.len() > 1);
        let decoded = match decoded {
            // A with-list answer we cannot parse: read its items one by one.
            Err(e) if list => {
                return Ok(self.read_singly(&indices, ReadError::Decode(e.to_string())))
            }
            Ok(a) => a,
            Err(e) => {
                // A response we cannot parse fails the items it answered, not the session.
                self.fail(&indices, ReadError::Decode(e.to_string()));
                return Ok(self.next_chunk());
            }
        };
        match decoded {
            Apdu::ExceptionResponse(e) if list => {
                Ok(self.read_singly(&indices, ReadError::Exception(e.to_string())))
            }
            Apdu::ConfirmedServiceError(e) if list => {
                Ok(self.read_singly(&indices, ReadError::Exception(e.to_string())))
            }
            Apdu::ExceptionResponse(e) => {
                self.fail(&indices, ReadError::Exception(e.to_string()));
                Ok(self.next_chunk())
            }
            Apdu::ConfirmedServiceError(e) => {
                self.fail(&indices, ReadError::Exception(e.to_string()));
                Ok(self.next_chunk())
            }
            Apdu::GetResponse(r) => self.on_get_response(r),
            Apdu::ReadResponse(r) => self.on_read_response(r),
            other => Err(SessionError::Unexpected {
                expected: "GET or Read response",
                got: other.name().to_string(),
            }),
        }
    }

    fn on_get_response(&mut self, r: GetResponse) -> Result<Step, SessionError> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(Step::Done);
        };
        let Chunk::Ln(idx) = cur.chunk.clone() else {
            return Err(SessionError::Unexpected {
                expected: "Read response (SN)",
                got: "GET response".into(),
            });
        };
        let rid = match &r {
            GetResponse::Normal { invoke_id, .. }
            | GetResponse::WithDataBlock { invoke_id, .. }
            | GetResponse::WithList { invoke_id, .. } => *invoke_id,
        };
        if rid & 0x0F != self.invoke_id & 0x0F {
            return Err(SessionError::Unexpected {
                expected: "a response with our invoke-id",
                got: format!("invoke-id {}", rid & 0x0F),
            });
        }
        match r {
            GetResponse::Normal { result, .. } if idx.len() == 1 => {
                self.set(idx[0], get_result(result));
                Ok(self.next_chunk())
            }
            GetResponse::WithList { results, .. } if results.len() == idx.len() => {
                // Every item the same error that is not about an object: the list failed.
                if let [GetDataResult::Error(first), rest @ ..] = &results[..] {
                    let first = *first;
                    if idx.len() > 1
                        && fails_the_list(first)
                        && rest
                            .iter()
                            .all(|r| matches!(r, GetDataResult::Error(e) if *e == first))
                    {
                        return Ok(self.read_singly(&idx, ReadError::Access(first)));
                    }
                }
                for (i, res) in idx.iter().zip(results) {
                    self.set(*i, get_result(res));
                }
                Ok(self.next_chunk())
            }
            // A with-list answered with the wrong number of results, or a normal answer.
            GetResponse::WithList { results, .. } if idx.len() > 1 => Ok(self.read_singly(
                &idx,
                ReadError::Decode(format!(
                    "{} results for {} items in the with-list answer",
                    results.len(),
                    idx.len()
                )),
            )),
            GetResponse::Normal { .. } if idx.len() > 1 => Ok(self.read_singly(
                &idx,
                ReadError::Decode("a normal GET answer to a with-list request".into()),
            )),
            GetResponse::WithDataBlock {
                last_block,
                block_number,
                result,
                ..
            } => {
                if block_number != cur.last_block.wrapping_add(1) {
                    let msg = format!(
                        "expected block {}, the meter sent block {block_number}",
                        cur.last_block.wrapping_add(1)
                    );
                    self.fail(&idx, ReadError::Block(msg));
                    return Ok(self.next_chunk());
                }
                match result {
                    Err(dar) => {
                        self.fail(&idx, ReadError::Access(dar));
                        Ok(self.next_chunk())
                    }
                    Ok(raw) => {
                        cur.blocks.extend_from_slice(&raw);
                        cur.last_block = block_number;
                        if !last_block {
                            return Ok(Step::Send(
                                GetRequest::Next {
                                    invoke_id: self.invoke_id,
                                    block_number,
                                }
                                .encode(),
                            ));
                        }
                        let raw = std::mem::take(&mut cur.blocks);
                        if let (true, Err(e)) =
                            (idx.len() > 1, self.finish_blocks(&idx, &raw, false))
                        {
                            return Ok(self.read_singly(&idx, e));
                        }
                        Ok(self.next_chunk())
                    }
                }
            }
            other => Err(SessionError::Unexpected {
                expected: "a GET response for the items asked",
                // Named in words: the debug form of a response is Rust, not a sentence.
                got: match other {
                    GetResponse::Normal { .. } => "a GET response for one item",
                    GetResponse::WithDataBlock { .. } => "a GET response with a data block",
                    GetResponse::WithList { .. } => "a GET response for a list",
                }
                .to_string(),
            }),
        }
    }

    fn on_read_response(&mut self, r: ReadResponse) -> Result<Step, SessionError> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(Step::Done);
        };
        let Chunk::Sn(named) = cur.chunk.clone() else {
            return Err(SessionError::Unexpected {
                expected: "GET response (LN)",
                got: "Read response".into(),
            });
        };
        let idx: Vec<usize> = named.iter().map(|(i, _)| *i).collect();
        // A data block answers the whole request, whatever the number of items.
        if let [ReadResult::DataBlock {
            last_block,
            block_number,
            raw,
        }] = r.0.as_slice()
        {
            if *block_number as u32 != cur.last_block.wrapping_add(1) {
                let msg = format!(
                    "expected block {}, the meter sent block {block_number}",
                    cur.last_block.wrapping_add(1)
                );
                self.fail(&idx, ReadError::Block(msg));
                return Ok(self.next_chunk());
            }
            cur.blocks.extend_from_slice(raw);
            cur.last_block = *block_number as u32;
            if !*last_block {
                return Ok(Step::Send(
                    ReadRequest(vec![VariableAccess::BlockNumber(*block_number)]).encode(),
                ));
            }
            let raw = std::mem::take(&mut cur.blocks);
            // SN reads keep the failure (no with-list fallback for Read).
            let _ = self.finish_blocks(&idx, &raw, true);
            return Ok(self.next_chunk());
        }
        if r.0.len() != idx.len() {
            return Err(SessionError::Unexpected {
                expected: "one Read result per item",
                got: format!("{} results for {} items", r.0.len(), idx.len()),
            });
        }
        for (i, res) in idx.iter().zip(r.0) {
            let v = match res {
                ReadResult::Data(d) => Ok(d),
                ReadResult::Error(e) => Err(ReadError::Access(e)),
                ReadResult::DataBlock { .. } => Err(ReadError::Block(
                    "a data block among several results".into(),
                )),
            };
            self.set(*i, v);
        }
        Ok(self.next_chunk())
    }

    /// Decodes the joined raw data of a block transfer; for several items, `Err` when the
    /// list of results is malformed (the items are then failed with it).
    fn finish_blocks(&mut self, idx: &[usize], raw: &[u8], sn: bool) -> Result<(), ReadError> {
        if idx.len() == 1 {
            let v = Data::from_bytes(raw).map_err(|e| ReadError::Decode(e.to_string()));
            self.set(idx[0], v);
            return Ok(());
        }
        // Several items: the raw data is the list of results (count, then each result).
        let mut r = Reader::new(raw);
        let parsed = (|| {
            let n = r
                .bounded_length("result count", 1)
                .map_err(|e| e.to_string())?;
            if n != idx.len() {
                return Err(format!("{n} results for {} items", idx.len()));
            }
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let choice = r.u8("result choice").map_err(|e| e.to_string())?;
                out.push(match choice {
                    0 => Ok(Data::decode(&mut r).map_err(|e| e.to_string())?),
                    1 => Err(ReadError::Access(DataAccessResult::from_u8(
                        r.u8("data access result").map_err(|e| e.to_string())?,
                    ))),
                    c => return Err(format!("unknown result choice {c} (sn: {sn})")),
                });
            }
            Ok(out)
        })();
        match parsed {
            Ok(list) => {
                for (i, v) in idx.iter().zip(list) {
                    self.set(*i, v);
                }
                Ok(())
            }
            Err(e) => {
                let e = ReadError::Decode(e);
                self.fail(idx, e.clone());
                Err(e)
            }
        }
    }

    fn set(&mut self, i: usize, v: Result<Data, ReadError>) {
        if let Some(slot) = self.results.get_mut(i) {
            *slot = Some(v);
        }
    }

    fn fail(&mut self, idx: &[usize], e: ReadError) {
        for &i in idx {
            self.set(i, Err(e.clone()));
        }
    }

    /// The items of this read, in the order given.
    pub fn items(&self) -> &[AttributeRef] {
        &self.items
    }

    /// One result per item, in the order given (items never answered fail).
    pub fn into_results(self) -> Vec<Result<Data, ReadError>> {
        self.results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ReadError::Exception("no answer".into()))))
            .collect()
    }
}

fn chunk_indices(c: &Chunk) -> Vec<usize> {
    match c {
        Chunk::Ln(v) => v.clone(),
        Chunk::Sn(v) => v.iter().map(|(i, _)| *i).collect(),
    }
}

fn get_result(r: GetDataResult) -> Result<Data, ReadError> {
    match r {
        GetDataResult::Data(d) => Ok(d),
        GetDataResult::Error(e) => Err(ReadError::Access(e)),
    }
}
