//! Serial ports (tokio-serial): open with validated line settings, and switch them (mode E).

use crate::queue::{Flow, Parity, SerialSettings, BAUD_RATES};
use thiserror::Error;
use tokio_serial::{
    DataBits, FlowControl, SerialPort, SerialPortBuilderExt, SerialStream, StopBits,
};

/// Why a serial port could not be used.
#[derive(Debug, Error)]
pub enum SerialError {
    /// A setting outside what serial lines do.
    #[error("serial port {port}: {setting} is not possible: {why}")]
    Setting {
        /// The device.
        port: String,
        /// The setting, e.g. "baud 12345".
        setting: String,
        /// What is allowed.
        why: String,
    },
    /// The device could not be opened or configured.
    #[error("serial port {port}: {source}")]
    Open {
        /// The device.
        port: String,
        /// The driver's error.
        source: tokio_serial::Error,
    },
}

fn setting(s: &SerialSettings, setting: String, why: &str) -> SerialError {
    SerialError::Setting {
        port: s.port.clone(),
        setting,
        why: why.into(),
    }
}

/// The driver's line settings for ours; refuses what the platform cannot do.
fn line(
    s: &SerialSettings,
) -> Result<(DataBits, tokio_serial::Parity, StopBits, FlowControl), SerialError> {
    // 300 and 600 are also the sign-on speeds of optical probes (mode E).
    if !BAUD_RATES.contains(&s.baud) && s.baud != 300 && s.baud != 600 {
        return Err(setting(s, format!("baud {}", s.baud), "use one of 300 1200 2400 4800 9600 19200 38400 57600 115200 230400 460800 921600 1000000 3000000"));
    }
    let data = match s.data_bits {
        5 => DataBits::Five,
        6 => DataBits::Six,
        7 => DataBits::Seven,
        8 => DataBits::Eight,
        n => return Err(setting(s, format!("data bits {n}"), "use 5, 6, 7 or 8")),
    };
    let parity = match s.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let stop = match s.stop_bits {
        1 => StopBits::One,
        2 => StopBits::Two,
        n => return Err(setting(s, format!("stop bits {n}"), "use 1 or 2")),
    };
    let flow = match s.flow {
        Flow::None => FlowControl::None,
        Flow::RtsCts => FlowControl::Hardware,
        Flow::XonXoff => FlowControl::Software,
    };
    Ok((data, parity, stop, flow))
}

/// Opens a serial port with these settings.
pub fn open(s: &SerialSettings) -> Result<SerialStream, SerialError> {
    let (data, parity, stop, flow) = line(s)?;
    tokio_serial::new(&s.port, s.baud)
        .data_bits(data)
        .parity(parity)
        .stop_bits(stop)
        .flow_control(flow)
        .open_native_async()
        .map_err(|source| SerialError::Open {
            port: s.port.clone(),
            source,
        })
}

/// Applies new line settings to an open port (mode E switches 300 7E1 → 8N1 at the agreed baud).
pub fn reconfigure(port: &mut SerialStream, s: &SerialSettings) -> Result<(), SerialError> {
    let (data, parity, stop, flow) = line(s)?;
    let err = |source| SerialError::Open {
        port: s.port.clone(),
        source,
    };
    port.set_baud_rate(s.baud).map_err(err)?;
    port.set_data_bits(data).map_err(err)?;
    port.set_parity(parity).map_err(err)?;
    port.set_stop_bits(stop).map_err(err)?;
    port.set_flow_control(flow).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_settings_are_named() {
        let mut s = SerialSettings::new("/dev/ttyUSB9");
        s.baud = 12345;
        assert!(line(&s).unwrap_err().to_string().contains("baud 12345"));
        s.baud = 9600;
        s.data_bits = 9;
        assert!(line(&s).unwrap_err().to_string().contains("data bits 9"));
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let e = open(&SerialSettings::new("/dev/does-not-exist"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/does-not-exist"), "{e}");
    }

    #[tokio::test]
    async fn a_pty_pair_carries_bytes_both_ways() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut a, mut b) = SerialStream::pair().expect("a pseudo-terminal pair");
        a.write_all(b"\x7e\xa0\x07").await.unwrap();
        let mut buf = [0u8; 3];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"\x7e\xa0\x07");
    }
}

/// Line settings for the IEC 62056-21 sign-on: 300 baud, 7 data bits, even parity, 1 stop bit.
fn sign_on_line(s: &SerialSettings) -> SerialSettings {
    let mut l = s.clone();
    l.baud = 300;
    l.data_bits = 7;
    l.parity = Parity::Even;
    l.stop_bits = 1;
    l
}

/// The binary (HDLC) line after mode E: 8N1 at the agreed baud.
fn binary_line(s: &SerialSettings, baud: u32) -> SerialSettings {
    let mut l = s.clone();
    l.baud = baud;
    l.data_bits = 8;
    l.parity = Parity::None;
    l.stop_bits = 1;
    l
}

/// Why a mode E start failed: the port, or the sign-on (whose message says where it stopped).
#[derive(Debug, Error)]
pub enum ModeEError {
    /// Opening or switching the port.
    #[error(transparent)]
    Serial(#[from] SerialError),
    /// The sign-on itself.
    #[error("IEC 62056-21 sign-on on {port}: {source}")]
    SignOn {
        /// The device.
        port: String,
        /// Where it stopped.
        source: crate::dlms::iec62056_21::IecError,
    },
}

/// "Start with IEC": opens the port at 300 7E1, signs on (mode E), switches to 8N1 at the
/// agreed baud (at most `s.baud`) and returns the port ready for HDLC.
pub async fn open_mode_e(
    s: &SerialSettings,
    timeout: std::time::Duration,
) -> Result<SerialStream, ModeEError> {
    let mut port = open(&sign_on_line(s))?;
    let baud = super::iec::sign_on(&mut port, None, s.baud, timeout)
        .await
        .map_err(|source| ModeEError::SignOn {
            port: s.port.clone(),
            source,
        })?;
    reconfigure(&mut port, &binary_line(s, baud))?;
    Ok(port)
}

/// The meter's side of mode E (for the simulator): answers the sign-on at 300 7E1, then
/// switches to 8N1 at the agreed baud.
pub async fn answer_mode_e(
    port: &mut SerialStream,
    s: &SerialSettings,
    server: &mut crate::dlms::iec62056_21::IecServer,
    timeout: std::time::Duration,
) -> Result<u32, ModeEError> {
    reconfigure(port, &sign_on_line(s))?;
    let baud = super::iec::answer_sign_on(port, server, timeout)
        .await
        .map_err(|source| ModeEError::SignOn {
            port: s.port.clone(),
            source,
        })?;
    reconfigure(port, &binary_line(s, baud))?;
    Ok(baud)
}
