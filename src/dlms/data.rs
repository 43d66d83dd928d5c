//! A-XDR `Data`: the tagged values COSEM attributes carry.

use super::axdr::{write_length, DecodeError, Reader};
use super::datetime::{CosemDate, CosemDateTime, CosemTime};
use std::fmt;

/// Deepest nesting of arrays/structures accepted from the outside.
pub const MAX_DEPTH: usize = 32;

/// A bit-string: `bits` bits, the first one the MSB of `bytes[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitString {
    /// Number of bits.
    pub bits: usize,
    /// ceil(bits/8) bytes.
    pub bytes: Vec<u8>,
}

/// One COSEM data value (tags from the Blue Book `Data` CHOICE).
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// 0 null-data.
    Null,
    /// 1 array.
    Array(Vec<Data>),
    /// 2 structure.
    Structure(Vec<Data>),
    /// 3 boolean.
    Boolean(bool),
    /// 4 bit-string.
    BitString(BitString),
    /// 5 double-long (int32).
    DoubleLong(i32),
    /// 6 double-long-unsigned (uint32).
    DoubleLongUnsigned(u32),
    /// 9 octet-string.
    OctetString(Vec<u8>),
    /// 10 visible-string.
    VisibleString(Vec<u8>),
    /// 12 utf8-string.
    Utf8String(Vec<u8>),
    /// 13 bcd.
    Bcd(u8),
    /// 15 integer (int8).
    Integer(i8),
    /// 16 long (int16).
    Long(i16),
    /// 17 unsigned (uint8).
    Unsigned(u8),
    /// 18 long-unsigned (uint16).
    LongUnsigned(u16),
    /// 20 long64.
    Long64(i64),
    /// 21 long64-unsigned.
    Long64Unsigned(u64),
    /// 22 enum.
    Enum(u8),
    /// 23 float32.
    Float32(f32),
    /// 24 float64.
    Float64(f64),
    /// 25 date-time.
    DateTime(CosemDateTime),
    /// 26 date.
    Date(CosemDate),
    /// 27 time.
    Time(CosemTime),
    /// 28 delta-integer.
    DeltaInteger(i8),
    /// 29 delta-long.
    DeltaLong(i16),
    /// 30 delta-double-long.
    DeltaDoubleLong(i32),
    /// 31 delta-unsigned.
    DeltaUnsigned(u8),
    /// 32 delta-long-unsigned.
    DeltaLongUnsigned(u16),
    /// 33 delta-double-long-unsigned.
    DeltaDoubleLongUnsigned(u32),
    /// 255 dont-care.
    DontCare,
}

/// Element type of a compact-array (the TypeDescription).
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeDesc {
    Simple(u8),
    Structure(Vec<TypeDesc>),
    Array(u16, Box<TypeDesc>),
}

impl Data {
    /// The value as people read it: an octet string that holds a date-time (a clock's time
    /// attribute) as that date-time, anything else as it displays.
    pub fn shown(&self) -> String {
        match self {
            Data::OctetString(b) => match CosemDateTime::from_octets(b) {
                Some(t) => t.to_string(),
                None => self.to_string(),
            },
            d => d.to_string(),
        }
    }

