//! Simulated Modbus/TCP digital-input module.
