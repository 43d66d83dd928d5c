//! One HDLC frame (frame format type 3): encoding, HCS/FCS and stream decoding.
use super::address::RawAddress;
use super::control::Control;
use super::error::HdlcError;

/// The flag that opens and closes every frame.
pub const FLAG: u8 = 0x7E;

/// CRC-16/X.25 for HCS and FCS, sent low byte first.
// Sixteen-byte tables: 11× faster than byte-wise lookup on a 128-byte frame (benches/codec.rs).
const X25: crc::Crc<u16, crc::Table<16>> =
    crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_SDLC);

/// The 11-bit length field's limit.
const MAX_LEN: usize = 2047;

/// Format field, 1-byte addresses, control and FCS.
const MIN_LEN: usize = 7;

/// Opening flag, format, two 4-byte addresses, control and HCS: all a header can take.
const MAX_HEADER: usize = 14;

/// Frame format type 3 in the top nibble of the format field.
const FORMAT_TYPE: u8 = 0xA0;

/// The segmentation bit of the format field's first byte.
const SEGMENTED: u8 = 0x08;

/// A decoded HDLC frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdlcFrame {
    /// Where the frame goes (the server when sent by a client).
    pub destination: RawAddress,
    /// Who sent it.
    pub source: RawAddress,
    /// Frame type, sequence numbers and P/F bit.
    pub control: Control,
    /// The segmentation bit: more segments of the same APDU follow.
    pub segmented: bool,
    /// The information field (empty for most unnumbered frames).
    pub info: Vec<u8>,
}

/// A frame that failed to decode, and how many bytes to drop to get past it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct FrameError {
    /// What was wrong.
    pub error: HdlcError,
    /// Bytes to drop from the start of the buffer before decoding again.
    pub skip: usize,
}

impl HdlcFrame {
    /// The frame with both flags; an error if it would exceed the 2047-byte length field.
    pub fn encode(&self) -> Result<Vec<u8>, HdlcError> {
        let hcs_and_info = if self.info.is_empty() {
            0
        } else {
            2 + self.info.len()
        };
        let len =
            2 + self.destination.size().bytes() + self.source.size().bytes() + 1 + hcs_and_info + 2;
        let format = u16::try_from(len)
            .ok()
            .filter(|_| len <= MAX_LEN)
            .ok_or(HdlcError::FrameTooLong(len))?;
        let [high, low] = format.to_be_bytes();
        let segmented = if self.segmented { SEGMENTED } else { 0 };
        let mut out = Vec::with_capacity(len + 2);
        out.extend([FLAG, FORMAT_TYPE | segmented | high, low]);
        self.destination.encode_into(&mut out);
        self.source.encode_into(&mut out);
        out.push(self.control.to_byte());
        if !self.info.is_empty() {
            out.extend(X25.checksum(&out[1..]).to_le_bytes());
            out.extend(&self.info);
        }
        out.extend(X25.checksum(&out[1..]).to_le_bytes());
        out.push(FLAG);
        Ok(out)
    }
}

/// Decodes the first frame in `buf`: `Ok(None)` until it is complete, then the frame and the
/// bytes used up to (not including) its closing flag, which may also open the next frame.
///
/// Bytes before the first flag and repeated flags are skipped. Frames are delimited by the
/// length field, because 0x7E may occur anywhere inside a frame.
pub fn decode(buf: &[u8]) -> Result<Option<(HdlcFrame, usize)>, FrameError> {
    let Some(mut start) = buf.iter().position(|&b| b == FLAG) else {
        return Ok(None);
    };
    // The format byte is 0xA_, so a flag followed by a flag is filler or a closing flag.
    while buf.get(start + 1) == Some(&FLAG) {
        start += 1;
    }
    let frame = buf.get(start..).unwrap_or_default();
    match parse(frame) {
        Ok(decoded) => Ok(decoded.map(|(f, used)| (f, start + used))),
        Err((error, skip)) => Err(FrameError {
            error,
            skip: start + skip,
        }),
    }
}

