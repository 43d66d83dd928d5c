//! Schedule texts (once / every / at / cron / event) and the next fire after a fixed time.
#![no_main]
use std::str::FromStr;

use chrono::{FixedOffset, TimeZone, Utc};
use dlms_logger::schedule::Schedule;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schedule) = Schedule::from_str(text) else {
        return;
    };
    let start = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 30).unwrap();
    let after = Utc.with_ymd_and_hms(2024, 3, 31, 1, 30, 0).unwrap();
    let mut t = after;
    for _ in 0..3 {
        match schedule.next_after(&t, &start) {
            Some(next) => t = next,
            None => break,
        }
    }
    let tz = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
    let _ = schedule.next_after(&after.with_timezone(&tz), &start.with_timezone(&tz));
});
