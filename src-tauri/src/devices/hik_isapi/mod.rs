//! Hikvision ISAPI access-control driver.
