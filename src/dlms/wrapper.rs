//! The IEC 62056-47 WRAPPER: an 8-byte header in front of each APDU on TCP or UDP.
use crate::dlms::link::LinkEvent;

/// The only WRAPPER version.
pub const VERSION: u16 = 1;

/// version, source wPort, destination wPort, APDU length: 2 bytes each.
const HEADER_LEN: usize = 8;

/// The WRAPPER header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapperHeader {
    /// Protocol version, always 1.
    pub version: u16,
    /// Sender's wPort (client SAP or server logical device).
    pub source: u16,
    /// Receiver's wPort.
    pub destination: u16,
    /// APDU length in bytes.
    pub length: u16,
}

/// Errors of the WRAPPER layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrapperError {
    /// A header whose version is not 1.
    #[error("WRAPPER version {0} is not supported; only version 1 exists")]
    UnsupportedVersion(u16),
    /// An APDU too long for the 16-bit length field.
    #[error("APDU of {0} bytes does not fit a WRAPPER frame (max 65535)")]
    ApduTooLong(usize),
    /// A PDU from or to a wPort other than this link's.
    #[error("WRAPPER PDU from wPort {source_port} to wPort {destination_port} is not for this link (expected from {expected_source} to {expected_destination})")]
    UnexpectedAddress {
        /// The PDU's source wPort.
        source_port: u16,
        /// The PDU's destination wPort.
        destination_port: u16,
        /// The source this link accepts.
        expected_source: u16,
        /// The destination this link accepts.
        expected_destination: u16,
    },
    /// A server APDU to send before any client has spoken.
    #[error("cannot send an APDU: no WRAPPER client has sent anything yet, so there is no wPort to answer")]
    NoPeer,
}

/// A WRAPPER PDU carrying `apdu` from wPort `source` to wPort `destination`.
pub fn encode_wrapper(source: u16, destination: u16, apdu: &[u8]) -> Result<Vec<u8>, WrapperError> {
    let length = u16::try_from(apdu.len()).map_err(|_| WrapperError::ApduTooLong(apdu.len()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + apdu.len());
    for field in [VERSION, source, destination, length] {
        out.extend(field.to_be_bytes());
    }
    out.extend_from_slice(apdu);
    Ok(out)
}

/// Decodes the PDU at the start of `buf`: `Ok(None)` until it is complete, then its header,
/// APDU and total byte count.
pub fn decode(buf: &[u8]) -> Result<Option<(WrapperHeader, Vec<u8>, usize)>, WrapperError> {
    let &[v0, v1, s0, s1, d0, d1, l0, l1, ..] = buf else {
        return Ok(None);
    };
    let header = WrapperHeader {
        version: u16::from_be_bytes([v0, v1]),
        source: u16::from_be_bytes([s0, s1]),
        destination: u16::from_be_bytes([d0, d1]),
        length: u16::from_be_bytes([l0, l1]),
    };
    if header.version != VERSION {
        return Err(WrapperError::UnsupportedVersion(header.version));
    }
    let total = HEADER_LEN + usize::from(header.length);
    Ok(buf
        .get(HEADER_LEN..total)
        .map(|apdu| (header, apdu.to_vec(), total)))
}

/// Cuts buffered bytes into PDUs. A bad header leaves no way to find the next PDU on a
/// stream without flags, so it empties the buffer.
fn next_pdu(buf: &mut Vec<u8>) -> Result<Option<(WrapperHeader, Vec<u8>)>, WrapperError> {
    match decode(buf) {
        Ok(Some((header, apdu, used))) => {
            buf.drain(..used);
            Ok(Some((header, apdu)))
        }
        Ok(None) => Ok(None),
        Err(e) => {
            buf.clear();
            Err(e)
        }
    }
}

/// Sans-IO WRAPPER client; WRAPPER has no connection handshake of its own.
#[derive(Debug)]
pub struct WrapperClient {
    /// Our wPort (client SAP, e.g. 16 for the public client).
    pub client: u16,
    /// The server's wPort (logical device, e.g. 1).
    pub server: u16,
    buf: Vec<u8>,
}

impl WrapperClient {
    /// A client with wPort `client` talking to the logical device `server`.
    pub fn new(client: u16, server: u16) -> Self {
        Self {
            client,
            server,
            buf: Vec::new(),
        }
    }

    /// The PDU carrying `apdu` to the server.
    pub fn send_apdu(&self, apdu: &[u8]) -> Result<Vec<u8>, WrapperError> {
        encode_wrapper(self.client, self.server, apdu)
    }

    /// How many bytes of a PDU that has not completed yet are buffered.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Takes in received bytes; incomplete PDUs stay buffered for the next call.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<LinkEvent>, WrapperError> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some((header, apdu)) = next_pdu(&mut self.buf)? {
            if (header.source, header.destination) != (self.server, self.client) {
                return Err(WrapperError::UnexpectedAddress {
                    source_port: header.source,
                    destination_port: header.destination,
                    expected_source: self.server,
                    expected_destination: self.client,
                });
            }
            events.push(LinkEvent::Apdu(apdu));
        }
        Ok(events)
    }
}

/// Sans-IO WRAPPER server for one logical device.
#[derive(Debug)]
pub struct WrapperServer {
    /// Our wPort (logical device).
    pub logical: u16,
    client: Option<u16>,
    buf: Vec<u8>,
}

impl WrapperServer {
    /// A server answering PDUs sent to `logical`.
    pub fn new(logical: u16) -> Self {
        Self {
            logical,
            client: None,
            buf: Vec::new(),
        }
    }

