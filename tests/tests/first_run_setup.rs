//! The first-run set-up against real services on the embedded demo venue: what it writes, what it
//! stores in the keyring, and that a refusal leaves nothing behind so the form can be sent again.

use std::sync::Arc;

use venue_desk::Services;
use venue_desk::clock::ManualClock;
use venue_desk::error::ErrorKind;
use venue_desk::setup::{SetupInput, complete};

async fn fresh_install(dir: &std::path::Path) -> Services {
    let config = venue_desk::config::demo(dir);
    let clock = Arc::new(ManualClock::new("2026-12-06T01:00:00Z".parse().unwrap()));
    Services::open(config, clock).await.unwrap()
}

fn input(code: &str, recordings: &std::path::Path) -> SetupInput {
    SetupInput {
        username: "admin".into(),
        display_name: "系统管理员".into(),
        password: "Admin-pass-2026".into(),
        venue_code: code.into(),
        venue_name: "测试市公共资源交易中心".into(),
        recordings_dir: recordings.display().to_string(),
        service_base_url: Some("https://fw.example.cn/venue-api".into()),
        service_app_key: Some("setup-test-key".into()),
        service_app_secret: Some("setup-test-secret-0123456789".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_writes_the_venue_file_creates_the_administrator_and_keeps_the_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let services = fresh_install(dir.path()).await;
    let target = dir.path().join("config").join("venue.toml");
    // A unique code per run: the keyring outlives the test's directory.
    let code = format!("SETUP-{}", std::process::id());

    // Refusals first: a code in the wrong format, then a read-only recordings path. Neither leaves
    // a file or an account behind.
    let e = complete(&services, &target, &input("GZ 01", &dir.path().join("rec"))).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    let e = complete(&services, &target, &input(&code, std::path::Path::new("/proc/venue-desk-rec")))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition, "{e}");
    assert!(!target.exists() && !target.with_extension("toml.new").exists());
    assert!(services.auth.needs_first_administrator().await.unwrap());

    let done = complete(&services, &target, &input(&code, &dir.path().join("rec"))).await.unwrap();
    assert!(done.credentials_stored);
    assert_eq!(done.venue_code, code);
    assert!(!services.auth.needs_first_administrator().await.unwrap());

    // The file is what the next start loads.
    let loaded = venue_desk::config::load(&target, dir.path()).unwrap();
    assert_eq!(loaded.code, code);
    assert_eq!(loaded.recordings_dir, dir.path().join("rec"));
    assert_eq!(loaded.service.base_url, "https://fw.example.cn/venue-api");
    assert_eq!(loaded.service.app_key_hint.as_deref(), Some("setup-test-key"));

    // The credentials are in the new venue's keyring entries (never in the file), as the sync
    // screen would have stored them, and journaled without the secret.
    let vault = venue_desk::vault::Vault::new(&code);
    assert_eq!(vault.get_text("service.app_key").unwrap().as_deref(), Some("setup-test-key"));
    assert_eq!(
        vault.get_text("service.app_secret").unwrap().as_deref(),
        Some("setup-test-secret-0123456789")
    );
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(!text.contains("setup-test-secret"), "no secret in the venue file");

    // Services open on the written file with the administrator already there.
    services.store.close().await;
    let clock = Arc::new(ManualClock::new("2026-12-06T02:00:00Z".parse().unwrap()));
    let next = Services::open(loaded, clock).await.unwrap();
    assert!(!next.auth.needs_first_administrator().await.unwrap());
    assert!(next.uplink.credentials().unwrap().is_some(), "the sync finds its credentials");

    // And the set-up is closed from now on: the file is never overwritten.
    let again = complete(&next, &target, &input("OTHER", &dir.path().join("rec"))).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::FailedPrecondition);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
}
