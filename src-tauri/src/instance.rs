//! One window per data directory. The single-instance plugin brings a running window forward when
//! the same desktop session starts the app again, but it only sees its own session bus; a second
//! start from another session (a remote desktop, a different DISPLAY) or without a session bus
//! would open a second set of services over the same database. An exclusive lock on a file in the
//! data directory closes that gap, and lets the second start say why it does nothing.

use std::fs::File;
use std::path::Path;

use fs2::FileExt;

use crate::error::{Error, ErrorKind, Result};

/// Held for the life of the window; the kernel releases it when the process ends, even after a crash.
pub struct InstanceLock {
    _file: File,
}

pub fn acquire(data_dir: &Path) -> Result<InstanceLock> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Error::new(
            ErrorKind::FailedPrecondition,
            format!("无法创建数据目录 {}：{e}。请检查权限。", data_dir.display()),
            format!("Cannot create the data directory {}: {e}. Check its permissions.", data_dir.display()),
        )
    })?;
    let path = data_dir.join("venue-desk.lock");
    let file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| {
            Error::new(
                ErrorKind::FailedPrecondition,
                format!("无法打开 {}：{e}。请检查数据目录的权限。", path.display()),
                format!("Cannot open {}: {e}. Check the data directory's permissions.", path.display()),
            )
        })?;
    // A restart after the first-run set-up starts the new process just before the old one exits:
    // a few seconds of patience let it through, and cost a real second start only that long.
    for attempt in 0..=RETRIES {
        if file.try_lock_exclusive().is_ok() {
            return Ok(InstanceLock { _file: file });
        }
        if attempt < RETRIES {
            std::thread::sleep(RETRY_PAUSE);
        }
    }
    Err(already_running(data_dir))
}

const RETRIES: u32 = 20;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(150);

pub fn already_running(data_dir: &Path) -> Error {
    Error::new(
        ErrorKind::FailedPrecondition,
        format!(
            "Venue Desk 已在本机运行（数据目录 {}），同一时间只能打开一个窗口。请切换到已打开的窗口；若看不到它，它可能在另一个桌面会话或远程桌面中。",
            data_dir.display()
        ),
        format!(
            "Venue Desk is already running on this computer (data directory {}); only one window may be open at a time. Switch to the open window; if you cannot see it, it is in another desktop session or remote desktop.",
            data_dir.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_data_directory_is_refused_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let second = acquire(dir.path()).err().expect("a second window is refused");
        assert_eq!(second.kind, ErrorKind::FailedPrecondition);
        assert!(second.message_in(crate::error::Locale::En).contains("already running"));
        drop(first);
        acquire(dir.path()).expect("free again once the first window ended");
    }
}
