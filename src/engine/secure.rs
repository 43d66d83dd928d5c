//! Opening a session with security: a fresh HLS challenge, the meter's invocation counter read
//! first over the public client (as routers do with their "invocation counter OBIS code"), and
//! our own counters taken from the process's counter store (see `crate::counters`).

use crate::counters::CounterStore;
use crate::dlms::client::{AttributeRef, Authentication, ClientSettings};
use crate::dlms::obis::Obis;
use crate::engine::{EngineError, MeterAddress, Session, SessionCounters, TraceSink, Waits};
use crate::transport::Stream;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Random bytes for challenges.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    // Without an OS random source no HLS challenge can be safe; fail loudly in the log and
    // send a challenge the meter will still accept, so the operator sees the warning.
    if let Err(e) = getrandom::fill(&mut b) {
        tracing::error!("no random source for the HLS challenge: {e}");
    }
    b
}

/// Opens a session, preparing challenge and counters first. `connect` makes a new stream
/// (called twice when the meter's counter is read from `ic_obis` first). A ciphered session
/// takes its counters from `counters`; without a store it uses the settings' counter as is
/// (tests only: nothing then keeps counters from repeating).
pub async fn open<S, F, Fut>(
    connect: F,
    addr: &MeterAddress,
    mut settings: ClientSettings,
    ic_obis: Option<Obis>,
    counters: Option<&Arc<CounterStore>>,
    waits: Waits,
    trace: Option<TraceSink>,
) -> Result<Session<S>, EngineError>
where
    S: Stream,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<S, EngineError>>,
{
    let timeout = waits.timeout;
    if matches!(settings.authentication, Authentication::High { .. }) {
        settings.challenge = random_bytes(16);
    }
    let mut at_least = 0;
    if let Some(c) = settings.ciphering.as_mut() {
        at_least = c.invocation_counter;
        if let Some(obis) = ic_obis {
            // Boxed: a rare step whose session would otherwise enlarge every open's future.
            let expects = Box::pin(meter_expects(&connect, addr, &settings, obis, timeout));
            at_least = at_least.max(expects.await?);
        }
        if counters.is_none() {
            if let Some(c) = settings.ciphering.as_mut() {
                c.invocation_counter = at_least;
            }
        }
    }
    let counters = match (counters, settings.ciphering.is_some()) {
        (Some(store), true) => Some(SessionCounters::new(store.clone(), at_least)),
        _ => None,
    };
    Session::open_waiting(connect().await?, addr, settings, waits, trace, counters).await
}

/// The lowest counter the meter accepts next: its counter at `obis` (read over the public
/// client) plus one.
async fn meter_expects<S, F, Fut>(
    connect: &F,
    addr: &MeterAddress,
    settings: &ClientSettings,
    obis: Obis,
    timeout: Duration,
) -> Result<u32, EngineError>
where
    S: Stream,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<S, EngineError>>,
{
    let public_addr = MeterAddress {
        client: 16,
        ..addr.clone()
    };
    let public = ClientSettings::new(settings.referencing);
    let mut s = Session::open(connect().await?, &public_addr, public, timeout, None).await?;
    let value = s.read(&[AttributeRef::new(1, obis, 2)]).await?;
    let _ = s.close().await;
    match value.into_iter().next() {
        Some(Ok(d)) => match d.as_i128().and_then(|v| u32::try_from(v).ok()) {
            Some(v) => Ok(v.saturating_add(1)),
            None => Err(EngineError::Address(format!(
                "the invocation counter at {obis} is not a 32-bit number: {d}"
            ))),
        },
        Some(Err(e)) => Err(EngineError::Address(format!(
            "cannot read the invocation counter at {obis}: {e}"
        ))),
        None => Ok(0),
    }
}
