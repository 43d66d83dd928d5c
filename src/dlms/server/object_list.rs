//! The object_list attribute of the association objects (LN and SN), and the access rights an
//! Association LN lists for each object.

use crate::dlms::access::ObjectAccess;
use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;

/// The object_list attribute of an Association LN (class 15, version 1) for these objects,
/// with each object's access rights: `{attribute_access [{id, mode, null}], method_access
/// [{id, mode}]}`, method modes as enums (0 no access, 1 access).
pub fn object_list_ln(
    objects: &[ObjectListEntry],
    access: impl Fn(&ObjectListEntry) -> ObjectAccess,
) -> Data {
    Data::Array(
        objects
            .iter()
            .map(|o| {
                Data::Structure(vec![
                    Data::LongUnsigned(o.class_id),
                    Data::Unsigned(o.version),
                    Data::OctetString(o.obis.0.to_vec()),
                    access(o).to_data(),
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
