//! Time comes in through a clock so that rules (lockouts, idle lock, validity windows) can be
//! tested at any instant. Domain code receives instants; only the shell reads the system clock.

use std::sync::Mutex;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use chrono_tz::Tz;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// The venue's wall-clock time with its UTC offset, as recorded in the journal and sent upward.
pub fn venue_time(at: DateTime<Utc>, tz: Tz) -> DateTime<FixedOffset> {
    at.with_timezone(&tz).fixed_offset()
}

/// An instant (UTC epoch ms) as the screens show it: venue local `YYYY-MM-DDTHH:MM:SS`.
pub fn venue_local_seconds(ms: i64, tz: Tz) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default()
}
