//! Leases in SQL: claim, renew, release — each one statement, atomic in the database, with
//! the database's clock. A claim succeeds only on a connection nobody holds or whose lease has
//! expired (`INSERT … ON CONFLICT … DO UPDATE … WHERE expires_at <= now()`), and raises the
//! epoch; a renewal extends only the holder's leases still valid, and the holder frees at
//! once those it does not run under the same epoch; a release frees only the epoch it names.

use tokio_postgres::Client;

/// Up to `limit` of `names` that nobody holds now (no lease, or an expired one), in random
/// order so that loggers claiming at once mostly ask for different ones.
pub(super) async fn free(
    db: &Client,
    names: &[String],
    limit: usize,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = db
        .query(
            "SELECT c FROM unnest($1::text[]) AS c \
             WHERE NOT EXISTS (SELECT 1 FROM fleet_lease l \
                               WHERE l.connection = c AND l.expires_at > now()) \
             ORDER BY random() LIMIT $2",
            &[&names, &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Claims those of `names` that are free at this instant; returns the ones claimed with
/// their new epochs.
pub(super) async fn claim(
    db: &Client,
    me: &str,
    names: &[String],
    expiry_ms: i64,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let rows = db
        .query(
            "INSERT INTO fleet_lease AS l (connection, holder, epoch, claimed_at, renewed_at, expires_at) \
             SELECT c, $2, 1, now(), now(), now() + $3::bigint * interval '1 millisecond' \
             FROM unnest($1::text[]) AS c \
             ON CONFLICT (connection) DO UPDATE SET holder = excluded.holder, \
                 epoch = l.epoch + 1, claimed_at = now(), renewed_at = now(), \
                 expires_at = excluded.expires_at \
             WHERE l.expires_at <= now() \
             RETURNING l.connection, l.epoch",
            &[&names, &me, &expiry_ms],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Renews every lease `me` holds that is still valid (through the holder's index: no list
/// of names is sent or joined); returns them with their epochs. The caller keeps those it
/// runs under the same epoch and frees the others with [`release_all`] (a claim whose
/// answer was lost, a lease its guard gave up on): a renewal never keeps a lease nobody runs.
pub(super) async fn renew(
    db: &Client,
    me: &str,
    expiry_ms: i64,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let rows = db
        .query(
            "UPDATE fleet_lease SET renewed_at = now(), \
                 expires_at = now() + $2::bigint * interval '1 millisecond' \
             WHERE holder = $1 AND expires_at > now() \
             RETURNING connection, epoch",
            &[&me, &expiry_ms],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Frees the leases `held` (name, epoch) that we still hold under those epochs.
pub(super) async fn release_all(
    db: &Client,
    me: &str,
    held: &[(String, i64)],
) -> Result<u64, tokio_postgres::Error> {
    let names: Vec<&str> = held.iter().map(|(n, _)| n.as_str()).collect();
    let epochs: Vec<i64> = held.iter().map(|(_, e)| *e).collect();
    db.execute(
        "DELETE FROM fleet_lease AS l USING unnest($2::text[], $3::bigint[]) AS m(c, e) \
         WHERE l.connection = m.c AND l.epoch = m.e AND l.holder = $1",
        &[&me, &names, &epochs],
    )
    .await
}

/// Frees the lease of `name` if we still hold it under `epoch`.
pub(super) async fn release(
    db: &Client,
    me: &str,
    name: &str,
    epoch: i64,
) -> Result<bool, tokio_postgres::Error> {
    let n = db
        .execute(
            "DELETE FROM fleet_lease WHERE connection = $1 AND holder = $2 AND epoch = $3",
            &[&name, &me, &epoch],
        )
        .await?;
    Ok(n == 1)
}
