//! The integration tests: the real server on port 0, spoken to over HTTP, on SQLite and PostgreSQL,
//! with the bundled real data imported.
//!
//! Each `both!` test runs once per backend. Without a reachable PostgreSQL the PostgreSQL variant
//! prints a skip notice, except under `CI=true`, where it fails.

mod support;

mod accounts;
mod alerts;
mod alerts_web;
mod api;
mod authz;
mod browser;
mod canary;
mod compliance;
mod denied;
mod harness;
mod import;
mod market;
mod nearby;
mod notices;
mod oauth;
mod oauth_provider;
mod pages;
mod privacy;
mod raw_scan;
mod retention;
mod rights;
mod tickets;
mod valuate;
mod verification;
