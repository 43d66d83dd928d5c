//! Our invocation counters in PostgreSQL: the fleet's database, shared by every logger of the
//! fleet (`CounterStore::postgres`).
//!
//! The same rules as the file (`mod.rs`): our counter per (our system title, key fingerprint),
//! reserved in blocks before use, a block committed (PostgreSQL's commit is durable) before
//! any value of it is handed out; a reservation is one transaction that locks the row
//! (`SELECT … FOR UPDATE`), so loggers and processes reserving at once get blocks that never
//! overlap, and a logger that is killed only skips the rest of its block. A clean stop gives
//! the unused rest back only when nobody reserved after it (`UPDATE … WHERE next = <our
//! block's end>`); the meters' floors are kept the same way as in the file (the highest wins).
//!
//! The store's callers are synchronous (a session takes a counter while it protects an APDU),
//! so the client runs on a thread of its own with its own small runtime; a call waits for its
//! answer at most [`ANSWER`].

use super::CounterError;
use std::sync::mpsc;
use std::time::Duration;
use tokio_postgres::Client;

/// The longest a call waits for the database.
const ANSWER: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
    SET client_min_messages TO warning;
    BEGIN;
    SELECT pg_advisory_xact_lock(7166516394211619694);
    CREATE TABLE IF NOT EXISTS counter_ours (
        system_title text NOT NULL,
        key_id text NOT NULL,
        next bigint NOT NULL,
        PRIMARY KEY (system_title, key_id)
    );
    CREATE TABLE IF NOT EXISTS counter_meter_floor (
        system_title text NOT NULL,
        key_id text NOT NULL,
        floor bigint NOT NULL,
        PRIMARY KEY (system_title, key_id)
    );
    CREATE TABLE IF NOT EXISTS counter_legacy (
        key_id text PRIMARY KEY,
        next bigint NOT NULL
    );
    COMMIT;";

/// What the database thread is asked.
enum Ask {
    Reserve {
        title: String,
        key: String,
        at_least: u32,
        want: u32,
        need: u32,
        reply: mpsc::SyncSender<Result<Option<(u32, u32)>, String>>,
    },
    Top {
        title: String,
        key: String,
        reply: mpsc::SyncSender<Result<u32, String>>,
    },
    Floor {
        title: String,
        key: String,
        reply: mpsc::SyncSender<Result<Option<i64>, String>>,
    },
    Flush {
        floors: Vec<(String, String, u32)>,
        give_back: Vec<(String, String, u32, u32)>,
        reply: mpsc::SyncSender<Result<(), String>>,
    },
    Legacy {
        rows: Vec<(String, u32)>,
        reply: mpsc::SyncSender<Result<(), String>>,
    },
}

/// The counters' database, through its thread.
pub(super) struct Postgres {
    /// The URL as shown in messages (password masked by the caller).
    shown: String,
    asks: tokio::sync::mpsc::UnboundedSender<Ask>,
}

