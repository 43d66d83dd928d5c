//! The client session: turns "associate", "read these attributes" and "release" into APDUs
//! and the meter's answers back into values, sans-IO.
//!
//! The driver (the engine) sends what [`ClientSession`] and [`ReadOp`] hand it and feeds back
//! every response APDU; nothing here does IO or knows about the link below.
//!
//! By concept: `settings.rs` (what the session proposes), `error.rs`, `attribute.rs`
//! (attributes and the object list), `session.rs` ([`ClientSession`]'s state and ciphering),
//! `association.rs` (AARQ/AARE, HLS, RLRQ/RLRE), `read_op.rs` (chunking and [`ReadOp`]),
//! `scaling.rs` (scaler_unit and [`Reading`]), `change.rs` (SET, ACTION and SN WRITE: [`ChangeOp`]).

mod association;
mod attribute;
mod change;
mod error;
mod read_op;
mod scaling;
mod session;
mod settings;

pub use association::{Association, ASSOCIATION_SN, REPLY_TO_HLS_SN};
pub use attribute::{parse_object_list, sn_attribute_name, AttributeRef, ObjectListEntry};
pub use change::{Change, ChangeOp, ChangeOutcome, MethodRef};
pub use error::{ReadError, SessionError};
pub use read_op::{ReadOp, Step};
pub use scaling::{apply_scaler_units, scaler_unit_attribute, with_scaler_units, Reading};
pub use session::ClientSession;
pub use settings::{Authentication, Ciphering, ClientSettings, PreEstablished, Referencing};

#[cfg(test)]
mod change_tests;
#[cfg(test)]
mod tests;
