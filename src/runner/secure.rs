//! Opening a session with security: a fresh HLS challenge, the meter's invocation counter read
//! first over the public client (as routers do with their "invocation counter OBIS code"), and
//! our own counter reserved durably in the database so it never repeats with the same key.

use crate::dlms::client::{AttributeRef, Authentication, ClientSettings};
use crate::dlms::obis::Obis;
use crate::dlms::security::Key;
use crate::engine::{EngineError, MeterAddress, Session, TraceSink};
use crate::store::WriterHandle;
use crate::transport::Stream;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::Duration;

/// Counter values reserved per session; what a session does not use is given back.
const LEASE: u32 = 100_000;

/// A key's identity in the database: a fingerprint, never the key.
pub fn key_id(key: &Key) -> String {
    let d = Sha256::digest(key.0);
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the meter's counter floor is kept: beside ours, under the key's fingerprint.
fn meter_key_id(key_id: &str) -> String {
    format!("meter-{key_id}")
}

/// Reserved counter values of one session, to settle when it ends.
#[derive(Debug, Clone)]
pub struct CounterLease {
    meter: String,
    key_id: String,
    end: u32,
}

impl CounterLease {
    /// Gives back what the session did not use (`next` = the counter it would use next), and
    /// raises the floor of the meter's counters above the highest it used (`meter_last`), so
    /// a replay of this session is refused later.
    pub async fn settle(self, counters: &WriterHandle, next: Option<u32>, meter_last: Option<u32>) {
        let w = counters.clone();
        let r = tokio::task::spawn_blocking(move || {
            if let Some(last) = meter_last {
                // A reservation of 0 values raises the stored value to at least `last + 1`.
                let id = meter_key_id(&self.key_id);
                w.reserve_counter(&self.meter, &id, last.saturating_add(1), 0)?;
            }
            match next {
                Some(next) => w.settle_counter(&self.meter, &self.key_id, self.end, next),
                None => Ok(()),
            }
        })
        .await;
        if let Ok(Err(e)) = r {
            tracing::warn!(
                "invocation counters not settled (ours: values are skipped, never reused; \
                 the meter's: an older session could be replayed once): {e}"
            );
        }
    }
}

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
/// (called twice when the meter's counter is read from `ic_obis` first).
#[allow(clippy::too_many_arguments)]
pub async fn open<S, F, Fut>(
    connect: F,
    addr: &MeterAddress,
    mut settings: ClientSettings,
    ic_obis: Option<Obis>,
    counters: Option<(&WriterHandle, &str)>,
    timeout: Duration,
    trace: Option<TraceSink>,
) -> Result<(Session<S>, Option<CounterLease>), EngineError>
where
    S: Stream,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<S, EngineError>>,
{
    if matches!(settings.authentication, Authentication::High { .. }) {
        settings.challenge = random_bytes(16);
    }
    let mut lease = None;
    if let Some(c) = settings.ciphering.as_mut() {
        let mut at_least = c.invocation_counter;
        if let Some(obis) = ic_obis {
            let public_addr = MeterAddress {
                client: 16,
                ..addr.clone()
            };
            let public = ClientSettings::new(settings.referencing);
            let mut s =
                Session::open(connect().await?, &public_addr, public, timeout, None).await?;
            let value = s.read(&[AttributeRef::new(1, obis, 2)]).await?;
            let _ = s.close().await;
            match value.into_iter().next() {
                Some(Ok(d)) => match d.as_i128().and_then(|v| u32::try_from(v).ok()) {
                    Some(v) => at_least = at_least.max(v.saturating_add(1)),
                    None => {
                        return Err(EngineError::Address(format!(
                            "the invocation counter at {obis} is not a 32-bit number: {d}"
                        )))
                    }
                },
                Some(Err(e)) => {
                    return Err(EngineError::Address(format!(
                        "cannot read the invocation counter at {obis}: {e}"
                    )))
                }
                None => {}
            }
        }
        if let Some((w, meter)) = counters {
            let (w2, meter2, id) = (w.clone(), meter.to_string(), key_id(&c.block_key));
            let id2 = id.clone();
            let (first, floor) = tokio::task::spawn_blocking(move || {
                let first = w2.reserve_counter(&meter2, &id2, at_least, LEASE)?;
                // Reserving 0 values reads the meter's floor without moving it.
                let floor = w2.reserve_counter(&meter2, &meter_key_id(&id2), 0, 0)?;
                Ok::<_, crate::store::StoreError>((first, floor))
            })
            .await
            .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))?
            .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))?;
            c.invocation_counter = first;
            c.meter_counter_floor = floor;
            lease = Some(CounterLease {
                meter: meter.to_string(),
                key_id: id,
                end: first.saturating_add(LEASE),
            });
        } else {
            c.invocation_counter = at_least;
        }
    }
    let session = Session::open(connect().await?, addr, settings, timeout, trace).await?;
    Ok((session, lease))
}
