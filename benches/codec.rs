//! Codec throughput: A-XDR `Data`, HDLC frames and security suite 0 (AES-GCM-128).
//!
//! Run with `cargo bench --bench codec` (add `-- --warm-up-time 1 --measurement-time 3` for
//! a quick pass). Every group reports `Throughput::Bytes`, so criterion prints MB/s of the
//! encoded form. Targets: profile decode ≥ 200 MB/s, HDLC ≥ 300 MB/s, GCM ≥ 300 MB/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dlms_logger::dlms::data::Data;
use dlms_logger::dlms::hdlc::{self, AddressSize, Control, HdlcFrame, RawAddress};
use dlms_logger::dlms::security::{protect, unprotect, Key, Policy, SystemTitle};

/// Rows of the load-profile buffer.
const PROFILE_ROWS: u32 = 2_000;

/// A COSEM date-time octet-string (12 bytes) for minute `n` of 2024-01-01, UTC.
fn date_time(n: u32) -> Vec<u8> {
    let hour = (n / 60 % 24) as u8;
    let minute = (n % 60) as u8;
    let day = (1 + n / 1440 % 28) as u8;
    // year(2) month day weekday hour minute second hundredths deviation(2) status
    vec![
        0x07, 0xE8, 0x01, day, 0xFF, hour, minute, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]
}

/// A profile-generic buffer: 2,000 × {capture time, two double-long-unsigned registers}.
fn profile_buffer() -> Data {
    Data::Array(
        (0..PROFILE_ROWS)
            .map(|n| {
                Data::Structure(vec![
                    Data::OctetString(date_time(n * 15)),
                    Data::DoubleLongUnsigned(1_000_000 + n * 37),
                    Data::DoubleLongUnsigned(500_000 + n * 11),
                ])
            })
            .collect(),
    )
}

/// A structure nested `depth` levels deep, three children per level, mixed leaves.
fn nested(depth: u32, seed: u32) -> Data {
    if depth == 0 {
        return match seed % 4 {
            0 => Data::DoubleLongUnsigned(seed.wrapping_mul(2_654_435_761)),
            1 => Data::OctetString(seed.to_be_bytes().to_vec()),
            2 => Data::Long(seed as i16),
            _ => Data::Structure(vec![Data::Enum(30), Data::Integer(-3)]),
        };
    }
    Data::Structure((0..3).map(|i| nested(depth - 1, seed * 3 + i)).collect())
}

fn profile_decode(c: &mut Criterion) {
    let bytes = profile_buffer().to_bytes();
    assert_eq!(Data::from_bytes(&bytes).unwrap(), profile_buffer());
    let mut group = c.benchmark_group("profile_decode");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(format!("{PROFILE_ROWS}_rows_{}_bytes", bytes.len()), |b| {
        b.iter(|| Data::from_bytes(black_box(&bytes)).unwrap())
    });
    group.finish();
}

fn hdlc_frame(c: &mut Criterion) {
    let frame = HdlcFrame {
        destination: RawAddress::new(0x4001, AddressSize::Four).unwrap(),
        source: RawAddress::client(0x10).unwrap(),
        control: Control::I {
            ns: 3,
            nr: 5,
            poll: true,
        },
        segmented: false,
        info: (0..128u32).map(|i| (i * 7 + 0x7E) as u8).collect(),
    };
    let wire = frame.encode().unwrap();
    let (decoded, used) = hdlc::decode(&wire).unwrap().unwrap();
    assert_eq!(decoded, frame);
    assert_eq!(used, wire.len() - 1);

    let mut group = c.benchmark_group("hdlc_128_byte_info");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("encode", |b| b.iter(|| black_box(&frame).encode().unwrap()));
    group.bench_function("decode", |b| {
        b.iter(|| hdlc::decode(black_box(&wire)).unwrap().unwrap())
    });
    // Diagnostic: the CRC-16/X.25 over the frame alone, with the byte-wise table the frame
    // code uses (`Crc::<u16>::new`, i.e. `Table<1>`) and with slice-by-16.
    const X25: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC);
    const X25_16: crc::Crc<u16, crc::Table<16>> =
        crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_SDLC);
    let body = &wire[1..wire.len() - 3];
    group.bench_function("crc_x25_table1", |b| {
        b.iter(|| X25.checksum(black_box(body)))
    });
    group.bench_function("crc_x25_table16", |b| {
        b.iter(|| X25_16.checksum(black_box(body)))
    });
    group.finish();
}

