//! One view of HDLC and WRAPPER links for the engine and the simulator.
use crate::dlms::hdlc::{HdlcClient, HdlcError, HdlcServer};
use crate::dlms::wrapper::{WrapperClient, WrapperError, WrapperServer};

/// What a link tells its driver after input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// Bytes to send to the peer now (an RR, UA, DM or the next segment).
    Transmit(Vec<u8>),
    /// A complete APDU from the peer.
    Apdu(Vec<u8>),
    /// The link is open (HDLC UA to SNRM, or SNRM received).
    Opened,
    /// The link is closed (HDLC UA or DM to DISC, or DISC received).
    Closed,
}

/// Errors from the link layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// An HDLC error.
    #[error(transparent)]
    Hdlc(#[from] HdlcError),
    /// A WRAPPER error.
    #[error(transparent)]
    Wrapper(#[from] WrapperError),
}

/// The client end of a link: HDLC or WRAPPER.
#[derive(Debug)]
pub enum ClientLink {
    /// HDLC (IEC 62056-46), on serial lines or TCP.
    Hdlc(HdlcClient),
    /// WRAPPER (IEC 62056-47), on TCP or UDP.
    Wrapper(WrapperClient),
}

impl ClientLink {
    /// The bytes that open the link (SNRM), or `None` when WRAPPER needs no handshake.
    pub fn connect(&mut self) -> Option<Vec<u8>> {
        match self {
            Self::Hdlc(link) => Some(link.connect()),
            Self::Wrapper(_) => None,
        }
    }

    /// The bytes carrying `apdu` (the first segment for HDLC; the rest follow on RR).
    pub fn send_apdu(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        match self {
            Self::Hdlc(link) => Ok(link.send_apdu(apdu)?),
            Self::Wrapper(link) => Ok(link.send_apdu(apdu)?),
        }
    }

    /// Takes in received bytes and says what they mean.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<LinkEvent>, LinkError> {
        match self {
            Self::Hdlc(link) => Ok(link.receive(bytes)?),
            Self::Wrapper(link) => Ok(link.receive(bytes)?),
        }
    }

    /// The bytes that close the link (DISC), or `None` when WRAPPER needs no handshake.
    pub fn disconnect(&mut self) -> Option<Vec<u8>> {
        match self {
            Self::Hdlc(link) => Some(link.disconnect()),
            Self::Wrapper(_) => None,
        }
    }

    /// How many received bytes of a frame (HDLC) or PDU (WRAPPER) that has not completed yet
    /// are buffered: what a timeout cut off.
    pub fn pending(&self) -> usize {
        match self {
            Self::Hdlc(link) => link.pending(),
            Self::Wrapper(link) => link.pending(),
        }
    }

    /// The largest APDU the link can carry: HDLC segments without limit, WRAPPER's length
    /// field stops at 65535.
    pub fn max_apdu_hint(&self) -> usize {
        match self {
            Self::Hdlc(_) => usize::MAX,
            Self::Wrapper(_) => usize::from(u16::MAX),
        }
    }
}

/// The server end of a link: HDLC or WRAPPER.
#[derive(Debug)]
pub enum ServerLink {
    /// HDLC (IEC 62056-46).
    Hdlc(HdlcServer),
    /// WRAPPER (IEC 62056-47).
    Wrapper(WrapperServer),
}

