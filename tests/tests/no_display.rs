//! Started where there is no display (a server, a package installed over SSH), the window cannot
//! open: the app says so in both languages, points to the way out, and exits with status 3 without
//! touching the data directory's database.

use std::process::Command;

use venue_desk_tests::e2e::{Workstation, app_binary};

#[test]
fn without_a_display_the_app_says_so_and_exits_3() {
    let ws = Workstation::new();
    let mut cmd = Command::new(app_binary());
    ws.apply_env(&mut cmd);
    let out = cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("需要图形界面") && stderr.contains("needs a graphical display"), "{stderr}");
    assert!(stderr.contains("xvfb-run -a venue-desk"), "{stderr}");
    assert!(
        !ws.data_dir().join("venue-desk.db").exists(),
        "no database is created by a start that cannot open"
    );
}