/// Parses a frame starting at its opening flag; errors carry the bytes to skip.
fn parse(frame: &[u8]) -> Result<Option<(HdlcFrame, usize)>, (HdlcError, usize)> {
    // Until a check sequence vouches for the length field, drop only the opening flag.
    let resync = |e| (e, 1);
    let &[_, f0, f1, ..] = frame else {
        return Ok(None);
    };
    if f0 & 0xF0 != FORMAT_TYPE {
        return Err(resync(HdlcError::FormatType(f0)));
    }
    let len = usize::from(u16::from_be_bytes([f0 & 0x07, f1]));
    let too_short = || resync(HdlcError::FrameTooShort(len));
    if len < MIN_LEN {
        return Err(too_short());
    }
    if frame.len() < (len + 2).min(MAX_HEADER) {
        return Ok(None);
    }
    // FCS position (the flag is at 0, the format field at 1..3).
    let fcs_at = len - 1;
    let inner = frame.get(3..fcs_at.min(frame.len())).unwrap_or_default();
    let (destination, d) = RawAddress::decode(inner, "destination").map_err(resync)?;
    let rest = inner.get(d..).unwrap_or_default();
    let (source, s) = RawAddress::decode(rest, "source").map_err(resync)?;
    let control_at = 3 + d + s;
    let header_end = control_at + 1;
    let info_at = match fcs_at.checked_sub(header_end) {
        Some(0) => None,
        Some(2..) => Some(header_end + 2),
        _ => return Err(too_short()),
    };
    if info_at.is_some() {
        let carried = le16(frame, header_end).ok_or_else(too_short)?;
        let computed = X25.checksum(frame.get(1..header_end).unwrap_or_default());
        if carried != computed {
            return Err(resync(HdlcError::HcsMismatch {
                frame: carried,
                computed,
            }));
        }
    }
    let Some(&closing) = frame.get(len + 1) else {
        return Ok(None);
    };
    let whole = 1 + len;
    let carried = le16(frame, fcs_at).unwrap_or_default();
    let computed = X25.checksum(frame.get(1..fcs_at).unwrap_or_default());
    if carried != computed {
        // A good HCS vouches for the length, so the whole frame can go.
        let skip = if info_at.is_some() { whole } else { 1 };
        let error = HdlcError::FcsMismatch {
            frame: carried,
            computed,
        };
        return Err((error, skip));
    }
    if closing != FLAG {
        return Err((HdlcError::MissingClosingFlag(closing), whole));
    }
    let control_byte = frame.get(control_at).copied().unwrap_or_default();
    let control = Control::from_byte(control_byte).map_err(|e| (e, whole))?;
    let info = info_at
        .and_then(|at| frame.get(at..fcs_at))
        .unwrap_or_default()
        .to_vec();
    let decoded = HdlcFrame {
        destination,
        source,
        control,
        segmented: f0 & SEGMENTED != 0,
        info,
    };
    Ok(Some((decoded, whole)))
}

