//! IEC 62056-21 protocol mode E, sans-IO: the optical-port sign-on that precedes HDLC.
//!
//! ```text
//! client (300 Bd, 7E1)                      meter
//! /?[address]!CR LF              ─────▶
//!                                ◀─────     /XXXZ\2text CR LF   (Z: baud char, \2: binary)
//! ACK 2 Z 2 CR LF                ─────▶                        (2: HDLC, Z: baud, 2: binary)
//! both switch to Z baud, 8N1; HDLC (SNRM) follows.
//! ```
//!
//! None of these messages carries a BCC (only STX/SOH … ETX blocks do), and parity (even, 7
//! data bits) is the serial port's job, so everything here is plain 7-bit ASCII.
use thiserror::Error;

const ACK: u8 = 0x06;
const CR_LF: &[u8] = b"\r\n";
/// Protocol control and mode control character in mode E: binary (HDLC).
const BINARY: u8 = b'2';
/// Baud rates of the characters '0'..='6' (modes C and E).
const BAUDS: [u32; 7] = [300, 600, 1200, 2400, 4800, 9600, 19200];
/// Longest line either side buffers (an identification is about 25 bytes).
pub const MAX_LINE: usize = 128;

/// Why the sign-on stopped, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IecError {
    /// Nothing but (perhaps) the probe's echo came back in time.
    #[error("no identification from the meter after the sign-on request within {ms} ms{}", echo_hint(.echoed))]
    NoIdentification {
        /// The timeout.
        ms: u64,
        /// Whether the probe echoed the request (so the probe itself works).
        echoed: bool,
    },
    /// The start of an identification came, but not its CR LF.
    #[error("the meter's identification \"{got}\" did not end with CR LF within {ms} ms")]
    Unterminated {
        /// What came, shown.
        got: String,
        /// The timeout.
        ms: u64,
    },
    /// More than [`MAX_LINE`] bytes without a line end.
    #[error("the meter answered the sign-on request with more than {MAX_LINE} bytes without CR LF (\"{0}…\"): noise, or the port is not at 300 baud 7E1")]
    LineTooLong(String),
    /// A line that does not start with '/'.
    #[error("the meter's answer \"{0}\" to the sign-on request is not an identification (no '/')")]
    NotIdentification(String),
    /// An identification without CR LF at its end.
    #[error("the meter's identification \"{0}\" does not end with CR LF")]
    NoCrLf(String),
    /// An identification too short for manufacturer and baud rate character.
    #[error("the meter's identification \"{0}\" is too short for a manufacturer id and a baud rate character")]
    TooShort(String),
    /// A manufacturer id that is not 3 letters.
    #[error("the meter's identification \"{0}\" has a manufacturer id that is not 3 letters")]
    BadManufacturer(String),
    /// A baud rate character other than '0'..='6'.
    #[error("the meter's identification \"{ident}\" has an unknown baud rate character {c:?}")]
    UnknownBaud {
        /// The identification, shown.
        ident: String,
        /// The character.
        c: char,
    },
    /// A byte outside printable ASCII.
    #[error(
        "the meter's identification \"{0}\" has a non-printable character (is the port at 7E1?)"
    )]
    NotPrintable(String),
    /// No `\2`: the meter does not offer mode E.
    #[error("the meter's identification \"{0}\" does not offer the binary protocol (no \\2), so it cannot switch to HDLC (mode E)")]
    NoBinaryProtocol(String),
    /// Reading or writing the port failed.
    #[error("the sign-on stopped while {stage}: {message}")]
    Io {
        /// What the sign-on was doing.
        stage: &'static str,
        /// The OS error.
        message: String,
    },
    /// The other side closed the stream.
    #[error("the port closed while {0}")]
    Closed(&'static str),
    /// (Meter side) nothing like a sign-on request came in time.
    #[error("no sign-on request from the client within {ms} ms")]
    NoSignOn {
        /// The timeout.
        ms: u64,
    },
    /// (Meter side) no option select came in time.
    #[error(
        "no acknowledgement/option select from the client after the identification within {ms} ms"
    )]
    NoAck {
        /// The timeout.
        ms: u64,
    },
    /// (Meter side) the identification was answered with something else.
    #[error("the client answered the identification with \"{0}\" instead of the acknowledgement/option select ACK 2 Z 2 CR LF")]
    NotAck(String),
    /// (Meter side) an option select for another protocol or mode.
    #[error("the client's option select \"{0}\" does not ask for the binary protocol (mode E needs ACK 2 Z 2)")]
    NotBinary(String),
    /// (Meter side) an option select for a baud rate the meter did not offer.
    #[error("the client's option select asks for baud rate character {c:?}; this meter offers '0' to {max:?}")]
    BaudNotOffered {
        /// The character asked for.
        c: char,
        /// The meter's highest character.
        max: char,
    },
}

