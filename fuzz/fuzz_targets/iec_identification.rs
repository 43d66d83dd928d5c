//! IEC 62056-21 mode E sign-on: the identification line parser, and the client and server
//! machines fed the bytes in chunks.
#![no_main]
use dlms_logger::dlms::iec62056_21::{parse_identification, IecClient, IecServer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(ident) = parse_identification(input) {
        let _ = format!("{ident:?}");
    }
    let Some((&seed, data)) = input.split_first() else {
        return;
    };
    let size = usize::from(seed % 32) + 1;
    let address = (seed & 0x80 != 0).then(|| "12345678".to_string());
    let mut client = IecClient::new(address, 9600);
    let _ = client.start();
    let mut server = IecServer::new("ABC", "METER01", 9600);
    for chunk in data.chunks(size) {
        if let Err(e) = client.receive(chunk) {
            let _ = e.to_string();
        }
        if let Err(e) = server.receive(chunk) {
            let _ = e.to_string();
        }
    }
    let _ = client.identification();
    let _ = client.timeout_error(1500).to_string();
    let _ = server.timeout_error(1500).to_string();
});
