//! Upgrade and compare: a database made by the first migration, with data in it, migrated to the
//! current schema must equal a fresh database's schema and keep its data intact.

use std::borrow::Cow;

use sqlx::SqlitePool;
use venue_desk::journal::{GENESIS_HASH, hash_of};
use venue_desk::store::journal::JournalRow;
use venue_desk::store::{MIGRATOR, Store};
use venue_desk_tests::fixture::schema;

async fn columns(pool: &SqlitePool, table: &str) -> Vec<(String, String, i64, Option<String>)> {
    sqlx::query_as(&format!(
        "SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info('{table}') ORDER BY cid"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn first_schema_with_data_upgrades_to_the_fresh_schema() {
    assert!(MIGRATOR.iter().count() >= 2, "this test needs at least two migrations to mean something");
    let dir = tempfile::tempdir().unwrap();
    let old_url = format!("sqlite://{}", dir.path().join("old.db").display());
    let fresh_url = format!("sqlite://{}", dir.path().join("fresh.db").display());

    // The first release's schema, by running only the first migration.
    let mut first = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../src-tauri/migrations"
    )))
    .await
    .unwrap();
    first.migrations = Cow::Owned(vec![MIGRATOR.iter().next().unwrap().clone()]);
    {
        let opts: sqlx::sqlite::SqliteConnectOptions =
            old_url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap().create_if_missing(true);
        let pool = SqlitePool::connect_with(opts).await.unwrap();
        first.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO operators (username, display_name, role, password_hash, created_at, updated_at) \
             VALUES ('wang', '王芳', 'front_desk', '$argon2id$x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let mut prev = GENESIS_HASH.to_string();
        for seq in 1..=3 {
            let mut r = JournalRow {
                seq,
                recorded_at: format!("2026-01-01T08:0{seq}:00+08:00"),
                recorded_at_ms: 1_767_225_600_000 + seq * 60_000,
                actor: "wang".into(),
                actor_role: Some("front_desk".into()),
                kind: "operator.login".into(),
                subject: "wang".into(),
                outcome: "ok".into(),
                detail: "null".into(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            r.hash = hash_of(&r);
            prev = r.hash.clone();
            sqlx::query(
                "INSERT INTO journal (seq, recorded_at, recorded_at_ms, actor, actor_role, kind, subject, outcome, detail, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(r.seq).bind(&r.recorded_at).bind(r.recorded_at_ms).bind(&r.actor).bind(&r.actor_role).bind(&r.kind)
            .bind(&r.subject).bind(&r.outcome).bind(&r.detail).bind(&r.prev_hash).bind(&r.hash)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }

    let upgraded = Store::open(&old_url).await.unwrap();
    let fresh = Store::open(&fresh_url).await.unwrap();
    assert_eq!(schema(upgraded.pool()).await, schema(fresh.pool()).await);
    for table in ["operators", "journal", "outbox"] {
        assert_eq!(columns(upgraded.pool(), table).await, columns(fresh.pool(), table).await, "{table}");
    }

    let (name, last_step): (String, Option<i64>) =
        sqlx::query_as("SELECT display_name, totp_last_step FROM operators WHERE username = 'wang'")
            .fetch_one(upgraded.pool())
            .await
            .unwrap();
    assert_eq!((name.as_str(), last_step), ("王芳", None));
    let report = venue_desk::journal::verify(&upgraded).await.unwrap();
    assert!(report.ok && report.count == 3, "{report:?}");
}
