//! The Tauri shell: logging, the window, plugins, and the bridge from services to the UI. The
//! only module that touches Tauri besides the command adapters.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tauri::Manager;

use crate::clock::SystemClock;
use crate::commands::{self, AppState};
use crate::{Services, cli, paths};

/// Opens the window; returns the process exit code.
pub fn run(cli_config: Option<PathBuf>) -> i32 {
    if let Some(msg) = no_display_message() {
        eprintln!("{msg}");
        return 3;
    }
    let data_dir = paths::data_dir();
    let _log_guard = init_logging(&paths::log_dir(&data_dir));
    // A second window on the same data directory opens no services: the single-instance plugin
    // below brings the first window forward and ends this process; where it cannot (another
    // desktop session), this window shows why instead (instance.rs).
    let instance = crate::instance::acquire(&data_dir);

    let state = tauri::async_runtime::block_on(async {
        if let Err(e) = &instance {
            return AppState::Failed(e.clone());
        }
        let config = match cli::load_config(cli_config) {
            Ok(c) => c,
            Err(e) => return AppState::Failed(e),
        };
        match Services::open(config, Arc::new(SystemClock)).await {
            Ok(s) => {
                if let Err(e) = s.record_start().await {
                    return AppState::Failed(e);
                }
                let s = Arc::new(s);
                s.start_background().await;
                AppState::Ready(s)
            }
            Err(e) => AppState::Failed(e),
        }
    });
    match &state {
        AppState::Failed(e) => {
            tracing::error!(error = %e, "Venue Desk refused to start");
            eprintln!("{}", e.message());
        }
        AppState::Ready(s) => {
            tracing::info!(venue = %s.config.code, db = %s.config.database_url, "services started")
        }
    }
    let services = match &state {
        AppState::Ready(s) => Some(s.clone()),
        AppState::Failed(_) => None,
    };
    // The loopback server the playback screen's <video> elements read segments from. Without it
    // the app still runs; playback then says why it cannot.
    let media = services.as_ref().and_then(|s| {
        let _rt = tauri::async_runtime::handle().inner().enter();
        crate::media::serve::MediaServer::start(&crate::media::Recordings::from_services(s))
            .inspect_err(|e| tracing::error!(error = %e, "media server did not start"))
            .ok()
    });

    let recorder = services.as_ref().map(|s| s.recorder.clone());
    let specta = commands::specta_builder::<tauri::Wry>();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second start brings the running window forward instead of opening a rival.
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .manage(state)
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            specta.mount_events(app);
            app.manage(commands::MediaState { server: media, exports: Default::default() });
            if let Some(s) = services {
                forward(app.handle().clone(), s.journal.subscribe());
                forward(app.handle().clone(), s.checkins.subscribe());
                forward(app.handle().clone(), s.alarms.subscribe());
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let result = result.map(|app| {
        app.run(move |_, event| {
            // The files being recorded are finished and indexed before the process ends.
            if let (tauri::RunEvent::Exit, Some(r)) = (&event, &recorder) {
                tauri::async_runtime::block_on(r.shutdown());
            }
        })
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "window failed");
            eprintln!("Venue Desk could not open its window: {e}");
            1
        }
    }
}

/// Passes a service's notices on to the window as typed events.
fn forward<E>(handle: tauri::AppHandle, mut rx: tokio::sync::broadcast::Receiver<E>)
where
    E: tauri_specta::Event + serde::Serialize + Clone + Send + 'static,
{
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match rx.recv().await {
                Ok(notice) => {
                    let _ = notice.emit(&handle);
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// Called when the UI's first screen is interactive. With `VENUE_DESK_READY_FILE` set (by the
/// start-up benchmark) it also writes that file.
pub fn mark_ui_ready() {
    tracing::info!("ui ready");
    if let Some(path) = std::env::var_os("VENUE_DESK_READY_FILE")
        && let Err(e) = std::fs::write(&path, std::process::id().to_string())
    {
        tracing::warn!(error = %e, "cannot write the ready file");
    }
}

fn no_display_message() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let has = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if has("DISPLAY") || has("WAYLAND_DISPLAY") {
        return None;
    }
    Some(
        "Venue Desk 需要图形界面，但没有找到显示器（DISPLAY 和 WAYLAND_DISPLAY 均未设置）。请在桌面会话中启动；\n\
         无显示器的服务器上可用 `xvfb-run -a venue-desk`；命令行工具（journal verify、config check、record）不需要显示器。\n\
         Venue Desk needs a graphical display, and none was found (DISPLAY and WAYLAND_DISPLAY are unset).\n\
         - On a desktop: start it from the desktop session.\n\
         - Without a screen (a server, CI): run it under a virtual display, e.g. `xvfb-run -a venue-desk`,\n\
           or `make run-headless`, which starts Xvfb and saves a screenshot.\n\
         - Terminal tools work without a display: `venue-desk journal verify`, `venue-desk config check`."
            .into(),
    )
}

/// Structured (JSON) logs to daily files in the log directory, 14 kept; a readable copy to stderr.
fn init_logging(dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::prelude::*;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("VENUE_DESK_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tao=warn,wry=warn,sqlx=warn"))
    };
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter());
    let file = std::fs::create_dir_all(dir).ok().and_then(|_| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("venue-desk")
            .filename_suffix("log")
            .max_log_files(14)
            .build(dir)
            .ok()
    });
    match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let json = tracing_subscriber::fmt::layer().json().with_writer(writer).with_filter(filter());
            let _ = tracing_subscriber::registry().with(stderr).with(json).try_init();
            Some(guard)
        }
        None => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            tracing::warn!(dir = %dir.display(), "cannot write log files; logging to stderr only");
            None
        }
    }
}
