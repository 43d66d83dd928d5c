//! ACSE (IEC 62056-5-3 association control): AARQ/AARE/RLRQ/RLRE and the xDLMS initiate
//! exchange they carry.
pub mod aare;
pub mod aarq;
pub mod ber;
pub mod conformance;
pub mod context;
pub mod initiate;
pub mod release;

pub use aare::{Aare, AssociationResult, Diagnostic};
pub use aarq::Aarq;
pub use conformance::Conformance;
pub use context::{ApplicationContext, Mechanism};
pub use initiate::{InitiateRequest, InitiateResponse};
pub use release::{Rlre, Rlrq};
