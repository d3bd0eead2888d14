//! 录像分段哈希链 — each camera's segments form a hash chain, so removing, reordering or replacing
//! one breaks every link after it.
//!
//! `chain = SHA-256(input)` where `input` is six lines, each ended by one LF (0x0A), UTF-8:
//!
//! ```text
//! <prev_chain>\n<sha256>\n<camera_id>\n<start_ms>\n<end_ms>\n<bytes>\n
//! ```
//!
//! `prev_chain` (the chain of the camera's previous segment, 64 zeros for its first) and `sha256`
//! (of the segment file) are 64 lowercase hex digits; `start_ms` and `end_ms` are UTC epoch
//! milliseconds and `bytes` the file's length, in decimal without sign or leading zeros. Camera ids
//! contain no LF. A line-based text input lets an investigator recompute a link with `printf` and
//! `sha256sum` (docs/recording-integrity.md); the unit tests pin one value.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use chrono::DateTime;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Recordings, with_project};
use crate::error::{Error, ErrorKind, Result};
use crate::journal::{Actor, Entry, EventKind, Outcome};
use crate::store::recordings::{self as db, NewSegment, SegmentRow};

/// What a camera's first segment links to.
pub const GENESIS_CHAIN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The exact bytes the chain hash is taken over (see the module documentation).
pub fn chain_input(
    prev_chain: &str,
    sha256: &str,
    camera_id: &str,
    start_ms: i64,
    end_ms: i64,
    bytes: u64,
) -> String {
    format!("{prev_chain}\n{sha256}\n{camera_id}\n{start_ms}\n{end_ms}\n{bytes}\n")
}

/// The chain hash of a segment (lowercase hex).
pub fn segment_chain(
    prev_chain: &str,
    sha256: &str,
    camera_id: &str,
    start_ms: i64,
    end_ms: i64,
    bytes: u64,
) -> String {
    hex::encode(Sha256::digest(
        chain_input(prev_chain, sha256, camera_id, start_ms, end_ms, bytes).as_bytes(),
    ))
}

/// 64 lowercase hex digits.
pub fn is_hash_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 (lowercase hex) and length of a file, read in 1 MiB pieces.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Makes the file's content and its directory entry durable before the index says it exists
/// (a power cut must not leave an indexed segment that is not on the disk).
pub fn sync_file_and_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()?;
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A segment file the recorder has closed.
#[derive(Debug, Clone)]
pub struct ClosedSegment {
    pub camera_id: String,
    /// The file, inside the recordings directory (absolute, or relative to it).
    pub path: PathBuf,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Found unindexed at start-up after a crash.
    pub recovered: bool,
}

/// An indexed segment.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SegmentView {
    pub id: i64,
    pub camera_id: String,
    pub room_id: Option<String>,
    /// Relative to the recordings directory.
    pub path: String,
    /// Venue time, RFC 3339.
    pub start: String,
    pub end: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub bytes: i64,
    pub sha256: String,
    pub prev_chain: String,
    pub chain: String,
    pub recovered: bool,
}

impl Recordings {
    pub(super) fn segment_view(&self, r: SegmentRow) -> SegmentView {
        SegmentView {
            id: r.id,
            start: self.venue_rfc3339(r.start_ms),
            end: self.venue_rfc3339(r.end_ms),
            camera_id: r.camera_id,
            room_id: r.room_id,
            path: r.path,
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            bytes: r.bytes,
            sha256: r.sha256,
            prev_chain: r.prev_chain,
            chain: r.chain,
            recovered: r.recovered,
        }
    }

