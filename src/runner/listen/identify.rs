//! Who dialed in: the identity a caller reported (the system title its push carries, or its
//! device name, serial number and security setup's system title read over the public client)
//! matched against the meters configured on the connection.

use super::super::error::DialInError;
use crate::dlms::client::{AttributeRef, ClientSettings, Referencing};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::security::SystemTitle;
use crate::engine::{Interface, MeterAddress, Session};
use crate::queue::{InterfaceKind, Meter};
use crate::transport::BoxStream;
use std::time::Duration;

/// How a caller was recognised, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Identity {
    SystemTitle,
    DeviceName,
    SerialNumber,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Identity::SystemTitle => "system title",
            Identity::DeviceName => "device name",
            Identity::SerialNumber => "serial number",
        })
    }
}

/// What the caller told about itself: over the public client, or in the push.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Reported {
    pub device_name: Option<String>,
    pub serial: Option<String>,
    pub system_title: Option<[u8; 8]>,
}

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What the caller sent, quoted and escaped (it may hold control characters).
        let said = |v: &Option<String>| match v {
            Some(s) => format!("\"{}\"", crate::text::escape(s)),
            None => "not given".to_string(),
        };
        let title = self
            .system_title
            .map_or("not given".to_string(), |t| SystemTitle(t).to_string());
        write!(
            f,
            "device name {}, serial number {}, system title {title}",
            said(&self.device_name),
            said(&self.serial)
        )
    }
}

/// The logical device name, the serial number and the security setup's server system title.
fn identity_attributes() -> [AttributeRef; 3] {
    [
        AttributeRef::new(1, Obis::new(0, 0, 42, 0, 0, 255), 2),
        AttributeRef::new(1, Obis::new(0, 0, 96, 1, 0, 255), 2),
        AttributeRef::new(64, Obis::new(0, 0, 43, 0, 0, 255), 5),
    ]
}

/// Asks the caller who it is over the public client and finds it among `meters`; the link
/// comes back released, ready for the meter's own association. `reported` gains what the
/// caller said (kept for the log when no meter matches).
pub(super) async fn ask(
    stream: BoxStream,
    interface: InterfaceKind,
    timeout: Duration,
    meters: &[Meter],
    reported: &mut Reported,
) -> Result<(Meter, Identity, BoxStream), DialInError> {
    let public = MeterAddress {
        interface: match interface {
            InterfaceKind::Wrapper => Interface::Wrapper,
            InterfaceKind::Hdlc => Interface::Hdlc,
        },
        ..MeterAddress::default()
    };
    let mut s = Session::open(
        stream,
        &public,
        ClientSettings::new(Referencing::Ln),
        timeout,
        None,
    )
    .await
    .map_err(|e| DialInError::PublicClient(Box::new(e)))?;
    let ids = s.read(&identity_attributes()).await?;
    let text = |r: &Result<Data, _>| r.as_ref().ok().map(|d| d.to_string());
    reported.device_name = text(&ids[0]);
    reported.serial = text(&ids[1]);
    if let Ok(Data::OctetString(t)) = &ids[2] {
        reported.system_title = <[u8; 8]>::try_from(t.as_slice())
            .ok()
            .or(reported.system_title);
    }
    let Some((meter, how)) = identify(meters, reported) else {
        let _ = s.close().await;
        return Err(DialInError::Unknown {
            reported: reported.to_string(),
        });
    };
    let (stream, _) = s.release().await?;
    Ok((meter, how, stream))
}

/// The configured meter matching what the caller reported, and by which identity: the system
/// title first (it is what a ciphering meter proves it holds the keys for), then the logical
/// device name, then the serial number.
pub(super) fn identify(meters: &[Meter], reported: &Reported) -> Option<(Meter, Identity)> {
    let serial = reported
        .serial
        .as_deref()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let by = |how: Identity| {
        meters.iter().find(|m| match how {
            Identity::SystemTitle => {
                m.security.server_system_title.is_some()
                    && m.security.server_system_title == reported.system_title
            }
            Identity::DeviceName => {
                m.device_name.is_some() && m.device_name == reported.device_name
            }
            Identity::SerialNumber => m.serial_number.is_some() && m.serial_number == serial,
        })
    };
    [
        Identity::SystemTitle,
        Identity::DeviceName,
        Identity::SerialNumber,
    ]
    .into_iter()
    .find_map(|how| by(how).map(|m| (m.clone(), how)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{KeySecret, Policy};

    #[test]
    fn a_caller_is_described_in_words_not_debug_text() {
        let r = Reported {
            device_name: Some("DLG\u{1b}[2J".into()),
            serial: None,
            system_title: Some(*b"MMM\0\0\x01\x02\x03"),
        };
        assert_eq!(
            r.to_string(),
            "device name \"DLG\\x1b[2J\", serial number not given, system title 4D4D4D0000010203"
        );
    }

    #[test]
    fn identification_prefers_the_system_title_then_name_then_serial() {
        const TITLE: [u8; 8] = *b"SIM00001";
        let mut by_name = Meter::new("by-name", "in");
        by_name.device_name = Some("DLG1".into());
        let mut by_serial = Meter::new("by-serial", "in");
        by_serial.serial_number = Some(12345678);
        let mut by_title = Meter::new("by-title", "in");
        by_title.security.policy = Policy::AuthEnc;
        by_title.security.block_key = Some(KeySecret::new([0x11; 16]));
        by_title.security.server_system_title = Some(TITLE);
        let meters = vec![by_name, by_serial, by_title];
        let found = |r: Reported| identify(&meters, &r).map(|(m, how)| (m.name, how));
        assert_eq!(
            found(Reported {
                device_name: Some("DLG1".into()),
                system_title: Some(TITLE),
                ..Reported::default()
            }),
            Some(("by-title".into(), Identity::SystemTitle))
        );
        assert_eq!(
            found(Reported {
                device_name: Some("DLG1".into()),
                serial: Some("12345678".into()),
                ..Reported::default()
            }),
            Some(("by-name".into(), Identity::DeviceName))
        );
        assert_eq!(
            found(Reported {
                serial: Some(" 12345678 ".into()),
                system_title: Some(*b"OTHER001"),
                ..Reported::default()
            }),
            Some(("by-serial".into(), Identity::SerialNumber))
        );
        // Meters without an identity never match a caller without one.
        assert_eq!(found(Reported::default()), None);
    }
}
