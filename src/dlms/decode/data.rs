//! A-XDR `Data` as a tree: every element with its tag, length and value bytes, decoded with
//! the one `Data` codec (`dlms::data`) so the tree and the values always agree.

use super::tree::Node;
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::data::{type_name, Data};
use crate::dlms::datetime::CosemDateTime;
use std::borrow::Cow;

/// How deep arrays and structures may nest (as `dlms::data`).
const MAX_DEPTH: usize = 32;

/// Reads one `Data` at the reader's position: its node (named `name`) and its value.
pub fn data_node(
    r: &mut Reader,
    name: impl Into<Cow<'static, str>>,
) -> Result<(Node, Data), DecodeError> {
    node_at(r, name.into(), 0)
}

fn node_at(
    r: &mut Reader,
    name: Cow<'static, str>,
    depth: usize,
) -> Result<(Node, Data), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep {
            max: MAX_DEPTH,
            at: r.position(),
        });
    }
    let before = r.rest();
    match r.peek() {
        Some(tag @ (1 | 2)) => {
            r.u8("data tag")?;
            let count = r.length(if tag == 1 {
                "array count"
            } else {
                "structure count"
            })?;
            // Every element takes at least one byte: a count larger than what is left is a lie.
            if count > r.remaining() {
                return Err(DecodeError::BadLength {
                    at: r.position(),
                    reason: format!("{count} elements claimed, {} bytes left", r.remaining()),
                });
            }
            let header = &before[..before.len() - r.rest().len()];
            let mut node = Node::group(name, header, format!("{} of {count}", type_name(tag)));
            let mut items = Vec::with_capacity(count);
            for i in 0..count {
                let (child, d) = node_at(r, index_name(i), depth + 1)?;
                node.push(child);
                items.push(d);
            }
            Ok((
                node,
                if tag == 1 {
                    Data::Array(items)
                } else {
                    Data::Structure(items)
                },
            ))
        }
        _ => {
            let d = Data::decode(r)?;
            let bytes = &before[..before.len() - r.rest().len()];
            let value = describe(&d);
            let mut node = Node::leaf(name, bytes, value);
            if let Data::Array(items) = &d {
                // A compact-array: its elements, decoded, without bytes of their own.
                for (i, item) in items.iter().enumerate() {
                    node.push(Node::leaf(index_name(i), &[], describe(item)));
                }
            }
            Ok((node, d))
        }
    }
}

/// The type and the value in words: `double-long-unsigned 1122`, `octet-string 0100010700FF
/// (OBIS 1.0.1.7.0.255)`, `octet-string 2019-12-16T07:59:40 (date-time)`.
pub fn describe(d: &Data) -> String {
    use std::fmt::Write;
    let t = d.type_name();
    let mut s = String::with_capacity(48);
    s.push_str(t);
    s.push(' ');
    match d {
        Data::OctetString(b) if b.len() == 6 => {
            push_octets(&mut s, b);
            let _ = write!(
                s,
                " (OBIS {}.{}.{}.{}.{}.{})",
                b[0], b[1], b[2], b[3], b[4], b[5]
            );
        }
        Data::OctetString(b) => match date_time_octets(b) {
            Some(dt) => {
                let _ = write!(s, "{dt} (date-time)");
            }
            None => push_octets(&mut s, b),
        },
        Data::VisibleString(b) | Data::Utf8String(b) => {
            s.push('"');
            push_octets(&mut s, b);
            s.push('"');
        }
        Data::Array(items) => {
            let _ = write!(s, "of {}", items.len());
        }
        _ => {
            let _ = write!(s, "{d}");
        }
    }
    s
}

/// Octets as text when all are printable ASCII, else as hex (as `data::octets_to_text`),
/// written without an allocation per byte.
fn push_octets(s: &mut String, b: &[u8]) {
    use std::fmt::Write;
    if !b.is_empty() && b.iter().all(|c| (0x20..0x7F).contains(c)) {
        s.extend(b.iter().map(|&c| c as char));
    } else {
        for x in b {
            let _ = write!(s, "{x:02X}");
        }
    }
}

/// `[i]`, without formatting for the first elements.
fn index_name(i: usize) -> Cow<'static, str> {
    const NAMES: [&str; 16] = [
        "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]", "[7]", "[8]", "[9]", "[10]", "[11]",
        "[12]", "[13]", "[14]", "[15]",
    ];
    NAMES
        .get(i)
        .map_or_else(|| Cow::Owned(format!("[{i}]")), |n| Cow::Borrowed(*n))
}

/// A 12-byte octet-string that reads as a plausible COSEM date-time (a real or wildcard year,
/// month and day in range): meters send their clock this way.
pub fn date_time_octets(b: &[u8]) -> Option<CosemDateTime> {
    let dt = CosemDateTime::from_octets(b)?;
    let year_ok = dt.date.year == 0xFFFF || (1970..=2200).contains(&dt.date.year);
    let month_ok = (1..=12).contains(&dt.date.month) || dt.date.month >= 0xFD;
    let day_ok = (1..=31).contains(&dt.date.day) || dt.date.day >= 0xFD;
    let time_ok = (dt.time.hour < 24 || dt.time.hour == 0xFF)
        && (dt.time.minute < 60 || dt.time.minute == 0xFF)
        && (dt.time.second < 60 || dt.time.second == 0xFF);
    (year_ok && month_ok && day_ok && time_ok).then_some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use proptest::prelude::*;

    #[test]
    fn names_every_element() {
        let b = unhex("02 02 09 06 01 00 01 07 00 FF 06 00 00 04 62");
        let (node, d) = data_node(&mut Reader::new(&b), "body").unwrap();
        assert_eq!(d, Data::from_bytes(&b).unwrap());
        assert_eq!(node.bytes, [2, 2]);
        assert_eq!(
            node.children[0].value,
            "octet-string 0100010700FF (OBIS 1.0.1.7.0.255)"
        );
        assert_eq!(node.children[1].value, "double-long-unsigned 1122");
        assert_eq!(node.children[1].bytes, [6, 0, 0, 4, 0x62]);
        let dt = unhex("09 0C 07 E3 0C 10 01 07 3B 28 FF 80 00 FF");
        let (node, _) = data_node(&mut Reader::new(&dt), "t").unwrap();
        assert_eq!(node.value, "octet-string 2019-12-16T07:59:40 (date-time)");
    }

    #[test]
    fn lying_counts_are_refused() {
        let b = unhex("01 82 FF FF 11 00");
        assert!(data_node(&mut Reader::new(&b), "x").is_err());
        let mut deep = [2u8, 1].repeat(40);
        deep.push(0);
        assert!(data_node(&mut Reader::new(&deep), "x").is_err());
    }

    proptest! {
        #[test]
        fn agrees_with_the_codec(d in arb_data()) {
            let b = d.to_bytes();
            let (_, got) = data_node(&mut Reader::new(&b), "d").unwrap();
            prop_assert_eq!(got, Data::from_bytes(&b).unwrap());
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = data_node(&mut Reader::new(&b), "d");
        }
    }
}
