//! The log in PostgreSQL: the same concepts as the SQLite store, behind the same calls.
//!
//! Tables (schema in `schema.rs`): `series` holds the names once with the per-series summary
//! (latest row, row and failure counts), `reading` the rows, partitioned by month of their
//! time (`PARTITION BY RANGE (ts)`, a partition created before the first row of its month is
//! written, and a default partition for times outside years 1970–9999, so no row is ever
//! refused), `writes` the changes made to meters, `meta` the poll-id counter and the last row
//! id, `dlms_logger_schema` the schema version.
//!
//! Writing (`insert.rs`): one transaction per group of batches; the rows go in by binary
//! `COPY`, their ids taken from `meta` under its row lock, so ids increase in commit order
//! (keyset paging sees no row appear behind its cursor) and concurrent writers queue there.
//!
//! The client is tokio-postgres with a deadpool pool, on a small runtime of the store's own:
//! the store's callers are threads (the writer, the query service, the command line), so each
//! call blocks its caller like an SQLite call does. A broken connection is replaced by the
//! pool on the next call.

mod insert;
mod query;
mod schema;

use std::borrow::Cow;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use super::insert::SeriesIds;
use super::location::PgUrl;
use super::StoreError;

/// Connections one store keeps: the writer uses one at a time; a query service runs one
/// query and one export at a time.
const POOL_SIZE: usize = 2;

/// How long a call waits for a connection (the server being down fails sooner, at connect).
const WAIT: Duration = Duration::from_secs(10);

/// The log in a PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    /// The masked URL, for messages.
    shown: String,
    /// Ids of committed series.
    pub(super) series: SeriesIds,
    /// Months whose partition exists (created by us or found there).
    months: std::collections::HashSet<i64>,
}

/// The runtime the PostgreSQL client runs on: two worker threads drive the connections; the
/// calling thread drives each call.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("store-pg")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the PostgreSQL client's runtime: {e}"))
    })
}

/// Runs `work` to completion on the store's runtime, blocking the caller. From inside another
/// runtime (a task that calls the store, as it would call SQLite) it runs on a scoped thread,
/// since a runtime cannot be blocked on from within one.
fn block<F>(work: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime().block_on(work);
    }
    std::thread::scope(|s| {
        s.spawn(|| runtime().block_on(work))
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema to [`SCHEMA_VERSION`].
    pub fn open(url: &PgUrl) -> Result<PgStore, StoreError> {
        let mut store = PgStore::connect(url)?;
        block(store.migrate())?;
        Ok(store)
    }

    /// Connects without migrating; a schema other than this build's is refused.
    pub fn open_read_only(url: &PgUrl) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(url)?;
        block(store.check_schema())?;
        Ok(store)
    }

    fn connect(url: &PgUrl) -> Result<PgStore, StoreError> {
        let config = url.config()?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .recycle_timeout(Some(WAIT))
            .build()
            .map_err(|e| StoreError::Unreachable {
                server: url.shown().to_string(),
                reason: e.to_string(),
            })?;
        Ok(PgStore {
            pool,
            shown: url.shown().to_string(),
            series: SeriesIds::default(),
            months: Default::default(),
        })
    }

    /// The masked URL.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// A connection from the pool (a new one when the last one broke).
    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| {
            let reason = match e {
                deadpool_postgres::PoolError::Backend(e) => super::error::postgres_text(&e),
                deadpool_postgres::PoolError::Timeout(_) => {
                    "no connection within 10 s (server down or too busy)".into()
                }
                e => e.to_string(),
            };
            StoreError::Unreachable {
                server: self.shown.clone(),
                reason,
            }
        })
    }

    /// Wraps a PostgreSQL error raised during `action` with the masked URL.
    fn fail(&self, action: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
        let server = self.shown.clone();
        move |source| StoreError::Postgres {
            server: server.clone(),
            action,
            source,
        }
    }

    /// Checks that the server answers (status).
    pub fn ping(&self) -> Result<(), StoreError> {
        block(async {
            let client = self.client().await?;
            client
                .simple_query("SELECT 1")
                .await
                .map_err(self.fail("asking the server"))?;
            Ok(())
        })
    }

    /// Closes the pool's connections.
    pub fn close(self) -> Result<(), StoreError> {
        self.pool.close();
        Ok(())
    }
}

/// Text as PostgreSQL keeps it. PostgreSQL text cannot hold NUL, which a meter's string may;
/// NUL is written as U+FFFF `0` and U+FFFF itself doubled, so every string comes back exactly.
fn to_pg(text: &str) -> Cow<'_, str> {
    if !text.contains(['\0', '\u{FFFF}']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            '\0' => out.push_str("\u{FFFF}0"),
            '\u{FFFF}' => out.push_str("\u{FFFF}\u{FFFF}"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The text [`to_pg`] wrote, as it was.
fn from_pg(text: String) -> String {
    if !text.contains('\u{FFFF}') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{FFFF}' {
            match chars.next() {
                Some('0') => out.push('\0'),
                Some(other) => out.push(other),
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_nul_round_trips() {
        for s in [
            "plain",
            "a\0b",
            "\u{FFFF}",
            "\u{FFFF}0",
            "\0\u{FFFF}\0",
            "",
            "ä\0ö",
        ] {
            let stored = to_pg(s);
            assert!(!stored.contains('\0'));
            assert_eq!(from_pg(stored.into_owned()), s);
        }
    }
}
