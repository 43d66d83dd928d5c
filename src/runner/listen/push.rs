//! What the logger does with pushes (the bytes, frames and ciphering are `dlms::push`'s): a
//! caller's push is stored only once it is known to come from the meter it claims to be
//! (deciphered with that meter's keys, authenticated when the meter is configured so, with an
//! invocation counter the meter has not used before); pushes that come between answers are
//! stored as rows of the run.

use super::super::error::DialInError;
use super::super::{persist, Shared};
use crate::dlms::data::Data;
use crate::dlms::push::{Push, PushError, PushKeys};
use crate::dlms::security::{Key, SystemTitle};
use crate::engine::Session;
use crate::queue::{Meter, Policy};
use crate::store::Record;
use crate::transport::BoxStream;
use std::sync::Arc;

/// The body of the caller's push once it is known to be `meter`, `Ok(None)` when the push is
/// set aside (logged), or an error when the push shows the caller is not that meter.
/// `counters`, when given, refuses a push whose invocation counter the meter already used
/// (a replayed call) and raises the meter's floor above it.
pub(super) fn accept_push(
    meter: &Meter,
    push: Push,
    counters: Option<&crate::counters::CounterStore>,
) -> Result<Option<Data>, DialInError> {
    let sec = &meter.security;
    let ciphered = match push {
        Push::Plain(_) if sec.policy != Policy::None => {
            tracing::warn!(
                "meter {}: it is configured for ciphering but pushed a plain DataNotification; \
                 the push is not stored",
                meter.name
            );
            return Ok(None);
        }
        Push::Plain(n) => return Ok(Some(n.body)),
        Push::Ciphered(c) => c,
    };
    let (Some(block), Some(auth)) = (&sec.block_key, &sec.auth_key) else {
        tracing::warn!(
            "meter {}: it pushed a ciphered DataNotification but no keys are configured for it; \
             the push is not stored",
            meter.name
        );
        return Ok(None);
    };
    let keys = PushKeys {
        block_key: Key(block.expose()),
        auth_key: Key(auth.expose()),
        system_title: sec.server_system_title.map(SystemTitle),
    };
    let d = match ciphered.decipher(&keys) {
        Ok(d) => d,
        Err(PushError::WrongSystemTitle { carried, expected }) => {
            return Err(DialInError::WrongSystemTitle {
                meter: meter.name.clone(),
                carried: carried.to_string(),
                expected: expected.to_string(),
            })
        }
        Err(PushError::NoSystemTitle) => {
            tracing::warn!(
                "meter {}: its push is ciphered without naming its sender and no \
                 server_system_title is configured for it; the push is not stored",
                meter.name
            );
            return Ok(None);
        }
        Err(e) => {
            let why = match e {
                PushError::Decipher(e) => e.to_string(),
                e => e.to_string(),
            };
            return Err(DialInError::Undecipherable {
                meter: meter.name.clone(),
                why,
            });
        }
    };
    if let Some(store) = counters {
        let floor = store.meter_floor(d.system_title, &keys.block_key)?;
        if d.invocation_counter < floor {
            return Err(DialInError::Replayed {
                meter: meter.name.clone(),
                counter: d.invocation_counter,
                floor,
            });
        }
        store.raise_meter_floor(
            d.system_title,
            &keys.block_key,
            d.invocation_counter.saturating_add(1),
        )?;
    }
    if matches!(sec.policy, Policy::Auth | Policy::AuthEnc) && !d.authenticated() {
        tracing::warn!(
            "meter {}: its push is not authenticated (no GMAC tag) although the meter is \
             configured for authentication; the push is not stored",
            meter.name
        );
        return Ok(None);
    }
    match d.notification() {
        Ok(n) => Ok(Some(n.body)),
        Err(e) => {
            tracing::warn!("meter {}: {e}; the push is not stored", meter.name);
            Ok(None)
        }
    }
}

/// The rows of what a session set aside: DataNotifications, event notifications and
/// information reports that came between answers.
pub(in crate::runner) fn session_pushes(
    session: &mut Session<BoxStream>,
    meter: &str,
    poll: i64,
) -> Vec<Record> {
    let apdus = session.take_pushes();
    apdus
        .into_iter()
        .filter_map(|a| {
            if let Some(rows) = crate::engine::read::report_rows(session, meter, &a, poll) {
                return Some(rows);
            }
            match Push::from_apdu(a) {
                Ok(Push::Plain(n)) => Some(crate::engine::read::push_rows(meter, n.body, poll)),
                _ => None,
            }
        })
        .flatten()
        .collect()
}