impl ServerLink {
    /// Takes in received bytes and says what they mean.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<LinkEvent>, LinkError> {
        match self {
            Self::Hdlc(link) => Ok(link.receive(bytes)?),
            Self::Wrapper(link) => Ok(link.receive(bytes)?),
        }
    }

    /// The bytes carrying `apdu` to the client (the first segment for HDLC).
    pub fn send_apdu(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        match self {
            Self::Hdlc(link) => Ok(link.send_apdu(apdu)?),
            Self::Wrapper(link) => Ok(link.send_apdu(apdu)?),
        }
    }

    /// The address of the client being served (HDLC client address or WRAPPER wPort).
    pub fn client_address(&self) -> Option<u16> {
        match self {
            Self::Hdlc(link) => link.client_address().map(u16::from),
            Self::Wrapper(link) => link.client_address(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::hdlc::{
        AddressSize, Control, HdlcAddress, HdlcFrame, HdlcParameters, RawAddress,
        ServerAddressFilter,
    };
    use proptest::prelude::*;

    /// A client and a server joined by an in-memory wire, like quinn's test `Pair`.
    struct Pair {
        client: ClientLink,
        server: ServerLink,
        /// Non-transmit events seen by each end.
        at_client: Vec<LinkEvent>,
        at_server: Vec<LinkEvent>,
        /// Frames each end sent (to count segments).
        client_frames: usize,
        server_frames: usize,
    }

    impl Pair {
        fn new(client: ClientLink, server: ServerLink) -> Self {
            Self {
                client,
                server,
                at_client: Vec::new(),
                at_server: Vec::new(),
                client_frames: 0,
                server_frames: 0,
            }
        }

        /// Delivers the queued bytes and every reply until both ends are quiet, in 17-byte
        /// pieces so that frames arrive split.
        fn drive(&mut self, mut to_server: Vec<Vec<u8>>, mut to_client: Vec<Vec<u8>>) {
            while !to_server.is_empty() || !to_client.is_empty() {
                for bytes in std::mem::take(&mut to_server) {
                    self.client_frames += 1;
                    for piece in bytes.chunks(17) {
                        let events = self.server.receive(piece).unwrap();
                        sort(events, &mut to_client, &mut self.at_server);
                    }
                }
                for bytes in std::mem::take(&mut to_client) {
                    self.server_frames += 1;
                    for piece in bytes.chunks(17) {
                        let events = self.client.receive(piece).unwrap();
                        sort(events, &mut to_server, &mut self.at_client);
                    }
                }
            }
        }
    }

    /// Moves transmits to `wire` and other events to `seen`.
    fn sort(events: Vec<LinkEvent>, wire: &mut Vec<Vec<u8>>, seen: &mut Vec<LinkEvent>) {
        for event in events {
            match event {
                LinkEvent::Transmit(bytes) => wire.push(bytes),
                other => seen.push(other),
            }
        }
    }

    fn big_apdu(seed: u8) -> Vec<u8> {
        (0..5000u32)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn exchange(pair: &mut Pair) {
        for round in 0..2 {
            let request = big_apdu(round);
            let first = pair.client.send_apdu(&request).unwrap();
            pair.drive(vec![first], vec![]);
            assert_eq!(pair.at_server.pop(), Some(LinkEvent::Apdu(request)));
            let response = big_apdu(round + 100);
            let first = pair.server.send_apdu(&response).unwrap();
            pair.drive(vec![], vec![first]);
            assert_eq!(pair.at_client.pop(), Some(LinkEvent::Apdu(response)));
        }
    }

    #[test]
    fn hdlc_pair_segments_5000_bytes_each_way() {
        let server_address = HdlcAddress {
            logical: 1,
            physical: Some(6678),
            size: AddressSize::Four,
        };
        let params = HdlcParameters::default();
        let client = HdlcClient::new(16, server_address, params).unwrap();
        let filter = ServerAddressFilter {
            logical: 1,
            physical: Some(6678),
            size: None,
        };
        let server = HdlcServer::new(filter, params);
        let mut pair = Pair::new(ClientLink::Hdlc(client), ServerLink::Hdlc(server));
        let snrm = pair.client.connect().unwrap();
        pair.drive(vec![snrm], vec![]);
        assert_eq!(pair.at_client, [LinkEvent::Opened]);
        assert_eq!(pair.at_server, [LinkEvent::Opened]);
        pair.at_client.clear();
        pair.at_server.clear();
        assert_eq!(pair.server.client_address(), Some(16));
        pair.client_frames = 0;
        pair.server_frames = 0;
        exchange(&mut pair);
        // 5003 bytes in 128-byte segments = 40 I-frames, each but the last answered by an RR:
        // per round, 40 I + 39 RR from each side. The sequence numbers wrap mod 8 many times.
        assert_eq!((pair.client_frames, pair.server_frames), (2 * 79, 2 * 79));
        let disc = pair.client.disconnect().unwrap();
        pair.drive(vec![disc], vec![]);
        assert_eq!(pair.at_client, [LinkEvent::Closed]);
        assert_eq!(pair.at_server, [LinkEvent::Closed]);
    }

    #[test]
    fn wrapper_pair_carries_5000_bytes_each_way() {
        let client = ClientLink::Wrapper(WrapperClient::new(16, 1));
        let server = ServerLink::Wrapper(WrapperServer::new(1));
        let mut pair = Pair::new(client, server);
        assert_eq!(pair.client.connect(), None);
        assert_eq!(pair.client.max_apdu_hint(), 65535);
        exchange(&mut pair);
        assert_eq!((pair.client_frames, pair.server_frames), (2, 2));
        assert_eq!(pair.server.client_address(), Some(16));
        assert_eq!(pair.client.disconnect(), None);
    }

    #[test]
    fn errors_read_as_their_layer_says() {
        let mut client = ClientLink::Wrapper(WrapperClient::new(16, 1));
        let err = client.receive(&[0, 2, 0, 1, 0, 16, 0, 0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "WRAPPER version 2 is not supported; only version 1 exists"
        );
    }

    /// Well-formed frames with arbitrary control fields and contents, between client 16 and
    /// server 1, in both directions.
    fn arb_frames() -> impl Strategy<Value = Vec<(bool, HdlcFrame)>> {
        let frame = (
            any::<bool>(),
            any::<u8>().prop_filter_map("control", |b| Control::from_byte(b).ok()),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..40),
        );
        let client = RawAddress::client(16).unwrap();
        let server = RawAddress::new(1, AddressSize::One).unwrap();
        proptest::collection::vec(frame, 0..30).prop_map(move |frames| {
            frames
                .into_iter()
                .map(|(to_client, control, segmented, info)| {
                    let (destination, source) = if to_client {
                        (client, server)
                    } else {
                        (server, client)
                    };
                    (
                        to_client,
                        HdlcFrame {
                            destination,
                            source,
                            control,
                            segmented,
                            info,
                        },
                    )
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn state_machines_never_panic(frames in arb_frames(), noise in proptest::collection::vec(any::<u8>(), 0..64)) {
            let address = HdlcAddress { logical: 1, physical: None, size: AddressSize::One };
            let mut client = HdlcClient::new(16, address, HdlcParameters::default()).unwrap();
            let mut server = HdlcServer::new(address.into(), HdlcParameters::default());
            client.connect();
            let _ = client.receive(&noise);
            let _ = server.receive(&noise);
            for (to_client, frame) in frames {
                let bytes = frame.encode().unwrap();
                if to_client {
                    let _ = client.receive(&bytes);
                    let _ = client.send_apdu(&frame.info);
                } else {
                    let _ = server.receive(&bytes);
                    let _ = server.send_apdu(&frame.info);
                }
            }
        }
    }
}
