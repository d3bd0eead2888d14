//! 一项一档 — a project's recordings handed over as one directory an investigator can check without
//! trusting us:
//!
//! ```text
//! segments/<camera>/<file>   every segment of the project's sessions, in every room, as recorded
//! manifest.json              venue, project, sessions, segments (times, sizes, SHA-256, chain links),
//!                            gaps, the journal records that name the project
//! manifest.sig               Ed25519 signature over the exact bytes of manifest.json, base64, one line
//! public_key.pem             the venue's public key (SubjectPublicKeyInfo, PEM), for openssl
//! public_key.hex             the same key, 32 bytes as hex
//! README.txt                 how to check it, in Chinese and English
//! SHA256SUMS                 `sha256sum -c` format, over every file but itself and manifest.sig
//! ```
//!
//! The signing key is created on first use and kept in the OS keyring (`export.signing_key`); the
//! manifest and SHA256SUMS carry the hashes the index recorded when each segment was closed, so a
//! file changed on disk since then fails the check. docs/recording-integrity.md is the reference.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Recordings, SIGNING_KEY_ENTRY, session_window};
use crate::auth::Caller;
use crate::domain::operator::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::journal::{Entry, EventKind, Outcome};
use crate::store::journal::JournalRow;
use crate::store::recordings::{self as db, GapRow, SegmentRow};

/// The `format` of the manifests this version writes.
pub const MANIFEST_FORMAT: &str = "venue-desk/recordings-export/1";
/// The chain as the manifest states it (see `media::chain`).
pub const CHAIN_DEFINITION: &str = "chain = SHA-256(prevChain LF sha256 LF camera LF startMs LF endMs LF bytes LF); \
     hashes as 64 lowercase hex digits, times as UTC epoch milliseconds and bytes in decimal; a camera's first \
     segment links to 64 zeros";

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
pub const PUBLIC_KEY_PEM: &str = "public_key.pem";
pub const PUBLIC_KEY_HEX: &str = "public_key.hex";
pub const README: &str = "README.txt";
pub const SUMS: &str = "SHA256SUMS";

