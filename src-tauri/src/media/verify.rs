//! 导出核验 — checks an export the way an investigator would, and names the first thing that does not
//! match. In order: the signature over manifest.json (with the key in the export, and the expected
//! key when one is given), every line of SHA256SUMS (and no file left out of it), every segment of
//! the manifest against its file (size and SHA-256), the chain (each segment's chain recomputes, and
//! each links to the one before it where the manifest says it follows on), and the hashes of the
//! journal excerpt. It reads only the export: no database, no keyring.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path};

use base64::Engine;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;

use super::chain::{hash_file, is_hash_hex, segment_chain};
use super::export::{MANIFEST, MANIFEST_FORMAT, Manifest, PUBLIC_KEY_HEX, PUBLIC_KEY_PEM, SIGNATURE, SUMS};
use crate::error::{Error, Locale, locale};
use crate::store::journal::JournalRow;

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub ok: bool,
    /// Files whose SHA-256 was checked (up to the first problem).
    pub checked_files: u64,
    pub segments: u64,
    /// The first file or link that does not match, in the current language.
    pub first_problem: Option<String>,
    /// What it names: a path in the export, or `a -> b` for a chain link.
    pub problem_at: Option<String>,
    /// The key the manifest is signed with (hex), once the signature checked out.
    pub public_key: Option<String>,
    pub project_code: Option<String>,
}

/// The first mismatch, with its message in both languages.
#[derive(Debug, Clone)]
pub struct Problem {
    pub at: String,
    pub zh: String,
    pub en: String,
}

impl Problem {
    fn new(at: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Problem {
        Problem { at: at.into(), zh: zh.into(), en: en.into() }
    }

    pub fn message_in(&self, l: Locale) -> &str {
        match l {
            Locale::ZhCn => &self.zh,
            Locale::En => &self.en,
        }
    }
}

/// Reads a public key given as 64 hex digits, or as the text of a PEM or hex key file.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], Error> {
    let t = text.trim();
    let bad = || {
        Error::invalid(
            "公钥应为 64 位十六进制数，或 PEM 格式（public_key.pem）。",
            "The public key must be 64 hex digits, or PEM (public_key.pem).",
        )
    };
    if t.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(t).map(|k| k.to_bytes()).map_err(|_| bad());
    }
    let bytes = hex::decode(t).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

/// Verifies the export in `dir`. `Err` only when `dir` is not a directory that can be read; a
/// missing or altered file is a report with `ok: false`.
pub fn verify_export(dir: &Path, expected_key: Option<&[u8; 32]>) -> Result<VerifyReport, Error> {
    if !dir.is_dir() {
        return Err(Error::not_found(
            format!("{} 不是目录，无法核验。", dir.display()),
            format!("{} is not a directory; nothing to verify.", dir.display()),
        ));
    }
    let mut report = VerifyReport {
        ok: false,
        checked_files: 0,
        segments: 0,
        first_problem: None,
        problem_at: None,
        public_key: None,
        project_code: None,
    };
    match check(dir, expected_key, &mut report) {
        Ok(()) => report.ok = true,
        Err(p) => {
            report.first_problem = Some(p.message_in(locale()).to_string());
            report.problem_at = Some(p.at);
        }
    }
    Ok(report)
}

