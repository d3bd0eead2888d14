//! 接口客户端 — signed requests to the service system over HTTPS (ureq, blocking: callers run it
//! on the blocking pool). Every reply is classified so the sender can decide: done, park, wait
//! as told, back off, or stop until an administrator acts.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::signing::{self, HEADER_APP_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use super::wire::{ErrorReply, EventBatch, EventsReply};
use crate::config::ServiceSystem;
use crate::error::{Error, Result};

/// Where Debian, Fedora/RHEL and openSUSE keep the system's trusted roots.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
];

/// The largest reply read (a page of bookings or a roster is far smaller).
const MAX_REPLY_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct Credentials {
    pub app_key: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("app_key", &self.app_key).finish_non_exhaustive()
    }
}

/// Why a request did not succeed, as the sender must treat it.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkError {
    /// No answer: refused, unresolvable, timed out, TLS failed, or the reply was cut off.
    Unreachable(String),
    /// 401/403: retrying changes nothing until the credentials, the clock or the venue code do.
    Refused { status: u16, code: String, message: String },
    /// 429/503: the receiver said when to come back (or not).
    Throttled { status: u16, retry_after: Option<Duration> },
    /// Any other non-2xx answer.
    Failed { status: u16, code: String, message: String },
    /// A 2xx answer whose body is not what the document says.
    BadReply(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Unreachable(m) => write!(f, "unreachable: {m}"),
            LinkError::Refused { status, code, message } => write!(f, "{status} {code}: {message}"),
            LinkError::Throttled { status, retry_after } => match retry_after {
                Some(d) => write!(f, "{status}: asked to wait {} s", d.as_secs()),
                None => write!(f, "{status}: busy"),
            },
            LinkError::Failed { status, code, message } => write!(f, "{status} {code}: {message}"),
            LinkError::BadReply(m) => write!(f, "unreadable reply: {m}"),
        }
    }
}

pub struct Link {
    agent: ureq::Agent,
    base_url: String,
    /// The path prefix of `base_url` (e.g. `/gateway`), signed as part of the path.
    base_path: String,
    venue_code: String,
}

impl Link {
    pub fn new(cfg: &ServiceSystem, venue_code: &str) -> Result<Link> {
        let roots = trusted_roots(cfg.ca_file.as_deref())?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(cfg.request_timeout_seconds.into())))
            .timeout_connect(Some(Duration::from_secs(10)))
            // A redirect would re-send a signed body to a place nobody configured.
            .max_redirects(0)
            .user_agent(concat!("VenueDesk/", env!("CARGO_PKG_VERSION")))
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build();
        let base_path = match cfg.base_url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])) {
            Some(p) => p.trim_end_matches('/').to_string(),
            None => String::new(),
        };
        Ok(Link { agent: config.into(), base_url: cfg.base_url.clone(), base_path, venue_code: venue_code.to_string() })
    }

    pub fn events_path(&self) -> String {
        format!("/api/v1/venues/{}/events", self.venue_code)
    }

    /// Sends one batch of events. The body is passed in already serialised so a caller measuring
    /// or retrying does not pay for it twice.
    pub fn post_events(&self, creds: &Credentials, now_s: i64, body: &[u8]) -> std::result::Result<EventsReply, LinkError> {
        let path = self.events_path();
        let reply: EventsReply = self.call("POST", &path, creds, now_s, body)?;
        Ok(reply)
    }

    pub fn encode(batch: &EventBatch) -> Vec<u8> {
        serde_json::to_vec(batch).expect("wire types serialise")
    }

    /// A signed GET of `path_and_query` (below the API root, e.g. `/api/v1/venues/X/bookings?since=`).
    pub fn get<T: DeserializeOwned>(&self, creds: &Credentials, now_s: i64, path_and_query: &str) -> std::result::Result<T, LinkError> {
        self.call("GET", path_and_query, creds, now_s, b"")
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path_and_query: &str,
        creds: &Credentials,
        now_s: i64,
        body: &[u8],
    ) -> std::result::Result<T, LinkError> {
        let signed_path = format!("{}{}", self.base_path, path_and_query);
        let url = format!("{}{}", self.base_url, path_and_query);
        let nonce = signing::new_nonce();
        let sig = signing::signature(&creds.secret, method, &signed_path, now_s, &nonce, body);
        let ts = now_s.to_string();
        let sent = if method == "GET" {
            self.agent
                .get(&url)
                .header(HEADER_APP_KEY, &creds.app_key)
                .header(HEADER_TIMESTAMP, &ts)
                .header(HEADER_NONCE, &nonce)
                .header(HEADER_SIGNATURE, &sig)
                .call()
        } else {
            self.agent
                .post(&url)
                .header(HEADER_APP_KEY, &creds.app_key)
                .header(HEADER_TIMESTAMP, &ts)
                .header(HEADER_NONCE, &nonce)
                .header(HEADER_SIGNATURE, &sig)
                .content_type("application/json")
                .send(body)
        };
        let mut resp = sent.map_err(|e| LinkError::Unreachable(describe(&e)))?;
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, now_s));
        let mut bytes = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_REPLY_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| LinkError::Unreachable(format!("the reply was cut off: {e}")))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| {
                LinkError::BadReply(format!("{e} (first bytes: {})", String::from_utf8_lossy(&bytes[..bytes.len().min(80)])))
            });
        }
        if status == 429 || status == 503 {
            return Err(LinkError::Throttled { status, retry_after });
        }
        let (code, message) = match serde_json::from_slice::<ErrorReply>(&bytes) {
            Ok(r) => (r.code, r.message),
            Err(_) => (String::new(), String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()),
        };
        if status == 401 || status == 403 {
            Err(LinkError::Refused { status, code, message })
        } else {
            Err(LinkError::Failed { status, code, message })
        }
    }
}

