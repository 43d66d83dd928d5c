//! Access rights as an Association LN lists them for each object (Blue Book, class 15,
//! object_list): one mode per attribute and per method. The simulator serves them; the client
//! reads them so the object browser can say what this association may change.

use crate::dlms::data::Data;

/// An attribute's access mode (attribute_access_item.access_mode).
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
    /// 4: read, authenticated (version 3 of the class).
    AuthenticatedRead,
    /// 5: write, authenticated.
    AuthenticatedWrite,
    /// 6: read and write, authenticated.
    AuthenticatedReadWrite,
}

impl AttributeAccess {
    /// The mode for the enum value on the wire; `None` for values the standard does not define.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => AttributeAccess::NoAccess,
            1 => AttributeAccess::Read,
            2 => AttributeAccess::Write,
            3 => AttributeAccess::ReadWrite,
            4 => AttributeAccess::AuthenticatedRead,
            5 => AttributeAccess::AuthenticatedWrite,
            6 => AttributeAccess::AuthenticatedReadWrite,
            _ => return None,
        })
    }

    /// The enum value on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            AttributeAccess::NoAccess => 0,
            AttributeAccess::Read => 1,
            AttributeAccess::Write => 2,
            AttributeAccess::ReadWrite => 3,
            AttributeAccess::AuthenticatedRead => 4,
            AttributeAccess::AuthenticatedWrite => 5,
            AttributeAccess::AuthenticatedReadWrite => 6,
        }
    }

    /// True when the attribute may be written.
    pub fn writable(self) -> bool {
        use AttributeAccess::*;
        matches!(
            self,
            Write | ReadWrite | AuthenticatedWrite | AuthenticatedReadWrite
        )
    }

    /// True when the attribute may be read.
    pub fn readable(self) -> bool {
        use AttributeAccess::*;
        matches!(
            self,
            Read | ReadWrite | AuthenticatedRead | AuthenticatedReadWrite
        )
    }

    /// The mode in words, as the browser shows it.
    pub fn name(self) -> &'static str {
        match self {
            AttributeAccess::NoAccess => "no access",
            AttributeAccess::Read => "read-only",
            AttributeAccess::Write => "write-only",
            AttributeAccess::ReadWrite => "read-write",
            AttributeAccess::AuthenticatedRead => "read-only (authenticated)",
            AttributeAccess::AuthenticatedWrite => "write-only (authenticated)",
            AttributeAccess::AuthenticatedReadWrite => "read-write (authenticated)",
        }
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
                AttributeAccess::AuthenticatedReadWrite => AttributeAccess::AuthenticatedRead,
                AttributeAccess::Write | AttributeAccess::AuthenticatedWrite => {
                    AttributeAccess::NoAccess
                }
                other => other,
            };
        }
        for m in &mut self.methods {
            *m = false;
        }
        self
    }

    /// The mode of attribute `id`, `None` when the list does not name it.
    pub fn attribute(&self, id: i8) -> Option<AttributeAccess> {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.attributes.get(i).copied())
    }

    /// Whether method `id` may be called, `None` when the list does not name it.
    pub fn method(&self, id: i8) -> Option<bool> {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.methods.get(i).copied())
    }

    /// True when nothing may be written or called: a read-only association.
    pub fn changes_nothing(&self) -> bool {
        !self.attributes.iter().any(|a| a.writable()) && !self.methods.iter().any(|m| *m)
    }

    /// The access_rights structure on the wire: `{attribute_access [{id, mode, null}],
    /// method_access [{id, mode}]}`, method modes as enums (0 no access, 1 access).
    pub fn to_data(&self) -> Data {
        let attrs = (1i8..)
            .zip(&self.attributes)
            .map(|(a, m)| {
                Data::Structure(vec![Data::Integer(a), Data::Enum(m.to_u8()), Data::Null])
            })
            .collect();
        let methods = (1i8..)
            .zip(&self.methods)
            .map(|(m, ok)| Data::Structure(vec![Data::Integer(m), Data::Enum(u8::from(*ok))]))
            .collect();
        Data::Structure(vec![Data::Array(attrs), Data::Array(methods)])
    }

    /// Reads an access_rights structure; `None` when it is not one, or lists nothing (the
    /// Gurux meter sends `{[], []}` for every object: it says nothing, it does not forbid).
    /// Attributes and methods skipped between listed ones count as no access; method modes
    /// may be booleans (version 0) or enums (1 access, 2 authenticated access).
    pub fn from_data(d: &Data) -> Option<Self> {
        let Data::Structure(parts) = d else {
            return None;
        };
        let [Data::Array(attrs), Data::Array(methods), ..] = parts.as_slice() else {
            return None;
        };
        if attrs.is_empty() && methods.is_empty() {
            return None;
        }
        let id = |d: Option<&Data>| -> Option<usize> {
            let v = match d? {
                Data::Integer(v) => i64::from(*v),
                Data::Unsigned(v) => i64::from(*v),
                Data::Long(v) => i64::from(*v),
                Data::LongUnsigned(v) => i64::from(*v),
                _ => return None,
            };
            usize::try_from(v).ok().filter(|v| (1..=127).contains(v))
        };
        let mut out = ObjectAccess {
            attributes: Vec::new(),
            methods: Vec::new(),
        };
        for a in attrs {
            let Data::Structure(f) = a else { return None };
            let i = id(f.first())?;
            let mode = match f.get(1)? {
                Data::Enum(m) => AttributeAccess::from_u8(*m)?,
                _ => return None,
            };
            if out.attributes.len() < i {
                out.attributes.resize(i, AttributeAccess::NoAccess);
            }
            out.attributes[i - 1] = mode;
        }
        for m in methods {
            let Data::Structure(f) = m else { return None };
            let i = id(f.first())?;
            let ok = match f.get(1)? {
                Data::Boolean(b) => *b,
                Data::Enum(m) => *m != 0,
                _ => return None,
            };
            if out.methods.len() < i {
                out.methods.resize(i, false);
            }
            out.methods[i - 1] = ok;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mode() -> impl Strategy<Value = AttributeAccess> {
        (0u8..=6).prop_map(|v| AttributeAccess::from_u8(v).unwrap())
    }

    proptest! {
        #[test]
        fn access_rights_round_trip(
            attributes in proptest::collection::vec(mode(), 0..12),
            methods in proptest::collection::vec(any::<bool>(), 0..8),
        ) {
            let empty = attributes.is_empty() && methods.is_empty();
            let a = ObjectAccess { attributes, methods };
            prop_assert_eq!(ObjectAccess::from_data(&a.to_data()), (!empty).then_some(a));
        }
    }

    #[test]
    fn version_0_booleans_gaps_and_authenticated_modes_are_read() {
        let d = Data::Structure(vec![
            Data::Array(vec![
                Data::Structure(vec![Data::Integer(1), Data::Enum(1), Data::Null]),
                Data::Structure(vec![Data::Integer(3), Data::Enum(6), Data::Null]),
            ]),
            Data::Array(vec![Data::Structure(vec![
                Data::Integer(2),
                Data::Boolean(true),
            ])]),
        ]);
        let a = ObjectAccess::from_data(&d).unwrap();
        assert_eq!(a.attribute(2), Some(AttributeAccess::NoAccess));
        assert!(a.attribute(3).unwrap().writable());
        assert_eq!(a.method(1), Some(false));
        assert_eq!(a.method(2), Some(true));
        assert!(!a.changes_nothing());
        assert!(a.reads_only().changes_nothing());
        assert_eq!(ObjectAccess::from_data(&Data::Null), None);
        let says_nothing = Data::Structure(vec![Data::Array(vec![]), Data::Array(vec![])]);
        assert_eq!(
            ObjectAccess::from_data(&says_nothing),
            None,
            "Gurux's {{[], []}}"
        );
        let bad = Data::Structure(vec![
            Data::Array(vec![Data::Structure(vec![Data::Integer(0), Data::Enum(1)])]),
            Data::Array(vec![]),
        ]);
        assert_eq!(
            ObjectAccess::from_data(&bad),
            None,
            "attribute 0 does not exist"
        );
    }
}
