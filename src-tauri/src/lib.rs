//! Venue Desk (场所服务台): the on-site operations client of a public resource trading venue.
//!
//! Wiring only: configuration -> store -> services -> the Tauri shell. The rooms of the code are
//! described in docs/architecture.md.

pub mod app;
pub mod auth;
pub mod bookings;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod devices;
pub mod domain;
pub mod error;
pub mod journal;
pub mod paths;
pub mod sim;
pub mod store;

use std::sync::Arc;

use clock::Clock;
use config::VenueConfig;
use error::Result;
use journal::{Actor, Entry, EventKind, Journal, Outcome};
use store::Store;

/// Everything the commands stand on, opened from one venue configuration.
pub struct Services {
    pub config: VenueConfig,
    pub clock: Arc<dyn Clock>,
    pub store: Arc<Store>,
    pub journal: Arc<Journal>,
    pub auth: auth::Auth,
    pub bookings: bookings::Bookings,
}

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
        let bookings = bookings::Bookings::new(
            store.clone(),
            journal.clone(),
            clock.clone(),
            config.time_zone,
            config.exports_dir.clone(),
        );
        bookings.sync_rooms(&config.rooms).await?;
        Ok(Services { config, clock, store, journal, auth, bookings })
    }

    pub async fn record_start(&self) -> Result<()> {
        let source =
            self.config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "demo".into());
        let entry = Entry::new(Actor::system(), EventKind::AppStarted, &self.config.code, Outcome::Ok)
            .with_detail(serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "venueFile": source}));
        self.journal.record(entry).await.map(|_| ())
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
