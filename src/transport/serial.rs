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
        // The portable serial driver has no mark/space parity (Linux needs CMSPAR).
        Parity::Mark | Parity::Space => {
            return Err(setting(
                s,
                format!("parity {:?}", s.parity).to_lowercase(),
                "this platform's serial driver supports none, even and odd",
            ))
        }
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
        s.parity = Parity::Mark;
        let e = line(&s).unwrap_err().to_string();
        assert!(
            e.contains("parity mark") && e.contains("/dev/ttyUSB9"),
            "{e}"
        );
        s.parity = Parity::None;
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
