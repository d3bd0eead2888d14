//! 操作员 — named operator accounts, their roles, and the rules for names and passwords.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Failed sign-ins in a row that lock an account, and for how long.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(15);
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 前台签到人员
    FrontDesk,
    /// 监督人员
    Supervisor,
    /// 场地管理员
    VenueManager,
    /// 系统管理员
    Administrator,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::FrontDesk, Role::Supervisor, Role::VenueManager, Role::Administrator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::FrontDesk => "front_desk",
            Role::Supervisor => "supervisor",
            Role::VenueManager => "venue_manager",
            Role::Administrator => "administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Supervisors and administrators sign in with a second factor (MLPS level 3).
    pub fn needs_second_factor(self) -> bool {
        matches!(self, Role::Supervisor | Role::Administrator)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::FrontDesk => "前台",
            Role::Supervisor => "监督人员",
            Role::VenueManager => "场地管理员",
            Role::Administrator => "系统管理员",
        }
    }
}

pub fn validate_username(name: &str) -> Result<()> {
    let ok = (3..=32).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "用户名须为 3–32 位小写字母、数字或 . _ -，并以字母开头。",
            "The user name must be 3–32 lower-case letters, digits or . _ -, starting with a letter.",
        ))
    }
}

pub fn validate_display_name(name: &str) -> Result<()> {
    let n = name.trim().chars().count();
    if (1..=50).contains(&n) {
        Ok(())
    } else {
        Err(Error::invalid("姓名须为 1–50 个字符。", "The display name must be 1–50 characters."))
    }
}

/// At least ten characters with letters and digits: long enough to resist guessing at the desk,
/// short enough that staff do not write it on the monitor.
pub fn validate_password(password: &str) -> Result<()> {
    let long = password.chars().count() >= MIN_PASSWORD_CHARS;
    let letters = password.chars().any(|c| c.is_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if long && letters && digits && password.chars().count() <= 128 {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("密码至少 {MIN_PASSWORD_CHARS} 个字符，且须同时包含字母和数字。"),
            format!(
                "The password needs at least {MIN_PASSWORD_CHARS} characters, with both letters and digits."
            ),
        ))
    }
}

/// Whether an account is locked at `now`, given when its lock ends.
pub fn is_locked(locked_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    locked_until.is_some_and(|t| t > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        assert!(validate_username("zhang.wei").is_ok());
        assert!(validate_username("Zhang").is_err());
        assert!(validate_username("ab").is_err());
        assert!(validate_username("1abc").is_err());
        assert!(validate_password("short1").is_err());
        assert!(validate_password("onlyletterslong").is_err());
        assert!(validate_password("1234567890").is_err());
        assert!(validate_password("前台密码abcd1234").is_ok());
        assert!(validate_display_name("张伟").is_ok());
        assert!(validate_display_name("  ").is_err());
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Administrator.needs_second_factor());
        assert!(!Role::FrontDesk.needs_second_factor());
    }
}
