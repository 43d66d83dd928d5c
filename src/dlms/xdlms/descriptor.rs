//! COSEM attribute and method descriptors and selective access (LN referencing).

use super::codec::{read_optional, write_optional};
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use std::fmt;

/// Cosem-Attribute-Descriptor: class-id, logical name, attribute id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeDescriptor {
    /// Interface class.
    pub class_id: u16,
    /// Logical name of the object.
    pub instance: Obis,
    /// Attribute index (1 = logical_name).
    pub attribute: i8,
}

/// Cosem-Method-Descriptor: class-id, logical name, method id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MethodDescriptor {
    /// Interface class.
    pub class_id: u16,
    /// Logical name of the object.
    pub instance: Obis,
    /// Method index.
    pub method: i8,
}

/// Selective-Access-Descriptor: selector (1 range, 2 entry) and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectiveAccess {
    /// Access selector.
    pub selector: u8,
    /// Selector parameters.
    pub parameters: Data,
}

/// Encoded size of a descriptor.
pub(crate) const DESCRIPTOR_LEN: usize = 9;

fn encode_descriptor(out: &mut Vec<u8>, class_id: u16, instance: Obis, id: i8) {
    out.extend_from_slice(&class_id.to_be_bytes());
    out.extend_from_slice(&instance.0);
    out.push(id as u8);
}

fn decode_descriptor(r: &mut Reader, id: &'static str) -> Result<(u16, Obis, i8), DecodeError> {
    Ok((
        r.u16("class-id")?,
        Obis(r.array("instance-id")?),
        r.u8(id)? as i8,
    ))
}

impl AttributeDescriptor {
    /// Appends class-id(2), OBIS(6), attribute(1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_descriptor(out, self.class_id, self.instance, self.attribute);
    }

    /// Reads class-id(2), OBIS(6), attribute(1).
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let (class_id, instance, attribute) = decode_descriptor(r, "attribute-id")?;
        Ok(AttributeDescriptor {
            class_id,
            instance,
            attribute,
        })
    }
}

impl fmt::Display for AttributeDescriptor {
    /// "1.0.1.8.0.255:2".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.instance, self.attribute)
    }
}

impl MethodDescriptor {
    /// Appends class-id(2), OBIS(6), method(1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_descriptor(out, self.class_id, self.instance, self.method);
    }

    /// Reads class-id(2), OBIS(6), method(1).
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let (class_id, instance, method) = decode_descriptor(r, "method-id")?;
        Ok(MethodDescriptor {
            class_id,
            instance,
            method,
        })
    }
}

impl fmt::Display for MethodDescriptor {
    /// "0.0.40.0.0.255 method 1".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} method {}", self.instance, self.method)
    }
}

impl SelectiveAccess {
    /// Appends the OPTIONAL access-selection: `00`, or `01 <selector> <parameters>`.
    pub fn encode_optional(access: Option<&SelectiveAccess>, out: &mut Vec<u8>) {
        write_optional(out, access, |a, o| {
            o.push(a.selector);
            a.parameters.encode(o);
        });
    }

    /// Reads the OPTIONAL access-selection.
    pub fn decode_optional(r: &mut Reader) -> Result<Option<SelectiveAccess>, DecodeError> {
        read_optional(r, "access-selection presence", |r| {
            Ok(SelectiveAccess {
                selector: r.u8("access-selector")?,
                parameters: Data::decode(r)?,
            })
        })
    }
}

/// An attribute descriptor with its optional selective access (the with-list item).
pub type AttributeWithSelection = (AttributeDescriptor, Option<SelectiveAccess>);

/// Appends a Cosem-Attribute-Descriptor-With-Selection.
pub(crate) fn encode_with_selection(item: &AttributeWithSelection, out: &mut Vec<u8>) {
    item.0.encode(out);
    SelectiveAccess::encode_optional(item.1.as_ref(), out);
}

/// Reads a Cosem-Attribute-Descriptor-With-Selection.
pub(crate) fn decode_with_selection(r: &mut Reader) -> Result<AttributeWithSelection, DecodeError> {
    Ok((
        AttributeDescriptor::decode(r)?,
        SelectiveAccess::decode_optional(r)?,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use proptest::prelude::*;

    #[test]
    fn descriptor_wire_form() {
        let b = unhex("0003 0100010800FF 02");
        let d = AttributeDescriptor::decode(&mut Reader::new(&b)).unwrap();
        assert_eq!(d.class_id, 3);
        assert_eq!(d.to_string(), "1.0.1.8.0.255:2");
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out, b);
        let m = MethodDescriptor::decode(&mut Reader::new(&unhex("000F 0000280000FF 01"))).unwrap();
        assert_eq!(m.to_string(), "0.0.40.0.0.255 method 1");
        assert!(AttributeDescriptor::decode(&mut Reader::new(&b[..8])).is_err());
    }

    pub fn arb_attribute() -> impl Strategy<Value = AttributeDescriptor> {
        (any::<u16>(), any::<[u8; 6]>(), any::<i8>()).prop_map(|(c, o, a)| AttributeDescriptor {
            class_id: c,
            instance: Obis(o),
            attribute: a,
        })
    }

    pub fn arb_method() -> impl Strategy<Value = MethodDescriptor> {
        (any::<u16>(), any::<[u8; 6]>(), any::<i8>()).prop_map(|(c, o, m)| MethodDescriptor {
            class_id: c,
            instance: Obis(o),
            method: m,
        })
    }

    pub fn arb_access() -> impl Strategy<Value = Option<SelectiveAccess>> {
        proptest::option::of(
            (any::<u8>(), arb_data()).prop_map(|(selector, parameters)| SelectiveAccess {
                selector,
                parameters,
            }),
        )
    }

    pub fn arb_with_selection() -> impl Strategy<Value = AttributeWithSelection> {
        (arb_attribute(), arb_access())
    }
}
