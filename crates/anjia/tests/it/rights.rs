//! Users' rights over HTTP (issue 5 items 3 and 1; PRV-23, 24, 26, 27), on SQLite and
//! PostgreSQL, with the harness's injected clock:
//!
//! * Cancellation: one user is seeded into **every** table and file of the inventory that can
//!   hold an account's data (the test walks `data/privacy/inventory.toml`: a table it has no
//!   fate for fails it), cancels over HTTP with a fresh step-up, and per table nothing readable
//!   remains — row counts, a plaintext scan of the whole database, sealed values that no longer
//!   open, the data key gone from the vault, the avatar file gone; the records kept as proof are
//!   there but their pseudonym cannot be computed any more. The cancelled sessions stop working,
//!   another user's data is untouched, and the same phone signs up as a new, unlinked account.
//! * The page flow of cancellation (explanation, step-up, confirmation, signed out).
//! * Export: step-up required; the zip holds the user's data and nothing of another user; the
//!   page downloads it too; and `anjia import-account` restores it into a fresh installation.

use crate::canary::Needle;
use crate::harness::{Harness, User, no_redirect, set_cookie};
use crate::raw_scan::{pg_table_hits, sqlite_table_hits};
use crate::support::Backend;
use anjia_privacy::inventory::{Inventory, StoreKind};
use anjia_privacy::pi::{Email, Phone};
use anjia_store::accounts::{
    GuardianConsentRow, IdentityVerificationRow, OAuthLinkRow, OAuthStateRow,
};
use anjia_store::alerts::{Channel, MessageCategory, NewDelivery, NewMessage, NewNotification};
use anjia_store::testing::execute_raw;
use anjia_web::accounts::export::{ExportDocument, read_export};
use anjia_web::privacy::SubjectId;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const NICK: &str = "鼐园注销昵称";
const SAVED: &str = "鼐园注销条件";
const SAVED_Q: &str = "鼐园注销词";
const QUERY: &str = "鼐园注销查询";
const MSG_TITLE: &str = "鼐园注销消息标题";
const MSG_BODY: &str = "鼐园注销消息正文";
const EMAIL: &str = "naiyuan.cancel.canary@example.com";
const GUARDIAN: &str = "禤注销";
const B_SAVED: &str = "乙方保留条件";
const B_NICK: &str = "乙方昵称";

fn start() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn hex64(seed: &str) -> String {
    use sha2::Digest;
    hex_of(&sha2::Sha256::digest(seed.as_bytes()))
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn api(h: &Harness, u: &User, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    h.api(m, path, Some(&u.bearer), &u.ip, body).await
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 99]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

async fn upload_avatar(h: &Harness, u: &User) {
    let form = reqwest::multipart::Form::new().part(
        "avatar",
        reqwest::multipart::Part::bytes(png(48, 48)).file_name("a.png"),
    );
    let r = no_redirect()
        .put(h.url("/api/v1/me/avatar"))
        .bearer_auth(&u.bearer)
        .header("x-forwarded-for", &u.ip)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "avatar upload");
}