    /// Decodes exactly one value that fills `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Data, DecodeError> {
        let mut r = Reader::new(bytes);
        let d = Data::decode(&mut r)?;
        r.finish("data")?;
        Ok(d)
    }

    /// Decodes one value at the reader's position.
    pub fn decode(r: &mut Reader) -> Result<Data, DecodeError> {
        decode_depth(r, 0)
    }

    /// The encoded bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Appends the encoding of this value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        self.encode_body(out);
    }

    /// The A-XDR type tag.
    pub fn tag(&self) -> u8 {
        match self {
            Data::Null => 0,
            Data::Array(_) => 1,
            Data::Structure(_) => 2,
            Data::Boolean(_) => 3,
            Data::BitString(_) => 4,
            Data::DoubleLong(_) => 5,
            Data::DoubleLongUnsigned(_) => 6,
            Data::OctetString(_) => 9,
            Data::VisibleString(_) => 10,
            Data::Utf8String(_) => 12,
            Data::Bcd(_) => 13,
            Data::Integer(_) => 15,
            Data::Long(_) => 16,
            Data::Unsigned(_) => 17,
            Data::LongUnsigned(_) => 18,
            Data::Long64(_) => 20,
            Data::Long64Unsigned(_) => 21,
            Data::Enum(_) => 22,
            Data::Float32(_) => 23,
            Data::Float64(_) => 24,
            Data::DateTime(_) => 25,
            Data::Date(_) => 26,
            Data::Time(_) => 27,
            Data::DeltaInteger(_) => 28,
            Data::DeltaLong(_) => 29,
            Data::DeltaDoubleLong(_) => 30,
            Data::DeltaUnsigned(_) => 31,
            Data::DeltaLongUnsigned(_) => 32,
            Data::DeltaDoubleLongUnsigned(_) => 33,
            Data::DontCare => 255,
        }
    }

    /// The standard's name of this value's type.
    pub fn type_name(&self) -> &'static str {
        type_name(self.tag())
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Data::Null | Data::DontCare => {}
            Data::Array(v) | Data::Structure(v) => {
                write_length(out, v.len());
                for d in v {
                    d.encode(out);
                }
            }
            Data::Boolean(b) => out.push(u8::from(*b)),
            Data::BitString(b) => {
                write_length(out, b.bits);
                out.extend_from_slice(&b.bytes);
            }
            Data::DoubleLong(v) | Data::DeltaDoubleLong(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Data::DoubleLongUnsigned(v) | Data::DeltaDoubleLongUnsigned(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Data::OctetString(s) | Data::VisibleString(s) | Data::Utf8String(s) => {
                write_length(out, s.len());
                out.extend_from_slice(s);
            }
            Data::Bcd(v) | Data::Unsigned(v) | Data::Enum(v) | Data::DeltaUnsigned(v) => {
                out.push(*v)
            }
            Data::Integer(v) | Data::DeltaInteger(v) => out.push(*v as u8),
            Data::Long(v) | Data::DeltaLong(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::LongUnsigned(v) | Data::DeltaLongUnsigned(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Data::Long64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Long64Unsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Float32(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Float64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::DateTime(v) => v.encode(out),
            Data::Date(v) => v.encode(out),
            Data::Time(v) => v.encode(out),
        }
    }

    /// The value as an integer, for integer types.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Data::DoubleLong(v) | Data::DeltaDoubleLong(v) => v as i128,
            Data::DoubleLongUnsigned(v) | Data::DeltaDoubleLongUnsigned(v) => v as i128,
            Data::Integer(v) | Data::DeltaInteger(v) => v as i128,
            Data::Long(v) | Data::DeltaLong(v) => v as i128,
            Data::Unsigned(v) | Data::DeltaUnsigned(v) | Data::Enum(v) | Data::Bcd(v) => v as i128,
            Data::LongUnsigned(v) | Data::DeltaLongUnsigned(v) => v as i128,
            Data::Long64(v) => v as i128,
            Data::Long64Unsigned(v) => v as i128,
            _ => return None,
        })
    }

    /// The value as a number, for integer and float types.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Data::Float32(v) => Some(v as f64),
            Data::Float64(v) => Some(v),
            Data::Boolean(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => self.as_i128().map(|v| v as f64),
        }
    }

    /// The value as an exact decimal, for integer and float types (a float by the decimal it
    /// prints as: an `f32` 230.7 is 230.7); `None` for others, booleans included.
    pub fn as_decimal(&self) -> Option<super::unit::Decimal> {
        use super::unit::Decimal;
        match *self {
            Data::Float32(v) => Decimal::from_f32(v),
            Data::Float64(v) => Decimal::from_f64(v),
            _ => self.as_i128().map(Decimal::from_int),
        }
    }

    /// The date-time carried either as tag 25 or as a 12-byte octet-string.
    pub fn as_date_time(&self) -> Option<CosemDateTime> {
        match self {
            Data::DateTime(d) => Some(*d),
            Data::OctetString(b) => CosemDateTime::from_octets(b),
            _ => None,
        }
    }

    /// The 6-byte logical name carried as an octet-string.
    pub fn as_obis(&self) -> Option<super::obis::Obis> {
        match self {
            Data::OctetString(b) if b.len() == 6 => {
                let mut a = [0u8; 6];
                a.copy_from_slice(b);
                Some(super::obis::Obis(a))
            }
            _ => None,
        }
    }
}

