//! Password hashing (Argon2id) and time-based one-time codes (TOTP, RFC 6238).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::{DateTime, Utc};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::{Error, ErrorKind, Result};

pub const TOTP_STEP_SECS: i64 = 30;
/// Codes from this many steps back are recognised as expired rather than simply wrong, so the
/// operator is told to wait for the next code instead of being told the code is invalid.
const RECOGNISED_OLD_STEPS: i64 = 10;

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A valid hash of no one's password, so an unknown user name costs as much time as a known one.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password 0").expect("hashing works"))
}

pub fn new_totp_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

fn totp(secret_base32: &str, account: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .map_err(|e| Error::internal(format!("stored TOTP secret is unreadable: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        TOTP_STEP_SECS as u64,
        bytes,
        Some("Venue Desk".into()),
        account.replace(':', "_"),
    )
    .map_err(|e| Error::internal(format!("TOTP set-up failed: {e}")))
}

pub fn otpauth_uri(secret_base32: &str, account: &str) -> Result<String> {
    Ok(totp(secret_base32, account)?.get_url())
}

pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| Error::internal(format!("QR code: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build())
}

/// The code an authenticator shows at `at` (used by tests and by nothing else in the app).
pub fn code_at(secret_base32: &str, at: DateTime<Utc>) -> Result<String> {
    Ok(totp(secret_base32, "x")?.generate(at.timestamp().max(0) as u64))
}

/// Checks a six-digit code and returns the time step it belongs to. A step at or before
/// `last_used_step` is a replay and refused, as are codes from steps long past.
pub fn check_code(
    secret_base32: &str,
    code: &str,
    at: DateTime<Utc>,
    last_used_step: Option<i64>,
) -> Result<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(
            "验证码为 6 位数字，请输入认证器上当前显示的数字。",
            "The code is six digits: type the one your authenticator shows now.",
        ));
    }
    let t = totp(secret_base32, "x")?;
    let now_step = at.timestamp() / TOTP_STEP_SECS;
    let matched = ((now_step - RECOGNISED_OLD_STEPS)..=(now_step + 1))
        .rev()
        .find(|s| t.generate((*s * TOTP_STEP_SECS).max(0) as u64) == code);
    match matched {
        Some(s) if last_used_step.is_some_and(|last| s <= last) => Err(Error::new(
            ErrorKind::Unauthenticated,
            "该验证码已使用过。请等待认证器显示新的验证码后再输入。",
            "That code has already been used. Wait for your authenticator to show a new code.",
        )),
        Some(s) if s >= now_step - 1 => Ok(s),
        Some(_) => Err(Error::new(
            ErrorKind::Unauthenticated,
            "验证码已过期。请输入认证器上当前显示的验证码；如仍失败，请检查手机时间是否准确。",
            "That code has expired. Type the code your authenticator shows now; if it still fails, check the phone's clock.",
        )),
        None => Err(Error::new(
            ErrorKind::Unauthenticated,
            "验证码不正确。请输入认证器上“Venue Desk”条目当前显示的 6 位数字。",
            "The code is not correct. Type the six digits your authenticator shows for “Venue Desk” now.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let h = hash_password("correct horse 1").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse 1", &h));
        assert!(!verify_password("correct horse 2", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the 6-digit code is 287082.
        let secret = Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string();
        let at = DateTime::from_timestamp(59, 0).unwrap();
        assert_eq!(code_at(&secret, at).unwrap(), "287082");
    }

    #[test]
    fn codes_are_accepted_once_and_expire() {
        let secret = new_totp_secret();
        let t0: DateTime<Utc> = "2026-11-23T08:00:10Z".parse().unwrap();
        let code = code_at(&secret, t0).unwrap();
        let step = check_code(&secret, &code, t0, None).unwrap();
        assert_eq!(step, t0.timestamp() / 30);
        let replay = check_code(&secret, &code, t0, Some(step)).unwrap_err();
        assert!(replay.message_in(crate::error::Locale::En).contains("already been used"));
        // Still fine one step later (clock drift), expired five minutes later.
        assert!(check_code(&secret, &code, t0 + chrono::Duration::seconds(30), None).is_ok());
        let late = check_code(&secret, &code, t0 + chrono::Duration::minutes(5), None).unwrap_err();
        assert!(late.message_in(crate::error::Locale::En).contains("expired"));
        assert_eq!(check_code(&secret, "12345", t0, None).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
