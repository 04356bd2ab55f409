// No From/Into: a GeneralAcceptance cannot be converted into a SeparateConsent.
use anjia_privacy::consent::{GeneralAcceptance, SeparateConsent};

fn convert(general: GeneralAcceptance) -> SeparateConsent {
    general.into()
}

fn main() {
    let _ = convert;
}
