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
//! | `keys_file` | `ANJIA_KEYS_FILE` | `var/keys.toml` | key file (KEKs, blind-index key, audit signing seed), mode 0600, created by the first `serve`/`migrate`; unused when `ANJIA_KEK_CURRENT` is set (keys from the environment, see `anjia_privacy::crypto`) |
//! | `vault_url` | `ANJIA_VAULT_URL` | `keys.db` beside a SQLite database | the key vault: a database of its own (required for PostgreSQL) |
//! | `files_dir` | `ANJIA_FILES_DIR` | `var/files` | uploaded files (avatars under `avatars/`), created on first upload |
//! | `trust_forwarded_for` | `ANJIA_TRUST_FORWARDED_FOR` | `false` | take the client address from the last `X-Forwarded-For` entry (only behind a reverse proxy that sets it; the per-address SMS limits use it) |
//! | `storage_region` | `ANJIA_STORAGE_REGION` | `CN-BJ` | where the databases, vault and backups are stored: an ISO 3166-2:CN mainland code or a mainland cloud region; anything else refuses to start (PRV-36) |
//! | `public_url` | `ANJIA_PUBLIC_URL` | none | the site's public base URL (`https://anjia.example`); required when a linked-login provider is configured (OAuth redirect URIs are built from it) |
//! | `[oauth.<id>]` | — | none | a linked-login provider (see below) |
//!
//! # Linked-login providers
//! `[oauth.<id>]` tables configure OAuth 2.0 providers; `<id>` must be a login recipient of
//! `data/privacy/third-parties.toml` (`login_wechat`, `login_alipay`). Keys: `authorize_url`,
//! `token_url`, `userinfo_url`, `client_id`, and optionally the userinfo member names
//! `user_id_field` (default `sub`), `nickname_field` (`nickname`), `avatar_field` (`avatar`). The
//! client secret comes only from the environment variable `ANJIA_OAUTH_<ID>_CLIENT_SECRET`
//! (`<ID>` upper-cased); a `client_secret` in the file is refused, and a provider without its
//! variable refuses to start.
//!
//! Secrets come only from the environment: a `database_url` or `vault_url` with a password in the
//! TOML file is refused, as is an OAuth `client_secret`. The key variables `ANJIA_KEK_*`, `ANJIA_BLIND_INDEX_KEY` and
//! `ANJIA_AUDIT_SIGNING_SEED` are read by the key ring, not as configuration.

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
    /// The key file (created with mode 0600 by the first `serve` or `migrate` when missing).
    pub keys_file: PathBuf,
    /// The key vault's URL; `None`: `keys.db` beside a SQLite main database.
    #[serde(default)]
    pub vault_url: Option<String>,
    /// Region of every storage location (checked to be in mainland China at startup).
    pub storage_region: String,
    /// The site's public base URL, e.g. `https://anjia.example` (no trailing slash needed).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Linked-login providers by registry recipient id (`[oauth.<id>]`).
    #[serde(default)]
    pub oauth: std::collections::BTreeMap<String, OAuthProviderConfig>,
    /// Directory of uploaded files (avatars in `avatars/`).
    #[serde(default = "default_files_dir")]
    pub files_dir: PathBuf,
    /// Whether the client address is the last `X-Forwarded-For` entry (behind a reverse proxy).
    #[serde(default)]
    pub trust_forwarded_for: bool,
}

fn default_files_dir() -> PathBuf {
    PathBuf::from("var/files")
}

/// One `[oauth.<id>]` table. The secret is not part of the file: see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OAuthProviderConfig {
    /// Authorization endpoint (https; plain http only to the loopback interface).
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// Userinfo endpoint (GET with the bearer access token).
    pub userinfo_url: String,
    /// Client id issued by the provider.
    pub client_id: String,
    /// Userinfo member holding the provider's user id (default `sub`; WeChat `openid`).
    #[serde(default)]
    pub user_id_field: Option<String>,
    /// Userinfo member holding the nickname (default `nickname`).
    #[serde(default)]
    pub nickname_field: Option<String>,
    /// Userinfo member holding the avatar URL (default `avatar`; WeChat `headimgurl`).
    #[serde(default)]
    pub avatar_field: Option<String>,
}

