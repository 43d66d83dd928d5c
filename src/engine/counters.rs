//! Where a ciphered session takes its invocation counters, and how it checks the meter's.
//!
//! Every APDU we protect gets a counter handed out by the process's [`CounterStore`] at the
//! moment it is protected (a few are taken, the unused rest given back at once), so sessions
//! of one process and processes sharing the store never use a counter twice under one key,
//! whatever the meter is called or where it is reached. Once the AARE names the meter, its
//! counters must stay above the floor its earlier sessions left (keyed by its system title).

use super::{EngineError, Session};
use crate::counters::{CounterStore, Counters};
use crate::dlms::client::{ClientSession, SessionError};
use crate::transport::Stream;
use std::sync::Arc;

/// Counters taken for one call into the DLMS session: a GMAC HLS pass 3 uses two.
const SPAN: u32 = 4;

/// The counter store of a ciphered session.
#[derive(Debug, Clone)]
pub struct SessionCounters {
    /// The store (one per process and file).
    pub store: Arc<CounterStore>,
    /// Our first counter is at least this (what the meter expects, read from `ic_obis`).
    pub at_least: u32,
    /// Our counters under the session's title and key, once first used.
    ours: Option<Counters>,
}

impl SessionCounters {
    /// Counters from `store`, the first at least `at_least`.
    pub fn new(store: Arc<CounterStore>, at_least: u32) -> Self {
        SessionCounters {
            store,
            at_least,
            ours: None,
        }
    }
}

impl<S: Stream> Session<S> {
    /// Runs `f`, which may protect APDUs, with counters from the store (when there is one).
    pub(super) fn with_counters<T>(
        &mut self,
        f: impl FnOnce(&mut ClientSession) -> Result<T, SessionError>,
    ) -> Result<T, EngineError> {
        let (Some(c), Some(cipher)) = (
            self.counters.as_mut(),
            self.dlms.settings().ciphering.as_ref(),
        ) else {
            return Ok(f(&mut self.dlms)?);
        };
        if c.ours.is_none() {
            let ours = c.store.counters(cipher.system_title, &cipher.block_key);
            // A store shared by a fleet: start above what other loggers used since (the meter
            // may have moved here from one of them).
            c.at_least = c.at_least.max(ours.session_floor()?);
            c.ours = Some(ours);
        }
        let Some(ours) = c.ours.as_ref() else {
            return Ok(f(&mut self.dlms)?);
        };
        let first = ours.take(c.at_least, SPAN)?;
        let end = first + SPAN;
        self.dlms.set_counter_window(first, end);
        let r = f(&mut self.dlms);
        let next = self.dlms.invocation_counter().unwrap_or(end);
        ours.give_back(next, end);
        Ok(r?)
    }

    /// Refuses the association if the meter's counters so far are below what its earlier
    /// sessions under this key reached (a replayed session), and keeps that floor.
    pub(super) fn check_meter_floor(&mut self) -> Result<(), EngineError> {
        let (Some(c), Some(meter)) = (self.counters.as_ref(), self.dlms.meter_system_title())
        else {
            return Ok(());
        };
        let Some(key) = self
            .dlms
            .settings()
            .ciphering
            .as_ref()
            .map(|c| c.block_key.clone())
        else {
            return Ok(());
        };
        let floor = c.store.meter_floor(meter, &key)?;
        Ok(self.dlms.apply_meter_floor(floor)?)
    }

    /// Raises the meter's floor above the highest counter it used in this session.
    pub(super) fn keep_meter_floor(&self) {
        let (Some(c), Some(meter), Some(last)) = (
            self.counters.as_ref(),
            self.dlms.meter_system_title(),
            self.dlms.meter_invocation_counter(),
        ) else {
            return;
        };
        if let Some(key) = self
            .dlms
            .settings()
            .ciphering
            .as_ref()
            .map(|c| &c.block_key)
        {
            if let Err(e) = c
                .store
                .raise_meter_floor(meter, key, last.saturating_add(1))
            {
                tracing::warn!(
                    "{e} (the meter's counter floor is not raised: an older session could be \
                     replayed once)"
                );
            }
        }
    }
}
