//! The server (secondary station) end of an HDLC link, as a meter or simulator runs it.
use super::address::{AddressSize, HdlcAddress, RawAddress};
use super::control::Control;
use super::error::HdlcError;
use super::frame::HdlcFrame;
use super::llc;
use super::params::HdlcParameters;
use super::reader::FrameReader;
use super::transfer::{Incoming, Segment, Transfer};
use crate::dlms::link::LinkEvent;

/// Which destination addresses an `HdlcServer` answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerAddressFilter {
    /// Upper HDLC address (logical device).
    pub logical: u16,
    /// Lower HDLC address (physical device); `None` accepts any.
    pub physical: Option<u16>,
    /// The address size clients must use; `None` accepts 1, 2 and 4 bytes alike.
    pub size: Option<AddressSize>,
}

impl ServerAddressFilter {
    /// A lenient filter: this logical device, any physical address, any address size.
    pub fn logical(logical: u16) -> Self {
        Self {
            logical,
            physical: None,
            size: None,
        }
    }

    /// Whether a frame to `destination` is for this server. A 1-byte address has no
    /// physical part, so it matches on the logical address alone.
    pub fn matches(&self, destination: RawAddress) -> bool {
        let address = HdlcAddress::from(destination);
        let physical_ok = match (self.physical, address.physical) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => true,
        };
        self.size.is_none_or(|size| size == address.size)
            && address.logical == self.logical
            && physical_ok
    }
}

impl From<HdlcAddress> for ServerAddressFilter {
    /// A strict filter: exactly this address, in this size.
    fn from(address: HdlcAddress) -> Self {
        Self {
            logical: address.logical,
            physical: address.physical,
            size: Some(address.size),
        }
    }
}

/// Sans-IO HDLC server: feed it received bytes, send the bytes it returns.
#[derive(Debug)]
pub struct HdlcServer {
    filter: ServerAddressFilter,
    ours: HdlcParameters,
    negotiated: HdlcParameters,
    /// The connected client, and our address as that client writes it.
    peer: Option<(RawAddress, RawAddress)>,
    transfer: Transfer,
    reader: FrameReader,
}

impl HdlcServer {
    /// A disconnected server answering frames that `accept` matches.
    pub fn new(accept: ServerAddressFilter, params: HdlcParameters) -> Self {
        Self {
            filter: accept,
            ours: params,
            negotiated: HdlcParameters::default(),
            peer: None,
            transfer: Transfer::new(llc::SERVER_LLC, llc::CLIENT_LLC),
            reader: FrameReader::default(),
        }
    }

    /// The connected client's address, if a client has connected.
    pub fn client_address(&self) -> Option<u8> {
        // Only 1-byte (7-bit) client addresses are accepted, so the value fits.
        self.peer.map(|(client, _)| client.value() as u8)
    }

    /// The negotiated parameters, from this server's point of view.
    pub fn parameters(&self) -> HdlcParameters {
        self.negotiated
    }

    /// The first frame carrying `apdu` to the connected client; the rest on its RRs.
    pub fn send_apdu(&mut self, apdu: &[u8]) -> Result<Vec<u8>, HdlcError> {
        let (client, us) = self.peer.ok_or(HdlcError::NotOpen)?;
        let window = self.transfer.send(apdu, self.negotiated.max_info_tx)?;
        encode_all(window, client, us)
    }

    /// Takes in received bytes; frames for other servers are ignored, as meters do.
    ///
    /// A damaged frame counts as lost; its error is returned only when nothing else came of
    /// this input, so no event is ever dropped.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<LinkEvent>, HdlcError> {
        let (frames, damage) = self.reader.read(bytes);
        let mut events = Vec::new();
        for frame in frames {
            // Client addresses are always one byte; anything else is not a client of ours.
            let from_client = frame.source.size() == AddressSize::One;
            if from_client && self.filter.matches(frame.destination) {
                self.handle(frame, &mut events)?;
            }
        }
        match damage {
            Some(error) if events.is_empty() => Err(error),
            _ => Ok(events),
        }
    }

    fn handle(&mut self, frame: HdlcFrame, events: &mut Vec<LinkEvent>) -> Result<(), HdlcError> {
        let connected = self.peer.map(|(client, _)| client) == Some(frame.source);
        // Answers go back the way the frame came, in the address form the client used.
        let reply = |segment: Segment| segment.encode(frame.source, frame.destination);
        match frame.control {
            Control::Snrm { .. } => {
                let theirs = HdlcParameters::decode(&frame.info)?;
                self.negotiated = self.ours.negotiate(&theirs);
                self.transfer
                    .set_windows(self.negotiated.window_tx, self.negotiated.window_rx);
                self.peer = Some((frame.source, frame.destination));
                self.transfer.reset();
                let ua = Control::Ua { final_: true };
                let info = self.negotiated.encode();
                events.push(LinkEvent::Transmit(reply(Segment::unnumbered(ua, info))?));
                events.push(LinkEvent::Opened);
            }
            Control::Disc { .. } if connected => {
                self.peer = None;
                let ua = Segment::unnumbered(Control::Ua { final_: true }, Vec::new());
                events.push(LinkEvent::Transmit(reply(ua)?));
                events.push(LinkEvent::Closed);
            }
            Control::I { ns, poll, .. } if connected => {
                match self
                    .transfer
                    .receive(ns, frame.segmented, poll, &frame.info)?
                {
                    Incoming::Ack(rr) => events.push(LinkEvent::Transmit(reply(rr)?)),
                    Incoming::Apdu(apdu) => events.push(LinkEvent::Apdu(apdu)),
                    Incoming::Nothing => {}
                }
            }
            Control::Rr { nr, .. } if connected => {
                // An RR with nothing left to send only acknowledges.
                let window = self.transfer.acknowledged(nr);
                if !window.is_empty() {
                    let bytes = encode_all(window, frame.source, frame.destination)?;
                    events.push(LinkEvent::Transmit(bytes));
                }
            }
            // The client is busy; its next RR asks for the segment.
            Control::Rnr { .. } if connected => {}
            // Not connected to this client: say so, as meters do.
            Control::Disc { .. } | Control::I { .. } | Control::Rr { .. } | Control::Rnr { .. } => {
                let dm = Segment::unnumbered(Control::Dm { final_: true }, Vec::new());
                events.push(LinkEvent::Transmit(reply(dm)?));
            }
            control @ (Control::Ua { .. }
            | Control::Dm { .. }
            | Control::Frmr { .. }
            | Control::Ui { .. }) => {
                let state = if self.peer.is_some() {
                    "connected"
                } else {
                    "disconnected"
                };
                return Err(HdlcError::UnexpectedFrame { control, state });
            }
        }
        Ok(())
    }
}

