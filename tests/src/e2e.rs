//! Launching the real app for end-to-end tests: tauri-driver on free loopback ports, the app in
//! a scratch data directory of its own, screenshots into test-artifacts/e2e/<test>/.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::webdriver::Session;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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

/// The app binary `make test` builds (or `VENUE_DESK_BIN`).
pub fn app_binary() -> PathBuf {
    let app = std::env::var_os("VENUE_DESK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/venue-desk"));
    assert!(
        app.is_file(),
        "the app binary {} is missing: run `make test` (it builds it first)",
        app.display()
    );
    app
}

/// A scratch workstation: the app's data, configuration and cache directories.
pub struct Workstation {
    dir: tempfile::TempDir,
}

impl Workstation {
    pub fn new() -> Workstation {
        Workstation { dir: tempfile::tempdir().unwrap() }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Where the app looks for `venue.toml` on this workstation.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config").join(venue_desk::paths::IDENTIFIER)
    }

    /// Writes the demo venue as this workstation's venue file, with each fixed device address
    /// replaced by a simulator's (`("127.0.0.1:18081", sim_addr)`), and `extra` appended.
    pub fn demo_venue_file(&self, addresses: &[(&str, std::net::SocketAddr)], extra: &str) -> PathBuf {
        let mut toml = venue_desk::config::DEMO_VENUE_TOML.to_string();
        for (fixed, sim) in addresses {
            toml = toml.replace(fixed, &sim.to_string());
        }
        toml.push_str(extra);
        if !extra.contains("[recording]") {
            // The demo's cameras are not simulated in these tests: recording them would only raise
            // video-loss alarms beside what a test looks at.
            toml = toml.replace("[recording]\n", "[recording]\nenabled = false\n");
        }
        let file = self.config_dir().join("venue.toml");
        std::fs::create_dir_all(self.config_dir()).unwrap();
        std::fs::write(&file, toml).unwrap();
        file
    }
}

/// The administrator every e2e workstation starts with (no second factor enrolled yet).
pub const ADMIN: (&str, &str) = ("admin", "Admin-pass-2026");

/// Creates the first administrator and then `operators` (user name, display name, role, password).
pub async fn seed_operators(
    s: &venue_desk::Services,
    operators: &[(&str, &str, venue_desk::domain::operator::Role, &str)],
) {
    use venue_desk::auth::{Caller, NewOperatorInput};
    use venue_desk::domain::operator::Role;
    let admin = NewOperatorInput {
        username: ADMIN.0.into(),
        display_name: "管理员".into(),
        role: Role::Administrator,
        password: ADMIN.1.into(),
    };
    s.auth.create_first_administrator(&admin).await.unwrap();
    let by_admin = Caller { operator_id: 1, username: ADMIN.0.into(), role: Role::Administrator };
    for (username, display_name, role, password) in operators {
        let input = NewOperatorInput {
            username: (*username).into(),
            display_name: (*display_name).into(),
            role: *role,
            password: (*password).into(),
        };
        s.auth.create_operator(&by_admin, &input).await.unwrap();
    }
}

impl Workstation {
    /// Points a command at this workstation's data, configuration and cache directories.
    pub fn apply_env(&self, cmd: &mut Command) {
        cmd.env("VENUE_DESK_DATA_DIR", self.data_dir())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env_remove("VENUE_DESK_CONFIG")
            // Without a session bus GLib would autolaunch one per X display, shared by every app
            // under this Xvfb and owned by whichever started first: ending that test's process
            // group ended the bus, and GLib ends the other apps and WebKitWebDrivers with it
            // (exit-on-close). So each test's app runs without a bus, as on a bare workstation.
            .env("DBUS_SESSION_BUS_ADDRESS", "disabled:")
            .env("NO_AT_BRIDGE", "1");
    }

    /// Runs a terminal subcommand of the app against this workstation's data.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(app_binary());
        self.apply_env(&mut cmd);
        cmd.args(args).env("LANG", "en_US.UTF-8").output().unwrap()
    }
}

impl Default for Workstation {
    fn default() -> Self {
        Self::new()
    }
}

/// tauri-driver in a process group of its own, with WebKitWebDriver and the app under it: ending
/// the group ends all three, also when the test fails before a session exists.
struct DriverGroup(Child);

