//! The client session: its state, the ciphering of requests and answers, settings changes.

use super::{
    Association, AttributeRef, ClientSettings, ObjectListEntry, Referencing, SessionError,
};
use crate::dlms::obis::Obis;
use crate::dlms::protection::Protection;
use crate::dlms::security::{Policy, SystemTitle};
use std::collections::HashMap;

/// A client association with one meter.
#[derive(Debug)]
pub struct ClientSession {
    pub(super) settings: ClientSettings,
    pub(super) association: Option<Association>,
    pub(super) short_names: HashMap<Obis, u16>,
    pub(super) protection: Option<Protection>,
    /// The meter's challenge (StoC) while HLS pass 3 is due.
    pub(super) server_challenge: Option<Vec<u8>>,
    /// Counters given before the AARQ made the ciphering state.
    pub(super) window: Option<(u32, u32)>,
}

impl ClientSession {
    /// A session that has not associated yet.
    pub fn new(settings: ClientSettings) -> Self {
        ClientSession {
            settings,
            association: None,
            short_names: HashMap::new(),
            protection: None,
            server_challenge: None,
            window: None,
        }
    }

    /// The invocation counter the next protected APDU will carry (to persist it).
    pub fn invocation_counter(&self) -> Option<u32> {
        self.protection.as_ref().map(Protection::next_ic)
    }

    /// The meter's highest invocation counter accepted in this association (to persist it).
    pub fn meter_invocation_counter(&self) -> Option<u32> {
        self.protection.as_ref().and_then(Protection::peer_last)
    }

    /// Lets the next protected APDUs use the counters `[first, end)` only (reserved by the caller).
    pub fn set_counter_window(&mut self, first: u32, end: u32) {
        match self.protection.as_mut() {
            Some(p) => p.set_counter_window(first, end),
            None => self.window = Some((first, end)),
        }
    }

    /// The meter's system title, once the AARE named it (or as configured).
    pub fn meter_system_title(&self) -> Option<SystemTitle> {
        self.protection.as_ref().and_then(|p| p.peer_title)
    }

    /// Refuses meter counters below `floor` (learnt once the AARE named the meter); fails
    /// when the association already accepted a lower one: a replayed session.
    pub fn apply_meter_floor(&mut self, floor: u32) -> Result<(), SessionError> {
        match self.protection.as_mut() {
            Some(p) => Ok(p.raise_peer_floor(floor)?),
            None => Ok(()),
        }
    }

    /// True when requests and answers are ciphered.
    pub fn is_ciphered(&self) -> bool {
        self.protection
            .as_ref()
            .is_some_and(|p| p.policy != Policy::None)
    }

    /// Protects a request APDU for sending (unchanged when the association is not ciphered).
    pub fn protect(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        match self.protection.as_mut() {
            Some(p) if p.policy != Policy::None => Ok(p.protect(plain)?),
            _ => Ok(plain.to_vec()),
        }
    }

    /// Checks and deciphers an answer APDU (unchanged when the association is not ciphered).
    pub fn unprotect(&mut self, apdu: &[u8]) -> Result<Vec<u8>, SessionError> {
        match self.protection.as_mut() {
            Some(p) if p.policy != Policy::None => Ok(p.unprotect(apdu)?),
            _ => Ok(apdu.to_vec()),
        }
    }

    /// The settings this session proposes.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// What the meter granted, once associated.
    pub fn association(&self) -> Option<&Association> {
        self.association.as_ref()
    }

    /// Forgets the association (the link dropped).
    pub fn reset(&mut self) {
        self.association = None;
    }

    /// Stops using GET-with-list for this association (a meter that answers them broken).
    pub fn disable_with_list(&mut self) {
        self.settings.with_list = false;
    }

    /// Sets the largest information field of one link frame ([`ClientSettings::max_frame_info`]).
    pub fn set_max_frame_info(&mut self, bytes: Option<usize>) {
        self.settings.max_frame_info = bytes;
    }

    /// SN referencing: learns the base names from the object list.
    pub fn set_short_names(&mut self, objects: &[ObjectListEntry]) {
        self.short_names = objects
            .iter()
            .filter_map(|o| o.short_name.map(|sn| (o.obis, sn)))
            .collect();
    }

    /// SN referencing: the object and attribute a variable name stands for (attribute a of an
    /// object at base name b is b + (a − 1) × 8), when the object list named its base.
    pub fn attribute_of_short_name(&self, name: u16) -> Option<(Obis, i8)> {
        self.short_names
            .iter()
            .filter(|(_, base)| **base <= name && (name - **base).is_multiple_of(8))
            .map(|(obis, base)| (*obis, (name - base) / 8 + 1))
            .filter(|(_, a)| *a <= 32)
            .min_by_key(|(_, a)| *a)
            .map(|(obis, a)| (obis, a as i8))
    }

    /// True when SN base names are known (or not needed).
    pub fn has_short_names(&self) -> bool {
        self.settings.referencing == Referencing::Ln || !self.short_names.is_empty()
    }

    /// The attribute that holds the object list of the current association.
    pub fn object_list_attribute(&self) -> AttributeRef {
        match self.settings.referencing {
            Referencing::Ln => AttributeRef::new(15, Obis::new(0, 0, 40, 0, 0, 255), 2),
            Referencing::Sn => AttributeRef::new(12, Obis::new(0, 0, 40, 0, 0, 255), 2),
        }
    }
}
