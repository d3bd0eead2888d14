//! Our own AppImage type-2 runtime (installer/appimage): built with `make`, a toy AppDir packed
//! with make-appimage.sh, then every way of starting it — FUSE mount, extract-and-run,
//! `--appimage-extract`, the informational options and damaged inputs. Each test gets its own
//! TMPDIR and unmounts whatever it left there, even when it fails midway.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use venue_desk_tests::process::wait_within;

const APPRUN: &str = r#"#!/bin/sh
echo "APPDIR=$APPDIR"
echo "APPIMAGE=$APPIMAGE"
echo "ARGV0=$ARGV0"
echo "OWD=$OWD"
echo "FSTYPE=$(awk -v d="$APPDIR" '$5 == d { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo)"
for a in "$@"; do echo "ARG=$a"; done
echo "DATA=$(cat "$APPDIR/usr/share/toy/data.txt")"
echo "LINK=$(cat "$APPDIR/data-link.txt")"
echo "BIG=$(sha256sum "$APPDIR/usr/share/toy/big.bin" | cut -d ' ' -f 1)"
if [ "$1" = background ]; then
  # Outlives AppRun: waits for the test's go-ahead, then still reads from the image.
  ( exec </dev/null >/dev/null 2>&1
    while [ ! -e "$2" ]; do sleep 0.05; done
    cat "$APPDIR/usr/share/toy/data.txt" > "$3" ) &
fi
exit "${TOY_EXIT:-0}"
"#;
const DATA: &str = "hello from the toy app";
const FALLBACK: &str = "falling back to extract-and-run";
const MARKER: &str = ".appimage-extract-complete";

struct Fixture {
    runtime: PathBuf,
    appdir: PathBuf,
    appimage: PathBuf,
    /// Same image cut in the middle of its squashfs.
    truncated: PathBuf,
    /// A squashfs without AppRun (make-appimage.sh rightly refuses to pack it).
    no_apprun: PathBuf,
    /// The runtime with the AppImage magic cleared, which `ldd` (ld.so) would otherwise reject.
    runtime_plain_elf: PathBuf,
    big_sha256: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn sh(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn write_exec(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Built once per test binary; every file that is executed later is written here, before any
/// test runs a process, so no concurrent fork can keep a write handle open (ETXTBSY).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("appimage_runtime");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        sh(Command::new("make").args(["-s", "-C"]).arg(repo().join("installer/appimage")).arg("runtime"));
        let runtime = dir.join("runtime");
        fs::copy(repo().join("installer/appimage/build/runtime"), &runtime).unwrap();

        let appdir = dir.join("Toy.AppDir");
        fs::create_dir_all(appdir.join("usr/share/toy")).unwrap();
        fs::create_dir_all(appdir.join("usr/bin")).unwrap();
        fs::create_dir_all(appdir.join("usr/lib/empty")).unwrap();
        write_exec(&appdir.join("AppRun"), APPRUN);
        write_exec(&appdir.join("usr/bin/tool"), "#!/bin/sh\necho tool\n");
        fs::write(
            appdir.join("toy.desktop"),
            "[Desktop Entry]\nType=Application\nName=Toy\nExec=toy\nIcon=toy\nCategories=Utility;\n",
        )
        .unwrap();
        fs::write(appdir.join("toy.png"), b"\x89PNG\r\n\x1a\n").unwrap();
        fs::write(appdir.join("usr/share/toy/data.txt"), DATA).unwrap();
        std::os::unix::fs::symlink("usr/share/toy/data.txt", appdir.join("data-link.txt")).unwrap();
        // 5 MB of xorshift output: incompressible, so every block's content is checked.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let big: Vec<u8> = (0..5 * 1024 * 1024 / 8)
            .flat_map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()
            })
            .collect();
        fs::write(appdir.join("usr/share/toy/big.bin"), &big).unwrap();
        let big_sha256 = hex::encode(Sha256::digest(&big));

        let appimage = dir.join("toy.AppImage");
        sh(Command::new(repo().join("installer/appimage/make-appimage.sh"))
            .arg(&runtime)
            .arg(&appdir)
            .arg(&appimage));

        let image = fs::read(&appimage).unwrap();
        let offset = fs::metadata(&runtime).unwrap().len() as usize;
        let truncated = dir.join("truncated.AppImage");
        fs::write(&truncated, &image[..offset + (image.len() - offset) / 2]).unwrap();
        fs::set_permissions(&truncated, fs::Permissions::from_mode(0o755)).unwrap();