/// The standard's name of a type tag.
pub fn type_name(tag: u8) -> &'static str {
    match tag {
        0 => "null-data",
        1 => "array",
        2 => "structure",
        3 => "boolean",
        4 => "bit-string",
        5 => "double-long",
        6 => "double-long-unsigned",
        9 => "octet-string",
        10 => "visible-string",
        12 => "utf8-string",
        13 => "bcd",
        15 => "integer",
        16 => "long",
        17 => "unsigned",
        18 => "long-unsigned",
        19 => "compact-array",
        20 => "long64",
        21 => "long64-unsigned",
        22 => "enum",
        23 => "float32",
        24 => "float64",
        25 => "date-time",
        26 => "date",
        27 => "time",
        28 => "delta-integer",
        29 => "delta-long",
        30 => "delta-double-long",
        31 => "delta-unsigned",
        32 => "delta-long-unsigned",
        33 => "delta-double-long-unsigned",
        255 => "dont-care",
        _ => "unknown",
    }
}

fn decode_depth(r: &mut Reader, depth: usize) -> Result<Data, DecodeError> {
    let at = r.position();
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep { max: MAX_DEPTH, at });
    }
    let tag = r.u8("data type tag")?;
    match tag {
        1 | 2 => {
            let n = r.bounded_length(
                if tag == 1 {
                    "array count"
                } else {
                    "structure count"
                },
                1,
            )?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(decode_depth(r, depth + 1)?);
            }
            Ok(if tag == 1 {
                Data::Array(v)
            } else {
                Data::Structure(v)
            })
        }
        19 => decode_compact_array(r, depth),
        _ => decode_simple(r, tag, at),
    }
}

/// Decodes the body of a non-container type whose tag was already read.
fn decode_simple(r: &mut Reader, tag: u8, at: usize) -> Result<Data, DecodeError> {
    Ok(match tag {
        0 => Data::Null,
        3 => Data::Boolean(r.u8("boolean")? != 0),
        4 => {
            let bits = r.length("bit-string length")?;
            let n = bits.div_ceil(8);
            Data::BitString(BitString {
                bits,
                bytes: r.bytes(n, "bit-string")?.to_vec(),
            })
        }
        5 => Data::DoubleLong(r.u32("double-long")? as i32),
        6 => Data::DoubleLongUnsigned(r.u32("double-long-unsigned")?),
        9 | 10 | 12 => {
            let what = type_name(tag);
            let n = r.length(what)?;
            let s = r.bytes(n, what)?.to_vec();
            match tag {
                9 => Data::OctetString(s),
                10 => Data::VisibleString(s),
                _ => Data::Utf8String(s),
            }
        }
        13 => Data::Bcd(r.u8("bcd")?),
        15 => Data::Integer(r.u8("integer")? as i8),
        16 => Data::Long(r.u16("long")? as i16),
        17 => Data::Unsigned(r.u8("unsigned")?),
        18 => Data::LongUnsigned(r.u16("long-unsigned")?),
        20 => Data::Long64(r.u64("long64")? as i64),
        21 => Data::Long64Unsigned(r.u64("long64-unsigned")?),
        22 => Data::Enum(r.u8("enum")?),
        23 => Data::Float32(f32::from_be_bytes(r.array("float32")?)),
        24 => Data::Float64(f64::from_be_bytes(r.array("float64")?)),
        25 => Data::DateTime(CosemDateTime::decode(r)?),
        26 => Data::Date(CosemDate::decode(r)?),
        27 => Data::Time(CosemTime::decode(r)?),
        28 => Data::DeltaInteger(r.u8("delta-integer")? as i8),
        29 => Data::DeltaLong(r.u16("delta-long")? as i16),
        30 => Data::DeltaDoubleLong(r.u32("delta-double-long")? as i32),
        31 => Data::DeltaUnsigned(r.u8("delta-unsigned")?),
        32 => Data::DeltaLongUnsigned(r.u16("delta-long-unsigned")?),
        33 => Data::DeltaDoubleLongUnsigned(r.u32("delta-double-long-unsigned")?),
        255 => Data::DontCare,
        _ => {
            return Err(DecodeError::UnknownTag {
                what: "data type tag",
                tag,
                at,
            })
        }
    })
}