/// Rows of `table` matching `pred` (counted by the rows an `INSERT … SELECT` affects: the raw
/// helper answers rows affected).
async fn count(h: &Harness, table: &str, pred: &str) -> u64 {
    execute_raw(
        &h.store,
        "CREATE TABLE IF NOT EXISTS rights_count_scratch (n INTEGER)",
    )
    .await
    .expect("scratch table");
    execute_raw(
        &h.store,
        &format!("INSERT INTO rights_count_scratch (n) SELECT 1 FROM {table} WHERE {pred}"),
    )
    .await
    .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

/// Everything the seeding stored that the checks need.
struct Seeded {
    /// (table, column, ciphertext) of sealed values of the account.
    sealed: Vec<(&'static str, &'static str, Vec<u8>)>,
    /// Ids of the development e-mail outbox rows of the account's deliveries.
    email_outbox_ids: Vec<i64>,
    /// The avatar file.
    avatar: std::path::PathBuf,
}

/// Seeds `u` into every table an account's data can reach: over HTTP where a route exists,
/// through the store for what only jobs and providers write (notifications, deliveries, outbox
/// copies, linked logins, verification, guardian consent).
async fn seed_everywhere(h: &Harness, u: &User, account: &str, lots: &[i64]) -> Seeded {
    let subject = SubjectId::parse(account).unwrap();
    let now = h.clock.now();
    let (s, b) = api(
        h,
        u,
        Method::POST,
        "/api/v1/consents",
        Some(json!({"grant": ["search_history", "usage_analytics", "notifications"]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api(
        h,
        u,
        Method::POST,
        "/api/v1/privacy-requests",
        Some(json!({"kind": "access", "details": "请提供我的个人信息副本。"})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = api(
        h,
        u,
        Method::PATCH,
        "/api/v1/me",
        Some(json!({"nickname": NICK})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    upload_avatar(h, u).await;
    h.step_up(u).await;
    let (s, b) = api(
        h,
        u,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"new_password": "鼐园 correct horse 7"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = api(
        h,
        u,
        Method::GET,
        &format!("/api/v1/listings?q={}", crate::canary::enc(QUERY)),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = api(
        h,
        u,
        Method::GET,
        &format!("/api/v1/listings/{}", lots[0]),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // E-mail alerts need the address first.
    let (s, b) = api(
        h,
        u,
        Method::PUT,
        "/api/v1/me/notification-settings",
        Some(json!({"email": EMAIL, "daily_cap": 7})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api(
        h,
        u,
        Method::POST,
        "/api/v1/me/saved-searches",
        Some(json!({"name": SAVED, "criteria": {"q": SAVED_Q}, "channels": ["sms", "email"]})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = api(
        h,
        u,
        Method::PUT,
        &format!("/api/v1/me/follows/{}", lots[1]),
        None,
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {b}");
    let store = &h.store;
    let msg = store
        .insert_system_message(
            account,
            MessageCategory::System,
            &NewMessage {
                title: MSG_TITLE,
                body: MSG_BODY,
                link: None,
            },
            now,
        )
        .await
        .unwrap();
    store
        .insert_message_deliveries(
            msg,
            &[NewDelivery {
                channel: Channel::Sms,
                digest: false,
                next_attempt_at: now,
            }],
            now,
        )
        .await
        .unwrap();
    let event = store.pending_events(1).await.unwrap()[0].id;
    store
        .commit_matches(
            &[],
            &[NewNotification {
                account_id: account.to_string(),
                event_id: event,
                saved_search_id: None,
                explanation: "鼐园注销通知说明".into(),
                personalised: false,
                deliveries: vec![NewDelivery {
                    channel: Channel::Email,
                    digest: false,
                    next_attempt_at: now,
                }],
            }],
            now,
        )
        .await
        .unwrap();
    let notification = store.notifications_of(account, 10).await.unwrap()[0].id;
    let delivery = store
        .deliveries_of_notification(notification)
        .await
        .unwrap()[0]
        .id;
    let email_index = h
        .privacy
        .keys()
        .blind_index()
        .email(&Email::parse(EMAIL).unwrap());
    let email_row = store
        .insert_email_outbox(&email_index, MSG_TITLE, MSG_BODY, Some(delivery), now)
        .await
        .unwrap();
    let phone_index = h
        .privacy
        .keys()
        .blind_index()
        .phone(&Phone::parse(&u.phone).unwrap());
    assert_eq!(
        count(h, "deliveries", &format!("message_id = {msg}")).await,
        1
    );
    store
        .insert_sms_outbox_for_delivery(&phone_index, MSG_BODY, delivery, now)
        .await
        .unwrap();
    store
        .insert_oauth_state(&OAuthStateRow {
            id: hex64(&format!("state {account}")),
            provider: "login_wechat".into(),
            code_verifier: "v".repeat(43),
            intent: "link".into(),
            account_id: Some(account.to_string()),
            created_at: now,
            expires_at: now + time::Duration::minutes(10),
            consumed_at: None,
            provider_user_index: None,
            nickname: None,
        })
        .await
        .unwrap();
    store
        .insert_oauth_link(&OAuthLinkRow {
            account_id: account.to_string(),
            provider: "login_wechat".into(),
            provider_user_index: hex64(&format!("provider user {account}")),
            linked_at: now,
        })
        .await
        .unwrap();
    let birth = h
        .privacy
        .seal_field(
            &subject,
            ("identity_verifications", "birth_date_ciphertext"),
            b"1990-03-14",
        )
        .await
        .unwrap();
    store
        .upsert_identity_verification(&IdentityVerificationRow {
            account_id: account.to_string(),
            document_type: "resident_id".into(),
            status: "verified".into(),
            number_masked: "1****************7".into(),
            document_index: Some(hex64(&format!("document {account}"))),
            birth_date_ciphertext: Some(birth.clone()),
            provider: "realname_verifier".into(),
            verified_at: now,
        })
        .await
        .unwrap();
    let gname = h
        .privacy
        .seal_field(
            &subject,
            ("guardian_consents", "guardian_name_ciphertext"),
            GUARDIAN.as_bytes(),
        )
        .await
        .unwrap();
    let gphone = h
        .privacy
        .seal_field(
            &subject,
            ("guardian_consents", "guardian_phone_ciphertext"),
            b"13900000777",
        )
        .await
        .unwrap();
    store
        .upsert_guardian_consent(&GuardianConsentRow {
            account_id: account.to_string(),
            guardian_name_ciphertext: gname.clone(),
            guardian_phone_ciphertext: gphone.clone(),
            relationship: "parent".into(),
            recorded_at: now,
        })
        .await
        .unwrap();
    let row = store.account(account).await.unwrap().unwrap();
    let avatar = h
        .files_dir
        .join("avatars")
        .join(row.avatar_file.clone().expect("avatar set"));
    assert!(avatar.exists(), "the avatar file was written");
    let mut sealed = vec![
        (
            "accounts",
            "phone_ciphertext",
            row.phone_ciphertext.unwrap(),
        ),
        ("identity_verifications", "birth_date_ciphertext", birth),
        ("guardian_consents", "guardian_name_ciphertext", gname),
        ("guardian_consents", "guardian_phone_ciphertext", gphone),
    ];
    let settings = store.notification_settings(account).await.unwrap();
    sealed.push((
        "notification_settings",
        "email_ciphertext",
        settings.email_ciphertext.expect("e-mail stored"),
    ));
    for s in store.sessions_of(account).await.unwrap() {
        if let Some(ip) = s.ip_ciphertext {
            sealed.push(("sessions", "ip_ciphertext", ip));
        }
    }
    Seeded {
        sealed,
        email_outbox_ids: vec![email_row],
        avatar,
    }
}

/// What happens to a table or file of the inventory when an account is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Every row of the account goes; the predicate names it (`{a}` account id, `{p}` phone
    /// index, `{o}` outbox ids).
    Deleted(&'static str),
    /// The account row stays with no personal column (`accounts`), or its parent (`subjects`).
    Tombstone,
    /// Kept as proof under the pseudonym of the shredded key.
    Pseudonymous,
    /// Holds no account's data (why).
    NotAboutAccounts(&'static str),
    /// No identity column: nothing to delete, nothing to link (checked by schema and scan).
    Unlinkable,
    /// Vault: the data key is destroyed.
    DataKeyShredded,
    /// Vault: the shredding is recorded as proof.
    ShredProof,
    /// The avatar file is deleted.
    AvatarFile,
    /// Kept as proof that the account was told (policy change, breach): the tombstone's random
    /// id, the version or incident, channels and time — no personal column (the raw scan below
    /// covers them).
    ProofOfNotice,
}

fn fate(store: StoreKind, name: &str) -> Option<Fate> {
    use Fate::*;
    Some(match (store, name) {
        (StoreKind::Main, "subjects") => Tombstone,
        (StoreKind::Main, "accounts") => Tombstone,
        (StoreKind::Main, "consent_records" | "audit_log" | "third_party_provisions") => {
            Pseudonymous
        }
        (StoreKind::Main, "policy_notices" | "breach_notices") => ProofOfNotice,
        (StoreKind::Main, "policy_sources" | "breach_incidents") => {
            NotAboutAccounts("the operator's policy texts and incident records")
        }
        (StoreKind::Main, "staff_members" | "bulk_export_requests") => {
            NotAboutAccounts("staff, not users")
        }
        (StoreKind::Main, "postings" | "posting_provenance" | "assets") => {
            NotAboutAccounts("court listings as published")
        }
        (StoreKind::Main, "search_history") => Deleted("subject_id = '{a}'"),
        (StoreKind::Main, "sms_codes" | "sms_outbox") => Deleted("phone_index = '{p}'"),
        (StoreKind::Main, "email_outbox") => Deleted("id IN ({o})"),
        (
            StoreKind::Main,
            "sessions"
            | "oauth_states"
            | "oauth_links"
            | "identity_verifications"
            | "guardian_consents"
            | "saved_searches"
            | "follows"
            | "browsing_history"
            | "notifications"
            | "deliveries"
            | "messages"
            | "notification_settings"
            | "privacy_requests",
        ) => Deleted("account_id = '{a}'"),
        (StoreKind::Analytics, "analytics_events") => Unlinkable,
        (StoreKind::Vault, "subject_keys") => DataKeyShredded,
        (StoreKind::Vault, "shredded_keys") => ShredProof,
        (StoreKind::File, "file.avatars") => AvatarFile,
        (StoreKind::File, "file.auction_sources" | "file.search_index") => {
            NotAboutAccounts("court listings as published")
        }
        _ => return None,
    })
}

/// Every (store, table-or-file) of the inventory that stores data.
fn inventory_places() -> BTreeSet<(String, String)> {
    let inv = Inventory::bundled().expect("inventory");
    inv.entries
        .iter()
        .filter(|e| !matches!(e.store, StoreKind::Outbound))
        .map(|e| {
            let name = match (&e.table, e.store) {
                (Some(t), _) => t.clone(),
                (None, _) => e.id.clone(),
            };
            (format!("{:?}", e.store), name)
        })
        .collect()
}

fn store_of(s: &str) -> StoreKind {
    match s {
        "Main" => StoreKind::Main,
        "Vault" => StoreKind::Vault,
        "Analytics" => StoreKind::Analytics,
        "File" => StoreKind::File,
        "Log" => StoreKind::Log,
        _ => StoreKind::Metrics,
    }
}

async fn scan(h: &Harness, needles: &[Needle]) -> Vec<(String, usize, u64)> {
    match h.store.backend() {
        anjia_store::Backend::Sqlite => sqlite_table_hits(&h.store, needles).await,
        anjia_store::Backend::Postgres => pg_table_hits(&h.store, needles).await.1,
    }
}

async fn cancellation_leaves_nothing_readable(backend: Backend) {
    let Some(h) = Harness::start_with(backend, start(), true).await else {
        return;
    };
    // Every place of the inventory has a fate here (a new table without one fails the test).
    let places = inventory_places();
    for (s, name) in &places {
        assert!(
            fate(store_of(s), name).is_some(),
            "inventory {s} {name}: say what cancellation does to it (seed it and check it here)"
        );
    }
    let a = h.sign_in("13600000701", "10.9.5.1").await;
    let b = h.sign_in("13600000702", "10.9.5.2").await;
    let a_id = h.account_id(&a).await;
    let subject = SubjectId::parse(&a_id).unwrap();
    let lots: Vec<i64> = h
        .store
        .postings_after(0, 3)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let seeded = seed_everywhere(&h, &a, &a_id, &lots).await;
    // B, a bystander.
    let (s, _) = api(
        &h,
        &b,
        Method::PATCH,
        "/api/v1/me",
        Some(json!({"nickname": B_NICK})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = api(
        &h,
        &b,
        Method::POST,
        "/api/v1/me/saved-searches",
        Some(json!({"name": B_SAVED, "criteria": {"q": "佛山"}})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let pseudonym = h.privacy.pseudonym(&subject).await.unwrap();
    let phone_index = h
        .privacy
        .keys()
        .blind_index()
        .phone(&Phone::parse(&a.phone).unwrap());
    let outbox_ids = seeded
        .email_outbox_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let pred = |p: &str| {
        p.replace("{a}", &a_id)
            .replace("{p}", &phone_index)
            .replace("{o}", &outbox_ids)
    };
    let history_rows = h.store.search_history(&a_id, 100).await.unwrap();
    assert!(!history_rows.is_empty(), "the search was recorded");
    // Before: the user is in every place.
    for (s, name) in &places {
        match fate(store_of(s), name).unwrap() {
            Fate::Deleted(p) => {
                assert!(count(&h, name, &pred(p)).await > 0, "{name}: not seeded");
            }
            Fate::Pseudonymous => {
                let p = format!("subject_pseudonym = '{}'", pseudonym.as_str());
                assert!(count(&h, name, &p).await > 0, "{name}: not seeded");
            }
            _ => {}
        }
    }
    // Cancellation needs a fresh step-up and an explicit confirmation.
    h.clock.advance(time::Duration::minutes(11));
    let (s, v) = api(
        &h,
        &a,
        Method::POST,
        "/api/v1/me/cancellation",
        Some(json!({"confirm": true})),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["type"]
            .as_str()
            .unwrap_or("")
            .ends_with("step-up-required"),
        "{v}"
    );
    h.step_up(&a).await;
    let (s, v) = api(
        &h,
        &a,
        Method::POST,
        "/api/v1/me/cancellation",
        Some(json!({"confirm": false})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = api(
        &h,
        &a,
        Method::POST,
        "/api/v1/me/cancellation",
        Some(json!({"confirm": true})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "cancelled");
    assert!(v["keys_shredded"].as_u64().unwrap() >= 1, "{v}");
    assert!(
        v["kept"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["records"] == "audit_log")
    );
    // After: per place, nothing readable.
    let mut checked = BTreeSet::new();
    for (s, name) in &places {
        match fate(store_of(s), name).unwrap() {
            Fate::Deleted(p) => {
                assert_eq!(count(&h, name, &pred(p)).await, 0, "{name}: rows left");
            }
            Fate::Tombstone if name == "accounts" => {
                let row = h.store.account(&a_id).await.unwrap().expect("tombstone");
                assert_eq!(row.status, "cancelled");
                assert!(
                    row.phone_index.is_none()
                        && row.phone_ciphertext.is_none()
                        && row.nickname.is_none()
                        && row.avatar_file.is_none()
                        && row.password_hash.is_none()
                        && row.locked_until.is_none()
                        && row.password_failures == 0,
                    "{row:?}"
                );
            }
            Fate::Tombstone => {
                // subjects: id, kind, created_at only — no personal column at all.
                let cols: Vec<String> = h
                    .store
                    .schema_columns()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|c| &c.table == name)
                    .map(|c| c.column)
                    .collect();
                assert_eq!(cols.len(), 3, "{cols:?}");
            }
            Fate::Pseudonymous => {
                // Kept as proof, but the pseudonym can no longer be computed.
                let p = format!("subject_pseudonym = '{}'", pseudonym.as_str());
                assert!(count(&h, name, &p).await > 0, "{name}: proof gone");
                assert!(
                    matches!(
                        h.privacy.pseudonym(&subject).await,
                        Err(anjia_web::privacy::PrivacyError::Shredded)
                    ),
                    "the pseudonym is still computable"
                );
            }
            Fate::NotAboutAccounts(_) => {}
            Fate::Unlinkable => {
                let cols: Vec<String> = h
                    .store
                    .schema_columns()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|c| &c.table == name)
                    .map(|c| c.column)
                    .collect();
                assert!(!cols.is_empty(), "{name} exists");
                for c in cols {
                    assert!(
                        !c.contains("account") && !c.contains("subject"),
                        "{name}.{c} could link"
                    );
                }
            }
            Fate::DataKeyShredded => {
                assert!(
                    h.privacy
                        .vault()
                        .keys(&a_id, "data")
                        .await
                        .unwrap()
                        .is_empty()
                );
                assert!(h.privacy.vault().is_shredded(&a_id, "data").await.unwrap());
            }
            Fate::ShredProof => {
                assert!(
                    h.privacy
                        .vault()
                        .shredded(&a_id, "data")
                        .await
                        .unwrap()
                        .is_some()
                );
            }
            Fate::AvatarFile => {
                assert!(!seeded.avatar.exists(), "the avatar file is still there");
            }
            Fate::ProofOfNotice => {
                // Only ids, channels and times (the schema test classifies the columns); the
                // plaintext scan below covers them too.
            }
        }
        checked.insert((s.clone(), name.clone()));
    }
    assert_eq!(checked, places, "every place of the inventory was checked");
    // Sealed copies (a backup would hold the same bytes) no longer open.
    for (table, column, ct) in &seeded.sealed {
        assert!(
            h.privacy
                .open_field(&subject, (table, column), ct)
                .await
                .is_err(),
            "{table}.{column} still opens"
        );
    }
    assert!(
        h.privacy
            .open_search_rows(&subject, &history_rows)
            .await
            .is_err()
    );
    // No plaintext of the user anywhere in the database; the bystander's is (the scan works).
    let needles: Vec<Needle> = [
        NICK,
        SAVED,
        SAVED_Q,
        MSG_TITLE,
        MSG_BODY,
        EMAIL,
        &a.phone,
        &phone_index,
        B_SAVED,
    ]
    .iter()
    .map(|t| Needle {
        what: t.to_string(),
        text: t.to_string(),
    })
    .collect();
    let hits = scan(&h, &needles).await;
    let b_hits: Vec<_> = hits
        .iter()
        .filter(|(_, i, _)| *i == needles.len() - 1)
        .collect();
    assert!(
        !b_hits.is_empty(),
        "the scan found the bystander's saved search: {hits:?}"
    );
    let a_hits: Vec<_> = hits
        .iter()
        .filter(|(_, i, _)| *i != needles.len() - 1)
        .collect();
    assert!(a_hits.is_empty(), "left after cancellation: {a_hits:?}");
    // The store's compliance check agrees.
    for (table, n) in h.store.cancelled_account_leftovers().await.unwrap() {
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(
        h.store.cancelled_account_ids().await.unwrap(),
        vec![a_id.clone()]
    );
    // The cancelled sessions are gone: API and pages.
    let (s, _) = api(&h, &a, Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, 401);
    let r = no_redirect()
        .get(h.url("/account"))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    // The bystander keeps everything.
    let (s, v) = api(&h, &b, Method::GET, "/api/v1/me/saved-searches", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = api(&h, &b, Method::GET, "/api/v1/me", None).await;
    assert_eq!(v["nickname"], B_NICK);
    // The same phone signs up again: a new account that sees nothing of the old one.
    h.clock.advance(time::Duration::minutes(2));
    let re_at = h.clock.now();
    let a2 = h.sign_in(&a.phone, &a.ip).await;
    let a2_id = h.account_id(&a2).await;
    assert_ne!(a2_id, a_id);
    let (_, me) = api(&h, &a2, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["nickname"], Value::Null, "{me}");
    assert_eq!(me["avatar_url"], Value::Null, "{me}");
    assert_eq!(me["has_password"], false, "{me}");
    for path in [
        "/api/v1/me/saved-searches",
        "/api/v1/me/follows",
        "/api/v1/me/history",
        "/api/v1/me/messages",
    ] {
        let (s, v) = api(&h, &a2, Method::GET, path, None).await;
        assert_eq!(s, 200, "{path}");
        assert_eq!(v["items"].as_array().map(Vec::len), Some(0), "{path}: {v}");
    }
    let (_, v) = api(&h, &a2, Method::GET, "/api/v1/search-history", None).await;
    assert_eq!(v["items"].as_array().map(Vec::len).unwrap_or(0), 0, "{v}");
    let new_p = h
        .privacy
        .pseudonym(&SubjectId::parse(&a2_id).unwrap())
        .await
        .unwrap();
    assert_ne!(new_p, pseudonym);
    for r in h
        .privacy
        .consent_history(&SubjectId::parse(&a2_id).unwrap())
        .await
        .unwrap()
    {
        // Stored times keep microseconds; the test clock has nanoseconds.
        assert!(
            r.at >= re_at - time::Duration::seconds(1),
            "an old consent record is linked to the new account: {r:?}"
        );
    }
    let (_, settings) = api(
        &h,
        &a2,
        Method::GET,
        "/api/v1/me/notification-settings",
        None,
    )
    .await;
    assert_eq!(settings["email"], Value::Null, "{settings}");
}

async fn cancellation_page_flow(backend: Backend) {
    let Some(h) = Harness::start(backend, start()).await else {
        return;
    };
    let u = h.sign_in("13600000711", "10.9.5.11").await;
    let get = |path: &'static str, cookie: String| {
        let url = h.url(path);
        async move {
            let r = no_redirect()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, html) = get("/account", u.cookie.clone()).await;
    assert_eq!(s, 200);
    assert!(html.contains("href=\"/account/cancel\"") && html.contains("href=\"/account/export\""));
    let (s, html) = get("/account/cancel", u.cookie.clone()).await;
    assert_eq!(s, 200);
    for needle in [
        "无法恢复",
        "网络安全法",
        "第二十一条",
        "同意记录",
        "重新注册",
        "step-up-form",
    ] {
        assert!(html.contains(needle), "{needle} missing from the page");
    }
    assert!(
        !html.contains("cancel-form"),
        "the confirmation shows only after the step-up"
    );
    let csrf = h.csrf(&u, "/account/cancel").await;
    let r = h
        .form(&u, "/account/step-up/code", &csrf, &[("next", "cancel")])
        .await;
    assert_eq!(r.headers()["location"], "/account/cancel?done=sent");
    let code = h.last_code(&u.phone).await;
    let r = h
        .form(
            &u,
            "/account/step-up",
            &csrf,
            &[("next", "cancel"), ("code", &code)],
        )
        .await;
    assert_eq!(r.headers()["location"], "/account/cancel?done=step-up");
    let (_, html) = get("/account/cancel", u.cookie.clone()).await;
    assert!(html.contains("cancel-form"));
    // Without the box ticked: refused, nothing happens.
    let r = h.form(&u, "/account/cancel", &csrf, &[]).await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("无法恢复"));
    let r = h
        .form(&u, "/account/cancel", &csrf, &[("confirm", "yes")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let cleared = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("anjia_session=;"));
    assert!(cleared, "the session cookie is cleared");
    assert!(set_cookie(&r, "anjia_session").is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("账号已注销"), "{html}");
    let (s, _) = get("/account", u.cookie.clone()).await;
    assert_eq!(s, 303);
    let (s, _) = api(&h, &u, Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, 401);
}

/// GET /api/v1/me/export as `u`: the document and the zip's avatar.
async fn export_of(h: &Harness, u: &User) -> (ExportDocument, Option<Vec<u8>>, String) {
    let r = no_redirect()
        .get(h.url("/api/v1/me/export"))
        .bearer_auth(&u.bearer)
        .header("x-forwarded-for", &u.ip)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let bytes = r.bytes().await.unwrap();
    let (doc, avatar) = read_export(&bytes).expect("a readable export");
    let json = serde_json::to_string(&doc).unwrap();
    (doc, avatar, json)
}

async fn export_holds_the_users_data_only(backend: Backend) {
    let Some(h) = Harness::start_with(backend, start(), true).await else {
        return;
    };
    let a = h.sign_in("13600000721", "10.9.5.21").await;
    let b = h.sign_in("13600000722", "10.9.5.22").await;
    let a_id = h.account_id(&a).await;
    let b_id = h.account_id(&b).await;
    let lots: Vec<i64> = h
        .store
        .postings_after(0, 3)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    seed_everywhere(&h, &a, &a_id, &lots).await;
    let (s, _) = api(
        &h,
        &b,
        Method::PATCH,
        "/api/v1/me",
        Some(json!({"nickname": B_NICK})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = api(
        &h,
        &b,
        Method::POST,
        "/api/v1/me/saved-searches",
        Some(json!({"name": B_SAVED, "criteria": {"q": "佛山"}})),
    )
    .await;
    assert_eq!(s, 201);
    // Step-up required.
    h.clock.advance(time::Duration::minutes(11));
    let (s, v) = api(&h, &a, Method::GET, "/api/v1/me/export", None).await;
    assert_eq!(s, 403, "{v}");
    h.step_up(&a).await;
    let (doc, avatar, text) = export_of(&h, &a).await;
    assert_eq!(doc.schema, "anjia.export/1");
    assert_eq!(doc.account.id, a_id);
    assert_eq!(doc.account.phone, a.phone);
    assert_eq!(doc.account.nickname.as_deref(), Some(NICK));
    assert!(doc.account.has_password);
    let avatar = avatar.expect("the avatar file is in the zip");
    let file = doc
        .account
        .avatar
        .as_deref()
        .expect("named in the document");
    assert!(file.starts_with("files/avatar."), "{file}");
    assert!(
        doc.files
            .iter()
            .any(|f| f.path == file && f.bytes == avatar.len() as u64)
    );
    let v = doc.verification.as_ref().expect("verification");
    assert_eq!(v.number_masked, "1****************7");
    let g = doc.guardian_consent.as_ref().expect("guardian");
    assert_ne!(
        g.guardian_name_masked, GUARDIAN,
        "the guardian's name is masked"
    );
    assert!(
        !text.contains("13900000777"),
        "the guardian's number is masked"
    );
    // (Setting the password signed the web session out.)
    assert!(!doc.sessions.is_empty(), "{:?}", doc.sessions);
    assert!(doc.sessions.iter().any(|s| s.ip_masked.is_some()));
    assert!(!text.contains(&a.ip), "addresses are masked");
    assert_eq!(doc.linked_logins.len(), 1);
    assert!(doc.consents.granted.iter().any(|p| p == "search_history"));
    assert!(doc.consents.history.len() >= 2);
    assert!(!doc.third_party_provisions.is_empty(), "the SMS provisions");
    assert!(doc.search_history.iter().any(|s| s.query == QUERY));
    assert_eq!(doc.saved_searches.len(), 1);
    assert_eq!(doc.saved_searches[0].name, SAVED);
    assert_eq!(doc.follows.len(), 1);
    assert!(doc.follows[0].platform.is_some());
    assert_eq!(doc.browsing_history.len(), 1);
    assert_eq!(doc.notifications.len(), 1);
    assert!(doc.messages.iter().any(|m| m.body == MSG_BODY));
    assert_eq!(doc.notification_settings.email.as_deref(), Some(EMAIL));
    assert!(doc.activity.iter().any(|e| e.kind == "sign_in"));
    // Nothing of B.
    for other in [b_id.as_str(), b.phone.as_str(), B_NICK, B_SAVED] {
        assert!(
            !text.contains(other),
            "the export holds another user's {other}"
        );
    }
    // The page downloads the same (a new web session: setting the password signed the old one
    // out; the step-up is the account's, still fresh).
    h.clock.advance(time::Duration::seconds(61));
    let web = h.sign_in(&a.phone, &a.ip).await;
    let csrf = h.csrf(&web, "/account/export").await;
    let r = h.form(&web, "/account/export", &csrf, &[]).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let (page_doc, _) = read_export(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(page_doc.saved_searches, doc.saved_searches);
    // Audited as an export under the pseudonym.
    let p = h
        .privacy
        .pseudonym(&SubjectId::parse(&a_id).unwrap())
        .await
        .unwrap();
    let audits = h.store.audit_by_subject(p.as_str()).await.unwrap();
    assert!(audits.iter().filter(|e| e.kind == "export").count() >= 2);

    // Portability: `anjia import-account` into a fresh installation with the same lots.
    let zip = {
        let r = no_redirect()
            .get(h.url("/api/v1/me/export"))
            .bearer_auth(&a.bearer)
            .header("x-forwarded-for", &a.ip)
            .send()
            .await
            .unwrap();
        r.bytes().await.unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("anjia-export.zip");
    std::fs::write(&file, &zip).unwrap();
    let foshan = crate::support::data_dir().join("auctions/ali_sf_item_list_foshan_2019-07.json");
    let run = |args: Vec<String>| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
            .args(&args)
            .current_dir(dir.path())
            .env("ANJIA_IMPORT_BUNDLED", "false")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    run(vec![
        "import".into(),
        "ali-list".into(),
        foshan.display().to_string(),
    ]);
    // All or nothing: an export with a value this installation refuses (a quiet-hours minute
    // past midnight) fails as a whole and leaves the number free for the corrected file.
    let bad = dir.path().join("bad-export.zip");
    std::fs::write(
        &bad,
        replant(&zip, |doc| {
            doc["notification_settings"]["quiet_start_minute"] = serde_json::json!(99_999);
        }),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(["import-account", "--file", &bad.display().to_string()])
        .current_dir(dir.path())
        .env("ANJIA_IMPORT_BUNDLED", "false")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the bad file is refused");
    let text = run(vec![
        "import-account".into(),
        "--file".into(),
        file.display().to_string(),
    ]);
    assert!(
        text.contains("1 saved searches") && text.contains("1 follows"),
        "{text}"
    );
    // Open instance 2 and compare its export with instance 1's.
    let store2 = anjia_store::Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("var/anjia.db").display()
    ))
    .await
    .unwrap();
    let vault2 = anjia_store::KeyVault::connect(&format!(
        "sqlite://{}",
        dir.path().join("var/keys.db").display()
    ))
    .await
    .unwrap();
    let keys2 =
        anjia_privacy::crypto::KeyRing::load_file(&dir.path().join("var/keys.toml")).unwrap();
    let privacy2 =
        anjia_web::Privacy::open(store2.clone(), vault2, keys2, anjia_web::system_clock())
            .await
            .unwrap();
    let accounts2 = anjia_web::accounts::Accounts::with_dev_outbox(
        privacy2.clone(),
        anjia_web::accounts::AccountsConfig {
            files_dir: dir.path().join("var/files"),
            ..Default::default()
        },
    );
    let idx2 = privacy2
        .keys()
        .blind_index()
        .phone(&Phone::parse(&a.phone).unwrap());
    let row2 = store2
        .account_by_phone_index(&idx2)
        .await
        .unwrap()
        .expect("imported");
    assert_ne!(row2.id, a_id, "a new account id");
    let doc2 = accounts2.export_account(&row2).await.unwrap().document;
    assert_eq!(doc2.account.phone, doc.account.phone);
    assert_eq!(doc2.account.nickname, doc.account.nickname);
    assert!(doc2.account.avatar.is_some());
    let strip = |d: &ExportDocument| {
        d.saved_searches
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.criteria.clone(),
                    s.channels.clone(),
                    s.frequency.clone(),
                    s.active,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&doc2), strip(&doc));
    let lots_of = |d: &ExportDocument| {
        d.follows
            .iter()
            .map(|f| (f.platform.clone(), f.source_item_id.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(lots_of(&doc2), lots_of(&doc));
    assert_eq!(doc2.notification_settings, doc.notification_settings);
    // Consents are not fabricated: the user accepts the policy again at the first sign-in.
    assert!(doc2.consents.history.is_empty(), "{:?}", doc2.consents);
    assert!(doc2.consents.accepted_policy_version.is_none());
    // Importing the same file again is refused: the number has an account there now.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(["import-account", "--file", &file.display().to_string()])
        .current_dir(dir.path())
        .env("ANJIA_IMPORT_BUNDLED", "false")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has an account"));
}

/// The export zip `zip` with its `anjia-export.json` changed by `f` (other entries as they are).
fn replant(zip: &[u8], f: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut input = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..input.len() {
        let mut entry = input.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == "anjia-export.json" {
            let mut doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            f(&mut doc);
            bytes = serde_json::to_vec(&doc).unwrap();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

crate::both_harness!(
    cancellation_leaves_nothing_readable,
    cancellation_page_flow,
    export_holds_the_users_data_only,
);
