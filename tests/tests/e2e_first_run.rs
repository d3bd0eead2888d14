//! The real app, through tauri-driver and WebKitWebDriver under a (virtual) display: first run,
//! an administrator with a second factor creates a front-desk operator, the operator signs in,
//! and five wrong passwords lock the account. Screenshots of each step go to
//! test-artifacts/e2e/.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use totp_rs::{Algorithm, Secret, TOTP};
use venue_desk_tests::webdriver::{ENTER, Session};

const T: Duration = Duration::from_secs(20);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin").join(name));
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .chain(home_bin)
        .find(|p| p.is_file())
}

/// Everything the test needs, or a message saying how to get it. Missing pieces fail the test:
/// `make test` installs them all.
fn prerequisites() -> (PathBuf, PathBuf) {
    let app = std::env::var_os("VENUE_DESK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/venue-desk"));
    assert!(
        app.is_file(),
        "the app binary {} is missing: run `make test` (it builds it first)",
        app.display()
    );
    let driver = which("tauri-driver").expect(
        "tauri-driver is missing: `cargo install tauri-driver --version 2.1.0 --locked` (make test does)",
    );
    assert!(
        which("WebKitWebDriver").is_some(),
        "WebKitWebDriver is missing: apt-get install webkit2gtk-driver (make test does)"
    );
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run under Xvfb, e.g. `xvfb-run -a cargo test` (make test does)"
    );
    (app, driver)
}

fn shot(s: &Session, name: &str) {
    let path = workspace().join("test-artifacts/e2e").join(format!("{name}.png"));
    s.screenshot(&path).unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
}

fn current_code(secret_base32: &str) -> String {
    let bytes = Secret::Encoded(secret_base32.trim().replace(' ', "")).to_bytes().expect("base32 secret");
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, "e2e".into()).unwrap();
    // Not within two seconds of a step boundary, so the code is still current when it arrives.
    while (30 - chrono::Utc::now().timestamp() % 30) < 3 {
        std::thread::sleep(Duration::from_millis(200));
    }
    totp.generate_current().unwrap()
}

#[test]
fn first_run_operators_sign_in_and_lockout() {
    let (app, driver_bin) = prerequisites();
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let port = free_port();
    let native_port = free_port();
    let driver = Driver(
        Command::new(driver_bin)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("VENUE_DESK_DATA_DIR", &data_dir)
            .env("XDG_CONFIG_HOME", scratch.path().join("config"))
            .env("XDG_DATA_HOME", scratch.path().join("xdg-data"))
            .env("XDG_CACHE_HOME", scratch.path().join("cache"))
            .env_remove("VENUE_DESK_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tauri-driver"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "tauri-driver did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let s = Session::start(&url, app.to_str().unwrap())
        .expect("WebDriver session with the app")
        .screenshot_failures_to(workspace().join("test-artifacts/e2e/failure.png"));

    // 1. First run: no operators yet, so the app asks for the first administrator.
    s.wait("[data-testid=first-run-username]", Duration::from_secs(60)).unwrap();
    s.fill("[data-testid=first-run-username]", "admin").unwrap();
    s.fill("[data-testid=first-run-display-name]", "系统管理员").unwrap();
    s.fill("[data-testid=first-run-password]", "Admin-pass-2026").unwrap();
    s.fill("[data-testid=first-run-password2]", "Admin-pass-2026").unwrap();
    shot(&s, "01-first-run");
    s.click("[data-testid=first-run-submit]").unwrap();

    // 2. The administrator signs in and enrols an authenticator (TOTP) on first sign-in.
    s.wait("[data-testid=login-password]", T).unwrap();
    s.fill("[data-testid=login-username]", "admin").unwrap();
    s.fill("[data-testid=login-password]", "Admin-pass-2026").unwrap();
    s.click("[data-testid=login-submit]").unwrap();
    s.wait("[data-testid=enrol-qr]", T).unwrap();
    let secret = s.text_of("[data-testid=enrol-secret]").unwrap();
    shot(&s, "02-enrol-second-factor");
    s.fill("[data-testid=enrol-code]", &current_code(&secret)).unwrap();
    s.click("[data-testid=enrol-submit]").unwrap();
    s.wait("[data-testid=home-administrator]", T).unwrap();
    shot(&s, "03-administrator-home");

    // 3. The administrator creates a front-desk operator.
    s.click("[data-testid=nav-operators]").unwrap();
    s.click("[data-testid=operators-create]").unwrap();
    s.fill("[data-testid=op-username]", "qiantai01").unwrap();
    s.fill("[data-testid=op-display-name]", "前台王芳").unwrap();
    s.click("[data-testid=op-role-front_desk]").unwrap();
    s.fill("[data-testid=op-password]", "Qiantai-2026-a").unwrap();
    s.click("[data-testid=op-submit]").unwrap();
    s.wait("[data-testid=operator-row-qiantai01]", T).unwrap();
    shot(&s, "04-operator-created");

    // The journal viewer shows what happened so far, and its chain verifies.
    s.click("[data-testid=nav-journal]").unwrap();
    s.wait("[data-testid=journal-table]", T).unwrap();
    s.click("[data-testid=journal-verify]").unwrap();
    s.wait_text("[data-testid=journal-verify-result]", "日志链完整", T).unwrap();
    let total = s.text_of("[data-testid=journal-total]").unwrap();
    assert!(total.chars().any(|c| c.is_ascii_digit()), "journal total: {total}");
    shot(&s, "05-journal-verified");

    // 4. Log out; the front-desk operator signs in (no second factor for this role).
    s.click("[data-testid=logout]").unwrap();
    s.wait("[data-testid=login-password]", T).unwrap();
    s.fill("[data-testid=login-username]", "qiantai01").unwrap();
    s.fill("[data-testid=login-password]", &format!("Qiantai-2026-a{ENTER}")).unwrap();
    s.wait("[data-testid=home-front_desk]", T).unwrap();
    s.wait_text("[data-testid=current-operator]", "前台王芳", T).unwrap();
    let nav_operators = s.find("[data-testid=nav-operators]");
    assert!(nav_operators.is_err(), "the front desk sees no operator administration");
    shot(&s, "06-front-desk-home");

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
    shot(&s, "07-account-locked");
    s.fill("[data-testid=login-password]", "Qiantai-2026-a").unwrap();
    s.click("[data-testid=login-submit]").unwrap();
    s.wait_text("[data-testid=login-error]", "锁定", T).unwrap();
    assert!(s.find("[data-testid=home-front_desk]").is_err());

    drop(s);
    drop(driver);

    // Everything above is in the journal, and its chain holds.
    let out = Command::new(&app)
        .args(["journal", "verify"])
        .env("VENUE_DESK_DATA_DIR", &data_dir)
        .env("XDG_CONFIG_HOME", scratch.path().join("config"))
        .env("LANG", "en_US.UTF-8")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("OK:"),
        "journal verify: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
