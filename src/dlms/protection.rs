//! The ciphering state of one side of an association: keys, system titles, our invocation
//! counter and the check that the peer's counter increases. Shared by client and server.

use super::security::{
    cipher_apdu, decipher_apdu, ded_tag, glo_tag, CounterGuard, Key, Policy, SecurityError,
    SystemTitle,
};

/// Tags that may come unciphered in a ciphered association: errors about the request, and
/// general-block-transfer blocks (never ciphered themselves: what they carry is the ciphered
/// APDU, deciphered once the blocks are joined; a bare acknowledgement carries nothing).
const PLAIN_TAGS: [u8; 3] = [0xD8, 0x0E, crate::dlms::xdlms::gbt::TAG];

/// What glo-/ded-ciphering adds to an APDU at most: tag, a length of up to three bytes,
/// security control, invocation counter and the 12-byte authentication tag.
pub const CIPHERED_OVERHEAD: usize = 1 + 3 + 1 + 4 + 12;

/// Keys and counters for ciphered APDUs (security suite 0).
#[derive(Debug, Clone)]
pub struct Protection {
    /// The policy applied to every APDU we send.
    pub policy: Policy,
    /// Our system title (the IV of what we send).
    pub own_title: SystemTitle,
    /// The peer's system title, once known (AARQ calling-AP-title / AARE responding-AP-title).
    pub peer_title: Option<SystemTitle>,
    /// Global unicast encryption key.
    pub block_key: Key,
    /// Authentication key (AAD only).
    pub auth_key: Key,
    /// Dedicated key of this association, if any.
    pub dedicated_key: Option<Key>,
    next_ic: u32,
    /// The first counter we may not use: the end of what the caller reserved for us.
    ic_end: u32,
    guard: CounterGuard,
}

impl Protection {
    /// A state that will send its first protected APDU with `first_ic`.
    pub fn new(
        policy: Policy,
        own_title: SystemTitle,
        block_key: Key,
        auth_key: Key,
        first_ic: u32,
    ) -> Self {
        Protection {
            policy,
            own_title,
            peer_title: None,
            block_key,
            auth_key,
            dedicated_key: None,
            next_ic: first_ic,
            ic_end: u32::MAX,
            guard: CounterGuard::default(),
        }
    }

    /// The invocation counter the next protected APDU will carry.
    pub fn next_ic(&self) -> u32 {
        self.next_ic
    }

    /// Lets the next protected APDUs use the counters `[first, end)` only (values the caller
    /// reserved durably for this key); protecting beyond `end` fails instead of reusing.
    pub fn set_counter_window(&mut self, first: u32, end: u32) {
        self.next_ic = first;
        self.ic_end = end;
    }

    /// Uses up the next invocation counter (HLS-GMAC's f(challenge) carries one).
    pub fn take_ic(&mut self) -> Result<u32, SecurityError> {
        let ic = self.next_ic;
        if ic >= self.ic_end {
            return Err(SecurityError::CounterWindowUsed { end: self.ic_end });
        }
        // A counter must never repeat with the same key: stop at the end rather than wrap.
        self.next_ic = ic.checked_add(1).ok_or(SecurityError::CounterExhausted)?;
        Ok(ic)
    }

    /// Protects an xDLMS APDU with the global key (initiate request/response, HLS action).
    pub fn protect_global(&mut self, plain: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let ic = self.take_ic()?;
        cipher_apdu(
            false,
            self.policy,
            &self.own_title,
            ic,
            &self.block_key,
            &self.auth_key,
            plain,
        )
    }

    /// Protects a service APDU: ded- with the dedicated key when there is one, else glo-.
    pub fn protect(&mut self, plain: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let tag = plain.first().copied().unwrap_or(0);
        match (&self.dedicated_key, ded_tag(tag)) {
            (Some(key), Some(_)) => {
                let key = key.clone();
                let ic = self.take_ic()?;
                cipher_apdu(
                    true,
                    self.policy,
                    &self.own_title,
                    ic,
                    &key,
                    &self.auth_key,
                    plain,
                )
            }
            _ if glo_tag(tag).is_some() => self.protect_global(plain),
            // Nothing to cipher it as (e.g. RLRQ): it goes plain.
            _ => Ok(plain.to_vec()),
        }
    }

    /// Deciphers and checks an APDU from the peer; error answers may come plain.
    pub fn unprotect(&mut self, apdu: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let tag = apdu.first().copied().unwrap_or(0);
        if PLAIN_TAGS.contains(&tag) {
            return Ok(apdu.to_vec());
        }
        let title = self.peer_title.ok_or(SecurityError::UnknownPeerTitle)?;
        let dedicated = self.dedicated_key.clone();
        let block = self.block_key.clone();
        let d = decipher_apdu(
            apdu,
            &title,
            |ded| {
                if ded {
                    dedicated.clone()
                } else {
                    Some(block.clone())
                }
            },
            &self.auth_key,
        )?;
        if self.policy != Policy::None && d.policy != self.policy {
            return Err(SecurityError::PolicyMismatch {
                expected: self.policy,
                got: d.policy,
            });
        }
        self.guard.accept(d.invocation_counter)?;
        Ok(d.plain)
    }

    /// Forgets the peer's last counter. Used once, after the AARE: the Gurux meter protects
    /// the AARE and its HLS pass-4 answer with the same counter (a peer bug: the same GCM IV
    /// twice); from pass 4 on, counters must increase strictly.
    pub fn restart_guard(&mut self) {
        self.guard.restart();
    }

    /// Refuses peer counters below `floor` (one above the highest of earlier sessions).
    pub fn set_peer_floor(&mut self, floor: u32) {
        self.guard = CounterGuard::with_floor(floor);
    }

    /// Refuses peer counters below `floor` from now on, and fails if one already accepted in
    /// this association is below it (the floor became known only after the AARE named the peer).
    pub fn raise_peer_floor(&mut self, floor: u32) -> Result<(), SecurityError> {
        self.guard.raise_floor(floor)
    }

    /// The peer's highest accepted invocation counter (to raise the floor after the session).
    pub fn peer_last(&self) -> Option<u32> {
        self.guard.last()
    }
}