/// The frames of a window, back to back in one write.
fn encode_all(
    window: Vec<Segment>,
    destination: RawAddress,
    source: RawAddress,
) -> Result<Vec<u8>, HdlcError> {
    let mut out = Vec::new();
    for segment in window {
        out.extend(segment.encode(destination, source)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::hdlc::frame::decode;
    use crate::dlms::hdlc::frame::tests::{hex, GURUX_TRACE};

    fn lenient(logical: u16, physical: Option<u16>) -> HdlcServer {
        let filter = ServerAddressFilter {
            physical,
            ..ServerAddressFilter::logical(logical)
        };
        HdlcServer::new(filter, HdlcParameters::default())
    }

    #[test]
    fn answers_the_gurux_client_like_the_gurux_meter() {
        let frames: Vec<Vec<u8>> = GURUX_TRACE
            .lines()
            .filter_map(|l| l.rsplit(' ').next())
            .map(hex)
            .collect();
        let mut server = lenient(1, None);
        // SNRM: our UA equals the Gurux meter's byte for byte.
        let events = server.receive(&frames[0]).unwrap();
        assert_eq!(
            events,
            [LinkEvent::Transmit(frames[1].clone()), LinkEvent::Opened]
        );
        assert_eq!(server.client_address(), Some(16));
        for pair in frames[2..12].chunks(2) {
            let (request, response) = (&pair[0], &pair[1]);
            let request_apdu = decode(request).unwrap().unwrap().0.info[3..].to_vec();
            assert_eq!(
                server.receive(request),
                Ok(vec![LinkEvent::Apdu(request_apdu)])
            );
            let response_apdu = &decode(response).unwrap().unwrap().0.info[3..];
            assert_eq!(server.send_apdu(response_apdu).as_ref(), Ok(response));
        }
        // DISC: Gurux repeats its parameters in this UA; we send an empty one.
        let events = server.receive(&frames[12]).unwrap();
        assert_eq!(events.last(), Some(&LinkEvent::Closed));
        assert_eq!(server.client_address(), None);
    }

    #[test]
    fn address_filter() {
        let strict = ServerAddressFilter::from(HdlcAddress {
            logical: 1,
            physical: Some(17),
            size: AddressSize::Two,
        });
        let any = ServerAddressFilter {
            size: None,
            ..strict
        };
        let two = RawAddress::new(1 << 7 | 17, AddressSize::Two).unwrap();
        let four = RawAddress::new(1 << 14 | 17, AddressSize::Four).unwrap();
        let one = RawAddress::new(1, AddressSize::One).unwrap();
        let other = RawAddress::new(1 << 14 | 18, AddressSize::Four).unwrap();
        assert!(strict.matches(two) && !strict.matches(four) && !strict.matches(one));
        assert!(any.matches(two) && any.matches(four) && any.matches(one) && !any.matches(other));
    }

    #[test]
    fn ignores_other_servers_and_answers_dm_when_disconnected() {
        let mut server = lenient(1, Some(17));
        // H5 SNRM goes to 1/17 in the 4-byte form; a frame to 1/18 is ignored.
        let to_other = HdlcFrame {
            destination: RawAddress::new(1 << 14 | 18, AddressSize::Four).unwrap(),
            source: RawAddress::client(16).unwrap(),
            control: Control::Snrm { poll: true },
            segmented: false,
            info: vec![],
        };
        assert_eq!(server.receive(&to_other.encode().unwrap()), Ok(vec![]));
        // H3 AARQ before any SNRM: DM back to client 16 from 1/17 (2-byte, as addressed).
        let aarq = hex("7E A0 2C 02 23 21 10 AF 9F E6 E6 00 60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 1E 1D FF FF C5 E4 7E");
        let events = server.receive(&aarq).unwrap();
        let [LinkEvent::Transmit(dm)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(dm[..6], hex("7E A0 08 21 02 23 1F")[..6]);
        assert_eq!(
            decode(dm).unwrap().unwrap().0.control,
            Control::Dm { final_: true }
        );
        // H5 opens the link; the UA answers in the 4-byte form.
        let events = server
            .receive(&hex("7E A0 0A 00 02 00 23 21 93 18 71 7E"))
            .unwrap();
        let [LinkEvent::Transmit(ua), LinkEvent::Opened] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(ua[3..8], hex("21 00 02 00 23")[..]);
    }
}