fn echo_hint(echoed: &bool) -> &'static str {
    if *echoed {
        " (the probe echoed the request, so it works: is it seated on the meter's optical port?)"
    } else {
        ""
    }
}

/// Bytes as readable text: printable ASCII as is, CR and LF as `<CR>` `<LF>`, others as `<XX>`.
fn show(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x20..=0x7E => char::from(b).to_string(),
            b'\r' => "<CR>".into(),
            b'\n' => "<LF>".into(),
            _ => format!("<{b:02X}>"),
        })
        .collect()
}

/// The baud rate of a mode C/E baud rate character ('0' = 300 … '6' = 19200).
pub fn baud_for(c: char) -> Option<u32> {
    let i = u32::from(c).checked_sub(u32::from('0'))?;
    BAUDS.get(usize::try_from(i).ok()?).copied()
}

/// The baud rate character of a mode C/E baud rate.
pub fn baud_char(baud: u32) -> Option<char> {
    BAUDS.iter().position(|&b| b == baud).map(index_char)
}

/// The character of the highest standard baud rate not above `baud` ('0' below 300).
fn char_up_to(baud: u32) -> char {
    index_char(BAUDS.iter().rposition(|&b| b <= baud).unwrap_or(0))
}

fn index_char(i: usize) -> char {
    char::from(b'0' + u8::try_from(i).unwrap_or(0))
}

/// The meter's identification message `/XXXZ\Wtext CR LF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// The 3-letter manufacturer id (FLAG id), e.g. "LGZ".
    pub manufacturer: String,
    /// The baud rate character Z the meter offers.
    pub baud_char: char,
    /// The baud rate of `baud_char`.
    pub baud: u32,
    /// Whether the enhanced identification `\2` (binary mode, HDLC) is present.
    pub mode_e: bool,
    /// The rest: the meter's identification text.
    pub text: String,
}

impl Identification {
    /// Whether the meter answers within 20 ms instead of 200 ms (third manufacturer letter in lower case).
    pub fn short_reaction_time(&self) -> bool {
        self.manufacturer
            .chars()
            .nth(2)
            .is_some_and(|c| c.is_ascii_lowercase())
    }
}

/// Parses an identification message, CR LF included.
pub fn parse_identification(line: &[u8]) -> Result<Identification, IecError> {
    let body = line.strip_suffix(CR_LF);
    let shown = show(body.unwrap_or(line));
    let Some(rest) = line.strip_prefix(b"/") else {
        return Err(IecError::NotIdentification(shown));
    };
    let Some(rest) = rest.strip_suffix(CR_LF) else {
        return Err(IecError::NoCrLf(shown));
    };
    if !rest.iter().all(|b| (0x20..=0x7E).contains(b)) {
        return Err(IecError::NotPrintable(shown));
    }
    let [m1, m2, m3, z, rest @ ..] = rest else {
        return Err(IecError::TooShort(shown));
    };
    let manufacturer = [*m1, *m2, *m3];
    if !manufacturer.iter().all(u8::is_ascii_alphabetic) {
        return Err(IecError::BadManufacturer(shown));
    }
    let baud_char = char::from(*z);
    let Some(baud) = baud_for(baud_char) else {
        return Err(IecError::UnknownBaud {
            ident: shown,
            c: baud_char,
        });
    };
    let (mode_e, text) = match rest {
        [b'\\', w, text @ ..] => (*w == BINARY, text),
        _ => (false, rest),
    };
    Ok(Identification {
        manufacturer: manufacturer.iter().copied().map(char::from).collect(),
        baud_char,
        baud,
        mode_e,
        text: text.iter().copied().map(char::from).collect(),
    })
}

/// The sign-on (request) message `/?[address]!CR LF`; the address must be printable and without '!'.
pub fn sign_on_request(address: Option<&str>) -> Vec<u8> {
    [b"/?", address.unwrap_or("").as_bytes(), b"!\r\n"].concat()
}

