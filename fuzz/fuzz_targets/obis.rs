//! OBIS codes as written in configs and on the command line ("1-0:1.8.0*255", "1.0.1.8.0.255").
#![no_main]
use std::str::FromStr;

use dlms_logger::dlms::obis::Obis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(obis) = Obis::from_str(text) {
        let _ = obis.to_string();
    }
});