impl Drop for DriverGroup {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", self.0.id())]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The app running under tauri-driver, driven through WebDriver.
pub struct RunningApp {
    pub session: Session,
    /// Held for its drop, which ends the driver, WebKitWebDriver and the app.
    _driver: DriverGroup,
    artifacts: PathBuf,
    finished: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// No end-to-end test runs this long; past it the test process is ended, so that a wedged
/// webview can never hold up a test run (CI has a hard limit).
const WATCHDOG: Duration = Duration::from_secs(300);

impl RunningApp {
    /// Starts tauri-driver and, through it, the app on `ws`. Screenshots go to
    /// test-artifacts/e2e/`name`/. Missing prerequisites fail with how to get them.
    pub fn launch(ws: &Workstation, name: &str) -> RunningApp {
        Self::launch_with(ws, name, true)
    }

    /// A fresh install: no venue file is written first, so the app runs the embedded demo venue
    /// and offers the first-run venue set-up (a file the set-up wrote is kept).
    pub fn launch_fresh_install(ws: &Workstation, name: &str) -> RunningApp {
        Self::launch_with(ws, name, false)
    }

    fn launch_with(ws: &Workstation, name: &str, quiet_demo_file: bool) -> RunningApp {
        let app = app_binary();
        let driver_bin = which("tauri-driver").expect(
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
        // A workstation without a venue file runs the demo venue, here without recording (see
        // `demo_venue_file`): the demo's cameras are not simulated in tests that do not say so.
        if quiet_demo_file && !ws.config_dir().join("venue.toml").exists() {
            ws.demo_venue_file(&[], "");
        }
        let artifacts = workspace().join("test-artifacts/e2e").join(name);
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).unwrap();

        // A start that never reaches the window (seen once in CI in many runs: the app went
        // silent a moment after its services started) is tried once more; the first attempt's
        // log and the app's process state stay beside the screenshots for whoever looks into it.
        let (driver, session) = match start_session(ws, &driver_bin, &app, &artifacts, name) {
            Ok(started) => started,
            Err((driver, e)) => {
                let state = app_states(&driver);
                drop(driver);
                let log = artifacts.join("driver-and-app.log");
                let _ = std::fs::rename(&log, artifacts.join("driver-and-app.first-attempt.log"));
                eprintln!(
                    "e2e {name}: the app did not come up ({e}; app processes: {state}); starting it again"
                );
                start_session(ws, &driver_bin, &app, &artifacts, name).unwrap_or_else(|(driver, e)| {
                    panic!(
                        "no WebDriver session with the app, twice: {e}; app processes: {}",
                        app_states(&driver)
                    )
                })
            }
        };
        let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, group, test) = (finished.clone(), format!("-{}", driver.0.id()), name.to_string());
        std::thread::spawn(move || {
            std::thread::sleep(WATCHDOG);
            if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                eprintln!(
                    "e2e test {test}: still running after {WATCHDOG:?}; ending it (see test-artifacts/e2e/{test}/)"
                );
                let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
                std::process::exit(101);
            }
        });
        RunningApp { session, _driver: driver, artifacts, finished }
    }

    pub fn shot(&self, name: &str) {
        let path = self.artifacts.join(format!("{name}.png"));
        self.session.screenshot(&path).unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    }
}

/// tauri-driver in its own process group on free ports, and a WebDriver session with the app
/// through it. On failure the driver group comes back with the error, still running, so that the
/// caller can look at the app before it is ended.
fn start_session(
    ws: &Workstation,
    driver_bin: &Path,
    app: &Path,
    artifacts: &Path,
    name: &str,
) -> Result<(DriverGroup, Session), (DriverGroup, String)> {
    let port = free_port();
    // Two ports picked one after the other can be the same one, free again.
    let native_port = std::iter::repeat_with(free_port).find(|p| *p != port).unwrap();
    // The driver's and the app's output go to a file beside the screenshots, not to the
    // test's own output: nothing left behind can hold the test run's pipe open.
    let log = std::fs::File::create(artifacts.join("driver-and-app.log")).unwrap();
    let mut cmd = Command::new(driver_bin);
    cmd.args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0);
    ws.apply_env(&mut cmd);
    let driver = DriverGroup(cmd.spawn().expect("start tauri-driver"));
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            return Err((driver, format!("tauri-driver did not listen on {port}")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // tauri-driver listens before WebKitWebDriver behind it does; on a busy machine the
    // first session requests can find nothing to talk to yet.
    loop {
        match Session::start(&format!("http://127.0.0.1:{port}"), app.to_str().unwrap()) {
            Ok(s) => return Ok((driver, s.screenshot_failures_to(artifacts.join("failure.png")))),
            Err(e) if started.elapsed() < Duration::from_secs(60) => {
                eprintln!("e2e {name}: no WebDriver session yet ({e}); trying again");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err((driver, format!("no WebDriver session within 60 s: {e}"))),
        }
    }
}

/// The process ids of every running `venue-desk` (the app under test, from any test).
pub fn app_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "venue-desk")
        })
        .collect()
}

