//! Venue Desk (场所服务台): the on-site operations client of a public resource trading venue.
//!
//! Wiring only: configuration -> store -> services -> the Tauri shell. The rooms of the code are
//! described in docs/architecture.md.

pub mod alerts;
pub mod app;
pub mod auth;
mod background;
pub mod bookings;
pub mod checkin;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod devices;
pub mod domain;
pub mod error;
pub mod instance;
pub mod journal;
pub mod media;
pub mod paths;
pub mod setup;
pub mod sim;
pub mod store;
pub mod sync;
pub mod vault;

use std::sync::Arc;

use clock::Clock;
use config::VenueConfig;
use error::Result;
use journal::{Actor, Entry, EventKind, Journal, Outcome};
use store::Store;

/// Everything the commands stand on, opened from one venue configuration.
pub struct Services {
    pub config: Arc<VenueConfig>,
    pub clock: Arc<dyn Clock>,
    pub store: Arc<Store>,
    pub journal: Arc<Journal>,
    pub auth: auth::Auth,
    pub bookings: Arc<bookings::Bookings>,
    pub vault: vault::Vault,
    pub fleet: Arc<devices::fleet::Fleet>,
    pub checkins: checkin::CheckIns,
    pub alarms: Arc<alerts::Alarms>,
    pub gates: alerts::gate::Gates,
    pub uplink: Arc<sync::Uplink>,
    pub recorder: Arc<media::recorder::Recorder>,
    watches: std::sync::Mutex<Vec<devices::hik_isapi::WatchHandle>>,
}

/// The password `venue-sim` gives its simulated controllers; the embedded demo venue uses it.
pub const DEMO_DEVICE_PASSWORD: &str = "venue-sim-demo";
pub const DEMO_VENUE_CODE: &str = "DEMO-01";
/// The service-system secret of the demo venue: `venue-sim`'s reference receiver expects it.
pub const DEMO_SERVICE_SECRET: &str = "venue-sim-demo-secret";

impl Services {
    /// Opens the store and starts the services. Must run inside a tokio runtime.
    pub async fn open(config: VenueConfig, clock: Arc<dyn Clock>) -> Result<Services> {
        let store = Arc::new(Store::open(&config.database_url).await?);
        let journal = Journal::start(store.clone(), clock.clone(), config.time_zone, config.code.clone());
        let auth = auth::Auth::new(
            store.clone(),
            journal.clone(),
            clock.clone(),
            config.time_zone,
            config.idle_lock_minutes,
        );
        let bookings = Arc::new(bookings::Bookings::new(
            store.clone(),
            journal.clone(),
            clock.clone(),
            config.time_zone,
            config.exports_dir.clone(),
        ));
        bookings.sync_rooms(&config.rooms).await?;
        let config = Arc::new(config);
        let vault = vault::Vault::new(&config.code);
        if config.code == DEMO_VENUE_CODE {
            seed_demo_passwords(&config, &vault);
        }
        let fleet = Arc::new(devices::fleet::Fleet::new(&config.devices, vault.clone(), clock.clone()));
        let checkins = checkin::CheckIns::new(
            store.clone(),
            journal.clone(),
            clock.clone(),
            config.clone(),
            bookings.clone(),
            fleet.clone(),
            vault.clone(),
        );
        checkins.prepare().await?;
        let names = {
            let fleet = fleet.clone();
            Box::new(move |id: &str| fleet.name_of(id))
        };
        let alarms = Arc::new(alerts::Alarms::new(
            store.clone(),
            journal.clone(),
            clock.clone(),
            config.time_zone,
            alerts::sound::AlarmSound::start(),
            names,
        ));
        let gates = alerts::gate::Gates::new(
            config.clone(),
            fleet.clone(),
            alarms.clone(),
            journal.clone(),
            clock.clone(),
        );
        let uplink = Arc::new(sync::Uplink::new(
            store.clone(),
            journal.clone(),
            clock.clone(),
            vault.clone(),
            config.service.clone(),
            config.code.clone(),
            config.time_zone,
        ));
        if config.code == DEMO_VENUE_CODE {
            let key = config.service.app_key_hint.as_deref().unwrap_or("demo-venue");
            uplink.seed_demo_credentials(key, DEMO_SERVICE_SECRET);
        }
        let recordings = Arc::new(media::Recordings::new(
            store.clone(),
            journal.clone(),
            clock.clone(),
            config.clone(),
            vault.clone(),
        ));
        let recorder = Arc::new(media::recorder::Recorder::new(
            recordings,
            alarms.clone(),
            store.clone(),
            clock.clone(),
            config.clone(),
            vault.clone(),
        ));
        Ok(Services {
            recorder,
            config,
            clock,
            store,
            journal,
            auth,
            bookings,
            vault,
            fleet,
            checkins,
            alarms,
            gates,
            uplink,
            watches: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Starts the device work that runs by itself: controller event streams, locker polling,
    /// credential reconciliation, roster purging and device-health journaling. The window calls
    /// this; tests call it when they want the venue to run on its own.
    pub async fn start_background(self: &Arc<Self>) {
        background::start(self).await;
    }

    /// Every device's health as the 设备状态 page shows it: the door and gate links as the fleet
    /// sees them, with cameras and microphones as the recorder sees them.
    pub fn device_health(&self) -> Vec<checkin::views::DeviceHealthView> {
        let mut views = self.fleet.health(self.config.time_zone);
        media::recorder::fold_health(&mut views, &self.recorder.status(), self.config.time_zone);
        views
    }

    /// Stores a device's password in the keyring (never in the venue file) and journals that it changed.
    pub async fn set_device_password(
        &self,
        caller: &auth::Caller,
        device_id: &str,
        password: &str,
    ) -> Result<()> {
        if password.is_empty() || password.len() > 128 {
            return Err(error::Error::invalid(
                "设备密码不能为空，且不超过 128 个字符。",
                "The device password must be 1-128 characters.",
            ));
        }
        self.fleet.set_password(device_id, password)?;
        let entry = Entry::new(caller.actor(), EventKind::DevicePasswordSet, device_id, Outcome::Ok)
            .with_detail(serde_json::json!({"device": device_id, "keyring": vault::backend()}));
        self.journal.record(entry).await.map(|_| ())
    }

    pub async fn record_start(&self) -> Result<()> {
        let source =
            self.config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "demo".into());
        let entry = Entry::new(Actor::system(), EventKind::AppStarted, &self.config.code, Outcome::Ok)
            .with_detail(serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "venueFile": source}));
        self.journal.record(entry).await.map(|_| ())
    }
}

fn seed_demo_passwords(config: &VenueConfig, vault: &vault::Vault) {
    for d in config.devices.iter().filter(|d| d.kind == domain::venue::DeviceKind::DoorController) {
        let entry = devices::fleet::password_entry(&d.id);
        if matches!(vault.get(&entry), Ok(None))
            && let Err(e) = vault.set(&entry, DEMO_DEVICE_PASSWORD.as_bytes())
        {
            tracing::warn!(device = %d.id, error = %e, "demo device password not stored");
        }
    }
}

/// The binary's entry point: a subcommand runs in the terminal, no subcommand opens the window.
pub fn main_entry() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(cli::Invocation::Window { config }) => app::run(config),
        Ok(cli::Invocation::Command(cmd)) => cli::run(cmd),
        Err(usage) => {
            eprintln!("{usage}");
            2
        }
    }
}
