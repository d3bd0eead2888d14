//! Subcommands of the `venue-desk` binary, for administrators at a terminal and for scripts.

use std::path::PathBuf;

use crate::error::{Locale, locale};
use crate::journal::BreakKind;
use crate::store::Store;
use crate::{config, paths};

pub enum Invocation {
    Window { config: Option<PathBuf> },
    Command(Command),
}

pub enum Command {
    JournalVerify { config: Option<PathBuf> },
    CheckConfig { config: Option<PathBuf> },
    DemoSeed { config: Option<PathBuf> },
    SyncDrain { config: Option<PathBuf> },
    /// Records the venue's cameras by the schedule, without the window, until stopped.
    Record { config: Option<PathBuf> },
    /// Checks an export of recordings; `key` is the expected public key (hex, or a key file).
    VerifyExport { dir: PathBuf, key: Option<String> },
}

pub const USAGE: &str = "\
Usage: venue-desk [--config VENUE.toml]                 open the window
       venue-desk [--config VENUE.toml] journal verify  check the journal's hash chain
       venue-desk [--config VENUE.toml] config check    validate the venue file and exit
       venue-desk [--config VENUE.toml] sync drain      send every pending event to the service system now
       venue-desk [--config VENUE.toml] record          record the cameras by the schedule, without the window (Ctrl-C stops)
       venue-desk demo seed                             today's training session and roster (demo venue only)
       venue-desk verify-export DIR [--key KEY]         check an export of recordings (KEY: the venue's public key, hex or .pem)

Without --config: VENUE_DESK_CONFIG, else venue.toml in the configuration directory, else the
built-in demo venue. VENUE_DESK_DATA_DIR overrides where data is kept.";

pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let mut config = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" => {
                config =
                    Some(PathBuf::from(it.next().ok_or_else(|| format!("--config needs a file\n\n{USAGE}"))?))
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with("--config=") => config = Some(PathBuf::from(&s["--config=".len()..])),
            // Arguments the platform or a test driver adds to GUI launches are not ours to judge.
            s if s.starts_with("-psn_") => {}
            s => rest.push(s),
        }
    }
    match rest.as_slice() {
        [] => Ok(Invocation::Window { config }),
        ["journal", "verify"] => Ok(Invocation::Command(Command::JournalVerify { config })),
        ["config", "check"] => Ok(Invocation::Command(Command::CheckConfig { config })),
        ["demo", "seed"] => Ok(Invocation::Command(Command::DemoSeed { config })),
        ["sync", "drain"] => Ok(Invocation::Command(Command::SyncDrain { config })),
        ["record"] => Ok(Invocation::Command(Command::Record { config })),
        ["verify-export", dir] => Ok(Invocation::Command(Command::VerifyExport { dir: dir.into(), key: None })),
        ["verify-export", dir, "--key", key] | ["verify-export", "--key", key, dir] => {
            Ok(Invocation::Command(Command::VerifyExport { dir: dir.into(), key: Some(key.to_string()) }))
        }
        other => Err(format!("unknown command: {}\n\n{USAGE}", other.join(" "))),
    }
}

/// A recording-only workstation: recovery, the schedule and retention, as in the window; Ctrl-C or
/// SIGTERM finishes the open files and exits.
async fn record(config: Option<PathBuf>) -> i32 {
    // The window and this command on one data directory would both record the same cameras.
    let _instance = match crate::instance::acquire(&paths::data_dir()) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("{}", e.message());
            eprintln!(
                "venue-desk record 不能与窗口或另一个 record 同时运行在同一数据目录上（都会录制同样的摄像机）。\n\
                 venue-desk record cannot run beside the window or another record on the same data directory \
                 (both would record the same cameras)."
            );
            return 2;
        }
    };
    let started = async {
        let cfg = load_config(config)?;
        let services = std::sync::Arc::new(
            crate::Services::open(cfg, std::sync::Arc::new(crate::clock::SystemClock)).await?,
        );
        Ok::<_, crate::error::Error>(services)
    }
    .await;
    let services = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.message());
            return 2;
        }
    };
    let runner = tokio::spawn(services.recorder.clone().run());
    println!("recording: {} cameras and microphones by the schedule; Ctrl-C stops", services.recorder.status().len());
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    services.recorder.shutdown().await;
    let _ = runner.await;
    services.store.close().await;
    0
}

/// Loads the venue configuration the same way the window does.
pub fn load_config(cli_config: Option<PathBuf>) -> crate::error::Result<config::VenueConfig> {
    let data_dir = paths::data_dir();
    match paths::venue_file(cli_config) {
        Some(path) => config::load(&path, &data_dir),
        None => Ok(config::demo(&data_dir)),
    }
}

