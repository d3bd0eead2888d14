//! Sign-in rules through the services, with a controlled clock: lockout and its expiry, the
//! second factor, the idle lock, disabled accounts, and the last administrator.

use chrono::Duration;
use venue_desk::auth::{AccountChange, Caller, LoginStep, secrets};
use venue_desk::clock::Clock;
use venue_desk::domain::operator::Role;
use venue_desk::error::{ErrorKind, Locale};
use venue_desk::store::journal::JournalQuery;
use venue_desk_tests::fixture::{PASSWORD, Venue, username};

fn kind_of<T: std::fmt::Debug>(r: Result<T, venue_desk::error::Error>) -> ErrorKind {
    r.expect_err("refused").kind
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let v = Venue::open().await;
    let auth = &v.services.auth;
    let desk = username(Role::FrontDesk);
    for _ in 0..4 {
        assert_eq!(kind_of(auth.login(&desk, "wrong-password-1").await), ErrorKind::Unauthenticated);
    }
    let locked = auth.login(&desk, "wrong-password-1").await.unwrap_err();
    assert_eq!(locked.kind, ErrorKind::AccountLocked);
    assert!(locked.message_in(Locale::En).contains("locked until 09:15"), "{locked}"); // 01:00Z + 15 min, Shanghai time
    // The right password does not help while locked.
    assert_eq!(kind_of(auth.login(&desk, PASSWORD).await), ErrorKind::AccountLocked);
    v.clock.advance(Duration::minutes(14));
    assert_eq!(kind_of(auth.login(&desk, PASSWORD).await), ErrorKind::AccountLocked);
    v.clock.advance(Duration::minutes(2));
    assert!(matches!(auth.login(&desk, PASSWORD).await.unwrap(), LoginStep::SignedIn { .. }));

    let (rows, _) = v
        .services
        .journal
        .query(&JournalQuery { kind: Some("operator.locked_out".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].subject, desk);
}

#[tokio::test]
async fn unknown_users_and_disabled_accounts_are_refused() {
    let v = Venue::open().await;
    let auth = &v.services.auth;
    assert_eq!(kind_of(auth.login("nobody", PASSWORD).await), ErrorKind::Unauthenticated);
    // A password typed into the user-name field must not end up in the journal (or go upward).
    assert_eq!(kind_of(auth.login("Secret-Pass-2026", PASSWORD).await), ErrorKind::Unauthenticated);
    let (typed,): (String,) = sqlx::query_as(
        "SELECT subject FROM journal WHERE kind = 'operator.login' AND outcome = 'failed' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(v.services.store.pool())
    .await
    .unwrap();
    assert_eq!(typed, "unknown:S…(16)");
    let (leaks,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM journal WHERE actor LIKE '%Pass-2026%' OR subject LIKE '%Pass-2026%' OR detail LIKE '%Pass-2026%'")
        .fetch_one(v.services.store.pool())
        .await
        .unwrap();
    assert_eq!(leaks, 0);
    let admin = Caller { operator_id: 1, username: username(Role::Administrator), role: Role::Administrator };
    let desk_id =
        auth.list_operators().await.unwrap().into_iter().find(|o| o.role == Role::FrontDesk).unwrap().id;
    auth.administer(&admin, desk_id, AccountChange::SetDisabled { disabled: true }).await.unwrap();
    assert_eq!(kind_of(auth.login(&username(Role::FrontDesk), PASSWORD).await), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn administrators_enrol_a_second_factor_and_codes_are_single_use() {
    let v = Venue::open().await;
    let auth = &v.services.auth;
    let admin = username(Role::Administrator);
    let LoginStep::EnrolmentRequired { enrolment } = auth.login(&admin, PASSWORD).await.unwrap() else {
        panic!("first sign-in of an administrator enrols an authenticator")
    };
    assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(enrolment.qr_svg.contains("<svg"));
    assert!(auth.current().is_none(), "not signed in before the code");
    let wrong = auth.confirm_enrolment("000000").await.unwrap_err();
    assert_eq!(wrong.kind, ErrorKind::Unauthenticated);
    let code = secrets::code_at(&enrolment.secret_base32, v.clock.now()).unwrap();
    auth.confirm_enrolment(&code).await.unwrap();
    assert_eq!(auth.current().unwrap().role, Role::Administrator);

    // Next sign-in asks for a code; the one just used is refused as a replay.
    auth.logout().await.unwrap();
    assert!(matches!(auth.login(&admin, PASSWORD).await.unwrap(), LoginStep::SecondFactorRequired));
    let replay = auth.verify_second_factor(&code).await.unwrap_err();
    assert!(replay.message_in(Locale::En).contains("already been used"), "{replay}");
    // An old code is reported as expired.
    v.clock.advance(Duration::minutes(3));
    let old = secrets::code_at(&enrolment.secret_base32, v.clock.now() - Duration::minutes(2)).unwrap();
    let expired = auth.verify_second_factor(&old).await.unwrap_err();
    assert!(expired.message_in(Locale::En).contains("expired"), "{expired}");
    let fresh = secrets::code_at(&enrolment.secret_base32, v.clock.now()).unwrap();
    assert!(matches!(auth.verify_second_factor(&fresh).await.unwrap(), LoginStep::SignedIn { .. }));
}

#[tokio::test]
async fn the_session_locks_after_the_idle_time_and_the_password_unlocks_it() {
    let v = Venue::open().await;
    let auth = &v.services.auth;
    v.sign_in(Role::FrontDesk).await;
    let any = venue_desk::commands::allow::ANY_ROLE;
    v.clock.advance(Duration::minutes(9));
    auth.require(any).await.unwrap();
    v.clock.advance(Duration::minutes(10) + Duration::seconds(1));
    assert_eq!(kind_of(auth.require(any).await), ErrorKind::SessionLocked);
    assert!(auth.current().unwrap().locked);
    assert_eq!(kind_of(auth.unlock("not my password").await), ErrorKind::SessionLocked);
    auth.unlock(PASSWORD).await.unwrap();
    auth.require(any).await.unwrap();
}

#[tokio::test]
async fn the_last_administrator_cannot_be_disabled_or_demoted() {
    let v = Venue::open().await;
    let auth = &v.services.auth;
    v.sign_in(Role::Administrator).await;
    let admin = auth.require(&[Role::Administrator]).await.unwrap();
    let ops = auth.list_operators().await.unwrap();
    let manager = ops.iter().find(|o| o.role == Role::VenueManager).unwrap().id;
    // Acting on oneself is refused; acting on another is journaled.
    assert_eq!(
        kind_of(
            auth.administer(&admin, admin.operator_id, AccountChange::SetDisabled { disabled: true }).await
        ),
        ErrorKind::FailedPrecondition
    );
    let promoted = auth
        .administer(&admin, manager, AccountChange::ChangeRole { role: Role::Administrator })
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Administrator);
    // With two administrators, one may be demoted; then the remaining one is protected.
    auth.administer(&admin, manager, AccountChange::ChangeRole { role: Role::VenueManager }).await.unwrap();
    let other =
        Caller { operator_id: manager, username: username(Role::VenueManager), role: Role::Administrator };
    assert_eq!(
        kind_of(
            auth.administer(&other, admin.operator_id, AccountChange::ChangeRole { role: Role::FrontDesk })
                .await
        ),
        ErrorKind::FailedPrecondition
    );
}

#[tokio::test]
async fn a_password_reset_lifts_a_lockout_and_a_second_factor_reset_asks_for_enrolment_again() {
    let v = Venue::open().await;
    let auth = &v.services.auth;
    let desk = username(Role::FrontDesk);
    for _ in 0..5 {
        let _ = auth.login(&desk, "wrong-password-1").await;
    }
    assert_eq!(kind_of(auth.login(&desk, PASSWORD).await), ErrorKind::AccountLocked);
    v.sign_in(Role::Supervisor).await; // enrols the supervisor's authenticator
    v.sign_in(Role::Administrator).await;
    let admin = auth.require(&[Role::Administrator]).await.unwrap();
    let ops = auth.list_operators().await.unwrap();
    let desk_view = ops.iter().find(|o| o.username == desk).unwrap();
    assert!(desk_view.locked_until.is_some());
    let after = auth
        .administer(
            &admin,
            desk_view.id,
            AccountChange::ResetPassword { new_password: "New-password-9".into() },
        )
        .await
        .unwrap();
    assert!(after.locked_until.is_none());
    let supervisor = ops.iter().find(|o| o.role == Role::Supervisor).unwrap();
    assert!(supervisor.second_factor_enrolled);
    let reset = auth.administer(&admin, supervisor.id, AccountChange::ResetSecondFactor).await.unwrap();
    assert!(!reset.second_factor_enrolled);

    auth.logout().await.unwrap();
    assert!(matches!(auth.login(&desk, "New-password-9").await.unwrap(), LoginStep::SignedIn { .. }));
    auth.logout().await.unwrap();
    assert!(matches!(
        auth.login(&username(Role::Supervisor), PASSWORD).await.unwrap(),
        LoginStep::EnrolmentRequired { .. }
    ));
    assert!(v.services.journal.verify().await.unwrap().ok);
}
