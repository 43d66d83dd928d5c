//! The object_list attribute of the association objects (LN and SN), and the access rights an
//! Association LN lists for each object.

use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;

/// An attribute's access mode as the Association LN lists it (Blue Book, class 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeAccess {
    /// 0: no access.
    NoAccess,
    /// 1: read only.
    Read,
    /// 2: write only.
    Write,
    /// 3: read and write.
    ReadWrite,
}

impl AttributeAccess {
    /// The enum value on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            AttributeAccess::NoAccess => 0,
            AttributeAccess::Read => 1,
            AttributeAccess::Write => 2,
            AttributeAccess::ReadWrite => 3,
        }
    }

    /// True for write and read-write.
    pub fn writable(self) -> bool {
        matches!(self, AttributeAccess::Write | AttributeAccess::ReadWrite)
    }
}

/// What a client may do with one object: one mode per attribute (from 1), and per method
/// (from 1) whether it may be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectAccess {
    /// Attribute 1 first.
    pub attributes: Vec<AttributeAccess>,
    /// Method 1 first: true when it may be called.
    pub methods: Vec<bool>,
}

impl ObjectAccess {
    /// Every attribute readable, no method callable.
    pub fn read_only(attributes: u8, methods: u8) -> Self {
        ObjectAccess {
            attributes: vec![AttributeAccess::Read; attributes as usize],
            methods: vec![false; methods as usize],
        }
    }

    /// The same rights as the public client has them: reads only, no methods.
    pub fn reads_only(mut self) -> Self {
        for a in &mut self.attributes {
            *a = match *a {
                AttributeAccess::ReadWrite => AttributeAccess::Read,
                AttributeAccess::Write => AttributeAccess::NoAccess,
                other => other,
            };
        }
        for m in &mut self.methods {
            *m = false;
        }
        self
    }

    /// The mode of attribute `id`, `None` when the class has no such attribute.
    pub fn attribute(&self, id: i8) -> Option<AttributeAccess> {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.attributes.get(i).copied())
    }

    /// Whether method `id` may be called, `None` when the class has no such method.
    pub fn method(&self, id: i8) -> Option<bool> {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.methods.get(i).copied())
    }
}

/// (attributes, methods) of an interface class, as the Blue Book defines them (the versions
/// meters commonly serve); unknown classes count 2 attributes and no methods.
pub fn class_shape(class_id: u16) -> (u8, u8) {
    match class_id {
        1 => (2, 0),  // data
        3 => (3, 1),  // register: reset
        4 => (5, 1),  // extended register: reset
        5 => (9, 2),  // demand register: reset, next_period
        7 => (8, 4),  // profile generic: reset, capture, (get_buffer_by_range, _by_index)
        8 => (9, 6),  // clock: adjust_to_quarter … shift_time
        12 => (4, 8), // association SN (v0..): reply_to_HLS_authentication is 8
        15 => (9, 6), // association LN v1: reply_to_HLS_authentication, change_HLS_secret …
        23 => (9, 0), // IEC HDLC setup
        70 => (4, 2), // disconnect control: remote_disconnect, remote_reconnect
        _ => (2, 0),
    }
}

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
                let rights = access(o);
                let attrs = (1i8..)
                    .zip(&rights.attributes)
                    .map(|(a, m)| {
                        Data::Structure(vec![Data::Integer(a), Data::Enum(m.to_u8()), Data::Null])
                    })
                    .collect();
                let methods = (1i8..)
                    .zip(&rights.methods)
                    .map(|(m, ok)| {
                        Data::Structure(vec![Data::Integer(m), Data::Enum(u8::from(*ok))])
                    })
                    .collect();
                Data::Structure(vec![
                    Data::LongUnsigned(o.class_id),
                    Data::Unsigned(o.version),
                    Data::OctetString(o.obis.0.to_vec()),
                    Data::Structure(vec![Data::Array(attrs), Data::Array(methods)]),
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
