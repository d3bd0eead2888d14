//! Alarm sounds through rodio.
