//! exception-response: the server could not even process the APDU.

use super::error::{decode_apdu, expect_tag, ApduError};
use std::fmt;

/// An exception-response (`D8 <state-error> <service-error> [expected invocation counter]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionResponse {
    /// 1 service-not-allowed, 2 service-unknown.
    pub state_error: u8,
    /// 1 operation-not-possible .. 6 invocation-counter-error.
    pub service_error: u8,
    /// The invocation counter the server expects (sent with service error 6).
    pub invocation_counter: Option<u32>,
}

impl ExceptionResponse {
    /// APDU tag.
    pub const TAG: u8 = 0xD8;

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG, self.state_error, self.service_error];
        if let Some(ic) = self.invocation_counter {
            out.extend_from_slice(&ic.to_be_bytes());
        }
        out
    }

    /// Decodes the wire bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("exception-response", bytes, |r| {
            expect_tag(r, Self::TAG, "exception-response")?;
            Ok(ExceptionResponse {
                state_error: r.u8("state-error")?,
                service_error: r.u8("service-error")?,
                invocation_counter: if r.is_empty() {
                    None
                } else {
                    Some(r.u32("invocation-counter")?)
                },
            })
        })
    }

    /// "service not allowed / operation not possible".
    pub fn describe(&self) -> String {
        let state = match self.state_error {
            1 => "service not allowed".to_string(),
            2 => "service unknown".to_string(),
            v => format!("state error {v}"),
        };
        let service = match self.service_error {
            1 => "operation not possible".to_string(),
            2 => "service not supported".to_string(),
            3 => "other reason".to_string(),
            4 => "PDU too long".to_string(),
            5 => "deciphering error".to_string(),
            6 => "invocation counter error".to_string(),
            v => format!("service error {v}"),
        };
        match self.invocation_counter {
            Some(ic) => format!("{state} / {service} (expected invocation counter {ic})"),
            None => format!("{state} / {service}"),
        }
    }
}

impl fmt::Display for ExceptionResponse {
    /// "meter sent exception: service not allowed / operation not possible".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "meter sent exception: {}", self.describe())
    }
}

impl std::error::Error for ExceptionResponse {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vectors() {
        let e = ExceptionResponse::decode(&[0xD8, 1, 1]).unwrap();
        assert_eq!(
            e.to_string(),
            "meter sent exception: service not allowed / operation not possible"
        );
        assert_eq!(e.encode(), [0xD8, 1, 1]);
        let e = ExceptionResponse::decode(&[0xD8, 1, 6, 0, 0, 1, 0]).unwrap();
        assert_eq!(e.invocation_counter, Some(256));
        assert!(e
            .describe()
            .ends_with("invocation counter error (expected invocation counter 256)"));
        assert_eq!(
            ExceptionResponse::decode(&[0xD8, 2, 4]).unwrap().describe(),
            "service unknown / PDU too long"
        );
        assert!(ExceptionResponse::decode(&[0xD8, 1, 6, 0]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(s in any::<u8>(), v in any::<u8>(), ic in proptest::option::of(any::<u32>())) {
            let e = ExceptionResponse { state_error: s, service_error: v, invocation_counter: ic };
            prop_assert_eq!(ExceptionResponse::decode(&e.encode()).unwrap(), e);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..10)) {
            let _ = ExceptionResponse::decode(&b);
        }
    }
}
