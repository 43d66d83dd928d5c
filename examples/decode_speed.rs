//! How fast the passive decoder reads a typical three-phase HAN list, layer by layer:
//! `cargo run --release --example decode_speed`.
use dlms_logger::dlms::decode::{decode_frame, Keys};
use std::time::Instant;

fn main() {
    let hex = "e6e7000f4000000000011b020209060000010000ff090c07e30c1001073b28ff8000ff020309060100010700ff060000046202020f00161b020309060100020700ff060000000002020f00161b020309060100030700ff06000005e302020f00161d020309060100040700ff060000000002020f00161d0203090601001f0700ff10000002020fff1621020309060100330700ff10004b02020fff1621020309060100470700ff10000002020fff1621020309060100200700ff12090302020fff1623020309060100340700ff1209c302020fff1623020309060100480700ff12090402020fff1623020309060100150700ff060000000002020f00161b020309060100160700ff060000000002020f00161b020309060100170700ff060000000002020f00161d020309060100180700ff060000000002020f00161d020309060100290700ff060000046202020f00161b0203090601002a0700ff060000000002020f00161b0203090601002b0700ff06000005e202020f00161d0203090601002c0700ff060000000002020f00161d0203090601003d0700ff060000000002020f00161b0203090601003e0700ff060000000002020f00161b0203090601003f0700ff060000000002020f00161d020309060100400700ff060000000002020f00161d020309060100010800ff060099598602020f00161e020309060100020800ff060000000802020f00161e020309060100030800ff060064ed4b02020f001620020309060100040800ff060000000502020f001620";
    let apdu: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let keys = Keys::default();
    if std::env::args().nth(2).as_deref() == Some("values") {
        // Only the values path, for `perf stat` (CPU time, not wall time, on a busy machine).
        let n: u32 = std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(100_000);
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(
                dlms_logger::dlms::decode::decode_values(std::hint::black_box(&apdu), &keys)
                    .unwrap(),
            );
        }
        let per = t.elapsed() / n;
        println!(
            "bare APDU, values only: {per:?} per notification (wall), {:.0}/s",
            1.0 / per.as_secs_f64()
        );
        return;
    }
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(decode_frame(std::hint::black_box(&apdu), &keys).unwrap());
    }
    let per = t.elapsed() / n;
    println!(
        "bare APDU, full tree: {per:?} per notification, {:.0}/s",
        1.0 / per.as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            dlms_logger::dlms::decode::decode_values(std::hint::black_box(&apdu), &keys).unwrap(),
        );
    }
    let per = t.elapsed() / n;
    println!(
        "bare APDU, values only: {per:?} per notification, {:.0}/s",
        1.0 / per.as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(dlms_logger::dlms::data::Data::from_bytes(&apdu[9..]).unwrap());
    }
    let per = t.elapsed() / n;
    println!("Data::from_bytes of the body: {per:?}");
    let t = Instant::now();
    for _ in 0..n {
        let mut r = dlms_logger::dlms::axdr::Reader::new(&apdu[9..]);
        std::hint::black_box(dlms_logger::dlms::decode::data_node(&mut r, "body").unwrap());
    }
    println!("data_node of the body: {:?}", t.elapsed() / n);
    let body = dlms_logger::dlms::data::Data::from_bytes(&apdu[9..]).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(dlms_logger::dlms::decode::values(&body));
    }
    println!("values of the body: {:?}", t.elapsed() / n);
}
