//! Accounts (issue 3, `docs/ACCOUNTS-DESIGN.md` §C): phone sign-in and sign-up by SMS code,
//! sessions (web cookie with CSRF, app bearer token), optional password with lockout, recovery,
//! step-up for sensitive changes, the profile (nickname, phone, avatar).
//!
//! [`Accounts`] is the service; it lives in [`crate::AppState::accounts`] and is cheap to clone.
//! It takes its clock from [`Privacy::now`] (injectable in tests) and its storage from
//! [`Privacy::store`].
//!
//! * An account **is** a privacy subject of kind `account`: `accounts.id` is the subject id, its
//!   phone number is sealed with the subject's data key (`accounts.phone_ciphertext`) and looked
//!   up by its blind index (`accounts.phone_index`), never by plaintext.
//! * Creating an account needs the current policy accepted (PRV-02, PRV-05); nickname and password
//!   are optional.
//! * Every SMS is a provision of `account.phone` and `sms.text` to the `sms_gateway` recipient,
//!   recorded with [`Privacy::provide`] once the account exists and has accepted the policy
//!   (a sign-up's first code is recorded when the account is created).
//! * Sign-in, sign-out everywhere, password changes, phone changes and recoveries are audited
//!   under the account's pseudonym; the details name the method, never a value.
//! * Nothing here logs a number, a code, a token, an address or a nickname.
//!
//! Submodules: [`sms`] (codes, limits, gateway), [`session`] (tokens, cookie, CSRF, devices),
//! [`password`] (rules, Argon2id, lockout), [`profile`] (nickname, avatar files), [`auth`]
//! (extractors, client address, the CSRF guard), [`api`] and [`pages`] (HTTP).

pub mod api;
pub mod auth;
pub mod cancel;
pub mod export;
pub mod minors;
pub mod oauth;
pub mod pages;
pub mod password;
pub mod profile;
pub mod session;
pub mod sms;
pub mod verification;

use crate::privacy::{Privacy, PrivacyError, SubjectId, SubjectKind};
use anjia_privacy::audit::{Actor, AuditEvent, AuditKind};
use anjia_privacy::consent::Surface;
use anjia_privacy::crypto::BlindIndex;
use anjia_privacy::pi::{Phone, PhoneError};
use anjia_store::accounts::{AccountRow, SessionRow, SmsCodeRow};
use anjia_store::{Store, StoreError};
use password::{Password, PasswordParams, PasswordRuleError};
use profile::NicknameError;
use session::{DeviceFieldError, DeviceInfo, SessionKind, SessionToken};
use sms::{CodeRejection, RateLimited, SendCounts, SendLimits, SmsError, SmsGateway, SmsPurpose};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

pub use auth::{CurrentAccount, SignedIn};

/// A step-up code verified this long ago or less allows sensitive changes: 10 minutes.
pub const STEP_UP_VALID: Duration = Duration::minutes(10);

/// Where sealed account fields live (the AAD names table and column).
const ACCOUNTS_TABLE: &str = "accounts";
const PHONE_COLUMN: &str = "phone_ciphertext";
const SESSIONS_TABLE: &str = "sessions";
const IP_COLUMN: &str = "ip_ciphertext";

/// Fields of an SMS as provided to the `sms_gateway` recipient (data/privacy/third-parties.toml).
pub const SMS_FIELDS: [&str; 2] = ["account.phone", "sms.text"];

/// Configuration of the accounts service.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Directory for uploaded files (avatars under `avatars/`); `files_dir` in `anjia.toml`.
    pub files_dir: PathBuf,
    /// Take the client address from the last `X-Forwarded-For` entry (set by a reverse proxy in
    /// front of anjia) rather than from the connection. Only behind a proxy that sets the header:
    /// otherwise clients choose their own address and escape the per-address send limits.
    pub trust_forwarded_for: bool,
    /// SMS send limits.
    pub limits: SendLimits,
    /// Argon2id cost.
    pub password: PasswordParams,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            files_dir: PathBuf::from("var/files"),
            trust_forwarded_for: false,
            limits: SendLimits::default(),
            password: PasswordParams::default(),
        }
    }
}

