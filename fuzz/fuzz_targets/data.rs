//! A-XDR encoded COSEM data values (attribute values, buffers, compact arrays).
#![no_main]
use dlms_logger::dlms::data::Data;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Data::from_bytes(data) {
        let _ = format!("{d:?}");
    }
});
