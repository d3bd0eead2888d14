//! All SQL lives here. Services ask for rows and hand over rows; nothing above this module
//! writes a query. The SQL is kept portable (numbered `$n` parameters in order, no SQLite-only
//! upserts) so a PostgreSQL store can follow for multi-workstation venues.

pub mod alerts;
pub mod bookings;
pub mod checkin;
pub mod incidents;
pub mod journal;
pub mod operators;
pub mod recorder;
pub mod recordings;
pub mod sync;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::{Error, ErrorKind, Result};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub struct Store {
    pool: SqlitePool,
    /// SQLite has one writer at a time; taking turns in-process avoids busy retries and keeps
    /// the journal's chain head stable for the length of a write transaction.
    write_gate: Mutex<()>,
}

/// A write transaction holding the store's write turn. Dropped without `commit`, it rolls back.
pub struct WriteTx<'a> {
    _turn: MutexGuard<'a, ()>,
    pub(crate) tx: Transaction<'static, Sqlite>,
    after_commit: Vec<Box<dyn FnOnce() + Send>>,
}

impl WriteTx<'_> {
    /// Runs `f` once the transaction has committed (e.g. to announce what was written); never
    /// if it rolls back.
    pub fn after_commit(&mut self, f: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(f));
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        for f in self.after_commit {
            f();
        }
        Ok(())
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`. Refuses a database written
    /// by a newer Venue Desk and one that is not a database at all, without changing either.
    pub async fn open(url: &str) -> Result<Store> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                Error::invalid(
                    format!("数据库地址 “{url}” 无效：{e}"),
                    format!("The database address \"{url}\" is invalid: {e}"),
                )
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Evidence must survive a power cut: every commit reaches the disk.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(dir) = opts.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("无法创建数据目录 {}：{e}", dir.display()),
                    format!("Cannot create the data directory {}: {e}", dir.display()),
                )
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A write that fails inside SQLite (a full disk, an I/O error) can roll the transaction
            // back behind sqlx's back, leaving the connection believing it is still in one; such a
            // connection is closed rather than handed out again.
            .before_acquire(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
            .connect_with(opts)
            .await?;
        let store = Store { pool, write_gate: Mutex::new(()) };
        store.refuse_newer_schema(url).await?;
        MIGRATOR.run(&store.pool).await.map_err(|e| migrate_error(url, e))?;
        Ok(store)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn begin_write(&self) -> Result<WriteTx<'_>> {
        let turn = self.write_gate.lock().await;
        // IMMEDIATE takes SQLite's write lock at once. A deferred transaction that reads first and
        // writes later can fail with SQLITE_BUSY_SNAPSHOT (no busy wait) if any other connection
        // wrote in between, e.g. one recovering from a failed write such as a full disk.
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { _turn: turn, tx, after_commit: Vec::new() })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn refuse_newer_schema(&self, url: &str) -> Result<()> {
        let has_table: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await?;
        if has_table.is_none() {
            return Ok(());
        }
        let (applied,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&self.pool).await?;
        let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        match applied {
            Some(v) if v > known => Err(newer_schema(url, v, known)),
            _ => Ok(()),
        }
    }
}

fn newer_schema(url: &str, applied: i64, known: i64) -> Error {
    Error::precondition(
        format!(
            "数据库 {url} 由更新版本的 Venue Desk 创建（结构版本 {applied}，本程序最高支持 {known}）。\
             请安装新版本，或在场所配置中将 database_url 指向其他数据库。数据库未被改动。"
        ),
        format!(
            "The database {url} was written by a newer Venue Desk (schema {applied}; this build knows \
             up to {known}). Install the newer version, or point database_url elsewhere. The database \
             was not changed."
        ),
    )
}

fn migrate_error(url: &str, e: MigrateError) -> Error {
    match e {
        MigrateError::VersionMissing(v) => {
            newer_schema(url, v, MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0))
        }
        MigrateError::VersionMismatch(v) => Error::new(
            ErrorKind::DataLoss,
            format!(
                "数据库 {url} 的结构版本 {v} 与本程序不一致（迁移脚本被修改过）。请从备份恢复，或联系技术支持。"
            ),
            format!(
                "The database {url} has schema {v} applied differently from this build. Restore it from a backup or contact support."
            ),
        ),
        MigrateError::Execute(e) => classify(e),
        other => Error::internal(format!("database migration failed: {other}")),
    }
}

/// Maps database failures to kinds an operator can act on.
pub fn classify(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), also as extended codes.
        let primary = code.parse::<i32>().map(|c| c & 0xff).unwrap_or(-1);
        if primary == 11 || primary == 26 {
            return Error::new(
                ErrorKind::DataLoss,
                "数据库文件已损坏或不是 Venue Desk 的数据库。请停止使用本机，从备份恢复数据库后再启动；原文件不会被改动。",
                "The database file is damaged or is not a Venue Desk database. Stop using this workstation and restore the database from a backup; the file was left as it is.",
            );
        }
        // SQLITE_FULL: the disk (or the database's size limit) is full; nothing was written.
        if primary == 13 {
            return Error::new(
                ErrorKind::Unavailable,
                "磁盘已满，无法写入数据库；本次操作未保存。请清理磁盘空间（或联系管理员扩容）后重试，已有数据不受影响。",
                "The disk is full, so the database cannot be written; this change was not saved. Free disk space (or ask IT to add some) and try again; existing data is unaffected.",
            );
        }
        if primary == 5 || primary == 6 {
            return Error::new(
                ErrorKind::Unavailable,
                "数据库正忙，请稍后重试。",
                "The database is busy; try again in a moment.",
            );
        }
        if db.message().contains("append-only") {
            return Error::denied(
                "日志只能追加，不能修改或删除。",
                "The journal is append-only: records cannot be changed or deleted.",
            );
        }
        if db.is_unique_violation() {
            return Error::new(ErrorKind::AlreadyExists, "记录已存在。", "That record already exists.");
        }
    }
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Error::new(
            ErrorKind::Unavailable,
            "数据库暂时不可用，请稍后重试。",
            "The database is not available right now; try again in a moment.",
        ),
        sqlx::Error::Io(io) => Error::new(
            ErrorKind::Unavailable,
            format!("读写数据库文件失败：{io}。请检查磁盘空间和权限。"),
            format!("Reading or writing the database failed: {io}. Check disk space and permissions."),
        ),
        other => Error::internal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("venue-desk.db");
        let junk = b"this is not a database, it is a shopping list: rice, tea, batteries".repeat(100);
        std::fs::write(&path, &junk).unwrap();
        let e = Store::open(&format!("sqlite://{}", path.display())).await.err().expect("refused");
        assert_eq!(e.kind, ErrorKind::DataLoss, "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
    }

    #[tokio::test]
    async fn a_database_from_a_newer_release_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("v.db").display());
        let store = Store::open(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
             VALUES (9999, 'from the future', '2030-01-01', 1, x'00', 0)",
        )
        .execute(store.pool())
        .await
        .unwrap();
        store.close().await;
        let e = Store::open(&url).await.err().expect("refused");
        assert_eq!(e.kind, ErrorKind::FailedPrecondition);
        assert!(e.message_in(crate::error::Locale::En).contains("schema 9999"), "{e}");
    }
}
