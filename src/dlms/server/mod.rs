//! The server side of an association, for the simulator: AARQ/AARE, GET (normal, next,
//! with-list) and SN Read with block transfer, SET (normal, with-list, datablocks), ACTION
//! (normal, with-list, parameter blocks, return blocks), SN WRITE and UNCONFIRMED-WRITE, over
//! any object model.
//!
//! By concept: `settings.rs` (what the server grants), `session.rs` ([`ServerSession`]'s state
//! and request dispatch), `association.rs` (AARQ/AARE, authentication, HLS), `services.rs`
//! (GET and SN Read with block transfer), `change.rs` (SET, ACTION, SN WRITE, their blocks and
//! the access-rights check), `object_list.rs` (the association objects' object_list and access
//! rights); the object model is [`CosemServer`].

use crate::dlms::client::ObjectListEntry;
use crate::dlms::data::Data;
use crate::dlms::xdlms::{
    AttributeDescriptor, DataAccessResult, MethodDescriptor, SelectiveAccess,
};

mod association;
mod change;
mod object_list;
mod services;
mod session;
mod settings;

pub use crate::dlms::access::{AttributeAccess, ObjectAccess};
pub use crate::dlms::members::class_shape;
pub use object_list::{object_list_ln, object_list_sn};
pub use session::ServerSession;
pub use settings::{ServerCiphering, ServerSettings, PUBLIC_CLIENT};

/// The objects a server serves; implemented by the simulator.
///
/// The session answers the Association LN's object_list (0.0.40.0.0.255 attribute 2) itself,
/// from [`CosemServer::objects`] and [`CosemServer::access`] as they apply to the client
/// associated, and checks those rights before it calls [`CosemServer::set`] or
/// [`CosemServer::action`]: the public client (SAP 16, no authentication) only reads, an
/// authenticated client (LLS or HLS) gets what `access` grants.
pub trait CosemServer {
    /// Every object, with SN base names when SN referencing is used.
    fn objects(&self) -> Vec<ObjectListEntry>;
    /// Reads one attribute.
    fn get(
        &mut self,
        attribute: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult>;
    /// What an authenticated client may do with `object`: by default read every attribute of
    /// its class and call no method.
    fn access(&self, object: &ObjectListEntry) -> ObjectAccess {
        let (attributes, methods) = class_shape(object.class_id);
        ObjectAccess::read_only(attributes, methods)
    }
    /// Writes one attribute (already allowed by [`CosemServer::access`]); by default refused.
    fn set(
        &mut self,
        attribute: &AttributeDescriptor,
        value: Data,
    ) -> Result<(), DataAccessResult> {
        let _ = (attribute, value);
        Err(DataAccessResult::ReadWriteDenied)
    }
    /// Invokes one method (already allowed by [`CosemServer::access`]); returns what it
    /// returns. The error is the Action-Result; by default read-write-denied.
    fn action(
        &mut self,
        method: &MethodDescriptor,
        parameter: Option<Data>,
    ) -> Result<Option<Data>, DataAccessResult> {
        let _ = (method, parameter);
        Err(DataAccessResult::ReadWriteDenied)
    }
}

#[cfg(test)]
mod change_tests;
#[cfg(test)]
mod gbt_tests;
#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
