//! Who holds what, read from the fleet's tables for `dlms-logger status`.

use super::{masked, FleetError};
use serde::Serialize;

/// A logger of the fleet as its row says.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InstanceRow {
    /// Its name.
    pub name: String,
    /// Host and process.
    pub host: String,
    /// Process id.
    pub pid: i32,
    /// True while its heartbeat has not expired.
    pub alive: bool,
    /// Milliseconds since its last heartbeat.
    pub seen_ms_ago: i64,
    /// Connections it holds (valid leases).
    pub holds: i64,
}

/// A connection's lease.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeaseRow {
    /// The connection.
    pub connection: String,
    /// The logger holding it.
    pub holder: String,
    /// The lease's epoch (raised at each claim).
    pub epoch: i64,
    /// Milliseconds until the lease expires (negative: expired, free to claim).
    pub expires_in_ms: i64,
}

/// The fleet as the database sees it now.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FleetReport {
    /// The database, password masked.
    pub database: String,
    /// The loggers, by name.
    pub instances: Vec<InstanceRow>,
    /// The leases, by connection.
    pub leases: Vec<LeaseRow>,
}

/// Reads the fleet's tables (an empty report when the fleet never ran on that database).
pub async fn report(url: &str) -> Result<FleetReport, FleetError> {
    let db = super::coordinator::connect(url).await?;
    let fail = |action| {
        let url = masked(url);
        move |source| FleetError::Database {
            url,
            action,
            source,
        }
    };
    let exists: bool = db
        .query_one(
            "SELECT to_regclass('fleet_lease') IS NOT NULL AND to_regclass('fleet_instance') IS NOT NULL",
            &[],
        )
        .await
        .map_err(fail("looking for the fleet's tables"))?
        .get(0);
    let mut out = FleetReport {
        database: masked(url),
        instances: Vec::new(),
        leases: Vec::new(),
    };
    if !exists {
        return Ok(out);
    }
    let rows = db
        .query(
            "SELECT i.name, i.host, i.pid, i.expires_at > now(), \
                    (extract(epoch FROM now() - i.seen_at) * 1000)::bigint, \
                    (SELECT count(*) FROM fleet_lease l WHERE l.holder = i.name AND l.expires_at > now()) \
             FROM fleet_instance i ORDER BY i.name",
            &[],
        )
        .await
        .map_err(fail("reading the loggers"))?;
    out.instances = rows
        .iter()
        .map(|r| InstanceRow {
            name: r.get(0),
            host: r.get(1),
            pid: r.get(2),
            alive: r.get(3),
            seen_ms_ago: r.get(4),
            holds: r.get(5),
        })
        .collect();
    let rows = db
        .query(
            "SELECT connection, holder, epoch, \
                    (extract(epoch FROM expires_at - now()) * 1000)::bigint \
             FROM fleet_lease ORDER BY connection",
            &[],
        )
        .await
        .map_err(fail("reading the leases"))?;
    out.leases = rows
        .iter()
        .map(|r| LeaseRow {
            connection: r.get(0),
            holder: r.get(1),
            epoch: r.get(2),
            expires_in_ms: r.get(3),
        })
        .collect();
    Ok(out)
}
