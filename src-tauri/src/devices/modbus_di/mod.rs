//! Modbus/TCP digital-input driver.