/// The app processes of a driver group with their kernel state letter (R, S, D, T stopped,
/// Z zombie), e.g. "4711 S"; "none" when the app is gone.
fn app_states(driver: &DriverGroup) -> String {
    let group = driver.0.id().to_string();
    let found: Vec<String> = app_pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid pgrp …: the fields after the command name's ')'.
            let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
            (fields.get(2) == Some(&group.as_str())).then(|| format!("{pid} {}", fields[0]))
        })
        .collect();
    if found.is_empty() { "none".into() } else { found.join(", ") }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.finished.store(true, std::sync::atomic::Ordering::SeqCst);
        // The session first (the app closes cleanly), then the driver group goes with its drop.
        self.session.end();
    }
}

/// The first sign-in of an operator who enrols an authenticator on it (a supervisor, an
/// administrator): name and password, then the code for the secret the enrolment screen shows,
/// until the home screen with test id `home` is up.
pub fn sign_in_enrolling(s: &Session, username: &str, password: &str, home: &str) {
    let t = Duration::from_secs(20);
    s.wait("[data-testid=login-username]", Duration::from_secs(60)).unwrap();
    s.fill("[data-testid=login-username]", username).unwrap();
    s.fill("[data-testid=login-password]", &format!("{password}{}", crate::webdriver::ENTER)).unwrap();
    s.wait("[data-testid=enrol-qr]", t).unwrap();
    let secret = s.text_of("[data-testid=enrol-secret]").unwrap();
    s.fill("[data-testid=enrol-code]", &current_totp(&secret)).unwrap();
    s.click("[data-testid=enrol-submit]").unwrap();
    s.wait(&format!("[data-testid={home}]"), t).unwrap();
}

/// The authenticator code for an enrolment secret, as the operator's phone would show it; waits
/// out the last two seconds of a time step so the code is still current when it arrives.
pub fn current_totp(secret_base32: &str) -> String {
    use totp_rs::{Algorithm, Secret, TOTP};
    let bytes = Secret::Encoded(secret_base32.trim().replace(' ', "")).to_bytes().expect("base32 secret");
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, "e2e".into()).unwrap();
    while (30 - chrono::Utc::now().timestamp() % 30) < 3 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    totp.generate_current().unwrap()
}

/// The built `venue-sim` binary running on a venue file, with its control interface on a free
/// port; killed on drop.
pub struct VenueSimProcess {
    child: Child,
    /// `http://127.0.0.1:PORT` of the control interface.
    pub control: String,
    _dir: tempfile::TempDir,
}

impl VenueSimProcess {
    /// Starts it on `toml` with `args`, waits until the control interface answers, and returns it
    /// with its `/devices` listing.
    pub fn start(toml: &str, args: &[&str]) -> (VenueSimProcess, serde_json::Value) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("venue.toml");
        std::fs::write(&file, toml).unwrap();
        let bin = workspace().join("target/debug/venue-sim");
        assert!(bin.is_file(), "{} missing: build the workspace first (make test does)", bin.display());
        let control = format!("127.0.0.1:{}", free_port());
        let child = Command::new(bin)
            .args(["--config", file.to_str().unwrap(), "--control", &control])
            .args(args)
            .env("VENUE_DESK_DATA_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sim = VenueSimProcess { child, control: format!("http://{control}"), _dir: dir };
        let started = std::time::Instant::now();
        let devices = loop {
            match ureq::get(&format!("{}/devices", sim.control)).call() {
                Ok(mut r) => break r.body_mut().read_json::<serde_json::Value>().unwrap(),
                Err(_) if started.elapsed() < std::time::Duration::from_secs(10) => {
                    std::thread::sleep(std::time::Duration::from_millis(100))
                }
                Err(e) => panic!("venue-sim control did not answer: {e}"),
            }
        };
        (sim, devices)
    }
}

impl Drop for VenueSimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
