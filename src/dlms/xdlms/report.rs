//! Reports a meter sends unasked on an association: Event-Notification-Request (LN, tag C2)
//! and Information-Report-Request (SN, tag 18). Neither is answered.

use super::codec::{read_optional, read_seq, write_optional, write_seq};
use super::descriptor::AttributeDescriptor;
use super::error::{decode_apdu, expect_tag, ApduError};
use super::read::{VariableAccess, VARIABLE_ACCESS_MIN_LEN};
use crate::dlms::axdr::{write_length, DecodeError, Reader};
use crate::dlms::data::Data;
use crate::dlms::datetime::CosemDateTime;

/// `time OCTET STRING OPTIONAL` as meters send it: `01 0C <12 bytes>`; some add the Data
/// type tag (`01 09 0C <12 bytes>`), which is accepted too.
fn read_time(r: &mut Reader) -> Result<Option<CosemDateTime>, DecodeError> {
    read_optional(r, "time present", |r| {
        let at = r.position();
        let mut n = r.u8("time length")?;
        if n == 0x09 && r.peek() == Some(12) {
            n = r.u8("time length")?;
        }
        if n != 12 {
            return Err(DecodeError::Invalid {
                what: "time length",
                at,
                reason: format!("{n} is not 12 (a date-time)"),
            });
        }
        CosemDateTime::decode(r)
    })
}

fn write_time(out: &mut Vec<u8>, time: Option<&CosemDateTime>) {
    write_optional(out, time, |t, o| {
        write_length(o, 12);
        t.encode(o);
    });
}

/// An event notification: one attribute's value, pushed on an association (LN).
#[derive(Debug, Clone, PartialEq)]
pub struct EventNotificationRequest {
    /// When the event happened, if the meter says.
    pub time: Option<CosemDateTime>,
    /// The attribute reported.
    pub attribute: AttributeDescriptor,
    /// Its value.
    pub value: Data,
}

impl EventNotificationRequest {
    /// APDU tag.
    pub const TAG: u8 = 0xC2;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_time(&mut out, self.time.as_ref());
        self.attribute.encode(&mut out);
        self.value.encode(&mut out);
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("event-notification-request", bytes, |r| {
            expect_tag(r, Self::TAG, "event-notification-request")?;
            Ok(EventNotificationRequest {
                time: read_time(r)?,
                attribute: AttributeDescriptor::decode(r)?,
                value: Data::decode(r)?,
            })
        })
    }
}

/// An information report: variables and their values, pushed on an association (SN).
#[derive(Debug, Clone, PartialEq)]
pub struct InformationReportRequest {
    /// The meter's current time, if it says.
    pub time: Option<CosemDateTime>,
    /// The variables reported (short names).
    pub variables: Vec<VariableAccess>,
    /// One value per variable.
    pub values: Vec<Data>,
}

impl InformationReportRequest {
    /// APDU tag.
    pub const TAG: u8 = 0x18;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_time(&mut out, self.time.as_ref());
        write_seq(&mut out, &self.variables, VariableAccess::encode);
        write_seq(&mut out, &self.values, Data::encode);
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("information-report-request", bytes, |r| {
            expect_tag(r, Self::TAG, "information-report-request")?;
            let time = read_time(r)?;
            let variables = read_seq(
                r,
                "variable count",
                VARIABLE_ACCESS_MIN_LEN,
                VariableAccess::decode,
            )?;
            let at = r.position();
            let values = read_seq(r, "value count", 1, Data::decode)?;
            if values.len() != variables.len() {
                return Err(DecodeError::Invalid {
                    what: "value count",
                    at,
                    reason: format!("{} values for {} variables", values.len(), variables.len()),
                });
            }
            Ok(InformationReportRequest {
                time,
                variables,
                values,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use crate::dlms::obis::Obis;
    use proptest::prelude::*;

    #[test]
    fn an_event_notification_with_and_without_time() {
        // Event: the disconnect control's output state (class 70, attr 2) went false.
        let plain = unhex("C2 00 0046 0000600300FF 02 03 00");
        let e = EventNotificationRequest::decode(&plain).unwrap();
        assert_eq!(e.time, None);
        assert_eq!(e.attribute.class_id, 70);
        assert_eq!(e.attribute.instance, Obis::new(0, 0, 96, 3, 0, 255));
        assert_eq!(e.attribute.attribute, 2);
        assert_eq!(e.value, Data::Boolean(false));
        assert_eq!(e.encode(), plain);
        let timed = unhex("C2 01 0C 07EA0C0607 0A1E0000 FF88 00 0001 0000010000FF 02 06 00000005");
        let e = EventNotificationRequest::decode(&timed).unwrap();
        assert_eq!(e.time.unwrap().to_string().get(..10), Some("2026-12-06"));
        assert_eq!(e.value, Data::DoubleLongUnsigned(5));
        assert_eq!(e.encode(), timed);
        // The same time with a Data type tag before it.
        let tagged =
            unhex("C2 01 09 0C 07EA0C0607 0A1E0000 FF88 00 0001 0000010000FF 02 06 00000005");
        assert_eq!(EventNotificationRequest::decode(&tagged).unwrap(), e);
        let bad = unhex("C2 01 05 0102030405 0001 0000010000FF 02 06 00000005");
        let msg = EventNotificationRequest::decode(&bad)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("time length") && msg.contains("not 12"),
            "{msg}"
        );
    }

    #[test]
    fn an_information_report_pairs_variables_and_values() {
        let b = unhex("18 00 02 02 0108 02 0110 02 06 0000000A 12 00E6");
        let r = InformationReportRequest::decode(&b).unwrap();
        assert_eq!(
            r.variables,
            [VariableAccess::Name(0x108), VariableAccess::Name(0x110)]
        );
        assert_eq!(
            r.values,
            [Data::DoubleLongUnsigned(10), Data::LongUnsigned(230)]
        );
        assert_eq!(r.encode(), b);
        let short = unhex("18 00 02 02 0108 02 0110 01 06 0000000A");
        let msg = InformationReportRequest::decode(&short)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("1 values for 2 variables"), "{msg}");
    }

    proptest! {
        #[test]
        fn round_trips(value in arb_data(), class in any::<u16>(), attr in any::<i8>()) {
            let e = EventNotificationRequest {
                time: None,
                attribute: AttributeDescriptor {
                    class_id: class,
                    instance: Obis::new(1, 0, 1, 8, 0, 255),
                    attribute: attr,
                },
                value: value.clone(),
            };
            prop_assert_eq!(EventNotificationRequest::decode(&e.encode()).unwrap(), e);
            let r = InformationReportRequest {
                time: None,
                variables: vec![VariableAccess::Name(0x108)],
                values: vec![value],
            };
            prop_assert_eq!(InformationReportRequest::decode(&r.encode()).unwrap(), r);
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut e = vec![EventNotificationRequest::TAG];
            e.extend_from_slice(&body);
            let _ = EventNotificationRequest::decode(&e);
            let mut i = vec![InformationReportRequest::TAG];
            i.extend_from_slice(&body);
            let _ = InformationReportRequest::decode(&i);
        }
    }
}
