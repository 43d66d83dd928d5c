//! Reading a push: a plain DataNotification, or a ciphered APDU that names its sender
//! (general-glo-ciphering) or leaves it to the configuration (glo-/ded- tags), deciphered
//! with the keys the caller gives.

use super::{framing, PushError};
use crate::dlms::security::{
    ciphered_header, decipher_apdu, is_ciphered, CipheredHeader, Key, Policy, SystemTitle,
};
use crate::dlms::xdlms::{gbt, DataNotification};

/// A push as it arrived, before any key is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Push {
    /// A plain DataNotification.
    Plain(DataNotification),
    /// A ciphered APDU, to be opened with the sender's keys.
    Ciphered(CipheredPush),
}

/// A ciphered push: its APDU and what its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipheredPush {
    apdu: Vec<u8>,
    header: CipheredHeader,
}

/// The keys of the meter a push is believed to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushKeys {
    /// The global unicast (block) key.
    pub block_key: Key,
    /// The authentication key.
    pub auth_key: Key,
    /// The meter's system title: checked against the one a general-ciphering push carries,
    /// and used for glo-/ded- pushes, which carry none.
    pub system_title: Option<SystemTitle>,
}

/// A deciphered push and how it was protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecipheredPush {
    /// The sender's system title (carried by the push, or the configured one).
    pub system_title: SystemTitle,
    /// The policy its security control byte showed: only `Auth` and `AuthEnc` prove the
    /// sender holds the authentication key.
    pub policy: Policy,
    /// The sender's invocation counter.
    pub invocation_counter: u32,
    /// The plain APDU.
    pub plain: Vec<u8>,
}

impl Push {
    /// The push in the bytes a meter sent: the first APDU of their WRAPPER PDUs or HDLC
    /// frames, or the APDU the general-block-transfer blocks there carry, joined.
    pub fn parse(bytes: &[u8]) -> Result<Push, PushError> {
        let apdus = framing::apdus(bytes)?;
        match apdus.first() {
            None => Err(PushError::NotFramed { len: bytes.len() }),
            Some(a) if a.first() == Some(&gbt::TAG) => Push::from_apdu(super::join(&apdus)?),
            Some(_) => Push::from_apdu(apdus.into_iter().next().unwrap_or_default()),
        }
    }

    /// The push in one APDU: a DataNotification (decoded), or a ciphered APDU (header read).
    pub fn from_apdu(apdu: Vec<u8>) -> Result<Push, PushError> {
        match apdu.first() {
            None => Err(PushError::EmptyApdu),
            Some(&DataNotification::TAG) => DataNotification::decode(&apdu)
                .map(Push::Plain)
                .map_err(PushError::Notification),
            Some(&tag) if is_ciphered(tag) => {
                let header = ciphered_header(&apdu).map_err(PushError::Header)?;
                Ok(Push::Ciphered(CipheredPush { apdu, header }))
            }
            Some(&tag) => Err(PushError::NotAPush { tag }),
        }
    }

    /// The sender's system title, when the push carries one (general-ciphering only).
    pub fn system_title(&self) -> Option<SystemTitle> {
        match self {
            Push::Plain(_) => None,
            Push::Ciphered(c) => c.system_title(),
        }
    }

    /// The DataNotification: as it came when plain, deciphered with `keys` when ciphered.
    pub fn open(self, keys: Option<&PushKeys>) -> Result<DataNotification, PushError> {
        match self {
            Push::Plain(n) => Ok(n),
            Push::Ciphered(c) => c.decipher(keys.ok_or(PushError::NoKeys)?)?.notification(),
        }
    }
}

impl CipheredPush {
    /// The sender's system title, when the push carries one (general-ciphering only).
    pub fn system_title(&self) -> Option<SystemTitle> {
        self.header.system_title
    }

    /// Whether the dedicated key ciphers it (a push on arrival has no association, so no
    /// dedicated key: such a push does not decipher).
    pub fn dedicated(&self) -> bool {
        self.header.dedicated
    }

    /// Deciphers with `keys`: the title the push carries must be the keys' one, when both
    /// are known; a push without a title is deciphered with the keys' title.
    pub fn decipher(&self, keys: &PushKeys) -> Result<DecipheredPush, PushError> {
        let system_title = match (self.header.system_title, keys.system_title) {
            (Some(carried), Some(expected)) if carried != expected => {
                return Err(PushError::WrongSystemTitle { carried, expected })
            }
            (Some(title), _) | (None, Some(title)) => title,
            (None, None) => return Err(PushError::NoSystemTitle),
        };
        let d = decipher_apdu(
            &self.apdu,
            &system_title,
            |dedicated| (!dedicated).then(|| keys.block_key.clone()),
            &keys.auth_key,
        )
        .map_err(PushError::Decipher)?;
        Ok(DecipheredPush {
            system_title,
            policy: d.policy,
            invocation_counter: d.invocation_counter,
            plain: d.plain,
        })
    }
}

impl DecipheredPush {
    /// Whether a GMAC tag vouched for the push (policy `Auth` or `AuthEnc`).
    pub fn authenticated(&self) -> bool {
        matches!(self.policy, Policy::Auth | Policy::AuthEnc)
    }

    /// The DataNotification the push holds.
    pub fn notification(&self) -> Result<DataNotification, PushError> {
        match self.plain.first() {
            Some(&DataNotification::TAG) => {
                DataNotification::decode(&self.plain).map_err(PushError::Notification)
            }
            tag => Err(PushError::NotANotification {
                tag: tag.copied().unwrap_or(0),
            }),
        }
    }
}
