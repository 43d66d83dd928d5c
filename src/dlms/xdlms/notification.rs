//! Data-Notification: an unsolicited push from the meter.

use super::error::{decode_apdu, expect_tag, ApduError};
use crate::dlms::axdr::DecodeError;
use crate::dlms::data::Data;
use crate::dlms::datetime::CosemDateTime;

/// A data-notification (`0F <long-invoke-id u32> <00 | 0C date-time> <body Data>`).
#[derive(Debug, Clone, PartialEq)]
pub struct DataNotification {
    /// Long-Invoke-Id-And-Priority (bits 24..31 carry the priority/confirmed flags).
    pub long_invoke_id: u32,
    /// Time of the push, if the meter sent one.
    pub date_time: Option<CosemDateTime>,
    /// The pushed value.
    pub body: Data,
}

impl DataNotification {
    /// APDU tag.
    pub const TAG: u8 = 0x0F;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        out.extend_from_slice(&self.long_invoke_id.to_be_bytes());
        match &self.date_time {
            None => out.push(0),
            Some(t) => {
                out.push(12);
                t.encode(&mut out);
            }
        }
        self.body.encode(&mut out);
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("data-notification", bytes, |r| {
            expect_tag(r, Self::TAG, "data-notification")?;
            let long_invoke_id = r.u32("long-invoke-id-and-priority")?;
            let at = r.position();
            let date_time = match r.u8("date-time length")? {
                0 => None,
                12 => Some(CosemDateTime::decode(r)?),
                n => {
                    return Err(DecodeError::Invalid {
                        what: "date-time length",
                        at,
                        reason: format!("{n} is neither 0 nor 12"),
                    })
                }
            };
            Ok(DataNotification {
                long_invoke_id,
                date_time,
                body: Data::decode(r)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use proptest::prelude::*;

    #[test]
    fn vectors() {
        let b = unhex("0F 0063D76A 00 03 FF");
        let n = DataNotification::decode(&b).unwrap();
        assert_eq!(n.long_invoke_id, 0x0063D76A);
        assert_eq!(n.date_time, None);
        assert_eq!(n.body, Data::Boolean(true));
        // H10 head: array of 27 entries, the first one the clock (truncated here).
        let head = unhex("0F 40000000 00 01 1B 02 02 09 06 00 00 01 00 00 FF 09 0C 07 E3 0C 10 01 07 3B 28 FF 80 00 FF");
        let e = DataNotification::decode(&head).unwrap_err().to_string();
        assert!(
            e.starts_with("bad data-notification: bad length at byte 7: array count"),
            "{e}"
        );
        // C5 plaintext: no date-time, 34-byte octet-string body.
        let c5 = unhex("0F 00 00 01 DB 00 09 22 12 5A 85 91 36 00 00 00 00 49 00 00 00 11 00 00 00 0A 5A 85 13 D0 14 80 00 00 00 0D 00 00 00 0A 01 00");
        let n = DataNotification::decode(&c5).unwrap();
        assert_eq!(n.long_invoke_id, 0x1DB);
        assert!(matches!(n.body, Data::OctetString(ref v) if v.len() == 34));
        assert_eq!(n.encode(), c5);
        // With a date-time.
        let b = unhex("0F 00000001 0C 07E3 0C 10 01 07 3B 28 FF 8000 FF 11 05");
        let n = DataNotification::decode(&b).unwrap();
        assert_eq!(n.date_time.unwrap().to_string(), "2019-12-16T07:59:40");
        assert_eq!(n.encode(), b);
        assert!(DataNotification::decode(&unhex("0F 00000001 05 11 05")).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(id in any::<u32>(), t in proptest::option::of(any::<[u8; 12]>()), body in arb_data()) {
            let n = DataNotification {
                long_invoke_id: id,
                date_time: t.map(|b| CosemDateTime::from_octets(&b).unwrap()),
                body,
            };
            prop_assert_eq!(DataNotification::decode(&n.encode()).unwrap(), n);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut v = vec![DataNotification::TAG];
            v.extend_from_slice(&b);
            let _ = DataNotification::decode(&v);
        }
    }
}
