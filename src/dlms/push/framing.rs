//! The link layer of a push: the APDUs in the bytes a meter sent (WRAPPER PDUs or HDLC UI
//! frames, segments joined), and the frames that carry a push APDU.

use super::PushError;
use crate::dlms::hdlc::frame::FLAG;
use crate::dlms::hdlc::llc::{self, SERVER_LLC};
use crate::dlms::hdlc::{self, Control, HdlcAddress, HdlcFrame, RawAddress};
use crate::dlms::wrapper;
use crate::dlms::xdlms::gbt;

/// How a push travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One WRAPPER PDU (IEC 62056-47) from wPort `source` to wPort `destination`.
    Wrapper {
        /// The meter's wPort (its logical device).
        source: u16,
        /// The receiving client's wPort.
        destination: u16,
    },
    /// HDLC UI frames (IEC 62056-46), segmented when the APDU exceeds `max_info`.
    Hdlc {
        /// The meter's server address.
        source: HdlcAddress,
        /// The receiving client's address (0..=127).
        destination: u8,
        /// The largest information field of one frame.
        max_info: u16,
    },
}

/// The frame(s) carrying `apdu`.
pub fn frame(apdu: &[u8], framing: &Framing) -> Result<Vec<u8>, PushError> {
    match *framing {
        Framing::Wrapper {
            source,
            destination,
        } => wrapper::encode_wrapper(source, destination, apdu).map_err(PushError::WrapperFrame),
        Framing::Hdlc {
            source,
            destination,
            max_info,
        } => {
            let source = source.to_raw().map_err(PushError::HdlcFrame)?;
            let destination = RawAddress::client(destination).map_err(PushError::HdlcFrame)?;
            // The LLC header goes in front of the APDU once, in the first segment.
            let info = [&SERVER_LLC[..], apdu].concat();
            let chunks: Vec<&[u8]> = info.chunks(usize::from(max_info.max(1))).collect();
            let last = chunks.len() - 1;
            let mut out = Vec::new();
            for (i, chunk) in chunks.into_iter().enumerate() {
                let frame = HdlcFrame {
                    destination,
                    source,
                    control: Control::Ui { poll: true },
                    segmented: i < last,
                    info: chunk.to_vec(),
                };
                out.extend(frame.encode().map_err(PushError::HdlcFrame)?);
            }
            Ok(out)
        }
    }
}

/// Every APDU in `bytes`, in order: WRAPPER PDUs when they start `00 01`, else HDLC frames
/// (UI frames, segments joined, LLC header removed). Bytes that end inside a PDU or frame are
/// an error, so a caller can read more and try again ([`PushError::is_truncated`]).
pub fn apdus(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PushError> {
    if bytes.starts_with(&wrapper::VERSION.to_be_bytes()) {
        wrapper_apdus(bytes)
    } else if bytes.contains(&FLAG) {
        hdlc_apdus(bytes)
    } else {
        Err(PushError::NotFramed { len: bytes.len() })
    }
}

fn wrapper_apdus(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PushError> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(rest) = bytes.get(at..).filter(|r| !r.is_empty()) {
        match wrapper::decode(rest) {
            Ok(Some((_, apdu, used))) => {
                out.push(apdu);
                at += used;
            }
            Ok(None) => {
                let needed = match rest {
                    [_, _, _, _, _, _, l0, l1, ..] => {
                        8 + usize::from(u16::from_be_bytes([*l0, *l1]))
                    }
                    _ => 8,
                };
                return Err(PushError::TruncatedWrapper {
                    at,
                    arrived: rest.len(),
                    needed,
                });
            }
            Err(source) => return Err(PushError::Wrapper { at, source }),
        }
    }
    Ok(out)
}

fn hdlc_apdus(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PushError> {
    let mut out = Vec::new();
    // The information fields being joined from segments, and where their first frame opens.
    let mut joining: Option<(usize, Vec<u8>)> = None;
    let mut at = 0;
    loop {
        let rest = bytes.get(at..).unwrap_or_default();
        // Where the next frame opens (bytes before a flag are line noise).
        let start = at + rest.iter().position(|&b| b == FLAG).unwrap_or(rest.len());
        match hdlc::decode(rest) {
            Ok(Some((frame, used))) => {
                if !matches!(frame.control, Control::Ui { .. }) {
                    return Err(PushError::NotUi {
                        at: start,
                        control: frame.control,
                    });
                }
                let (first, mut info) = joining.take().unwrap_or((start, Vec::new()));
                info.extend_from_slice(&frame.info);
                if frame.segmented {
                    joining = Some((first, info));
                } else {
                    // The LLC header opens the first segment only; Landis+Gyr meters send
                    // the general-block-transfer blocks after the first without one.
                    let apdu = if info.first() == Some(&gbt::TAG) && !out.is_empty() {
                        &info[..]
                    } else {
                        llc::strip(SERVER_LLC, &info)
                            .map_err(|source| PushError::Hdlc { at: first, source })?
                    };
                    out.push(apdu.to_vec());
                }
                at += used;
            }
            Ok(None) => {
                // Only flags (or nothing) left: every frame is complete.
                let tail = bytes.get(start..).unwrap_or_default();
                if tail.iter().all(|&b| b == FLAG) && (!out.is_empty() || joining.is_some()) {
                    break;
                }
                return Err(PushError::TruncatedHdlc { at: start });
            }
            Err(e) => {
                return Err(PushError::Hdlc {
                    at: start,
                    source: e.error,
                })
            }
        }
    }
    match joining {
        Some(_) => Err(PushError::UnfinishedSegments { at }),
        None => Ok(out),
    }
}
