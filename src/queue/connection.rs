//! A connection: how bytes reach one or more meters (a TCP socket, UDP datagrams, a serial
//! port, or a listening socket the meters dial in to).

use serde::{Deserialize, Serialize};

/// A named link to meters.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Unique name, referenced by meters.
    pub name: String,
    /// TCP, serial or listening.
    pub link: Link,
    /// Plain DLMS, or an IEC 62056-21 mode E start first.
    pub mode: LinkMode,
    /// Disabled connections are not opened.
    pub enabled: bool,
    /// Nothing is sent: the meter pushes (a HAN/P1 port); every notification that arrives is
    /// decoded and its values matched to the items of the meter's requests.
    pub passive: bool,
    /// The built-in simulated meter: `run` and the UI start it in-process on a free loopback
    /// port and point this TCP link at that port. Written as `simulator = true` (no address,
    /// which changes at every start), so a saved demo starts again.
    pub simulator: bool,
}

impl Connection {
    /// The built-in simulator's connection, until it is started: a TCP link whose port
    /// [`Config::point_at_simulator`](super::Config::point_at_simulator) sets.
    pub fn simulator(name: impl Into<String>) -> Self {
        Connection {
            simulator: true,
            ..Connection::new(
                name,
                Link::Tcp {
                    host: SIMULATOR_HOST.into(),
                    port: SIMULATOR_PORT,
                    persistent: true,
                },
            )
        }
    }

    /// An enabled DLMS connection.
    pub fn new(name: impl Into<String>, link: Link) -> Self {
        Connection {
            name: name.into(),
            link,
            mode: LinkMode::Dlms,
            enabled: true,
            passive: false,
            simulator: false,
        }
    }
}

/// The transport of a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// A TCP socket; `persistent` keeps it open between requests.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port, 1..=65535.
        port: u16,
        /// Keep the socket open between requests.
        persistent: bool,
    },
    /// A serial port (optical probe, RS-485).
    Serial(SerialSettings),
    /// UDP datagrams to a meter (IEC 62056-47, as GPRS and NB-IoT meters speak): one WRAPPER
    /// PDU per datagram; a datagram lost is a timeout.
    Udp {
        /// Host name or address.
        host: String,
        /// Port, 1..=65535 (4059 is DLMS's).
        port: u16,
    },
    /// A TCP socket the meters dial in to; each is recognised by its identity (device name,
    /// serial number or system title).
    Listen {
        /// Address to listen on; [`LISTEN_HOST`] (this machine only) when not given, `0.0.0.0`
        /// for every interface.
        host: String,
        /// Port, 1..=65535.
        port: u16,
    },
}

/// Where the built-in simulator listens: loopback.
pub const SIMULATOR_HOST: &str = "127.0.0.1";

/// The port a simulator connection has until the simulator is started (the simulator's
/// usual port; the started one's is free and changes at every start).
pub const SIMULATOR_PORT: u16 = 4059;

/// The address a listening connection binds when none is given: loopback only, so a meter
/// network is never opened by accident.
pub const LISTEN_HOST: &str = "127.0.0.1";

/// Serial port settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialSettings {
    /// Device, e.g. `/dev/ttyUSB0`.
    pub port: String,
    /// One of [`BAUD_RATES`].
    pub baud: u32,
    /// 5..=8.
    pub data_bits: u8,
    /// Parity bit.
    pub parity: Parity,
    /// 1 or 2.
    pub stop_bits: u8,
    /// Flow control.
    pub flow: Flow,
    /// RS-485 adapter wired for full duplex (no echo to drop).
    pub rs485_full_duplex: bool,
    /// Minimal milliseconds between frames we send (slow meters and converters), 0..=10000.
    pub frame_gap_ms: u64,
}

impl SerialSettings {
    /// 9600 baud, 8N1, no flow control.
    pub fn new(port: impl Into<String>) -> Self {
        SerialSettings {
            port: port.into(),
            baud: 9600,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: 1,
            flow: Flow::None,
            rs485_full_duplex: false,
            frame_gap_ms: 0,
        }
    }
}

/// The baud rates a serial connection may use.
pub const BAUD_RATES: [u32; 14] = [
    300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000,
    3000000,
];

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parity {
    /// No parity bit.
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

impl Parity {
    /// Every parity the serial driver (tokio-serial) can set, by name. Mark and space parity
    /// are not among them: the driver has no way to set them.
    pub const NAMES: [(&'static str, Parity); 3] = [
        ("none", Parity::None),
        ("even", Parity::Even),
        ("odd", Parity::Odd),
    ];

    /// The parity named `name`; mark and space are refused with the reason.
    pub fn from_name(name: &str) -> Result<Parity, super::ValueError> {
        if let Some((_, p)) = Parity::NAMES.iter().find(|(n, _)| *n == name) {
            return Ok(*p);
        }
        if name == "mark" || name == "space" {
            return Err(super::ValueError::UnsupportedParity(name.to_string()));
        }
        Err(super::ValueError::NotAllowed {
            name: name.to_string(),
            allowed: "none, even or odd",
        })
    }
}

/// Serial flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// None.
    None,
    /// Hardware, RTS/CTS.
    RtsCts,
    /// Software, XON/XOFF.
    XonXoff,
}

/// How a session starts on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkMode {
    /// DLMS from the first byte.
    #[serde(rename = "dlms")]
    Dlms,
    /// IEC 62056-21 mode E start, then DLMS (optical probes).
    #[serde(rename = "iec62056-21")]
    Iec62056_21,
}
