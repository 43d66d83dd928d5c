//! HDLC frames as they come off the wire: the frame decoder, then the client and server
//! link machines fed the same bytes in chunks (so partial frames are buffered).
#![no_main]
use dlms_logger::dlms::hdlc::{
    self, AddressSize, HdlcAddress, HdlcClient, HdlcParameters, HdlcServer, ServerAddressFilter,
};
use libfuzzer_sys::fuzz_target;

/// Splits `data` into chunks of 1..=16 bytes, the sizes taken from `seed`.
fn chunks(data: &[u8], seed: u8) -> impl Iterator<Item = &[u8]> {
    let size = usize::from(seed % 16) + 1;
    data.chunks(size)
}

fuzz_target!(|input: &[u8]| {
    // The bare decoder, walked over the buffer as the frame reader does.
    let mut rest = input;
    for _ in 0..64 {
        match hdlc::frame::decode(rest) {
            Ok(Some((frame, used))) => {
                let _ = format!("{frame:?}");
                let _ = frame.encode();
                if used == 0 || used > rest.len() {
                    break;
                }
                rest = &rest[used..];
            }
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                if e.skip == 0 || e.skip > rest.len() {
                    break;
                }
                rest = &rest[e.skip..];
            }
        }
    }

    let Some((&seed, data)) = input.split_first() else {
        return;
    };

    // Client: optionally connected first, so a UA (with parameters) is expected.
    let server = HdlcAddress {
        logical: 1,
        physical: Some(17),
        size: AddressSize::Two,
    };
    let mut client = HdlcClient::new(16, server, HdlcParameters::default()).unwrap();
    if seed & 0x80 != 0 {
        let _ = client.connect();
    }
    for chunk in chunks(data, seed) {
        let _ = client.receive(chunk);
        // Sending after the peer's parameters were negotiated (max_info_tx from the UA).
        let _ = client.send_apdu(&[0xC0, 0x01, 0xC1, 0x00, 0x08, 0, 0, 1, 0, 0, 0xFF, 0x02, 0x00]);
    }
    let _ = client.disconnect();
    let _ = client.receive(data);

    // Server: the lenient filter, and a strict one.
    let filter = if seed & 0x40 != 0 {
        ServerAddressFilter::from(server)
    } else {
        ServerAddressFilter::logical(1)
    };
    let mut server = HdlcServer::new(filter, HdlcParameters::default());
    for chunk in chunks(data, seed >> 4) {
        let _ = server.receive(chunk);
        let _ = server.send_apdu(&[0xC4, 0x01, 0xC1, 0x00, 0x09, 0x04, 1, 2, 3, 4]);
    }
    let _ = server.client_address();
});
