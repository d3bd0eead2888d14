//! Upgrading a workstation: the previous release's database, with data the app really wrote, opened
//! by this release. `tests/fixtures/release-ea860c1/migrations/` holds the migration files exactly
//! as that release shipped them (commit ea860c1, migrations 0001–0007), so this test also fails
//! when someone edits a migration that has already shipped: sqlx refuses a database whose recorded
//! checksum differs, and every installed workstation would then refuse to start.
//!
//! The data is made by this release's services (operators, rooms, a project, a booking, a sealed
//! roster, journal and outbox) and copied, column by column, into a database at the old schema:
//! the old release wrote the same tables, and only columns both schemas have are copied.

use std::collections::BTreeMap;

use sqlx::{Row, SqlitePool};
use venue_desk::store::Store;
use venue_desk_tests::fixture::{Venue, schema};
use venue_desk_tests::sims::evaluation_with_roster;

const OLD_MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/release-ea860c1/migrations");

async fn tables(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn column_names(pool: &SqlitePool, schema: &str, table: &str) -> Vec<String> {
    sqlx::query_scalar(&format!("SELECT name FROM {schema}.pragma_table_info('{table}') ORDER BY cid"))
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Every row of `table`'s listed columns in rowid order, each value as the hex of its bytes
/// (sealed rosters and keys are blobs) with its type, so 1 and '1' and NULL stay apart.
async fn rows(pool: &SqlitePool, table: &str, cols: &[String]) -> Vec<Vec<Option<String>>> {
    let list = cols
        .iter()
        .map(|c| {
            format!("CASE WHEN \"{c}\" IS NULL THEN NULL ELSE typeof(\"{c}\") || ':' || hex(\"{c}\") END")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let fetched =
        sqlx::query(&format!("SELECT {list} FROM \"{table}\" ORDER BY rowid")).fetch_all(pool).await.unwrap();
    fetched.iter().map(|r| (0..cols.len()).map(|i| r.get::<Option<String>, _>(i)).collect()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_release_database_with_data_upgrades_intact() {
    // 1. Real data, written by the services.
    let venue = Venue::open().await;
    evaluation_with_roster(&venue.services, "E3101000001202611001", "2026-11-23T14:00", "2026-11-23T18:00")
        .await;
    let source_path = venue.data_dir().join("venue-desk.db");
    venue.services.store.close().await;

    // 2. The previous release's schema, from its own migration files.
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("previous-release.db");
    let old_url = format!("sqlite://{}", old_path.display());
    let old_migrator = sqlx::migrate::Migrator::new(std::path::Path::new(OLD_MIGRATIONS)).await.unwrap();
    assert_eq!(old_migrator.iter().count(), 7, "release ea860c1 shipped migrations 0001–0007");
    let opts = old_url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap().create_if_missing(true);
    let old = SqlitePool::connect_with(opts).await.unwrap();
    old_migrator.run(&old).await.unwrap();

    // 3. The data into it: the columns both schemas share, triggers and foreign keys as the app
    //    left them (the copy keeps every key, so references stay valid).
    let mut conn = old.acquire().await.unwrap();
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.unwrap();
    sqlx::query(&format!("ATTACH DATABASE '{}' AS cur", source_path.display()))
        .execute(&mut *conn)
        .await
        .unwrap();
    let old_tables = tables(&old).await;
    let mut copied: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for t in &old_tables {
        let old_cols: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM main.pragma_table_info('{t}') ORDER BY cid"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        let cur_cols: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM cur.pragma_table_info('{t}') ORDER BY cid"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert!(!cur_cols.is_empty(), "table {t} of the previous release is gone: an upgrade would lose it");
        let common: Vec<String> = old_cols.into_iter().filter(|c| cur_cols.contains(c)).collect();
        let list = common.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let n = sqlx::query(&format!(
            "INSERT INTO main.\"{t}\" ({list}) SELECT {list} FROM cur.\"{t}\" ORDER BY rowid"
        ))
        .execute(&mut *conn)
        .await
        .unwrap()
        .rows_affected() as usize;
        copied.insert(t.clone(), (common, n));
    }
    sqlx::query("DETACH DATABASE cur").execute(&mut *conn).await.unwrap();
    drop(conn);
    for t in ["operators", "journal", "outbox", "rooms", "projects", "bookings", "roster_entries"] {
        let n = copied.get(t).map(|c| c.1).unwrap_or_default();
        assert!(
            n > 0,
            "the previous release's {t} must hold data for this test to mean something ({copied:?})"
        );
    }
    old.close().await;

    // 4. This release opens it: migrated, same schema as a fresh database, data intact.
    let upgraded = Store::open(&old_url).await.expect("this release opens the previous release's database");
    let fresh = Store::open(&format!("sqlite://{}", dir.path().join("fresh.db").display())).await.unwrap();
    assert_eq!(schema(upgraded.pool()).await, schema(fresh.pool()).await);
    let source = SqlitePool::connect(&format!("sqlite://{}", source_path.display())).await.unwrap();
    for (t, (cols, n)) in &copied {
        let after = rows(upgraded.pool(), t, cols).await;
        assert_eq!(after.len(), *n, "{t}: rows after the upgrade");
        assert_eq!(after, rows(&source, t, cols).await, "{t}: data after the upgrade");
        assert_eq!(
            column_names(upgraded.pool(), "main", t).await,
            column_names(fresh.pool(), "main", t).await,
            "{t}"
        );
    }
    let report = venue_desk::journal::verify(&upgraded).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.count as usize, copied["journal"].1);

    // 5. And the services start on it (the app's own start-up path after an upgrade).
    upgraded.close().await;
    let mut config = venue_desk::config::demo(dir.path());
    config.database_url = old_url.clone();
    let clock =
        std::sync::Arc::new(venue_desk::clock::ManualClock::new("2026-11-24T01:00:00Z".parse().unwrap()));
    let services =
        venue_desk::Services::open(config, clock).await.expect("services start on the upgraded database");
    assert!(!services.auth.needs_first_administrator().await.unwrap(), "the operators survived");
    let roster: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roster_entries WHERE sealed IS NOT NULL")
        .fetch_one(services.store.pool())
        .await
        .unwrap();
    assert!(roster > 0, "sealed roster entries survived");
}

/// A database from a newer release (a migration this build does not know) is refused with a
/// message, never half-opened: downgrades are not supported (docs/operations.md).
#[tokio::test]
async fn a_newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("newer.db").display());
    Store::open(&url).await.unwrap().close().await;
    let pool = SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (9999, 'from the future', CURRENT_TIMESTAMP, 1, X'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let e = Store::open(&url).await.err().expect("refused");
    assert!(!e.message_in(venue_desk::error::Locale::En).is_empty());
}
