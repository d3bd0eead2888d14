//! Simulated ISAPI door controller.
