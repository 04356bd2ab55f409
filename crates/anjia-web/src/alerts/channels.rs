//! Delivery channels besides the in-app message centre: SMS (the accounts' [`SmsGateway`]) and
//! e-mail ([`EmailGateway`]), with their development implementations writing to outbox tables.
//!
//! Idempotency: every alert send carries its delivery id. The development gateways write it into
//! the outbox row (UNIQUE), so an attempt repeated after a crash finds the message written and
//! writes nothing; a production gateway passes it to the provider as its idempotency key
//! (e.g. the `OutId` of mainland SMS services, a `Message-ID` derived from it for e-mail).
//!
//! Nothing here logs an address, a number or a text.

use crate::accounts::sms::{BoxFuture, SmsError};
use crate::privacy::Privacy;
use anjia_privacy::pi::Email;
use std::fmt;

/// Where the e-mail address for alerts is sealed: `notification_settings.email_ciphertext`,
/// with the account's data key (the AAD names this table and column).
pub const EMAIL_TABLE: &str = "notification_settings";
/// See [`EMAIL_TABLE`].
pub const EMAIL_COLUMN: &str = "email_ciphertext";

/// An e-mail gateway failed to deliver a message. The text never holds the address or the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("e-mail gateway: {0}")]
pub struct EmailError(pub String);

impl From<SmsError> for EmailError {
    fn from(e: SmsError) -> Self {
        EmailError(e.0)
    }
}

/// One e-mail: plain-text subject and body (zh-CN).
#[derive(Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

impl fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailMessage(<redacted>)")
    }
}

/// Delivers e-mail. Implementations must not log the address or the text, and must treat a
/// repeated `delivery_id` as the same message (send it at most once).
pub trait EmailGateway: Send + Sync + 'static {
    /// A short id for logs (`dev_outbox`, …).
    fn id(&self) -> &'static str;

    /// Sends `message` to `to` for delivery `delivery_id`.
    fn send<'a>(
        &'a self,
        to: &'a Email,
        message: &'a EmailMessage,
        delivery_id: i64,
    ) -> BoxFuture<'a, Result<(), EmailError>>;
}

/// The development e-mail gateway: every message goes into the `email_outbox` table under the
/// address's blind index (the address itself is never written), where
/// `anjia email outbox --to ADDR` and the tests read it.
pub struct DevEmailOutbox {
    privacy: Privacy,
}

impl DevEmailOutbox {
    /// A gateway writing to the privacy service's store, indexing with its blind-index key.
    pub fn new(privacy: Privacy) -> DevEmailOutbox {
        DevEmailOutbox { privacy }
    }
}

impl EmailGateway for DevEmailOutbox {
    fn id(&self) -> &'static str {
        "dev_outbox"
    }

    fn send<'a>(
        &'a self,
        to: &'a Email,
        message: &'a EmailMessage,
        delivery_id: i64,
    ) -> BoxFuture<'a, Result<(), EmailError>> {
        Box::pin(async move {
            let index = self.privacy.keys().blind_index().email(to);
            self.privacy
                .store()
                .insert_email_outbox(
                    &index,
                    &message.subject,
                    &message.body,
                    Some(delivery_id),
                    self.privacy.now(),
                )
                .await
                .map(|_| ())
                .map_err(|_| EmailError("the development outbox could not be written".into()))
        })
    }
}
