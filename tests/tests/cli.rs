//! The terminal subcommands of the real binary: `config check` and `journal verify`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn app() -> PathBuf {
    let p = std::env::var_os("VENUE_DESK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/venue-desk"));
    assert!(p.is_file(), "{} is missing: run `make test` (it builds it first)", p.display());
    p
}

fn run(data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(app())
        .args(args)
        .env("VENUE_DESK_DATA_DIR", data_dir)
        .env("XDG_CONFIG_HOME", data_dir.join("config"))
        .env("LANG", "en_US.UTF-8")
        .env_remove("VENUE_DESK_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn config_check_names_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(dir.path(), &["config", "check"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: DEMO-01"), "{out}");

    let bad = dir.path().join("venue.toml");
    let text = venue_desk::config::DEMO_VENUE_TOML.replacen("capacity = 12\n", "capacity = \"twelve\"\n", 1);
    std::fs::write(&bad, &text).unwrap();
    let line = text.lines().position(|l| l.contains("twelve")).unwrap() + 1;
    let (code, _, err) = run(dir.path(), &["--config", bad.to_str().unwrap(), "config", "check"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(bad.to_str().unwrap())
            && err.contains(&format!("line {line},"))
            && err.contains("capacity"),
        "{err}"
    );
}

#[tokio::test]
async fn journal_verify_reports_ok_then_the_first_broken_record() {
    let dir = tempfile::tempdir().unwrap();
    // `journal verify` opens (and on first use creates) the same database the window uses.
    let (code, out, err) = run(dir.path(), &["journal", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("OK: 0 records"), "{out}");

    let url = format!("sqlite://{}", dir.path().join("venue-desk.db").display());
    {
        let store = std::sync::Arc::new(venue_desk::store::Store::open(&url).await.unwrap());
        let clock = std::sync::Arc::new(venue_desk::clock::SystemClock);
        let journal =
            venue_desk::journal::Journal::start(store.clone(), clock, chrono_tz::Asia::Shanghai, "T".into());
        for i in 0..5 {
            use venue_desk::journal::{Actor, Entry, EventKind, Outcome};
            journal
                .record(Entry::new(
                    Actor::device("door-1"),
                    EventKind::DeviceHealth,
                    format!("d{i}"),
                    Outcome::Ok,
                ))
                .await
                .unwrap();
        }
        let (code, out, _) = run(dir.path(), &["journal", "verify"]);
        assert_eq!(code, 0);
        assert!(out.starts_with("OK: 5 records"), "{out}");
        sqlx::query("DROP TRIGGER journal_no_update").execute(store.pool()).await.unwrap();
        sqlx::query("UPDATE journal SET outcome = 'failed' WHERE seq = 3")
            .execute(store.pool())
            .await
            .unwrap();
        store.close().await;
    }
    let (code, out, _) = run(dir.path(), &["journal", "verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at record 3")
            && out.contains("edited")
            && out.contains("The 2 records before it"),
        "{out}"
    );
}