        let bare = dir.join("NoAppRun.AppDir");
        sh(Command::new("cp").arg("-a").arg(&appdir).arg(&bare));
        fs::remove_file(bare.join("AppRun")).unwrap();
        let sqfs = dir.join("no_apprun.squashfs");
        sh(Command::new("mksquashfs").arg(&bare).arg(&sqfs).args([
            "-root-owned",
            "-noappend",
            "-comp",
            "zstd",
            "-quiet",
            "-no-progress",
        ]));
        let no_apprun = dir.join("no_apprun.AppImage");
        let mut bytes = fs::read(&runtime).unwrap();
        bytes.extend(fs::read(&sqfs).unwrap());
        fs::write(&no_apprun, bytes).unwrap();
        fs::set_permissions(&no_apprun, fs::Permissions::from_mode(0o755)).unwrap();

        let mut plain = fs::read(&runtime).unwrap();
        assert_eq!(&plain[8..11], b"AI\x02", "AppImage type-2 magic at bytes 8..10");
        plain[8..11].fill(0);
        let runtime_plain_elf = dir.join("runtime-plain-elf");
        fs::write(&runtime_plain_elf, plain).unwrap();
        fs::set_permissions(&runtime_plain_elf, fs::Permissions::from_mode(0o755)).unwrap();

        Fixture { runtime, appdir, appimage, truncated, no_apprun, runtime_plain_elf, big_sha256 }
    })
}

/// A per-test TMPDIR; on drop it lazily unmounts anything still mounted below it.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch { dir: tempfile::tempdir().unwrap() }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("TMPDIR", self.path()).env_remove("APPIMAGE_EXTRACT_AND_RUN").current_dir(self.path());
        cmd
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for m in mounts_under(self.path()) {
            let ok =
                Command::new("fusermount3").args(["-u", "-z"]).arg(&m).status().is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(&m).status();
            }
        }
    }
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

fn is_mounted(point: &str) -> bool {
    fs::read_to_string("/proc/self/mountinfo").unwrap().lines().any(|l| l.split(' ').nth(4) == Some(point))
}

fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs with a deadline, so a runtime that hangs on a damaged image fails the test instead.
fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        so.read_to_end(&mut v).map(|_| v).unwrap()
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        se.read_to_end(&mut v).map(|_| v).unwrap()
    });
    let end = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output { status, stdout: out_t.join().unwrap(), stderr: err_t.join().unwrap() }
}

fn field<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in the app's output:\n{stdout}"))
}

/// Mounting must work where we are root with /dev/fuse and may mount (CAP_SYS_ADMIN in the
/// initial user namespace, i.e. not an unprivileged container); elsewhere the runtime's fallback
/// is the expected path.
fn fuse_expected() -> bool {
    let uid_map = fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let initial_userns = uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let get = |k: &str| status.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("").trim().to_owned();
    let euid_root = get("Uid:").split_whitespace().nth(1) == Some("0");
    let cap_sys_admin = u64::from_str_radix(&get("CapEff:"), 16).is_ok_and(|c| c & (1 << 21) != 0);
    Path::new("/dev/fuse").exists() && euid_root && cap_sys_admin && initial_userns
}

/// Checks what every start mode must show the app; returns APPDIR.
fn check_app_output(f: &Fixture, out: &Output, owd: &Path, status: i32) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(field(&stdout, "APPIMAGE"), f.appimage.to_str().unwrap());
    assert_eq!(field(&stdout, "ARGV0"), f.appimage.to_str().unwrap());
    assert_eq!(field(&stdout, "OWD"), owd.to_str().unwrap());
    let args: Vec<_> = stdout.lines().filter_map(|l| l.strip_prefix("ARG=")).collect();
    assert_eq!(args, ["one", "two words", "--three"]);
    assert_eq!(field(&stdout, "DATA"), DATA);
    assert_eq!(field(&stdout, "LINK"), DATA, "a symlink inside the image is followed");
    assert_eq!(field(&stdout, "BIG"), f.big_sha256, "5 MB file read back intact");
    field(&stdout, "APPDIR").to_owned()
}

