//! Building a push as a meter sends it: a DataNotification, ciphered as general-glo-ciphering
//! when the meter ciphers, whole or in general-block-transfer blocks, in WRAPPER or HDLC frames. The simulator pushes through this.

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
    frame(&push_apdu(notification, sealing)?, framing)
}

/// The bytes of `notification` pushed as general-block-transfer blocks of at most
/// `block_size` bytes each, every block in its own frame(s): the push APDU (ciphered under
/// `sealing` first, when given) is what the blocks carry.
pub fn build_in_blocks(
    notification: &DataNotification,
    sealing: Option<&Sealing>,
    framing: &Framing,
    block_size: usize,
) -> Result<Vec<u8>, PushError> {
    let mut out = Vec::new();
    for block in super::gbt::blocks(&push_apdu(notification, sealing)?, block_size)? {
        out.extend(frame(&block, framing)?);
    }
    Ok(out)
}

/// The push APDU: the DataNotification, general-glo-ciphered under `sealing` when given.
fn push_apdu(
    notification: &DataNotification,
    sealing: Option<&Sealing>,
) -> Result<Vec<u8>, PushError> {
    let plain = notification.encode();
    Ok(match sealing {
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
    })
}