    /// The wPort of the client that spoke last.
    pub fn client_address(&self) -> Option<u16> {
        self.client
    }

    /// The PDU carrying `apdu` to the client that spoke last.
    pub fn send_apdu(&self, apdu: &[u8]) -> Result<Vec<u8>, WrapperError> {
        let client = self.client.ok_or(WrapperError::NoPeer)?;
        encode_wrapper(self.logical, client, apdu)
    }

    /// Takes in received bytes; PDUs for other logical devices are ignored, as meters do.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<LinkEvent>, WrapperError> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some((header, apdu)) = next_pdu(&mut self.buf)? {
            if header.destination == self.logical {
                self.client = Some(header.source);
                events.push(LinkEvent::Apdu(apdu));
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::hdlc::frame::tests::hex;
    use proptest::prelude::*;

    /// The TX/RX lines of `peers/traces/wrapper_ln_none.txt` (Gurux client 16, meter 1).
    const GURUX_TRACE: &str = "\
TX AARQ/AARE 000100100001001F601DA109060760857405080101BE10040E01000000065F1F0400401E5DFFFF
RX AARQ/AARE 000100010010002B6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007
TX GET 0.0.96.1.0.255:2 000100100001000DC001C100010000600100FF0200
RX GET 0.0.96.1.0.255:2 000100010010000EC401C1000A083132333435363738
TX GET 1.0.1.8.0.255:3 000100100001000DC001C100030100010800FF0300
RX GET 1.0.1.8.0.255:3 000100010010000AC401C10002020F00161E
TX GET 1.0.1.8.0.255:2 000100100001000DC001C100030100010800FF0200
RX GET 1.0.1.8.0.255:2 0001000100100009C401C10006000F4240
TX RLRQ/RLRE 00010010000100056203800100
RX RLRQ/RLRE 00010001001000176315800100BE10040E0800065F1F0400001E1D04000007
";

    #[test]
    fn replays_the_gurux_trace_on_both_ends() {
        let pdus: Vec<Vec<u8>> = GURUX_TRACE
            .lines()
            .filter_map(|l| l.rsplit(' ').next())
            .map(hex)
            .collect();
        let mut client = WrapperClient::new(16, 1);
        let mut server = WrapperServer::new(1);
        for pair in pdus.chunks(2) {
            let (request, response) = (&pair[0], &pair[1]);
            let request_apdu = request[HEADER_LEN..].to_vec();
            let response_apdu = response[HEADER_LEN..].to_vec();
            assert_eq!(client.send_apdu(&request_apdu).as_ref(), Ok(request));
            assert_eq!(
                server.receive(request),
                Ok(vec![LinkEvent::Apdu(request_apdu)])
            );
            assert_eq!(server.send_apdu(&response_apdu).as_ref(), Ok(response));
            assert_eq!(
                client.receive(response),
                Ok(vec![LinkEvent::Apdu(response_apdu)])
            );
        }
        assert_eq!(server.client_address(), Some(16));
    }

    #[test]
    fn notes_example_header() {
        let pdu = encode_wrapper(0x10, 0x01, &[0; 31]).unwrap();
        assert_eq!(pdu[..HEADER_LEN], hex("0001 0010 0001 001F")[..]);
    }

    #[test]
    fn partial_and_several_pdus_in_one_read() {
        let mut stream = encode_wrapper(1, 16, b"one").unwrap();
        stream.extend(encode_wrapper(1, 16, b"two").unwrap());
        for end in 0..11 {
            assert_eq!(decode(&stream[..end]), Ok(None));
        }
        let mut client = WrapperClient::new(16, 1);
        assert_eq!(
            client.receive(&stream[..13]),
            Ok(vec![LinkEvent::Apdu(b"one".to_vec())])
        );
        assert_eq!(
            client.receive(&stream[13..]),
            Ok(vec![LinkEvent::Apdu(b"two".to_vec())])
        );
        let both = client.receive(&stream).unwrap();
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn errors() {
        assert_eq!(
            decode(&hex("0002 0010 0001 0000")),
            Err(WrapperError::UnsupportedVersion(2))
        );
        assert_eq!(
            encode_wrapper(1, 16, &vec![0; 65536]),
            Err(WrapperError::ApduTooLong(65536))
        );
        let mut client = WrapperClient::new(16, 1);
        let err = client
            .receive(&encode_wrapper(2, 16, b"x").unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "WRAPPER PDU from wPort 2 to wPort 16 is not for this link (expected from 1 to 16)"
        );
        let mut server = WrapperServer::new(1);
        assert_eq!(server.send_apdu(b"x"), Err(WrapperError::NoPeer));
        assert_eq!(
            server.receive(&encode_wrapper(16, 2, b"x").unwrap()),
            Ok(vec![])
        );
        assert_eq!(server.client_address(), None);
        assert!(server.receive(&hex("0000 0010 0001 0000 FF")).is_err());
        assert!(server.buf.is_empty(), "a bad header empties the buffer");
    }

    proptest! {
        #[test]
        fn round_trip(source: u16, destination: u16, apdu in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let pdu = encode_wrapper(source, destination, &apdu).unwrap();
            let header = WrapperHeader { version: 1, source, destination, length: apdu.len() as u16 };
            prop_assert_eq!(decode(&pdu), Ok(Some((header, apdu, pdu.len()))));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let versioned = [&[0, 1][..], &bytes].concat();
            for bytes in [bytes, versioned] {
                let _ = decode(&bytes);
                let _ = WrapperServer::new(1).receive(&bytes);
                let _ = WrapperClient::new(16, 1).receive(&bytes);
            }
        }
    }
}