fn check(dir: &Path, expected_key: Option<&[u8; 32]>, report: &mut VerifyReport) -> Result<(), Problem> {
    let read = |name: &str| -> Result<Vec<u8>, Problem> {
        fs::read(dir.join(name)).map_err(|e| {
            Problem::new(
                name,
                format!("{name}：缺失或无法读取（{e}）。"),
                format!("{name}: missing or unreadable ({e})."),
            )
        })
    };

    // 1. The signature.
    let manifest_bytes = read(MANIFEST)?;
    let pem = String::from_utf8(read(PUBLIC_KEY_PEM)?).unwrap_or_default();
    let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| {
        Problem::new(
            PUBLIC_KEY_PEM,
            format!("{PUBLIC_KEY_PEM}：不是 Ed25519 公钥（{e}）。"),
            format!("{PUBLIC_KEY_PEM}: not an Ed25519 public key ({e})."),
        )
    })?;
    if let Ok(text) = fs::read_to_string(dir.join(PUBLIC_KEY_HEX))
        && hex::decode(text.trim()).ok().as_deref() != Some(key.as_bytes().as_slice())
    {
        return Err(Problem::new(
            PUBLIC_KEY_HEX,
            format!("{PUBLIC_KEY_HEX}：与 {PUBLIC_KEY_PEM} 不是同一个公钥。"),
            format!("{PUBLIC_KEY_HEX}: not the same key as {PUBLIC_KEY_PEM}."),
        ));
    }
    if let Some(expected) = expected_key
        && expected != key.as_bytes()
    {
        return Err(Problem::new(
            PUBLIC_KEY_PEM,
            format!(
                "{PUBLIC_KEY_PEM}：导出中的公钥 {} 不是预期的场所公钥 {}，签名不可信。",
                hex::encode(key.as_bytes()),
                hex::encode(expected)
            ),
            format!(
                "{PUBLIC_KEY_PEM}: the export's key {} is not the expected venue key {}; its signature proves nothing.",
                hex::encode(key.as_bytes()),
                hex::encode(expected)
            ),
        ));
    }
    let sig_text = String::from_utf8(read(SIGNATURE)?).unwrap_or_default();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(sig_text.trim())
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| {
            Problem::new(
                SIGNATURE,
                format!("{SIGNATURE}：不是 base64 编码的 Ed25519 签名。"),
                format!("{SIGNATURE}: not a base64 Ed25519 signature."),
            )
        })?;
    key.verify_strict(&manifest_bytes, &signature).map_err(|_| {
        Problem::new(
            MANIFEST,
            format!("{MANIFEST}：签名不符（{SIGNATURE}），清单在签名后被修改过，或不是用该公钥签名的。"),
            format!(
                "{MANIFEST}: the signature ({SIGNATURE}) does not match: the manifest was changed after signing, or \
                 signed with another key."
            ),
        )
    })?;
    report.public_key = Some(hex::encode(key.as_bytes()));
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        Problem::new(
            MANIFEST,
            format!("{MANIFEST}：不是 Venue Desk 导出清单（{e}）。"),
            format!("{MANIFEST}: not a Venue Desk export manifest ({e})."),
        )
    })?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(Problem::new(
            MANIFEST,
            format!("{MANIFEST}：格式 “{}” 不是本程序能核验的 “{MANIFEST_FORMAT}”。", manifest.format),
            format!(
                "{MANIFEST}: format \"{}\" is not \"{MANIFEST_FORMAT}\", which this version verifies.",
                manifest.format
            ),
        ));
    }
    if manifest.signing_key != hex::encode(key.as_bytes()) {
        return Err(Problem::new(
            MANIFEST,
            format!("{MANIFEST}：清单中写明的签名公钥与 {PUBLIC_KEY_PEM} 不同。"),
            format!("{MANIFEST}: the signing key it names differs from {PUBLIC_KEY_PEM}."),
        ));
    }
    report.project_code = Some(manifest.project.tender_project_code.clone());

    // 2. SHA256SUMS, line by line, and nothing left out of it.
    let sums = String::from_utf8(read(SUMS)?).map_err(|_| {
        Problem::new(SUMS, format!("{SUMS}：不是文本文件。"), format!("{SUMS}: not a text file."))
    })?;
    let mut hashed: HashMap<String, (String, u64)> = HashMap::new();
    for (i, line) in sums.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let n = i + 1;
        let (want, name) = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .filter(|(h, n)| is_hash_hex(h) && safe_relative(n))
            .ok_or_else(|| {
                Problem::new(
                    SUMS,
                    format!("{SUMS} 第 {n} 行格式不对：“{line}”。"),
                    format!("{SUMS} line {n} is malformed: \"{line}\"."),
                )
            })?;
        let (got, bytes) = hash_file(&dir.join(name)).map_err(|e| {
            Problem::new(
                name,
                format!("{name}：文件缺失或无法读取（{e}），{SUMS} 中有它。"),
                format!("{name}: missing or unreadable ({e}); {SUMS} lists it."),
            )
        })?;
        report.checked_files += 1;
        if got != want {
            return Err(Problem::new(
                name,
                format!("{name}：内容与 {SUMS} 中的 SHA-256 不符（被修改过）。"),
                format!("{name}: its content does not match its SHA-256 in {SUMS} (it was changed)."),
            ));
        }
        hashed.insert(name.to_string(), (got, bytes));
    }
    for name in files_under(dir).map_err(|e| {
        Problem::new(
            ".",
            format!("无法列出导出目录中的文件：{e}。"),
            format!("Cannot list the export's files: {e}."),
        )
    })? {
        if name != SUMS && name != SIGNATURE && !hashed.contains_key(&name) {
            return Err(Problem::new(
                &name,
                format!("{name}：不在 {SUMS} 中（导出后被加入）。"),
                format!("{name}: not listed in {SUMS} (added after the export)."),
            ));
        }
    }
    if !hashed.contains_key(MANIFEST) {
        return Err(Problem::new(
            MANIFEST,
            format!("{SUMS} 中没有 {MANIFEST}。"),
            format!("{SUMS} does not list {MANIFEST}."),
        ));
    }

    // 3. Every segment against its file; 4. the chain.
    let mut previous: Option<&super::export::ManifestSegment> = None;
    for s in &manifest.segments {
        let at = s.file.clone().unwrap_or_else(|| format!("{} {}", s.camera, s.start));
        if let Some(file) = &s.file {
            if !safe_relative(file) {
                return Err(Problem::new(
                    file,
                    format!("{file}：路径不合法。"),
                    format!("{file}: not a valid path."),
                ));
            }
            let (got, bytes) = match hashed.get(file) {
                Some(h) => h.clone(),
                None => {
                    let h = hash_file(&dir.join(file)).map_err(|e| {
                        Problem::new(
                            file,
                            format!("{file}：录像分段缺失或无法读取（{e}）。"),
                            format!("{file}: the segment is missing or unreadable ({e})."),
                        )
                    })?;
                    report.checked_files += 1;
                    h
                }
            };
            if bytes != s.bytes {
                return Err(Problem::new(
                    file,
                    format!("{file}：大小为 {bytes} 字节，清单记录为 {} 字节。", s.bytes),
                    format!("{file}: {bytes} bytes, the manifest says {}.", s.bytes),
                ));
            }
            if got != s.sha256 {
                return Err(Problem::new(
                    file,
                    format!("{file}：内容与清单中的 SHA-256 不符（录制后被修改过）。"),
                    format!(
                        "{file}: its content does not match the manifest's SHA-256 (changed since it was recorded)."
                    ),
                ));
            }
        }
        if !(is_hash_hex(&s.sha256) && is_hash_hex(&s.prev_chain) && is_hash_hex(&s.chain)) {
            return Err(Problem::new(
                &at,
                format!("{at}：清单中的哈希不是 64 位小写十六进制数。"),
                format!("{at}: a hash in the manifest is not 64 lowercase hex digits."),
            ));
        }
        if segment_chain(&s.prev_chain, &s.sha256, &s.camera, s.start_ms, s.end_ms, s.bytes) != s.chain {
            return Err(Problem::new(
                &at,
                format!("哈希链在 {at} 处断开：其 chain 不能由 prevChain 与该分段的内容、时间、大小算出。"),
                format!(
                    "the hash chain breaks at {at}: its chain does not follow from its prevChain and the segment's \
                     content, times and size."
                ),
            ));
        }
        if s.links_to_previous {
            let prev = previous.filter(|p| p.camera == s.camera);
            if prev.is_none_or(|p| p.chain != s.prev_chain) {
                let from =
                    prev.map(|p| p.file.clone().unwrap_or_else(|| format!("{} {}", p.camera, p.start)));
                let link = format!("{} -> {at}", from.unwrap_or_else(|| "?".into()));
                return Err(Problem::new(
                    &link,
                    format!(
                        "哈希链在 {link} 处断开：{at} 的 prevChain 不是前一分段的 chain（分段被删除、替换或调换了顺序）。"
                    ),
                    format!(
                        "the hash chain breaks at {link}: the prevChain of {at} is not the chain of the segment \
                         before it (a segment was removed, replaced or reordered)."
                    ),
                ));
            }
        }
        report.segments += 1;
        previous = Some(s);
    }

    // 5. The journal excerpt: each record's hash recomputes from its fields.
    for r in &manifest.journal {
        if crate::journal::hash_of(&JournalRow::from(r)) != r.hash {
            let at = format!("{MANIFEST} journal #{}", r.seq);
            return Err(Problem::new(
                &at,
                format!("{MANIFEST}：日志记录 {} 的内容与其哈希不符。", r.seq),
                format!("{MANIFEST}: journal record {} does not match its hash.", r.seq),
            ));
        }
    }
    Ok(())
}

