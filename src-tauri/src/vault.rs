//! 密钥保管 — secrets in the OS keyring, never in the database or the venue file: the roster key,
//! device passwords, and later the service-system credentials and the export signing key.
//!
//! The backend is chosen once per process: the desktop's Secret Service when a session bus offers
//! one (it survives reboots and is unlocked with the desktop login), otherwise the Linux kernel
//! keyring, which needs no daemon and so works on headless workstations and in CI.
//! `VENUE_DESK_KEYRING=kernel|secret-service` forces one. `kernel-session` keeps the keys in the
//! session keyring instead, so they end with the session: the test run uses it (inside
//! `keyctl session`), so that it neither fills the user keyring nor touches a desktop's login
//! keyring. On Windows it is the Credential Manager.

use std::sync::OnceLock;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};

const SERVICE_PREFIX: &str = "org.venuedesk.desk";

static BACKEND: OnceLock<&'static str> = OnceLock::new();

/// Which keyring this process uses (shown on the device/health screens and in logs).
pub fn backend() -> &'static str {
    BACKEND.get_or_init(choose_backend)
}

#[cfg(not(target_os = "linux"))]
fn choose_backend() -> &'static str {
    // keyring's platform store (the Windows Credential Manager) is its default builder.
    "windows-credential-manager"
}

#[cfg(target_os = "linux")]
fn choose_backend() -> &'static str {
    use linux_keyutils::KeyRingIdentifier::{Session, User};
    let forced = std::env::var("VENUE_DESK_KEYRING").unwrap_or_default();
    let use_secret_service = match forced.as_str() {
        "kernel" | "kernel-session" => false,
        "secret-service" => true,
        _ => std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() && secret_service_answers(),
    };
    if use_secret_service {
        keyring::set_default_credential_builder(keyring::secret_service::default_credential_builder());
        return "secret-service";
    }
    let ring = if forced == "kernel-session" { Session } else { User };
    keyring::set_default_credential_builder(Box::new(kernel::KernelStore(ring)));
    // Which kernel keyring is a detail of placement: the journal, the service system and the
    // 数据同步 screen know two kinds of keyring.
    "kernel"
}

/// The kernel keyring store: each secret is a "user" key in the user's own keyring (`@u`), which
/// lives as long as the kernel does, whatever the login sessions (or, for throw-away runs, in the
/// session keyring).
///
/// keyring's keyutils store puts keys in the session keyring, links them to the persistent one,
/// and links them again on every read. On a machine without a login session's keyring (a service,
/// CI, a chroot) those links were refused now and then with EACCES, which it reports as "no such
/// entry": the sender then found no credentials it had, and `Vault::key` would have replaced a
/// roster key (`concurrent_readers_always_find_a_stored_key`). Reading here never links.
#[cfg(target_os = "linux")]
mod kernel {
    use keyring::credential::{Credential, CredentialApi, CredentialBuilderApi, CredentialPersistence};
    use linux_keyutils::{KeyError, KeyPermissions, KeyRing, KeyRingIdentifier, Permission};

    /// The store, over the keyring it keeps its keys in.
    #[derive(Debug)]
    pub struct KernelStore(pub KeyRingIdentifier);

    impl CredentialBuilderApi for KernelStore {
        fn build(
            &self,
            _target: Option<&str>,
            service: &str,
            user: &str,
        ) -> keyring::Result<Box<Credential>> {
            Ok(Box::new(KernelKey { description: format!("keyring-rs:{user}@{service}"), ring: self.0 }))
        }

        fn as_any(&self) -> &dyn std::any::Any {
            self
        }

        fn persistence(&self) -> CredentialPersistence {
            CredentialPersistence::UntilReboot
        }
    }

    /// The description keeps keyring's format, so keys stored by earlier releases are found.
    #[derive(Debug)]
    struct KernelKey {
        description: String,
        ring: KeyRingIdentifier,
    }

    /// Everything for the owning user, nothing for group and others.
    fn owner_only() -> KeyPermissions {
        let mut p = KeyPermissions::new();
        p.set_posessor_perms(Permission::ALL);
        p.set_user_perms(Permission::ALL);
        p
    }

    fn failure(e: KeyError) -> keyring::Error {
        match e {
            KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired => {
                keyring::Error::NoEntry
            }
            other => keyring::Error::PlatformFailure(format!("kernel keyring: {other:?}").into()),
        }
    }

    impl CredentialApi for KernelKey {
        fn set_secret(&self, secret: &[u8]) -> keyring::Result<()> {
            if secret.is_empty() {
                return Err(keyring::Error::Invalid("secret".into(), "cannot be empty".into()));
            }
            add_owned(self.keyring()?, &self.description, secret).map(|_| ()).map_err(failure)
        }

