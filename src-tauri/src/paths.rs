//! Where things live on this workstation. The window and the command-line tools resolve the same
//! places, so `venue-desk journal verify` checks the database the window writes.

use std::path::PathBuf;

pub const IDENTIFIER: &str = "org.venuedesk.desk";

/// `VENUE_DESK_DATA_DIR`, else the platform's data directory (`~/.local/share/org.venuedesk.desk`).
pub fn data_dir() -> PathBuf {
    match std::env::var_os("VENUE_DESK_DATA_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => dirs::data_dir().unwrap_or_else(std::env::temp_dir).join(IDENTIFIER),
    }
}

/// The venue file: `--config PATH`, else `VENUE_DESK_CONFIG`, else `venue.toml` in the platform's
/// configuration directory if there is one; `None` means the embedded demo venue.
pub fn venue_file(cli_config: Option<PathBuf>) -> Option<PathBuf> {
    if cli_config.is_some() {
        return cli_config;
    }
    if let Some(p) = std::env::var_os("VENUE_DESK_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = dirs::config_dir()?.join(IDENTIFIER).join("venue.toml");
    default.exists().then_some(default)
}

pub fn log_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("logs")
}