/// Who may export recordings.
pub const EXPORT_ROLES: &[Role] = &[Role::Supervisor, Role::Administrator];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub venue: ManifestVenue,
    pub project: ManifestProject,
    pub exported_at: String,
    pub exported_by: String,
    /// The Ed25519 public key (hex) the manifest is signed with.
    pub signing_key: String,
    pub chain: String,
    pub sessions: Vec<ManifestSession>,
    /// Per camera, in chain order.
    pub segments: Vec<ManifestSegment>,
    pub gaps: Vec<ManifestGap>,
    /// The journal records whose detail names the project, verbatim (each one's hash recomputes).
    pub journal: Vec<ManifestJournalRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestVenue {
    pub code: String,
    pub name: String,
    pub time_zone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestProject {
    #[serde(rename = "TENDER_PROJECT_CODE")]
    pub tender_project_code: String,
    #[serde(rename = "TENDER_PROJECT_NAME")]
    pub tender_project_name: String,
    #[serde(rename = "BID_SECTION_CODE")]
    pub bid_section_codes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSession {
    pub booking_id: i64,
    pub room: String,
    pub room_name: String,
    pub purpose: String,
    pub state: String,
    #[serde(rename = "BID_SECTION_CODE")]
    pub bid_section_codes: Vec<String>,
    /// The booked time, venue time (RFC 3339).
    pub start: String,
    pub end: String,
    /// The span recordings are taken from (set-up and clean-up included).
    pub recorded_from: String,
    pub recorded_to: String,
    /// The room's cameras in the venue file.
    pub cameras: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSegment {
    pub camera: String,
    pub room: Option<String>,
    /// Path in the export ('/'-separated); `None` when retention had already removed the file.
    pub file: Option<String>,
    pub start: String,
    pub end: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub bytes: u64,
    pub sha256: String,
    pub prev_chain: String,
    pub chain: String,
    /// The segment before it in this list (same camera) is its predecessor in the camera's chain,
    /// so `prevChain` must equal that one's `chain`. False for a camera's first segment here and
    /// after a span of the camera's recordings that belongs to no session of the project.
    pub links_to_previous: bool,
    pub recovered: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestGap {
    pub camera: String,
    pub room: Option<String>,
    pub from: String,
    /// `None`: still open at export time.
    pub to: Option<String>,
    pub from_ms: i64,
    pub to_ms: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestJournalRecord {
    pub seq: i64,
    pub recorded_at: String,
    pub recorded_at_ms: i64,
    pub actor: String,
    pub actor_role: Option<String>,
    pub kind: String,
    pub subject: String,
    pub outcome: String,
    /// The exact JSON text that was hashed.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<JournalRow> for ManifestJournalRecord {
    fn from(r: JournalRow) -> Self {
        ManifestJournalRecord {
            seq: r.seq,
            recorded_at: r.recorded_at,
            recorded_at_ms: r.recorded_at_ms,
            actor: r.actor,
            actor_role: r.actor_role,
            kind: r.kind,
            subject: r.subject,
            outcome: r.outcome,
            detail: r.detail,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

impl From<&ManifestJournalRecord> for JournalRow {
    fn from(r: &ManifestJournalRecord) -> Self {
        JournalRow {
            seq: r.seq,
            recorded_at: r.recorded_at.clone(),
            recorded_at_ms: r.recorded_at_ms,
            actor: r.actor.clone(),
            actor_role: r.actor_role.clone(),
            kind: r.kind.clone(),
            subject: r.subject.clone(),
            outcome: r.outcome.clone(),
            detail: r.detail.clone(),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        }
    }
}

/// How far an export is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ExportProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    pub dir: String,
    pub sessions: usize,
    pub segments: usize,
    pub files: u64,
    pub bytes: u64,
    /// SHA-256 of manifest.json.
    pub manifest_sha256: String,
    /// The venue's Ed25519 public key (hex).
    pub public_key: String,
    /// Segments whose file was missing or no longer matched the index when exported: the export
    /// keeps the indexed hashes, so `verify-export` names them. Empty when all is well.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum ExportOutcome {
    Done(ExportReport),
    /// Cancelled by the operator; the partial directory was removed (or emptied, if it was there before).
    Cancelled {
        dir: PathBuf,
    },
}

/// One segment file to copy.
struct Copy {
    source: PathBuf,
    /// Path in the export.
    target: String,
    sha256: String,
    bytes: u64,
}

impl Recordings {
    /// The venue's Ed25519 signing key, created in the OS keyring on first use.
    pub fn signing_key(&self) -> Result<SigningKey> {
        Ok(SigningKey::from_bytes(&self.vault.key(SIGNING_KEY_ENTRY)?))
    }

    /// The venue's public key as hex: what investigators compare an export's key with.
    pub fn public_key_hex(&self) -> Result<String> {
        Ok(hex::encode(self.signing_key()?.verifying_key().as_bytes()))
    }

    /// Where an export goes when the operator does not choose: the exports directory.
    pub fn default_export_dir(&self, project_code: &str) -> PathBuf {
        let stamp = chrono::DateTime::from_timestamp_millis(self.clock.now().timestamp_millis())
            .map(|t| t.with_timezone(&self.config.time_zone).format("%Y%m%d-%H%M%S").to_string())
            .unwrap_or_default();
        let safe: String = project_code
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        self.config.exports_dir.join(format!("recordings-{safe}-{stamp}"))
    }

    /// Exports every segment of the project's sessions into `dest` (which must not exist, or be an
    /// empty directory), with the signed manifest. `progress` is called as files and bytes are
    /// written; setting `cancel` stops the export and removes what it wrote.
    pub async fn export_project<F>(
        &self,
        caller: &Caller,
        project_code: &str,
        dest: &Path,
        progress: F,
        cancel: Arc<AtomicBool>,
    ) -> Result<ExportOutcome>
    where
        F: Fn(&ExportProgress) + Send + 'static,
    {
        self.require_role(caller, EXPORT_ROLES, "导出项目录像", "export a project's recordings").await?;
        let pool = self.store.pool();
        let code = project_code.trim();
        let project = db::project_by_code(pool, code).await?.ok_or_else(|| {
            Error::not_found(
                format!("没有项目编号为 {code} 的项目。"),
                format!("There is no project with the code {code}."),
            )
        })?;

        let mut sessions = Vec::new();
        let mut segments: BTreeMap<(String, i64), SegmentRow> = BTreeMap::new();
        let mut gaps: BTreeMap<i64, GapRow> = BTreeMap::new();
        for b in db::project_bookings(pool, project.id).await? {
            let (from_ms, to_ms) = session_window(&b);
            for s in db::segments_in_room(pool, &b.room_id, from_ms, to_ms).await? {
                segments.insert((s.camera_id.clone(), s.id), s);
            }
            for g in db::gaps_in_room(pool, &b.room_id, from_ms, to_ms).await? {
                gaps.insert(g.id, g);
            }
            sessions.push(ManifestSession {
                booking_id: b.id,
                room_name: self
                    .config
                    .rooms
                    .iter()
                    .find(|r| r.id == b.room_id)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                cameras: self.cameras_of(&b.room_id),
                room: b.room_id.clone(),
                purpose: b.purpose.clone(),
                state: b.state.clone(),
                bid_section_codes: super::sections(&b.sections),
                start: self.venue_rfc3339(b.start_ms),
                end: self.venue_rfc3339(b.end_ms),
                recorded_from: self.venue_rfc3339(from_ms),
                recorded_to: self.venue_rfc3339(to_ms),
            });
        }

        let mut listed = Vec::new();
        let mut copies = Vec::new();
        let mut problems = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        let mut previous: Option<(String, i64)> = None;
        for ((camera, id), s) in &segments {
            let links_to_previous = match &previous {
                Some((c, prev_id)) if c == camera => {
                    db::previous_segment_id(pool, camera, *id).await? == Some(*prev_id)
                }
                _ => false,
            };
            previous = Some((camera.clone(), *id));
            let file = if s.purged_at_ms.is_some() {
                problems.push(format!("{}: removed by retention before the export", s.path));
                None
            } else {
                let name = s.path.rsplit('/').next().unwrap_or(&s.path).to_string();
                let mut target = format!("segments/{camera}/{name}");
                if !names.insert(target.clone()) {
                    target = format!("segments/{camera}/{id}-{name}");
                    names.insert(target.clone());
                }
                copies.push(Copy {
                    source: self.config.recordings_dir.join(&s.path),
                    target: target.clone(),
                    sha256: s.sha256.clone(),
                    bytes: s.bytes.max(0) as u64,
                });
                Some(target)
            };
            listed.push(ManifestSegment {
                camera: camera.clone(),
                room: s.room_id.clone(),
                file,
                start: self.venue_rfc3339(s.start_ms),
                end: self.venue_rfc3339(s.end_ms),
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                bytes: s.bytes.max(0) as u64,
                sha256: s.sha256.clone(),
                prev_chain: s.prev_chain.clone(),
                chain: s.chain.clone(),
                links_to_previous,
                recovered: s.recovered,
            });
        }

        let journal: Vec<ManifestJournalRecord> = db::journal_mentioning(pool, code)
            .await?
            .into_iter()
            .filter(|r| serde_json::from_str(&r.detail).is_ok_and(|d| mentions(&d, code)))
            .map(Into::into)
            .collect();

        let key = self.signing_key()?;
        let public_hex = hex::encode(key.verifying_key().as_bytes());
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            venue: ManifestVenue {
                code: self.config.code.clone(),
                name: self.config.name.clone(),
                time_zone: self.config.time_zone.name().to_string(),
            },
            project: ManifestProject {
                tender_project_code: project.tender_project_code.clone(),
                tender_project_name: project.name.clone(),
                bid_section_codes: super::sections(&project.sections),
            },
            exported_at: self.venue_rfc3339(self.clock.now().timestamp_millis()),
            exported_by: caller.username.clone(),
            signing_key: public_hex.clone(),
            chain: CHAIN_DEFINITION.into(),
            sessions,
            segments: listed,
            gaps: gaps
                .into_values()
                .map(|g| ManifestGap {
                    from: self.venue_rfc3339(g.from_ms),
                    to: g.to_ms.map(|t| self.venue_rfc3339(t)),
                    camera: g.camera_id,
                    room: g.room_id,
                    from_ms: g.from_ms,
                    to_ms: g.to_ms,
                    reason: g.reason,
                })
                .collect(),
            journal,
        };
        let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(Error::internal)?;
        manifest_bytes.push(b'\n');
        let signature = key.sign(&manifest_bytes);
        let pem = key.verifying_key().to_public_key_pem(LineEnding::LF).map_err(Error::internal)?;
        let readme = readme(&manifest, &public_hex);
        let job = Job {
            dest: dest.to_path_buf(),
            copies,
            manifest: manifest_bytes,
            signature: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()) + "\n",
            pem,
            public_hex: public_hex.clone() + "\n",
            readme,
        };
        let sessions_n = manifest.sessions.len();
        let segments_n = manifest.segments.len();
        let written = tokio::task::spawn_blocking(move || job.run(&progress, &cancel))
            .await
            .map_err(Error::internal)??;
        let Some(written) = written else {
            return Ok(ExportOutcome::Cancelled { dir: dest.to_path_buf() });
        };
        problems.extend(written.problems);
        let report = ExportReport {
            dir: dest.display().to_string(),
            sessions: sessions_n,
            segments: segments_n,
            files: written.files,
            bytes: written.bytes,
            manifest_sha256: written.manifest_sha256,
            public_key: public_hex,
            problems,
        };
        let entry =
            Entry::new(caller.actor(), EventKind::RecordingsExported, code, Outcome::Ok).with_detail(json!({
                "TENDER_PROJECT_CODE": code,
                "dir": report.dir,
                "sessions": report.sessions,
                "segments": report.segments,
                "files": report.files,
                "bytes": report.bytes,
                "manifestSha256": report.manifest_sha256,
                "publicKey": report.public_key,
                "problems": report.problems,
            }));
        self.journal.record(entry).await?;
        Ok(ExportOutcome::Done(report))
    }
}

/// Whether any string in the JSON value is exactly `code`.
fn mentions(v: &serde_json::Value, code: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s == code,
        serde_json::Value::Array(a) => a.iter().any(|v| mentions(v, code)),
        serde_json::Value::Object(m) => m.values().any(|v| mentions(v, code)),
        _ => false,
    }
}

/// The file-system half of an export, on the blocking pool.
struct Job {
    dest: PathBuf,
    copies: Vec<Copy>,
    manifest: Vec<u8>,
    signature: String,
    pem: String,
    public_hex: String,
    readme: String,
}

struct Written {
    files: u64,
    bytes: u64,
    manifest_sha256: String,
    problems: Vec<String>,
}

impl Job {
    /// `None` when cancelled (what was written is removed).
    fn run(self, progress: &dyn Fn(&ExportProgress), cancel: &AtomicBool) -> Result<Option<Written>> {
        let created = prepare_dir(&self.dest)?;
        let result = self.write(progress, cancel);
        match result {
            Ok(Some(w)) => Ok(Some(w)),
            Ok(None) => {
                remove_partial(&self.dest, created);
                Ok(None)
            }
            Err(e) => {
                remove_partial(&self.dest, created);
                Err(e)
            }
        }
    }

    fn write(&self, progress: &dyn Fn(&ExportProgress), cancel: &AtomicBool) -> Result<Option<Written>> {
        let small = [
            self.manifest.len(),
            self.signature.len(),
            self.pem.len(),
            self.public_hex.len(),
            self.readme.len(),
        ];
        let mut p = ExportProgress {
            files_done: 0,
            // The segments, the five small files and SHA256SUMS.
            files_total: self.copies.len() as u64 + small.len() as u64 + 1,
            bytes_done: 0,
            bytes_total: self.copies.iter().map(|c| c.bytes).sum::<u64>()
                + small.iter().map(|n| *n as u64).sum::<u64>(),
        };
        progress(&p);
        let mut sums = String::new();
        let mut problems = Vec::new();
        for c in &self.copies {
            if cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            // SHA256SUMS carries the indexed hash: a file changed or lost since it was recorded fails
            // `sha256sum -c` as well as `verify-export`.
            sums.push_str(&format!("{}  {}\n", c.sha256, c.target));
            let target = self.dest.join(&c.target);
            match copy_hashed(&c.source, &target, cancel, |n| {
                p.bytes_done += n;
                progress(&p);
            }) {
                Ok(Some((sha, bytes))) => {
                    if sha != c.sha256 || bytes != c.bytes {
                        problems.push(format!(
                            "{}: the recorded file no longer matches the index ({} bytes, SHA-256 {sha}; indexed {} bytes, {})",
                            c.target, bytes, c.bytes, c.sha256
                        ));
                    }
                }
                Ok(None) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound && !c.source.exists() => {
                    problems.push(format!(
                        "{}: the recorded file {} is missing",
                        c.target,
                        c.source.display()
                    ));
                    let _ = fs::remove_file(&target);
                }
                Err(e) => return Err(write_error(&self.dest, &e)),
            }
            p.files_done += 1;
            progress(&p);
        }
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let manifest_sha256 = hex::encode(Sha256::digest(&self.manifest));
        let files: [(&str, &[u8], bool); 5] = [
            (MANIFEST, &self.manifest, true),
            (SIGNATURE, self.signature.as_bytes(), false),
            (PUBLIC_KEY_PEM, self.pem.as_bytes(), true),
            (PUBLIC_KEY_HEX, self.public_hex.as_bytes(), true),
            (README, self.readme.as_bytes(), true),
        ];
        for (name, bytes, summed) in files {
            write_new(&self.dest.join(name), bytes).map_err(|e| write_error(&self.dest, &e))?;
            if summed {
                sums.push_str(&format!("{}  {name}\n", hex::encode(Sha256::digest(bytes))));
            }
            p.files_done += 1;
            p.bytes_done += bytes.len() as u64;
            progress(&p);
        }
        write_new(&self.dest.join(SUMS), sums.as_bytes()).map_err(|e| write_error(&self.dest, &e))?;
        p.files_done += 1;
        progress(&p);
        if let Ok(d) = File::open(&self.dest) {
            let _ = d.sync_all();
        }
        Ok(Some(Written { files: p.files_done, bytes: p.bytes_done, manifest_sha256, problems }))
    }
}

/// Makes `dest` an empty, writable directory. True when it was created here (so a failed or
/// cancelled export removes it; an empty directory that was there before is only emptied).
fn prepare_dir(dest: &Path) -> Result<bool> {
    let d = dest.display();
    let created = match fs::metadata(dest) {
        Ok(m) if !m.is_dir() => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("导出位置 {d} 已存在且不是目录。请选择一个新的或空的目录。"),
                format!(
                    "The export location {d} exists and is not a directory. Choose a new or empty directory."
                ),
            ));
        }
        Ok(_) => {
            let not_empty = fs::read_dir(dest).map_err(|e| write_error(dest, &e))?.next().is_some();
            if not_empty {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("导出目录 {d} 已存在且不为空。请选择一个新的或空的目录，已有文件不会被覆盖。"),
                    format!(
                        "The export directory {d} exists and is not empty. Choose a new or empty directory; \
                         existing files are never overwritten."
                    ),
                ));
            }
            false
        }
        Err(_) => {
            fs::create_dir_all(dest).map_err(|e| write_error(dest, &e))?;
            true
        }
    };
    // Being able to create the directory is not being able to write in it (read-only mounts, ACLs).
    let probe = dest.join(".venue-desk-write-test");
    if let Err(e) = write_new(&probe, b"").and_then(|_| fs::remove_file(&probe)) {
        remove_partial(dest, created);
        return Err(write_error(dest, &e));
    }
    Ok(created)
}

