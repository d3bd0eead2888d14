//! The sender over HTTPS to a receiver whose certificate comes from a private CA, as on a
//! government network: trusted through `service.ca_file` it drains exactly once; without the CA
//! it stops at the handshake and says the certificate is not trusted; a CA file with no
//! certificate in it is a configuration error. The CA and the server certificate are made at run
//! time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use venue_desk::sim::receiver::{Mode, Receiver, ReceiverConfig};
use venue_desk::sync::Step;
use venue_desk::sync::views::LinkState;
use venue_desk_tests::fixture::Venue;
use venue_desk_tests::uplink::{
    admin, assert_exactly_once_in_order, drain, outbox_ids, unique_venue_code, write_door_events,
};

const SECRET: &str = "a-test-secret-of-enough-length";

/// A private CA and a server certificate it signed, for `127.0.0.1` (an IP address SAN, which is
/// what the client checks for `https://127.0.0.1:PORT`) and `localhost`.
struct Pki {
    ca_pem: String,
    server_chain_pem: String,
    server_key_pem: String,
}

fn private_pki() -> Pki {
    pki_for(&["127.0.0.1", "localhost"])
}

fn pki_for(names: &[&str]) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "示范市政务外网 测试根 CA");
    ca.distinguished_name.push(DnType::OrganizationName, "Venue Desk tests");
    ca.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

    // rcgen makes a name that parses as an IP address an IP address SAN.
    let mut server = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    server.distinguished_name.push(DnType::CommonName, "service-system.test");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        // The chain a server sends: its certificate, then the CA's (which the client must
        // already trust; sending it does not make it trusted).
        server_chain_pem: format!("{}{}", server_cert.pem(), ca.pem()),
        server_key_pem: server_key.serialize_pem(),
    }
}

