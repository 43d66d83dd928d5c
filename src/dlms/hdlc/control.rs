//! The HDLC control field: frame type, sequence numbers and the P/F bit.
use std::fmt;

use super::error::HdlcError;

/// The P/F bit of every control byte.
const PF: u8 = 0x10;

/// A decoded control field. Sequence numbers are modulo 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Information frame: `RRR P SSS 0`.
    I {
        /// N(S): this frame's send sequence number.
        ns: u8,
        /// N(R): the next sequence number the sender expects to receive.
        nr: u8,
        /// P/F bit.
        poll: bool,
    },
    /// Receive ready: acknowledges up to N(R) - 1, e.g. to ask for the next segment.
    Rr {
        /// N(R): the next sequence number expected.
        nr: u8,
        /// P/F bit.
        poll: bool,
    },
    /// Receive not ready: the peer is busy.
    Rnr {
        /// N(R): the next sequence number expected.
        nr: u8,
        /// P/F bit.
        poll: bool,
    },
    /// Set normal response mode: opens the link.
    Snrm {
        /// P bit.
        poll: bool,
    },
    /// Disconnect: closes the link.
    Disc {
        /// P bit.
        poll: bool,
    },
    /// Unnumbered acknowledge: answer to SNRM and DISC.
    Ua {
        /// F bit.
        final_: bool,
    },
    /// Disconnected mode: the station is not connected.
    Dm {
        /// F bit.
        final_: bool,
    },
    /// Frame reject: the station received a frame it cannot handle.
    Frmr {
        /// F bit.
        final_: bool,
    },
    /// Unnumbered information, used for pushed data.
    Ui {
        /// P/F bit.
        poll: bool,
    },
}

impl Control {
    /// The control byte.
    pub fn to_byte(self) -> u8 {
        let pf = |bit: bool| if bit { PF } else { 0 };
        match self {
            Self::I { ns, nr, poll } => (nr & 7) << 5 | pf(poll) | (ns & 7) << 1,
            Self::Rr { nr, poll } => (nr & 7) << 5 | pf(poll) | 0x01,
            Self::Rnr { nr, poll } => (nr & 7) << 5 | pf(poll) | 0x05,
            Self::Snrm { poll } => 0x83 | pf(poll),
            Self::Disc { poll } => 0x43 | pf(poll),
            Self::Ua { final_ } => 0x63 | pf(final_),
            Self::Dm { final_ } => 0x0F | pf(final_),
            Self::Frmr { final_ } => 0x87 | pf(final_),
            Self::Ui { poll } => 0x03 | pf(poll),
        }
    }

    /// Decodes a control byte; REJ, SREJ and other unsupported types are errors.
    pub fn from_byte(byte: u8) -> Result<Self, HdlcError> {
        let poll = byte & PF != 0;
        let nr = byte >> 5;
        if byte & 1 == 0 {
            let ns = byte >> 1 & 7;
            return Ok(Self::I { ns, nr, poll });
        }
        match (byte & 0x0F, byte & !PF) {
            (0x01, _) => Ok(Self::Rr { nr, poll }),
            (0x05, _) => Ok(Self::Rnr { nr, poll }),
            (_, 0x83) => Ok(Self::Snrm { poll }),
            (_, 0x43) => Ok(Self::Disc { poll }),
            (_, 0x63) => Ok(Self::Ua { final_: poll }),
            (_, 0x0F) => Ok(Self::Dm { final_: poll }),
            (_, 0x87) => Ok(Self::Frmr { final_: poll }),
            (_, 0x03) => Ok(Self::Ui { poll }),
            _ => Err(HdlcError::UnknownControl(byte)),
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::I { ns, nr, .. } => write!(f, "I (N(S)={ns}, N(R)={nr})"),
            Self::Rr { nr, .. } => write!(f, "RR (N(R)={nr})"),
            Self::Rnr { nr, .. } => write!(f, "RNR (N(R)={nr})"),
            Self::Snrm { .. } => f.write_str("SNRM"),
            Self::Disc { .. } => f.write_str("DISC"),
            Self::Ua { .. } => f.write_str("UA"),
            Self::Dm { .. } => f.write_str("DM"),
            Self::Frmr { .. } => f.write_str("FRMR"),
            Self::Ui { .. } => f.write_str("UI"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_from_the_notes() {
        let cases = [
            (Control::Snrm { poll: true }, 0x93),
            (Control::Snrm { poll: false }, 0x83),
            (Control::Disc { poll: true }, 0x53),
            (Control::Ua { final_: true }, 0x73),
            (Control::Ua { final_: false }, 0x63),
            (Control::Dm { final_: true }, 0x1F),
            (Control::Frmr { final_: true }, 0x97),
            (Control::Ui { poll: true }, 0x13),
            (Control::Rr { nr: 2, poll: true }, 0x51),
            (Control::Rr { nr: 4, poll: true }, 0x91),
            (Control::Rnr { nr: 1, poll: true }, 0x35),
            (
                Control::I {
                    ns: 3,
                    nr: 4,
                    poll: true,
                },
                0x96,
            ),
        ];
        for (control, byte) in cases {
            assert_eq!(control.to_byte(), byte, "{control}");
            assert_eq!(Control::from_byte(byte), Ok(control), "{byte:#04X}");
        }
    }

    #[test]
    fn sequences_from_the_notes() {
        let client = [0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x10];
        let server = [0x30, 0x52, 0x74, 0x96, 0xB8, 0xDA, 0xFC, 0x1E, 0x30];
        for n in 0..9u8 {
            let c = Control::I {
                ns: n % 8,
                nr: n % 8,
                poll: true,
            };
            let s = Control::I {
                ns: n % 8,
                nr: (n + 1) % 8,
                poll: true,
            };
            assert_eq!(c.to_byte(), client[usize::from(n)]);
            assert_eq!(s.to_byte(), server[usize::from(n)]);
        }
    }

    #[test]
    fn every_byte_decodes_or_errors_and_round_trips() {
        for byte in 0..=255u8 {
            if let Ok(control) = Control::from_byte(byte) {
                assert_eq!(control.to_byte(), byte);
            }
        }
        assert_eq!(
            Control::from_byte(0x09),
            Err(HdlcError::UnknownControl(0x09))
        );
    }
}
