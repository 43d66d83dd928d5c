//! xDLMS APDUs from the peer: AARE/AARQ, GET/SET/ACTION/Read/Write responses, data blocks,
//! ciphered tags, exception responses, data notifications.
#![no_main]
use dlms_logger::dlms::xdlms::{summarize, Apdu};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(apdu) = Apdu::decode(data) {
        let _ = format!("{apdu:?}");
    }
    let _ = summarize(data);
});