/// A relative path inside the export: no root, no `..`, no empty parts.
fn safe_relative(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\\')
        && Path::new(name).components().all(|c| matches!(c, Component::Normal(_)))
        && !name.split('/').any(str::is_empty)
}

/// Every file under `dir`, as '/'-separated paths relative to it, sorted.
fn files_under(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = stack.pop() {
        for e in fs::read_dir(&path)? {
            let e = e?;
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.file_type()?.is_dir() {
                stack.push((e.path(), format!("{name}/")));
            } else {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside_the_export() {
        assert!(safe_relative("segments/cam-a/0001.mkv"));
        assert!(safe_relative("manifest.json"));
        for bad in ["", "/etc/passwd", "../x", "segments/../../x", "a//b", "a\\b", "./a"] {
            assert!(!safe_relative(bad), "{bad}");
        }
    }

    #[test]
    fn public_keys_are_read_as_hex_or_pem() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]).verifying_key();
        let hex_text = hex::encode(key.as_bytes());
        assert_eq!(&parse_public_key(&hex_text).unwrap(), key.as_bytes());
        use ed25519_dalek::pkcs8::EncodePublicKey;
        let pem = key.to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF).unwrap();
        assert_eq!(&parse_public_key(&pem).unwrap(), key.as_bytes());
        assert!(parse_public_key("abc").is_err());
    }
}