        fn get_secret(&self) -> keyring::Result<Vec<u8>> {
            let found = self.keyring()?.search(&self.description).or_else(|e| match e {
                // Written by an earlier release into the session and persistent keyrings.
                KeyError::KeyDoesNotExist if self.ring == KeyRingIdentifier::User => {
                    legacy(&self.description)
                }
                other => Err(other),
            });
            found.and_then(|k| k.read_to_vec()).map_err(failure)
        }

        fn delete_credential(&self) -> keyring::Result<()> {
            self.keyring()?.search(&self.description).and_then(|k| k.invalidate()).map_err(failure)
        }

        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    impl KernelKey {
        fn keyring(&self) -> keyring::Result<KeyRing> {
            KeyRing::from_special_id(self.ring, true).map_err(failure)
        }
    }

    /// Adds the key to `ring` readable by every process of the owner. The owner may read it
    /// without "possessing" it (through its session keyring): another process of the same user,
    /// e.g. `venue-desk record` beside the window. Only a possessor may set those permissions,
    /// and a key added straight to `@u` is not possessed where the session keyring does not link
    /// `@u` (`keyctl session`, systemd's `KeyringMode=private`): there it failed with EACCES. So
    /// the key is made in the process keyring, which this process always possesses, and then
    /// moved; the link into `ring` replaces an older key of the same name.
    fn add_owned(ring: KeyRing, description: &str, secret: &[u8]) -> Result<linux_keyutils::Key, KeyError> {
        let staging = KeyRing::from_special_id(KeyRingIdentifier::Process, true)?;
        let key = staging.add_key(description, secret)?;
        key.set_perms(owner_only())?;
        ring.link_key(key)?;
        staging.unlink_key(key)?;
        Ok(key)
    }

    /// A key an earlier release left in the session or persistent keyring, copied into the user
    /// keyring so later reads find it there.
    fn legacy(description: &str) -> Result<linux_keyutils::Key, KeyError> {
        let key = KeyRing::from_special_id(KeyRingIdentifier::Session, false)?.search(description)?;
        let secret = key.read_to_vec()?;
        add_owned(KeyRing::from_special_id(KeyRingIdentifier::User, true)?, description, &secret)
    }
}

#[cfg(target_os = "linux")]
fn secret_service_answers() -> bool {
    let probe = keyring::secret_service::default_credential_builder()
        .build(None, SERVICE_PREFIX, "probe")
        .map(keyring::Entry::new_with_credential);
    match probe {
        Ok(entry) => matches!(entry.get_password(), Ok(_) | Err(keyring::Error::NoEntry)),
        Err(_) => false,
    }
}

/// The keyring entries of one venue.
#[derive(Debug, Clone)]
pub struct Vault {
    service: String,
}

impl Vault {
    pub fn new(venue_code: &str) -> Vault {
        backend();
        Vault { service: format!("{SERVICE_PREFIX}/{venue_code}") }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, name).map_err(|e| unavailable(name, &e))
    }

    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(name)?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(name, &e)),
        }
    }

    pub fn set(&self, name: &str, secret: &[u8]) -> Result<()> {
        self.entry(name)?.set_secret(secret).map_err(|e| unavailable(name, &e))
    }

    pub fn get_text(&self, name: &str) -> Result<Option<String>> {
        self.get(name)?
            .map(|b| {
                String::from_utf8(b).map_err(|_| {
                    Error::new(
                        ErrorKind::DataLoss,
                        format!("系统密钥环中的“{name}”不是文本，请由管理员重新设置。"),
                        format!(
                            "The keyring entry “{name}” is not text; an administrator must set it again."
                        ),
                    )
                })
            })
            .transpose()
    }

    /// A 32-byte key, created on first use. Losing it makes what it sealed unreadable, which is the
    /// point for rosters (purged anyway) but is reported clearly rather than as corrupt data.
    pub fn key(&self, name: &str) -> Result<[u8; 32]> {
        if let Some(bytes) = self.get(name)? {
            return bytes.try_into().map_err(|_| {
                Error::new(
                    ErrorKind::DataLoss,
                    format!("系统密钥环中的密钥“{name}”长度不对，无法使用。请联系系统管理员。"),
                    format!(
                        "The key “{name}” in the OS keyring has the wrong length. Call the administrator."
                    ),
                )
            });
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        self.set(name, &key)?;
        Ok(key)
    }
}

fn unavailable(name: &str, e: &keyring::Error) -> Error {
    tracing::warn!(entry = name, error = %e, backend = backend(), "keyring failed");
    Error::new(
        ErrorKind::Unavailable,
        format!(
            "无法访问系统密钥环（{}）中的“{name}”：{e}。请确认已登录桌面会话，或请系统管理员检查密钥环服务。",
            backend()
        ),
        format!(
            "The OS keyring ({}) could not be used for “{name}”: {e}. Make sure the desktop session is \
             unlocked, or ask the administrator to check the keyring service.",
            backend()
        ),
    )
}