#[test]
fn mount_mode_passes_output_and_status_through_and_cleans_up() {
    let f = fixture();
    let tmp = Scratch::new();
    let out = run(
        tmp.command(&f.appimage).args(["one", "two words", "--three"]).env("TOY_EXIT", "42"),
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let appdir = check_app_output(f, &out, tmp.path(), 42);
    if stderr.contains(FALLBACK) {
        assert!(!fuse_expected(), "root with /dev/fuse, yet the runtime fell back: {stderr}");
        eprintln!("NOTE: FUSE mount mode was NOT exercised here (the runtime fell back): {stderr}");
        assert!(appdir.starts_with(&format!("{}/appimage_extracted_", tmp.path().display())), "{appdir}");
        return;
    }
    assert!(stderr.is_empty(), "a mounted start prints nothing: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(appdir.starts_with(&format!("{}/.mount_toy.Ap", tmp.path().display())), "{appdir}");
    assert_eq!(field(&stdout, "FSTYPE"), "fuse.appimage", "APPDIR was a FUSE mount point while the app ran");
    wait_until("the mount is gone", Duration::from_secs(5), || !is_mounted(&appdir));
    wait_until("the mount directory is removed", Duration::from_secs(5), || !Path::new(&appdir).exists());
    assert!(mounts_under(tmp.path()).is_empty());
}

#[test]
fn a_background_child_keeps_the_mount_until_it_exits() {
    let f = fixture();
    let tmp = Scratch::new();
    let (go, result) = (tmp.path().join("go"), tmp.path().join("result"));
    let out = run(tmp.command(&f.appimage).arg("background").arg(&go).arg(&result), Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let appdir = field(&String::from_utf8_lossy(&out.stdout), "APPDIR").to_owned();
    if stderr.contains(FALLBACK) {
        assert!(!fuse_expected(), "root with /dev/fuse, yet the runtime fell back: {stderr}");
        eprintln!("NOTE: FUSE mount mode was NOT exercised here (the runtime fell back): {stderr}");
        fs::write(&go, "").unwrap();
        wait_until("the background child wrote its result", Duration::from_secs(10), || result.exists());
        return;
    }
    // AppRun has exited; its child still holds the keep-alive pipe.
    std::thread::sleep(Duration::from_millis(200));
    assert!(is_mounted(&appdir), "the mount must outlive AppRun while its child runs");
    fs::write(&go, "").unwrap();
    wait_until("the background child read from the mount", Duration::from_secs(10), || {
        fs::read_to_string(&result).is_ok_and(|s| s == DATA)
    });
    wait_until("the mount is gone", Duration::from_secs(5), || !is_mounted(&appdir));
    wait_until("the mount directory is removed", Duration::from_secs(5), || !Path::new(&appdir).exists());
}

#[test]
fn appimage_mount_stays_until_terminated() {
    use std::io::BufRead;
    let f = fixture();
    let tmp = Scratch::new();
    let mut child = tmp
        .command(&f.appimage)
        .arg("--appimage-mount")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let point = line.trim().to_owned();
    if point.is_empty() {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert!(!fuse_expected(), "--appimage-mount failed: {}", String::from_utf8_lossy(&out.stderr));
        eprintln!("NOTE: --appimage-mount was NOT exercised here (no FUSE)");
        return;
    }
    assert!(is_mounted(&point), "{point}");
    assert_eq!(fs::read_to_string(Path::new(&point).join("usr/share/toy/data.txt")).unwrap(), DATA);
    sh(Command::new("kill").args(["-TERM", &child.id().to_string()]));
    let status = wait_within(&mut child, Duration::from_secs(30), "--appimage-mount after SIGTERM");
    assert!(status.success(), "SIGTERM ends --appimage-mount cleanly: {status}");
    assert!(!is_mounted(&point), "unmounted by the time it exits");
    assert!(!Path::new(&point).exists());
}

#[test]
fn extract_and_run_extracts_once_and_reuses_the_tree() {
    let f = fixture();
    let tmp = Scratch::new();
    let start = || {
        run(
            tmp.command(&f.appimage)
                .args(["one", "two words", "--three"])
                .env("APPIMAGE_EXTRACT_AND_RUN", "1")
                .env("TOY_EXIT", "3"),
            Duration::from_secs(20),
        )
    };
    let first = start();
    let appdir = check_app_output(f, &first, tmp.path(), 3);
    assert!(
        first.stderr.is_empty(),
        "no fallback message when asked for: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let name = appdir.strip_prefix(&format!("{}/appimage_extracted_", tmp.path().display())).expect(&appdir);
    assert!(name.len() >= 16 && name.chars().all(|c| c.is_ascii_hexdigit()), "{appdir}");
    let marker = Path::new(&appdir).join(MARKER);
    let stamp = fs::metadata(&marker).expect("completion marker").modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));

    let second = start();
    assert_eq!(check_app_output(f, &second, tmp.path(), 3), appdir);
    assert_eq!(fs::metadata(&marker).unwrap().modified().unwrap(), stamp, "second start reuses the tree");
    let entries: Vec<_> =
        fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(entries, [appdir.rsplit('/').next().unwrap()], "no temporary trees or mounts left");
}

#[derive(Debug, PartialEq)]
enum Node {
    Dir,
    File { sha256: String, executable: bool },
    Link(PathBuf),
}

fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, map: &mut BTreeMap<PathBuf, Node>) {
        for e in fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if meta.file_type().is_symlink() {
                map.insert(rel, Node::Link(fs::read_link(&path).unwrap()));
            } else if meta.is_dir() {
                map.insert(rel, Node::Dir);
                walk(root, &path, map);
            } else {
                let sha256 = hex::encode(Sha256::digest(fs::read(&path).unwrap()));
                map.insert(rel, Node::File { sha256, executable: meta.permissions().mode() & 0o111 != 0 });
            }
        }
    }
    let mut map = BTreeMap::new();
    walk(root, root, &mut map);
    map
}

