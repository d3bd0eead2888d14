//! Exports run in the background while the operator watches a progress bar: each job has an id,
//! reports `ExportUpdate`s (running with progress, then done, cancelled or failed) and can be
//! cancelled. One export per project at a time, so two clicks do not write two copies.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Recordings;
use super::export::{EXPORT_ROLES, ExportOutcome, ExportProgress, ExportReport};
use crate::auth::Caller;
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Running,
    Done,
    Cancelled,
    Failed,
}

/// What the window hears about an export.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ExportUpdate {
    pub job_id: i64,
    pub project_code: String,
    pub dir: String,
    pub state: ExportState,
    pub progress: ExportProgress,
    /// When done.
    pub report: Option<ExportReport>,
    /// When failed: what went wrong and what to do, in the UI's language.
    pub error: Option<String>,
}

/// A started export, as the command answers it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ExportStarted {
    pub job_id: i64,
    pub dir: String,
}

struct Job {
    project_code: String,
    cancel: Arc<AtomicBool>,
}

/// The exports running in this process.
#[derive(Default)]
pub struct ExportJobs {
    next: AtomicI64,
    running: Arc<Mutex<HashMap<i64, Job>>>,
}

/// Progress is reported at most this often (the copy calls back for every block it writes), plus
/// every finished file; the window needs no more.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

impl ExportJobs {
    /// Starts exporting the project into a new directory inside `parent` (the exports directory when
    /// `None`). `notify` hears every update, the last one being done, cancelled or failed.
    pub async fn start(
        &self,
        recordings: Recordings,
        caller: Caller,
        project_code: &str,
        parent: Option<PathBuf>,
        notify: impl Fn(ExportUpdate) + Send + Sync + 'static,
    ) -> Result<ExportStarted> {
        recordings
            .require_role(&caller, EXPORT_ROLES, "导出项目录像", "export a project's recordings")
            .await?;
        let code = project_code.trim().to_string();
        if code.is_empty() {
            return Err(Error::invalid("请填写项目编号。", "Enter the project code."));
        }
        let default = recordings.default_export_dir(&code);
        let dest = match parent {
            Some(p) if !p.as_os_str().is_empty() => {
                let meta = std::fs::metadata(&p).map_err(|_| {
                    Error::invalid(
                        format!("导出位置 {} 不存在。请选择一个已有的目录（如 U 盘的挂载目录）。", p.display()),
                        format!("The export location {} does not exist. Choose an existing directory (e.g. where the USB drive is mounted).", p.display()),
                    )
                })?;
                if !meta.is_dir() {
                    return Err(Error::invalid(
                        format!("导出位置 {} 不是目录。", p.display()),
                        format!("The export location {} is not a directory.", p.display()),
                    ));
                }
                p.join(default.file_name().expect("export directory name"))
            }
            _ => default,
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let job_id = {
            let mut running = self.running.lock().expect("export jobs");
            if running.values().any(|j| j.project_code == code) {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("项目 {code} 正在导出，请等待完成或先取消。"),
                    format!("Project {code} is already being exported; wait for it or cancel it first."),
                ));
            }
            let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
            running.insert(id, Job { project_code: code.clone(), cancel: cancel.clone() });
            id
        };
        let dir = dest.display().to_string();
        let notify = Arc::new(notify);
        let running = self.running.clone();
        let update = {
            let (code, dir) = (code.clone(), dir.clone());
            move |state, progress: ExportProgress, report, error| ExportUpdate {
                job_id,
                project_code: code.clone(),
                dir: dir.clone(),
                state,
                progress,
                report,
                error,
            }
        };
        tokio::spawn(async move {
            let last = Arc::new(Mutex::new((None::<Instant>, 0u64, ExportProgress::default())));
            let progress = {
                let (notify, last, update) = (notify.clone(), last.clone(), update.clone());
                move |p: &ExportProgress| {
                    let mut l = last.lock().expect("export progress");
                    // Pacing the updates is about the screen, not about the record, so the
                    // monotonic clock is the right one here (the venue's Clock is for what is kept).
                    let due = l.0.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) || p.files_done != l.1;
                    l.2 = p.clone();
                    if due {
                        *l = (Some(Instant::now()), p.files_done, p.clone());
                        notify(update(ExportState::Running, p.clone(), None, None));
                    }
                }
            };
            let outcome = recordings.export_project(&caller, &code, &dest, progress, cancel).await;
            running.lock().expect("export jobs").remove(&job_id);
            let p = last.lock().expect("export progress").2.clone();
            notify(match outcome {
                Ok(ExportOutcome::Done(report)) => update(ExportState::Done, p, Some(report), None),
                Ok(ExportOutcome::Cancelled { .. }) => update(ExportState::Cancelled, p, None, None),
                Err(e) => update(ExportState::Failed, p, None, Some(e.message().to_string())),
            });
        });
        Ok(ExportStarted { job_id, dir })
    }

    /// Asks a running export to stop; it removes what it wrote and reports `Cancelled`. False when
    /// no such export is running (it finished meanwhile).
    pub fn cancel(&self, job_id: i64) -> bool {
        match self.running.lock().expect("export jobs").get(&job_id) {
            Some(j) => {
                j.cancel.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}
