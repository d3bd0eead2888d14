//! HTTP Digest authentication (RFC 7616 with MD5 / MD5-sess and qop=auth, plus the RFC 2069 form
//! without qop), written by hand: it is the only scheme Hikvision controllers accept by default, the
//! arithmetic is small, and owning it lets the driver cache a challenge (one round trip per request
//! instead of two) and decide exactly when a 401 means "wrong password" rather than "nonce expired".
//!
//! The simulator checks responses with the same functions; the RFC worked examples in the tests
//! keep both sides honest.

use md5::{Digest as _, Md5};

/// The hash variants Hikvision firmware offers. SHA-256 exists in RFC 7616 but no controller we
/// target requires it, and MD5 is always offered alongside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
}

/// One `WWW-Authenticate: Digest …` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The algorithm token exactly as the server wrote it; echoed back because some firmware
    /// compares it case-sensitively. `None` when the server did not name one (MD5 implied).
    pub algorithm_token: Option<String>,
    /// The server offered `qop=auth`; without it the legacy RFC 2069 response is computed.
    pub qop_auth: bool,
    /// `stale=true`: the password was right, only the nonce expired.
    pub stale: bool,
}

/// Why no usable challenge was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeError {
    /// No `Digest` challenge at all (e.g. only `Basic`).
    NotDigest,
    /// A Digest challenge we cannot answer (algorithm or qop), named for the operator.
    Unsupported(String),
}

/// Parses `key=value, key="quoted \"value\""` lists (RFC 7235 auth-params). Keys are lower-cased;
/// malformed pieces are skipped rather than failing, because devices are sloppy with spacing.
pub fn parse_params(s: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ',' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect::<String>().to_ascii_lowercase();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            // A bare token (e.g. a scheme name): skip it.
            continue;
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1; // closing quote (or past the end)
        } else {
            while i < chars.len() && chars[i] != ',' && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

/// The parameters after a scheme name, when `header` starts with that scheme (case-insensitive).
pub fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let h = header.trim_start();
    let head = h.get(..scheme.len())?;
    if !head.eq_ignore_ascii_case(scheme) {
        return None;
    }
    let rest = &h[scheme.len()..];
    if rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace()) { Some(rest) } else { None }
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Parses one `WWW-Authenticate` header value.
pub fn parse_challenge(header: &str) -> Result<Challenge, ChallengeError> {
    let rest = strip_scheme(header, "Digest").ok_or(ChallengeError::NotDigest)?;
    let params = parse_params(rest);
    let realm = param(&params, "realm").unwrap_or("").to_string();
    let nonce = param(&params, "nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ChallengeError::Unsupported("Digest challenge without a nonce".into()))?
        .to_string();
    let algorithm_token = param(&params, "algorithm").map(str::to_string);
    let algorithm = match algorithm_token.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("MD5") => Algorithm::Md5,
        Some("MD5-SESS") => Algorithm::Md5Sess,
        Some(other) => return Err(ChallengeError::Unsupported(format!("Digest algorithm {other}"))),
    };
    let qop_auth = match param(&params, "qop") {
        None => false,
        Some(q) => {
            if q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")) {
                true
            } else {
                return Err(ChallengeError::Unsupported(format!("Digest qop {q}")));
            }
        }
    };
    let stale = param(&params, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true"));
    Ok(Challenge {
        realm,
        nonce,
        opaque: param(&params, "opaque").map(str::to_string),
        algorithm,
        algorithm_token,
        qop_auth,
        stale,
    })
}

/// Picks the challenge to answer among all `WWW-Authenticate` headers of a 401 (servers may offer
/// SHA-256 and MD5 side by side).
pub fn pick_challenge<'a>(headers: impl IntoIterator<Item = &'a str>) -> Result<Challenge, ChallengeError> {
    let mut err = ChallengeError::NotDigest;
    for h in headers {
        match parse_challenge(h) {
            Ok(c) => return Ok(c),
            Err(ChallengeError::Unsupported(why)) => err = ChallengeError::Unsupported(why),
            Err(ChallengeError::NotDigest) => {}
        }
    }
    Err(err)
}