/// The mode E acknowledgement/option select `ACK 2 Z 2 CR LF`; `baud_char` is '0'..='6'.
pub fn ack_option_select(baud_char: char) -> Vec<u8> {
    let z = u8::try_from(baud_char).unwrap_or(b'0');
    vec![ACK, BINARY, z, BINARY, b'\r', b'\n']
}

/// What the client does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IecEvent {
    /// Keep reading.
    NeedMore,
    /// Send `bytes`, wait for the meter to switch, then go to 8N1 at `baud` for HDLC.
    SendAck {
        /// The acknowledgement/option select.
        bytes: Vec<u8>,
        /// The agreed baud rate.
        baud: u32,
    },
    /// The sign-on is over; these bytes (echo of the ACK, a switch confirmation) are not for it.
    Done,
}

/// The client (reading device) side of the mode E sign-on.
#[derive(Debug, Clone)]
pub struct IecClient {
    request: Vec<u8>,
    max_baud: u32,
    buf: Vec<u8>,
    echoed: bool,
    identification: Option<Identification>,
}

impl IecClient {
    /// A client for the meter at `address` (None on an optical port) that agrees to at most `max_baud`.
    pub fn new(address: Option<String>, max_baud: u32) -> Self {
        IecClient {
            request: sign_on_request(address.as_deref()),
            max_baud,
            buf: Vec::new(),
            echoed: false,
            identification: None,
        }
    }

    /// (Re)starts the sign-on: the request to send at 300 baud 7E1.
    pub fn start(&mut self) -> Vec<u8> {
        self.buf.clear();
        self.echoed = false;
        self.identification = None;
        self.request.clone()
    }

    /// The meter's identification, once it came.
    pub fn identification(&self) -> Option<&Identification> {
        self.identification.as_ref()
    }

    /// Takes bytes from the port; skips the probe's echo of the request.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<IecEvent, IecError> {
        if self.identification.is_some() {
            return Ok(IecEvent::Done);
        }
        self.buf.extend_from_slice(bytes);
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            // Noise before the '/' (a probe settling) is dropped.
            let line = line
                .iter()
                .position(|&b| b == b'/')
                .map_or(&line[..], |start| &line[start..]);
            if line == self.request {
                self.echoed = true;
                continue;
            }
            let ident = parse_identification(line)?;
            if !ident.mode_e {
                return Err(IecError::NoBinaryProtocol(show(
                    line.strip_suffix(CR_LF).unwrap_or(line),
                )));
            }
            let z = char_up_to(ident.baud.min(self.max_baud));
            let baud = baud_for(z).unwrap_or(300);
            self.identification = Some(ident);
            return Ok(IecEvent::SendAck {
                bytes: ack_option_select(z),
                baud,
            });
        }
        if self.buf.len() > MAX_LINE {
            return Err(IecError::LineTooLong(show(&self.buf[..24])));
        }
        Ok(IecEvent::NeedMore)
    }

    /// The error for "no identification within `ms`", saying what (if anything) came.
    pub fn timeout_error(&self, ms: u64) -> IecError {
        let pending = self
            .buf
            .iter()
            .position(|&b| b == b'/')
            .map_or(&[][..], |start| &self.buf[start..]);
        if pending.is_empty() || self.request.starts_with(pending) {
            IecError::NoIdentification {
                ms,
                echoed: self.echoed || !pending.is_empty(),
            }
        } else {
            IecError::Unterminated {
                got: show(pending),
                ms,
            }
        }
    }
}

/// What the meter side does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IecServerEvent {
    /// Keep reading.
    NeedMore,
    /// Send these bytes (the identification).
    Send(Vec<u8>),
    /// Switch to 8N1 at `baud`; HDLC follows.
    SwitchToBinary {
        /// The baud rate the client chose.
        baud: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    AwaitRequest,
    AwaitAck,
    Binary,
}

/// The meter (optical port) side of the mode E sign-on, for the simulator.
#[derive(Debug, Clone)]
pub struct IecServer {
    identification: Vec<u8>,
    max_char: char,
    buf: Vec<u8>,
    state: ServerState,
}

impl IecServer {
    /// A meter that identifies as `/{manufacturer}Z\2{ident}` with Z the highest baud up to `max_baud`.
    pub fn new(manufacturer: &str, ident: &str, max_baud: u32) -> Self {
        let max_char = char_up_to(max_baud);
        IecServer {
            identification: format!("/{manufacturer}{max_char}\\2{ident}\r\n").into_bytes(),
            max_char,
            buf: Vec::new(),
            state: ServerState::AwaitRequest,
        }
    }

