//! The privacy operations behind `anjia serve`, `anjia audit …`, `anjia keys …` and
//! `anjia staff …`: loading (or on first start creating) the key ring, opening the key vault,
//! checking storage locations, verifying the audit log, rotating and retiring KEKs.

use crate::Config;
use anjia_privacy::audit::{Tamper, VerifyReport};
use anjia_privacy::crypto::KeyRing;
use anjia_privacy::third_party::{StorageLocation, check_storage_locations};
use anjia_store::{KeyVault, Store};
use anjia_web::Privacy;
use anjia_web::privacy::RewrapReport;
use anyhow::{Context, bail};

/// Whether the key ring comes from the environment (`ANJIA_KEK_CURRENT` set) instead of the key
/// file.
pub fn keys_from_env() -> bool {
    std::env::var_os("ANJIA_KEK_CURRENT").is_some()
}

/// Loads the key ring: from the environment when `ANJIA_KEK_CURRENT` is set, else from
/// `keys_file`. With `create`, a missing key file is generated (mode 0600, its directory
/// created).
///
/// # Errors
/// A missing key file without `create`, an unreadable or insecure file, invalid keys.
pub fn load_keys(config: &Config, create: bool) -> anyhow::Result<KeyRing> {
    if keys_from_env() {
        return KeyRing::from_env().context("reading the keys from ANJIA_KEK_* variables");
    }
    let path = &config.keys_file;
    if !path.exists() {
        if !create {
            bail!(
                "key file {} does not exist; `anjia migrate` or `anjia serve` creates it (or set ANJIA_KEK_* variables)",
                path.display()
            );
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let ring = KeyRing::generate_file(path)?;
        tracing::info!(file = %path.display(), "generated a new key file (mode 0600); keep it out of database backups");
        return Ok(ring);
    }
    Ok(KeyRing::load_file(path)?)
}

/// Checks that every storage location (main database, key vault, backups) is in mainland China
/// (PRV-36).
///
/// # Errors
/// The configured region is not a mainland region.
pub fn check_storage(config: &Config) -> anyhow::Result<()> {
    let locations: Vec<StorageLocation> = ["main database", "key vault", "search index", "backups"]
        .iter()
        .map(|name| StorageLocation {
            name: (*name).to_string(),
            region: config.storage_region.clone(),
        })
        .collect();
    check_storage_locations(&locations).map_err(|e| {
        anyhow::anyhow!(
            "{e}; storage_region must be a mainland China region such as CN-BJ or cn-shanghai (PRV-36)"
        )
    })
}

/// Opens and migrates the key vault.
///
/// # Errors
/// No vault URL for PostgreSQL; connection or migration errors.
pub async fn open_vault(config: &Config) -> anyhow::Result<KeyVault> {
    let url = config.vault_url()?;
    let vault = KeyVault::connect(&url)
        .await
        .with_context(|| format!("connecting to the key vault {}", crate::redact_url(&url)))?;
    vault.migrate().await.context("migrating the key vault")?;
    Ok(vault)
}

/// Opens the privacy service for a configured deployment: storage-region check, key ring
/// (created when `create_keys`), vault; publishes the bundled policy versions.
///
/// # Errors
/// As the steps.
pub async fn open_privacy(
    config: &Config,
    store: &Store,
    create_keys: bool,
) -> anyhow::Result<Privacy> {
    check_storage(config)?;
    let vault = open_vault(config).await?;
    // A new key file beside existing data would make every wrapped data key unreadable and
    // every audit checkpoint look forged: refuse instead of "starting fresh" (newcomer finding).
    let create_keys = create_keys
        && (keys_from_env()
            || config.keys_file.exists()
            || !holds_key_dependent_data(store, &vault).await?);
    let keys = load_keys(config, create_keys).map_err(|e| {
        if !keys_from_env() && !config.keys_file.exists() {
            e.context(
                "the key vault or the audit log already hold data, so a new key file would make them \
                 unreadable; restore the key file from its backup (or set ANJIA_KEK_* variables)",
            )
        } else {
            e
        }
    })?;
    let privacy = Privacy::open(store.clone(), vault, keys, anjia_web::system_clock())
        .await
        .context("opening the privacy service")?;
    if !keys_from_env() {
        privacy.reload_keys_from(config.keys_file.clone());
    }
    Ok(privacy)
}

/// Whether the vault holds any wrapped data key or the audit log any entry — data that only the
/// existing key file can read or verify.
///
/// # Errors
/// Storage errors.
pub async fn holds_key_dependent_data(store: &Store, vault: &KeyVault) -> anyhow::Result<bool> {
    let has_keys = !vault
        .keys_page(None, 1)
        .await
        .context("reading the key vault")?
        .is_empty();
    let has_audit = store
        .last_audit()
        .await
        .context("reading the audit log")?
        .is_some();
    Ok(has_keys || has_audit)
}

/// `anjia audit verify`: the whole stored audit log against its checkpoints and the audit key.
///
/// # Errors
/// Storage errors (a tampered log is `Ok(Err(tamper))`).
pub async fn audit_verify(
    store: &Store,
    keys: &KeyRing,
) -> anyhow::Result<Result<VerifyReport, Tamper>> {
    Ok(anjia_web::privacy::verify_audit_log(store, &keys.audit_verifying_key(), 5_000).await?)
}

/// A report line for people.
pub fn describe_verify(r: &Result<VerifyReport, Tamper>) -> String {
    match r {
        Ok(rep) => format!(
            "audit log verifies: {} entries, {} signed checkpoints checked, last seq {}{}",
            rep.entries,
            rep.checkpoints_checked,
            rep.last_seq.map_or("-".to_string(), |s| s.to_string()),
            rep.last_hash
                .map(|h| format!(", last hash {}", hex::encode(h)))
                .unwrap_or_default()
        ),
        Err(t) => format!(
            "AUDIT LOG TAMPERED: first bad entry at seq {} ({})",
            t.seq,
            match t.kind {
                anjia_privacy::audit::TamperKind::Edited => "edited",
                anjia_privacy::audit::TamperKind::Deleted => "deleted",
                anjia_privacy::audit::TamperKind::Reordered => "reordered",
                anjia_privacy::audit::TamperKind::Inserted => "inserted",
                anjia_privacy::audit::TamperKind::BadCheckpointSignature =>
                    "bad checkpoint signature",
                anjia_privacy::audit::TamperKind::CheckpointMismatch =>
                    "entry differs from its signed checkpoint",
                anjia_privacy::audit::TamperKind::Truncated => "log truncated before a checkpoint",
            }
        ),
    }
}

/// `anjia keys rotate`: adds a new KEK (current) to the key file — saved atomically *before*
/// anything is re-wrapped, old versions kept — then re-wraps every vault key under it. A server
/// running beside re-reads the key file when it meets the new version. Retire the old version
/// with [`retire_kek`] afterwards.
///
/// # Errors
/// Keys from the environment (rotate by adding `ANJIA_KEK_<n>` and moving `ANJIA_KEK_CURRENT`),
/// key-file, vault and crypto errors.
pub async fn rotate_keys(config: &Config, privacy: &Privacy) -> anyhow::Result<RewrapReport> {
    if keys_from_env() {
        bail!(
            "keys come from the environment: add ANJIA_KEK_<n+1>, set ANJIA_KEK_CURRENT to it, restart, then run `anjia keys rotate` again with the key file unset"
        );
    }
    let mut ring = KeyRing::load_file(&config.keys_file)?;
    let v = ring.rotate_kek()?;
    ring.save_file(&config.keys_file)
        .with_context(|| format!("saving {}", config.keys_file.display()))?;
    tracing::info!(kek = v, "new KEK saved; re-wrapping the vault");
    Ok(privacy.rotate_kek(ring).await?)
}

/// `anjia keys retire-kek N`: re-wraps any key still under KEK `version`, checks none is left,
/// then removes the version from the key file (atomically).
///
/// # Errors
/// The current version, an unknown version, keys still wrapped with it, key-file errors.
pub async fn retire_kek(config: &Config, privacy: &Privacy, version: u32) -> anyhow::Result<()> {
    if keys_from_env() {
        bail!("keys come from the environment: unset ANJIA_KEK_{version} instead");
    }
    privacy.rewrap_all().await?;
    let left = privacy.keys_wrapped_with(version).await?;
    if left > 0 {
        return Err(anjia_web::privacy::PrivacyError::KekInUse {
            version,
            count: left,
        }
        .into());
    }
    let mut ring = KeyRing::load_file(&config.keys_file)?;
    ring.remove_kek(version)?;
    ring.save_file(&config.keys_file)?;
    Ok(())
}

/// Parses `table.column` for `anjia staff unmask --context`.
///
/// # Errors
/// Anything but two non-empty parts.
pub fn parse_context(s: &str) -> anyhow::Result<(String, String)> {
    match s.split_once('.') {
        Some((t, c)) if !t.is_empty() && !c.is_empty() => Ok((t.to_string(), c.to_string())),
        _ => bail!("--context must be TABLE.COLUMN, e.g. orders.recipient_phone"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anjia_web::privacy::SubjectKind;

    #[tokio::test]
    async fn a_missing_key_file_is_created_only_while_nothing_depends_on_keys() {
        if keys_from_env() {
            return; // keys come from the environment: no key file involved
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = Config {
            database_url: format!("sqlite://{}", dir.path().join("anjia.db").display()),
            keys_file: dir.path().join("keys.toml"),
            ..Config::default()
        };
        let store = Store::connect(&config.database_url).await.expect("store");
        store.migrate().await.expect("migrate");
        // First start: nothing to protect, so the key file is generated.
        let privacy = open_privacy(&config, &store, true)
            .await
            .expect("first start");
        assert!(config.keys_file.exists());
        privacy
            .new_subject(SubjectKind::Visitor)
            .await
            .expect("subject");
        drop(privacy);
        // The key file is lost while the vault holds wrapped keys: refuse, create nothing.
        std::fs::remove_file(&config.keys_file).expect("remove the key file");
        let err = open_privacy(&config, &store, true)
            .await
            .expect_err("refused without the key file");
        assert!(
            format!("{err:#}").contains("restore the key file"),
            "{err:#}"
        );
        assert!(!config.keys_file.exists(), "no new key file was written");
    }

    #[test]
    fn storage_outside_mainland_china_refuses_to_start() {
        let at = |region: &str| Config {
            storage_region: region.to_string(),
            ..Config::default()
        };
        assert!(check_storage(&at("CN-BJ")).is_ok());
        for outside in ["HK", "CN-HK", "TW", "us-east-1", ""] {
            assert!(check_storage(&at(outside)).is_err(), "{outside} accepted");
        }
    }
}