fn decode_type_desc(r: &mut Reader, depth: usize) -> Result<TypeDesc, DecodeError> {
    let at = r.position();
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep { max: MAX_DEPTH, at });
    }
    match r.u8("compact-array type description")? {
        1 => {
            let n = r.u16("compact-array element count")?;
            let element = decode_type_desc(r, depth + 1)?;
            if min_size(&element) == 0 {
                // Nested counts around empty elements multiply into billions of values.
                return Err(DecodeError::Invalid {
                    what: "compact-array type description",
                    at,
                    reason: "array element type has no content".into(),
                });
            }
            Ok(TypeDesc::Array(n, Box::new(element)))
        }
        2 => {
            let n = r.bounded_length("compact-array structure count", 1)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(decode_type_desc(r, depth + 1)?);
            }
            Ok(TypeDesc::Structure(v))
        }
        19 => Err(DecodeError::Invalid {
            what: "compact-array type description",
            at,
            reason: "a compact-array cannot contain a compact-array".into(),
        }),
        t if type_name(t) != "unknown" => Ok(TypeDesc::Simple(t)),
        t => Err(DecodeError::UnknownTag {
            what: "compact-array element type",
            tag: t,
            at,
        }),
    }
}

fn decode_untagged(r: &mut Reader, desc: &TypeDesc, depth: usize) -> Result<Data, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep {
            max: MAX_DEPTH,
            at: r.position(),
        });
    }
    match desc {
        TypeDesc::Simple(t) => decode_simple(r, *t, r.position()),
        TypeDesc::Structure(items) => items
            .iter()
            .map(|d| decode_untagged(r, d, depth + 1))
            .collect::<Result<_, _>>()
            .map(Data::Structure),
        TypeDesc::Array(n, d) => {
            // Every element takes at least min_size bytes: a count the input cannot hold is
            // refused before looping (a nested count of 50177 × 19 × 3078 once took 2 GB).
            let need = (*n as usize).saturating_mul(min_size(d));
            if need > r.remaining() {
                return Err(DecodeError::BadLength {
                    at: r.position(),
                    reason: format!(
                        "compact-array of {n} elements needs at least {need} bytes, {} left",
                        r.remaining()
                    ),
                });
            }
            let mut v = Vec::with_capacity(*n as usize);
            for _ in 0..*n {
                v.push(decode_untagged(r, d, depth + 1)?);
            }
            Ok(Data::Array(v))
        }
    }
}

/// The fewest bytes an untagged value of this type takes in compact-array contents.
fn min_size(desc: &TypeDesc) -> usize {
    match desc {
        TypeDesc::Simple(t) => match t {
            0 | 255 => 0,
            16 | 18 | 29 | 32 => 2,
            5 | 6 | 23 | 30 | 33 | 27 => 4,
            26 => 5,
            20 | 21 | 24 => 8,
            25 => 12,
            // One byte: the fixed one-byte types, and the length of strings and bit-strings.
            _ => 1,
        },
        TypeDesc::Structure(items) => items
            .iter()
            .fold(0usize, |a, d| a.saturating_add(min_size(d))),
        TypeDesc::Array(n, d) => (*n as usize).saturating_mul(min_size(d)),
    }
}