    /// Takes bytes from the port; noise before a sign-on request is ignored, as are bytes after the switch.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<IecServerEvent, IecError> {
        if self.state == ServerState::Binary {
            return Ok(IecServerEvent::NeedMore);
        }
        self.buf.extend_from_slice(bytes);
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            let request = line
                .iter()
                .rposition(|&b| b == b'/')
                .map_or(&[][..], |start| &line[start..]);
            if request.starts_with(b"/?") && request.ends_with(b"!\r\n") {
                self.state = ServerState::AwaitAck;
                return Ok(IecServerEvent::Send(self.identification.clone()));
            }
            if self.state == ServerState::AwaitAck {
                return self.option_select(&line);
            }
        }
        if self.buf.len() > MAX_LINE {
            if self.state == ServerState::AwaitAck {
                return Err(IecError::NotAck(show(&self.buf[..24])));
            }
            // Noise: keep only a request that may be starting.
            let keep = self
                .buf
                .iter()
                .rposition(|&b| b == b'/')
                .unwrap_or(self.buf.len());
            self.buf.drain(..keep);
        }
        Ok(IecServerEvent::NeedMore)
    }

    fn option_select(&mut self, line: &[u8]) -> Result<IecServerEvent, IecError> {
        let start = line.iter().position(|&b| b == ACK).unwrap_or(0);
        let [ACK, v, z, y, b'\r', b'\n'] = line[start..] else {
            return Err(IecError::NotAck(show(line)));
        };
        if (v, y) != (BINARY, BINARY) {
            return Err(IecError::NotBinary(show(line)));
        }
        let c = char::from(z);
        match baud_for(c) {
            Some(baud) if c <= self.max_char => {
                self.state = ServerState::Binary;
                Ok(IecServerEvent::SwitchToBinary { baud })
            }
            _ => Err(IecError::BaudNotOffered {
                c,
                max: self.max_char,
            }),
        }
    }

    /// The error for "nothing (more) from the client within `ms`", for the step it stopped at.
    pub fn timeout_error(&self, ms: u64) -> IecError {
        match self.state {
            ServerState::AwaitRequest => IecError::NoSignOn { ms },
            _ => IecError::NoAck { ms },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_real_identifications() {
        // Seen in public meter logs: a Landis+Gyr ZMD and an Iskra MT382 (lower-case 'k').
        let zmd = parse_identification(b"/LGZ5\\2ZMD3104407.B24\r\n").unwrap();
        assert_eq!(
            zmd,
            Identification {
                manufacturer: "LGZ".into(),
                baud_char: '5',
                baud: 9600,
                mode_e: true,
                text: "ZMD3104407.B24".into(),
            }
        );
        assert!(!zmd.short_reaction_time());
        let mt = parse_identification(b"/ISk5\\2MT382-1000\r\n").unwrap();
        assert_eq!(
            (mt.manufacturer.as_str(), mt.baud, mt.mode_e),
            ("ISk", 9600, true)
        );
        assert_eq!(mt.text, "MT382-1000");
        assert!(mt.short_reaction_time());
        // Also seen: a mode C meter without the enhanced identification.
        let zmf = parse_identification(b"/LGZ4ZMF100AC.M29\r\n").unwrap();
        assert_eq!(
            (zmf.baud, zmf.mode_e, zmf.text.as_str()),
            (4800, false, "ZMF100AC.M29")
        );
    }

    #[test]
    fn every_baud_char() {
        for (c, baud) in ('0'..='6').zip(BAUDS) {
            assert_eq!(baud_for(c), Some(baud));
            assert_eq!(baud_char(baud), Some(c));
            // Made-up manufacturer "XYZ".
            let line = format!("/XYZ{c}\\2TEST\r\n");
            assert_eq!(parse_identification(line.as_bytes()).unwrap().baud, baud);
        }
        for c in ['7', 'A', '/', '\u{0}', 'é'] {
            assert_eq!(baud_for(c), None, "{c:?}");
        }
        assert_eq!(baud_char(115_200), None);
        assert_eq!(char_up_to(0), '0');
        assert_eq!(char_up_to(5000), '4');
        assert_eq!(char_up_to(1_000_000), '6');
    }

    #[test]
    fn bad_identifications_say_what_is_wrong() {
        let err = |line: &[u8]| parse_identification(line).unwrap_err().to_string();
        assert_eq!(
            err(b"/ABCx\\2METER\r\n"),
            "the meter's identification \"/ABCx\\2METER\" has an unknown baud rate character 'x'"
        );
        assert_eq!(
            err(b"LGZ5\\2ZMD\r\n"),
            "the meter's answer \"LGZ5\\2ZMD\" to the sign-on request is not an identification (no '/')"
        );
        assert_eq!(
            err(b"/ABC5\\2METER"),
            "the meter's identification \"/ABC5\\2METER\" does not end with CR LF"
        );
        assert_eq!(
            err(b"/ABC5\\2METER\n"),
            "the meter's identification \"/ABC5\\2METER<LF>\" does not end with CR LF"
        );
        assert!(err(b"/AB\r\n").contains("\"/AB\" is too short"));
        assert!(err(b"/A1C5\\2X\r\n").contains("not 3 letters"));
        assert!(err(b"/ABC5\\2M\xC5TER\r\n").contains("\"/ABC5\\2M<C5>TER\" has a non-printable"));
        assert!(err(b"").contains("\"\" to the sign-on request is not an identification"));
    }

    #[test]
    fn messages_are_byte_exact() {
        assert_eq!(sign_on_request(None), b"/?!\r\n");
        assert_eq!(sign_on_request(Some("12345678")), b"/?12345678!\r\n");
        assert_eq!(ack_option_select('5'), [0x06, b'2', b'5', b'2', 0x0D, 0x0A]);
        assert_eq!(
            ack_option_select('\u{2603}'),
            [0x06, b'2', b'0', b'2', 0x0D, 0x0A]
        );
    }

    fn ack(client: &mut IecClient, bytes: &[u8]) -> (Vec<u8>, u32) {
        match client.receive(bytes).unwrap() {
            IecEvent::SendAck { bytes, baud } => (bytes, baud),
            other => panic!("expected SendAck, got {other:?}"),
        }
    }

    #[test]
    fn client_agrees_on_the_lower_baud() {
        let mut client = IecClient::new(None, 19200);
        assert_eq!(client.start(), b"/?!\r\n");
        assert_eq!(
            ack(&mut client, b"/ISk5\\2MT382-1000\r\n"),
            (b"\x06252\r\n".to_vec(), 9600)
        );
        let mut client = IecClient::new(None, 5000);
        client.start();
        assert_eq!(
            ack(&mut client, b"/ISk5\\2MT382-1000\r\n"),
            (b"\x06242\r\n".to_vec(), 4800)
        );
        assert_eq!(client.identification().unwrap().manufacturer, "ISk");
        // After the ACK, whatever comes (its echo, a switch confirmation) is not the sign-on's.
        assert_eq!(client.receive(b"\x06242\r\n"), Ok(IecEvent::Done));
    }

    #[test]
    fn client_skips_echo_and_noise_in_any_chunking() {
        let wire = b"/?!\r\n\x00\x7F/XYZ6\\2ECHO TEST\r\n"; // made-up meter
        for split in 0..wire.len() {
            let mut client = IecClient::new(None, 9600);
            client.start();
            assert_eq!(
                client.receive(&wire[..split]),
                Ok(IecEvent::NeedMore),
                "{split}"
            );
            assert_eq!(ack(&mut client, &wire[split..]).1, 9600, "{split}");
        }
        // Byte by byte, with an address.
        let mut client = IecClient::new(Some("42".into()), 19200);
        let mut wire = client.start();
        wire.extend_from_slice(b"/XYZ3\\2ADDRESSED\r\n");
        let events: Vec<_> = wire
            .iter()
            .map(|b| client.receive(&[*b]).unwrap())
            .collect();
        assert!(events[..wire.len() - 1]
            .iter()
            .all(|e| *e == IecEvent::NeedMore));
        assert!(matches!(
            events.last(),
            Some(IecEvent::SendAck { baud: 2400, .. })
        ));
    }

    #[test]
    fn client_errors_say_where_it_stopped() {
        let mut client = IecClient::new(None, 9600);
        client.start();
        assert_eq!(
            client.receive(b"/LGZ4ZMF100AC.M29\r\n").unwrap_err().to_string(),
            "the meter's identification \"/LGZ4ZMF100AC.M29\" does not offer the binary protocol (no \\2), so it cannot switch to HDLC (mode E)"
        );
        client.start();
        let err = client.receive(&[b'~'; 300]).unwrap_err().to_string();
        assert!(err.starts_with("the meter answered the sign-on request with more than 128 bytes without CR LF (\"~~~"), "{err}");
        client.start();
        assert!(matches!(
            client.receive(b"garbage\r\n"),
            Err(IecError::NotIdentification(_))
        ));
    }

    #[test]
    fn client_timeout_error_tells_what_came() {
        let mut client = IecClient::new(None, 9600);
        client.start();
        assert_eq!(
            client.timeout_error(1500).to_string(),
            "no identification from the meter after the sign-on request within 1500 ms"
        );
        client.receive(b"/?!").unwrap();
        assert!(client
            .timeout_error(1500)
            .to_string()
            .contains("the probe echoed the request"));
        client.receive(b"\r\n/ABC5\\2MET").unwrap();
        assert_eq!(
            client.timeout_error(1500).to_string(),
            "the meter's identification \"/ABC5\\2MET\" did not end with CR LF within 1500 ms"
        );
    }

    #[test]
    fn server_answers_and_switches() {
        let mut server = IecServer::new("XYZ", "SIM-METER", 9600); // made-up identification
        assert_eq!(
            server.receive(b"\x00noise\r\nmore"),
            Ok(IecServerEvent::NeedMore)
        );
        assert_eq!(
            server.receive(b"/?!\r\n"),
            Ok(IecServerEvent::Send(b"/XYZ5\\2SIM-METER\r\n".to_vec()))
        );
        assert_eq!(
            server.receive(b"\x06232\r\n"),
            Ok(IecServerEvent::SwitchToBinary { baud: 2400 })
        );
        assert_eq!(server.receive(b"\x7E\xA0"), Ok(IecServerEvent::NeedMore));
    }

    #[test]
    fn server_rejects_wrong_option_selects() {
        let signed_on = || {
            let mut server = IecServer::new("XYZ", "SIM", 4800);
            server.receive(b"/?1234!\r\n").unwrap();
            server
        };
        assert_eq!(
            signed_on().receive(b"\x06050\r\n").unwrap_err().to_string(),
            "the client's option select \"<06>050<CR><LF>\" does not ask for the binary protocol (mode E needs ACK 2 Z 2)"
        );
        assert_eq!(
            signed_on().receive(b"\x06252\r\n").unwrap_err().to_string(),
            "the client's option select asks for baud rate character '5'; this meter offers '0' to '4'"
        );
        assert!(matches!(
            signed_on().receive(b"hello\r\n"),
            Err(IecError::NotAck(_))
        ));
        assert!(matches!(
            signed_on().receive(&[0u8; 200]),
            Err(IecError::NotAck(_))
        ));
        // A repeated sign-on request gets the identification again.
        assert!(matches!(
            signed_on().receive(b"/?!\r\n"),
            Ok(IecServerEvent::Send(_))
        ));
        assert_eq!(signed_on().timeout_error(10), IecError::NoAck { ms: 10 });
        assert_eq!(
            IecServer::new("XYZ", "SIM", 300).timeout_error(10),
            IecError::NoSignOn { ms: 10 }
        );
    }

    #[test]
    fn client_and_server_in_memory() {
        for (meter, client_max, agreed) in [(19200, 9600, 9600), (2400, 19200, 2400), (0, 0, 300)] {
            let mut server = IecServer::new("XYZ", "MADE-UP", meter);
            let mut client = IecClient::new(None, client_max);
            let IecServerEvent::Send(ident) = server.receive(&client.start()).unwrap() else {
                panic!("no identification");
            };
            let (ack_bytes, baud) = ack(&mut client, &ident);
            assert_eq!(baud, agreed);
            assert_eq!(
                server.receive(&ack_bytes),
                Ok(IecServerEvent::SwitchToBinary { baud })
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut client = IecClient::new(None, 9600);
            let mut server = IecServer::new("XYZ", "P", 9600);
            client.start();
            for chunk in &chunks {
                let _ = client.receive(chunk);
                let _ = server.receive(chunk);
                let _ = parse_identification(chunk);
            }
            let _ = client.timeout_error(1);
        }

        #[test]
        fn any_server_identification_parses(ident in "[ -~&&[^/!]]{0,16}", max in 0u32..40_000) {
            let mut server = IecServer::new("ABC", &ident, max);
            let IecServerEvent::Send(line) = server.receive(b"/?!\r\n").unwrap() else {
                panic!("no identification");
            };
            let parsed = parse_identification(&line).unwrap();
            prop_assert_eq!(parsed.text, ident);
            prop_assert!(parsed.mode_e);
            prop_assert!(parsed.baud <= max.max(300));
        }
    }
}
