//! 报警中心 — alarms.
pub mod sound;
pub mod views;
