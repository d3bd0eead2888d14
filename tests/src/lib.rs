//! Shared pieces of the cross-module and end-to-end tests: a W3C WebDriver client for driving the
//! real app through tauri-driver, and fixtures that open the services on a scratch database.

pub mod e2e;
pub mod fixture;
pub mod media;
pub mod process;
pub mod sims;
pub mod uplink;
pub mod webdriver;
