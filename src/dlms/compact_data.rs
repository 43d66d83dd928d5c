//! Compact data (interface class 62, IEC 62056-6-2): a meter captures the values of its
//! capture objects into one octet-string, `compact_buffer` (attribute 2), sent as contents
//! only — the first octet is the `template_id` (attribute 4), then each captured value without
//! its tag, as the `template_description` (attribute 5, a [`TypeDescription`], normally a
//! structure with one type per capture object) says. A reader needs the template to read the
//! buffer: given by configuration, or sent just before the buffer (descriptor then values).

use super::axdr::{DecodeError, Reader};
use super::data::{Data, TypeDescription};
use super::obis::Obis;
use thiserror::Error;

/// The compact data interface class.
pub const CLASS_ID: u16 = 62;
/// Its compact_buffer attribute.
pub const COMPACT_BUFFER: i8 = 2;

/// One template: how the buffers that start with its id are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactTemplate {
    /// The template_id a buffer starts with.
    pub template_id: u8,
    /// The types of the captured values.
    pub description: TypeDescription,
    /// The logical names of the capture objects, in order (empty when not known).
    pub capture_objects: Vec<Obis>,
}

/// Why a compact buffer cannot be read or built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CompactError {
    /// An empty buffer (not even a template_id).
    #[error("the compact buffer is empty")]
    Empty,
    /// No template with the buffer's id.
    #[error("no template for compact buffer template_id {0}")]
    NoTemplate(u8),
    /// The contents do not fit the template.
    #[error("the compact buffer does not fit template {template_id}: {source}")]
    Contents {
        /// The template tried.
        template_id: u8,
        /// What did not fit, and where in the contents.
        source: DecodeError,
    },
    /// Values that are not of the template's types.
    #[error("the values are not of the types of template {0}")]
    WrongTypes(u8),
}

impl CompactTemplate {
    /// A template from the template_description's bytes.
    pub fn new(
        template_id: u8,
        description: &[u8],
        capture_objects: Vec<Obis>,
    ) -> Result<Self, DecodeError> {
        Ok(CompactTemplate {
            template_id,
            description: TypeDescription::decode(description)?,
            capture_objects,
        })
    }

    /// The buffer holding `values` (a structure when the description is one).
    pub fn encode(&self, values: &Data) -> Result<Vec<u8>, CompactError> {
        let mut out = vec![self.template_id];
        if !self.description.encode_contents(values, &mut out) {
            return Err(CompactError::WrongTypes(self.template_id));
        }
        Ok(out)
    }

    /// The captured values of a buffer with this template's id: the elements of the
    /// structure the description names (one value for any other description).
    pub fn decode(&self, buffer: &[u8]) -> Result<Vec<Data>, CompactError> {
        let contents = match buffer.split_first() {
            None => return Err(CompactError::Empty),
            Some((&id, _)) if id != self.template_id => return Err(CompactError::NoTemplate(id)),
            Some((_, rest)) => rest,
        };
        let bad = |source| CompactError::Contents {
            template_id: self.template_id,
            source,
        };
        let mut r = Reader::new(contents);
        let data = self.description.decode_contents(&mut r).map_err(bad)?;
        r.finish("compact buffer").map_err(bad)?;
        Ok(match data {
            Data::Structure(v) => v,
            other => vec![other],
        })
    }
}

/// The captured values of `buffer`, read with the template its first octet names.
pub fn decode_buffer<'a>(
    buffer: &[u8],
    templates: &'a [CompactTemplate],
) -> Result<(&'a CompactTemplate, Vec<Data>), CompactError> {
    let id = *buffer.first().ok_or(CompactError::Empty)?;
    let t = templates
        .iter()
        .find(|t| t.template_id == id)
        .ok_or(CompactError::NoTemplate(id))?;
    Ok((t, t.decode(buffer)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::unhex;
    use proptest::prelude::*;

    /// Template 1: {double-long-unsigned energy, long-unsigned voltage, octet-string id}.
    fn template() -> CompactTemplate {
        CompactTemplate::new(
            1,
            &unhex("02 03 06 12 09"),
            vec![
                Obis::new(1, 0, 1, 8, 0, 255),
                Obis::new(1, 0, 32, 7, 0, 255),
                Obis::new(0, 0, 96, 1, 0, 255),
            ],
        )
        .unwrap()
    }

    #[test]
    fn known_bytes() {
        let values = Data::Structure(vec![
            Data::DoubleLongUnsigned(12345),
            Data::LongUnsigned(2301),
            Data::OctetString(b"A1".to_vec()),
        ]);
        let t = template();
        let buffer = t.encode(&values).unwrap();
        // template_id, then contents only: 4 + 2 bytes, the string's length and bytes.
        assert_eq!(buffer, unhex("01 00003039 08FD 02 4131"));
        let ts = [t.clone()];
        let (found, v) = decode_buffer(&buffer, &ts).unwrap();
        assert_eq!(found.template_id, 1);
        assert_eq!(Data::Structure(v), values);
        assert_eq!(t.description.encode(), unhex("02 03 06 12 09"));
    }

    #[test]
    fn errors_say_what() {
        let t = template();
        let ts = [t.clone()];
        assert_eq!(decode_buffer(&[], &ts), Err(CompactError::Empty));
        assert_eq!(
            decode_buffer(&[7, 0], std::slice::from_ref(&t))
                .unwrap_err()
                .to_string(),
            "no template for compact buffer template_id 7"
        );
        let short = unhex("01 00003039 08");
        assert!(matches!(
            t.decode(&short),
            Err(CompactError::Contents { template_id: 1, .. })
        ));
        let long = unhex("01 00003039 08FD 02 4131 00");
        assert!(t.decode(&long).is_err(), "bytes after the values");
        assert_eq!(
            t.encode(&Data::Structure(vec![Data::Unsigned(1)])),
            Err(CompactError::WrongTypes(1))
        );
    }

    fn simple() -> impl Strategy<Value = Data> {
        prop_oneof![
            any::<u32>().prop_map(Data::DoubleLongUnsigned),
            any::<i32>().prop_map(Data::DoubleLong),
            any::<u16>().prop_map(Data::LongUnsigned),
            any::<i16>().prop_map(Data::Long),
            any::<u8>().prop_map(Data::Unsigned),
            any::<u8>().prop_map(Data::Enum),
            any::<i64>().prop_map(Data::Long64),
            any::<bool>().prop_map(Data::Boolean),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Data::OctetString),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Data::VisibleString),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(id: u8, values in proptest::collection::vec(simple(), 1..12)) {
            let values = Data::Structure(values);
            let description = TypeDescription::of(&values).unwrap();
            let t = CompactTemplate { template_id: id, description, capture_objects: Vec::new() };
            let buffer = t.encode(&values).unwrap();
            let again = CompactTemplate::new(id, &t.description.encode(), Vec::new()).unwrap();
            prop_assert_eq!(Data::Structure(again.decode(&buffer).unwrap()), values);
        }

        #[test]
        fn never_panics(desc in proptest::collection::vec(any::<u8>(), 0..12),
                        buffer in proptest::collection::vec(any::<u8>(), 0..60)) {
            if let Ok(t) = CompactTemplate::new(buffer.first().copied().unwrap_or(0), &desc, Vec::new()) {
                let _ = t.decode(&buffer);
            }
        }
    }
}
