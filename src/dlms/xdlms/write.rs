//! WriteRequest / WriteResponse (short-name referencing).

use super::codec::{read_seq, write_seq};
use super::dar::DataAccessResult;
use super::error::{decode_apdu, expect_tag, ApduError};
use super::read::{VariableAccess, VARIABLE_ACCESS_MIN_LEN};
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::data::Data;

/// A WRITE request: the items, then one value per item.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    /// What to write.
    pub names: Vec<VariableAccess>,
    /// The values, one per item.
    pub values: Vec<Data>,
}

/// The outcome of writing one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteResult {
    /// `00`: written.
    Success,
    /// `01 <DAR>`: refused.
    Error(DataAccessResult),
    /// `02 <block u16>`: block received (long write).
    BlockNumber(u16),
}

/// A WRITE response: one result per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResponse(pub Vec<WriteResult>);

impl WriteRequest {
    /// APDU tag.
    pub const TAG: u8 = 0x06;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_seq(&mut out, &self.names, VariableAccess::encode);
        write_seq(&mut out, &self.values, Data::encode);
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("WRITE-request", bytes, |r| {
            expect_tag(r, Self::TAG, "WRITE-request")?;
            read_body(r)
        })
    }
}

/// An UNCONFIRMED-WRITE request (tag 22): a WRITE the meter does not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct UnconfirmedWriteRequest(pub WriteRequest);

impl UnconfirmedWriteRequest {
    /// APDU tag.
    pub const TAG: u8 = 0x16;

    /// The A-XDR bytes: a WRITE request's body under its own tag.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.0.encode();
        out[0] = Self::TAG;
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("UNCONFIRMED-WRITE-request", bytes, |r| {
            expect_tag(r, Self::TAG, "UNCONFIRMED-WRITE-request")?;
            read_body(r).map(UnconfirmedWriteRequest)
        })
    }
}

/// The items and values of a WRITE request, after its tag.
fn read_body(r: &mut Reader) -> Result<WriteRequest, DecodeError> {
    Ok(WriteRequest {
        names: read_seq(
            r,
            "variable count",
            VARIABLE_ACCESS_MIN_LEN,
            VariableAccess::decode,
        )?,
        values: read_seq(r, "value count", 1, Data::decode)?,
    })
}

impl WriteResult {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            WriteResult::Success => out.push(0),
            WriteResult::Error(e) => out.extend_from_slice(&[1, e.to_u8()]),
            WriteResult::BlockNumber(b) => {
                out.push(2);
                out.extend_from_slice(&b.to_be_bytes());
            }
        }
    }

    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let at = r.position();
        Ok(match r.u8("write result choice")? {
            0 => WriteResult::Success,
            1 => WriteResult::Error(DataAccessResult::from_u8(r.u8("data-access-result")?)),
            2 => WriteResult::BlockNumber(r.u16("block-number")?),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "write result choice",
                    tag,
                    at,
                })
            }
        })
    }
}

impl WriteResponse {
    /// APDU tag.
    pub const TAG: u8 = 0x0D;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_seq(&mut out, &self.0, WriteResult::encode);
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("WRITE-response", bytes, |r| {
            expect_tag(r, Self::TAG, "WRITE-response")?;
            Ok(WriteResponse(read_seq(
                r,
                "result count",
                1,
                WriteResult::decode,
            )?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::{arb_data, unhex};
    use crate::dlms::xdlms::read::tests::arb_variable_access;
    use proptest::prelude::*;

    #[test]
    fn vectors() {
        // GX-style SN method call: write 0xFA58 with an octet-string.
        let req = WriteRequest {
            names: vec![VariableAccess::Name(0xFA58)],
            values: vec![Data::OctetString(vec![1, 2])],
        };
        assert_eq!(req.encode(), unhex("06 01 02 FA58 01 09 02 0102"));
        assert_eq!(WriteRequest::decode(&req.encode()).unwrap(), req);
        let resp = WriteResponse(vec![
            WriteResult::Success,
            WriteResult::Error(DataAccessResult::ReadWriteDenied),
        ]);
        assert_eq!(resp.encode(), unhex("0D 02 00 01 03"));
        assert_eq!(
            WriteResponse::decode(&unhex("0D 02 00 01 03")).unwrap(),
            resp
        );
        assert!(WriteResponse::decode(&unhex("0D 01 07")).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(
            names in proptest::collection::vec(arb_variable_access(), 0..3),
            values in proptest::collection::vec(arb_data(), 0..3),
            results in proptest::collection::vec((0u8..3, any::<u16>()), 0..4),
        ) {
            let req = WriteRequest { names, values };
            prop_assert_eq!(WriteRequest::decode(&req.encode()).unwrap(), req.clone());
            let unconfirmed = UnconfirmedWriteRequest(req);
            prop_assert_eq!(
                UnconfirmedWriteRequest::decode(&unconfirmed.encode()).unwrap(),
                unconfirmed
            );
            let resp = WriteResponse(results.into_iter().map(|(c, v)| match c {
                0 => WriteResult::Success,
                1 => WriteResult::Error(DataAccessResult::from_u8(v as u8)),
                _ => WriteResult::BlockNumber(v),
            }).collect());
            prop_assert_eq!(WriteResponse::decode(&resp.encode()).unwrap(), resp);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            for tag in [WriteRequest::TAG, WriteResponse::TAG] {
                let mut v = vec![tag];
                v.extend_from_slice(&b);
                let _ = WriteRequest::decode(&v);
                let _ = WriteResponse::decode(&v);
                v[0] = UnconfirmedWriteRequest::TAG;
                let _ = UnconfirmedWriteRequest::decode(&v);
            }
        }
    }
}
