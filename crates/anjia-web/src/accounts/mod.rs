//! Accounts and identity (issue 3; docs/ACCOUNTS-DESIGN.md).

pub mod minors;
pub mod oauth;
pub mod verification;
