//! The client (primary station) end of an HDLC link.
use super::address::{HdlcAddress, RawAddress};
use super::control::Control;
use super::error::HdlcError;
use super::frame::HdlcFrame;
use super::llc;
use super::params::HdlcParameters;
use super::reader::FrameReader;
use super::transfer::{Incoming, Segment, Transfer};
use crate::dlms::link::LinkEvent;

/// Where the client is in the SNRM/UA … DISC/UA life of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Disconnected,
    Connecting,
    Open,
    Disconnecting,
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            Self::Disconnected => "disconnected",
            Self::Connecting => "waiting for the UA to SNRM",
            Self::Open => "connected",
            Self::Disconnecting => "waiting for the UA to DISC",
        }
    }
}

/// Sans-IO HDLC client: feed it received bytes, send the bytes it returns.
#[derive(Debug)]
pub struct HdlcClient {
    address: RawAddress,
    server: RawAddress,
    ours: HdlcParameters,
    negotiated: HdlcParameters,
    state: State,
    transfer: Transfer,
    reader: FrameReader,
}

impl HdlcClient {
    /// A disconnected client with address `client_address` (0..=127) talking to `server`.
    pub fn new(
        client_address: u8,
        server: HdlcAddress,
        params: HdlcParameters,
    ) -> Result<Self, HdlcError> {
        Ok(Self {
            address: RawAddress::client(client_address)?,
            server: server.to_raw()?,
            ours: params,
            negotiated: HdlcParameters::default(),
            state: State::Disconnected,
            transfer: Transfer::new(llc::CLIENT_LLC, llc::SERVER_LLC),
            reader: FrameReader::default(),
        })
    }

    /// The negotiated parameters (the defaults until a UA has been received).
    pub fn parameters(&self) -> HdlcParameters {
        self.negotiated
    }

    /// The SNRM frame that opens the link; carries our parameters unless they are defaults.
    pub fn connect(&mut self) -> Vec<u8> {
        self.state = State::Connecting;
        self.reader.clear();
        self.transfer.reset();
        let info = if self.ours == HdlcParameters::default() {
            Vec::new()
        } else {
            self.ours.encode()
        };
        self.unnumbered(Control::Snrm { poll: true }, info)
    }

    /// The DISC frame that closes the link.
    pub fn disconnect(&mut self) -> Vec<u8> {
        self.state = State::Disconnecting;
        self.unnumbered(Control::Disc { poll: true }, Vec::new())
    }

    /// The first frame carrying `apdu`; later segments come out of `receive` as the server's
    /// RRs ask for them.
    pub fn send_apdu(&mut self, apdu: &[u8]) -> Result<Vec<u8>, HdlcError> {
        if self.state != State::Open {
            return Err(HdlcError::NotOpen);
        }
        let window = self.transfer.send(apdu, self.negotiated.max_info_tx)?;
        self.encode_all(window)
    }

    /// How many bytes of a frame that has not completed yet are buffered.
    pub fn pending(&self) -> usize {
        self.reader.pending()
    }