    /// Indexes a closed segment: fsyncs the file and its directory, hashes it, chains it to the
    /// camera's newest segment, and writes the index row, its journal record and the outbox row
    /// (the manifest entry for the service system, not the video) in one transaction.
    pub async fn index_segment(&self, seg: &ClosedSegment) -> Result<SegmentView> {
        check_camera_id(&seg.camera_id)?;
        if seg.start_ms > seg.end_ms || DateTime::from_timestamp_millis(seg.start_ms).is_none() {
            return Err(Error::invalid(
                "录像分段的开始时间不能晚于结束时间。",
                "A segment cannot end before it starts.",
            ));
        }
        let (absolute, relative) = self.locate(&seg.path)?;
        let file = absolute.clone();
        let (sha256, bytes) = tokio::task::spawn_blocking(move || {
            sync_file_and_dir(&file)?;
            hash_file(&file)
        })
        .await
        .map_err(Error::internal)?
        .map_err(|e| file_error(&absolute, &e))?;

        let room_id = self.room_of(&seg.camera_id).map(str::to_string);
        let indexed_at = self.venue_rfc3339(self.clock.now().timestamp_millis());
        let mut w = self.store.begin_write().await?;
        let prev_chain =
            db::last_chain_in(&mut w, &seg.camera_id).await?.unwrap_or_else(|| GENESIS_CHAIN.into());
        let chain = segment_chain(&prev_chain, &sha256, &seg.camera_id, seg.start_ms, seg.end_ms, bytes);
        let bytes_i64 = i64::try_from(bytes).map_err(Error::internal)?;
        let id = db::insert_segment(
            &mut w,
            &NewSegment {
                camera_id: &seg.camera_id,
                room_id: room_id.as_deref(),
                path: &relative,
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
                bytes: bytes_i64,
                sha256: &sha256,
                prev_chain: &prev_chain,
                chain: &chain,
                indexed_at: &indexed_at,
                recovered: seg.recovered,
            },
        )
        .await
        .map_err(|e| {
            if e.kind == ErrorKind::AlreadyExists {
                Error::new(
                    ErrorKind::AlreadyExists,
                    format!("录像文件 {relative} 已编入索引。"),
                    format!("The segment file {relative} is already indexed."),
                )
            } else {
                e
            }
        })?;
        let covering = self.covering_in(&mut w, room_id.as_deref(), seg.start_ms, seg.end_ms).await?;
        let detail = with_project(
            json!({
                "segmentId": id,
                "camera": seg.camera_id,
                "room": room_id,
                "path": relative,
                "start": self.venue_rfc3339(seg.start_ms),
                "end": self.venue_rfc3339(seg.end_ms),
                "bytes": bytes,
                "sha256": sha256,
                "prevChain": prev_chain,
                "chain": chain,
                "recovered": seg.recovered,
            }),
            covering.as_ref(),
        );
        let entry =
            Entry::new(Actor::system(), EventKind::RecordingSegmentClosed, &seg.camera_id, Outcome::Ok)
                .with_detail(detail);
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        Ok(SegmentView {
            id,
            camera_id: seg.camera_id.clone(),
            room_id,
            path: relative,
            start: self.venue_rfc3339(seg.start_ms),
            end: self.venue_rfc3339(seg.end_ms),
            start_ms: seg.start_ms,
            end_ms: seg.end_ms,
            bytes: bytes_i64,
            sha256,
            prev_chain,
            chain,
            recovered: seg.recovered,
        })
    }

    /// The camera's newest chain hash (64 zeros before its first segment).
    pub async fn last_chain(&self, camera_id: &str) -> Result<String> {
        Ok(db::last_chain(self.store.pool(), camera_id).await?.unwrap_or_else(|| GENESIS_CHAIN.into()))
    }

    /// Whether a file (relative to the recordings directory) is indexed: recovery at start-up
    /// indexes the segment files that are not.
    pub async fn is_indexed(&self, relative_path: &str) -> Result<bool> {
        Ok(db::segment_by_path(self.store.pool(), relative_path).await?.is_some())
    }

    /// The room's segments that meet `[from_ms, to_ms)`, per camera in chain order.
    pub async fn segments_in_room(
        &self,
        room_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<SegmentView>> {
        Ok(db::segments_in_room(self.store.pool(), room_id, from_ms, to_ms)
            .await?
            .into_iter()
            .map(|r| self.segment_view(r))
            .collect())
    }

    /// The absolute path of a file given absolute or relative, and its path relative to the
    /// recordings directory ('/'-separated). Files outside the recordings directory are refused.
    fn locate(&self, path: &Path) -> Result<(PathBuf, String)> {
        let root = &self.config.recordings_dir;
        let absolute = if path.is_absolute() { path.to_path_buf() } else { root.join(path) };
        let outside = || {
            Error::invalid(
                format!("录像文件 {} 不在录像目录 {} 内。", path.display(), root.display()),
                format!(
                    "The segment file {} is not inside the recordings directory {}.",
                    path.display(),
                    root.display()
                ),
            )
        };
        // Compare real paths, so that a symlinked recordings directory still matches.
        let real_root = root.canonicalize().map_err(|e| file_error(root, &e))?;
        let real = absolute.canonicalize().map_err(|e| file_error(&absolute, &e))?;
        let rest = real.strip_prefix(&real_root).map_err(|_| outside())?;
        let mut parts = Vec::new();
        for c in rest.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_str().ok_or_else(|| {
                    Error::invalid(
                        format!("录像文件名 {} 不是有效的 UTF-8。", path.display()),
                        format!("The segment file name {} is not valid UTF-8.", path.display()),
                    )
                })?),
                _ => return Err(outside()),
            }
        }
        if parts.is_empty() {
            return Err(outside());
        }
        let relative = parts.join("/");
        Ok((real, relative))
    }
}

