//! Pure types and rules of the venue: no I/O, no clock reads.

pub mod operator;
pub mod venue;
