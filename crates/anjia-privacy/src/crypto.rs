//! Field encryption, crypto-shredding, blind indexes and pseudonyms (PRIVACY.md PRV-13, PRV-26,
//! PRV-32; layout fixed by `docs/PRIVACY-DESIGN.md`).
//!
//! # Keys
//! * [`KeyRing`] — the secrets that are **not** in the database: key-encryption keys (KEKs, 32 bytes,
//!   by version `u32`, one current), the blind-index key (32 bytes) and the audit signing key
//!   (an Ed25519 seed, 32 bytes, RFC 8032 §5.1.5). Loaded from a key file or from the environment.
//! * [`DataKey`] — a random 256-bit key per subject (and [`KeyKind`]); stored only wrapped by a KEK in
//!   the key vault. Destroying the wrapped key makes every copy of the subject's ciphertext
//!   unreadable (crypto-shredding, PRV-26).
//!
//! # Formats (all integers big-endian)
//! * wrapped data key: `"ajk1" | kek_version: u32 | nonce: 12 bytes | AES-256-GCM(dek) ‖ tag: 16` =
//!   68 bytes, AAD `"<subject id>|<kind>"` with kind `data` or `legal_hold`.
//! * sealed field: `"ajf1" | dek_version: u32 | nonce: 12 bytes | AES-256-GCM(plaintext) ‖ tag: 16`,
//!   AAD `"<table>.<column>|<subject id>"` ([`FieldContext`]).
//!
//! AES-256-GCM per NIST SP 800-38D with random 96-bit nonces from the operating system's CSPRNG
//! (§8.2.2: random nonces keep the collision probability below 2⁻³² for up to 2³² messages per key;
//! a data key seals one subject's fields, far below that; a KEK wraps one key per subject and kind,
//! so rotate KEKs well before 2³² wraps).
//!
//! # Key file (TOML, mode 0600, refused if group/other may read it)
//! ```toml
//! # anjia key file, format 1. Keep it outside the database and its backups.
//! format = 1
//! current_kek = 2
//! blind_index_key = "<base64, 32 bytes>"
//! audit_signing_seed = "<base64, 32 bytes>"
//!
//! [kek]
//! 1 = "<base64, 32 bytes>"
//! 2 = "<base64, 32 bytes>"
//! ```
//! Base64 is the standard alphabet with padding (RFC 4648 §4), 44 characters for 32 bytes.
//!
//! # Environment (alternative to the file)
//! `ANJIA_KEK_<version>=<base64>` (one or more), `ANJIA_KEK_CURRENT=<version>`,
//! `ANJIA_BLIND_INDEX_KEY=<base64>`, `ANJIA_AUDIT_SIGNING_SEED=<base64>`.
//!
//! No error message or `Debug` output ever contains key bytes or plaintext.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{self, AeadInPlace, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::pi::{Email, IdNumber, Phone, RealName};

type HmacSha256 = Hmac<Sha256>;

/// Length of every symmetric key here (KEK, data key, blind-index key, Ed25519 seed), in bytes.
pub const KEY_LEN: usize = 32;
/// AES-GCM nonce length in bytes (96 bits, NIST SP 800-38D §8.2).
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length in bytes (128 bits).
pub const TAG_LEN: usize = 16;
/// Magic prefix of a wrapped data key.
pub const WRAPPED_MAGIC: &[u8; 4] = b"ajk1";
/// Magic prefix of a sealed field.
pub const SEALED_MAGIC: &[u8; 4] = b"ajf1";
/// Header length of both formats: magic (4) + version (4) + nonce (12).
pub const HEADER_LEN: usize = 4 + 4 + NONCE_LEN;
/// Length of a wrapped data key: header + 32-byte key + tag.
pub const WRAPPED_LEN: usize = HEADER_LEN + KEY_LEN + TAG_LEN;

/// A 32-byte secret on the heap, zeroized on drop; `Debug` prints `[REDACTED]`.
type Secret32 = SecretBox<[u8; KEY_LEN]>;

