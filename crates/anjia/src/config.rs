//! Configuration: defaults, then an optional TOML file, then `ANJIA_…` environment variables.
//!
//! | key | env | default | meaning |
//! |---|---|---|---|
//! | `database_url` | `ANJIA_DATABASE_URL` | `sqlite://var/anjia.db` | `sqlite://PATH` or `postgres://…` |
//! | `index_dir` | `ANJIA_INDEX_DIR` | `var/index` | search index directory (derived data) |
//! | `data_dir` | `ANJIA_DATA_DIR` | `data` | bundled data imported into an empty database |
//! | `listen` | `ANJIA_LISTEN` | `127.0.0.1:8080` | address the server binds |
//! | `import_bundled` | `ANJIA_IMPORT_BUNDLED` | `true` | import `data_dir` when the database is empty |
//! | `log` | `ANJIA_LOG` | `info` | tracing filter |
//!
//! Secrets come only from the environment: a `database_url` with a password in the TOML file is
//! refused.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The platform's configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Storage URL: `sqlite://PATH` (created if missing) or `postgres://user@host/db`.
    pub database_url: String,
    /// Directory of the search index.
    pub index_dir: PathBuf,
    /// Directory of the bundled data (`auctions/…`).
    pub data_dir: PathBuf,
    /// Socket address to listen on.
    pub listen: String,
    /// Whether `serve` imports the bundled data into an empty database.
    pub import_bundled: bool,
    /// tracing-subscriber filter, e.g. `info` or `anjia=debug`.
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://var/anjia.db".into(),
            index_dir: "var/index".into(),
            data_dir: "data".into(),
            listen: "127.0.0.1:8080".into(),
            import_bundled: true,
            log: "info".into(),
        }
    }
}

fn has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split('@').next().filter(|_| rest.contains('@')))
        .is_some_and(|userinfo| userinfo.contains(':'))
}

impl Config {
    /// Loads defaults, then `file` if given (it must exist) or `anjia.toml` if present, then the
    /// environment.
    ///
    /// # Errors
    /// A missing explicit file, a malformed file, an unknown key, or a password in the file's
    /// `database_url`.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let path = match file {
            Some(p) => {
                if !p.exists() {
                    bail!("configuration file {} does not exist", p.display());
                }
                Some(p.to_path_buf())
            }
            None => Some(PathBuf::from("anjia.toml")).filter(|p| p.exists()),
        };
        if let Some(p) = &path {
            let from_file: toml_check::Partial = Figment::from(Toml::file(p))
                .extract()
                .with_context(|| format!("reading {}", p.display()))?;
            if from_file.database_url.as_deref().is_some_and(has_password) {
                bail!(
                    "{}: database_url contains a password; put secrets only in the environment (ANJIA_DATABASE_URL)",
                    p.display()
                );
            }
            fig = fig.merge(Toml::file(p));
        }
        fig = fig.merge(Env::prefixed("ANJIA_"));
        fig.extract().context("invalid configuration")
    }
}

mod toml_check {
    /// The part of the file checked for secrets.
    #[derive(serde::Deserialize)]
    pub struct Partial {
        pub database_url: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_passwords() {
        assert!(has_password("postgres://u:secret@h/db"));
        assert!(!has_password("postgres://u@h/db"));
        assert!(!has_password("sqlite://var/a.db"));
    }

    #[test]
    fn file_with_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(&f, "database_url = \"postgres://u:pw@127.0.0.1/x\"\n").unwrap();
        let e = Config::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("password"), "{e}");
        std::fs::write(&f, "listen = \"127.0.0.1:9\"\nbogus = 1\n").unwrap();
        assert!(Config::load(Some(&f)).is_err());
        std::fs::write(&f, "listen = \"127.0.0.1:9\"\n").unwrap();
        assert_eq!(Config::load(Some(&f)).unwrap().listen, "127.0.0.1:9");
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }
}