pub fn run(cmd: Command) -> i32 {
    if std::env::var("LANG").is_ok_and(|l| l.starts_with("en")) {
        crate::error::set_locale(Locale::En);
    }
    let zh = locale() == Locale::ZhCn;
    match cmd {
        Command::CheckConfig { config } => match load_config(config) {
            Ok(c) => {
                println!("OK: {} {} — {} rooms, {} devices", c.code, c.name, c.rooms.len(), c.devices.len());
                0
            }
            Err(e) => {
                eprintln!("{}", e.message());
                2
            }
        },
        Command::DemoSeed { config } => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            rt.block_on(async move {
                let seeded = async {
                    let cfg = load_config(config)?;
                    let services =
                        crate::Services::open(cfg, std::sync::Arc::new(crate::clock::SystemClock)).await?;
                    let id = crate::demo::seed_today(&services).await?;
                    services.store.close().await;
                    Ok::<i64, crate::error::Error>(id)
                }
                .await;
                match seeded {
                    Ok(id) => {
                        println!("OK: demo session {id} in room {} with its roster", crate::demo::DEMO_ROOM);
                        0
                    }
                    Err(e) => {
                        eprintln!("{}", e.message());
                        2
                    }
                }
            })
        }
        Command::SyncDrain { config } => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            rt.block_on(drain(config, zh))
        }
        Command::VerifyExport { dir, key } => verify_export(&dir, key.as_deref(), zh),
        Command::Record { config } => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            rt.block_on(record(config))
        }
        Command::JournalVerify { config } => {
            let rt =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            rt.block_on(async move {
                let cfg = match load_config(config) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("{}", e.message());
                        return 2;
                    }
                };
                // Only the store: checking the chain must not add to it.
                let store = match Store::open(&cfg.database_url).await {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{}", e.message());
                        return 2;
                    }
                };
                match crate::journal::verify(&store).await {
                    Ok(r) if r.ok => {
                        let head = r.head_hash.unwrap_or_else(|| "-".into());
                        if zh {
                            println!("OK：日志链完整，共 {} 条记录，链头 {head}", r.count);
                        } else {
                            println!("OK: {} records, chain intact, head {head}", r.count);
                        }
                        0
                    }
                    Ok(r) => {
                        let seq = r.broken_at_seq.unwrap_or_default();
                        let (why_zh, why_en) = match r.break_kind {
                            Some(BreakKind::MissingRecord) => (
                                "缺少该序号的记录（被删除）",
                                "the record with this number is missing (deleted)",
                            ),
                            Some(BreakKind::LinkMismatch) => {
                                ("与前一条记录的链接不符", "it does not link to the record before it")
                            }
                            _ => (
                                "内容与其哈希不符（被修改）",
                                "its content no longer matches its hash (edited)",
                            ),
                        };
                        if zh {
                            println!(
                                "BROKEN：日志链在第 {seq} 条断开：{why_zh}。此前 {} 条记录完好。",
                                r.count
                            );
                        } else {
                            println!(
                                "BROKEN at record {seq}: {why_en}. The {} records before it are intact.",
                                r.count
                            );
                        }
                        1
                    }
                    Err(e) => {
                        eprintln!("{}", e.message());
                        2
                    }
                }
            })
        }
    }
}

/// `verify-export`: 0 when the export checks out, 1 with the first problem, 2 when it cannot be read.
fn verify_export(dir: &std::path::Path, key: Option<&str>, zh: bool) -> i32 {
    let expected = match key.map(|k| {
        // A key file (public_key.pem or .hex), else the key itself.
        let text = std::fs::read_to_string(k).unwrap_or_else(|_| k.to_string());
        crate::media::verify::parse_public_key(&text)
    }) {
        Some(Err(e)) => {
            eprintln!("{}", e.message());
            return 2;
        }
        Some(Ok(k)) => Some(k),
        None => None,
    };
    match crate::media::verify::verify_export(dir, expected.as_ref()) {
        Ok(r) if r.ok => {
            let key = r.public_key.unwrap_or_default();
            let project = r.project_code.unwrap_or_default();
            if zh {
                println!(
                    "OK：项目 {project} 的导出完整：{} 个文件的 SHA-256、{} 个录像分段与哈希链均相符，清单签名有效（公钥 {key}）",
                    r.checked_files, r.segments
                );
            } else {
                println!(
                    "OK: export of project {project} intact: {} files hashed, {} segments and their chain match, manifest signed by {key}",
                    r.checked_files, r.segments
                );
            }
            0
        }
        Ok(r) => {
            let problem = r.first_problem.unwrap_or_default();
            if zh {
                println!("BROKEN：{problem}");
            } else {
                println!("BROKEN: {problem}");
            }
            1
        }
        Err(e) => {
            eprintln!("{}", e.message());
            2
        }
    }
}

/// Sends until nothing is pending, waiting as the receiver asks; stops with 1 when sending cannot
/// work without someone acting (credentials, clock, configuration).
async fn drain(config: Option<PathBuf>, zh: bool) -> i32 {
    use crate::sync::Step;
    let services = match load_config(config) {
        Ok(cfg) => match crate::Services::open(cfg, std::sync::Arc::new(crate::clock::SystemClock)).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}", e.message());
                return 2;
            }
        },
        Err(e) => {
            eprintln!("{}", e.message());
            return 2;
        }
    };
    let (mut taken, mut parked) = (0usize, 0usize);
    let code = loop {
        match services.uplink.step().await {
            Ok(Step::Empty) => break 0,
            Ok(Step::Sent { taken: t, parked: p }) => {
                taken += t;
                parked += p;
            }
            Ok(Step::Wait(d)) => {
                let why = services.uplink.status().await.ok().and_then(|s| s.problem).map(|p| format!("{}: {}", p.code, p.detail)).unwrap_or_default();
                eprintln!("{} {} s ({why})", if zh { "等待" } else { "waiting" }, d.as_secs().max(1));
                tokio::time::sleep(d).await;
            }
            Ok(Step::Stopped(_)) => {
                let why = services.uplink.status().await.ok().and_then(|s| s.problem).map(|p| format!("{}: {}", p.code, p.detail));
                eprintln!("{}", why.unwrap_or_else(|| if zh { "尚未设置综合服务系统的应用标识和密钥。".into() } else { "No service-system app key and secret are set.".into() }));
                break 1;
            }
            Err(e) => {
                eprintln!("{}", e.message());
                break 2;
            }
        }
    };
    if zh {
        println!("已送达 {taken} 条，搁置 {parked} 条。");
    } else {
        println!("delivered {taken}, parked {parked}");
    }
    services.store.close().await;
    code
}