/// Errors of key loading and of the cryptographic operations. Messages name keys and files but
/// never contain key bytes, plaintext or the offending value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// [`KeyRing::generate_file`] refuses to overwrite an existing file.
    #[error("key file {0} already exists; refusing to overwrite it")]
    AlreadyExists(PathBuf),
    /// The key file may be read by group or others (Unix mode shown in octal).
    #[error(
        "key file {path} has mode {mode:o}; it must not be accessible to group or others (chmod 600)"
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not TOML of the documented shape; only the byte offset is given, so that
    /// no key material ends up in a log.
    #[error("key file is not valid (expected the documented TOML shape){}", .offset.map(|o| format!(" near byte {o}")).unwrap_or_default())]
    KeyFileSyntax {
        /// Byte offset of the problem, when known.
        offset: Option<usize>,
    },
    /// A key is not valid base64 (RFC 4648 §4, with padding).
    #[error("key {name} is not valid base64")]
    BadBase64 {
        /// The key's name (`kek 2`, `ANJIA_BLIND_INDEX_KEY`, …).
        name: String,
    },
    /// A key has the wrong length.
    #[error("key {name} has {found} bytes, expected {expected}")]
    WrongKeyLength {
        /// The key's name.
        name: String,
        /// Required length in bytes.
        expected: usize,
        /// Decoded length in bytes.
        found: usize,
    },
    /// A required key or setting is missing.
    #[error("missing {name}")]
    MissingKey {
        /// What is missing (`current_kek`, `ANJIA_KEK_CURRENT`, `kek 3`, …).
        name: String,
    },
    /// A version number is not a `u32`.
    #[error("{name} is not a key version (an unsigned 32-bit integer)")]
    BadVersion {
        /// Where the version was expected.
        name: String,
    },
    /// A ciphertext names a KEK or data-key version that is not available.
    #[error("unknown key version {0}")]
    UnknownKeyVersion(u32),
    /// A sealed field names another data-key version than the [`FieldCipher`] holds.
    #[error("ciphertext is for data key version {found}, this cipher holds version {expected}")]
    KeyVersionMismatch {
        /// The cipher's version.
        expected: u32,
        /// The ciphertext's version.
        found: u32,
    },
    /// The current KEK cannot be removed.
    #[error("KEK version {0} is current and cannot be removed")]
    CurrentKekRemoval(u32),
    /// Not a wrapped key / sealed field: too short or wrong magic.
    #[error("malformed ciphertext (too short or wrong format tag)")]
    BadFormat,
    /// Authentication failed: wrong key, wrong subject/context/kind, or the bytes were altered.
    #[error("decryption failed (wrong key or context, or the ciphertext was altered)")]
    Decrypt,
    /// The field context is not `<table>.<column>|<subject>` with identifier table and column.
    #[error("invalid field context (table and column must be [A-Za-z0-9_]+, subject non-empty)")]
    BadContext,
    /// The decrypted bytes are not UTF-8 ([`FieldCipher::open_string`]).
    #[error("decrypted field is not UTF-8")]
    NotUtf8,
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// Not a pseudonym (32 lowercase hex characters).
    #[error("not a pseudonym (32 lowercase hex characters)")]
    BadPseudonym,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    OsRng.try_fill_bytes(&mut b).map_err(|_| CryptoError::Rng)?;
    Ok(b)
}

fn random_secret() -> Result<Secret32, CryptoError> {
    let mut s: Secret32 = SecretBox::default();
    OsRng
        .try_fill_bytes(s.expose_secret_mut())
        .map_err(|_| CryptoError::Rng)?;
    Ok(s)
}

fn decode_key(name: &str, b64: &str) -> Result<Secret32, CryptoError> {
    let bytes = Zeroizing::new(B64.decode(b64.trim()).map_err(|_| CryptoError::BadBase64 {
        name: name.to_string(),
    })?);
    if bytes.len() != KEY_LEN {
        return Err(CryptoError::WrongKeyLength {
            name: name.to_string(),
            expected: KEY_LEN,
            found: bytes.len(),
        });
    }
    let mut s: Secret32 = SecretBox::default();
    s.expose_secret_mut().copy_from_slice(&bytes);
    Ok(s)
}

fn encode_key(k: &Secret32) -> Zeroizing<String> {
    Zeroizing::new(B64.encode(k.expose_secret()))
}

fn gcm(key: &Secret32) -> Aes256Gcm {
    Aes256Gcm::new(key.expose_secret().into())
}

/// AES-256-GCM seal into `magic | version | nonce | ct ‖ tag` (one allocation).
fn seal_raw(
    aead: &Aes256Gcm,
    magic: &[u8; 4],
    version: u32,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = aead
        .encrypt_in_place_detached(&nonce.into(), aad, &mut out[HEADER_LEN..])
        .map_err(|_| CryptoError::Decrypt)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// `(version, nonce, ciphertext, tag)` of a wrapped key or sealed field.
type Parsed<'a> = (u32, [u8; NONCE_LEN], &'a [u8], [u8; TAG_LEN]);

/// Splits `magic | version | nonce | ct ‖ tag`; checks length and magic only.
fn parse_raw<'a>(magic: &[u8; 4], bytes: &'a [u8]) -> Result<Parsed<'a>, CryptoError> {
    if bytes.len() < HEADER_LEN + TAG_LEN || &bytes[..4] != magic {
        return Err(CryptoError::BadFormat);
    }
    let version = u32::from_be_bytes(bytes[4..8].try_into().map_err(|_| CryptoError::BadFormat)?);
    let nonce: [u8; NONCE_LEN] = bytes[8..HEADER_LEN]
        .try_into()
        .map_err(|_| CryptoError::BadFormat)?;
    let (ct, tag) = bytes[HEADER_LEN..].split_at(bytes.len() - HEADER_LEN - TAG_LEN);
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| CryptoError::BadFormat)?;
    Ok((version, nonce, ct, tag))
}

fn open_raw(
    aead: &Aes256Gcm,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
    tag: [u8; TAG_LEN],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut buf = Zeroizing::new(ct.to_vec());
    let tag: aead::Tag<Aes256Gcm> = tag.into();
    aead.decrypt_in_place_detached(&nonce.into(), aad, &mut buf, &tag)
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(buf)
}

/// The key version named by a wrapped data key (`"ajk1" | kek_version | …`).
///
/// # Errors
/// [`CryptoError::BadFormat`] if `wrapped` is not a wrapped key.
pub fn wrapped_kek_version(wrapped: &[u8]) -> Result<u32, CryptoError> {
    parse_raw(WRAPPED_MAGIC, wrapped).map(|(v, ..)| v)
}