    /// Takes in received bytes; incomplete frames stay buffered for the next call.
    ///
    /// A damaged frame counts as lost (the driver's timeout recovers); its error is returned
    /// only when nothing else came of this input, so no event is ever dropped.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<LinkEvent>, HdlcError> {
        let (frames, damage) = self.reader.read(bytes);
        let mut events = Vec::new();
        for frame in frames {
            self.handle(frame, &mut events)?;
        }
        match damage {
            Some(error) if events.is_empty() => Err(error),
            _ => Ok(events),
        }
    }

    fn handle(&mut self, frame: HdlcFrame, events: &mut Vec<LinkEvent>) -> Result<(), HdlcError> {
        if frame.source != self.server || frame.destination != self.address {
            return Err(HdlcError::UnexpectedAddress {
                source_address: frame.source,
                destination: frame.destination,
                expected_source: self.server,
                expected_destination: self.address,
            });
        }
        match (frame.control, self.state) {
            (Control::Ua { .. }, State::Connecting) => {
                let theirs = HdlcParameters::decode(&frame.info)?;
                self.negotiated = self.ours.negotiate(&theirs);
                self.transfer
                    .set_windows(self.negotiated.window_tx, self.negotiated.window_rx);
                self.state = State::Open;
                self.transfer.reset();
                events.push(LinkEvent::Opened);
            }
            (Control::Ua { .. } | Control::Dm { .. }, State::Disconnecting) => {
                self.state = State::Disconnected;
                events.push(LinkEvent::Closed);
            }
            (Control::Dm { .. }, _) => {
                self.state = State::Disconnected;
                return Err(HdlcError::DisconnectedMode);
            }
            (Control::Frmr { .. }, _) => return Err(HdlcError::FrameReject(frame.info)),
            (Control::I { ns, poll, .. }, State::Open) => {
                match self
                    .transfer
                    .receive(ns, frame.segmented, poll, &frame.info)?
                {
                    Incoming::Ack(rr) => events.push(LinkEvent::Transmit(self.encode(rr)?)),
                    Incoming::Apdu(apdu) => events.push(LinkEvent::Apdu(apdu)),
                    Incoming::Nothing => {}
                }
            }
            (Control::Rr { nr, .. }, State::Open) => {
                // An RR with nothing left to send only acknowledges.
                let window = self.transfer.acknowledged(nr);
                if !window.is_empty() {
                    events.push(LinkEvent::Transmit(self.encode_all(window)?));
                }
            }
            // The meter is busy; its next RR asks for the segment.
            (Control::Rnr { .. }, State::Open) => {}
            // Pushed data needs no connection.
            (Control::Ui { .. }, _) => {
                let apdu = llc::strip(llc::SERVER_LLC, &frame.info)?;
                events.push(LinkEvent::Apdu(apdu.to_vec()));
            }
            (control, state) => {
                return Err(HdlcError::UnexpectedFrame {
                    control,
                    state: state.describe(),
                })
            }
        }
        Ok(())
    }

    fn encode(&self, segment: Segment) -> Result<Vec<u8>, HdlcError> {
        segment.encode(self.server, self.address)
    }

    /// The frames of a window, back to back in one write.
    fn encode_all(&self, window: Vec<Segment>) -> Result<Vec<u8>, HdlcError> {
        let mut out = Vec::new();
        for segment in window {
            out.extend(self.encode(segment)?);
        }
        Ok(out)
    }

    fn unnumbered(&self, control: Control, info: Vec<u8>) -> Vec<u8> {
        self.encode(Segment::unnumbered(control, info))
            .expect("SNRM and DISC frames are far below the 2047-byte limit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::hdlc::address::AddressSize;
    use crate::dlms::hdlc::frame::decode;
    use crate::dlms::hdlc::frame::tests::{hex, GURUX_TRACE, H7};

    fn gurux_client() -> HdlcClient {
        HdlcClient::new(16, gurux_client_server(), HdlcParameters::default()).unwrap()
    }

    /// The (TX, RX) frame pairs of the trace.
    fn trace_pairs() -> Vec<(Vec<u8>, Vec<u8>)> {
        let frames: Vec<Vec<u8>> = GURUX_TRACE
            .lines()
            .filter_map(|l| l.rsplit(' ').next())
            .map(hex)
            .collect();
        frames
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect()
    }

    fn info_without_llc(frame: &[u8]) -> Vec<u8> {
        let (frame, _) = decode(frame).unwrap().unwrap();
        frame.info[3..].to_vec()
    }

    #[test]
    fn replays_the_gurux_trace_byte_for_byte() {
        let pairs = trace_pairs();
        let (first, rest) = pairs.split_first().unwrap();
        let (last, apdus) = rest.split_last().unwrap();
        let mut client = gurux_client();
        assert_eq!(client.connect(), first.0, "SNRM");
        assert_eq!(client.receive(&first.1), Ok(vec![LinkEvent::Opened]));
        assert_eq!(client.parameters(), HdlcParameters::default());
        for (tx, rx) in apdus {
            assert_eq!(client.send_apdu(&info_without_llc(tx)).as_ref(), Ok(tx));
            // Byte by byte: nothing until the frame is complete.
            let (head, tail) = rx.split_at(rx.len() - 1);
            for byte in head {
                assert_eq!(client.receive(&[*byte]), Ok(vec![]));
            }
            let apdu = info_without_llc(rx);
            assert_eq!(client.receive(tail), Ok(vec![LinkEvent::Apdu(apdu)]));
        }
        assert_eq!(client.disconnect(), last.0, "DISC");
        assert_eq!(client.receive(&last.1), Ok(vec![LinkEvent::Closed]));
    }

    #[test]
    fn first_get_response_apdu() {
        let pairs = trace_pairs();
        let mut client = gurux_client();
        client.connect();
        client.receive(&pairs[0].1).unwrap();
        client.send_apdu(b"aarq").unwrap();
        client.receive(&pairs[1].1).unwrap();
        client.send_apdu(b"get").unwrap();
        let events = client.receive(&pairs[2].1).unwrap();
        let expected = hex("C4 01 C1 00 0A 08 3132333435363738");
        assert_eq!(events, [LinkEvent::Apdu(expected)]);
    }

    fn open_client() -> HdlcClient {
        let mut client = gurux_client();
        client.connect();
        client.receive(&trace_pairs()[0].1).unwrap();
        client
    }

    fn server_frame(control: Control, segmented: bool, info: &[u8]) -> Vec<u8> {
        let client = open_client();
        Segment {
            control,
            segmented,
            info: info.to_vec(),
        }
        .encode(client.address, client.server)
        .unwrap()
    }

    #[test]
    fn segmented_response_is_acknowledged_with_rr() {
        let mut client = open_client();
        client.send_apdu(b"request").unwrap();
        let mut apdu = Vec::new();
        for ns in 0..3 {
            let info = if ns == 0 {
                &b"\xE6\xE7\x00first"[..]
            } else {
                b"-more"
            };
            apdu.extend_from_slice(info.strip_prefix(&llc::SERVER_LLC[..]).unwrap_or(info));
            let i = Control::I {
                ns,
                nr: 1,
                poll: true,
            };
            let events = client.receive(&server_frame(i, true, info)).unwrap();
            let rr = server_frame(
                Control::Rr {
                    nr: ns + 1,
                    poll: true,
                },
                false,
                &[],
            );
            // Our RR is addressed the other way round; compare control bytes only.
            let [LinkEvent::Transmit(bytes)] = &events[..] else {
                panic!("expected one RR, got {events:?}");
            };
            assert_eq!(bytes[5], rr[5]);
        }
        // H7 is the real N(S)=3 middle segment: RR N(R)=4 is control 0x91.
        let events = client.receive(&hex(H7)).unwrap();
        let [LinkEvent::Transmit(bytes)] = &events[..] else {
            panic!("expected one RR, got {events:?}");
        };
        assert_eq!(bytes[..6], hex("7E A0 07 03 21 91")[..]);
        apdu.extend_from_slice(&decode(&hex(H7)).unwrap().unwrap().0.info);
        let last = server_frame(
            Control::I {
                ns: 4,
                nr: 1,
                poll: true,
            },
            false,
            b"end",
        );
        apdu.extend_from_slice(b"end");
        assert_eq!(client.receive(&last), Ok(vec![LinkEvent::Apdu(apdu)]));
    }

    #[test]
    fn protocol_errors() {
        let mut client = open_client();
        let i = Control::I {
            ns: 1,
            nr: 0,
            poll: true,
        };
        assert_eq!(
            client.receive(&server_frame(i, false, b"\xE6\xE7\x00x")),
            Err(HdlcError::OutOfSequence {
                expected: 0,
                received: 1
            })
        );
        let frmr = server_frame(Control::Frmr { final_: true }, false, &[0x10, 0x00, 0x01]);
        let err = client.receive(&frmr).unwrap_err();
        assert_eq!(
            err.to_string(),
            "HDLC peer rejected a frame (FRMR), information field [10, 00, 01]"
        );
        let dm = server_frame(Control::Dm { final_: true }, false, &[]);
        assert_eq!(client.receive(&dm), Err(HdlcError::DisconnectedMode));
        assert_eq!(client.send_apdu(b"x"), Err(HdlcError::NotOpen));
        // H1 is a SNRM from client 16 to server 1/17: wrong way round for us.
        let err = client
            .receive(&hex("7E A0 08 02 23 21 93 BD 64 7E"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "HDLC frame from address 21 to 02 23 is not for this link (expected from 03 to 21)"
        );
        let ua = server_frame(Control::Ua { final_: true }, false, &[]);
        assert_eq!(
            client.receive(&ua).unwrap_err().to_string(),
            "unexpected HDLC UA frame while disconnected"
        );
    }

    #[test]
    fn dm_closes_a_disconnecting_link_and_ui_is_pushed() {
        let mut client = open_client();
        client.disconnect();
        let dm = server_frame(Control::Dm { final_: true }, false, &[]);
        assert_eq!(client.receive(&dm), Ok(vec![LinkEvent::Closed]));
        let ui = server_frame(Control::Ui { poll: true }, false, b"\xE6\xE7\x00\x0F push");
        assert_eq!(
            client.receive(&ui),
            Ok(vec![LinkEvent::Apdu(b"\x0F push".to_vec())])
        );
    }

    #[test]
    fn negotiates_with_the_ua_and_sends_our_parameters() {
        let params = HdlcParameters {
            max_info_tx: 512,
            max_info_rx: 512,
            window_tx: 1,
            window_rx: 1,
        };
        let mut client = HdlcClient::new(16, gurux_client_server(), params).unwrap();
        let snrm = decode(&client.connect()).unwrap().unwrap().0;
        assert_eq!(snrm.info, params.encode());
        // The L+G E650 UA: the meter sends 0x80 and accepts 0x3E.
        let info = hex("81 80 12 05 01 80 06 01 3E 07 04 00000001 08 04 00000001");
        client
            .receive(&server_frame(Control::Ua { final_: true }, false, &info))
            .unwrap();
        let expected = HdlcParameters {
            max_info_tx: 0x3E,
            max_info_rx: 0x80,
            window_tx: 1,
            window_rx: 1,
        };
        assert_eq!(client.parameters(), expected);
        // 100 bytes + LLC in segments of 62: two frames, the first segmented.
        let first = decode(&client.send_apdu(&[0xAA; 100]).unwrap())
            .unwrap()
            .unwrap()
            .0;
        assert!(first.segmented && first.info.len() == 0x3E);
        assert_eq!(client.send_apdu(b"x"), Err(HdlcError::SendInProgress));
        let events = client
            .receive(&server_frame(Control::Rr { nr: 1, poll: true }, false, &[]))
            .unwrap();
        let [LinkEvent::Transmit(bytes)] = &events[..] else {
            panic!("{events:?}")
        };
        let second = decode(bytes).unwrap().unwrap().0;
        assert_eq!(
            (second.segmented, second.info.len(), second.control),
            (
                false,
                41,
                Control::I {
                    ns: 1,
                    nr: 0,
                    poll: true
                }
            )
        );
    }

    fn gurux_client_server() -> HdlcAddress {
        HdlcAddress {
            logical: 1,
            physical: None,
            size: AddressSize::One,
        }
    }
}