/// The environment variable holding provider `id`'s client secret: `ANJIA_OAUTH_<ID>_CLIENT_SECRET`.
pub fn oauth_secret_var(id: &str) -> String {
    format!("ANJIA_OAUTH_{}_CLIENT_SECRET", id.to_ascii_uppercase())
}

impl Config {
    /// The configured linked-login providers as [`anjia_web::accounts::oauth::ProviderSettings`],
    /// each secret read through `env` (normally `std::env::var`) from [`oauth_secret_var`], the
    /// redirect URI built from `public_url`.
    ///
    /// # Errors
    /// Providers without `public_url`, an unusable `public_url`, a missing or empty secret
    /// variable (named).
    pub fn oauth_providers(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Vec<anjia_web::accounts::oauth::ProviderSettings>> {
        use anjia_web::accounts::oauth::{ProviderSettings, UserinfoFields};
        if self.oauth.is_empty() {
            return Ok(Vec::new());
        }
        let Some(base) = self.public_url.as_deref() else {
            bail!(
                "[oauth.*] providers need `public_url` (ANJIA_PUBLIC_URL): redirect URIs are built from it"
            );
        };
        let base = base.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            bail!("public_url must be an absolute http(s) URL");
        }
        let defaults = UserinfoFields::default();
        let mut out = Vec::new();
        for (id, p) in &self.oauth {
            let var = oauth_secret_var(id);
            let secret = env(&var).filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                anyhow::anyhow!("oauth provider `{id}` is configured but {var} is not set")
            })?;
            out.push(ProviderSettings {
                id: id.clone(),
                authorize_url: p.authorize_url.clone(),
                token_url: p.token_url.clone(),
                userinfo_url: p.userinfo_url.clone(),
                client_id: p.client_id.clone(),
                client_secret: zeroize::Zeroizing::new(secret),
                redirect_url: format!("{base}/account/oauth/{id}/callback"),
                fields: UserinfoFields {
                    user_id: p.user_id_field.clone().unwrap_or(defaults.user_id.clone()),
                    nickname: p
                        .nickname_field
                        .clone()
                        .unwrap_or(defaults.nickname.clone()),
                    avatar: p.avatar_field.clone().unwrap_or(defaults.avatar.clone()),
                },
            });
        }
        Ok(out)
    }
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
            keys_file: "var/keys.toml".into(),
            vault_url: None,
            storage_region: "CN-BJ".into(),
            public_url: None,
            oauth: std::collections::BTreeMap::new(),
            files_dir: default_files_dir(),
            trust_forwarded_for: false,
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
            if from_file.vault_url.as_deref().is_some_and(has_password) {
                bail!(
                    "{}: vault_url contains a password; put secrets only in the environment (ANJIA_VAULT_URL)",
                    p.display()
                );
            }
            for (id, table) in from_file.oauth.iter().flatten() {
                if table.contains_key("client_secret") {
                    bail!(
                        "{}: [oauth.{id}] contains client_secret; put secrets only in the environment ({})",
                        p.display(),
                        oauth_secret_var(id)
                    );
                }
            }
            fig = fig.merge(Toml::file(p));
        }
        fig = fig.merge(Env::prefixed("ANJIA_").filter(|k| is_config_var(k.as_str())));
        fig.extract().context("invalid configuration")
    }
}

/// Whether `ANJIA_<key>` is configuration (not a key-ring variable nor a test variable).
fn is_config_var(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !(k.starts_with("kek_")
        || k == "blind_index_key"
        || k == "audit_signing_seed"
        || k.starts_with("test_")
        || k.starts_with("oauth_"))
}