/// The data-key version named by a sealed field (`"ajf1" | dek_version | …`), to pick the data key
/// from the vault before opening.
///
/// # Errors
/// [`CryptoError::BadFormat`] if `sealed` is not a sealed field.
pub fn sealed_dek_version(sealed: &[u8]) -> Result<u32, CryptoError> {
    parse_raw(SEALED_MAGIC, sealed).map(|(v, ..)| v)
}

/// What a data key protects; part of the wrap AAD, so a key wrapped as one kind cannot be
/// unwrapped as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The subject's ordinary data key: shredded at deletion/cancellation (PRV-26, PRV-27).
    Data,
    /// The key for records under a legal retention duty (orders: 3 years after completion under
    /// the E-commerce Law, PRV-22); shredded when the duty ends.
    LegalHold,
}

impl KeyKind {
    /// The name used in the wrap AAD: `data` or `legal_hold`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Data => "data",
            KeyKind::LegalHold => "legal_hold",
        }
    }
}

/// A subject's 256-bit data key (AES-256 key for [`FieldCipher`], HMAC key for the pseudonym).
/// Heap-allocated and zeroized on drop; `Debug` prints `DataKey([redacted])`. Not `Clone`.
pub struct DataKey(Secret32);

impl DataKey {
    /// A fresh random key from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`CryptoError::Rng`] if the OS generator fails.
    pub fn generate() -> Result<DataKey, CryptoError> {
        random_secret().map(DataKey)
    }

    /// The subject's pseudonym: the first 16 bytes of HMAC-SHA256(data key, `"pseudonym"`)
    /// (RFC 2104), as 32 lowercase hex characters. Deterministic per key; once the key is shredded
    /// the pseudonym can no longer be linked to the subject.
    pub fn pseudonym(&self) -> Pseudonym {
        let mut mac = hmac_sha256(self.0.expose_secret());
        mac.update(b"pseudonym");
        let tag = mac.finalize().into_bytes();
        Pseudonym(hex::encode(&tag[..16]))
    }

    /// A [`FieldCipher`] for this key, stored in the vault as version `dek_version`.
    pub fn cipher(&self, dek_version: u32) -> FieldCipher {
        FieldCipher::new(self, dek_version)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

fn hmac_sha256(key: &[u8; KEY_LEN]) -> HmacSha256 {
    // HMAC accepts keys of any length (RFC 2104 §2), so this cannot fail for a 32-byte key.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC-SHA256 accepts a 32-byte key")
}

/// A keyed pseudonym of a subject: 32 lowercase hex characters ([`DataKey::pseudonym`]).
/// Not PI by itself (the key is needed to link it), so it prints and serialises as-is (a JSON
/// string).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pseudonym(String);

impl Pseudonym {
    /// Accepts 32 lowercase hex characters.
    ///
    /// # Errors
    /// [`CryptoError::BadPseudonym`] otherwise.
    pub fn parse(s: &str) -> Result<Pseudonym, CryptoError> {
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Pseudonym(s.to_string()))
        } else {
            Err(CryptoError::BadPseudonym)
        }
    }

    /// The 32 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Pseudonym {
    type Error = CryptoError;
    fn try_from(s: String) -> Result<Pseudonym, CryptoError> {
        Pseudonym::parse(&s)
    }
}

impl From<Pseudonym> for String {
    fn from(p: Pseudonym) -> String {
        p.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a sealed value lives: AAD `"<table>.<column>|<subject>"`, so a ciphertext moved to another
/// column or another subject's row fails to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldContext<'a> {
    /// Table name, `[A-Za-z0-9_]+`.
    pub table: &'a str,
    /// Column name, `[A-Za-z0-9_]+`.
    pub column: &'a str,
    /// The subject id (32 lowercase hex per the design's `SubjectId`; any non-empty string is accepted).
    pub subject: &'a str,
}

impl<'a> FieldContext<'a> {
    /// A context from its parts (checked when used).
    pub fn new(table: &'a str, column: &'a str, subject: &'a str) -> FieldContext<'a> {
        FieldContext {
            table,
            column,
            subject,
        }
    }

    /// The AAD bytes, `"<table>.<column>|<subject>"`.
    ///
    /// # Errors
    /// [`CryptoError::BadContext`] unless table and column are `[A-Za-z0-9_]+` and the subject is
    /// non-empty (this keeps the encoding unambiguous).
    pub fn aad(&self) -> Result<Vec<u8>, CryptoError> {
        let ident =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ident(self.table) || !ident(self.column) || self.subject.is_empty() {
            return Err(CryptoError::BadContext);
        }
        let mut aad =
            Vec::with_capacity(self.table.len() + self.column.len() + self.subject.len() + 2);
        aad.extend_from_slice(self.table.as_bytes());
        aad.push(b'.');
        aad.extend_from_slice(self.column.as_bytes());
        aad.push(b'|');
        aad.extend_from_slice(self.subject.as_bytes());
        Ok(aad)
    }
}

/// AES-256-GCM field encryption with one subject's [`DataKey`] (PRV-13): the key schedule is set
/// up once, so sealing all fields of a record costs one setup.
pub struct FieldCipher {
    aead: Aes256Gcm,
    dek_version: u32,
}

impl FieldCipher {
    /// A cipher for `key`, which the vault stores as version `dek_version`.
    pub fn new(key: &DataKey, dek_version: u32) -> FieldCipher {
        FieldCipher {
            aead: gcm(&key.0),
            dek_version,
        }
    }

    /// The data-key version written into every sealed value.
    pub fn dek_version(&self) -> u32 {
        self.dek_version
    }