/// The little-endian u16 at `at`, as HCS and FCS are sent.
fn le16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::hdlc::address::AddressSize;
    use proptest::prelude::*;

    /// Bytes from hex, ignoring whitespace.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn decode_one(s: &str) -> HdlcFrame {
        let bytes = hex(s);
        let (frame, used) = decode(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len() - 1, "all but the closing flag");
        assert_eq!(
            frame.encode().unwrap(),
            bytes,
            "re-encodes to the same bytes"
        );
        frame
    }

    fn raw(value: u32, size: AddressSize) -> RawAddress {
        RawAddress::new(value, size).unwrap()
    }

    fn client(address: u8) -> RawAddress {
        RawAddress::client(address).unwrap()
    }

    #[test]
    fn crc_vectors() {
        assert_eq!(X25.checksum(b"123456789"), 0x906E);
        assert_eq!(
            X25.checksum(&hex("A0 08 02 23 21 93")).to_le_bytes(),
            [0xBD, 0x64]
        );
        assert_eq!(X25.checksum(&hex("03 3F")).to_le_bytes(), [0x5B, 0xEC]);
        let h5 = hex("A0 0A 00 02 00 23 21 93");
        assert_eq!(X25.checksum(&h5).to_le_bytes(), [0x18, 0x71]);
    }

    #[test]
    fn h1_snrm() {
        let f = decode_one("7E A0 08 02 23 21 93 BD 64 7E");
        assert_eq!(f.destination, raw(1 << 7 | 17, AddressSize::Two));
        assert_eq!(f.source, client(16));
        assert_eq!(f.control, Control::Snrm { poll: true });
        assert!(f.info.is_empty() && !f.segmented);
    }

    #[test]
    fn h2_ua() {
        let f = decode_one(
            "7E A0 1F 21 02 23 73 E6 C7 81 80 12 05 01 9A 06 01 9A 07 04 00 00 00 01 08 04 00 00 00 01 CC A2 7E",
        );
        assert_eq!(f.control, Control::Ua { final_: true });
        assert_eq!(f.destination, client(16));
        assert_eq!(f.info.len(), 0x15);
    }

    #[test]
    fn h3_h4_aarq_aare() {
        let aarq = decode_one("7E A0 2C 02 23 21 10 AF 9F E6 E6 00 60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 1E 1D FF FF C5 E4 7E");
        assert_eq!(
            aarq.control,
            Control::I {
                ns: 0,
                nr: 0,
                poll: true
            }
        );
        assert_eq!(aarq.info[..4], [0xE6, 0xE6, 0x00, 0x60]);
        let aare = decode_one("7E A0 38 21 02 23 30 34 E7 E6 E7 00 61 29 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 00 A3 05 A1 03 02 01 00 BE 10 04 0E 08 00 06 5F 1F 04 00 00 1E 1D 04 C8 00 07 B8 6A 7E");
        assert_eq!(
            aare.control,
            Control::I {
                ns: 0,
                nr: 1,
                poll: true
            }
        );
    }

    #[test]
    fn h5_h6_h8_four_byte_addresses() {
        let f = decode_one("7E A0 0A 00 02 00 23 21 93 18 71 7E");
        assert_eq!(f.destination, raw(1 << 14 | 17, AddressSize::Four));
        let ua = hex("A0 23 21 00 02 00 23 73 F6 C5 81 80 14 05 02 00 80 06 02 00 80 07 04 00000001 08 04 00000001");
        assert_eq!(X25.checksum(&ua).to_le_bytes(), [0xCE, 0x6A]);
        let f = decode_one("7E A0 0A 00 02 68 2D 21 93 3F 1D 7E");
        assert_eq!(f.destination, raw(1 << 14 | 6678, AddressSize::Four));
        decode_one("7E A0 47 00 02 68 2D 21 10 E5 42 E6 E6 00 60 36 A1 09 06 07 60 85 74 05 08 01 01 8A 02 07 80 8B 07 60 85 74 05 08 02 01 AC 0A 80 08 31 32 33 34 35 36 37 38 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 40 1E 5D FF FF 8B 3C 7E");
        decode_one("7E A0 1C 00 02 68 2D 21 32 B8 44 E6 E6 00 C0 01 C1 00 03 01 00 01 08 00 FF 02 00 32 68 7E");
        let rr = decode_one("7E A0 0A 00 22 54 D3 61 51 3F 99 7E");
        assert_eq!(rr.destination, raw(17 << 14 | 5481, AddressSize::Four));
        assert_eq!(rr.source, client(48));
        assert_eq!(rr.control, Control::Rr { nr: 2, poll: true });
    }

    /// H7: segmented, and 0x7E is the length byte.
    pub(crate) const H7: &str = "7ea87e210396a4090f01160002020f02160002020f03160002020f04160002020f05160002020f0616000204120017110009060000160000ff0202010902030f0116010002030f0216010002030f0316010002030f0416010002030f0516010002030f0616010002030f0716010002030f0816010002030f09160100016ff37e";

    #[test]
    fn h7_segmented_with_flag_as_length() {
        let f = decode_one(H7);
        assert!(f.segmented);
        assert_eq!(
            f.control,
            Control::I {
                ns: 3,
                nr: 4,
                poll: true
            }
        );
        assert_eq!(f.destination, client(16));
        assert_eq!(f.source, raw(1, AddressSize::One));
    }

    #[test]
    fn h9_gosem_session() {
        for frame in [
            "7E A0 08 02 21 05 93 56 95 7E",
            "7E A0 1F 05 02 21 73 E9 09 81 80 12 05 01 F8 06 01 F0 07 04 00 00 00 01 08 04 00 00 00 01 3D 9B 7E",
            "7E A0 45 02 21 05 10 93 9E E6 E6 00 60 36 A1 09 06 07 60 85 74 05 08 01 01 8A 02 07 80 8B 07 60 85 74 05 08 02 01 AC 0A 80 08 30 30 30 30 30 30 30 31 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 18 1F 02 00 3F 53 7E",
            "7E A0 38 05 02 21 30 3B 29 E6 E7 00 61 29 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 00 A3 05 A1 03 02 01 00 BE 10 04 0E 08 00 06 5F 1F 04 00 00 10 14 00 F0 00 07 FE 30 7E",
            "7E A0 1A 02 21 05 32 1D 83 E6 E6 00 C0 01 C1 00 01 01 00 00 02 00 FF 02 00 4B BB 7E",
            "7E A0 18 05 02 21 52 BE 09 E6 E7 00 C4 01 C1 00 09 05 56 30 34 31 31 F6 B6 7E",
        ] {
            decode_one(frame);
        }
    }

    /// The TX/RX lines of `peers/traces/hdlc_ln_none.txt` (Gurux client and meter, gurux_dlms
    /// 1.0.203; client 16 = `21`, server logical 1 = `03`).
    pub(crate) const GURUX_TRACE: &str = "\
TX SNRM/UA 7EA0070321930F017E
RX SNRM/UA 7EA01E210373C37A818012050180060180070400000001080400000001533B7E
TX AARQ/AARE 7EA02B032110FBAFE6E600601DA109060760857405080101BE10040E01000000065F1F0400401E5DFFFF91237E
RX AARQ/AARE 7EA0372103306C7CE6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007E0A67E
TX GET 0.0.96.1.0.255:2 7EA0190321326FD8E6E600C001C100010000600100FF020089A07E
RX GET 0.0.96.1.0.255:2 7EA01A210352A438E6E700C401C1000A083132333435363738EFAD7E
TX GET 1.0.1.8.0.255:3 7EA0190321545FDEE6E600C001C100030100010800FF0300EA717E
RX GET 1.0.1.8.0.255:3 7EA016210374A4EBE6E700C401C10002020F00161E61D47E
TX GET 1.0.1.8.0.255:2 7EA0190321764FDCE6E600C001C100030100010800FF020032687E
RX GET 1.0.1.8.0.255:2 7EA015210396750AE6E700C401C10006000F424068657E
TX RLRQ/RLRE 7EA011032198E737E6E6006203800100BD9B7E
RX RLRQ/RLRE 7EA0232103B861C5E6E7006315800100BE10040E0800065F1F0400001E1D0400000770077E
TX DISC/UA 7EA00703215303C77E
RX DISC/UA 7EA01E210373C37A818012050180060180070400000001080400000001533B7E
";

    #[test]
    fn trace_frames() {
        let frames: Vec<&str> = GURUX_TRACE
            .lines()
            .filter_map(|l| l.rsplit(' ').next())
            .collect();
        assert_eq!(frames.len(), 14);
        for frame in frames {
            decode_one(frame);
        }
    }

    #[test]
    fn h10_partial_ui_frame_waits() {
        let start = hex("7E A2 43 41 08 83 13 85 EB E6 E7 00 0F 40 00 00 00 00 01 1B 02 02");
        assert_eq!(decode(&start), Ok(None));
    }

    #[test]
    fn partial_frames_wait_and_never_error() {
        let bytes = hex(H7);
        for end in 0..bytes.len() {
            assert_eq!(decode(&bytes[..end]), Ok(None), "prefix of {end} bytes");
        }
    }

    #[test]
    fn shared_and_doubled_flags_and_garbage() {
        let snrm = hex("7E A0 08 02 23 21 93 BD 64 7E");
        let ua = hex("7E A0 1F 21 02 23 73 E6 C7 81 80 12 05 01 9A 06 01 9A 07 04 00 00 00 01 08 04 00 00 00 01 CC A2 7E");
        let shared: Vec<u8> = [&snrm[..], &ua[1..]].concat();
        let doubled: Vec<u8> = [&[0x01, 0x02][..], &snrm, &ua].concat();
        for stream in [shared, doubled] {
            let (first, used) = decode(&stream).unwrap().unwrap();
            assert_eq!(first.control, Control::Snrm { poll: true });
            let (second, more) = decode(&stream[used..]).unwrap().unwrap();
            assert_eq!(second.control, Control::Ua { final_: true });
            assert_eq!(used + more, stream.len() - 1);
        }
    }

    #[test]
    fn errors_say_what_and_how_far_to_skip() {
        let err = |s: &str| decode(&hex(s)).unwrap_err();
        let bad_hcs = err("7E A0 2C 02 23 21 10 AF 9E E6 E6 00 60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 1E 1D FF FF C5 E4 7E");
        assert_eq!(bad_hcs.skip, 1);
        assert_eq!(
            bad_hcs.to_string(),
            "HDLC header check sequence mismatch: frame says 0x9EAF, computed 0x9FAF"
        );
        let bad_fcs = err("7E A0 2C 02 23 21 10 AF 9F E6 E6 00 60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 1E 1D FF FE C5 E4 7E");
        assert!(matches!(bad_fcs.error, HdlcError::FcsMismatch { .. }));
        assert_eq!(bad_fcs.skip, 0x2C + 1, "a good HCS lets the whole frame go");
        let no_flag = err("00 7E A0 08 02 23 21 93 BD 64 00");
        assert_eq!(
            no_flag,
            FrameError {
                error: HdlcError::MissingClosingFlag(0),
                skip: 10
            }
        );
        let format = err("7E B0 08 02 23 21 93 BD 64 7E");
        assert_eq!(
            format,
            FrameError {
                error: HdlcError::FormatType(0xB0),
                skip: 1
            }
        );
        assert_eq!(err("7E A0 06 00").error, HdlcError::FrameTooShort(6));
        // Destination 4 bytes + source 4 bytes + control do not fit in length 10.
        assert!(matches!(
            err("7E A0 0A 00 02 00 03 00 02 00 03 00 00 7E").error,
            HdlcError::AddressLength {
                field: "source",
                ..
            }
        ));
        let mut unknown = hex("7E A0 08 02 23 21 09 00 00 7E");
        let fcs = X25.checksum(&unknown[1..7]).to_le_bytes();
        unknown[7..9].copy_from_slice(&fcs);
        assert_eq!(
            decode(&unknown).unwrap_err().error,
            HdlcError::UnknownControl(0x09)
        );
    }

    #[test]
    fn too_long_to_encode() {
        let frame = HdlcFrame {
            destination: raw(1, AddressSize::One),
            source: client(16),
            control: Control::Ui { poll: false },
            segmented: false,
            info: vec![0; 2040],
        };
        assert_eq!(frame.encode(), Err(HdlcError::FrameTooLong(2049)));
    }

    fn arb_address() -> impl Strategy<Value = RawAddress> {
        prop_oneof![
            (0u32..1 << 7).prop_map(|v| raw(v, AddressSize::One)),
            (0u32..1 << 14).prop_map(|v| raw(v, AddressSize::Two)),
            (0u32..1 << 28).prop_map(|v| raw(v, AddressSize::Four)),
        ]
    }

    fn arb_control() -> impl Strategy<Value = Control> {
        any::<u8>().prop_filter_map("valid control byte", |b| Control::from_byte(b).ok())
    }

    proptest! {
        #[test]
        fn round_trip(
            destination in arb_address(),
            source in arb_address(),
            control in arb_control(),
            segmented in any::<bool>(),
            info in proptest::collection::vec(any::<u8>(), 0..=2030),
        ) {
            let frame = HdlcFrame { destination, source, control, segmented, info };
            let bytes = frame.encode().unwrap();
            let (decoded, used) = decode(&bytes).unwrap().unwrap();
            prop_assert_eq!(used, bytes.len() - 1);
            prop_assert_eq!(decoded, frame);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
            let mut flagged = vec![FLAG, FORMAT_TYPE];
            flagged.extend(&bytes);
            if let Err(e) = decode(&flagged) {
                prop_assert!(e.skip >= 1 && e.skip <= flagged.len());
            }
        }
    }
}