impl Postgres {
    /// Starts the thread; it connects (and creates the tables) on first use and again after
    /// a lost connection.
    pub(super) fn start(url: String, shown: String) -> Postgres {
        let (asks, mut rx) = tokio::sync::mpsc::unbounded_channel::<Ask>();
        let _ = std::thread::Builder::new()
            .name("counters-pg".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("invocation counters: no runtime for PostgreSQL: {e}");
                        return;
                    }
                };
                rt.block_on(async move {
                    // Writes one at a time on one connection; reads (the top of the counters,
                    // a meter's floor) at once on another, so sessions starting together
                    // do not queue behind each other.
                    let mut client: Option<Client> = None;
                    let mut reader: Option<std::sync::Arc<Client>> = None;
                    while let Some(ask) = rx.recv().await {
                        match ask {
                            Ask::Top { .. } | Ask::Floor { .. } => {
                                match read_connection(&url, &mut reader).await {
                                    Ok(c) => {
                                        let url = url.clone();
                                        tokio::spawn(async move {
                                            let mut c = Some(c);
                                            serve_read(&url, &mut c, ask).await
                                        });
                                    }
                                    Err(e) => fail(ask, e),
                                }
                            }
                            ask => serve(&url, &mut client, ask).await,
                        }
                    }
                });
            });
        Postgres { shown, asks }
    }

    fn ask<T>(
        &self,
        action: &'static str,
        make: impl FnOnce(mpsc::SyncSender<Result<T, String>>) -> Ask,
    ) -> Result<T, CounterError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let fail = |message: String| CounterError::Postgres {
            url: self.shown.clone(),
            action,
            message,
        };
        self.asks
            .send(make(tx))
            .map_err(|_| fail("its thread is gone".into()))?;
        // On a multi-threaded runtime the wait hands this worker's other tasks to another
        // thread, so thousands of sessions waiting for counters never stall the logger.
        let wait = || rx.recv_timeout(ANSWER);
        let answer = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        };
        match answer {
            Ok(r) => r.map_err(fail),
            Err(_) => Err(fail(format!("no answer within {} s", ANSWER.as_secs()))),
        }
    }

    /// Reserves up to `want` values (at least `need`) from `at_least`: (first, count), or
    /// `None` when the space is used up.
    pub(super) fn reserve(
        &self,
        title: String,
        key: String,
        at_least: u32,
        want: u32,
        need: u32,
    ) -> Result<Option<(u32, u32)>, CounterError> {
        self.ask("reserving invocation counters", |reply| Ask::Reserve {
            title,
            key,
            at_least,
            want,
            need,
            reply,
        })
    }

    /// The end of the highest block anybody reserved (0 when none).
    pub(super) fn top(&self, title: String, key: String) -> Result<u32, CounterError> {
        self.ask("reading the highest invocation counter reserved", |reply| {
            Ask::Top { title, key, reply }
        })
    }

    /// The stored floor of a meter.
    pub(super) fn floor(&self, title: String, key: String) -> Result<Option<i64>, CounterError> {
        self.ask("reading a meter's counter floor", |reply| Ask::Floor {
            title,
            key,
            reply,
        })
    }

    /// Raises floors and gives back unused blocks.
    pub(super) fn flush(
        &self,
        floors: Vec<(String, String, u32)>,
        give_back: Vec<(String, String, u32, u32)>,
    ) -> Result<(), CounterError> {
        self.ask("writing floors and giving back counters", |reply| {
            Ask::Flush {
                floors,
                give_back,
                reply,
            }
        })
    }

    /// Imports counters of older stores.
    pub(super) fn legacy(&self, rows: Vec<(String, u32)>) -> Result<(), CounterError> {
        self.ask("importing older counters", |reply| Ask::Legacy {
            rows,
            reply,
        })
    }
}

async fn connected<'a>(
    url: &str,
    client: &'a mut Option<Client>,
) -> Result<&'a mut Client, String> {
    if client.as_ref().is_none_or(Client::is_closed) {
        let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        c.batch_execute(SCHEMA)
            .await
            .map_err(|e| format!("creating the counters' tables: {e}"))?;
        *client = Some(c);
    }
    client.as_mut().ok_or_else(|| "not connected".to_string())
}

/// The connection for reads, made when missing or closed.
async fn read_connection(
    url: &str,
    reader: &mut Option<std::sync::Arc<Client>>,
) -> Result<std::sync::Arc<Client>, String> {
    if let Some(c) = reader.as_ref().filter(|c| !c.is_closed()) {
        return Ok(c.clone());
    }
    let mut fresh = None;
    connected(url, &mut fresh).await?;
    let c = std::sync::Arc::new(fresh.ok_or_else(|| "not connected".to_string())?);
    *reader = Some(c.clone());
    Ok(c)
}

/// Answers a read with an error.
fn fail(ask: Ask, e: String) {
    match ask {
        Ask::Top { reply, .. } => drop(reply.send(Err(e))),
        Ask::Floor { reply, .. } => drop(reply.send(Err(e))),
        Ask::Reserve { reply, .. } => drop(reply.send(Err(e))),
        Ask::Flush { reply, .. } | Ask::Legacy { reply, .. } => drop(reply.send(Err(e))),
    }
}

