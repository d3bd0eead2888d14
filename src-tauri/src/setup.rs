//! 首次设置 — first-run set-up of a new workstation. A fresh install runs on the embedded demo
//! venue; the set-up screen turns it into this venue: it creates the first administrator, checks
//! the recordings disk, stores the service system's credentials in the keyring and writes
//! `venue.toml` into the configuration directory, which the next start loads (README: the lookup
//! order). The written file starts from the demo venue's rooms and devices, so it is valid from the
//! first start and the administrator edits the hardware in it afterwards (docs/operations.md).
//!
//! Order matters because an administrator cannot be created twice: everything that can be refused
//! (input, disk, the whole venue file) is checked first, the file is written beside its final name,
//! the administrator is created, and only then is the file moved into place. A refusal at any step
//! leaves no venue file and no account, so the screen can simply be submitted again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Services;
use crate::auth::{Caller, NewOperatorInput};
use crate::config::{self, DEMO_VENUE_TOML};
use crate::domain::operator::{Role, validate_display_name, validate_password, validate_username};
use crate::error::{Error, ErrorKind, Result};
use crate::paths;

/// Used when the set-up leaves the service system out: a syntactically valid address that can never
/// resolve (`.invalid` is reserved, RFC 2606), so the 数据同步 screen shows the link as unreachable
/// until an administrator enters the real one.
pub const UNSET_SERVICE_URL: &str = "https://service-system.invalid";

/// What the set-up screen needs to know before it shows its form.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SetupStatus {
    /// True on the embedded demo venue with no venue file yet: the full set-up (venue, storage,
    /// service system) is offered. False when a venue file is in use: only the administrator.
    pub venue_setup_available: bool,
    /// Where the venue file will be written.
    pub venue_file: Option<String>,
    /// A sensible place for recordings on this workstation (the app's data directory).
    pub default_recordings_dir: String,
    /// Below this much free space the set-up refuses a recordings path (the recorder's own floor).
    pub min_free_mib: u64,
}

/// The recordings path as checked: it exists (created if need be), a file can be written there,
/// and this much space is free.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StorageCheck {
    pub path: String,
    pub free_mib: u64,
    pub total_mib: u64,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SetupInput {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub venue_code: String,
    pub venue_name: String,
    pub recordings_dir: String,
    /// The service system; all three or none (an empty string counts as none).
    pub service_base_url: Option<String>,
    pub service_app_key: Option<String>,
    pub service_app_secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SetupDone {
    pub venue_file: String,
    pub venue_code: String,
    /// True when the service system's credentials were stored in the keyring.
    pub credentials_stored: bool,
}

/// `venue.toml` in the platform's configuration directory: the third place the app looks
/// (paths::venue_file), the one a set-up writes.
pub fn default_venue_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join(paths::IDENTIFIER).join("venue.toml"))
}

pub fn status(services: &Services, venue_file: Option<&Path>) -> SetupStatus {
    SetupStatus {
        venue_setup_available: services.config.source.is_none() && venue_file.is_some_and(|p| !p.exists()),
        venue_file: venue_file.map(|p| p.display().to_string()),
        default_recordings_dir: services.config.data_dir.join("recordings").display().to_string(),
        min_free_mib: demo_min_free_mib(),
    }
}

/// The written file keeps the demo's `[recording] min_free_mib`, so the set-up holds the disk to
/// the floor the recorder will hold it to.
fn demo_min_free_mib() -> u64 {
    config::demo(Path::new("/")).recording.min_free_mib
}

/// Same rule as `venue.code` in config.rs, said for a form field rather than a file line.
pub fn validate_venue_code(code: &str) -> Result<String> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 32
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            format!("场所编码“{code}”格式不对：须为 1–32 位英文字母、数字、“-”或“_”，例如 GZ-JYZX-01。"),
            format!(
                "The venue code \"{code}\" is not valid: use 1–32 letters, digits, '-' or '_', e.g. GZ-JYZX-01."
            ),
        ));
    }
    Ok(code.to_string())
}