/// Stores the rows of a push from `meter`.
pub(super) async fn store_push(shared: &Arc<Shared>, meter: &Meter, body: Data) {
    let poll = shared
        .poll
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let rows = crate::engine::read::push_rows(&meter.name, body, poll);
    let n = rows.len();
    match persist(shared, rows).await {
        Ok(_) => tracing::info!(
            "stored {n} rows of a push from meter {} (poll {poll})",
            meter.name
        ),
        Err(e) => tracing::error!("push from meter {}: rows not stored yet: {e}", meter.name),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::dlms::push::{frame, Framing};
    use crate::dlms::security::{Policy as Wire, GENERAL_GLO};
    use crate::dlms::server::ServerCiphering;
    use crate::queue::KeySecret;
    use crate::sim::SimConfig;

    const TITLE: [u8; 8] = *b"SIM00001";
    const BK: [u8; 16] = [0x11; 16];
    const AK: [u8; 16] = [0x22; 16];

    pub(in crate::runner::listen) fn secured(name: &str) -> Meter {
        let mut m = Meter::new(name, "in");
        m.security.policy = Policy::AuthEnc;
        m.security.block_key = Some(KeySecret::new(BK));
        m.security.auth_key = Some(KeySecret::new(AK));
        m.security.server_system_title = Some(TITLE);
        m
    }

    /// The push our simulator sends as meter 0, ciphered under `policy` with `bk` when given.
    fn push(cipher: Option<(Wire, [u8; 16], [u8; 8])>) -> Push {
        let config = SimConfig {
            ciphering: cipher.map(|(policy, bk, title)| ServerCiphering {
                policy,
                system_title: SystemTitle(title),
                block_key: Key(bk),
                auth_key: Key(AK),
            }),
            ..SimConfig::default()
        };
        let now = chrono::Local::now().fixed_offset();
        Push::parse(&crate::sim::push_frame(&config, 0, now, 5).unwrap()).unwrap()
    }

    #[test]
    fn a_ciphered_push_names_its_sender_and_deciphers_with_its_keys() {
        let p = push(Some((Wire::AuthEnc, BK, TITLE)));
        assert_eq!(p.system_title(), Some(SystemTitle(TITLE)));
        let body = accept_push(&secured("m"), p, None).unwrap().unwrap();
        assert!(body.to_string().contains("DLG0000000000001"), "{body}");
    }

    #[test]
    fn a_push_that_does_not_decipher_drops_the_caller() {
        let e = accept_push(
            &secured("m"),
            push(Some((Wire::AuthEnc, [0x33; 16], TITLE))),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not decipher with the meter's keys"), "{e}");
        assert!(e.contains("dropped without reading its data"), "{e}");
    }

    #[test]
    fn a_push_from_another_system_title_drops_the_caller() {
        let e = accept_push(
            &secured("m"),
            push(Some((Wire::AuthEnc, BK, *b"OTHER001"))),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not the configured"), "{e}");
    }

    #[test]
    fn plain_or_unauthenticated_pushes_of_a_secured_meter_are_not_stored() {
        assert!(matches!(
            accept_push(&secured("m"), push(None), None),
            Ok(None)
        ));
        assert!(matches!(
            accept_push(&secured("m"), push(Some((Wire::Enc, BK, TITLE))), None),
            Ok(None)
        ));
        // A meter without ciphering keeps its plain push; a ciphered one it cannot read is set aside.
        let plain = Meter::new("p", "in");
        assert!(matches!(accept_push(&plain, push(None), None), Ok(Some(_))));
        assert!(matches!(
            accept_push(&plain, push(Some((Wire::AuthEnc, BK, TITLE))), None),
            Ok(None)
        ));
    }

    proptest::proptest! {
        /// A ciphered push forged from any bytes after a valid header is refused or set
        /// aside, never stored (the decoding side is `dlms::push`'s
        /// `any_first_bytes_are_a_push_or_nothing`).
        #[test]
        fn a_forged_push_is_never_stored(bytes in proptest::collection::vec(0u8.., 0..300)) {
            let apdu = [&[GENERAL_GLO, 8][..], &TITLE, &bytes].concat();
            let framed = frame(&apdu, &Framing::Wrapper { source: 1, destination: 1 }).unwrap();
            if let Ok(p) = Push::parse(&framed) {
                let accepted = accept_push(&secured("m"), p, None);
                proptest::prop_assert!(!matches!(accepted, Ok(Some(_))));
            }
        }
    }
}