    /// Encrypts `plaintext` for `ctx`: `"ajf1" | dek_version u32 BE | 12-byte random nonce |
    /// ciphertext ‖ 16-byte tag` (plaintext length + 36 bytes).
    ///
    /// # Errors
    /// [`CryptoError::BadContext`], [`CryptoError::Rng`].
    pub fn seal(&self, ctx: &FieldContext<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_raw(
            &self.aead,
            SEALED_MAGIC,
            self.dek_version,
            &ctx.aad()?,
            plaintext,
        )
    }

    /// Decrypts a value made by [`FieldCipher::seal`] for the same key, version and context.
    ///
    /// # Errors
    /// [`CryptoError::BadFormat`] (not a sealed value), [`CryptoError::KeyVersionMismatch`],
    /// [`CryptoError::Decrypt`] (wrong key or context, or altered bytes),
    /// [`CryptoError::BadContext`]. Never panics.
    pub fn open(
        &self,
        ctx: &FieldContext<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (version, nonce, ct, tag) = parse_raw(SEALED_MAGIC, sealed)?;
        if version != self.dek_version {
            return Err(CryptoError::KeyVersionMismatch {
                expected: self.dek_version,
                found: version,
            });
        }
        open_raw(&self.aead, nonce, &ctx.aad()?, ct, tag)
    }

    /// [`FieldCipher::open`] for text fields.
    ///
    /// # Errors
    /// As [`FieldCipher::open`], plus [`CryptoError::NotUtf8`].
    pub fn open_string(
        &self,
        ctx: &FieldContext<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<String>, CryptoError> {
        let mut bytes = self.open(ctx, sealed)?;
        let v = std::mem::take(&mut *bytes);
        match String::from_utf8(v) {
            Ok(s) => Ok(Zeroizing::new(s)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(CryptoError::NotUtf8)
            }
        }
    }
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldCipher")
            .field("dek_version", &self.dek_version)
            .finish_non_exhaustive()
    }
}

/// Keyed lookups (PRV-13): HMAC-SHA256 (RFC 2104) with the blind-index key, as 64 lowercase hex
/// characters. Deterministic for a given key, so equal values give equal indexes; without the
/// key the index reveals nothing.
///
/// Message: `u32 BE length of domain | domain | value`, with a fixed domain per category
/// (`phone`, `id_number`, `email`, `real_name`), so equal strings of different categories do not
/// collide. The key is not versioned: changing it means recomputing every index.
pub struct BlindIndex(Secret32);

impl BlindIndex {
    /// A blind index with its own 32-byte key.
    pub fn new(key: SecretBox<[u8; KEY_LEN]>) -> BlindIndex {
        BlindIndex(key)
    }

    /// HMAC-SHA256 over `len(domain) | domain | value`, hex.
    pub fn compute(&self, domain: &str, value: &[u8]) -> String {
        let mut mac = hmac_sha256(self.0.expose_secret());
        mac.update(&(domain.len() as u32).to_be_bytes());
        mac.update(domain.as_bytes());
        mac.update(value);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Index of a normalised mobile number.
    pub fn phone(&self, phone: &Phone) -> String {
        self.compute("phone", phone.expose().as_bytes())
    }

    /// Index of a normalised identity-document number.
    pub fn id_number(&self, id: &IdNumber) -> String {
        self.compute("id_number", id.expose().as_bytes())
    }

    /// Index of an e-mail address (domain lower-cased by [`Email::parse`]).
    pub fn email(&self, email: &Email) -> String {
        self.compute("email", email.expose().as_bytes())
    }

    /// Index of a normalised real name.
    pub fn real_name(&self, name: &RealName) -> String {
        self.compute("real_name", name.expose().as_bytes())
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex([redacted])")
    }
}

/// The secrets kept outside the database (PRV-13): KEKs by version (one current), the
/// blind-index key and the audit signing seed. `Debug` shows versions only.
pub struct KeyRing {
    keks: BTreeMap<u32, Secret32>,
    current: u32,
    blind_index: BlindIndex,
    audit_seed: Secret32,
}

/// The key file as TOML (strings zeroized after use).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: u32,
    current_kek: u32,
    blind_index_key: String,
    audit_signing_seed: String,
    kek: BTreeMap<String, String>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.blind_index_key.zeroize();
        self.audit_signing_seed.zeroize();
        for v in self.kek.values_mut() {
            v.zeroize();
        }
    }
}

impl KeyRing {
    /// A fresh key ring: KEK version 1 (current), random blind-index key and audit seed.
    ///
    /// # Errors
    /// [`CryptoError::Rng`].
    pub fn generate() -> Result<KeyRing, CryptoError> {
        let mut keks = BTreeMap::new();
        keks.insert(1, random_secret()?);
        Ok(KeyRing {
            keks,
            current: 1,
            blind_index: BlindIndex(random_secret()?),
            audit_seed: random_secret()?,
        })
    }

    /// First start: generates a key ring and writes it to a **new** file at `path` with mode 0600.
    ///
    /// # Errors
    /// [`CryptoError::AlreadyExists`] if the file exists, [`CryptoError::Io`], [`CryptoError::Rng`].
    pub fn generate_file(path: &Path) -> Result<KeyRing, CryptoError> {
        if path.exists() {
            return Err(CryptoError::AlreadyExists(path.to_path_buf()));
        }
        let ring = KeyRing::generate()?;
        write_new_0600(path, ring.to_toml()?.as_bytes())?;
        Ok(ring)
    }

