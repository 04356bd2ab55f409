//! Accounts (issue 3, `docs/ACCOUNTS-DESIGN.md` §C): the pure parts — SMS codes and send limits,
//! session tokens and CSRF, password rules and hashing, profile rules.

pub mod password;
pub mod profile;
pub mod session;
pub mod sms;