/// A TypeDescription (IEC 62056-6-2): the element type of a compact-array, and the template of
/// a compact data object's buffer (`template_description`). Values described by one are sent
/// as contents only: no tags, no structure or array counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDescription(TypeDesc);

impl TypeDescription {
    /// Reads a whole TypeDescription (`02 <n> <types>…`, `01 <n u16> <type>`, or one type tag).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let d = decode_type_desc(&mut r, 0)?;
        r.finish("type description")?;
        Ok(TypeDescription(d))
    }

    /// The description of `data`'s type; `None` when it has none (an empty array, whose
    /// element type is unknown, a compact-array, or arrays whose elements differ in type).
    pub fn of(data: &Data) -> Option<Self> {
        fn desc(d: &Data) -> Option<TypeDesc> {
            Some(match d {
                Data::Structure(v) => {
                    TypeDesc::Structure(v.iter().map(desc).collect::<Option<_>>()?)
                }
                Data::Array(v) => {
                    let first = desc(v.first()?)?;
                    if v.iter().skip(1).any(|e| desc(e).as_ref() != Some(&first)) {
                        return None;
                    }
                    TypeDesc::Array(u16::try_from(v.len()).ok()?, Box::new(first))
                }
                other => TypeDesc::Simple(other.tag()),
            })
        }
        desc(data).map(TypeDescription)
    }

    /// The encoded description.
    pub fn encode(&self) -> Vec<u8> {
        fn enc(d: &TypeDesc, out: &mut Vec<u8>) {
            match d {
                TypeDesc::Simple(t) => out.push(*t),
                TypeDesc::Structure(v) => {
                    out.push(2);
                    write_length(out, v.len());
                    v.iter().for_each(|e| enc(e, out));
                }
                TypeDesc::Array(n, e) => {
                    out.push(1);
                    out.extend_from_slice(&n.to_be_bytes());
                    enc(e, out);
                }
            }
        }
        let mut out = Vec::new();
        enc(&self.0, &mut out);
        out
    }

    /// How many values a structure description describes (1 for any other).
    pub fn elements(&self) -> usize {
        match &self.0 {
            TypeDesc::Structure(v) => v.len(),
            _ => 1,
        }
    }

    /// Reads one value of this type from contents (untagged).
    pub fn decode_contents(&self, r: &mut Reader) -> Result<Data, DecodeError> {
        decode_untagged(r, &self.0, 0)
    }

    /// Writes `data` as contents of this type (untagged); `false` (and nothing reliable
    /// written) when `data` is not of this type.
    pub fn encode_contents(&self, data: &Data, out: &mut Vec<u8>) -> bool {
        fn enc(d: &TypeDesc, data: &Data, out: &mut Vec<u8>) -> bool {
            match (d, data) {
                (TypeDesc::Structure(ts), Data::Structure(v)) => {
                    ts.len() == v.len() && ts.iter().zip(v).all(|(t, e)| enc(t, e, out))
                }
                (TypeDesc::Array(n, t), Data::Array(v)) => {
                    usize::from(*n) == v.len() && v.iter().all(|e| enc(t, e, out))
                }
                (TypeDesc::Simple(t), d) if *t == d.tag() && !matches!(t, 1 | 2 | 19) => {
                    d.encode_body(out);
                    true
                }
                _ => false,
            }
        }
        enc(&self.0, data, out)
    }
}