    /// Loads a key file (format in the module docs). On Unix the file must not be accessible to
    /// group or others.
    ///
    /// # Errors
    /// [`CryptoError::Io`], [`CryptoError::InsecurePermissions`] and the errors of
    /// [`KeyRing::from_toml`].
    pub fn load_file(path: &Path) -> Result<KeyRing, CryptoError> {
        let io = |source| CryptoError::Io {
            path: path.to_path_buf(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(CryptoError::InsecurePermissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        KeyRing::from_toml(&text)
    }

    /// Parses the key-file TOML.
    ///
    /// # Errors
    /// [`CryptoError::KeyFileSyntax`] (shape), [`CryptoError::BadVersion`],
    /// [`CryptoError::BadBase64`], [`CryptoError::WrongKeyLength`], [`CryptoError::MissingKey`]
    /// (current KEK not in `[kek]`).
    pub fn from_toml(text: &str) -> Result<KeyRing, CryptoError> {
        let file: KeyFile = toml::from_str(text).map_err(|e| CryptoError::KeyFileSyntax {
            offset: e.span().map(|s| s.start),
        })?;
        if file.format != 1 {
            return Err(CryptoError::KeyFileSyntax { offset: None });
        }
        let mut keks = BTreeMap::new();
        for (v, b64) in &file.kek {
            let version: u32 = v.parse().map_err(|_| CryptoError::BadVersion {
                name: "a [kek] entry name".into(),
            })?;
            keks.insert(version, decode_key(&format!("kek {version}"), b64)?);
        }
        KeyRing::assemble(
            keks,
            file.current_kek,
            decode_key("blind_index_key", &file.blind_index_key)?,
            decode_key("audit_signing_seed", &file.audit_signing_seed)?,
        )
    }

    fn assemble(
        keks: BTreeMap<u32, Secret32>,
        current: u32,
        blind: Secret32,
        audit_seed: Secret32,
    ) -> Result<KeyRing, CryptoError> {
        if !keks.contains_key(&current) {
            return Err(CryptoError::MissingKey {
                name: format!("kek {current} (the current KEK)"),
            });
        }
        Ok(KeyRing {
            keks,
            current,
            blind_index: BlindIndex(blind),
            audit_seed,
        })
    }

    /// The key file text for this ring (format in the module docs).
    ///
    /// # Errors
    /// [`CryptoError::KeyFileSyntax`] if TOML serialisation fails (it does not for this shape).
    pub fn to_toml(&self) -> Result<Zeroizing<String>, CryptoError> {
        let file = KeyFile {
            format: 1,
            current_kek: self.current,
            blind_index_key: encode_key(&self.blind_index.0).to_string(),
            audit_signing_seed: encode_key(&self.audit_seed).to_string(),
            kek: self
                .keks
                .iter()
                .map(|(v, k)| (v.to_string(), encode_key(k).to_string()))
                .collect(),
        };
        let body = Zeroizing::new(
            toml::to_string(&file).map_err(|_| CryptoError::KeyFileSyntax { offset: None })?,
        );
        let mut text = Zeroizing::new(String::from(
            "# anjia key file, format 1. Keep it outside the database and its backups; mode 0600.\n",
        ));
        text.push_str(&body);
        Ok(text)
    }

    /// Writes the ring to `path` atomically (new temporary file with mode 0600, then rename), e.g.
    /// after [`KeyRing::rotate_kek`].
    ///
    /// # Errors
    /// [`CryptoError::Io`].
    pub fn save_file(&self, path: &Path) -> Result<(), CryptoError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        write_new_0600(&tmp, self.to_toml()?.as_bytes())?;
        std::fs::rename(&tmp, path).map_err(|source| CryptoError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Loads from the process environment (`ANJIA_KEK_<version>`, `ANJIA_KEK_CURRENT`,
    /// `ANJIA_BLIND_INDEX_KEY`, `ANJIA_AUDIT_SIGNING_SEED`); variables that are not Unicode are
    /// ignored.
    ///
    /// # Errors
    /// As [`KeyRing::from_vars`].
    pub fn from_env() -> Result<KeyRing, CryptoError> {
        KeyRing::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Loads from `(name, value)` pairs named as in [`KeyRing::from_env`]; other names are ignored.
    ///
    /// # Errors
    /// [`CryptoError::MissingKey`], [`CryptoError::BadVersion`], [`CryptoError::BadBase64`],
    /// [`CryptoError::WrongKeyLength`].
    pub fn from_vars<I, K, V>(vars: I) -> Result<KeyRing, CryptoError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut keks = BTreeMap::new();
        let (mut current, mut blind, mut audit) = (None, None, None);
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref());
            if k == "ANJIA_KEK_CURRENT" {
                current = Some(
                    v.trim()
                        .parse::<u32>()
                        .map_err(|_| CryptoError::BadVersion {
                            name: k.to_string(),
                        })?,
                );
            } else if let Some(ver) = k.strip_prefix("ANJIA_KEK_") {
                let version: u32 = ver.parse().map_err(|_| CryptoError::BadVersion {
                    name: k.to_string(),
                })?;
                keks.insert(version, decode_key(k, v)?);
            } else if k == "ANJIA_BLIND_INDEX_KEY" {
                blind = Some(decode_key(k, v)?);
            } else if k == "ANJIA_AUDIT_SIGNING_SEED" {
                audit = Some(decode_key(k, v)?);
            }
        }
        let missing = |name: &str| CryptoError::MissingKey { name: name.into() };
        KeyRing::assemble(
            keks,
            current.ok_or_else(|| missing("ANJIA_KEK_CURRENT"))?,
            blind.ok_or_else(|| missing("ANJIA_BLIND_INDEX_KEY"))?,
            audit.ok_or_else(|| missing("ANJIA_AUDIT_SIGNING_SEED"))?,
        )
    }

    /// The current KEK version (used by [`KeyRing::wrap`]).
    pub fn current_kek_version(&self) -> u32 {
        self.current
    }

    /// All KEK versions held, ascending.
    pub fn kek_versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.keks.keys().copied()
    }

    /// KEK rotation: adds a random KEK with version = highest + 1 and makes it current. Older
    /// versions stay readable; re-wrap the vault with [`KeyRing::rewrap`], then
    /// [`KeyRing::remove_kek`] the old version and [`KeyRing::save_file`].
    ///
    /// # Errors
    /// [`CryptoError::Rng`]; [`CryptoError::BadVersion`] if the versions are exhausted.
    pub fn rotate_kek(&mut self) -> Result<u32, CryptoError> {
        let next = self
            .keks
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| CryptoError::BadVersion {
                name: "next KEK version".into(),
            })?;
        self.keks.insert(next, random_secret()?);
        self.current = next;
        Ok(next)
    }

    /// Drops an old KEK (after every key wrapped with it was re-wrapped).
    ///
    /// # Errors
    /// [`CryptoError::CurrentKekRemoval`], [`CryptoError::UnknownKeyVersion`].
    pub fn remove_kek(&mut self, version: u32) -> Result<(), CryptoError> {
        if version == self.current {
            return Err(CryptoError::CurrentKekRemoval(version));
        }
        self.keks
            .remove(&version)
            .map(drop)
            .ok_or(CryptoError::UnknownKeyVersion(version))
    }

    fn wrap_aad(subject: &str, kind: KeyKind) -> Vec<u8> {
        let mut aad = Vec::with_capacity(subject.len() + 12);
        aad.extend_from_slice(subject.as_bytes());
        aad.push(b'|');
        aad.extend_from_slice(kind.as_str().as_bytes());
        aad
    }

    /// Wraps a data key with the current KEK: `"ajk1" | kek_version u32 BE | 12-byte nonce |
    /// AES-256-GCM(key) ‖ tag`, 68 bytes, AAD `"<subject>|<kind>"`.
    ///
    /// # Errors
    /// [`CryptoError::Rng`].
    pub fn wrap(
        &self,
        key: &DataKey,
        subject: &str,
        kind: KeyKind,
    ) -> Result<Vec<u8>, CryptoError> {
        let kek = self
            .keks
            .get(&self.current)
            .ok_or(CryptoError::UnknownKeyVersion(self.current))?;
        seal_raw(
            &gcm(kek),
            WRAPPED_MAGIC,
            self.current,
            &Self::wrap_aad(subject, kind),
            key.0.expose_secret(),
        )
    }

    /// Unwraps a data key wrapped by any KEK version this ring holds.
    ///
    /// # Errors
    /// [`CryptoError::BadFormat`], [`CryptoError::UnknownKeyVersion`], [`CryptoError::Decrypt`]
    /// (wrong subject or kind, or altered bytes). Never panics.
    pub fn unwrap(
        &self,
        wrapped: &[u8],
        subject: &str,
        kind: KeyKind,
    ) -> Result<DataKey, CryptoError> {
        let (version, nonce, ct, tag) = parse_raw(WRAPPED_MAGIC, wrapped)?;
        if ct.len() != KEY_LEN {
            return Err(CryptoError::BadFormat);
        }
        let kek = self
            .keks
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let plain = open_raw(&gcm(kek), nonce, &Self::wrap_aad(subject, kind), ct, tag)?;
        let mut key: Secret32 = SecretBox::default();
        key.expose_secret_mut().copy_from_slice(&plain);
        Ok(DataKey(key))
    }

    /// Re-wraps a wrapped data key under the current KEK (KEK rotation; the data itself is never
    /// re-encrypted). Returns the input unchanged if it already uses the current version.
    ///
    /// # Errors
    /// As [`KeyRing::unwrap`] and [`KeyRing::wrap`].
    pub fn rewrap(
        &self,
        wrapped: &[u8],
        subject: &str,
        kind: KeyKind,
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self.unwrap(wrapped, subject, kind)?;
        if wrapped_kek_version(wrapped)? == self.current {
            return Ok(wrapped.to_vec());
        }
        self.wrap(&key, subject, kind)
    }

    /// The blind index keyed with this ring's blind-index key.
    pub fn blind_index(&self) -> &BlindIndex {
        &self.blind_index
    }

    /// The audit checkpoint signing key (Ed25519, RFC 8032), from the 32-byte seed; zeroized on
    /// drop by `ed25519-dalek`.
    pub fn audit_signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(self.audit_seed.expose_secret())
    }