fn validate_venue_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "场所名称不能为空，且不超过 100 个字符，例如“某某市公共资源交易中心”。",
            "The venue name must be 1–100 characters, e.g. \"Example City Public Resource Trading Center\".",
        ));
    }
    Ok(name.to_string())
}

/// Checks a recordings path: absolute, creatable, writable (a probe file is written, synced and
/// removed — permissions alone do not reveal a read-only mount), and with at least `min_free_mib`
/// free. Each refusal says what to do.
pub fn check_storage(path: &str, min_free_mib: u64) -> Result<StorageCheck> {
    let raw = path.trim();
    let p = PathBuf::from(raw);
    if raw.is_empty() || !p.is_absolute() {
        return Err(Error::invalid(
            format!("录像存储路径“{raw}”须为完整路径（Linux 以 / 开头，Windows 如 D:\\录像）。"),
            format!(
                "The recordings path \"{raw}\" must be a full path (on Linux starting with /, on Windows e.g. D:\\recordings)."
            ),
        ));
    }
    if let Err(e) = std::fs::create_dir_all(&p) {
        return Err(not_writable(&p, &e));
    }
    let probe = p.join(format!(".venue-desk-write-test-{}", std::process::id()));
    let written = std::fs::File::create(&probe).and_then(|mut f| {
        use std::io::Write;
        f.write_all(b"venue-desk")?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    if let Err(e) = written {
        return Err(not_writable(&p, &e));
    }
    let free = fs2::available_space(&p).map_err(|e| not_writable(&p, &e))?;
    let total = fs2::total_space(&p).map_err(|e| not_writable(&p, &e))?;
    let free_mib = free / (1024 * 1024);
    if free_mib < min_free_mib {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            format!(
                "录像存储路径 {} 所在磁盘只剩 {} MiB 可用，至少需要 {} MiB。请选择空间更大的磁盘，或先清理该磁盘。",
                p.display(),
                free_mib,
                min_free_mib
            ),
            format!(
                "The disk of the recordings path {} has only {} MiB free; at least {} MiB is needed. Choose a larger disk or free space on this one.",
                p.display(),
                free_mib,
                min_free_mib
            ),
        ));
    }
    Ok(StorageCheck { path: p.display().to_string(), free_mib, total_mib: total / (1024 * 1024) })
}

fn not_writable(p: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::FailedPrecondition,
        format!(
            "录像存储路径 {} 无法写入（{e}）。该磁盘可能是只读的，或本程序的用户没有写权限。请换一个路径，或请系统管理员授予写权限。",
            p.display()
        ),
        format!(
            "Cannot write to the recordings path {} ({e}). The disk may be read-only, or this user may lack permission. Choose another path or ask IT to grant write access.",
            p.display()
        ),
    )
}

/// The service system's address and credentials: all three, or none.
#[derive(Debug)]
struct ServiceInput {
    base_url: String,
    app_key: String,
    app_secret: String,
}

fn service_input(input: &SetupInput) -> Result<Option<ServiceInput>> {
    let take = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    match (take(&input.service_base_url), take(&input.service_app_key), take(&input.service_app_secret)) {
        (None, None, None) => Ok(None),
        (Some(base_url), Some(app_key), Some(app_secret)) => {
            let url = base_url.trim_end_matches('/').to_string();
            if !url.starts_with("https://") || url.len() < 10 || url.contains(char::is_whitespace) {
                return Err(Error::invalid(
                    format!(
                        "综合服务系统地址“{base_url}”须以 https:// 开头，例如 https://fw.example.gov.cn/venue-api。"
                    ),
                    format!(
                        "The service system address \"{base_url}\" must start with https://, e.g. https://fw.example.gov.cn/venue-api."
                    ),
                ));
            }
            Ok(Some(ServiceInput { base_url: url, app_key, app_secret }))
        }
        _ => Err(Error::invalid(
            "综合服务系统的地址、应用标识（App Key）和应用密钥（App Secret）须全部填写，或全部留空（以后在“数据同步”中填写）。",
            "Fill in the service system's address, app key and app secret together, or leave all three empty (enter them later on the sync screen).",
        )),
    }
}