/// Why an accounts operation was refused or failed. Messages name the problem, never a number,
/// code, password, nickname or address. HTTP mapping: [`crate::error::AppError::Account`].
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not a mainland mobile number (400 `invalid-phone`).
    #[error("phone: {0}")]
    InvalidPhone(#[from] PhoneError),
    /// The SMS code was not accepted (400 `invalid-code` with `reason`).
    #[error("the code was not accepted ({})", .0.as_str())]
    InvalidCode(CodeRejection),
    /// Too many codes requested (429 `rate-limited`, `Retry-After`).
    #[error("too many codes requested; retry after {} seconds", .0.retry_after)]
    RateLimited(RateLimited),
    /// No valid session (401 `unauthenticated`).
    #[error("sign in first: send Authorization: Bearer <token> (see /api/v1/auth/sign-in)")]
    Unauthenticated,
    /// Password sign-in refused: unknown number, wrong password or locked — one answer for all
    /// (401 `invalid-credentials`).
    #[error(
        "the phone number or password is not correct, or password sign-in is locked for a while after repeated failures; sign in with an SMS code instead"
    )]
    InvalidCredentials,
    /// A new account (or an account that withdrew its acceptance) must accept the current policy
    /// (403 `policy-not-accepted`).
    #[error(
        "accept the current privacy policy to use an account: send accept_policy = true (see /api/v1/privacy/policy)"
    )]
    PolicyNotAccepted,
    /// A sensitive change needs a fresh step-up code (403 `step-up-required`).
    #[error(
        "verify with a code sent to the account's phone first (POST /api/v1/auth/step-up/code, then /api/v1/auth/step-up; valid 10 minutes)"
    )]
    StepUpRequired,
    /// The nickname breaks a rule (400 `invalid-nickname` with `reason`).
    #[error("nickname: {0}")]
    InvalidNickname(#[from] NicknameError),
    /// The new password breaks a rule (400 `invalid-password` with `reason`).
    #[error("password: {0}")]
    InvalidPassword(#[from] PasswordRuleError),
    /// A device field of the app's sign-in body is malformed (400 `invalid-body`).
    #[error("device: {0}")]
    InvalidDevice(#[from] DeviceFieldError),
    /// The number already belongs to an account (409 `phone-taken`).
    #[error("this phone number already belongs to an account")]
    PhoneTaken,
    /// The new number is the current one (409 `phone-unchanged`).
    #[error("the new phone number is the current one")]
    PhoneUnchanged,
    /// No such session of the caller (404 `not-found`).
    #[error("no such session of this account")]
    NoSuchSession,
    /// The avatar upload was refused (413/415/422 `image-rejected` with `reason`).
    #[error("image: {0}")]
    Image(#[from] ImageRejected),
    /// The SMS gateway failed (502 `sms-failed`; details in the log).
    #[error("the SMS could not be sent; try again later")]
    Sms(#[from] SmsError),
    /// The privacy service failed (500).
    #[error("privacy: {0}")]
    Privacy(#[from] PrivacyError),
    /// Storage failed (500).
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Anything else that should not happen (500; details only in the log).
    #[error("internal: {0}")]
    Internal(String),
}

/// An avatar upload refused: why, and the HTTP status that says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ImageRejected {
    /// 413 (too large), 415 (not JPEG/PNG/WebP) or 422 (broken, too many pixels).
    pub status: u16,
    /// The problem's `reason`: `too-large`, `unsupported-type`, `too-many-pixels`, `corrupt`,
    /// `missing`.
    pub reason: &'static str,
    /// English explanation (never the file name or content).
    pub message: String,
    /// zh-CN explanation for the pages.
    pub message_zh: String,
}

impl From<crypto_err::Wrapped> for AccountError {
    fn from(e: crypto_err::Wrapped) -> Self {
        AccountError::Privacy(PrivacyError::Crypto(e.0))
    }
}

mod crypto_err {
    /// Lets `?` turn a crypto error into [`super::AccountError::Privacy`].
    pub struct Wrapped(pub anjia_privacy::crypto::CryptoError);
    impl From<anjia_privacy::crypto::CryptoError> for Wrapped {
        fn from(e: anjia_privacy::crypto::CryptoError) -> Self {
            Wrapped(e)
        }
    }
}

/// Who is asking, for limits and for the session record.
#[derive(Clone)]
pub struct ClientContext {
    /// The client address (see [`AccountsConfig::trust_forwarded_for`]); `None` if unknown.
    pub ip: Option<IpAddr>,
    /// What is recorded about the device.
    pub device: DeviceInfo,
    /// Web (cookie) or app (bearer).
    pub kind: SessionKind,
}

impl fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientContext")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ClientContext {
    /// The consent surface of this client.
    pub fn surface(&self) -> Surface {
        match self.kind {
            SessionKind::Web => Surface::Web,
            SessionKind::App => Surface::App,
        }
    }
}

/// What a send answers: how long the code is valid and when another may be requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSent {
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds before another code to this number will be accepted.
    pub resend_after: u64,
}

/// A new session: the token (shown once), its account and expiry.
pub struct NewSession {
    /// The token: the cookie value or the bearer token.
    pub token: SessionToken,
    /// The account signed in.
    pub account: SubjectId,
    /// Whether this sign-in created the account.
    pub created: bool,
    /// When the session expires (UTC).
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("created", &self.created)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A sign-in (or sign-up) by SMS code.
pub struct CodeSignIn<'a> {
    /// The number the code was sent to.
    pub phone: &'a Phone,
    /// The code as typed.
    pub code: &'a str,
    /// Accepts the current policy; required when the number has no account yet.
    pub accept_policy: bool,
    /// Nickname for a new account (ignored for an existing one).
    pub nickname: Option<&'a str>,
    /// Password for a new account (ignored for an existing one).
    pub password: Option<&'a str>,
    /// The client.
    pub client: &'a ClientContext,
}

/// One session as listed to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Public id (32 hex; [`session::public_id`]) — what revoking names.
    pub id: String,
    /// `web` or `app`.
    pub kind: SessionKind,
    /// Signed in at (UTC).
    pub created_at: OffsetDateTime,
    /// Last used (UTC, to within [`session::TOUCH_EVERY`]).
    pub last_seen_at: OffsetDateTime,
    /// Expires at (UTC).
    pub expires_at: OffsetDateTime,
    /// Device model (app) or browser family (web).
    pub device_model: Option<String>,
    /// Operating system (app) or OS family (web).
    pub os: Option<String>,
    /// App version (app only).
    pub app_version: Option<String>,
    /// Network type (app only).
    pub network_type: Option<String>,
    /// Address at sign-in, masked ([`session::mask_ip`]).
    pub ip_masked: Option<String>,
    /// Whether this is the session of the request.
    pub current: bool,
}

/// The profile as shown to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The phone number, masked (`138****1234`).
    pub phone_masked: String,
    /// Nickname, if set.
    pub nickname: Option<String>,
    /// Whether an avatar is set.
    pub has_avatar: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// Created at (UTC).
    pub created_at: OffsetDateTime,
    /// Until when a verified step-up allows sensitive changes, if one is fresh.
    pub step_up_until: Option<OffsetDateTime>,
}

struct Inner {
    privacy: Privacy,
    gateway: Arc<dyn SmsGateway>,
    config: AccountsConfig,
    /// A hash to verify against when the number has no account or no password, so that the time
    /// taken does not tell them apart.
    dummy_hash: tokio::sync::OnceCell<String>,
    /// Argon2id runs at most this many at once (one per core): each takes
    /// `PasswordParams::m_cost` KiB (19 MiB), so unbounded blocking threads under a burst of
    /// sign-ins grew the server to ~1 GB RSS and made every sign-in wait on all the others
    /// (docs/PERFORMANCE.md, "Sign-in over HTTP").
    hashing: tokio::sync::Semaphore,
}

/// The accounts service (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

/// The blind index of a client address (`sms_codes.ip_index`): `BlindIndex::compute("ip", addr)`.
pub fn ip_index(blind: &BlindIndex, ip: IpAddr) -> String {
    blind.compute("ip", ip.to_string().as_bytes())
}

