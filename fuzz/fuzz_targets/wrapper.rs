//! DLMS/COSEM wrapper (TCP) PDUs: the decoder, then the client and server link machines.
#![no_main]
use dlms_logger::dlms::wrapper::{self, WrapperClient, WrapperServer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(Some((header, apdu, used))) = wrapper::decode(input) {
        let _ = format!("{header:?}");
        let _ = (apdu.len(), used);
    }
    let Some((&seed, data)) = input.split_first() else {
        return;
    };
    let size = usize::from(seed % 16) + 1;
    let mut client = WrapperClient::new(16, 1);
    let mut server = WrapperServer::new(1);
    for chunk in data.chunks(size) {
        let _ = client.receive(chunk);
        let _ = server.receive(chunk);
    }
    let _ = server.client_address();
    let _ = server.send_apdu(&[0xC4, 0x01]);
});