/// `13 <TypeDescription> <length of contents> <contents>`, decoded into an [`Data::Array`].
fn decode_compact_array(r: &mut Reader, depth: usize) -> Result<Data, DecodeError> {
    let at = r.position();
    let desc = decode_type_desc(r, depth + 1)?;
    if min_size(&desc) == 0 {
        // Elements of no content would repeat for ever (or billions of times when nested).
        return Err(DecodeError::Invalid {
            what: "compact-array",
            at,
            reason: "element type has no content".into(),
        });
    }
    let len = r.length("compact-array contents length")?;
    let start = r.position();
    let contents = r.bytes(len, "compact-array contents")?;
    let mut inner = Reader::new(contents);
    let mut v = Vec::new();
    while !inner.is_empty() {
        let before = inner.remaining();
        v.push(decode_untagged(&mut inner, &desc, depth + 1).map_err(|e| shift(e, start))?);
        if inner.remaining() == before {
            // An element type of zero bytes (null-data) would loop for ever.
            return Err(DecodeError::Invalid {
                what: "compact-array",
                at: start,
                reason: "element type has no content".into(),
            });
        }
    }
    Ok(Data::Array(v))
}

/// Moves an error offset from a sub-reader to the outer input.
fn shift(e: DecodeError, by: usize) -> DecodeError {
    match e {
        DecodeError::Truncated {
            what,
            at,
            needed,
            available,
        } => DecodeError::Truncated {
            what,
            at: at + by,
            needed,
            available,
        },
        DecodeError::BadLength { at, reason } => DecodeError::BadLength {
            at: at + by,
            reason,
        },
        DecodeError::UnknownTag { what, tag, at } => DecodeError::UnknownTag {
            what,
            tag,
            at: at + by,
        },
        DecodeError::Invalid { what, at, reason } => DecodeError::Invalid {
            what,
            at: at + by,
            reason,
        },
        DecodeError::Trailing { what, at, count } => DecodeError::Trailing {
            what,
            at: at + by,
            count,
        },
        DecodeError::TooDeep { max, at } => DecodeError::TooDeep { max, at: at + by },
    }
}

/// Octets as text when they are printable ASCII, else as hex.
pub fn octets_to_text(b: &[u8]) -> String {
    if !b.is_empty() && b.iter().all(|c| (0x20..0x7F).contains(c)) {
        String::from_utf8_lossy(b).into_owned()
    } else {
        hex(b)
    }
}

/// Upper-case hex without separators.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

