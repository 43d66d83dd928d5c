//! Pushes (DataNotification, IEC 62056-5-3 §9.3.10) as meters send them, sans-IO: finding the
//! APDU in the bytes (WRAPPER PDU or HDLC UI frames), telling a plain DataNotification from a
//! ciphered one, deciphering it with the keys the caller gives, and the inverse for the
//! simulator. Counters, keys and the sender's identity are passed in; what to trust is the
//! caller's policy.
//!
//! ```text
//! (general-block-transfer blocks are joined first: `gbt.rs`)
//! Push::parse(bytes)? ── Plain(notification)
//!                     └─ Ciphered(c) ── c.system_title()   (general-glo-ciphering names it)
//!                                    └─ c.decipher(&keys)?.notification()?
//! ```
mod build;
mod error;
mod framing;
mod gbt;
mod parse;

pub use build::{build, build_in_blocks, Sealing};
pub use error::PushError;
pub use framing::{apdus, frame, Framing};
pub use gbt::{blocks, join};
pub use parse::{CipheredPush, DecipheredPush, Push, PushKeys};

#[cfg(test)]
mod tests;