    /// The public half of [`KeyRing::audit_signing_key`], for verifiers.
    pub fn audit_verifying_key(&self) -> VerifyingKey {
        self.audit_signing_key().verifying_key()
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("kek_versions", &self.keks.keys().collect::<Vec<_>>())
            .field("current_kek", &self.current)
            .finish_non_exhaustive()
    }
}

fn write_new_0600(path: &Path, bytes: &[u8]) -> Result<(), CryptoError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            CryptoError::AlreadyExists(path.to_path_buf())
        } else {
            CryptoError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUBJECT: &str = "0123456789abcdef0123456789abcdef";

    fn ring() -> KeyRing {
        KeyRing::generate().expect("rng")
    }

    #[test]
    fn wrap_unwrap_rewrap() {
        let mut ring = ring();
        let dk = DataKey::generate().expect("rng");
        let w1 = ring.wrap(&dk, SUBJECT, KeyKind::Data).expect("wrap");
        assert_eq!(w1.len(), WRAPPED_LEN);
        assert_eq!(&w1[..4], b"ajk1");
        assert_eq!(wrapped_kek_version(&w1).ok(), Some(1));
        let back = ring.unwrap(&w1, SUBJECT, KeyKind::Data).expect("unwrap");
        assert_eq!(back.pseudonym(), dk.pseudonym());
        assert!(matches!(
            ring.unwrap(&w1, SUBJECT, KeyKind::LegalHold),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            ring.unwrap(&w1, "ffffffffffffffffffffffffffffffff", KeyKind::Data),
            Err(CryptoError::Decrypt)
        ));
        assert_eq!(ring.rotate_kek().ok(), Some(2));
        let w2 = ring.rewrap(&w1, SUBJECT, KeyKind::Data).expect("rewrap");
        assert_eq!(wrapped_kek_version(&w2).ok(), Some(2));
        assert!(
            ring.unwrap(&w1, SUBJECT, KeyKind::Data).is_ok(),
            "old version readable"
        );
        ring.remove_kek(1).expect("old removable");
        assert!(matches!(
            ring.unwrap(&w1, SUBJECT, KeyKind::Data),
            Err(CryptoError::UnknownKeyVersion(1))
        ));
        let back = ring.unwrap(&w2, SUBJECT, KeyKind::Data).expect("new");
        assert_eq!(back.pseudonym(), dk.pseudonym());
        assert!(matches!(
            ring.remove_kek(2),
            Err(CryptoError::CurrentKekRemoval(2))
        ));
    }

    #[test]
    fn field_seal_open() {
        let dk = DataKey::generate().expect("rng");
        let c = dk.cipher(7);
        let ctx = FieldContext::new("users", "phone", SUBJECT);
        let sealed = c.seal(&ctx, "13812345678".as_bytes()).expect("seal");
        assert_eq!(&sealed[..4], b"ajf1");
        assert_eq!(sealed_dek_version(&sealed).ok(), Some(7));
        assert_eq!(sealed.len(), 11 + 36);
        assert_eq!(
            c.open_string(&ctx, &sealed).expect("open").as_str(),
            "13812345678"
        );
        let other_col = FieldContext::new("users", "id_number", SUBJECT);
        assert!(matches!(
            c.open(&other_col, &sealed),
            Err(CryptoError::Decrypt)
        ));
        let bad = FieldContext::new("users.x", "phone", SUBJECT);
        assert!(matches!(c.seal(&bad, b"x"), Err(CryptoError::BadContext)));
        assert!(matches!(
            dk.cipher(8).open(&ctx, &sealed),
            Err(CryptoError::KeyVersionMismatch {
                expected: 8,
                found: 7
            })
        ));
        assert!(matches!(c.open(&ctx, b"ajf1"), Err(CryptoError::BadFormat)));
        let other = DataKey::generate().expect("rng");
        assert!(matches!(
            other.cipher(7).open(&ctx, &sealed),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn pseudonym_and_blind_index() {
        let dk = DataKey::generate().expect("rng");
        let p = dk.pseudonym();
        assert_eq!(p.as_str().len(), 32);
        assert_eq!(Pseudonym::parse(p.as_str()).ok(), Some(p.clone()));
        let json = serde_json::to_string(&p).expect("ser");
        assert_eq!(
            serde_json::from_str::<Pseudonym>(&json).ok(),
            Some(p.clone())
        );
        assert!(serde_json::from_str::<Pseudonym>("\"xyz\"").is_err());
        assert_ne!(DataKey::generate().expect("rng").pseudonym(), p);

        let ring = ring();
        let phone = Phone::parse("13812345678").expect("valid");
        let same = Phone::parse("+86 138-1234-5678").expect("valid");
        let bi = ring.blind_index();
        assert_eq!(bi.phone(&phone), bi.phone(&same));
        assert_eq!(bi.phone(&phone).len(), 64);
        assert_ne!(
            bi.phone(&phone),
            KeyRing::generate()
                .expect("rng")
                .blind_index()
                .phone(&phone)
        );
        assert_ne!(bi.compute("phone", b"1"), bi.compute("id_number", b"1"));
    }

    #[test]
    fn debug_never_prints_keys() {
        let ring = ring();
        let text = ring.to_toml().expect("toml");
        let dbg = format!(
            "{ring:?} {:?} {:?}",
            ring.blind_index(),
            DataKey::generate()
        );
        for line in text.lines().filter(|l| l.contains('=')) {
            if let Some((_, v)) = line.split_once('=') {
                let v = v.trim().trim_matches('"');
                if v.len() == 44 {
                    assert!(!dbg.contains(v));
                    assert!(!dbg.contains(&v[..8]));
                }
            }
        }
        assert!(dbg.contains("current_kek: 1"));
    }

    #[test]
    fn key_file_round_trip_and_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.toml");
        let ring = KeyRing::generate_file(&path).expect("generate");
        assert!(matches!(
            KeyRing::generate_file(&path),
            Err(CryptoError::AlreadyExists(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = KeyRing::load_file(&path).expect("load");
        let dk = DataKey::generate().expect("rng");
        let w = ring.wrap(&dk, SUBJECT, KeyKind::Data).expect("wrap");
        assert_eq!(
            loaded
                .unwrap(&w, SUBJECT, KeyKind::Data)
                .expect("unwrap")
                .pseudonym(),
            dk.pseudonym()
        );
        assert_eq!(loaded.audit_verifying_key(), ring.audit_verifying_key());
        let phone = Phone::parse("13912345678").expect("valid");
        assert_eq!(
            loaded.blind_index().phone(&phone),
            ring.blind_index().phone(&phone)
        );

        let mut rotated = loaded;
        rotated.rotate_kek().expect("rotate");
        rotated.save_file(&path).expect("save");
        let again = KeyRing::load_file(&path).expect("load rotated");
        assert_eq!(again.current_kek_version(), 2);
        assert_eq!(again.kek_versions().collect::<Vec<_>>(), vec![1, 2]);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(
                KeyRing::load_file(&path),
                Err(CryptoError::InsecurePermissions { mode: 0o644, .. })
            ));
        }
    }

    #[test]
    fn key_file_errors() {
        let ring = ring();
        let text = ring.to_toml().expect("toml");
        let short = B64.encode([1u8; 16]);
        let bad = text
            .lines()
            .map(|l| {
                if l.starts_with("1 = ") {
                    format!("1 = \"{short}\"")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let err = KeyRing::from_toml(&bad).expect_err("short key");
        assert!(
            matches!(
                err,
                CryptoError::WrongKeyLength {
                    expected: 32,
                    found: 16,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.to_string(), "key kek 1 has 16 bytes, expected 32");
        let err =
            KeyRing::from_toml("format = 1\ncurrent_kek = \"secretvalue\"").expect_err("shape");
        assert!(!err.to_string().contains("secretvalue"), "{err}");
    }

    #[test]
    fn env_loading() {
        let k = |b: u8| B64.encode([b; 32]);
        let vars = vec![
            ("ANJIA_KEK_1".to_string(), k(1)),
            ("ANJIA_KEK_2".to_string(), k(2)),
            ("ANJIA_KEK_CURRENT".to_string(), "2".to_string()),
            ("ANJIA_BLIND_INDEX_KEY".to_string(), k(3)),
            ("ANJIA_AUDIT_SIGNING_SEED".to_string(), k(4)),
            ("PATH".to_string(), "/usr/bin".to_string()),
        ];
        let ring = KeyRing::from_vars(vars.clone()).expect("env");
        assert_eq!(ring.current_kek_version(), 2);
        let mut missing = vars.clone();
        missing.retain(|(n, _)| n != "ANJIA_KEK_2");
        assert!(matches!(
            KeyRing::from_vars(missing),
            Err(CryptoError::MissingKey { .. })
        ));
        let mut wrong = vars;
        wrong[0].1 = B64.encode([1u8; 31]);
        let err = KeyRing::from_vars(wrong).expect_err("short");
        assert_eq!(err.to_string(), "key ANJIA_KEK_1 has 31 bytes, expected 32");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn seal_open_round_trip_and_tamper(pt in prop::collection::vec(any::<u8>(), 0..200),
                                           flip_at in any::<prop::sample::Index>(),
                                           flip_bits in 1u8..=255) {
            let dk = DataKey::generate().expect("rng");
            let c = dk.cipher(3);
            let ctx = FieldContext::new("orders", "recipient_address", SUBJECT);
            let sealed = c.seal(&ctx, &pt).expect("seal");
            let opened = c.open(&ctx, &sealed).expect("open");
            prop_assert_eq!(opened.as_slice(), pt.as_slice());
            let mut t = sealed.clone();
            let i = flip_at.index(t.len());
            t[i] ^= flip_bits;
            prop_assert!(c.open(&ctx, &t).is_err());
            prop_assert!(c.open(&FieldContext::new("orders", "recipient_address", "other"), &sealed).is_err());
            prop_assert!(c.open(&ctx, &sealed[..sealed.len() - 1]).is_err());
        }

        #[test]
        fn wrap_tamper_fails(flip_at in any::<prop::sample::Index>(), flip_bits in 1u8..=255) {
            let ring = KeyRing::generate().expect("rng");
            let dk = DataKey::generate().expect("rng");
            let mut w = ring.wrap(&dk, SUBJECT, KeyKind::LegalHold).expect("wrap");
            let i = flip_at.index(w.len());
            w[i] ^= flip_bits;
            prop_assert!(ring.unwrap(&w, SUBJECT, KeyKind::LegalHold).is_err());
        }

        #[test]
        fn open_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let ring = KeyRing::generate().expect("rng");
            let dk = DataKey::generate().expect("rng");
            let mut b = bytes.clone();
            if b.len() >= 4 { b[..4].copy_from_slice(b"ajf1"); }
            prop_assert!(dk.cipher(0).open(&FieldContext::new("t", "c", "s"), &b).is_err());
            if b.len() >= 4 { b[..4].copy_from_slice(b"ajk1"); }
            prop_assert!(ring.unwrap(&b, "s", KeyKind::Data).is_err());
        }
    }
}
