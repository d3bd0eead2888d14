//! One error type for the whole backend, classified by kind. The UI branches on `code` only;
//! `message` is for people and says what to do next, in the operator's language.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::ser::SerializeStruct;

/// What went wrong, coarsely. Each kind maps to one stable `code` string the UI may match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    /// No operator is signed in, or sign-in is not complete (second factor pending).
    Unauthenticated,
    /// Signed in, but the session was locked after inactivity; the password unlocks it.
    SessionLocked,
    /// Too many failed sign-ins; the account is locked for a while.
    AccountLocked,
    PermissionDenied,
    Unavailable,
    DataLoss,
    Internal,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::Conflict => "CONFLICT",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::SessionLocked => "SESSION_LOCKED",
            Self::AccountLocked => "ACCOUNT_LOCKED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::Unavailable => "UNAVAILABLE",
            Self::DataLoss => "DATA_LOSS",
            Self::Internal => "INTERNAL",
        }
    }
}

/// The language messages are rendered in. One window, one operator: a process-wide setting is
/// enough, and it lets `Serialize` pick the text without threading a locale through every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
pub enum Locale {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

static LOCALE: AtomicU8 = AtomicU8::new(0);

pub fn set_locale(locale: Locale) {
    LOCALE.store(locale as u8, Ordering::Relaxed);
}

pub fn locale() -> Locale {
    match LOCALE.load(Ordering::Relaxed) {
        1 => Locale::En,
        _ => Locale::ZhCn,
    }
}

/// A failure with a message in both UI languages.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    zh: Cow<'static, str>,
    en: Cow<'static, str>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Error { kind, zh: zh.into(), en: en.into() }
    }

    pub fn invalid(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidArgument, zh, en)
    }

    pub fn not_found(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, zh, en)
    }

    pub fn denied(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::PermissionDenied, zh, en)
    }

    pub fn precondition(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::FailedPrecondition, zh, en)
    }

    /// An unexpected failure: the detail goes to the log, the operator gets a way forward.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            ErrorKind::Internal,
            format!("内部错误：{detail}。请重试；如仍失败，请将日志目录中的日志交给系统管理员。"),
            format!(
                "Internal error: {detail}. Try again; if it keeps failing, give the log files to \
                 the system administrator."
            ),
        )
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn message(&self) -> &str {
        self.message_in(locale())
    }

    pub fn message_in(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.zh,
            Locale::En => &self.en,
        }
    }

    /// Prefixes both messages, e.g. with the file or field the error is about.
    pub fn context(mut self, zh: &str, en: &str) -> Self {
        self.zh = format!("{zh}{}", self.zh).into();
        self.en = format!("{en}{}", self.en).into();
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}

impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Error", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", self.message())?;
        st.end()
    }
}

/// What the UI receives for a failed command.
#[derive(serde::Serialize, specta::Type)]
#[serde(rename = "AppError")]
pub struct ErrorWire {
    pub code: ErrorKind,
    pub message: String,
}

impl specta::Type for Error {
    fn inline(
        type_map: &mut specta::TypeCollection,
        generics: specta::Generics,
    ) -> specta::datatype::DataType {
        ErrorWire::inline(type_map, generics)
    }
    fn reference(
        type_map: &mut specta::TypeCollection,
        generics: &[specta::datatype::DataType],
    ) -> specta::datatype::reference::Reference {
        ErrorWire::reference(type_map, generics)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        crate::store::classify(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message_in_the_current_locale() {
        let e = Error::invalid("用户名不能为空", "The user name must not be empty");
        set_locale(Locale::En);
        let en = serde_json::to_value(&e).unwrap();
        set_locale(Locale::ZhCn);
        let zh = serde_json::to_value(&e).unwrap();
        assert_eq!(
            en,
            serde_json::json!({"code": "INVALID_ARGUMENT", "message": "The user name must not be empty"})
        );
        assert_eq!(zh["message"], "用户名不能为空");
    }
}