/// Camera ids become directory names in exports and lines of the chain input.
fn check_camera_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id == "."
        || id == ".."
        || id.len() > 128
        || id.chars().any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(Error::invalid(
            format!("摄像机标识 “{id}” 不能用于录像（不能为空，不能含 / \\ 或控制字符）。"),
            format!(
                "The camera id \"{id}\" cannot be used for recordings (empty, or with / \\ or control characters)."
            ),
        ));
    }
    Ok(())
}

pub(super) fn file_error(path: &Path, e: &io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        return Error::not_found(
            format!("找不到录像文件 {}。", path.display()),
            format!("The segment file {} does not exist.", path.display()),
        );
    }
    Error::new(
        ErrorKind::Unavailable,
        format!("读取或同步录像文件 {} 失败：{e}。请检查磁盘和权限。", path.display()),
        format!(
            "Reading or syncing the segment file {} failed: {e}. Check the disk and permissions.",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_input_is_six_lf_terminated_lines() {
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            chain_input(GENESIS_CHAIN, sha, "cam-pb1-a", 1_795_392_600_000, 1_795_392_660_000, 0),
            format!("{GENESIS_CHAIN}\n{sha}\ncam-pb1-a\n1795392600000\n1795392660000\n0\n")
        );
    }

    /// Pinned: a change to the encoding would orphan every chain already recorded. The value is what
    /// `printf '%s\n' <six fields> | sha256sum` prints (docs/recording-integrity.md).
    #[test]
    fn the_chain_of_a_known_segment_is_pinned() {
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let first = segment_chain(GENESIS_CHAIN, sha, "cam-pb1-a", 1_795_392_600_000, 1_795_392_660_000, 0);
        assert_eq!(first, PINNED_FIRST);
        assert!(is_hash_hex(&first));
        let second = segment_chain(&first, sha, "cam-pb1-a", 1_795_392_660_000, 1_795_392_720_000, 0);
        assert_ne!(first, second);
        // Every field counts.
        for other in [
            segment_chain(GENESIS_CHAIN, sha, "cam-pb1-b", 1_795_392_600_000, 1_795_392_660_000, 0),
            segment_chain(GENESIS_CHAIN, sha, "cam-pb1-a", 1_795_392_600_001, 1_795_392_660_000, 0),
            segment_chain(GENESIS_CHAIN, sha, "cam-pb1-a", 1_795_392_600_000, 1_795_392_660_001, 0),
            segment_chain(GENESIS_CHAIN, sha, "cam-pb1-a", 1_795_392_600_000, 1_795_392_660_000, 1),
            segment_chain(&second, sha, "cam-pb1-a", 1_795_392_600_000, 1_795_392_660_000, 0),
            segment_chain(GENESIS_CHAIN, &first, "cam-pb1-a", 1_795_392_600_000, 1_795_392_660_000, 0),
        ] {
            assert_ne!(other, first);
        }
    }

    const PINNED_FIRST: &str = "4427d5dfe55946bd5785bcd17d10be4bd19dff8501ee8b86358e4d5fdd06af2d";

    #[test]
    fn files_are_hashed_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seg.mkv");
        let data: Vec<u8> = (0..(3 << 20) + 17).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let (sha, bytes) = hash_file(&p).unwrap();
        assert_eq!(bytes, data.len() as u64);
        assert_eq!(sha, hex::encode(Sha256::digest(&data)));
        sync_file_and_dir(&p).unwrap();
        assert_eq!(hash_file(&dir.path().join("absent")).unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn camera_ids_that_cannot_be_directory_names_are_refused() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(check_camera_id(bad).is_err(), "{bad:?}");
        }
        check_camera_id("cam-pb1-a").unwrap();
        check_camera_id("第一评标室-A").unwrap();
    }
}
