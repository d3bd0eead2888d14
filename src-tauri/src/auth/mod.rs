//! 操作员与登录 — operators, sign-in with lockout and a second factor, the idle lock, and the
//! role check every command goes through.

pub mod secrets;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, venue_time};
use crate::domain::operator::{self as rules, LOCKOUT, MAX_FAILED_LOGINS, Role};
use crate::error::{Error, ErrorKind, Result};
use crate::journal::{Actor, Entry, EventKind, Journal, Outcome};
use crate::store::Store;
use crate::store::operators::{self as ops, NewOperator, OperatorRow};

/// The signed-in operator, as commands see it after the role check.
#[derive(Debug, Clone)]
pub struct Caller {
    pub operator_id: i64,
    pub username: String,
    pub role: Role,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::operator(&self.username, self.role)
    }
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub operator_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub locked: bool,
    pub idle_lock_minutes: u32,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Enrolment {
    /// For typing into an authenticator by hand when the QR code cannot be scanned.
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// Where a sign-in stands after the password.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum LoginStep {
    SignedIn { session: SessionView },
    SecondFactorRequired,
    EnrolmentRequired { enrolment: Enrolment },
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct OperatorView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    /// Venue time until which the account is locked after failed sign-ins.
    pub locked_until: Option<String>,
    pub second_factor_enrolled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NewOperatorInput {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

enum Stage {
    AwaitingSecondFactor,
    AwaitingEnrolment { secret: String },
    Active,
}

struct Session {
    operator_id: i64,
    username: String,
    display_name: String,
    role: Role,
    stage: Stage,
    last_activity: DateTime<Utc>,
    locked: bool,
}

pub struct Auth {
    store: Arc<Store>,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    time_zone: Tz,
    idle_lock: Duration,
    session: Mutex<Option<Session>>,
}

fn bad_credentials() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "用户名或密码不正确。连续失败 5 次将锁定账号 15 分钟。",
        "Wrong user name or password. Five failures in a row lock the account for 15 minutes.",
    )
}

fn not_signed_in() -> Error {
    Error::new(ErrorKind::Unauthenticated, "请先登录。", "Sign in first.")
}

fn session_locked() -> Error {
    Error::new(
        ErrorKind::SessionLocked,
        "长时间未操作，屏幕已锁定。请输入密码解锁。",
        "The screen locked after a period without activity. Enter your password to unlock.",
    )
}

fn role_denied(role: Role) -> Error {
    Error::denied(
        format!("当前角色（{}）无权执行此操作。如确需办理，请联系系统管理员。", role.label_zh()),
        format!("Your role ({}) may not do this. Ask an administrator if you need it.", role.as_str()),
    )
}

async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || secrets::hash_password(&password)).await.map_err(Error::internal)?
}

async fn verify_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash)).await.unwrap_or(false)
}

impl Auth {
    pub fn new(
        store: Arc<Store>,
        journal: Arc<Journal>,
        clock: Arc<dyn Clock>,
        time_zone: Tz,
        idle_lock_minutes: u32,
    ) -> Auth {
        Auth {
            store,
            journal,
            clock,
            time_zone,
            idle_lock: Duration::minutes(idle_lock_minutes as i64),
            session: Mutex::new(None),
        }
    }

    pub fn idle_lock_minutes(&self) -> u32 {
        self.idle_lock.num_minutes() as u32
    }

    pub async fn needs_first_administrator(&self) -> Result<bool> {
        Ok(ops::count(self.store.pool()).await? == 0)
    }

