//! A logger's row in the fleet: registered at start (refused while another live process holds
//! the name), renewed with every heartbeat, deleted at a clean stop. Loggers alive are those
//! whose row has not expired by the database's clock.

use tokio_postgres::Client;

/// Registers (or renews) `name` for the process with `token`; false when another live process
/// holds the name. Returns the number of loggers alive (ourselves included) when true.
pub(super) async fn heartbeat(
    db: &Client,
    name: &str,
    token: &str,
    expiry_ms: i64,
) -> Result<Option<usize>, tokio_postgres::Error> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let pid = std::process::id() as i32;
    let row = db
        .query_opt(
            "INSERT INTO fleet_instance AS i (name, token, host, pid, started_at, seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, now(), now(), now() + $5::bigint * interval '1 millisecond') \
             ON CONFLICT (name) DO UPDATE SET \
                 started_at = CASE WHEN i.token = excluded.token THEN i.started_at ELSE now() END, \
                 token = excluded.token, host = excluded.host, pid = excluded.pid, \
                 seen_at = now(), expires_at = excluded.expires_at \
             WHERE i.token = excluded.token OR i.expires_at <= now() \
             RETURNING (SELECT count(*) FROM fleet_instance \
                        WHERE expires_at > now() AND name <> $1) + 1",
            &[&name, &token, &host, &pid, &expiry_ms],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, i64>(0).max(1) as usize))
}

/// Deletes our row (a clean stop: the others rebalance at once).
pub(super) async fn leave(
    db: &Client,
    name: &str,
    token: &str,
) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "DELETE FROM fleet_instance WHERE name = $1 AND token = $2",
        &[&name, &token],
    )
    .await
    .map(drop)
}
