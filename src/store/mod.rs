//! The log of every reading and failure: an SQLite file, or a PostgreSQL database
//! (`pg/`: the same concepts and calls; see its doc). [`StoreLocation`] says which,
//! [`Database`] opens either behind one set of calls, and the writer thread and the query
//! service take either, so the runner, the UI and the command line never care which.
//! What follows describes the SQLite backend.
//!
//! # Layout
//!
//! Every item read, successful or not, becomes one row of `reading` (a failure has its
//! error text as status and no value). The names that repeat on every row — request,
//! meter, item, OBIS code, class, attribute — live once in a `series` row that readings
//! reference by id. On a 10-million-row log this removes most of the bytes per row, and the
//! series row doubles as a summary kept up to date in the same transaction as each insert
//! (latest row, row and failure counts), so "latest per item" and the status-bar counts
//! read a few hundred series rows instead of the log. The unit stays on the reading because
//! a failure has none and a meter may change its scaler-unit.
//!
//! Indexes on `(ts)`, `(series, ts)` and their partial twins over failures make every
//! query an index range: history reads one series range; a log page filtered by meter or
//! item merges the ranges of the matching series; unfiltered or status-filtered pages walk
//! the time index from the keyset cursor.
//!
//! # Durability
//!
//! The database runs in WAL mode (readers never block the writer) with
//! `synchronous=FULL`: each commit fsyncs the WAL, so a batch reported as stored survives
//! a crash or power loss. `NORMAL` would be faster but may lose the last commits on power
//! loss. Batching readings into one transaction keeps the fsync cost per poll, not per row.
//! Each commit also rewrites the tail page of every series it touches in the `(series, ts)`
//! index, so the connection keeps an 8 MiB page cache and checkpoints the WAL every 10,000
//! pages rather than every 1,000 (a checkpoint copies the hot pages back and fsyncs the
//! database).
//!
//! The schema version is `PRAGMA user_version`; a file from a newer dlms-logger is refused.

mod browse;
mod database;
mod db;
mod error;
mod export;
mod filter;
mod insert;
mod location;
pub mod outbox;
mod pg;
mod query;
mod reader;
mod record;
mod schema;
mod writer;
mod writes;

pub use database::Database;
pub use db::Store;
pub use error::StoreError;
pub use export::ExportFormat;
pub use filter::{LogFilter, StatusFilter};
pub use location::{PgUrl, StoreLocation};
pub use pg::PgStore;
pub use query::{Order, Scan};
pub use reader::{spawn_reader, spawn_reader_at, QueryError, ReaderHandle};
pub use record::{decimal_json, Cursor, Record, Row, STATUS_OK};
pub use schema::SCHEMA_VERSION;
pub use writer::{Pending, Refused, RetryPolicy, Writer, WriterHandle};
pub use writes::{WriteOutcome, WriteRecord};