fn remove_partial(dest: &Path, created: bool) {
    let result = if created {
        fs::remove_dir_all(dest)
    } else {
        fs::read_dir(dest).and_then(|entries| {
            for e in entries {
                let p = e?.path();
                if p.is_dir() { fs::remove_dir_all(&p)? } else { fs::remove_file(&p)? }
            }
            Ok(())
        })
    };
    if let Err(e) = result {
        tracing::warn!(dir = %dest.display(), error = %e, "partial export not removed");
    }
}

fn write_error(dir: &Path, e: &io::Error) -> Error {
    let d = dir.display();
    let (zh_hint, en_hint) = match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            ("没有写入权限", "there is no permission to write there")
        }
        io::ErrorKind::StorageFull => ("磁盘已满", "the disk is full"),
        io::ErrorKind::NotADirectory => ("路径中有一段不是目录", "part of the path is not a directory"),
        _ => ("", ""),
    };
    let (zh_hint, en_hint) = if zh_hint.is_empty() {
        (String::new(), String::new())
    } else {
        (format!("（{zh_hint}）"), format!(" ({en_hint})"))
    };
    Error::new(
        ErrorKind::Unavailable,
        format!(
            "无法写入导出目录 {d}{zh_hint}：{e}。请选择其他目录（如 U 盘或有写权限的文件夹）后重试；未留下不完整的导出。"
        ),
        format!(
            "Cannot write to the export directory {d}{en_hint}: {e}. Choose another directory (a USB drive or a \
             folder you can write to) and try again; no partial export was left behind."
        ),
    )
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Copies `from` to a new file `to`, hashing on the way; `None` when cancelled part-way.
fn copy_hashed(
    from: &Path,
    to: &Path,
    cancel: &AtomicBool,
    mut on_bytes: impl FnMut(u64),
) -> io::Result<Option<(String, u64)>> {
    let mut src = File::open(from)?;
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut dst = OpenOptions::new().write(true).create_new(true).open(to)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])?;
        total += n as u64;
        on_bytes(n as u64);
    }
    dst.sync_all()?;
    Ok(Some((hex::encode(hasher.finalize()), total)))
}