/// The venue file for this venue: the demo venue's rooms, devices and rules with this venue's code,
/// name, recordings path and service system. Comments of the demo file do not survive the TOML
/// round trip, so a header points to where every field is explained.
pub fn venue_file_text(
    code: &str,
    name: &str,
    recordings_dir: &str,
    service_url: Option<&str>,
    app_key: Option<&str>,
) -> Result<String> {
    let mut doc: toml::Table = toml::from_str(DEMO_VENUE_TOML).map_err(Error::internal)?;
    let section = |doc: &mut toml::Table, key: &str| -> Result<toml::Table> {
        match doc.remove(key) {
            Some(toml::Value::Table(t)) => Ok(t),
            _ => Err(Error::internal(format!("the demo venue has no [{key}] table"))),
        }
    };
    let mut venue = section(&mut doc, "venue")?;
    venue.insert("code".into(), code.into());
    venue.insert("name".into(), name.into());
    doc.insert("venue".into(), venue.into());

    let mut storage = section(&mut doc, "storage")?;
    storage.insert("recordings_dir".into(), recordings_dir.into());
    doc.insert("storage".into(), storage.into());

    let mut service = section(&mut doc, "service_system")?;
    // The demo's plain-HTTP exception is for its simulator only; a real venue never inherits it.
    service.remove("allow_plain_http");
    service.insert("base_url".into(), service_url.unwrap_or(UNSET_SERVICE_URL).into());
    match app_key {
        Some(k) => service.insert("app_key".into(), k.into()),
        None => service.remove("app_key"),
    };
    doc.insert("service_system".into(), service.into());

    let body = toml::to_string(&doc).map_err(Error::internal)?;
    Ok(format!(
        "# 场所配置 — the venue file of {code}, written by Venue Desk's first-run set-up.\n\
         # Rooms and devices start as the demo venue's: replace them with this venue's hardware\n\
         # (docs/operations.md; every field is in README.md, Configuration), then run\n\
         # `venue-desk config check`. Passwords and keys never go here: they are in the OS keyring.\n\n{body}"
    ))
}

/// Validates the text exactly as the next start will (config::parse with its own path) and writes
/// it beside `target` (`venue.toml.new`). The caller moves it into place once the rest succeeded.
fn stage_venue_file(target: &Path, text: &str, data_dir: &Path) -> Result<PathBuf> {
    if target.exists() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "场所配置文件 {} 已存在，首次设置不会覆盖它。请重新启动 Venue Desk 使用该文件，或先移走它。",
                target.display()
            ),
            format!(
                "The venue file {} already exists and the set-up does not overwrite it. Restart Venue Desk to use it, or move it away first.",
                target.display()
            ),
        ));
    }
    let dir = target.parent().ok_or_else(|| Error::internal("the venue file has no directory"))?;
    config::parse(text, Some(target), dir, data_dir)?;
    let cannot = |e: std::io::Error| {
        Error::new(
            ErrorKind::FailedPrecondition,
            format!("无法写入配置目录 {}：{e}。请检查该目录的权限。", dir.display()),
            format!(
                "Cannot write to the configuration directory {}: {e}. Check its permissions.",
                dir.display()
            ),
        )
    };
    std::fs::create_dir_all(dir).map_err(cannot)?;
    let staged = target.with_extension("toml.new");
    std::fs::write(&staged, text).and_then(|_| std::fs::File::open(&staged)?.sync_all()).map_err(cannot)?;
    Ok(staged)
}