pub fn md5_hex(data: &str) -> String {
    let digest = Md5::digest(data.as_bytes());
    let mut s = String::with_capacity(32);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The request-digest of RFC 7616 §3.4.1. `qop` is `Some("auth")` or `None` (RFC 2069 form, where
/// `nc` and `cnonce` are not used).
#[allow(clippy::too_many_arguments)]
pub fn compute_response(
    algorithm: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: Option<&str>,
    method: &str,
    uri: &str,
) -> String {
    let mut ha1 = md5_hex(&format!("{username}:{realm}:{password}"));
    if algorithm == Algorithm::Md5Sess {
        ha1 = md5_hex(&format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    match qop {
        Some(qop) => md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")),
        None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A cached challenge and its nonce count. Reusing the nonce saves a 401 round trip per request;
/// the count must increase with every use or the server treats the request as a replay.
#[derive(Debug, Clone)]
pub struct DigestSession {
    pub challenge: Challenge,
    nc: u32,
}

impl DigestSession {
    pub fn new(challenge: Challenge) -> Self {
        DigestSession { challenge, nc: 0 }
    }

    /// The `Authorization` header value for one request, with a fresh cnonce.
    pub fn authorization(&mut self, method: &str, uri: &str, username: &str, password: &str) -> String {
        let cnonce = {
            use rand::RngCore;
            let mut b = [0u8; 12];
            rand::thread_rng().fill_bytes(&mut b);
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        };
        self.authorization_with(method, uri, username, password, &cnonce)
    }

    /// As [`Self::authorization`] with a given cnonce, so tests can replay the RFC examples.
    pub fn authorization_with(
        &mut self,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
    ) -> String {
        self.nc = self.nc.wrapping_add(1);
        let c = &self.challenge;
        let nc = format!("{:08x}", self.nc);
        let qop = c.qop_auth.then_some("auth");
        let response = compute_response(
            c.algorithm,
            username,
            &c.realm,
            password,
            &c.nonce,
            &nc,
            cnonce,
            qop,
            method,
            uri,
        );
        let mut h = format!(
            "Digest username={}, realm={}, nonce={}, uri={}",
            quote(username),
            quote(&c.realm),
            quote(&c.nonce),
            quote(uri)
        );
        if let Some(alg) = &c.algorithm_token {
            h.push_str(&format!(", algorithm={alg}"));
        }
        h.push_str(&format!(", response={}", quote(&response)));
        if qop.is_some() {
            h.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce)));
        }
        if let Some(opaque) = &c.opaque {
            h.push_str(&format!(", opaque={}", quote(opaque)));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p<'a>(params: &'a [(String, String)], k: &str) -> &'a str {
        param(params, k).unwrap_or_default()
    }

    #[test]
    fn rfc2617_worked_example() {
        let c = parse_challenge(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert_eq!(c.realm, "testrealm@host.com");
        assert!(c.qop_auth);
        assert_eq!(c.algorithm, Algorithm::Md5);
        let mut s = DigestSession::new(c);
        let h = s.authorization_with("GET", "/dir/index.html", "Mufasa", "Circle Of Life", "0a4f113b");
        let params = parse_params(strip_scheme(&h, "Digest").unwrap());
        assert_eq!(p(&params, "response"), "6629fae49393a05397450978507c4ef1");
        assert_eq!(p(&params, "nc"), "00000001");
        assert_eq!(p(&params, "qop"), "auth");
        assert_eq!(p(&params, "opaque"), "5ccc069c403ebaf9f0171e9517f40e41");
        assert_eq!(p(&params, "uri"), "/dir/index.html");
    }

    #[test]
    fn rfc7616_md5_worked_example_and_nc_increments() {
        let headers = [
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        ];
        let c = pick_challenge(headers).unwrap();
        assert_eq!(c.algorithm_token.as_deref(), Some("MD5"));
        let mut s = DigestSession::new(c);
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let h = s.authorization_with("GET", "/dir/index.html", "Mufasa", "Circle of Life", cnonce);
        let params = parse_params(strip_scheme(&h, "Digest").unwrap());
        assert_eq!(p(&params, "response"), "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(p(&params, "algorithm"), "MD5");
        assert_eq!(p(&params, "cnonce"), cnonce);
        let h2 = s.authorization_with("GET", "/dir/index.html", "Mufasa", "Circle of Life", cnonce);
        assert_eq!(p(&parse_params(strip_scheme(&h2, "Digest").unwrap()), "nc"), "00000002");
    }

    #[test]
    fn rejects_what_it_cannot_answer() {
        assert_eq!(parse_challenge(r#"Basic realm="x""#), Err(ChallengeError::NotDigest));
        assert!(matches!(
            parse_challenge(r#"Digest realm="x", nonce="n", algorithm=SHA-256"#),
            Err(ChallengeError::Unsupported(_))
        ));
        assert!(matches!(
            parse_challenge(r#"Digest realm="x", nonce="n", qop="auth-int""#),
            Err(ChallengeError::Unsupported(_))
        ));
        assert!(matches!(parse_challenge(r#"Digest realm="x""#), Err(ChallengeError::Unsupported(_))));
        let c = parse_challenge(r#"digest realm="a\"b", nonce=abc, stale=TRUE"#).unwrap();
        assert_eq!(c.realm, "a\"b");
        assert_eq!(c.nonce, "abc");
        assert!(c.stale && !c.qop_auth);
    }

    #[test]
    fn legacy_form_without_qop() {
        let r = compute_response(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "",
            "",
            None,
            "GET",
            "/dir/index.html",
        );
        // MD5(HA1:nonce:HA2), computed independently with Python's hashlib.
        assert_eq!(r, "670fd8c2df070c60b045671b8b24ff02");
    }

    #[test]
    fn param_parser_survives_garbage() {
        for s in ["", "=", "\"", "a=\"", "a=\"\\", ",,,", "a b c", "Digest", "x=1,y", "é=ü"] {
            let _ = parse_params(s);
            let _ = parse_challenge(s);
        }
    }
}
