//! The server side of an association, for the simulator: AARQ/AARE, GET (normal, next,
//! with-list) and SN Read with block transfer, over any object model.
//!
//! By concept: `settings.rs` (what the server grants), `session.rs` ([`ServerSession`]'s state
//! and request dispatch), `association.rs` (AARQ/AARE, authentication, HLS), `services.rs`
//! (GET and SN Read with block transfer), `object_list.rs` (the association objects'
//! object_list); the object model is [`CosemServer`].

use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;
use crate::dlms::xdlms::{AttributeDescriptor, DataAccessResult, SelectiveAccess};

mod association;
mod object_list;
mod services;
mod session;
mod settings;

pub use object_list::{object_list_ln, object_list_sn};
pub use session::ServerSession;
pub use settings::{ServerCiphering, ServerSettings, PUBLIC_CLIENT};

/// The objects a server serves; implemented by the simulator.
pub trait CosemServer {
    /// Every object, with SN base names when SN referencing is used.
    fn objects(&self) -> Vec<ObjectListEntry>;
    /// Reads one attribute.
    fn get(
        &mut self,
        attribute: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult>;
}

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
