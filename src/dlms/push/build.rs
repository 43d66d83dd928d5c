//! Building a push as a meter sends it: a DataNotification, ciphered as general-glo-ciphering
//! when the meter ciphers, in WRAPPER or HDLC frames. The simulator pushes through this.

use super::framing::{frame, Framing};
use super::PushError;
use crate::dlms::security::{general_glo_cipher, Key, Policy, SystemTitle};
use crate::dlms::xdlms::DataNotification;

/// How a ciphering meter protects its push (the counter is passed in: nothing here counts).
#[derive(Debug, Clone, Copy)]
pub struct Sealing<'a> {
    /// Auth, Enc or AuthEnc (`None` cannot protect and is an error).
    pub policy: Policy,
    /// The meter's system title, carried in the push.
    pub system_title: SystemTitle,
    /// The meter's invocation counter for this APDU.
    pub invocation_counter: u32,
    /// The global unicast (block) key.
    pub block_key: &'a Key,
    /// The authentication key.
    pub auth_key: &'a Key,
}

/// The bytes of `notification` pushed over `framing`: plain, or general-glo-ciphered under
/// `sealing`.
pub fn build(
    notification: &DataNotification,
    sealing: Option<&Sealing>,
    framing: &Framing,
) -> Result<Vec<u8>, PushError> {
    let plain = notification.encode();
    let apdu = match sealing {
        None => plain,
        Some(s) => general_glo_cipher(
            s.policy,
            &s.system_title,
            s.invocation_counter,
            s.block_key,
            s.auth_key,
            &plain,
        )
        .map_err(PushError::Seal)?,
    };
    frame(&apdu, framing)
}
