//! Pure types and rules of the venue: no I/O, no clock reads.

pub mod booking;
pub mod expert;
pub mod interlock;
pub mod operator;
pub mod project;
pub mod venue;