impl fmt::Display for Data {
    /// Human form: numbers plain, strings as text (octets as hex unless printable), date-times
    /// as ISO 8601 (also when sent as a 12-byte octet-string), containers in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Null => f.write_str("null"),
            Data::DontCare => f.write_str("dont-care"),
            Data::Array(v) | Data::Structure(v) => {
                let (open, close) = if matches!(self, Data::Array(_)) {
                    ('[', ']')
                } else {
                    ('{', '}')
                };
                write!(f, "{open}")?;
                for (i, d) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                write!(f, "{close}")
            }
            Data::Boolean(b) => write!(f, "{b}"),
            Data::BitString(b) => {
                for i in 0..b.bits {
                    let bit = b
                        .bytes
                        .get(i / 8)
                        .map(|x| x >> (7 - i % 8) & 1)
                        .unwrap_or(0);
                    write!(f, "{bit}")?;
                }
                Ok(())
            }
            Data::OctetString(b) => match CosemDateTime::from_octets(b) {
                Some(dt) if dt.naive().is_some() => write!(f, "{dt}"),
                _ => f.write_str(&octets_to_text(b)),
            },
            Data::VisibleString(b) | Data::Utf8String(b) => {
                f.write_str(&String::from_utf8_lossy(b))
            }
            Data::Float32(v) => write!(f, "{v}"),
            Data::Float64(v) => write!(f, "{v}"),
            Data::DateTime(d) => write!(f, "{d}"),
            Data::Date(d) => write!(f, "{d}"),
            Data::Time(t) => write!(f, "{t}"),
            other => write!(f, "{}", other.as_i128().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(hex: &str) -> Data {
        Data::from_bytes(&unhex(hex)).unwrap()
    }

    /// Hex text (spaces allowed) to bytes, for vectors.
    pub fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn simple_vectors() {
        assert_eq!(dec("06 00001391"), Data::DoubleLongUnsigned(5009));
        assert_eq!(dec("10 003C"), Data::Long(60));
        assert_eq!(dec("09 05 5630343131").to_string(), "V0411");
        assert_eq!(dec("12 0903"), Data::LongUnsigned(2307));
        assert_eq!(
            dec("02 02 0F FF 16 23"),
            Data::Structure(vec![Data::Integer(-1), Data::Enum(35)])
        );
        assert_eq!(
            dec("03 05"),
            Data::Boolean(true),
            "any non-zero byte is true"
        );
        assert_eq!(dec("04 0A C0 40").to_string(), "1100000001");
        assert_eq!(dec("17 3FC00000"), Data::Float32(1.5));
        assert_eq!(dec("FF"), Data::DontCare);
        assert_eq!(dec("1C FF"), Data::DeltaInteger(-1));
    }

    #[test]
    fn clock_as_octet_string_displays_iso() {
        let d = dec("09 0C 07D20C04030A060BFF007800");
        assert_eq!(d.to_string(), "2002-12-04T10:06:11-02:00");
        assert!(d.as_date_time().is_some());
    }

    #[test]
    fn block_transfer_vector_array() {
        // GS get_test: the joined raw data of three blocks is an array of 5 u32 values 1..5.
        let d = dec("01 05 06 00000001 06 00000002 06 00000003 06 00000004 06 00000005");
        assert_eq!(
            d,
            Data::Array((1..=5).map(Data::DoubleLongUnsigned).collect())
        );
    }

    #[test]
    fn object_list_element() {
        // Kamstrup object_list element from the notes.
        let d = dec("02 04 12 0001 11 00 09 06 00002A0000FF 02 02 01 02 02 03 0F 01 16 01 00 02 03 0F 02 16 01 00 01 00");
        let Data::Structure(v) = d else { panic!() };
        assert_eq!(v[0], Data::LongUnsigned(1));
        assert_eq!(v[2].as_obis().unwrap().to_string(), "0.0.42.0.0.255");
    }

    #[test]
    fn compact_array_is_decoded() {
        // array-of structure{u16, octet-string}: TypeDescription 02 02 12 09.
        let d = dec("13 02 02 12 09 09 0001 02 4142 0002 01 43");
        assert_eq!(
            d,
            Data::Array(vec![
                Data::Structure(vec![
                    Data::LongUnsigned(1),
                    Data::OctetString(b"AB".to_vec())
                ]),
                Data::Structure(vec![
                    Data::LongUnsigned(2),
                    Data::OctetString(b"C".to_vec())
                ]),
            ])
        );
        // Simple element type with an inner array description.
        assert_eq!(
            dec("13 01 0002 11 04 01 02 03 04"),
            Data::Array(vec![
                Data::Array(vec![Data::Unsigned(1), Data::Unsigned(2)]),
                Data::Array(vec![Data::Unsigned(3), Data::Unsigned(4)])
            ])
        );
        assert!(
            Data::from_bytes(&unhex("13 00 02 00 00")).is_err(),
            "null elements refused"
        );
    }

    #[test]
    fn hostile_compact_arrays_are_refused_without_allocating() {
        // Found by fuzzing (fuzz/artifacts): nested array counts around null-data, and counts
        // far beyond the input; both once took over 2 GB.
        let apdu = unhex("c40101001301c401010013010c060006000000000000000000fff7ffff01010c05004800ffffff00c9c904000000000000300000");
        assert!(crate::dlms::xdlms::Apdu::decode(&apdu).is_err());
        let data = unhex("0101010500001301b7020102020201ff01ffffffffffffffffffffffffff7fffff00");
        assert!(Data::from_bytes(&data).is_err());
        assert!(Data::from_bytes(&unhex("13 01 C401 01 0013 01 0C06 00 00")).is_err());
        // A structure hiding nested arrays of dont-care (255) among sized items.
        let data = unhex("130204010101010101010401010108ff01010103030001010101010101010101010101030080ffff5b060100001fffff");
        assert!(Data::from_bytes(&data).is_err());
        let apdu = unhex("0c0200130202020201c0010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101030101010101010100600004040404ffff36ff000000000001010101dc01010101010000000000000000000000000000000000000000ffc002c401010101010103010101010101010101010101010101010101034c09");
        assert!(crate::dlms::xdlms::Apdu::decode(&apdu).is_err());
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = Data::from_bytes(&unhex("02 02 0F FF 16"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("enum") && e.contains("byte 5"), "{e}");
        let e = Data::from_bytes(&unhex("07 00")).unwrap_err().to_string();
        assert!(e.contains("0x07") && e.contains("byte 0"), "{e}");
        let e = Data::from_bytes(&unhex("01 84 FFFFFFFF 00"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("array count"), "{e}");
        let deep = "01 01 ".repeat(40) + "00";
        assert!(matches!(
            Data::from_bytes(&unhex(&deep)),
            Err(DecodeError::TooDeep { .. })
        ));
    }

    /// Any `Data` value (compact-array excluded: it decodes into an array).
    pub fn arb_data() -> impl Strategy<Value = Data> {
        let leaf = prop_oneof![
            Just(Data::Null),
            any::<bool>().prop_map(Data::Boolean),
            (0usize..40).prop_flat_map(|bits| proptest::collection::vec(
                any::<u8>(),
                bits.div_ceil(8)
            )
            .prop_map(move |bytes| Data::BitString(BitString { bits, bytes }))),
            any::<i32>().prop_map(Data::DoubleLong),
            any::<u32>().prop_map(Data::DoubleLongUnsigned),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Data::OctetString),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Data::VisibleString),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Data::Utf8String),
            any::<u8>().prop_map(Data::Bcd),
            any::<i8>().prop_map(Data::Integer),
            any::<i16>().prop_map(Data::Long),
            any::<u8>().prop_map(Data::Unsigned),
            any::<u16>().prop_map(Data::LongUnsigned),
            any::<i64>().prop_map(Data::Long64),
            any::<u64>().prop_map(Data::Long64Unsigned),
            any::<u8>().prop_map(Data::Enum),
            any::<f32>()
                .prop_filter("NaN != NaN", |v| !v.is_nan())
                .prop_map(Data::Float32),
            any::<f64>()
                .prop_filter("NaN != NaN", |v| !v.is_nan())
                .prop_map(Data::Float64),
            any::<[u8; 12]>().prop_map(|b| Data::DateTime(CosemDateTime::from_octets(&b).unwrap())),
            any::<[u8; 5]>()
                .prop_map(|b| Data::Date(CosemDate::decode(&mut Reader::new(&b)).unwrap())),
            any::<[u8; 4]>()
                .prop_map(|b| Data::Time(CosemTime::decode(&mut Reader::new(&b)).unwrap())),
            any::<i8>().prop_map(Data::DeltaInteger),
            any::<i16>().prop_map(Data::DeltaLong),
            any::<i32>().prop_map(Data::DeltaDoubleLong),
            any::<u8>().prop_map(Data::DeltaUnsigned),
            any::<u16>().prop_map(Data::DeltaLongUnsigned),
            any::<u32>().prop_map(Data::DeltaDoubleLongUnsigned),
            Just(Data::DontCare),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Data::Array),
                proptest::collection::vec(inner, 0..8).prop_map(Data::Structure),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(d in arb_data()) {
            let bytes = d.to_bytes();
            prop_assert_eq!(Data::from_bytes(&bytes).unwrap(), d);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Data::from_bytes(&b).map(|d| d.to_string());
        }

        #[test]
        fn truncations_are_errors(d in arb_data(), cut in any::<prop::sample::Index>()) {
            let bytes = d.to_bytes();
            let n = cut.index(bytes.len());
            prop_assert!(Data::from_bytes(&bytes[..n]).is_err());
        }
    }
}