fn tls_receiver(pki: &Pki, code: &str) -> Receiver {
    let cfg = ReceiverConfig::new(code, "venue-app", SECRET.as_bytes());
    Receiver::start_tls("127.0.0.1:0", cfg, pki.server_chain_pem.as_bytes(), pki.server_key_pem.as_bytes())
        .unwrap()
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The demo venue under its own code, sending to `base_url` and trusting `ca_file` besides the
/// system's roots.
async fn venue(code: &str, base_url: &str, ca_file: Option<PathBuf>) -> Venue {
    let (code, base_url) = (code.to_string(), base_url.to_string());
    let v = Venue::open_with(
        move |c| {
            c.code = code;
            c.service.base_url = base_url;
            c.service.ca_file = ca_file;
            c.service.batch_size = 50;
        },
        &chrono::Utc::now().to_rfc3339(),
    )
    .await;
    v.services.uplink.set_credentials(&admin(), "venue-app", SECRET).await.unwrap();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusting_the_private_ca_drains_exactly_once_over_https() {
    let pki = private_pki();
    let code = unique_venue_code("TLSOK");
    let r = tls_receiver(&pki, &code);
    let url = r.base_url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write_file(dir.path(), "private-ca.pem", &pki.ca_pem);
    let v = venue(&code, &url, Some(ca_file)).await;
    let s = &v.services;
    write_door_events(s, 120).await;

    drain(s).await;
    assert_exactly_once_in_order(&r, &outbox_ids(s).await);
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.state, LinkState::UpToDate, "{st:?}");
    assert!(st.problem.is_none(), "{:?}", st.problem);
    assert!(!st.plain_http);
    assert_eq!(st.backlog, 0);
    assert!(r.stats().event_posts >= 3, "batches of 50: {:?}", r.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receivers_modes_work_over_https() {
    let pki = private_pki();
    let code = unique_venue_code("TLSMODE");
    let r = tls_receiver(&pki, &code);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write_file(dir.path(), "private-ca.pem", &pki.ca_pem);
    let v = venue(&code, &r.base_url(), Some(ca_file)).await;
    let s = &v.services;
    write_door_events(s, 60).await;

    // Stored, then the reply is cut off inside the TLS stream: the sender cannot know, waits and
    // sends again, and the receiver keeps each event once.
    r.set_mode(Mode::CloseMidResponse);
    match s.uplink.step().await.unwrap() {
        Step::Wait(_) => {}
        other => panic!("expected a wait after a cut-off reply, got {other:?}"),
    }
    assert_eq!(s.uplink.status().await.unwrap().state, LinkState::Unreachable);
    assert_eq!(r.stats().accepted, 50, "the first batch was stored before the cut");

    // Throttled with Retry-After, over TLS as over plain HTTP.
    r.set_mode(Mode::RateLimited { retry_after_s: 7, times: 1 });
    s.uplink.retry_now();
    match s.uplink.step().await.unwrap() {
        Step::Wait(d) => assert_eq!(d, Duration::from_secs(7)),
        other => panic!("expected the receiver's wait, got {other:?}"),
    }
    assert_eq!(s.uplink.status().await.unwrap().state, LinkState::Throttled);

    // A slow answer is still an answer.
    r.set_mode(Mode::Stall { ms: 300 });
    s.uplink.retry_now();
    let started = Instant::now();
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Sent { .. }));
    assert!(started.elapsed() >= Duration::from_millis(300));

    r.set_mode(Mode::Normal);
    drain(s).await;
    assert_exactly_once_in_order(&r, &outbox_ids(s).await);
    assert!(r.stats().duplicates >= 50, "the resent batch was recognised: {:?}", r.stats());
    assert_eq!(s.uplink.status().await.unwrap().state, LinkState::UpToDate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_private_ca_the_certificate_is_not_trusted_and_nothing_is_sent() {
    let pki = private_pki();
    let code = unique_venue_code("TLSNOCA");
    let r = tls_receiver(&pki, &code);
    let v = venue(&code, &r.base_url(), None).await;
    let s = &v.services;
    write_door_events(s, 10).await;

    match s.uplink.step().await.unwrap() {
        Step::Wait(_) => {}
        other => panic!("expected a wait after a failed handshake, got {other:?}"),
    }
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.state, LinkState::Unreachable, "{st:?}");
    let problem = st.problem.expect("a problem is shown");
    let detail = problem.detail.to_lowercase();
    assert!(
        detail.contains("certificate") && detail.contains("not trusted"),
        "the administrator is told the certificate is not trusted: {problem:?}"
    );
    assert!(detail.contains("ca_file"), "and what to do about it: {problem:?}");
    assert!(st.backlog >= 10);
    let stats = r.stats();
    assert_eq!(stats.requests, 0, "no HTTP request went over an untrusted connection: {stats:?}");
    assert!(r.accepted().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_is_not_trusted_even_from_the_trusted_ca() {
    // Issued for `localhost` only, while the venue is configured with the IP address: the name
    // check is not skipped for a private CA.
    let pki = pki_for(&["localhost"]);
    let code = unique_venue_code("TLSNAME");
    let r = tls_receiver(&pki, &code);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write_file(dir.path(), "private-ca.pem", &pki.ca_pem);
    let v = venue(&code, &r.base_url(), Some(ca_file)).await;
    let s = &v.services;
    write_door_events(s, 3).await;
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Wait(_)));
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.state, LinkState::Unreachable, "{st:?}");
    let detail = st.problem.expect("a problem is shown").detail;
    assert!(detail.contains("not trusted") && detail.contains("base_url"), "{detail}");
    assert_eq!(r.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_without_a_certificate_is_a_configuration_error() {
    let pki = private_pki();
    let code = unique_venue_code("TLSBADCA");
    let r = tls_receiver(&pki, &code);
    let dir = tempfile::tempdir().unwrap();
    // A private key where the CA certificate should be: a plausible mistake.
    let ca_file = write_file(dir.path(), "not-a-ca.pem", &pki.server_key_pem);

    let mut cfg = venue_desk::config::demo(dir.path()).service;
    cfg.base_url = r.base_url();
    cfg.ca_file = Some(ca_file.clone());
    let err = venue_desk::sync::client::Link::new(&cfg, &code).err().expect("Link::new refuses the CA file");
    assert!(err.message().contains("not-a-ca.pem"), "{}", err.message());

    let v = venue(&code, &r.base_url(), Some(ca_file)).await;
    let s = &v.services;
    write_door_events(s, 5).await;
    match s.uplink.step().await.unwrap() {
        Step::Stopped(_) => {}
        other => panic!("expected the sender to stop for the configuration, got {other:?}"),
    }
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.state, LinkState::Misconfigured, "{st:?}");
    let problem = st.problem.expect("a problem is shown");
    assert_eq!(problem.code, "configuration");
    assert!(problem.detail.contains("not-a-ca.pem"), "{problem:?}");
    assert_eq!(r.stats().requests, 0);
}
