//! The server session: its state, dispatching requests, ciphering answers, exceptions.

use super::change::{LongChange, LongReturn};
use super::{CosemServer, ServerSettings, PUBLIC_CLIENT};
use crate::dlms::acse::{Conformance, Rlre};
use crate::dlms::client::{Authentication, Referencing};
use crate::dlms::protection::{Protection, CIPHERED_OVERHEAD};
use crate::dlms::security::{HlsMechanism, Policy, SystemTitle};
use crate::dlms::xdlms::{
    gbt, Apdu, AttributeDescriptor, DataAccessResult, ExceptionResponse, GbtSender,
    GeneralBlockTransfer, UnconfirmedWriteRequest,
};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
pub(super) struct Granted {
    pub(super) conformance: Conformance,
    /// Largest APDU we may send (the client's max receive, capped by ours).
    pub(super) send_limit: usize,
}

#[derive(Debug)]
pub(super) struct LongRead {
    pub(super) raw: Vec<u8>,
    pub(super) offset: usize,
    pub(super) block: u32,
    pub(super) sn: bool,
}

/// HLS pass 3 is due: (mechanism, secret, client challenge CtoS, our challenge StoC).
pub(super) type PendingHls = (HlsMechanism, Vec<u8>, Vec<u8>, Vec<u8>);

/// One association on the server side.
#[derive(Debug)]
pub struct ServerSession {
    pub(super) settings: ServerSettings,
    pub(super) granted: Option<Granted>,
    pub(super) long_read: Option<LongRead>,
    pub(super) client: u16,
    pub(super) protection: Option<Protection>,
    pub(super) pending_hls: Option<PendingHls>,
    /// Our challenge for the next association (randomness comes from the caller).
    pub next_challenge: Vec<u8>,
    pub(super) next_ic: u32,
    pub(super) peer_floor: u32,
    /// The association is the public client's (SAP 16, no authentication).
    pub(super) public: bool,
    /// The client authenticated (LLS, or HLS once pass 3 is done): it gets the rights the
    /// model grants; any other association only reads.
    pub(super) writer: bool,
    pub(super) long_change: Option<LongChange>,
    pub(super) long_return: Option<LongReturn>,
    /// The long answer being sent in general-block-transfer blocks.
    pub(super) gbt: Option<GbtSender>,
    /// Blocks of the current window still to send (streaming), encoded.
    pub(super) gbt_queue: VecDeque<Vec<u8>>,
}

impl ServerSession {
    /// A session waiting for an AARQ.
    pub fn new(settings: ServerSettings) -> Self {
        ServerSession {
            settings,
            granted: None,
            long_read: None,
            client: PUBLIC_CLIENT,
            protection: None,
            pending_hls: None,
            next_challenge: Vec::new(),
            next_ic: 0,
            peer_floor: 0,
            public: false,
            writer: false,
            long_change: None,
            long_return: None,
            gbt: None,
            gbt_queue: VecDeque::new(),
        }
    }

    /// Whether this association may read `attr`. A meter that requires a password (low-level
    /// authentication) lets the public client read only its association object
    /// (0.0.40.0.0.255, e.g. to learn what it must do to associate) and, when it ciphers, its
    /// invocation counters (0.0.43.1.x.255, which a client needs before a ciphered
    /// association): everything else is read-write-denied, as on real meters. (With HLS the
    /// public client still reads everything, as the simulator always allowed.)
    pub(super) fn may_read(&self, attr: &AttributeDescriptor) -> Result<(), DataAccessResult> {
        if !self.public || !matches!(self.settings.authentication, Authentication::Low(_)) {
            return Ok(());
        }
        let [a, b, c, d, _, f] = attr.instance.bytes();
        let association = [a, b, c, d, f] == [0, 0, 40, 0, 255];
        let counter = self.settings.ciphering.is_some() && [a, b, c, d, f] == [0, 0, 43, 1, 255];
        if association || counter {
            Ok(())
        } else {
            Err(DataAccessResult::ReadWriteDenied)
        }
    }

    /// The client SAP of the link (the public client may associate without security).
    pub fn set_client(&mut self, client: u16) {
        self.client = client;
    }

    /// Our invocation counter: the next protected APDU carries it (it survives associations).
    pub fn invocation_counter(&self) -> u32 {
        self.protection
            .as_ref()
            .map_or(self.next_ic, Protection::next_ic)
    }

    /// Sets the invocation counter of the next protected APDU.
    pub fn set_invocation_counter(&mut self, ic: u32) {
        self.next_ic = ic;
    }

