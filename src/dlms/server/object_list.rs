//! The object_list attribute of the association objects (LN and SN).

use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;

/// The object_list attribute of an Association LN (class 15) for these objects: every
/// attribute read-only, no methods listed.
pub fn object_list_ln(objects: &[ObjectListEntry], attribute_count: impl Fn(u16) -> u8) -> Data {
    Data::Array(
        objects
            .iter()
            .map(|o| {
                let attrs = (1..=attribute_count(o.class_id) as i8)
                    .map(|a| Data::Structure(vec![Data::Integer(a), Data::Enum(1), Data::Null]))
                    .collect();
                Data::Structure(vec![
                    Data::LongUnsigned(o.class_id),
                    Data::Unsigned(o.version),
                    Data::OctetString(o.obis.0.to_vec()),
                    Data::Structure(vec![Data::Array(attrs), Data::Array(vec![])]),
                ])
            })
            .collect(),
    )
}

/// The object_list attribute of an Association SN (class 12) for these objects.
pub fn object_list_sn(objects: &[ObjectListEntry]) -> Data {
    Data::Array(
        objects
            .iter()
            .map(|o| {
                Data::Structure(vec![
                    Data::Long(o.short_name.unwrap_or(0) as i16),
                    Data::LongUnsigned(o.class_id),
                    Data::Unsigned(o.version),
                    Data::OctetString(o.obis.0.to_vec()),
                ])
            })
            .collect(),
    )
}
