//! A-XDR building blocks shared by the xDLMS APDUs: OPTIONAL, SEQUENCE OF and OCTET STRING.

use crate::dlms::axdr::{write_length, DecodeError, Reader};

/// Appends an OPTIONAL value: `00`, or `01` and the value.
pub(crate) fn write_optional<T>(
    out: &mut Vec<u8>,
    v: Option<&T>,
    f: impl FnOnce(&T, &mut Vec<u8>),
) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            f(v, out);
        }
    }
}

/// Reads an OPTIONAL value (any non-zero presence flag means present).
pub(crate) fn read_optional<'a, T>(
    r: &mut Reader<'a>,
    what: &'static str,
    f: impl FnOnce(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        _ => f(r).map(Some),
    }
}

/// Appends a SEQUENCE OF: the count, then each item.
pub(crate) fn write_seq<T>(out: &mut Vec<u8>, items: &[T], mut f: impl FnMut(&T, &mut Vec<u8>)) {
    write_length(out, items.len());
    for item in items {
        f(item, out);
    }
}

/// Reads a SEQUENCE OF whose items take at least `min_item` bytes each; a count the input
/// cannot hold is refused before anything is allocated.
pub(crate) fn read_seq<'a, T>(
    r: &mut Reader<'a>,
    what: &'static str,
    min_item: usize,
    mut f: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let n = r.bounded_length(what, min_item)?;
    (0..n).map(|_| f(r)).collect()
}

/// Appends an OCTET STRING: the length, then the bytes.
pub(crate) fn write_octets(out: &mut Vec<u8>, bytes: &[u8]) {
    write_length(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads an OCTET STRING.
pub(crate) fn read_octets(r: &mut Reader, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let n = r.length(what)?;
    Ok(r.bytes(n, what)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_counts_and_lengths_are_refused() {
        let mut r = Reader::new(&[0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
        assert!(read_seq(&mut r, "count", 1, |r| r.u8("item")).is_err());
        let mut r = Reader::new(&[0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
        assert!(read_octets(&mut r, "raw-data").is_err());
    }

    #[test]
    fn optional_round_trip() {
        let mut out = Vec::new();
        write_optional(&mut out, Some(&7u8), |v, o| o.push(*v));
        write_optional::<u8>(&mut out, None, |v, o| o.push(*v));
        assert_eq!(out, [1, 7, 0]);
        let mut r = Reader::new(&out);
        assert_eq!(read_optional(&mut r, "f", |r| r.u8("v")).unwrap(), Some(7));
        assert_eq!(read_optional(&mut r, "f", |r| r.u8("v")).unwrap(), None);
    }
}
