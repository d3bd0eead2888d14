//! RS-485 lock-board driver.
