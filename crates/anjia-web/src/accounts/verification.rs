//! Real-name verification (实名认证): name + document type + number checked by a verification
//! provider — the registry recipient `realname_verifier`, an independent recipient needing separate
//! consent (PIPL Art. 23, 29; `data/privacy/third-parties.toml`).
//!
//! The provider is reached only through [`VerificationProvider`]; the built-in
//! [`SandboxVerifier`] is the development provider (a deployment plugs its contracted provider in
//! through the same trait).

use anjia_privacy::pi::{IdNumber, RealName};
use std::future::Future;
use std::pin::Pin;

/// What the provider answers: whether name and number belong together. Nothing else comes back
/// (the registry's purpose: "只返回核验结果").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationOutcome {
    /// Name and number match a real identity.
    Consistent,
    /// They do not.
    Mismatch,
}

impl VerificationOutcome {
    /// The stored status (`identity_verifications.status`): `verified` or `mismatch`.
    pub fn status(self) -> &'static str {
        match self {
            VerificationOutcome::Consistent => "verified",
            VerificationOutcome::Mismatch => "mismatch",
        }
    }
}

/// The provider could not answer (network, outage). Carries no PI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the verification provider is unavailable")]
pub struct VerifierUnavailable;

/// What is sent to the provider: exactly the registry's fields `verification.real_name` and
/// `verification.id_number`, plus the document type id.
#[derive(Debug)]
pub struct VerificationQuery<'a> {
    /// The name (normalised).
    pub name: &'a RealName,
    /// The document type id (`anjia_domain::id_document::DocumentType::id`).
    pub document_type: &'a str,
    /// The normalised document number.
    pub number: &'a IdNumber,
}

/// The future a provider returns.
pub type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<VerificationOutcome, VerifierUnavailable>> + Send + 'a>>;

/// A real-name verification provider. Implementations must not log the query.
pub trait VerificationProvider: Send + Sync + 'static {
    /// Stable id stored with the result (`identity_verifications.provider`).
    fn id(&self) -> &'static str;
    /// Checks name against number.
    fn verify<'a>(&'a self, query: VerificationQuery<'a>) -> VerifyFuture<'a>;
}

/// The name for which [`SandboxVerifier`] answers [`VerificationOutcome::Mismatch`] (“test
/// mismatch”); every other name is consistent with any valid number.
pub const SANDBOX_MISMATCH_NAME: &str = "测试不符";

/// The development provider: answers [`VerificationOutcome::Consistent`] for every query except
/// the name [`SANDBOX_MISMATCH_NAME`]; never unavailable. It sees only what a real provider would
/// (the query), and keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxVerifier;

impl VerificationProvider for SandboxVerifier {
    fn id(&self) -> &'static str {
        "sandbox"
    }

    fn verify<'a>(&'a self, query: VerificationQuery<'a>) -> VerifyFuture<'a> {
        let mismatch = query.name.expose() == SANDBOX_MISMATCH_NAME;
        Box::pin(async move {
            Ok(if mismatch {
                VerificationOutcome::Mismatch
            } else {
                VerificationOutcome::Consistent
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sandbox_is_consistent_except_for_the_mismatch_name() {
        let number = IdNumber::parse("11010519491231002X").unwrap();
        let v = SandboxVerifier;
        for (name, want) in [
            ("张三", VerificationOutcome::Consistent),
            (SANDBOX_MISMATCH_NAME, VerificationOutcome::Mismatch),
            (" 测试不符 ", VerificationOutcome::Mismatch),
        ] {
            let name = RealName::parse(name).unwrap();
            let q = VerificationQuery {
                name: &name,
                document_type: "resident_identity_card",
                number: &number,
            };
            assert_eq!(v.verify(q).await, Ok(want));
        }
        assert_eq!(VerificationOutcome::Consistent.status(), "verified");
        assert_eq!(VerificationOutcome::Mismatch.status(), "mismatch");
    }
}
