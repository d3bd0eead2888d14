//! 请求签名 — the request signature both ends compute (docs/api/service-system.yaml, "Signature").
//!
//! `X-Signature = hex(HMAC-SHA256(appSecret, METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n"
//! hex(SHA-256(body))))`, where PATH includes the query string exactly as sent. The receiver
//! rejects a timestamp more than `MAX_SKEW_SECONDS` away from its clock and a nonce it has seen.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const HEADER_APP_KEY: &str = "X-App-Key";
pub const HEADER_TIMESTAMP: &str = "X-Timestamp";
pub const HEADER_NONCE: &str = "X-Nonce";
pub const HEADER_SIGNATURE: &str = "X-Signature";

/// How far the sender's clock may be from the receiver's.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// The string the HMAC is taken over.
pub fn string_to_sign(method: &str, path_and_query: &str, timestamp_s: i64, nonce: &str, body: &[u8]) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        timestamp_s,
        nonce,
        hex::encode(Sha256::digest(body))
    )
}

pub fn signature(secret: &[u8], method: &str, path_and_query: &str, timestamp_s: i64, nonce: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(string_to_sign(method, path_and_query, timestamp_s, nonce, body).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Compares in constant time, so a forger learns nothing from how long a refusal takes.
pub fn verify(secret: &[u8], method: &str, path_and_query: &str, timestamp_s: i64, nonce: &str, body: &[u8], given_hex: &str) -> bool {
    let Ok(given) = hex::decode(given_hex.trim()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(string_to_sign(method, path_and_query, timestamp_s, nonce, body).as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// 128 random bits as 32 hex characters.
pub fn new_nonce() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// What a nonce must look like: at least 16 hexadecimal characters, at most 64.
pub fn nonce_is_well_formed(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_documented_string() {
        // The document's own worked example is checked in tests/tests/sync_contract.rs.
        let body = br#"{"events":[]}"#;
        let s = string_to_sign("post", "/api/v1/venues/DEMO-01/events", 1_795_000_000, "00112233445566778899aabbccddeeff", body);
        assert_eq!(
            s,
            format!(
                "POST\n/api/v1/venues/DEMO-01/events\n1795000000\n00112233445566778899aabbccddeeff\n{}",
                hex::encode(Sha256::digest(body))
            )
        );
        let sig = signature(b"s3cret", "POST", "/api/v1/venues/DEMO-01/events", 1_795_000_000, "00112233445566778899aabbccddeeff", body);
        assert_eq!(sig.len(), 64);
        assert!(verify(b"s3cret", "POST", "/api/v1/venues/DEMO-01/events", 1_795_000_000, "00112233445566778899aabbccddeeff", body, &sig));
        assert!(!verify(b"s3cret!", "POST", "/api/v1/venues/DEMO-01/events", 1_795_000_000, "00112233445566778899aabbccddeeff", body, &sig));
        assert!(!verify(b"s3cret", "POST", "/api/v1/venues/DEMO-01/events", 1_795_000_001, "00112233445566778899aabbccddeeff", body, &sig));
        assert!(!verify(b"s3cret", "POST", "/api/v1/venues/DEMO-01/events", 1_795_000_000, "00112233445566778899aabbccddeeff", b"{}", &sig));
        assert!(!verify(b"s3cret", "POST", "/api/v1/venues/DEMO-01/events", 1_795_000_000, "00112233445566778899aabbccddeeff", body, "zz"));
    }

    #[test]
    fn nonces_are_fresh_and_well_formed() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_ne!(a, b);
        assert!(nonce_is_well_formed(&a));
        assert!(!nonce_is_well_formed("abc"));
        assert!(!nonce_is_well_formed("zzzzzzzzzzzzzzzzzz"));
    }
}
