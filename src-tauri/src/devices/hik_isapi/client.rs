//! Authenticated ISAPI requests: HTTP exchange plus the Digest/Basic handshake, with every failure
//! turned into an operator-facing [`Error`] that names the controller's address.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::IsapiSettings;
use super::digest::{self, ChallengeError, DigestSession};
use super::http::{self, Body, Endpoint, Head, HttpError};
use crate::error::{Error, ErrorKind, Result};

/// A complete response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

pub struct Client {
    endpoint: std::result::Result<Endpoint, String>,
    base_url: String,
    username: String,
    password: String,
    basic: bool,
    timeout: Duration,
    /// The last Digest challenge, reused with an increasing nonce count so that steady-state
    /// requests take one round trip.
    session: Mutex<Option<DigestSession>>,
}

impl Client {
    pub fn new(settings: &IsapiSettings) -> Self {
        Client {
            endpoint: Endpoint::parse(&settings.base_url),
            base_url: settings.base_url.clone(),
            username: settings.username.clone(),
            password: settings.password.clone(),
            basic: settings.basic_auth,
            timeout: Duration::from_millis(settings.timeout_ms.max(1)),
            session: Mutex::new(None),
        }
    }

    /// `host:port` for messages, or the configured URL when it does not parse.
    pub fn address(&self) -> String {
        match &self.endpoint {
            Ok(e) => e.authority(),
            Err(_) => self.base_url.clone(),
        }
    }

    fn endpoint(&self) -> Result<&Endpoint> {
        self.endpoint.as_ref().map_err(|why| {
            Error::invalid(
                format!(
                    "门禁控制器地址“{}”无效（{why}）：请在设备设置中填写 http://IP:端口。",
                    self.base_url
                ),
                format!(
                    "The door controller address \"{}\" is not valid ({why}): enter http://IP:port in the \
                     device settings.",
                    self.base_url
                ),
            )
        })
    }

    pub fn unavailable(&self, detail: &dyn std::fmt::Display) -> Error {
        let addr = self.address();
        tracing::warn!(controller = %addr, %detail, "door controller unreachable");
        Error::new(
            ErrorKind::Unavailable,
            format!("门禁控制器 {addr} 无响应：请检查设备电源和网络，然后重试。"),
            format!(
                "The door controller at {addr} does not respond ({detail}): check its power and network, \
                 then try again."
            ),
        )
    }

    pub fn not_isapi(&self, detail: &str) -> Error {
        let addr = self.address();
        tracing::warn!(controller = %addr, %detail, "door controller answer not understood");
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "门禁控制器 {addr} 的应答不是 ISAPI 格式（{detail}）：请确认该地址是海康门禁控制器，并检查其固件，然后重试。"
            ),
            format!(
                "The controller at {addr} answered something that is not ISAPI ({detail}): check that the \
                 address belongs to a Hikvision door controller and check its firmware, then try again."
            ),
        )
    }

    fn credentials_rejected(&self) -> Error {
        let addr = self.address();
        Error::precondition(
            format!(
                "门禁控制器 {addr} 拒绝了用户名或密码：请在设备设置中核对账号和密码。多次失败会使设备暂时锁定该账号。"
            ),
            format!(
                "The door controller at {addr} rejected the credentials: check the user name and password in \
                 the device settings. Repeated failures make the device lock the account for a while."
            ),
        )
    }

    fn auth_unsupported(&self, why: &str) -> Error {
        let addr = self.address();
        Error::precondition(
            format!(
                "门禁控制器 {addr} 要求的认证方式不受支持（{why}）：请在设备上启用 Digest（MD5）或 Basic 认证。"
            ),
            format!(
                "The door controller at {addr} asks for an authentication this program does not support \
                 ({why}): enable Digest (MD5) or Basic authentication on the device."
            ),
        )
    }

    fn transport(&self, e: HttpError) -> Error {
        match e {
            HttpError::Malformed(m) => self.not_isapi(&m),
            other => self.unavailable(&other),
        }
    }

    /// Sends a request, answering authentication challenges, and returns the response head with
    /// the body still on the wire. At most one fresh challenge is answered per call: a second 401
    /// means the password is wrong, and retrying would only make the device lock the account.
    pub fn open(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(Head, Body)> {
        let ep = self.endpoint()?;
        let target = format!("{}{}", ep.prefix, path);
        let deadline = Instant::now() + self.timeout;
        let mut fresh = false;
        for _ in 0..3 {
            let auth = if self.basic {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", self.username, self.password));
                Some(format!("Basic {token}"))
            } else {
                let mut s = self.session.lock().unwrap_or_else(|p| p.into_inner());
                s.as_mut().map(|s| s.authorization(method, &target, &self.username, &self.password))
            };
            let mut headers: Vec<(&str, String)> = Vec::new();
            if let Some(a) = &auth {
                headers.push(("Authorization", a.clone()));
            }
            if let Some(ct) = content_type {
                headers.push(("Content-Type", ct.to_string()));
            }
            let (head, body) =
                http::send(ep, method, &target, &headers, body, deadline).map_err(|e| self.transport(e))?;
            if head.status != 401 {
                return Ok((head, body));
            }
            if self.basic {
                return Err(self.credentials_rejected());
            }
            let challenge = match digest::pick_challenge(head.headers_named("www-authenticate")) {
                Ok(c) => c,
                Err(ChallengeError::Unsupported(why)) => return Err(self.auth_unsupported(&why)),
                Err(ChallengeError::NotDigest) => {
                    if head
                        .headers_named("www-authenticate")
                        .any(|h| digest::strip_scheme(h, "Basic").is_some())
                    {
                        return Err(
                            self.auth_unsupported("Basic only; turn on basic_auth for this controller")
                        );
                    }
                    return Err(self.credentials_rejected());
                }
            };
            // A digest answered to a challenge fetched in this very call was computed correctly;
            // unless the server says only the nonce was stale, the credentials are wrong.
            if auth.is_some() && fresh && !challenge.stale {
                return Err(self.credentials_rejected());
            }
            *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(DigestSession::new(challenge));
            fresh = true;
        }
        Err(self.credentials_rejected())
    }

    /// A whole request and response within the timeout.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Reply> {
        let started = Instant::now();
        let (head, rest) = self.open(method, path, content_type, body)?;
        let body = rest.read_all(started + self.timeout).map_err(|e| self.transport(e))?;
        Ok(Reply { status: head.status, body })
    }
}
