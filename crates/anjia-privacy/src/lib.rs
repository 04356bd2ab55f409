//! anjia's privacy mechanisms (PRIVACY.md; design in `docs/PRIVACY-DESIGN.md`).
//!
//! Pure and synchronous: the rules and the cryptography, no database and no HTTP. Storage lives in
//! `anjia-store`, wiring in `anjia-web` and `anjia`.

pub mod analytics;
pub mod audit;
pub mod consent;
pub mod crypto;
pub mod inventory;
pub mod mask;
pub mod permissions;
pub mod pi;
pub mod policy;
pub mod roles;
pub mod third_party;
