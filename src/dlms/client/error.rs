//! Why a session or a single attribute read failed: [`SessionError`], [`ReadError`].

use crate::dlms::obis::Obis;
use crate::dlms::security::SecurityError;
use crate::dlms::xdlms::{ApduError, ConfirmedServiceError, DataAccessResult, ExceptionResponse};
use thiserror::Error;

/// Why an association or a request failed as a whole.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The meter refused the association.
    #[error("the meter rejected the association ({result}): {diagnostic}")]
    Rejected {
        /// "rejected permanently" or "rejected transiently".
        result: &'static str,
        /// The meter's diagnostic, in words.
        diagnostic: String,
    },
    /// The meter refused the xDLMS InitiateRequest.
    #[error("the meter refused the xDLMS initiate request: {0}")]
    Initiate(ConfirmedServiceError),
    /// The meter answered with an exception.
    #[error("{0}")]
    Exception(ExceptionResponse),
    /// The meter answered something that does not fit the request.
    #[error("unexpected answer from the meter: expected {expected}, got {got}")]
    Unexpected {
        /// What we waited for.
        expected: &'static str,
        /// What came.
        got: String,
    },
    /// A response APDU could not be decoded.
    #[error("cannot decode the meter's answer: {0}")]
    Decode(#[from] ApduError),
    /// A request was made before the association.
    #[error("not associated with the meter")]
    NotAssociated,
    /// The meter's answer to the HLS challenge is wrong.
    #[error("meter failed authentication: {0}")]
    MeterFailedAuthentication(String),
    /// Ciphering or deciphering failed.
    #[error("{0}")]
    Security(#[from] SecurityError),
    /// The meter answered with a confirmed-service-error.
    #[error("{0}")]
    ServiceError(ConfirmedServiceError),
    /// The association does not grant the service (its negotiated conformance lacks it).
    #[error(
        "the association does not allow {0}: the meter did not grant it in its conformance block"
    )]
    NotGranted(&'static str),
    /// SN referencing: the object is not in the meter's object list.
    #[error("the object {0} is not in the meter's short-name object list")]
    UnknownShortName(Obis),
    /// The settings cannot work (e.g. GMAC without keys).
    #[error("{0}")]
    Settings(String),
}

/// Why one attribute could not be read (the other items of the request are unaffected).
#[derive(Debug, Clone, Error, PartialEq)]
pub enum ReadError {
    /// The meter refused this attribute.
    #[error("the meter answered {0}")]
    Access(DataAccessResult),
    /// The meter rejected the request that carried this attribute.
    #[error("{0}")]
    Exception(String),
    /// The value the meter sent cannot be decoded.
    #[error("cannot decode the value: {0}")]
    Decode(String),
    /// SN referencing: the object is not in the meter's object list.
    #[error("the object {0} is not in the meter's short-name object list")]
    UnknownShortName(Obis),
    /// The block transfer went wrong.
    #[error("block transfer failed: {0}")]
    Block(String),
}