    /// Refuses client counters below `floor` in the next association (a meter remembers the
    /// highest counter each client used, so a reused one fails as on a real meter).
    pub fn set_peer_floor(&mut self, floor: u32) {
        self.peer_floor = floor;
    }

    /// The client's highest accepted invocation counter in this association.
    pub fn peer_last(&self) -> Option<u32> {
        self.protection.as_ref().and_then(Protection::peer_last)
    }

    /// The client's system title (AARQ calling-AP-title), once associated with ciphering.
    pub fn peer_title(&self) -> Option<SystemTitle> {
        self.protection.as_ref().and_then(|p| p.peer_title)
    }

    /// True while a client is associated.
    pub fn is_associated(&self) -> bool {
        self.granted.is_some()
    }

    /// True when the association ciphers its APDUs.
    pub fn is_ciphered(&self) -> bool {
        self.protection
            .as_ref()
            .is_some_and(|p| p.policy != Policy::None)
    }

    /// Forgets the association (the link closed).
    pub fn reset(&mut self) {
        if let Some(p) = self.protection.take() {
            self.next_ic = p.next_ic();
        }
        self.granted = None;
        self.long_read = None;
        self.pending_hls = None;
        self.writer = false;
        self.long_change = None;
        self.long_return = None;
        self.gbt = None;
        self.gbt_queue.clear();
    }

    /// The next block of a general-block-transfer window that streams after the answer
    /// [`handle`](Self::handle) returned: the caller sends each in turn until `None`.
    pub fn next_streamed(&mut self) -> Option<Vec<u8>> {
        self.gbt_queue.pop_front()
    }

    /// True when long GET answers go as general-block-transfer blocks. In a ciphered
    /// association the whole answer is ciphered first and the ciphered APDU is what the
    /// blocks carry (the blocks themselves go plain), as meters do.
    pub(super) fn gbt_granted(&self) -> bool {
        self.settings.gbt_window.is_some()
            && self
                .granted
                .is_some_and(|g| g.conformance.contains(Conformance::GENERAL_BLOCK_TRANSFER))
    }

    /// The largest plain answer we may build: the client's max receive PDU (capped by ours),
    /// less what ciphering adds when the association ciphers, so a ciphered answer fits too.
    pub(super) fn plain_limit(&self) -> usize {
        let limit = self.granted().send_limit;
        if self.is_ciphered() {
            limit.saturating_sub(CIPHERED_OVERHEAD)
        } else {
            limit
        }
    }

    /// Starts sending `whole` (a GET response longer than the PDU) in blocks: the first block;
    /// the rest of the first window waits in [`next_streamed`](Self::next_streamed).
    pub(super) fn start_gbt(&mut self, whole: &[u8]) -> Vec<u8> {
        let size = self
            .granted()
            .send_limit
            .saturating_sub(GeneralBlockTransfer::OVERHEAD)
            .max(1);
        let window = self.settings.gbt_window.unwrap_or(1);
        match GbtSender::new(whole, size, window) {
            Ok(tx) => {
                let blocks = tx.first_window();
                self.gbt = Some(tx);
                self.queue_window(blocks).unwrap_or_else(|| exception(1, 1))
            }
            Err(_) => exception(1, 1),
        }
    }

    /// The client acknowledged blocks: the next window (from the block after its ack, so a
    /// lost block goes again); nothing once every block is acknowledged.
    fn gbt_ack(&mut self, plain: &[u8]) -> Option<Vec<u8>> {
        let Ok(b) = GeneralBlockTransfer::decode(plain) else {
            return Some(exception(2, 2));
        };
        let Some(tx) = self.gbt.as_mut() else {
            // No transfer in progress: a GBT request we do not take.
            return Some(exception(1, 1));
        };
        match tx.on_ack(b.ack, b.block_number, b.window) {
            Ok(blocks) if blocks.is_empty() => {
                self.gbt = None;
                None
            }
            Ok(blocks) => self.queue_window(blocks),
            Err(_) => Some(exception(2, 2)),
        }
    }

    fn queue_window(&mut self, blocks: Vec<GeneralBlockTransfer>) -> Option<Vec<u8>> {
        self.gbt_queue.clear();
        let mut it = blocks.into_iter().map(|b| b.encode());
        let first = it.next();
        self.gbt_queue.extend(it);
        first
    }

