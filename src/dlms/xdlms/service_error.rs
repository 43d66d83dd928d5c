//! ConfirmedServiceError: a confirmed service (initiate, read, write) failed.

use super::error::{decode_apdu, expect_tag, ApduError};
use std::fmt;

/// A confirmedServiceError (`0E <service> <error-class> <value>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfirmedServiceError {
    /// The failed service: 1 initiate, 5 read, 6 write.
    pub service: u8,
    /// The ServiceError class: 0 application-reference .. 6 initiate .. 10 other.
    pub error_class: u8,
    /// The error within its class.
    pub value: u8,
}

/// ServiceError classes (ASN.1 numbering) and the names of their values.
const CLASSES: [(&str, &[&str]); 11] = [
    (
        "application reference",
        &[
            "other",
            "time elapsed",
            "application unreachable",
            "application reference invalid",
            "application context unsupported",
            "provider communication error",
            "deciphering error",
        ],
    ),
    (
        "hardware resource",
        &[
            "other",
            "memory unavailable",
            "processor resource unavailable",
            "mass storage unavailable",
            "other resource unavailable",
        ],
    ),
    (
        "VDE state error",
        &[
            "other",
            "no DLMS context",
            "loading data set",
            "status no change",
            "status inoperable",
        ],
    ),
    ("service", &["other", "PDU size", "service unsupported"]),
    (
        "definition",
        &[
            "other",
            "object undefined",
            "object class inconsistent",
            "object attribute inconsistent",
        ],
    ),
    (
        "access",
        &[
            "other",
            "scope of access violated",
            "object access violated",
            "hardware fault",
            "object unavailable",
        ],
    ),
    (
        "initiate",
        &[
            "other",
            "DLMS version too low",
            "incompatible conformance",
            "PDU size too short",
            "refused by the VDE handler",
        ],
    ),
    (
        "load data set",
        &[
            "other",
            "primitive out of sequence",
            "not loadable",
            "data set size too large",
            "not awaited segment",
            "interpretation failure",
            "storage failure",
            "data set not ready",
        ],
    ),
    ("change scope", &["other"]),
    (
        "task",
        &[
            "other",
            "no remote control",
            "TI stopped",
            "TI running",
            "TI unusable",
        ],
    ),
    ("other", &["other"]),
];

impl ConfirmedServiceError {
    /// APDU tag.
    pub const TAG: u8 = 0x0E;

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        vec![Self::TAG, self.service, self.error_class, self.value]
    }

    /// Decodes the wire bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("confirmed-service-error", bytes, |r| {
            expect_tag(r, Self::TAG, "confirmed-service-error")?;
            Ok(ConfirmedServiceError {
                service: r.u8("confirmed service")?,
                error_class: r.u8("service error class")?,
                value: r.u8("service error value")?,
            })
        })
    }
}

impl fmt::Display for ConfirmedServiceError {
    /// "initiate failed: initiate error: DLMS version too low".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.service {
            1 => f.write_str("initiate failed: ")?,
            5 => f.write_str("read failed: ")?,
            6 => f.write_str("write failed: ")?,
            s => write!(f, "confirmed service {s} failed: ")?,
        }
        match CLASSES.get(self.error_class as usize) {
            Some((class, values)) => match values.get(self.value as usize) {
                Some(v) => write!(f, "{class} error: {v}"),
                None => write!(f, "{class} error {}", self.value),
            },
            None => write!(f, "error class {} value {}", self.error_class, self.value),
        }
    }
}

impl std::error::Error for ConfirmedServiceError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vectors() {
        let e = ConfirmedServiceError::decode(&[0x0E, 1, 6, 1]).unwrap();
        assert_eq!(
            e.to_string(),
            "initiate failed: initiate error: DLMS version too low"
        );
        assert_eq!(e.encode(), [0x0E, 1, 6, 1]);
        let e = ConfirmedServiceError {
            service: 5,
            error_class: 4,
            value: 1,
        };
        assert_eq!(
            e.to_string(),
            "read failed: definition error: object undefined"
        );
        let e = ConfirmedServiceError {
            service: 9,
            error_class: 42,
            value: 1,
        };
        assert_eq!(
            e.to_string(),
            "confirmed service 9 failed: error class 42 value 1"
        );
        assert!(ConfirmedServiceError::decode(&[0x0E, 1, 6]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(s in any::<u8>(), c in any::<u8>(), v in any::<u8>()) {
            let e = ConfirmedServiceError { service: s, error_class: c, value: v };
            prop_assert_eq!(ConfirmedServiceError::decode(&e.encode()).unwrap(), e);
            let _ = e.to_string();
        }
    }
}