impl Config {
    /// The key vault URL: `vault_url`, or `keys.db` beside a SQLite main database.
    ///
    /// # Errors
    /// A PostgreSQL main database without `vault_url` (the vault must be a separate database).
    pub fn vault_url(&self) -> anyhow::Result<String> {
        match &self.vault_url {
            Some(u) => Ok(u.clone()),
            None => anjia_store::KeyVault::default_url_for(&self.database_url).ok_or_else(|| {
                anyhow::anyhow!(
                    "vault_url is not set: with PostgreSQL the key vault must be a separate database (set ANJIA_VAULT_URL)"
                )
            }),
        }
    }
}

mod toml_check {
    /// The part of the file checked for secrets.
    #[derive(serde::Deserialize)]
    pub struct Partial {
        pub database_url: Option<String>,
        pub vault_url: Option<String>,
        pub oauth: Option<std::collections::BTreeMap<String, toml::Table>>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_variables_are_not_configuration() {
        assert!(!is_config_var("KEK_1"));
        assert!(!is_config_var("KEK_CURRENT"));
        assert!(!is_config_var("BLIND_INDEX_KEY"));
        assert!(!is_config_var("AUDIT_SIGNING_SEED"));
        assert!(!is_config_var("TEST_PG_URL"));
        assert!(!is_config_var("OAUTH_LOGIN_WECHAT_CLIENT_SECRET"));
        assert!(is_config_var("VAULT_URL"));
        let c = Config::default();
        assert_eq!(c.vault_url().unwrap(), "sqlite://var/keys.db");
        let pg = Config {
            database_url: "postgres://u@h/db".into(),
            ..Config::default()
        };
        assert!(
            pg.vault_url()
                .unwrap_err()
                .to_string()
                .contains("ANJIA_VAULT_URL")
        );
    }

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
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9");
        assert_eq!(c.files_dir, PathBuf::from("var/files"));
        assert!(!c.trust_forwarded_for);
        std::fs::write(
            &f,
            "files_dir = \"/srv/anjia/files\"\ntrust_forwarded_for = true\n",
        )
        .unwrap();
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!(c.files_dir, PathBuf::from("/srv/anjia/files"));
        assert!(c.trust_forwarded_for);
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }

    #[test]
    fn oauth_providers_take_secrets_only_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        let table = "[oauth.login_wechat]\nauthorize_url = \"https://open.example/authorize\"\ntoken_url = \"https://open.example/token\"\nuserinfo_url = \"https://open.example/userinfo\"\nclient_id = \"wx1\"\nuser_id_field = \"openid\"\n";
        std::fs::write(&f, format!("{table}client_secret = \"pw\"\n")).unwrap();
        let e = Config::load(Some(&f)).unwrap_err().to_string();
        assert!(
            e.contains("client_secret") && e.contains("ANJIA_OAUTH_LOGIN_WECHAT_CLIENT_SECRET"),
            "{e}"
        );
        assert!(!e.contains("pw\""), "{e}");
        std::fs::write(&f, table).unwrap();
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!(c.oauth["login_wechat"].client_id, "wx1");
        let e = c.oauth_providers(|_| None).unwrap_err().to_string();
        assert!(e.contains("public_url"), "{e}");
        std::fs::write(
            &f,
            format!("public_url = \"https://anjia.example/\"\n{table}"),
        )
        .unwrap();
        let c = Config::load(Some(&f)).unwrap();
        let e = c.oauth_providers(|_| None).unwrap_err().to_string();
        assert!(e.contains("ANJIA_OAUTH_LOGIN_WECHAT_CLIENT_SECRET"), "{e}");
        let ps = c
            .oauth_providers(|k| {
                (k == "ANJIA_OAUTH_LOGIN_WECHAT_CLIENT_SECRET").then(|| "pw".to_string())
            })
            .unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(
            ps[0].redirect_url,
            "https://anjia.example/account/oauth/login_wechat/callback"
        );
        assert_eq!(ps[0].fields.user_id, "openid");
        assert_eq!(ps[0].fields.avatar, "avatar");
        assert_eq!(&*ps[0].client_secret, "pw");
        assert!(
            Config::default()
                .oauth_providers(|_| None)
                .unwrap()
                .is_empty()
        );
    }
}