    /// Handles one request APDU; returns the response APDU, if the request has one.
    pub fn handle(&mut self, request: &[u8], model: &mut dyn CosemServer) -> Option<Vec<u8>> {
        // The negotiated PDU size binds the client too: a longer request is refused (service
        // not allowed / PDU too long), as meters do; an AARQ comes before any negotiation.
        if request.len() > usize::from(self.settings.max_pdu)
            && !matches!(request.first(), Some(0x60 | 0x62))
        {
            return Some(exception(1, 4));
        }
        let ciphered = self
            .protection
            .as_ref()
            .is_some_and(|p| p.policy != Policy::None);
        let plain = match (request.first(), self.protection.as_mut()) {
            (Some(0x60 | 0x62), _) => request.to_vec(),
            (_, Some(p)) if ciphered => match p.unprotect(request) {
                Ok(plain) => plain,
                // A request that does not decipher or replays a counter is refused.
                Err(_) => return Some(exception(1, 5)),
            },
            _ => request.to_vec(),
        };
        if plain.first() == Some(&UnconfirmedWriteRequest::TAG) {
            // Never answered, not even when refused.
            if let (Ok(w), Some(_), None, Referencing::Sn) = (
                UnconfirmedWriteRequest::decode(&plain),
                self.granted,
                &self.pending_hls,
                self.settings.referencing,
            ) {
                self.unconfirmed_write(w.0, model);
            }
            return None;
        }
        if plain.first() == Some(&gbt::TAG) && self.granted.is_some() {
            return self.gbt_ack(&plain);
        }
        // Any other request ends a general-block-transfer in progress.
        self.gbt = None;
        self.gbt_queue.clear();
        let apdu = match Apdu::decode(&plain) {
            Ok(a) => a,
            Err(_) => return Some(exception(2, 2)),
        };
        let response = match apdu {
            Apdu::Aarq(aarq) => return Some(self.associate(&aarq)),
            // A pre-established association needs no AARQ: it exists from the start.
            _ if self.granted.is_none() && self.settings.pre_established == Some(self.client) => {
                self.granted = Some(Granted {
                    conformance: self.settings.conformance,
                    send_limit: usize::from(self.settings.max_pdu),
                });
                self.public = false;
                self.writer = false;
                return self.handle(request, model);
            }
            Apdu::Rlrq(_) => {
                self.reset();
                return Some(
                    Rlre {
                        reason: Some(0),
                        user_information: None,
                    }
                    .encode(),
                );
            }
            _ if self.granted.is_none() => return Some(exception(1, 1)),
            Apdu::ActionRequest(a)
                if self.pending_hls.is_some() && self.settings.referencing == Referencing::Ln =>
            {
                self.hls_pass3(a)
            }
            Apdu::ReadRequest(r)
                if self.pending_hls.is_some() && self.settings.referencing == Referencing::Sn =>
            {
                self.hls_pass3_sn(r)
            }
            _ if self.pending_hls.is_some() => return Some(exception(1, 1)),
            Apdu::GetRequest(g) if self.settings.referencing == Referencing::Ln => {
                self.get(g, model)
            }
            Apdu::ReadRequest(r) if self.settings.referencing == Referencing::Sn => {
                self.read(r, model)
            }
            Apdu::SetRequest(s) if self.settings.referencing == Referencing::Ln => {
                self.set(s, model)
            }
            Apdu::ActionRequest(a) if self.settings.referencing == Referencing::Ln => {
                self.action(a, model)
            }
            Apdu::WriteRequest(w) if self.settings.referencing == Referencing::Sn => {
                self.write(w, model)
            }
            _ => exception(2, 2),
        };
        match self.protection.as_mut() {
            Some(p) if ciphered => {
                let wire = p.protect(&response).unwrap_or_else(|_| exception(1, 6));
                // A GET answer longer than the client takes goes in general-block-transfer
                // blocks that carry the ciphered APDU (deciphered after the blocks are joined).
                if wire.len() > self.granted().send_limit
                    && self.gbt_granted()
                    && response.first() == Some(&0xC4)
                {
                    Some(self.start_gbt(&wire))
                } else {
                    Some(wire)
                }
            }
            _ => Some(response),
        }
    }

    pub(super) fn granted(&self) -> Granted {
        self.granted.unwrap_or(Granted {
            conformance: Conformance::default(),
            send_limit: 64,
        })
    }
}

pub(super) fn exception(state: u8, service: u8) -> Vec<u8> {
    Apdu::ExceptionResponse(ExceptionResponse {
        state_error: state,
        service_error: service,
        invocation_counter: None,
    })
    .encode()
}
