//! Ways a simulated meter can misbehave (`simulate --fault KIND[=ARG]`), for testing how the
//! logger reacts to links that drop, garbage, bad checksums, slow or silent meters, reboots,
//! exceptions and refused associations.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the link after N requests on it.
    DropAfter(usize),
    /// Answer with random bytes.
    Garbage,
    /// Answer frames with a wrong check sequence (HDLC FCS; WRAPPER: a wrong version).
    BadFcs,
    /// Send only the first half of each answer.
    Truncate,
    /// Wait this long before each answer.
    Slow(Duration),
    /// Never answer anything.
    Silent,
    /// Restart block numbering in the middle of a block transfer (as after a reboot).
    RebootMidBlock,
    /// Answer every request with an exception-response.
    Exception,
    /// Refuse every association.
    RejectAssociation,
    /// Close idle links after this long (an HDLC inactivity timeout).
    Inactivity(Duration),
    /// Answer every GET-with-list malformed (a result count with no results after it), as
    /// meters with broken with-list support do; single GETs are answered well.
    BadList,
    /// Answer every GET-with-list with other-reason for each item; single GETs are answered.
    ListError,
    /// Drop general-block-transfer block N once (the client must ask for it again).
    GbtDrop(u16),
}

/// The fault kinds, for messages.
pub const KINDS: &str = "drop=N, garbage, bad-fcs, truncate, slow=MS, silent, reboot, exception, \
     reject, inactivity=MS, bad-list, list-error, gbt-drop=N";

/// Why a `--fault` text names no fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// A fault that takes a number got none.
    #[error("fault {kind} needs {what}, e.g. {kind}=3")]
    NeedsNumber {
        /// The fault.
        kind: String,
        /// What number.
        what: &'static str,
    },
    /// No such fault.
    #[error("unknown fault {0:?}; use one of {KINDS}")]
    Unknown(String),
}

impl FromStr for Fault {
    type Err = FaultError;

    fn from_str(s: &str) -> Result<Self, FaultError> {
        let (kind, arg) = match s.split_once('=') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let number = |what: &'static str| -> Result<u64, FaultError> {
            arg.and_then(|a| a.parse().ok())
                .ok_or_else(|| FaultError::NeedsNumber {
                    kind: kind.to_string(),
                    what,
                })
        };
        Ok(match kind {
            "drop" => Fault::DropAfter(number("a number of requests")? as usize),
            "garbage" => Fault::Garbage,
            "bad-fcs" => Fault::BadFcs,
            "truncate" => Fault::Truncate,
            "slow" => Fault::Slow(Duration::from_millis(number("milliseconds")?)),
            "silent" => Fault::Silent,
            "reboot" => Fault::RebootMidBlock,
            "exception" => Fault::Exception,
            "reject" => Fault::RejectAssociation,
            "inactivity" => Fault::Inactivity(Duration::from_millis(number("milliseconds")?)),
            "bad-list" => Fault::BadList,
            "list-error" => Fault::ListError,
            "gbt-drop" => {
                Fault::GbtDrop(u16::try_from(number("a block number")?).map_err(|_| {
                    FaultError::NeedsNumber {
                        kind: kind.to_string(),
                        what: "a block number",
                    }
                })?)
            }
            _ => return Err(FaultError::Unknown(s.to_string())),
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::DropAfter(n) => write!(f, "drop={n}"),
            Fault::Garbage => f.write_str("garbage"),
            Fault::BadFcs => f.write_str("bad-fcs"),
            Fault::Truncate => f.write_str("truncate"),
            Fault::Slow(d) => write!(f, "slow={}", d.as_millis()),
            Fault::Silent => f.write_str("silent"),
            Fault::RebootMidBlock => f.write_str("reboot"),
            Fault::Exception => f.write_str("exception"),
            Fault::RejectAssociation => f.write_str("reject"),
            Fault::Inactivity(d) => write!(f, "inactivity={}", d.as_millis()),
            Fault::BadList => f.write_str("bad-list"),
            Fault::ListError => f.write_str("list-error"),
            Fault::GbtDrop(n) => write!(f, "gbt-drop={n}"),
        }
    }
}

/// True when `apdu` is general-block-transfer block `n`.
pub fn is_gbt_block(apdu: &[u8], n: u16) -> bool {
    crate::dlms::xdlms::GeneralBlockTransfer::decode(apdu).is_ok_and(|b| b.block_number == n)
}

/// The answer a list fault gives a plain GET-with-list request, `None` for other requests.
pub fn list_answer(fault: Option<Fault>, request: &[u8]) -> Option<Vec<u8>> {
    use crate::dlms::xdlms::{DataAccessResult, GetDataResult, GetRequest, GetResponse};
    let GetRequest::WithList {
        invoke_id,
        attributes,
    } = GetRequest::decode(request).ok()?
    else {
        return None;
    };
    match fault? {
        // Says how many results follow, then sends none.
        Fault::BadList => Some(vec![0xC4, 0x03, invoke_id, attributes.len().min(127) as u8]),
        Fault::ListError => Some(
            GetResponse::WithList {
                invoke_id,
                results: vec![
                    GetDataResult::Error(DataAccessResult::OtherReason);
                    attributes.len()
                ],
            }
            .encode(),
        ),
        _ => None,
    }
}

/// Spoils an outgoing frame as the fault says (garbage, bad check sequence, truncation).
pub fn spoil(fault: Option<Fault>, mut frame: Vec<u8>, seed: &mut u64) -> Vec<u8> {
    match fault {
        Some(Fault::Garbage) => frame
            .iter()
            .map(|_| {
                // xorshift: deterministic noise without a dependency.
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 24) as u8 & 0x7D // never a 0x7E flag
            })
            .collect(),
        Some(Fault::BadFcs) => {
            let n = frame.len();
            if frame.first() == Some(&0x7E) && n >= 3 {
                frame[n - 2] ^= 0xFF; // the FCS's high byte, before the closing flag
            } else if n >= 2 {
                frame[1] = 0x02; // WRAPPER version 2
            }
            frame
        }
        Some(Fault::Truncate) => {
            frame.truncate(frame.len() / 2);
            frame
        }
        _ => frame,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_print_back() {
        for k in [
            "drop=3",
            "garbage",
            "bad-fcs",
            "truncate",
            "slow=1500",
            "silent",
            "reboot",
            "exception",
            "reject",
            "inactivity=200",
            "bad-list",
            "list-error",
        ] {
            assert_eq!(k.parse::<Fault>().unwrap().to_string(), k);
        }
        assert!("drop"
            .parse::<Fault>()
            .unwrap_err()
            .to_string()
            .contains("needs a number"));
        assert!("melt"
            .parse::<Fault>()
            .unwrap_err()
            .to_string()
            .contains("unknown fault"));
    }
}
