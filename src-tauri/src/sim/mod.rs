//! Simulated devices behind `venue-sim`, speaking the same wire protocols as the real ones.

pub mod isapi;
pub mod lockboard;
pub mod modbus;
pub mod receiver;
pub mod rtsp;