fn readme(m: &Manifest, public_hex: &str) -> String {
    format!(
        "\
项目录音录像档案（一项一档）— Venue Desk 导出
==========================================

场所：{venue_name}（{venue_code}）
项目：{project_name}（项目编号 {code}）
导出时间：{at}，导出人：{by}
场次 {sessions} 个，录像分段 {segments} 个。

场所签名公钥（Ed25519，十六进制）：
  {public_hex}
请与场所公布的公钥核对；公钥一致时签名才有意义。

目录内容
  segments/<摄像机>/<文件>  录像分段，与录制时完全相同
  manifest.json            清单：场所、项目、场次、各分段的时间、大小、SHA-256 与哈希链、录像缺口、本项目的日志记录
  manifest.sig             场所私钥对 manifest.json 原始字节的 Ed25519 签名（base64，一行）
  public_key.pem / .hex    场所公钥
  SHA256SUMS               除自身和 manifest.sig 外每个文件的 SHA-256

如何核验
1. 使用 Venue Desk：  venue-desk verify-export <本目录>
   输出 OK 即完整；否则输出 BROKEN 并指出第一个不符的文件或链接。
2. 不使用 Venue Desk（Linux，OpenSSL 3）：在本目录中执行
     sha256sum -c SHA256SUMS
     openssl base64 -d -A -in manifest.sig -out /tmp/manifest.sig.bin
     openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile /tmp/manifest.sig.bin
   第一条每行应为“成功/OK”，第二条应输出 Signature Verified Successfully。
   哈希链：{chain}
   同一摄像机相邻分段（linksToPrevious 为 true）的 prevChain 应等于前一分段的 chain。

Recordings of one project (一项一档) — exported by Venue Desk
===========================================================

Venue: {venue_name} ({venue_code})
Project: {project_name} (TENDER_PROJECT_CODE {code})
Exported at {at} by {by}; {sessions} session(s), {segments} segment(s).

The venue's signing key (Ed25519, hex):
  {public_hex}
Compare it with the key the venue publishes: the signature means something only if they match.

Contents
  segments/<camera>/<file>  the recorded segments, exactly as recorded
  manifest.json             venue, project, sessions, every segment's times, size, SHA-256 and hash
                            chain, gaps in recording, the journal records about the project
  manifest.sig              Ed25519 signature over the exact bytes of manifest.json (base64, one line)
  public_key.pem / .hex     the venue's public key
  SHA256SUMS                SHA-256 of every file but itself and manifest.sig

How to verify
1. With Venue Desk:  venue-desk verify-export <this directory>
   It prints OK, or BROKEN with the first file or link that does not match.
2. Without it (Linux, OpenSSL 3), in this directory:
     sha256sum -c SHA256SUMS
     openssl base64 -d -A -in manifest.sig -out /tmp/manifest.sig.bin
     openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile /tmp/manifest.sig.bin
   Every line of the first must say OK; the second must print \"Signature Verified Successfully\".
   Hash chain: {chain}
   For consecutive segments of a camera with linksToPrevious true, prevChain equals the previous chain.
",
        venue_name = m.venue.name,
        venue_code = m.venue.code,
        project_name = m.project.tender_project_name,
        code = m.project.tender_project_code,
        at = m.exported_at,
        by = m.exported_by,
        sessions = m.sessions.len(),
        segments = m.segments.len(),
        chain = CHAIN_DEFINITION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_needs_an_exact_value() {
        let d = json!({"TENDER_PROJECT_CODE": "E1", "x": [{"y": "E12"}]});
        assert!(mentions(&d, "E1"));
        assert!(mentions(&d, "E12"));
        assert!(!mentions(&d, "E"));
    }

    #[test]
    fn an_export_dir_must_be_new_or_empty_and_writable() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("a/b");
        assert!(prepare_dir(&fresh).unwrap());
        assert!(fs::read_dir(&fresh).unwrap().next().is_none(), "the probe is gone");
        assert!(!prepare_dir(&fresh).unwrap(), "an empty directory is taken as it is");
        fs::write(fresh.join("x"), b"x").unwrap();
        assert_eq!(prepare_dir(&fresh).unwrap_err().kind, ErrorKind::AlreadyExists);
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        assert_eq!(prepare_dir(&file).unwrap_err().kind, ErrorKind::AlreadyExists);
        let e = prepare_dir(&file.join("under")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(
            e.message_in(crate::error::Locale::En).contains("Cannot write to the export directory"),
            "{e}"
        );
    }
}
