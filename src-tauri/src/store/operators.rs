//! Operator accounts.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use super::WriteTx;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct OperatorRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, username, display_name, role, password_hash, totp_secret, totp_last_step, \
                       disabled, failed_logins, locked_until, created_at";

pub struct NewOperator<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
}

pub async fn count(pool: &SqlitePool) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM operators").fetch_one(pool).await?;
    Ok(n)
}

pub async fn count_in(w: &mut WriteTx<'_>) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM operators").fetch_one(&mut *w.tx).await?;
    Ok(n)
}

pub async fn by_username(pool: &SqlitePool, username: &str) -> Result<Option<OperatorRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM operators WHERE username = $1"))
        .bind(username)
        .fetch_optional(pool)
        .await?)
}

pub async fn by_id(pool: &SqlitePool, id: i64) -> Result<Option<OperatorRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM operators WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub async fn by_id_in(w: &mut WriteTx<'_>, id: i64) -> Result<Option<OperatorRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM operators WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?)
}

pub async fn list(pool: &SqlitePool) -> Result<Vec<OperatorRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM operators ORDER BY username")).fetch_all(pool).await?)
}

pub async fn count_active_administrators_in(w: &mut WriteTx<'_>) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM operators WHERE role = 'administrator' AND disabled = 0")
            .fetch_one(&mut *w.tx)
            .await?;
    Ok(n)
}

pub async fn insert(w: &mut WriteTx<'_>, op: &NewOperator<'_>, now: DateTime<Utc>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO operators (username, display_name, role, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(op.username)
    .bind(op.display_name)
    .bind(op.role)
    .bind(op.password_hash)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *w.tx)
    .await?;
    Ok(id)
}

pub async fn set_failed_logins(
    w: &mut WriteTx<'_>,
    id: i64,
    failed_logins: i64,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE operators SET failed_logins = $1, locked_until = $2, updated_at = $3 WHERE id = $4")
        .bind(failed_logins)
        .bind(locked_until)
        .bind(now)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

/// A new password also lifts a lockout: the administrator has vouched for the person.
pub async fn set_password_hash(w: &mut WriteTx<'_>, id: i64, hash: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE operators SET password_hash = $1, failed_logins = 0, locked_until = NULL, updated_at = $2 \
         WHERE id = $3",
    )
    .bind(hash)
    .bind(now)
    .bind(id)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

pub async fn set_disabled(w: &mut WriteTx<'_>, id: i64, disabled: bool, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE operators SET disabled = $1, updated_at = $2 WHERE id = $3")
        .bind(disabled)
        .bind(now)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

pub async fn set_role(w: &mut WriteTx<'_>, id: i64, role: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE operators SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role)
        .bind(now)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

/// Sets or clears (on reset) the second-factor secret; the replay guard starts afresh.
pub async fn set_totp_secret(
    w: &mut WriteTx<'_>,
    id: i64,
    secret: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE operators SET totp_secret = $1, totp_last_step = NULL, updated_at = $2 WHERE id = $3",
    )
    .bind(secret)
    .bind(now)
    .bind(id)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

pub async fn set_totp_last_step(w: &mut WriteTx<'_>, id: i64, step: i64) -> Result<()> {
    sqlx::query("UPDATE operators SET totp_last_step = $1 WHERE id = $2")
        .bind(step)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}
