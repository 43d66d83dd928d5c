//! The logger's TOML config (meters, requests, schedules, security) as a user writes it.
#![no_main]
use dlms_logger::queue::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Config::parse(text, "fuzz.toml") {
        let _ = e.to_string();
    }
});