    /// First run: creates the first administrator. Refused once any operator exists, so it can
    /// never be used to add an account behind the administrators' backs.
    pub async fn create_first_administrator(&self, input: &NewOperatorInput) -> Result<()> {
        if input.role != Role::Administrator {
            return Err(Error::invalid(
                "第一个账号必须是系统管理员。",
                "The first account must be an administrator.",
            ));
        }
        rules::validate_username(&input.username)?;
        rules::validate_display_name(&input.display_name)?;
        rules::validate_password(&input.password)?;
        let hash = hash_blocking(input.password.clone()).await?;
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        if ops::count_in(&mut w).await? > 0 {
            return Err(Error::precondition(
                "系统已有操作员账号，不能再次执行首次设置。请用已有的管理员账号登录。",
                "Operators already exist, so first-run set-up is closed. Sign in with an existing administrator account.",
            ));
        }
        let new = NewOperator {
            username: &input.username,
            display_name: input.display_name.trim(),
            role: Role::Administrator.as_str(),
            password_hash: &hash,
        };
        ops::insert(&mut w, &new, now).await?;
        let entry =
            Entry::new(Actor::system(), EventKind::FirstAdministratorCreated, &input.username, Outcome::Ok)
                .with_detail(serde_json::json!({"role": "administrator"}));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<LoginStep> {
        let username = username.trim();
        let row = ops::by_username(self.store.pool(), username).await?;
        let Some(row) = row else {
            verify_blocking(password.to_string(), secrets::decoy_hash().to_string()).await;
            // What was typed may be a password typed into the wrong field: it is not journaled
            // (nor sent upward), only its first character and length.
            let first: String = username.chars().take(1).collect();
            let typed = format!("unknown:{first}…({})", username.chars().count());
            self.journal_login(&typed, None, Outcome::Failed, "unknown_user").await?;
            return Err(bad_credentials());
        };
        let role = parse_role(&row.role)?;
        self.check_account_open(&row, role).await?;
        if !verify_blocking(password.to_string(), row.password_hash.clone()).await {
            let locked = self.count_failure(&row, role, "wrong_password").await?;
            return Err(locked.unwrap_or_else(bad_credentials));
        }
        let now = self.clock.now();
        let mut session = Session {
            operator_id: row.id,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            role,
            stage: Stage::Active,
            last_activity: now,
            locked: false,
        };
        if role.needs_second_factor() {
            let step = match &row.totp_secret {
                Some(_) => {
                    session.stage = Stage::AwaitingSecondFactor;
                    LoginStep::SecondFactorRequired
                }
                None => {
                    let secret = secrets::new_totp_secret();
                    let uri = secrets::otpauth_uri(&secret, &row.username)?;
                    let enrolment = Enrolment {
                        qr_svg: secrets::qr_svg(&uri)?,
                        otpauth_uri: uri,
                        secret_base32: secret.clone(),
                    };
                    session.stage = Stage::AwaitingEnrolment { secret };
                    LoginStep::EnrolmentRequired { enrolment }
                }
            };
            *self.session.lock().unwrap() = Some(session);
            return Ok(step);
        }
        self.finish_login(&row, role, "password", None, session).await
    }

    /// The second step for operators who have enrolled an authenticator.
    pub async fn verify_second_factor(&self, code: &str) -> Result<LoginStep> {
        let operator_id = self.pending(|s| matches!(s, Stage::AwaitingSecondFactor))?;
        let row = self.operator(operator_id).await?;
        let role = parse_role(&row.role)?;
        self.check_account_open(&row, role).await?;
        let secret = row.totp_secret.clone().ok_or_else(|| {
            Error::precondition(
                "该账号的双因素认证已被重置，请重新登录。",
                "Two-factor sign-in was reset for this account; sign in again.",
            )
        })?;
        match secrets::check_code(&secret, code, self.clock.now(), row.totp_last_step) {
            Ok(step) => {
                let session = self.session.lock().unwrap().take().ok_or_else(not_signed_in)?;
                self.finish_login(&row, role, "password+totp", Some((step, None)), session).await
            }
            Err(e) if e.kind == ErrorKind::InvalidArgument => Err(e),
            Err(e) => Err(self.count_failure(&row, role, "wrong_totp").await?.unwrap_or(e)),
        }
    }

    /// Completes first sign-in of a supervisor or administrator: the code proves the
    /// authenticator holds the secret shown, and only then is the secret kept.
    pub async fn confirm_enrolment(&self, code: &str) -> Result<LoginStep> {
        let operator_id = self.pending(|s| matches!(s, Stage::AwaitingEnrolment { .. }))?;
        let secret = match self.session.lock().unwrap().as_ref().map(|s| &s.stage) {
            Some(Stage::AwaitingEnrolment { secret }) => secret.clone(),
            _ => return Err(not_signed_in()),
        };
        let row = self.operator(operator_id).await?;
        let role = parse_role(&row.role)?;
        self.check_account_open(&row, role).await?;
        let step = secrets::check_code(&secret, code, self.clock.now(), None)?;
        let session = self.session.lock().unwrap().take().ok_or_else(not_signed_in)?;
        self.finish_login(&row, role, "password+totp", Some((step, Some(secret))), session).await
    }

    async fn finish_login(
        &self,
        row: &OperatorRow,
        role: Role,
        via: &str,
        totp: Option<(i64, Option<String>)>,
        mut session: Session,
    ) -> Result<LoginStep> {
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        ops::set_failed_logins(&mut w, row.id, 0, None, now).await?;
        let mut entries = Vec::new();
        if let Some((step, new_secret)) = &totp {
            if let Some(secret) = new_secret {
                ops::set_totp_secret(&mut w, row.id, Some(secret), now).await?;
                entries.push(Entry::new(
                    Actor::operator(&row.username, role),
                    EventKind::SecondFactorEnrolled,
                    &row.username,
                    Outcome::Ok,
                ));
            }
            ops::set_totp_last_step(&mut w, row.id, *step).await?;
        }
        entries.push(
            Entry::new(
                Actor::operator(&row.username, role),
                EventKind::OperatorLogin,
                &row.username,
                Outcome::Ok,
            )
            .with_detail(serde_json::json!({"via": via})),
        );
        self.journal.append_in(&mut w, &entries).await?;
        w.commit().await?;
        session.stage = Stage::Active;
        session.last_activity = now;
        let view = self.view_of(&session);
        *self.session.lock().unwrap() = Some(session);
        Ok(LoginStep::SignedIn { session: view })
    }

    async fn check_account_open(&self, row: &OperatorRow, role: Role) -> Result<()> {
        if row.disabled {
            self.journal_login(&row.username, Some(role), Outcome::Denied, "disabled").await?;
            return Err(Error::denied(
                "该账号已停用。请联系系统管理员。",
                "This account is disabled. Ask an administrator.",
            ));
        }
        if rules::is_locked(row.locked_until, self.clock.now()) {
            self.journal_login(&row.username, Some(role), Outcome::Denied, "locked").await?;
            return Err(self.locked_error(row.locked_until.expect("locked")));
        }
        Ok(())
    }

    fn locked_error(&self, until: DateTime<Utc>) -> Error {
        let t = venue_time(until, self.time_zone).format("%H:%M");
        Error::new(
            ErrorKind::AccountLocked,
            format!("连续登录失败次数过多，账号已锁定至 {t}。请稍后再试，或请系统管理员重置密码。"),
            format!(
                "Too many failed sign-ins: the account is locked until {t}. Try again later, or ask an administrator to reset the password."
            ),
        )
    }

    /// Counts a failed password or code; the fifth in a row locks the account and returns the
    /// error saying so.
    async fn count_failure(&self, row: &OperatorRow, role: Role, reason: &str) -> Result<Option<Error>> {
        let now = self.clock.now();
        let failed = row.failed_logins + 1;
        let lock = failed >= MAX_FAILED_LOGINS;
        let locked_until = lock.then(|| now + LOCKOUT);
        let mut w = self.store.begin_write().await?;
        ops::set_failed_logins(&mut w, row.id, if lock { 0 } else { failed }, locked_until, now).await?;
        let actor = Actor::operator(&row.username, role);
        let mut entries = vec![
            Entry::new(actor.clone(), EventKind::OperatorLogin, &row.username, Outcome::Failed)
                .with_detail(serde_json::json!({"reason": reason, "failedInARow": failed})),
        ];
        if let Some(until) = locked_until {
            entries.push(
                Entry::new(actor, EventKind::OperatorLockedOut, &row.username, Outcome::Ok).with_detail(
                    serde_json::json!({"until": venue_time(until, self.time_zone).to_rfc3339()}),
                ),
            );
        }
        self.journal.append_in(&mut w, &entries).await?;
        w.commit().await?;
        Ok(locked_until.map(|until| {
            *self.session.lock().unwrap() = None;
            self.locked_error(until)
        }))
    }

    async fn journal_login(
        &self,
        username: &str,
        role: Option<Role>,
        outcome: Outcome,
        reason: &str,
    ) -> Result<()> {
        let actor = Actor { name: username.to_string(), role };
        self.journal
            .record(
                Entry::new(actor, EventKind::OperatorLogin, username, outcome)
                    .with_detail(serde_json::json!({"reason": reason})),
            )
            .await
            .map(|_| ())
    }

    /// The operator whose sign-in is at the stage `want` accepts.
    fn pending(&self, want: impl Fn(&Stage) -> bool) -> Result<i64> {
        let guard = self.session.lock().unwrap();
        match guard.as_ref() {
            Some(s) if want(&s.stage) => Ok(s.operator_id),
            _ => Err(not_signed_in()),
        }
    }

    async fn operator(&self, id: i64) -> Result<OperatorRow> {
        ops::by_id(self.store.pool(), id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该操作员。", "No such operator."))
    }

    fn view_of(&self, s: &Session) -> SessionView {
        SessionView {
            operator_id: s.operator_id,
            username: s.username.clone(),
            display_name: s.display_name.clone(),
            role: s.role,
            locked: s.locked,
            idle_lock_minutes: self.idle_lock_minutes(),
        }
    }

    /// The signed-in operator, if sign-in is complete.
    pub fn current(&self) -> Option<SessionView> {
        let guard = self.session.lock().unwrap();
        guard.as_ref().filter(|s| matches!(s.stage, Stage::Active)).map(|s| self.view_of(s))
    }

    pub async fn logout(&self) -> Result<()> {
        let ended = self.session.lock().unwrap().take();
        if let Some(s) = ended.filter(|s| matches!(s.stage, Stage::Active)) {
            self.journal
                .record(Entry::new(
                    Actor::operator(&s.username, s.role),
                    EventKind::OperatorLogout,
                    &s.username,
                    Outcome::Ok,
                ))
                .await?;
        }
        Ok(())
    }

    /// Locks the session now (the UI noticed the operator left). Idempotent.
    pub async fn lock(&self) -> Result<()> {
        let who = {
            let mut guard = self.session.lock().unwrap();
            match guard.as_mut() {
                Some(s) if matches!(s.stage, Stage::Active) && !s.locked => {
                    s.locked = true;
                    Some((s.username.clone(), s.role))
                }
                _ => None,
            }
        };
        if let Some((username, role)) = who {
            self.journal
                .record(Entry::new(
                    Actor::operator(&username, role),
                    EventKind::SessionLocked,
                    &username,
                    Outcome::Ok,
                ))
                .await?;
        }
        Ok(())
    }

    pub async fn unlock(&self, password: &str) -> Result<SessionView> {
        let operator_id = {
            let guard = self.session.lock().unwrap();
            match guard.as_ref() {
                Some(s) if matches!(s.stage, Stage::Active) => s.operator_id,
                _ => return Err(not_signed_in()),
            }
        };
        let row = self.operator(operator_id).await?;
        let role = parse_role(&row.role)?;
        if let Err(e) = self.check_account_open(&row, role).await {
            *self.session.lock().unwrap() = None;
            return Err(e);
        }
        if !verify_blocking(password.to_string(), row.password_hash.clone()).await {
            let locked = self.count_failure(&row, role, "wrong_password").await?;
            return Err(locked.unwrap_or_else(|| {
                Error::new(ErrorKind::SessionLocked, "密码不正确，请重新输入。", "Wrong password; try again.")
            }));
        }
        let view = {
            let mut guard = self.session.lock().unwrap();
            let s = guard.as_mut().ok_or_else(not_signed_in)?;
            s.locked = false;
            s.last_activity = self.clock.now();
            self.view_of(s)
        };
        self.journal
            .record(Entry::new(
                Actor::operator(&row.username, role),
                EventKind::SessionUnlocked,
                &row.username,
                Outcome::Ok,
            ))
            .await?;
        Ok(view)
    }

    /// The role check in front of every command. Refreshes the idle timer; locks the session
    /// when it has been idle too long. The account is re-read so that a disabled account or a
    /// changed role takes effect at once.
    pub async fn require(&self, allowed: &[Role]) -> Result<Caller> {
        let now = self.clock.now();
        let (operator_id, went_idle) = {
            let mut guard = self.session.lock().unwrap();
            let s = guard.as_mut().filter(|s| matches!(s.stage, Stage::Active)).ok_or_else(not_signed_in)?;
            if s.locked {
                return Err(session_locked());
            }
            let idle = now - s.last_activity > self.idle_lock;
            if idle {
                s.locked = true;
            }
            (s.operator_id, idle)
        };
        if went_idle {
            if let Some(v) = self.current() {
                self.journal
                    .record(
                        Entry::new(
                            Actor::operator(&v.username, v.role),
                            EventKind::SessionLocked,
                            &v.username,
                            Outcome::Ok,
                        )
                        .with_detail(serde_json::json!({"reason": "idle"})),
                    )
                    .await?;
            }
            return Err(session_locked());
        }
        let row = self.operator(operator_id).await?;
        let role = parse_role(&row.role)?;
        if row.disabled {
            *self.session.lock().unwrap() = None;
            return Err(Error::denied(
                "该账号已停用，已退出登录。",
                "This account has been disabled; you have been signed out.",
            ));
        }
        if !allowed.contains(&role) {
            self.journal
                .record(Entry::new(Actor::operator(&row.username, role), EventKind::AccessDenied, &row.username, Outcome::Denied)
                    .with_detail(serde_json::json!({"allowed": allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>()})))
                .await?;
            return Err(role_denied(role));
        }
        if let Some(s) = self.session.lock().unwrap().as_mut() {
            s.last_activity = now;
            s.role = role;
        }
        Ok(Caller { operator_id, username: row.username, role })
    }

    pub async fn change_own_password(&self, caller: &Caller, old: &str, new: &str) -> Result<()> {
        rules::validate_password(new)?;
        let row = self.operator(caller.operator_id).await?;
        if !verify_blocking(old.to_string(), row.password_hash.clone()).await {
            return Err(Error::invalid("当前密码不正确。", "The current password is not correct."));
        }
        if old == new {
            return Err(Error::invalid(
                "新密码不能与当前密码相同。",
                "The new password must differ from the current one.",
            ));
        }
        let hash = hash_blocking(new.to_string()).await?;
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        ops::set_password_hash(&mut w, row.id, &hash, now).await?;
        self.journal
            .append_in(
                &mut w,
                &[Entry::new(caller.actor(), EventKind::OwnPasswordChanged, &row.username, Outcome::Ok)],
            )
            .await?;
        w.commit().await
    }

    // ---- administration -------------------------------------------------------------------

    pub async fn list_operators(&self) -> Result<Vec<OperatorView>> {
        let now = self.clock.now();
        ops::list(self.store.pool()).await?.into_iter().map(|r| self.operator_view(r, now)).collect()
    }

    fn operator_view(&self, r: OperatorRow, now: DateTime<Utc>) -> Result<OperatorView> {
        Ok(OperatorView {
            id: r.id,
            role: parse_role(&r.role)?,
            username: r.username,
            display_name: r.display_name,
            disabled: r.disabled,
            locked_until: r
                .locked_until
                .filter(|t| *t > now)
                .map(|t| venue_time(t, self.time_zone).to_rfc3339()),
            second_factor_enrolled: r.totp_secret.is_some(),
            created_at: venue_time(r.created_at, self.time_zone).to_rfc3339(),
        })
    }

    pub async fn create_operator(&self, caller: &Caller, input: &NewOperatorInput) -> Result<OperatorView> {
        rules::validate_username(&input.username)?;
        rules::validate_display_name(&input.display_name)?;
        rules::validate_password(&input.password)?;
        if ops::by_username(self.store.pool(), &input.username).await?.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("用户名 “{}” 已被使用，请换一个。", input.username),
                format!("The user name \"{}\" is taken; choose another.", input.username),
            ));
        }
        let hash = hash_blocking(input.password.clone()).await?;
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        let new = NewOperator {
            username: &input.username,
            display_name: input.display_name.trim(),
            role: input.role.as_str(),
            password_hash: &hash,
        };
        let id = ops::insert(&mut w, &new, now).await?;
        let entry = Entry::new(caller.actor(), EventKind::OperatorCreated, &input.username, Outcome::Ok)
            .with_detail(serde_json::json!({"role": input.role.as_str()}));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        self.operator_view(self.operator(id).await?, now)
    }

    /// Applies one administrative change to another operator's account, journaled with it.
    pub async fn administer(
        &self,
        caller: &Caller,
        operator_id: i64,
        change: AccountChange,
    ) -> Result<OperatorView> {
        let now = self.clock.now();
        let new_hash = match &change {
            AccountChange::ResetPassword { new_password } => {
                rules::validate_password(new_password)?;
                Some(hash_blocking(new_password.clone()).await?)
            }
            _ => None,
        };
        let mut w = self.store.begin_write().await?;
        let row = ops::by_id_in(&mut w, operator_id).await?.ok_or_else(|| {
            Error::not_found(
                "找不到该操作员，列表可能已过期，请刷新。",
                "No such operator; the list may be out of date, refresh it.",
            )
        })?;
        let is_self = row.id == caller.operator_id;
        let was_admin = row.role == Role::Administrator.as_str() && !row.disabled;
        let (kind, detail) = match &change {
            AccountChange::SetDisabled { disabled } => {
                if is_self && *disabled {
                    return Err(Error::precondition(
                        "不能停用自己的账号。",
                        "You cannot disable your own account.",
                    ));
                }
                if *disabled && was_admin && ops::count_active_administrators_in(&mut w).await? <= 1 {
                    return Err(last_admin());
                }
                ops::set_disabled(&mut w, row.id, *disabled, now).await?;
                (
                    if *disabled { EventKind::OperatorDisabled } else { EventKind::OperatorEnabled },
                    serde_json::Value::Null,
                )
            }
            AccountChange::ResetPassword { .. } => {
                ops::set_password_hash(&mut w, row.id, new_hash.as_deref().expect("hashed above"), now)
                    .await?;
                (EventKind::OperatorPasswordReset, serde_json::Value::Null)
            }
            AccountChange::ChangeRole { role } => {
                if is_self {
                    return Err(Error::precondition(
                        "不能更改自己的角色，请由另一位管理员操作。",
                        "You cannot change your own role; ask another administrator.",
                    ));
                }
                if was_admin
                    && *role != Role::Administrator
                    && ops::count_active_administrators_in(&mut w).await? <= 1
                {
                    return Err(last_admin());
                }
                ops::set_role(&mut w, row.id, role.as_str(), now).await?;
                // A new role may need a second factor the person never enrolled; it is asked
                // for at the next sign-in.
                (EventKind::OperatorRoleChanged, serde_json::json!({"from": row.role, "to": role.as_str()}))
            }
            AccountChange::ResetSecondFactor => {
                ops::set_totp_secret(&mut w, row.id, None, now).await?;
                (EventKind::SecondFactorReset, serde_json::Value::Null)
            }
        };
        let entry = Entry::new(caller.actor(), kind, &row.username, Outcome::Ok).with_detail(detail);
        self.journal.append_in(&mut w, &[entry]).await?;
        let updated = ops::by_id_in(&mut w, row.id).await?.expect("row exists in this transaction");
        w.commit().await?;
        self.operator_view(updated, now)
    }
}

#[derive(Debug, Clone)]
pub enum AccountChange {
    SetDisabled { disabled: bool },
    ResetPassword { new_password: String },
    ChangeRole { role: Role },
    ResetSecondFactor,
}

fn last_admin() -> Error {
    Error::precondition(
        "这是最后一个可用的系统管理员账号，不能停用或降级。请先创建另一个管理员。",
        "This is the last active administrator; it cannot be disabled or demoted. Create another administrator first.",
    )
}

fn parse_role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| {
        Error::new(
            ErrorKind::DataLoss,
            format!("数据库中的角色 “{s}” 无法识别。"),
            format!("Unknown role \"{s}\" in the database."),
        )
    })
}