#[test]
fn appimage_extract_recreates_the_appdir() {
    let f = fixture();
    let tmp = Scratch::new();
    let out = run(tmp.command(&f.appimage).arg("--appimage-extract"), Duration::from_secs(20));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l == "squashfs-root/usr/share/toy/big.bin"), "{stdout}");
    let got = tree(&tmp.path().join("squashfs-root"));
    assert_eq!(got, tree(&f.appdir));
    assert!(matches!(got[Path::new("AppRun")], Node::File { executable: true, .. }));
    assert!(matches!(got[Path::new("toy.desktop")], Node::File { executable: false, .. }));
    assert_eq!(got[Path::new("data-link.txt")], Node::Link("usr/share/toy/data.txt".into()));
    assert!(mounts_under(tmp.path()).is_empty());
}

#[test]
fn informational_options() {
    let f = fixture();
    let tmp = Scratch::new();
    let out = run(tmp.command(&f.appimage).arg("--appimage-offset"), Duration::from_secs(5));
    assert!(out.status.success());
    let offset: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(
        offset,
        fs::metadata(&f.runtime).unwrap().len(),
        "the squashfs starts right after the runtime"
    );
    let out = run(tmp.command(&f.appimage).arg("--appimage-version"), Duration::from_secs(5));
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("runtime"));
    let out = run(tmp.command(&f.appimage).arg("--appimage-help"), Duration::from_secs(5));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for opt in ["--appimage-extract", "--appimage-mount", "--appimage-offset", "--appimage-version"] {
        assert!(help.contains(opt), "{help}");
    }
}

#[test]
fn damaged_or_incomplete_images_fail_clearly() {
    let f = fixture();
    let tmp = Scratch::new();
    let check = |out: &Output, expect: &[&str]| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        // Where FUSE is unavailable the fallback notice comes first; the error is still one line.
        assert_eq!(
            stderr.trim().lines().filter(|l| !l.contains(FALLBACK)).count(),
            1,
            "one clear line: {stderr}"
        );
        for e in expect {
            assert!(stderr.contains(e), "expected {e:?} in: {stderr}");
        }
    };
    let bare = run(&mut tmp.command(&f.runtime), Duration::from_secs(10));
    check(&bare, &["not an AppImage", "no squashfs image"]);

    let cut = run(&mut tmp.command(&f.truncated), Duration::from_secs(10));
    check(&cut, &["damaged AppImage", "truncated"]);
    let cut = run(tmp.command(&f.truncated).arg("--appimage-extract"), Duration::from_secs(10));
    check(&cut, &["damaged AppImage", "truncated"]);

    let none = run(&mut tmp.command(&f.no_apprun), Duration::from_secs(10));
    check(&none, &["AppRun is missing"]);
    let none = run(tmp.command(&f.no_apprun).env("APPIMAGE_EXTRACT_AND_RUN", "1"), Duration::from_secs(10));
    check(&none, &["AppRun is missing"]);

    wait_until("no mounts are left", Duration::from_secs(5), || mounts_under(tmp.path()).is_empty());
    let left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".mount_") || n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn the_runtime_needs_only_glibc() {
    let f = fixture();
    let glibc = ["linux-vdso.so", "libc.so", "ld-linux", "libpthread.so", "libdl.so", "libm.so", "librt.so"];
    let needed = String::from_utf8(sh(Command::new("readelf").arg("-d").arg(&f.runtime)).stdout).unwrap();
    let libs: Vec<_> = needed.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!libs.is_empty() && libs.iter().all(|l| glibc.iter().any(|g| l.contains(g))), "{needed}");
    let ldd = String::from_utf8(sh(Command::new("ldd").arg(&f.runtime_plain_elf)).stdout).unwrap();
    for line in ldd.lines() {
        assert!(
            glibc.iter().any(|g| line.trim_start().starts_with(g) || line.contains(&format!("/{g}"))),
            "not glibc: {line}\n{ldd}"
        );
    }
    let sections =
        String::from_utf8(sh(Command::new("readelf").args(["-S", "-W"]).arg(&f.runtime)).stdout).unwrap();
    assert!(sections.contains(".upd_info") && sections.contains(".sha256_sig"), "{sections}");
}