/// Encrypts records at rest (ChaCha20-Poly1305) and derives lookup tags (HMAC-SHA-256), both from
/// one keyring key, so a copied database file reveals neither names nor ID numbers.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    tag_key: [u8; 32],
}

impl Sealer {
    pub fn new(master: &[u8; 32]) -> Sealer {
        let derive = |label: &[u8]| -> [u8; 32] { hmac_sha256(master, label) };
        Sealer {
            cipher: ChaCha20Poly1305::new(&derive(b"venue-desk seal v1").into()),
            tag_key: derive(b"venue-desk lookup v1"),
        }
    }

    /// `context` binds the ciphertext to its row (e.g. the roster entry's session), so sealed
    /// values cannot be swapped between rows unnoticed.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .expect("ChaCha20-Poly1305 encryption cannot fail for in-memory data");
        out.extend(sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let fail = || {
            Error::new(
                ErrorKind::DataLoss,
                "加密保存的名单无法解密：系统密钥环中的名单密钥已更换或丢失。请重新导入该场次名单。",
                "An encrypted roster record cannot be decrypted: the roster key in the OS keyring was \
                 replaced or lost. Import the session's roster again.",
            )
        };
        if sealed.len() < 12 {
            return Err(fail());
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context }).map_err(|_| fail())
    }

    /// A stable tag for equality lookups of a secret value (hex).
    pub fn tag(&self, value: &str) -> String {
        hex::encode(hmac_sha256(&self.tag_key, value.as_bytes()))
    }
}

/// RFC 2104 HMAC over SHA-256.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new().chain_update(ipad).chain_update(message).finalize();
    Sha256::new().chain_update(opad).chain_update(inner).finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_style_vector() {
        // RFC 4231 test case 2 uses a 4-byte key; with the key zero-padded to 32 bytes HMAC is the same.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let sealer = Sealer::new(&[7u8; 32]);
        let sealed = sealer.seal("张三".as_bytes(), b"entry:1");
        assert_eq!(sealer.open(&sealed, b"entry:1").unwrap(), "张三".as_bytes());
        assert_eq!(sealer.open(&sealed, b"entry:2").unwrap_err().kind, ErrorKind::DataLoss);
        assert!(Sealer::new(&[8u8; 32]).open(&sealed, b"entry:1").is_err());
        assert!(sealer.open(&sealed[..5], b"entry:1").is_err());
        assert_eq!(sealer.tag("x"), sealer.tag("x"));
        assert_ne!(sealer.tag("x"), Sealer::new(&[8u8; 32]).tag("x"));
    }

    /// An upgrade keeps the venue's keys only because the new release looks them up under the same
    /// service name: renaming it would orphan every installed workstation's roster key and secrets.
    #[test]
    fn keyring_service_names_stay_the_same_across_releases() {
        assert_eq!(Vault::new("GZ-JYZX-01").service, "org.venuedesk.desk/GZ-JYZX-01");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn concurrent_readers_always_find_a_stored_key() {
        let vault = Vault::new(&format!("unit-{}", uuid::Uuid::new_v4()));
        vault.set("a", b"first").unwrap();
        vault.set("b", b"second").unwrap();
        let misses: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let vault = &vault;
                    s.spawn(move || {
                        let name = if i % 2 == 0 { "a" } else { "b" };
                        (0..200).filter(|_| vault.get(name).unwrap().is_none()).count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(misses, 0, "a key that exists was reported missing");
    }

    /// The test run keeps its keys in a session keyring (`kernel-session`); the store a headless
    /// workstation uses is the user keyring, checked here directly, and left as it was found.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_user_keyring_store_keeps_reads_and_deletes_a_key() {
        use keyring::credential::CredentialBuilderApi;
        let store = kernel::KernelStore(linux_keyutils::KeyRingIdentifier::User);
        let service = format!("{SERVICE_PREFIX}/unit-{}", uuid::Uuid::new_v4());
        let key = store.build(None, &service, "roster-key").unwrap();
        assert!(matches!(key.get_secret(), Err(keyring::Error::NoEntry)));
        key.set_secret(b"secret").unwrap();
        // Another process of the same user reads it through the user keyring, not a session.
        let found = linux_keyutils::KeyRing::from_special_id(linux_keyutils::KeyRingIdentifier::User, false)
            .unwrap()
            .search(&format!("keyring-rs:roster-key@{service}"))
            .unwrap();
        assert_eq!(found.read_to_vec().unwrap(), b"secret");
        assert_eq!(key.get_secret().unwrap(), b"secret");
        key.delete_credential().unwrap();
        assert!(matches!(key.get_secret(), Err(keyring::Error::NoEntry)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_keyring_keeps_a_key() {
        let vault = Vault::new(&format!("unit-{}", uuid::Uuid::new_v4()));
        let a = vault.key("roster").unwrap();
        assert_eq!(vault.key("roster").unwrap(), a);
        assert_eq!(vault.get("absent").unwrap(), None);
    }
}
