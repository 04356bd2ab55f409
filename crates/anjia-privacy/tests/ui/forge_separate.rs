// Private fields: neither a SeparateConsent, its ExplicitAct nor a proof can be built by hand.
use anjia_privacy::consent::{ExplicitAct, SensitivePurpose, SeparateConsent, SeparateConsentProof, Surface};
use time::OffsetDateTime;

fn main() {
    let at = OffsetDateTime::UNIX_EPOCH;
    let _act = ExplicitAct { purpose: SensitivePurpose::RealNameVerification, surface: Surface::Web, at };
    let _consent = SeparateConsent { purpose: SensitivePurpose::RealNameVerification, surface: Surface::Web, at };
    let _proof = SeparateConsentProof {
        purpose: SensitivePurpose::RealNameVerification,
        policy_version: String::new(),
        granted_at: at,
    };
}