/// The whole set-up; see the module comment for the order.
pub async fn complete(services: &Services, target: &Path, input: &SetupInput) -> Result<SetupDone> {
    if services.config.source.is_some() {
        return Err(Error::precondition(
            "本工作站已在使用场所配置文件，不需要场所设置；请只创建第一个管理员。",
            "This workstation already uses a venue file, so no venue set-up is needed; create the first administrator only.",
        ));
    }
    if !services.auth.needs_first_administrator().await? {
        return Err(Error::precondition(
            "系统已有操作员账号，不能再次执行首次设置。请用已有的管理员账号登录。",
            "Operators already exist, so first-run set-up is closed. Sign in with an existing administrator account.",
        ));
    }
    validate_username(&input.username)?;
    validate_display_name(&input.display_name)?;
    validate_password(&input.password)?;
    let code = validate_venue_code(&input.venue_code)?;
    let name = validate_venue_name(&input.venue_name)?;
    let service = service_input(input)?;
    let storage = check_storage(&input.recordings_dir, demo_min_free_mib())?;

    let text = venue_file_text(
        &code,
        &name,
        &storage.path,
        service.as_ref().map(|s| s.base_url.as_str()),
        service.as_ref().map(|s| s.app_key.as_str()),
    )?;
    let staged = stage_venue_file(target, &text, &services.config.data_dir)?;
    let admin = NewOperatorInput {
        username: input.username.trim().to_string(),
        display_name: input.display_name.clone(),
        role: Role::Administrator,
        password: input.password.clone(),
    };
    if let Err(e) = services.auth.create_first_administrator(&admin).await {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    std::fs::rename(&staged, target).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("管理员已创建，但无法把 {} 改名为 {}：{e}。请手工改名后重新启动。", staged.display(), target.display()),
            format!("The administrator was created, but {} could not be renamed to {}: {e}. Rename it by hand and restart.", staged.display(), target.display()),
        )
    })?;

    // The credentials belong to the new venue's keyring entries (the vault is per venue code), so
    // they go through an Uplink of the new venue, which also journals the change.
    let credentials_stored = match &service {
        Some(s) => {
            let venue = config::load(target, &services.config.data_dir)?;
            let uplink = crate::sync::Uplink::new(
                services.store.clone(),
                services.journal.clone(),
                services.clock.clone(),
                crate::vault::Vault::new(&venue.code),
                venue.service.clone(),
                venue.code.clone(),
                venue.time_zone,
            );
            let row =
                crate::store::operators::by_username(services.store.pool(), admin.username.as_str()).await?;
            let caller = Caller {
                operator_id: row.map(|r| r.id).unwrap_or_default(),
                username: admin.username.clone(),
                role: Role::Administrator,
            };
            uplink.set_credentials(&caller, &s.app_key, &s.app_secret).await?;
            true
        }
        None => false,
    };
    tracing::info!(venue = %code, file = %target.display(), "first-run set-up wrote the venue file");
    Ok(SetupDone { venue_file: target.display().to_string(), venue_code: code, credentials_stored })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_file_is_valid_and_carries_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("rec");
        let text = venue_file_text(
            "GZ-JYZX_01",
            "广州市公共资源交易中心",
            rec.to_str().unwrap(),
            Some("https://fw.example.cn/api"),
            Some("gz-01"),
        )
        .unwrap();
        let target = dir.path().join("cfg").join("venue.toml");
        let staged = stage_venue_file(&target, &text, dir.path()).unwrap();
        std::fs::rename(&staged, &target).unwrap();
        let c = config::load(&target, dir.path()).unwrap();
        assert_eq!(c.code, "GZ-JYZX_01");
        assert_eq!(c.name, "广州市公共资源交易中心");
        assert_eq!(c.recordings_dir, rec);
        assert_eq!(c.service.base_url, "https://fw.example.cn/api");
        let demo = config::demo(dir.path());
        assert_eq!(c.rooms.len(), demo.rooms.len());
        assert_eq!(c.devices.len(), demo.devices.len());
        assert!(!text.contains("allow_plain_http"), "the demo's plain-HTTP exception must not be inherited");
    }

    #[test]
    fn without_a_service_system_the_file_is_still_valid() {
        let dir = tempfile::tempdir().unwrap();
        let text = venue_file_text("V1", "场所", "/srv/rec", None, None).unwrap();
        let c = config::parse(&text, None, dir.path(), dir.path()).unwrap();
        assert_eq!(c.service.base_url, UNSET_SERVICE_URL);
    }

    #[test]
    fn an_existing_venue_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("venue.toml");
        std::fs::write(&target, "keep me").unwrap();
        let text = venue_file_text("V1", "场所", "/srv/rec", None, None).unwrap();
        let e = stage_venue_file(&target, &text, dir.path()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn venue_codes_follow_the_venue_file_rule() {
        for good in ["DEMO-01", "a", "GZ_JYZX-2026", &"X".repeat(32)] {
            assert_eq!(validate_venue_code(good).unwrap(), good);
            let dir = tempfile::tempdir().unwrap();
            let text = venue_file_text(good, "n", "/srv/rec", None, None).unwrap();
            config::parse(&text, None, dir.path(), dir.path()).unwrap();
        }
        for bad in ["", "  ", "广州-01", "GZ 01", "GZ/01", &"X".repeat(33)] {
            let e = validate_venue_code(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message_in(crate::error::Locale::ZhCn).contains("1–32"));
        }
    }

    #[test]
    fn storage_path_must_be_absolute_writable_and_roomy() {
        let dir = tempfile::tempdir().unwrap();
        let ok = check_storage(dir.path().join("new/rec").to_str().unwrap(), 1).unwrap();
        assert!(ok.free_mib >= 1 && ok.total_mib >= ok.free_mib);
        assert!(dir.path().join("new/rec").is_dir());
        assert!(
            std::fs::read_dir(dir.path().join("new/rec")).unwrap().next().is_none(),
            "the probe file is removed"
        );

        assert_eq!(check_storage("relative/rec", 1).unwrap_err().kind, ErrorKind::InvalidArgument);
        let full = check_storage(dir.path().to_str().unwrap(), u64::MAX / (1024 * 1024)).unwrap_err();
        assert_eq!(full.kind, ErrorKind::FailedPrecondition);
        assert!(full.message_in(crate::error::Locale::En).contains("MiB free"));
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_storage_path_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        // root ignores permission bits; /proc is read-only for everyone and stands in for a
        // read-only mount there.
        let path = if running_as_root() { PathBuf::from("/proc/venue-desk-rec") } else { ro.join("rec") };
        let e = check_storage(path.to_str().unwrap(), 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::FailedPrecondition);
        assert!(e.message_in(crate::error::Locale::ZhCn).contains("无法写入"), "{e}");
    }

    #[cfg(unix)]
    fn running_as_root() -> bool {
        std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
    }

    #[test]
    fn service_system_is_all_or_nothing_and_https() {
        let base = SetupInput {
            username: "admin".into(),
            display_name: "管理员".into(),
            password: "Admin-pass-2026".into(),
            venue_code: "V1".into(),
            venue_name: "场所".into(),
            recordings_dir: "/srv/rec".into(),
            service_base_url: Some(" ".into()),
            service_app_key: None,
            service_app_secret: Some(String::new()),
        };
        assert!(service_input(&base).unwrap().is_none());
        let partial = SetupInput { service_base_url: Some("https://fw.example.cn".into()), ..base.clone() };
        assert_eq!(service_input(&partial).unwrap_err().kind, ErrorKind::InvalidArgument);
        let plain = SetupInput {
            service_base_url: Some("http://fw.example.cn".into()),
            service_app_key: Some("k".into()),
            service_app_secret: Some("s".repeat(20)),
            ..base.clone()
        };
        assert!(service_input(&plain).unwrap_err().message_in(crate::error::Locale::En).contains("https://"));
        let full = SetupInput { service_base_url: Some("https://fw.example.cn/api/".into()), ..plain };
        assert_eq!(service_input(&full).unwrap().unwrap().base_url, "https://fw.example.cn/api");
    }
}
