//! Attributes to read ([`AttributeRef`]), the object list ([`ObjectListEntry`]), SN names.

use super::ReadError;
use crate::dlms::access::ObjectAccess;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{AttributeDescriptor, SelectiveAccess};

/// One attribute to read.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRef {
    /// Interface class.
    pub class_id: u16,
    /// Logical name.
    pub obis: Obis,
    /// Attribute index.
    pub attribute: i8,
    /// Selective access (profile buffers).
    pub access: Option<SelectiveAccess>,
}

impl AttributeRef {
    /// An attribute without selective access.
    pub fn new(class_id: u16, obis: Obis, attribute: i8) -> Self {
        AttributeRef {
            class_id,
            obis,
            attribute,
            access: None,
        }
    }

    pub(super) fn descriptor(&self) -> AttributeDescriptor {
        AttributeDescriptor {
            class_id: self.class_id,
            instance: self.obis,
            attribute: self.attribute,
        }
    }
}

/// One entry of a meter's object list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectListEntry {
    /// Interface class.
    pub class_id: u16,
    /// Class version.
    pub version: u8,
    /// Logical name.
    pub obis: Obis,
    /// SN base name (SN referencing only).
    pub short_name: Option<u16>,
    /// What this association may do with the object (LN lists say; SN lists do not).
    pub access: Option<ObjectAccess>,
}

/// Parses attribute 2 of the association object (LN class 15 or SN class 12).
pub fn parse_object_list(data: &Data) -> Result<Vec<ObjectListEntry>, ReadError> {
    let bad = |why: &str| ReadError::Decode(format!("object list: {why}"));
    let Data::Array(items) = data else {
        return Err(bad("not an array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Data::Structure(f) = item else {
                return Err(bad(&format!("element {i} is not a structure")));
            };
            // SN: {base_name long, class long-unsigned, version unsigned, LN};
            // LN: {class long-unsigned, version unsigned, LN, access_rights}.
            let (short_name, rest) = match f.first() {
                Some(Data::Long(sn)) => (Some(*sn as u16), &f[1..]),
                _ => (None, &f[..]),
            };
            let class_id = match rest.first() {
                Some(Data::LongUnsigned(c)) => *c,
                _ => return Err(bad(&format!("element {i} has no class id"))),
            };
            let version = match rest.get(1) {
                Some(Data::Unsigned(v)) => *v,
                _ => return Err(bad(&format!("element {i} has no version"))),
            };
            let obis = rest
                .get(2)
                .and_then(Data::as_obis)
                .ok_or_else(|| bad(&format!("element {i} has no logical name")))?;
            Ok(ObjectListEntry {
                class_id,
                version,
                obis,
                short_name,
                access: rest.get(3).and_then(ObjectAccess::from_data),
            })
        })
        .collect()
}

/// Variable name of attribute `attr` of an SN object at `base`.
pub fn sn_attribute_name(base: u16, attr: i8) -> u16 {
    base.wrapping_add(((attr.max(1) as u16) - 1) * 8)
}
