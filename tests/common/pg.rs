//! The PostgreSQL server the tests use: `DLMS_TEST_PG` (a `postgres://` URL that
//! `scripts/test-postgres.sh` prints and `.ci/run` sets). Each test gets a fresh database of
//! its own on it, so tests run in parallel and leave nothing behind that matters.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty database on the test server: its URL. `None` (with a message saying how
/// to start a server) when `DLMS_TEST_PG` is unset outside CI; under CI=true a missing or
/// unreachable server fails the test.
pub async fn fresh_database(label: &str) -> Option<String> {
    let Ok(url) = std::env::var("DLMS_TEST_PG") else {
        if super::in_ci() {
            panic!(
                "PostgreSQL is required under CI=true: DLMS_TEST_PG is not set (.ci/run sets it)"
            );
        }
        eprintln!(
            "SKIPPED: no PostgreSQL for this test. Start one with \
             `eval \"$(scripts/test-postgres.sh)\"` (sets DLMS_TEST_PG), then run the tests again."
        );
        return None;
    };
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t_{}_{}_{}",
        label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            })
            .take(30)
            .collect::<String>(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("the PostgreSQL at DLMS_TEST_PG={url} does not answer: {e}"));
    let task = tokio::spawn(conn);
    // One statement per call: several in one query string run as one transaction, which
    // CREATE DATABASE refuses.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&sql).await.unwrap_or_else(|e| {
            let why = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string());
            panic!("cannot create test database {name}: {why}")
        });
    }
    drop(client);
    let _ = task.await;
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}
