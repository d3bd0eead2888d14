//! Simulated RS-485 lock board.
