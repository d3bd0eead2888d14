//! The real app, through tauri-driver and WebKitWebDriver under a (virtual) display: first run,
//! an administrator with a second factor creates a front-desk operator, the operator signs in,
//! and five wrong passwords lock the account. Screenshots of each step go to
//! test-artifacts/e2e/.

use std::time::Duration;

use venue_desk_tests::e2e::{RunningApp, Workstation};
use venue_desk_tests::webdriver::ENTER;

const T: Duration = Duration::from_secs(20);

#[test]
fn first_run_operators_sign_in_and_lockout() {
    let ws = Workstation::new();
    let app = RunningApp::launch(&ws, "first-run");
    let s = &app.session;
    let shot = |name: &str| app.shot(name);

    // 1. First run: no operators yet, so the app asks for the first administrator.
    s.wait("[data-testid=first-run-username]", Duration::from_secs(60)).unwrap();
    s.fill("[data-testid=first-run-username]", "admin").unwrap();
    s.fill("[data-testid=first-run-display-name]", "系统管理员").unwrap();
    s.fill("[data-testid=first-run-password]", "Admin-pass-2026").unwrap();
    s.fill("[data-testid=first-run-password2]", "Admin-pass-2026").unwrap();
    shot("01-first-run");
    s.click("[data-testid=first-run-submit]").unwrap();

    // 2. The administrator signs in and enrols an authenticator (TOTP) on first sign-in.
    s.wait("[data-testid=login-password]", T).unwrap();
    s.fill("[data-testid=login-username]", "admin").unwrap();
    s.fill("[data-testid=login-password]", "Admin-pass-2026").unwrap();
    s.click("[data-testid=login-submit]").unwrap();
    s.wait("[data-testid=enrol-qr]", T).unwrap();
    let secret = s.text_of("[data-testid=enrol-secret]").unwrap();
    shot("02-enrol-second-factor");
    s.fill("[data-testid=enrol-code]", &venue_desk_tests::e2e::current_totp(&secret)).unwrap();
    s.click("[data-testid=enrol-submit]").unwrap();
    s.wait("[data-testid=home-administrator]", T).unwrap();
    shot("03-administrator-home");

    // 3. The administrator creates a front-desk operator.
    s.click("[data-testid=nav-operators]").unwrap();
    s.click("[data-testid=operators-create]").unwrap();
    s.fill("[data-testid=op-username]", "qiantai01").unwrap();
    s.fill("[data-testid=op-display-name]", "前台王芳").unwrap();
    s.click("[data-testid=op-role-front_desk]").unwrap();
    s.fill("[data-testid=op-password]", "Qiantai-2026-a").unwrap();
    s.click("[data-testid=op-submit]").unwrap();
    s.wait("[data-testid=operator-row-qiantai01]", T).unwrap();
    shot("04-operator-created");

    // The journal viewer shows what happened so far, and its chain verifies.
    s.click("[data-testid=nav-journal]").unwrap();
    s.wait("[data-testid=journal-table]", T).unwrap();
    s.click("[data-testid=journal-verify]").unwrap();
    s.wait_text("[data-testid=journal-verify-result]", "日志链完整", T).unwrap();
    let total = s.text_of("[data-testid=journal-total]").unwrap();
    assert!(total.chars().any(|c| c.is_ascii_digit()), "journal total: {total}");
    shot("05-journal-verified");

    // 4. Log out; the front-desk operator signs in (no second factor for this role).
    s.click("[data-testid=logout]").unwrap();
    s.wait("[data-testid=login-password]", T).unwrap();
    s.fill("[data-testid=login-username]", "qiantai01").unwrap();
    s.fill("[data-testid=login-password]", &format!("Qiantai-2026-a{ENTER}")).unwrap();
    s.wait("[data-testid=home-front_desk]", T).unwrap();
    s.wait_text("[data-testid=current-operator]", "前台王芳", T).unwrap();
    let nav_operators = s.find("[data-testid=nav-operators]");
    assert!(nav_operators.is_err(), "the front desk sees no operator administration");
    shot("06-front-desk-home");

    // 5. Five wrong passwords lock the account; then even the right one is refused.
    s.click("[data-testid=logout]").unwrap();
    for attempt in 1..=5 {
        s.wait("[data-testid=login-password]", T).unwrap();
        s.fill("[data-testid=login-username]", "qiantai01").unwrap();
        s.fill("[data-testid=login-password]", &format!("wrong-pass-{attempt}")).unwrap();
        s.click("[data-testid=login-submit]").unwrap();
        let expect = if attempt < 5 { "不正确" } else { "锁定" };
        s.wait_text("[data-testid=login-error]", expect, T)
            .unwrap_or_else(|e| panic!("attempt {attempt}: {e}"));
    }
    shot("07-account-locked");
    s.fill("[data-testid=login-password]", "Qiantai-2026-a").unwrap();
    s.click("[data-testid=login-submit]").unwrap();
    s.wait_text("[data-testid=login-error]", "锁定", T).unwrap();
    assert!(s.find("[data-testid=home-front_desk]").is_err());

    drop(app);

    // Everything above is in the journal, and its chain holds.
    let out = ws.cli(&["journal", "verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("OK:"),
        "journal verify: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
