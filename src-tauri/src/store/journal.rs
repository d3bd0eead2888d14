//! The journal and the outbox tables. Rows arrive here already chained and hashed by
//! `crate::journal`; this module only stores and reads them.

use sqlx::{FromRow, QueryBuilder, Sqlite, SqlitePool};

use super::WriteTx;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct JournalRow {
    pub seq: i64,
    pub recorded_at: String,
    pub recorded_at_ms: i64,
    pub actor: String,
    pub actor_role: Option<String>,
    pub kind: String,
    pub subject: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub event_id: String,
    pub journal_seq: i64,
    pub event_type: String,
    pub occurred_at: String,
    pub payload: String,
}

#[derive(Debug, Default, Clone)]
pub struct JournalQuery {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub actor: Option<String>,
    pub kind: Option<String>,
    /// Rows with `seq` below this, newest first; `None` starts at the newest.
    pub before_seq: Option<i64>,
    pub limit: i64,
}

const COLUMNS: &str =
    "seq, recorded_at, recorded_at_ms, actor, actor_role, kind, subject, outcome, detail, prev_hash, hash";

/// The newest record's sequence number and hash: where the next record links on.
pub async fn head(w: &mut WriteTx<'_>) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *w.tx)
        .await?)
}

/// Appends records (already chained) and their outbox rows in the caller's transaction, as
/// multi-row inserts: one statement per chunk keeps group commits cheap.
pub async fn insert(w: &mut WriteTx<'_>, rows: &[JournalRow], outbox: &[OutboxRow]) -> Result<()> {
    insert_rows(w, "journal", rows).await?;
    for chunk in outbox.chunks(500) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO outbox (event_id, journal_seq, event_type, occurred_at, payload) ",
        );
        q.push_values(chunk, |mut b, o| {
            b.push_bind(&o.event_id)
                .push_bind(o.journal_seq)
                .push_bind(&o.event_type)
                .push_bind(&o.occurred_at)
                .push_bind(&o.payload);
        });
        q.build().execute(&mut *w.tx).await?;
    }
    Ok(())
}

pub async fn query(pool: &SqlitePool, f: &JournalQuery) -> Result<(Vec<JournalRow>, i64)> {
    fn filters<'a>(q: &mut QueryBuilder<'a, Sqlite>, f: &'a JournalQuery, with_cursor: bool) {
        q.push(" WHERE 1 = 1");
        if let Some(v) = f.from_ms {
            q.push(" AND recorded_at_ms >= ").push_bind(v);
        }
        if let Some(v) = f.to_ms {
            q.push(" AND recorded_at_ms < ").push_bind(v);
        }
        if let Some(v) = &f.actor {
            q.push(" AND actor = ").push_bind(v);
        }
        if let Some(v) = &f.kind {
            q.push(" AND kind = ").push_bind(v);
        }
        if with_cursor && let Some(v) = f.before_seq {
            q.push(" AND seq < ").push_bind(v);
        }
    }
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM journal"));
    filters(&mut q, f, true);
    q.push(" ORDER BY seq DESC LIMIT ").push_bind(f.limit);
    let rows = q.build_query_as::<JournalRow>().fetch_all(pool).await?;

    let mut c = QueryBuilder::new("SELECT COUNT(*) FROM journal");
    filters(&mut c, f, false);
    let (total,): (i64,) = c.build_query_as().fetch_one(pool).await?;
    Ok((rows, total))
}

/// Records in chain order from `after_seq` on, a page at a time, for verification.
pub async fn page_after(pool: &SqlitePool, after_seq: i64, limit: i64) -> Result<Vec<JournalRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2"))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

pub async fn distinct_kinds(pool: &SqlitePool) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT kind FROM journal ORDER BY kind").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn distinct_actors(pool: &SqlitePool) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT actor FROM journal ORDER BY actor").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn outbox_pending_count(pool: &SqlitePool) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetch_one(pool).await?;
    Ok(n)
}

/// The comparison load for the journal benchmark: the same columns inserted the same way, into
/// a plain table with no chain, no outbox and no triggers.
pub async fn baseline_insert(w: &mut WriteTx<'_>, rows: &[JournalRow]) -> Result<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_plain (seq INTEGER PRIMARY KEY, recorded_at TEXT NOT NULL, \
         recorded_at_ms INTEGER NOT NULL, actor TEXT NOT NULL, actor_role TEXT, kind TEXT NOT NULL, \
         subject TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, \
         hash TEXT NOT NULL)",
    )
    .execute(&mut *w.tx)
    .await?;
    insert_rows(w, "bench_plain", rows).await
}

async fn insert_rows(w: &mut WriteTx<'_>, table: &str, rows: &[JournalRow]) -> Result<()> {
    // SQLite allows 32,766 bound parameters per statement; 11 columns × 500 rows stays well below.
    for chunk in rows.chunks(500) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!("INSERT INTO {table} ({COLUMNS}) "));
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.seq)
                .push_bind(&r.recorded_at)
                .push_bind(r.recorded_at_ms)
                .push_bind(&r.actor)
                .push_bind(&r.actor_role)
                .push_bind(&r.kind)
                .push_bind(&r.subject)
                .push_bind(&r.outcome)
                .push_bind(&r.detail)
                .push_bind(&r.prev_hash)
                .push_bind(&r.hash);
        });
        q.build().execute(&mut *w.tx).await?;
    }
    Ok(())
}
