//! 数据同步 in the real app against the reference receiver: the administrator watches a backlog
//! drain, the platform rotates the secret (the screen says the credentials were refused and the
//! sender stops), the administrator enters the new one on the screen and sending resumes.
//! Screenshots in test-artifacts/e2e/sync/.

use std::sync::Arc;
use std::time::{Duration, Instant};

use venue_desk::auth::Caller;
use venue_desk::clock::SystemClock;
use venue_desk::domain::operator::Role;
use venue_desk::sim::receiver::{Mode, Receiver, ReceiverConfig};
use venue_desk_tests::e2e::{ADMIN, RunningApp, Workstation, seed_operators, sign_in_enrolling};

const T: Duration = Duration::from_secs(30);
const SECRET: &str = "e2e-sync-secret-0123456789";
const ROTATED: &str = "e2e-sync-rotated-9876543210";

fn wait_for(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_administrator_watches_the_backlog_drain_and_rotates_the_secret() {
    let code = format!("E2ESYNC-{}", std::process::id());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ws = Workstation::new();
    let toml = venue_desk::config::DEMO_VENUE_TOML
        .replace("code = \"DEMO-01\"", &format!("code = \"{code}\""))
        .replace("http://127.0.0.1:18600", &format!("http://127.0.0.1:{port}"))
        .replace("allow_plain_http = true", "allow_plain_http = true\nbatch_size = 50");
    std::fs::create_dir_all(ws.config_dir()).unwrap();
    let venue_file = ws.config_dir().join("venue.toml");
    std::fs::write(&venue_file, toml).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let config = venue_desk::config::load(&venue_file, &ws.data_dir()).unwrap();
        let s = venue_desk::Services::open(config, Arc::new(SystemClock)).await.unwrap();
        seed_operators(&s, &[]).await;
        let admin = Caller { operator_id: 1, username: ADMIN.0.into(), role: Role::Administrator };
        s.uplink.set_credentials(&admin, "e2e-venue", SECRET).await.unwrap();
        // A day offline: 2,000 door events waiting.
        venue_desk_tests::uplink::write_door_events(&s, 2000).await;
        s.store.close().await;
    });
    // Slow enough that the drain can be watched: 50 events a request, 250 ms a request.
    let receiver = Receiver::start(
        &format!("127.0.0.1:{port}"),
        ReceiverConfig::new(&code, "e2e-venue", SECRET.as_bytes()),
    )
    .unwrap();
    receiver.set_mode(Mode::Stall { ms: 250 });

    let app = RunningApp::launch(&ws, "sync");
    let s = &app.session;
    sign_in_enrolling(s, ADMIN.0, ADMIN.1, "home-administrator");
    s.click("[data-testid=nav-sync]").unwrap();

    // The backlog is draining: the progress bar is there while it lasts.
    s.wait("[data-testid=sync-drain-progress]", T).unwrap();
    s.wait("[data-testid=sync-state][data-state=sending]", T).unwrap();
    app.shot("01-draining");
    s.wait("[data-testid=sync-state][data-state=up_to_date]", Duration::from_secs(90)).unwrap();
    let backlog = s.text_of("[data-testid=sync-backlog-count]").unwrap();
    assert!(backlog.trim().starts_with('0'), "backlog after the drain: {backlog}");
    assert!(receiver.stats().accepted >= 2000, "{:?}", receiver.stats());
    app.shot("02-up-to-date");

    // The platform rotates the secret. The next event (a pull or the administrator's own actions)
    // is refused; the screen says so and the sender stops asking.
    receiver.set_mode(Mode::Normal);
    receiver.set_secret(ROTATED.as_bytes());
    s.click("[data-testid=sync-pull-now]").unwrap();
    s.wait("[data-testid=sync-state][data-state=credentials_rejected]", T).unwrap();
    app.shot("03-credentials-rejected");
    let failures_then = receiver.stats().auth_failures.values().sum::<u64>();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        receiver.stats().auth_failures.values().sum::<u64>() <= failures_then + 1,
        "no tight retry loop on a refused secret: {:?}",
        receiver.stats()
    );

    // The administrator enters the new secret; sending resumes and the screen clears the field.
    s.fill("[data-testid=sync-app-secret-input] input, input[data-testid=sync-app-secret-input]", ROTATED)
        .or_else(|_| s.fill("[data-testid=sync-app-secret-input]", ROTATED))
        .unwrap();
    s.click("[data-testid=sync-credentials-save]").unwrap();
    s.wait("[data-testid=sync-state][data-state=up_to_date]", T).unwrap();
    let accepted = receiver.accepted();
    wait_for("the credentials change reaches the platform", || {
        receiver.accepted().iter().any(|e| e.event_type == "SERVICE_CREDENTIALS_CHANGED")
    });
    assert!(accepted.len() >= 2000);
    let page = s.execute("return document.body.innerText").unwrap().as_str().unwrap_or_default().to_string();
    assert!(!page.contains(ROTATED) && !page.contains(SECRET), "a secret is shown on screen");
    app.shot("04-resumed");
    assert!(
        receiver.stats().chain_breaks.is_empty() && receiver.stats().seq_gaps.is_empty(),
        "{:?}",
        receiver.stats()
    );
}