impl Accounts {
    /// The service over `privacy`, sending SMS through `gateway`.
    pub fn new(privacy: Privacy, gateway: Arc<dyn SmsGateway>, config: AccountsConfig) -> Accounts {
        Accounts {
            inner: Arc::new(Inner {
                privacy,
                gateway,
                config,
                dummy_hash: tokio::sync::OnceCell::new(),
                hashing: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
                ),
            }),
        }
    }

    /// The service with the development gateway ([`sms::DevOutboxGateway`]).
    pub fn with_dev_outbox(privacy: Privacy, config: AccountsConfig) -> Accounts {
        let gateway = Arc::new(sms::DevOutboxGateway::new(privacy.clone()));
        Accounts::new(privacy, gateway, config)
    }

    /// The privacy service.
    pub fn privacy(&self) -> &Privacy {
        &self.inner.privacy
    }

    /// The configuration.
    pub fn config(&self) -> &AccountsConfig {
        &self.inner.config
    }

    fn store(&self) -> &Store {
        self.inner.privacy.store()
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.privacy.now()
    }

    /// The blind index of a number (`accounts.phone_index`, `sms_codes.phone_index`,
    /// `sms_outbox.phone_index`).
    pub fn phone_index(&self, phone: &Phone) -> String {
        self.inner.privacy.keys().blind_index().phone(phone)
    }

    // ---- SMS codes ---------------------------------------------------------------------------

    /// Sends a sign-in (= sign-up) code to `phone`.
    ///
    /// # Errors
    /// [`AccountError::RateLimited`], [`AccountError::Sms`], storage errors.
    pub async fn send_sign_in_code(
        &self,
        phone: &Phone,
        ip: Option<IpAddr>,
    ) -> Result<CodeSent, AccountError> {
        let account = self.active_account_by_phone(phone).await?;
        let recipient = match account {
            Some(a) if self.has_accepted(&a).await? => Some(a),
            // A new number, or an account that withdrew acceptance: sent, recorded as a provision
            // when the sign-in accepts the policy.
            _ => None,
        };
        self.send_code(phone, SmsPurpose::SignIn, ip, recipient.as_ref(), true)
            .await
    }

    /// Sends a recovery code to `phone` if it is an account's number. The answer is the same
    /// either way (and the send is counted either way), so it does not tell whether the number
    /// has an account.
    ///
    /// # Errors
    /// As [`Accounts::send_sign_in_code`].
    pub async fn send_recovery_code(
        &self,
        phone: &Phone,
        ip: Option<IpAddr>,
    ) -> Result<CodeSent, AccountError> {
        let account = self.active_account_by_phone(phone).await?;
        // Delivered (and recorded as a provision) only to an account that has accepted the
        // policy; otherwise stored and counted like any other send, so the answer and the limits
        // look the same.
        let recipient = match account {
            Some(a) if self.has_accepted(&a).await? => Some(a),
            _ => None,
        };
        let deliver = recipient.is_some();
        self.send_code(phone, SmsPurpose::Recover, ip, recipient.as_ref(), deliver)
            .await
    }

    /// Sends a step-up code to the signed-in account's own phone.
    ///
    /// # Errors
    /// As [`Accounts::send_sign_in_code`]; [`AccountError::Unauthenticated`] when the account is
    /// gone.
    pub async fn send_step_up_code(
        &self,
        who: &SignedIn,
        ip: Option<IpAddr>,
    ) -> Result<CodeSent, AccountError> {
        let row = self.account_row(who).await?;
        let phone = self.phone_of(&row).await?;
        self.send_code(&phone, SmsPurpose::StepUp, ip, Some(who.account()), true)
            .await
    }

    /// Sends a code of `purpose` to `phone` on behalf of the signed-in account (for example a
    /// guardian's consent code): recorded as a provision under `who`'s account.
    ///
    /// # Errors
    /// As [`Accounts::send_sign_in_code`].
    pub async fn send_code_for(
        &self,
        who: &SignedIn,
        phone: &Phone,
        purpose: SmsPurpose,
        ip: Option<IpAddr>,
    ) -> Result<CodeSent, AccountError> {
        self.send_code(phone, purpose, ip, Some(who.account()), true)
            .await
    }

    /// Checks a code of `purpose` sent to `phone` and uses it up (for codes sent with
    /// [`Accounts::send_code_for`]).
    ///
    /// # Errors
    /// [`AccountError::InvalidCode`]; storage errors.
    pub async fn verify_code(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        code: &str,
    ) -> Result<(), AccountError> {
        let index = self.phone_index(phone);
        let id = self.check_code(&index, purpose, code).await?;
        self.consume_code(id).await
    }

    /// The send: limits, a fresh code stored as its hash, the message through the gateway, the
    /// provision under `recipient` (when given and consenting). With `deliver == false` the code
    /// is stored (and counted) but not sent.
    async fn send_code(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        ip: Option<IpAddr>,
        recipient: Option<&SubjectId>,
        deliver: bool,
    ) -> Result<CodeSent, AccountError> {
        let keys = self.inner.privacy.keys();
        let blind = keys.blind_index();
        let phone_index = blind.phone(phone);
        // Requests with no known address (not served over a socket) share one bucket.
        let ip_index = match ip {
            Some(ip) => ip_index(blind, ip),
            None => blind.compute("ip", b"unknown"),
        };
        let now = self.now();
        let store = self.store();
        let day = sms::shanghai_day_start(now);
        let minute = sms::minute_window_start(now);
        let mut counts = SendCounts {
            number_minute: store
                .count_sms_codes_by_phone_since(&phone_index, minute)
                .await?,
            number_day: store
                .count_sms_codes_by_phone_since(&phone_index, day)
                .await?,
            ..SendCounts::default()
        };
        counts.address_minute = store.count_sms_codes_by_ip_since(&ip_index, minute).await?;
        counts.address_day = store.count_sms_codes_by_ip_since(&ip_index, day).await?;
        if let Err(limited) = self.inner.config.limits.check(counts, now) {
            tracing::info!(purpose = purpose.as_str(), scope = ?limited.scope, "sms refused by a send limit");
            return Err(AccountError::RateLimited(limited));
        }
        let code = sms::generate_code().map_err(AccountError::Internal)?;
        store
            .insert_sms_code(&SmsCodeRow {
                id: 0,
                phone_index: phone_index.clone(),
                purpose: purpose.as_str().to_string(),
                code_hash: sms::code_hash(blind, &phone_index, purpose, &code),
                ip_index,
                created_at: now,
                expires_at: now + sms::CODE_TTL,
                attempts: 0,
                consumed_at: None,
            })
            .await?;
        if deliver {
            if let Some(r) = recipient {
                self.record_sms_provision(r).await?;
            }
            let text = Zeroizing::new(purpose.text_zh(&code));
            if let Err(e) = self.inner.gateway.send(phone, &text).await {
                tracing::warn!(purpose = purpose.as_str(), gateway = self.inner.gateway.id(), error = %e, "sms not sent");
                return Err(e.into());
            }
            tracing::info!(
                purpose = purpose.as_str(),
                gateway = self.inner.gateway.id(),
                "sms sent"
            );
        }
        Ok(CodeSent {
            expires_in: sms::CODE_TTL.whole_seconds() as u64,
            resend_after: 60,
        })
    }

    /// Records one SMS as a provision to `sms_gateway` (authorised by the registry against the
    /// account's consent; a refusal is audited by the privacy service and returned).
    async fn record_sms_provision(&self, account: &SubjectId) -> Result<(), AccountError> {
        match self
            .inner
            .privacy
            .provide(account, "sms_gateway", &SMS_FIELDS)
            .await
        {
            Ok(_) => Ok(()),
            // The account withdrew its acceptance of the policy: nothing is sent until it
            // accepts again (signing in by SMS with accept_policy does).
            Err(PrivacyError::Refused(_)) => Err(AccountError::PolicyNotAccepted),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks `code` against the latest code of `purpose` for the number: counts the try, and
    /// returns the code's row id when it is right (not yet consumed — see
    /// [`Accounts::consume_code`]).
    async fn check_code(
        &self,
        phone_index: &str,
        purpose: SmsPurpose,
        code: &str,
    ) -> Result<i64, AccountError> {
        let now = self.now();
        let store = self.store();
        let Some(row) = store.latest_sms_code(phone_index, purpose.as_str()).await? else {
            return Err(AccountError::InvalidCode(CodeRejection::Wrong));
        };
        sms::check_usable(row.consumed_at.is_some(), row.attempts, row.expires_at, now)
            .map_err(AccountError::InvalidCode)?;
        let attempts = store.bump_sms_code_attempts(row.id).await?;
        if attempts > sms::MAX_ATTEMPTS {
            return Err(AccountError::InvalidCode(CodeRejection::TooManyAttempts));
        }
        let keys = self.inner.privacy.keys();
        let ok = sms::parse_code(code).is_some_and(|c| {
            sms::code_matches(keys.blind_index(), phone_index, purpose, &c, &row.code_hash)
        });
        if !ok {
            return Err(AccountError::InvalidCode(CodeRejection::Wrong));
        }
        Ok(row.id)
    }

    /// Uses up a code (single use): refused when another request used it first.
    async fn consume_code(&self, id: i64) -> Result<(), AccountError> {
        if self.store().consume_sms_code(id, self.now()).await? {
            Ok(())
        } else {
            Err(AccountError::InvalidCode(CodeRejection::Used))
        }
    }

    // ---- sign-in ---------------------------------------------------------------------------

    async fn active_account_by_phone(
        &self,
        phone: &Phone,
    ) -> Result<Option<SubjectId>, AccountError> {
        let idx = self.phone_index(phone);
        Ok(self
            .store()
            .account_by_phone_index(&idx)
            .await?
            .and_then(|a| SubjectId::parse(&a.id)))
    }

    async fn has_accepted(&self, account: &SubjectId) -> Result<bool, AccountError> {
        Ok(self
            .inner
            .privacy
            .consent_state(Some(account))
            .await?
            .accepted_version()
            .is_some())
    }

    /// Signs in with an SMS code; a number without an account gets one (policy acceptance
    /// required, nickname and password optional). The optional fields are checked before the
    /// code is tried, so a typo there does not use up a try.
    ///
    /// # Errors
    /// [`AccountError::InvalidNickname`], [`AccountError::InvalidPassword`],
    /// [`AccountError::InvalidCode`], [`AccountError::PolicyNotAccepted`] (the code stays valid,
    /// so the same code can be sent again with the acceptance), storage and privacy errors.
    pub async fn sign_in_with_code(&self, req: CodeSignIn<'_>) -> Result<NewSession, AccountError> {
        let nickname = req
            .nickname
            .filter(|n| !n.trim().is_empty())
            .map(profile::normalize_nickname)
            .transpose()?;
        let password = req
            .password
            .filter(|p| !p.is_empty())
            .map(|p| Password::new_checked(p, Some(req.phone.expose())))
            .transpose()?;
        let phone_index = self.phone_index(req.phone);
        let code_id = self
            .check_code(&phone_index, SmsPurpose::SignIn, req.code)
            .await?;
        let surface = req.client.surface();
        let (account, created) = match self.store().account_by_phone_index(&phone_index).await? {
            Some(row) => {
                let id = SubjectId::parse(&row.id).ok_or(AccountError::Internal(
                    "stored account id is malformed".into(),
                ))?;
                if self.has_accepted(&id).await? {
                    self.consume_code(code_id).await?;
                } else {
                    if !req.accept_policy {
                        return Err(AccountError::PolicyNotAccepted);
                    }
                    self.consume_code(code_id).await?;
                    self.inner.privacy.accept_policy(&id, &[], surface).await?;
                    self.record_sms_provision(&id).await?;
                }
                (id, false)
            }
            None => {
                if !req.accept_policy {
                    return Err(AccountError::PolicyNotAccepted);
                }
                self.consume_code(code_id).await?;
                self.create_account(req.phone, &phone_index, nickname, password, surface)
                    .await?
            }
        };
        // An SMS sign-in proves the number: it clears a password lock.
        self.store()
            .reset_password_failures(account.as_str())
            .await?;
        let s = self.open_session(&account, req.client, created).await?;
        self.audit_sign_in(&account, "sms", req.client.kind, created)
            .await?;
        Ok(s)
    }

    /// Creates the subject, accepts the policy, stores the account; returns `(id, true)`, or the
    /// winner's id and `false` when a concurrent sign-up of the same number got there first.
    async fn create_account(
        &self,
        phone: &Phone,
        phone_index: &str,
        nickname: Option<String>,
        password: Option<Password>,
        surface: Surface,
    ) -> Result<(SubjectId, bool), AccountError> {
        let privacy = &self.inner.privacy;
        let id = privacy.new_subject(SubjectKind::Account).await?;
        privacy.accept_policy(&id, &[], surface).await?;
        let sealed = self
            .seal(&id, ACCOUNTS_TABLE, PHONE_COLUMN, phone.expose())
            .await?;
        let password_hash = match password {
            Some(p) => Some(self.hash_password(p).await?),
            None => None,
        };
        let now = self.now();
        let row = AccountRow {
            id: id.as_str().to_string(),
            phone_index: Some(phone_index.to_string()),
            phone_ciphertext: Some(sealed),
            nickname,
            avatar_file: None,
            password_hash,
            password_failures: 0,
            locked_until: None,
            status: "active".to_string(),
            created_at: now,
            updated_at: now,
        };
        match self.store().insert_account(&row).await {
            Ok(()) => {}
            Err(StoreError::Constraint { .. }) => {
                // Another request created the account for this number first: drop ours (its key
                // is shredded, so nothing of it can be read) and sign into theirs.
                let _ = privacy.shred(&id).await;
                let winner = self
                    .store()
                    .account_by_phone_index(phone_index)
                    .await?
                    .and_then(|a| SubjectId::parse(&a.id))
                    .ok_or(AccountError::PhoneTaken)?;
                return Ok((winner, false));
            }
            Err(e) => return Err(e.into()),
        }
        // The sign-in code was sent before the account existed: record it now.
        self.record_sms_provision(&id).await?;
        Ok((id, true))
    }

    /// Signs in with phone and password. Unknown number, no password, wrong password and a
    /// locked account all get [`AccountError::InvalidCredentials`] after the same work (one
    /// Argon2 verification). The 5th failure in a row locks password sign-in for 15 minutes.
    ///
    /// # Errors
    /// [`AccountError::InvalidCredentials`], [`AccountError::PolicyNotAccepted`] (an account that
    /// withdrew its acceptance signs in by SMS to accept again), storage errors.
    pub async fn sign_in_with_password(
        &self,
        phone: &Phone,
        password: &str,
        client: &ClientContext,
    ) -> Result<NewSession, AccountError> {
        let pw = Password::for_sign_in(password);
        let idx = self.phone_index(phone);
        let row = self.store().account_by_phone_index(&idx).await?;
        let Some((row, hash)) = row.and_then(|r| r.password_hash.clone().map(|h| (r, h))) else {
            let dummy = self.dummy_hash().await?;
            let _ = self.verify_password(pw, dummy).await;
            return Err(AccountError::InvalidCredentials);
        };
        let now = self.now();
        let ok = self.verify_password(pw, hash.clone()).await;
        let locked = row.locked_until.is_some_and(|t| t > now);
        if locked {
            return Err(AccountError::InvalidCredentials);
        }
        if !ok {
            let mut prior = row.password_failures;
            if row.locked_until.is_some() && prior >= password::LOCK_AFTER {
                // The lock has run out: count afresh.
                self.store().reset_password_failures(&row.id).await?;
                prior = 0;
            }
            let lock = (prior + 1 >= password::LOCK_AFTER).then(|| now + password::LOCK_FOR);
            self.store().record_password_failure(&row.id, lock).await?;
            if lock.is_some() {
                tracing::info!("password sign-in locked after repeated failures");
            }
            return Err(AccountError::InvalidCredentials);
        }
        let id = SubjectId::parse(&row.id).ok_or(AccountError::Internal(
            "stored account id is malformed".into(),
        ))?;
        if !self.has_accepted(&id).await? {
            return Err(AccountError::PolicyNotAccepted);
        }
        self.store().reset_password_failures(&row.id).await?;
        if self.inner.config.password.needs_rehash(&hash) {
            let fresh = self.hash_password(Password::for_sign_in(password)).await?;
            self.store()
                .set_account_password(&row.id, Some(&fresh), now)
                .await?;
        }
        let s = self.open_session(&id, client, false).await?;
        self.audit_sign_in(&id, "password", client.kind, false)
            .await?;
        Ok(s)
    }

    /// Opens a session for `account` after another way of signing in proved who it is (for
    /// example a linked third-party login): the session row and a `sign_in` audit entry naming
    /// `method` (a short id such as `oauth:login_wechat`; never PI).
    ///
    /// # Errors
    /// [`AccountError::Unauthenticated`] when the account is not active; storage and privacy
    /// errors.
    pub async fn start_session(
        &self,
        account: &SubjectId,
        client: &ClientContext,
        method: &str,
    ) -> Result<NewSession, AccountError> {
        let active = self
            .store()
            .account(account.as_str())
            .await?
            .is_some_and(|a| a.status == "active");
        if !active {
            return Err(AccountError::Unauthenticated);
        }
        let s = self.open_session(account, client, false).await?;
        self.audit_sign_in(account, method, client.kind, false)
            .await?;
        Ok(s)
    }

    /// The account of a number, if an active one exists.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn account_of_phone(&self, phone: &Phone) -> Result<Option<SubjectId>, AccountError> {
        self.active_account_by_phone(phone).await
    }

    async fn audit_sign_in(
        &self,
        account: &SubjectId,
        method: &str,
        kind: SessionKind,
        created: bool,
    ) -> Result<(), AccountError> {
        self.audit(
            account,
            AuditKind::SignIn,
            serde_json::json!({"method": method, "session": kind.as_str(), "created": created}),
        )
        .await
    }

    /// Appends an audit entry about `account`, acted by the account itself.
    async fn audit(
        &self,
        account: &SubjectId,
        kind: AuditKind,
        details: serde_json::Value,
    ) -> Result<(), AccountError> {
        let p = self.inner.privacy.pseudonym(account).await?;
        self.inner
            .privacy
            .audit(
                AuditEvent::new(kind, Actor::Subject(p.clone()))
                    .subject(p)
                    .details(details),
            )
            .await?;
        Ok(())
    }

    async fn dummy_hash(&self) -> Result<String, AccountError> {
        self.inner
            .dummy_hash
            .get_or_try_init(|| self.hash_password(Password::for_sign_in("anjia-dummy-password")))
            .await
            .cloned()
    }

    /// Runs one Argon2id computation on a blocking thread once a [`Inner::hashing`] permit is
    /// free.
    async fn argon2<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let _permit = self
            .inner
            .hashing
            .acquire()
            .await
            .map_err(|e| AccountError::Internal(format!("hashing permit: {e}")))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AccountError::Internal(format!("hashing task: {e}")))
    }

    async fn hash_password(&self, p: Password) -> Result<String, AccountError> {
        let params = self.inner.config.password;
        self.argon2(move || params.hash(&p))
            .await?
            .map_err(|e| AccountError::Internal(e.to_string()))
    }

    async fn verify_password(&self, p: Password, hash: String) -> bool {
        let params = self.inner.config.password;
        self.argon2(move || params.verify(&p, &hash))
            .await
            .unwrap_or(false)
    }

    // ---- sessions ----------------------------------------------------------------------------

    async fn open_session(
        &self,
        account: &SubjectId,
        client: &ClientContext,
        created: bool,
    ) -> Result<NewSession, AccountError> {
        let token = SessionToken::generate().map_err(AccountError::Internal)?;
        let now = self.now();
        let ip_ciphertext = match client.ip {
            Some(ip) => Some(
                self.seal(account, SESSIONS_TABLE, IP_COLUMN, &ip.to_string())
                    .await?,
            ),
            None => None,
        };
        let expires_at = now + client.kind.lifetime();
        self.store()
            .insert_session(&SessionRow {
                id: token.id(),
                account_id: account.as_str().to_string(),
                kind: client.kind.as_str().to_string(),
                created_at: now,
                expires_at,
                last_seen_at: now,
                revoked_at: None,
                device_model: client.device.device_model.clone(),
                os: client.device.os.clone(),
                app_version: client.device.app_version.clone(),
                network_type: client.device.network_type.clone(),
                ip_ciphertext,
            })
            .await?;
        Ok(NewSession {
            token,
            account: account.clone(),
            created,
            expires_at,
        })
    }

    /// The signed-in account of a token presented as `kind` (a web token only as the cookie, an
    /// app token only as a bearer token): `None` when unknown, revoked, expired, of the other
    /// kind, or of a cancelled account. Refreshes `last_seen_at` at most every 5 minutes.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn authenticate(
        &self,
        token: &SessionToken,
        kind: SessionKind,
    ) -> Result<Option<SignedIn>, AccountError> {
        let id = token.id();
        let store = self.store();
        let Some(row) = store.session(&id).await? else {
            return Ok(None);
        };
        let now = self.now();
        if row.revoked_at.is_some() || row.expires_at <= now || row.kind != kind.as_str() {
            return Ok(None);
        }
        let Some(account) = store.account(&row.account_id).await? else {
            return Ok(None);
        };
        if account.status != "active" {
            return Ok(None);
        }
        let Some(account_id) = SubjectId::parse(&row.account_id) else {
            return Ok(None);
        };
        if now - row.last_seen_at >= session::TOUCH_EVERY {
            store.touch_session(&id, now).await?;
        }
        let csrf = session::csrf_token(self.inner.privacy.keys().blind_index(), &id);
        Ok(Some(SignedIn::new(account_id, id, kind, csrf)))
    }

    /// The caller's active sessions, newest first, the caller's own marked.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn sessions(&self, who: &SignedIn) -> Result<Vec<SessionView>, AccountError> {
        let now = self.now();
        let rows = self.store().sessions_of(who.account().as_str()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows
            .into_iter()
            .filter(|r| r.expires_at > now && r.revoked_at.is_none())
        {
            let ip_masked = match &r.ip_ciphertext {
                Some(c) => self
                    .open(who.account(), SESSIONS_TABLE, IP_COLUMN, c)
                    .await
                    .ok()
                    .and_then(|s| s.parse::<IpAddr>().ok())
                    .map(session::mask_ip),
                None => None,
            };
            out.push(SessionView {
                id: session::public_id(&r.id),
                kind: SessionKind::parse(&r.kind).unwrap_or(SessionKind::Web),
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                device_model: r.device_model,
                os: r.os,
                app_version: r.app_version,
                network_type: r.network_type,
                ip_masked,
                current: r.id == who.session_id(),
            });
        }
        Ok(out)
    }

    /// Revokes one of the caller's sessions by its public id.
    ///
    /// # Errors
    /// [`AccountError::NoSuchSession`] when the caller has no such session (another account's
    /// session is "no such session" too); storage errors.
    pub async fn revoke_session(
        &self,
        who: &SignedIn,
        public_id: &str,
    ) -> Result<(), AccountError> {
        if !session::is_public_id(public_id) {
            return Err(AccountError::NoSuchSession);
        }
        let rows = self.store().sessions_of(who.account().as_str()).await?;
        let Some(row) = rows.iter().find(|r| session::public_id(&r.id) == public_id) else {
            return Err(AccountError::NoSuchSession);
        };
        if self
            .store()
            .revoke_session(who.account().as_str(), &row.id, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(AccountError::NoSuchSession)
        }
    }

    /// Signs out: revokes the caller's session.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn sign_out(&self, who: &SignedIn) -> Result<(), AccountError> {
        self.store()
            .revoke_session(who.account().as_str(), who.session_id(), self.now())
            .await?;
        Ok(())
    }

    /// Signs out everywhere: revokes every session of the account, the caller's included
    /// (audited). Returns how many were revoked.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn sign_out_everywhere(&self, who: &SignedIn) -> Result<u64, AccountError> {
        let n = self
            .store()
            .revoke_all_sessions(who.account().as_str(), self.now(), None)
            .await?;
        self.audit(
            who.account(),
            AuditKind::SignOutEverywhere,
            serde_json::json!({"sessions_revoked": n}),
        )
        .await?;
        Ok(n)
    }

    // ---- step-up -----------------------------------------------------------------------------

    /// Verifies a step-up code sent to the account's phone; returns until when sensitive changes
    /// are allowed.
    ///
    /// # Errors
    /// [`AccountError::InvalidCode`]; storage errors.
    pub async fn verify_step_up(
        &self,
        who: &SignedIn,
        code: &str,
    ) -> Result<OffsetDateTime, AccountError> {
        let row = self.account_row(who).await?;
        let idx = row.phone_index.ok_or(AccountError::Unauthenticated)?;
        let id = self.check_code(&idx, SmsPurpose::StepUp, code).await?;
        self.consume_code(id).await?;
        Ok(self.now() + STEP_UP_VALID)
    }

    /// Until when the account's latest step-up allows sensitive changes, if it still does: the
    /// latest `step_up` code of the account's phone was used within [`STEP_UP_VALID`].
    ///
    /// # Errors
    /// Storage errors.
    pub async fn step_up_until(
        &self,
        who: &SignedIn,
    ) -> Result<Option<OffsetDateTime>, AccountError> {
        let row = self.account_row(who).await?;
        let Some(idx) = row.phone_index else {
            return Ok(None);
        };
        let now = self.now();
        Ok(self
            .store()
            .latest_sms_code(&idx, SmsPurpose::StepUp.as_str())
            .await?
            .and_then(|c| c.consumed_at)
            .map(|at| at + STEP_UP_VALID)
            .filter(|until| *until > now))
    }

    /// Refuses unless a step-up is fresh (see [`Accounts::step_up_until`]). Call it before any
    /// sensitive change (phone, password, real-name verification).
    ///
    /// # Errors
    /// [`AccountError::StepUpRequired`]; storage errors.
    pub async fn require_step_up(&self, who: &SignedIn) -> Result<(), AccountError> {
        match self.step_up_until(who).await? {
            Some(_) => Ok(()),
            None => Err(AccountError::StepUpRequired),
        }
    }

    // ---- password ----------------------------------------------------------------------------

    /// Sets or changes the password (step-up required); every other session of the account is
    /// revoked (audited as `password_changed`).
    ///
    /// # Errors
    /// [`AccountError::StepUpRequired`], [`AccountError::InvalidPassword`], storage errors.
    pub async fn set_password(&self, who: &SignedIn, new: &str) -> Result<(), AccountError> {
        self.require_step_up(who).await?;
        let row = self.account_row(who).await?;
        let phone = self.phone_of(&row).await?;
        let p = Password::new_checked(new, Some(phone.expose()))?;
        let hash = self.hash_password(p).await?;
        let now = self.now();
        let store = self.store();
        store
            .set_account_password(&row.id, Some(&hash), now)
            .await?;
        store.reset_password_failures(&row.id).await?;
        let revoked = store
            .revoke_all_sessions(&row.id, now, Some(who.session_id()))
            .await?;
        self.audit(
            who.account(),
            AuditKind::PasswordChanged,
            serde_json::json!({"had_password": row.password_hash.is_some(), "other_sessions_revoked": revoked}),
        )
        .await
    }

    /// Recovers an account with a code sent to its phone: sets the new password, revokes every
    /// session, and signs this client in (audited as `account_recovered`).
    ///
    /// # Errors
    /// [`AccountError::InvalidPassword`] (checked first), [`AccountError::InvalidCode`] (also when
    /// the number has no account: no code was delivered to it), storage errors.
    pub async fn recover(
        &self,
        phone: &Phone,
        code: &str,
        new_password: &str,
        client: &ClientContext,
    ) -> Result<NewSession, AccountError> {
        let p = Password::new_checked(new_password, Some(phone.expose()))?;
        let idx = self.phone_index(phone);
        let code_id = self.check_code(&idx, SmsPurpose::Recover, code).await?;
        let Some(row) = self.store().account_by_phone_index(&idx).await? else {
            return Err(AccountError::InvalidCode(CodeRejection::Wrong));
        };
        let id = SubjectId::parse(&row.id).ok_or(AccountError::Internal(
            "stored account id is malformed".into(),
        ))?;
        if !self.has_accepted(&id).await? {
            return Err(AccountError::PolicyNotAccepted);
        }
        self.consume_code(code_id).await?;
        let hash = self.hash_password(p).await?;
        let now = self.now();
        let store = self.store();
        store
            .set_account_password(&row.id, Some(&hash), now)
            .await?;
        store.reset_password_failures(&row.id).await?;
        let revoked = store.revoke_all_sessions(&row.id, now, None).await?;
        self.audit(
            &id,
            AuditKind::AccountRecovered,
            serde_json::json!({"sessions_revoked": revoked}),
        )
        .await?;
        self.open_session(&id, client, false).await
    }

    // ---- profile -----------------------------------------------------------------------------

    /// The caller's account row.
    async fn account_row(&self, who: &SignedIn) -> Result<AccountRow, AccountError> {
        self.store()
            .account(who.account().as_str())
            .await?
            .filter(|a| a.status == "active")
            .ok_or(AccountError::Unauthenticated)
    }

    /// The account's phone number, opened with its data key.
    async fn phone_of(&self, row: &AccountRow) -> Result<Phone, AccountError> {
        let id = SubjectId::parse(&row.id).ok_or(AccountError::Internal(
            "stored account id is malformed".into(),
        ))?;
        let sealed = row
            .phone_ciphertext
            .as_ref()
            .ok_or(AccountError::Internal("the account has no phone".into()))?;
        let plain = self.open(&id, ACCOUNTS_TABLE, PHONE_COLUMN, sealed).await?;
        Phone::parse(&plain)
            .map_err(|_| AccountError::Privacy(PrivacyError::Corrupt("accounts.phone_ciphertext")))
    }

    async fn seal(
        &self,
        subject: &SubjectId,
        table: &str,
        column: &str,
        plain: &str,
    ) -> Result<Vec<u8>, AccountError> {
        Ok(self
            .inner
            .privacy
            .seal_field(subject, (table, column), plain.as_bytes())
            .await?)
    }

    async fn open(
        &self,
        subject: &SubjectId,
        table: &str,
        column: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<String>, AccountError> {
        Ok(self
            .inner
            .privacy
            .open_field(subject, (table, column), sealed)
            .await?)
    }

    /// The caller's profile.
    ///
    /// # Errors
    /// Storage and privacy errors.
    pub async fn profile(&self, who: &SignedIn) -> Result<Profile, AccountError> {
        let row = self.account_row(who).await?;
        let phone = self.phone_of(&row).await?;
        Ok(Profile {
            phone_masked: phone.masked(),
            nickname: row.nickname.clone(),
            has_avatar: row.avatar_file.is_some(),
            has_password: row.password_hash.is_some(),
            created_at: row.created_at,
            step_up_until: self.step_up_until(who).await?,
        })
    }

    /// Sets (or, with `None` or blank, removes) the nickname; returns the stored form.
    ///
    /// # Errors
    /// [`AccountError::InvalidNickname`]; storage errors.
    pub async fn set_nickname(
        &self,
        who: &SignedIn,
        nickname: Option<&str>,
    ) -> Result<Option<String>, AccountError> {
        let n = nickname
            .filter(|n| !n.trim().is_empty())
            .map(profile::normalize_nickname)
            .transpose()?;
        self.store()
            .update_account_profile(who.account().as_str(), n.as_deref(), self.now())
            .await?;
        Ok(n)
    }

    /// Sends a code to the new number before a phone change (step-up required).
    ///
    /// # Errors
    /// [`AccountError::StepUpRequired`], [`AccountError::PhoneUnchanged`], send errors.
    pub async fn send_phone_change_code(
        &self,
        who: &SignedIn,
        new_phone: &Phone,
        ip: Option<IpAddr>,
    ) -> Result<CodeSent, AccountError> {
        self.require_step_up(who).await?;
        let row = self.account_row(who).await?;
        if row.phone_index.as_deref() == Some(self.phone_index(new_phone).as_str()) {
            return Err(AccountError::PhoneUnchanged);
        }
        if self
            .store()
            .account_by_phone_index(&self.phone_index(new_phone))
            .await?
            .is_some()
        {
            // The number belongs to another account: nothing is sent and nothing is counted
            // against that number's send limits (codes sent to someone else's phone would spend
            // its owner's daily allowance and lock them out of signing in). The answer is the
            // same as for a free number, so it does not tell whether the number has an account;
            // `change_phone` then refuses every code, as none was issued.
            return Ok(CodeSent {
                expires_in: sms::CODE_TTL.whole_seconds() as u64,
                resend_after: 60,
            });
        }
        self.send_code(
            new_phone,
            SmsPurpose::ChangePhone,
            ip,
            Some(who.account()),
            true,
        )
        .await
    }

    /// Changes the phone number (step-up required, and the code sent to the new number); audited
    /// as `phone_changed`.
    ///
    /// # Errors
    /// [`AccountError::StepUpRequired`], [`AccountError::InvalidCode`],
    /// [`AccountError::PhoneTaken`] (checked after the code, so only the number's owner learns
    /// it), [`AccountError::PhoneUnchanged`], storage errors.
    pub async fn change_phone(
        &self,
        who: &SignedIn,
        new_phone: &Phone,
        code: &str,
    ) -> Result<(), AccountError> {
        self.require_step_up(who).await?;
        let row = self.account_row(who).await?;
        let idx = self.phone_index(new_phone);
        if row.phone_index.as_deref() == Some(idx.as_str()) {
            return Err(AccountError::PhoneUnchanged);
        }
        let code_id = self.check_code(&idx, SmsPurpose::ChangePhone, code).await?;
        if self.store().account_by_phone_index(&idx).await?.is_some() {
            return Err(AccountError::PhoneTaken);
        }
        self.consume_code(code_id).await?;
        let sealed = self
            .seal(
                who.account(),
                ACCOUNTS_TABLE,
                PHONE_COLUMN,
                new_phone.expose(),
            )
            .await?;
        match self
            .store()
            .set_account_phone(&row.id, &idx, &sealed, self.now())
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(AccountError::Unauthenticated),
            Err(StoreError::Constraint { .. }) => return Err(AccountError::PhoneTaken),
            Err(e) => return Err(e.into()),
        }
        self.audit(
            who.account(),
            AuditKind::PhoneChanged,
            serde_json::json!({}),
        )
        .await
    }

    // ---- avatar ------------------------------------------------------------------------------

    /// Stores a new avatar: sanitised by `anjia_media::sanitize_image` (type from the bytes, size
    /// and pixel limits before decoding, re-encoded without metadata), written under
    /// `files_dir/avatars/`; the previous file is deleted.
    ///
    /// # Errors
    /// [`AccountError::Image`]; I/O and storage errors.
    pub async fn set_avatar(&self, who: &SignedIn, upload: &[u8]) -> Result<(), AccountError> {
        let upload = upload.to_vec();
        let image = tokio::task::spawn_blocking(move || {
            anjia_media::sanitize_image(&upload, &anjia_media::ImageLimits::AVATAR)
        })
        .await
        .map_err(|e| AccountError::Internal(format!("image task: {e}")))?
        .map_err(ImageRejected::from)?;
        let dir = &self.inner.config.files_dir;
        let name = profile::write_avatar(dir, &image.bytes, image.extension() == "png")
            .await
            .map_err(|e| {
                AccountError::Internal(format!("writing an avatar under {}: {e}", dir.display()))
            })?;
        let previous = match self
            .store()
            .set_account_avatar(who.account().as_str(), Some(&name), self.now())
            .await
        {
            Ok(p) => p,
            Err(e) => {
                let _ = profile::delete_avatar(dir, &name).await;
                return Err(e.into());
            }
        };
        if let Some(old) = previous
            && let Err(e) = profile::delete_avatar(dir, &old).await
        {
            tracing::warn!(error = %e, "the replaced avatar file could not be deleted");
        }
        Ok(())
    }

    /// Resets the avatar to the default: the stored file is deleted. Returns whether there was
    /// one.
    ///
    /// # Errors
    /// I/O and storage errors.
    pub async fn reset_avatar(&self, who: &SignedIn) -> Result<bool, AccountError> {
        let previous = self
            .store()
            .set_account_avatar(who.account().as_str(), None, self.now())
            .await?;
        let Some(old) = previous else {
            return Ok(false);
        };
        profile::delete_avatar(&self.inner.config.files_dir, &old)
            .await
            .map_err(|e| AccountError::Internal(format!("deleting an avatar: {e}")))?;
        Ok(true)
    }

    /// The caller's avatar: bytes and `Content-Type`, `None` when none is set (or its file is
    /// missing).
    ///
    /// # Errors
    /// Storage and I/O errors.
    pub async fn avatar(
        &self,
        who: &SignedIn,
    ) -> Result<Option<(Vec<u8>, &'static str)>, AccountError> {
        let row = self.account_row(who).await?;
        let Some(name) = row.avatar_file else {
            return Ok(None);
        };
        let Some(path) = profile::avatar_path(&self.inner.config.files_dir, &name) else {
            return Ok(None);
        };
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some((b, profile::avatar_mime(&name)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AccountError::Internal(format!("reading an avatar: {e}"))),
        }
    }
}

impl From<anjia_media::MediaError> for ImageRejected {
    fn from(e: anjia_media::MediaError) -> Self {
        ImageRejected {
            status: e.http_status(),
            reason: e.reason(),
            message: e.to_string(),
            message_zh: e.message_zh(),
        }
    }
}

impl ImageRejected {
    /// No image in the upload (400-class refusal with `reason` `missing`).
    pub fn missing() -> ImageRejected {
        ImageRejected {
            status: 422,
            reason: "missing",
            message: "no image: send the file in the multipart field `avatar`".into(),
            message_zh: "请选择要上传的图片。".into(),
        }
    }
}