fn describe(e: &ureq::Error) -> String {
    // A failed handshake comes back as rustls' error, usually inside an I/O error.
    let tls = match e {
        ureq::Error::Rustls(t) => Some(t),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    if let Some(t) = tls {
        return describe_tls(t);
    }
    match e {
        ureq::Error::Timeout(t) => format!("no answer in time ({t:?})"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection refused or failed".into(),
        other => other.to_string(),
    }
}

/// In words an administrator can act on; rustls' own text follows in brackets for support.
fn describe_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let what = match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the service system's TLS certificate is not trusted: it was not issued by a certificate \
             authority this workstation trusts. If the platform uses a private CA, set \
             service_system.ca_file to the file holding that CA's PEM certificate"
        }
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the service system's TLS certificate is not trusted: it is not issued for the host in \
             service_system.base_url"
        }
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => {
            "the service system's TLS certificate is not trusted: it has expired or is not yet valid \
             (check this workstation's clock)"
        }
        rustls::Error::InvalidCertificate(C::Revoked) => {
            "the service system's TLS certificate is not trusted: it has been revoked"
        }
        rustls::Error::InvalidCertificate(_) => "the service system's TLS certificate is not trusted",
        _ => "the TLS handshake with the service system failed",
    };
    format!("{what} ({e})")
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(v: &str, now_s: i64) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp();
    Some(Duration::from_secs((at - now_s).max(0) as u64))
}

/// The system's roots plus the configured CA. Without a system bundle (Windows) and without a CA,
/// the Mozilla roots built into the client.
fn trusted_roots(ca_file: Option<&Path>) -> Result<RootCerts> {
    let mut certs: Vec<Certificate<'static>> = Vec::new();
    if let Some(bundle) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file())
        && let Ok(pem) = std::fs::read(bundle)
    {
        certs.extend(pem_certificates(&pem));
    }
    if let Some(ca) = ca_file {
        let pem = std::fs::read(ca).map_err(|e| {
            Error::invalid(
                format!("无法读取 service_system.ca_file（{}）：{e}", ca.display()),
                format!("Cannot read service_system.ca_file ({}): {e}", ca.display()),
            )
        })?;
        let extra: Vec<_> = pem_certificates(&pem).collect();
        if extra.is_empty() {
            return Err(Error::invalid(
                format!("service_system.ca_file（{}）中没有 PEM 格式的证书。", ca.display()),
                format!("service_system.ca_file ({}) holds no PEM certificate.", ca.display()),
            ));
        }
        certs.extend(extra);
    }
    Ok(if certs.is_empty() { RootCerts::WebPki } else { RootCerts::new_with_certs(&certs) })
}

fn pem_certificates(pem: &[u8]) -> impl Iterator<Item = Certificate<'static>> + '_ {
    ureq::tls::parse_pem(pem).filter_map(|item| match item {
        Ok(PemItem::Certificate(c)) => Some(c),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().timestamp();
        assert_eq!(parse_retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
