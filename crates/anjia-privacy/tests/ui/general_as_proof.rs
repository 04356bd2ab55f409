// An operation that needs separate consent takes a proof; general acceptance does not fit.
use anjia_privacy::consent::{GeneralAcceptance, SeparateConsentProof};

fn provide_id_number(_proof: &SeparateConsentProof) {}

fn with_general(general: &GeneralAcceptance) {
    provide_id_number(general);
}

fn main() {
    let _ = with_general;
}