fn gcm(c: &mut Criterion) {
    let block_key: Key = "000102030405060708090A0B0C0D0E0F".parse().unwrap();
    let auth_key: Key = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF".parse().unwrap();
    let title: SystemTitle = "4D4D4D0000BC614E".parse().unwrap();
    let plain: Vec<u8> = (0..1024u32).map(|i| (i * 31) as u8).collect();
    let body = protect(Policy::AuthEnc, &title, 7, &block_key, &auth_key, &plain).unwrap();
    let (policy, ic, back) = unprotect(&title, &block_key, &auth_key, &body).unwrap();
    assert_eq!((policy, ic, &back), (Policy::AuthEnc, 7, &plain));

    let mut group = c.benchmark_group("gcm_authenc_1KiB");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("protect", |b| {
        b.iter(|| {
            protect(
                Policy::AuthEnc,
                &title,
                7,
                &block_key,
                &auth_key,
                black_box(&plain),
            )
            .unwrap()
        })
    });
    group.bench_function("unprotect", |b| {
        b.iter(|| unprotect(&title, &block_key, &auth_key, black_box(&body)).unwrap())
    });
    group.finish();
}

fn axdr_round_trip(c: &mut Criterion) {
    let value = nested(4, 1);
    let bytes = value.to_bytes();
    assert_eq!(Data::from_bytes(&bytes).unwrap(), value);

    let mut group = c.benchmark_group("axdr_nested_depth_4");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(format!("round_trip_{}_bytes", bytes.len()), |b| {
        b.iter(|| Data::from_bytes(&black_box(&value).to_bytes()).unwrap())
    });
    group.bench_function("encode", |b| b.iter(|| black_box(&value).to_bytes()));
    group.bench_function("decode", |b| {
        b.iter(|| Data::from_bytes(black_box(&bytes)).unwrap())
    });
    group.finish();
}

/// The passive decoder on a typical three-phase HAN list (Aidon, Swedish list: 27 values with
/// scaler_unit, in one HDLC frame): notifications per second = elements/s.
fn passive_decode(c: &mut Criterion) {
    use dlms_logger::dlms::decode::{decode_frame, decode_values, Keys};
    let hex = "e6e7000f4000000000011b020209060000010000ff090c07e30c1001073b28ff8000ff020309060100010700ff060000046202020f00161b020309060100020700ff060000000002020f00161b020309060100030700ff06000005e302020f00161d020309060100040700ff060000000002020f00161d0203090601001f0700ff10000002020fff1621020309060100330700ff10004b02020fff1621020309060100470700ff10000002020fff1621020309060100200700ff12090302020fff1623020309060100340700ff1209c302020fff1623020309060100480700ff12090402020fff1623020309060100150700ff060000000002020f00161b020309060100160700ff060000000002020f00161b020309060100170700ff060000000002020f00161d020309060100180700ff060000000002020f00161d020309060100290700ff060000046202020f00161b0203090601002a0700ff060000000002020f00161b0203090601002b0700ff06000005e202020f00161d0203090601002c0700ff060000000002020f00161d0203090601003d0700ff060000000002020f00161b0203090601003e0700ff060000000002020f00161b0203090601003f0700ff060000000002020f00161d020309060100400700ff060000000002020f00161d020309060100010800ff060099598602020f00161e020309060100020800ff060000000802020f00161e020309060100030800ff060064ed4b02020f001620020309060100040800ff060000000502020f001620";
    let apdu: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let frame = dlms_logger::dlms::hdlc::HdlcFrame {
        destination: dlms_logger::dlms::hdlc::RawAddress::client(16).unwrap(),
        source: dlms_logger::dlms::hdlc::HdlcAddress {
            logical: 1,
            physical: Some(17),
            size: dlms_logger::dlms::hdlc::AddressSize::Two,
        }
        .to_raw()
        .unwrap(),
        control: dlms_logger::dlms::hdlc::Control::Ui { poll: true },
        segmented: false,
        info: apdu,
    }
    .encode()
    .unwrap();
    let keys = Keys::default();
    assert_eq!(decode_frame(&frame, &keys).unwrap().values.len(), 27);
    let mut g = c.benchmark_group("passive_decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("three_phase_list_hdlc_values", |b| {
        b.iter(|| decode_values(std::hint::black_box(&frame), &keys).unwrap())
    });
    g.bench_function("three_phase_list_hdlc_full_tree", |b| {
        b.iter(|| decode_frame(std::hint::black_box(&frame), &keys).unwrap())
    });
    g.finish();
}

criterion_group!(
    benches,
    profile_decode,
    hdlc_frame,
    gcm,
    axdr_round_trip,
    passive_decode
);
criterion_main!(benches);