/// A read on the shared read connection.
async fn serve_read(_url: &str, client: &mut Option<std::sync::Arc<Client>>, ask: Ask) {
    let Some(c) = client.as_ref() else {
        return fail(ask, "not connected".into());
    };
    match ask {
        Ask::Top { title, key, reply } => {
            let r = c
                .query_opt(
                    "SELECT next FROM counter_ours WHERE system_title = $1 AND key_id = $2",
                    &[&title, &key],
                )
                .await
                .map(|row| {
                    row.map_or(0, |r| {
                        r.get::<_, i64>(0).clamp(0, i64::from(u32::MAX)) as u32
                    })
                })
                .map_err(|e| e.to_string());
            let _ = reply.send(r);
        }
        Ask::Floor { title, key, reply } => {
            let r = c
                .query_opt(
                    "SELECT floor FROM counter_meter_floor WHERE system_title = $1 AND key_id = $2",
                    &[&title, &key],
                )
                .await
                .map(|row| row.map(|r| r.get::<_, i64>(0)))
                .map_err(|e| e.to_string());
            let _ = reply.send(r);
        }
        other => fail(other, "not a read".into()),
    }
}

async fn serve(url: &str, client: &mut Option<Client>, ask: Ask) {
    match ask {
        Ask::Reserve {
            title,
            key,
            at_least,
            want,
            need,
            reply,
        } => {
            let r = async {
                let c = connected(url, client).await?;
                reserve(c, &title, &key, at_least, want, need)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            let _ = reply.send(r);
        }
        read @ (Ask::Top { .. } | Ask::Floor { .. }) => {
            fail(read, "reads go to the read connection".into())
        }
        Ask::Flush {
            floors,
            give_back,
            reply,
        } => {
            let r = async {
                let c = connected(url, client).await?;
                let tx = c.transaction().await.map_err(|e| e.to_string())?;
                // One statement for all (a fleet's logger raises thousands between flushes,
                // under the store's lock): the floors come from a map, so no row twice.
                if !floors.is_empty() {
                    let titles: Vec<&str> = floors.iter().map(|f| f.0.as_str()).collect();
                    let keys: Vec<&str> = floors.iter().map(|f| f.1.as_str()).collect();
                    let values: Vec<i64> = floors.iter().map(|f| i64::from(f.2)).collect();
                    tx.execute(
                        "INSERT INTO counter_meter_floor (system_title, key_id, floor) \
                         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) \
                         ON CONFLICT (system_title, key_id) DO UPDATE \
                         SET floor = GREATEST(counter_meter_floor.floor, excluded.floor)",
                        &[&titles, &keys, &values],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                for (title, key, next, end) in &give_back {
                    // Only if nobody reserved after us: the meter must never see our counter go back.
                    tx.execute(
                        "UPDATE counter_ours SET next = $3 \
                         WHERE system_title = $1 AND key_id = $2 AND next = $4",
                        &[title, key, &i64::from(*next), &i64::from(*end)],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())
            }
            .await;
            let _ = reply.send(r);
        }
        Ask::Legacy { rows, reply } => {
            let r = async {
                let c = connected(url, client).await?;
                for (key, next) in &rows {
                    c.execute(
                        "INSERT INTO counter_legacy (key_id, next) VALUES ($1, $2) \
                         ON CONFLICT (key_id) DO UPDATE \
                         SET next = GREATEST(counter_legacy.next, excluded.next)",
                        &[key, &i64::from(*next)],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            .await;
            let _ = reply.send(r);
        }
    }
}

/// One reservation: the row locked, the block computed, written and committed.
async fn reserve(
    c: &mut Client,
    title: &str,
    key: &str,
    at_least: u32,
    want: u32,
    need: u32,
) -> Result<Option<(u32, u32)>, tokio_postgres::Error> {
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO counter_ours (system_title, key_id, next) VALUES ($1, $2, 0) \
         ON CONFLICT (system_title, key_id) DO NOTHING",
        &[&title, &key],
    )
    .await?;
    let row = tx
        .query_one(
            "SELECT o.next, COALESCE((SELECT l.next FROM counter_legacy l WHERE l.key_id = $2), 0) \
             FROM counter_ours o WHERE o.system_title = $1 AND o.key_id = $2 FOR UPDATE",
            &[&title, &key],
        )
        .await?;
    let (current, legacy): (i64, i64) = (row.get(0), row.get(1));
    let first = current.max(legacy).max(i64::from(at_least));
    // u32::MAX itself is never used: the counter after it would wrap.
    let got = (i64::from(u32::MAX) - first).min(i64::from(want));
    if got < i64::from(need) {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.execute(
        "UPDATE counter_ours SET next = $3 WHERE system_title = $1 AND key_id = $2",
        &[&title, &key, &(first + got)],
    )
    .await?;
    tx.commit().await?;
    Ok(Some((first as u32, got as u32)))
}
