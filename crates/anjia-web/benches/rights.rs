//! Benchmarks of the users' rights (issue 5; divan). Run:
//! `cargo bench -p anjia-web --bench rights`.
//!
//! A *heavy user* on SQLite: 100 saved searches (the maximum), 10,000 messages in the message
//! centre and 2,000 searches in the (sealed) search history — 12,100 stored items — plus the
//! sessions, SMS codes, consents and provisions of signing up.
//!
//! * `export_heavy_user`: the whole export (`Accounts::export_account`: every table read, every
//!   sealed field opened, JSON written and deflated into the zip). Budget: < 2 s.
//! * `cancel_heavy_user`: the whole cancellation after a fresh step-up
//!   (`Accounts::cancel_account`: step-up check, one transaction deleting every row of the
//!   account, the audit entry, the data key shredded in the vault; no avatar file). Budget:
//!   < 200 ms. A fresh heavy user is seeded (outside the timing) for every sample.

#![allow(missing_docs)]

use anjia_privacy::consent::{Purpose, Surface};
use anjia_privacy::crypto::KeyRing;
use anjia_privacy::pi::Phone;
use anjia_store::alerts::{Channels, Frequency, MessageCategory, NewMessage, NewSavedSearch};
use anjia_web::Privacy;
use anjia_web::accounts::session::{DeviceInfo, SessionKind};
use anjia_web::accounts::sms::SendLimits;
use anjia_web::accounts::{Accounts, AccountsConfig, ClientContext, CodeSignIn, SignedIn};
use anjia_web::privacy::ConsentChange;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

fn main() {
    divan::main();
}

const MESSAGES: usize = 10_000;
const SEARCHES: usize = 2_000;
const SAVED: usize = 100;

struct Env {
    rt: tokio::runtime::Runtime,
    accounts: Accounts,
    privacy: Privacy,
    _dirs: Vec<tempfile::TempDir>,
}

fn client() -> ClientContext {
    ClientContext {
        ip: Some("203.0.113.9".parse().expect("ip")),
        device: DeviceInfo::from_user_agent(Some("Mozilla/5.0 (Windows NT 10.0) Chrome/120.0")),
        kind: SessionKind::App,
    }
}

static ENV: LazyLock<Env> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (accounts, privacy, dirs) = rt.block_on(async {
        let (store, d1) = anjia_store::testing::fresh_sqlite().await;
        let (vault, d2) = anjia_store::testing::fresh_sqlite_vault().await;
        let privacy = Privacy::open(
            store,
            vault,
            KeyRing::generate().expect("keys"),
            anjia_web::system_clock(),
        )
        .await
        .expect("privacy");
        let files = tempfile::tempdir().expect("files");
        let accounts = Accounts::with_dev_outbox(
            privacy.clone(),
            AccountsConfig {
                files_dir: files.path().to_path_buf(),
                limits: SendLimits {
                    per_number_minute: i64::MAX,
                    per_number_day: i64::MAX,
                    per_address_minute: i64::MAX,
                    per_address_day: i64::MAX,
                },
                ..AccountsConfig::default()
            },
        );
        (accounts, privacy, vec![d1, d2, files])
    });
    Env {
        rt,
        accounts,
        privacy,
        _dirs: dirs,
    }
});

async fn last_code(env: &Env, phone: &Phone) -> String {
    let idx = env.privacy.keys().blind_index().phone(phone);
    let msgs = env
        .privacy
        .store()
        .sms_outbox_for(&idx)
        .await
        .expect("outbox");
    let text = &msgs[0].1;
    let start = text.find("是").expect("code") + "是".len();
    text[start..start + 6].to_string()
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Signs a new heavy user up and verifies a step-up; returns the signed-in caller.
async fn heavy_user(env: &Env) -> SignedIn {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let phone = Phone::parse(&format!("139{:08}", 10_000_000 + n)).expect("phone");
    let ip = Some("203.0.113.9".parse().expect("ip"));
    env.accounts
        .send_sign_in_code(&phone, ip)
        .await
        .expect("send");
    let code = last_code(env, &phone).await;
    let s = env
        .accounts
        .sign_in_with_code(CodeSignIn {
            phone: &phone,
            code: &code,
            accept_policy: true,
            nickname: Some("重度用户"),
            password: None,
            client: &client(),
        })
        .await
        .expect("sign-up");
    let who = env
        .accounts
        .authenticate(&s.token, SessionKind::App)
        .await
        .expect("auth")
        .expect("signed in");
    let id = who.account().clone();
    env.privacy
        .change_consent(
            &id,
            &ConsentChange {
                grant: vec![Purpose::SearchHistory],
                ..ConsentChange::default()
            },
            Surface::App,
        )
        .await
        .expect("consent");
    let store = env.privacy.store();
    let now = env.privacy.now();
    for i in 0..SAVED {
        store
            .create_saved_search(
                &NewSavedSearch {
                    account_id: id.as_str().to_string(),
                    name: format!("条件 {i}"),
                    criteria: serde_json::json!({"q": format!("朝阳 {i}")}),
                    channels: Channels::IN_APP_ONLY,
                    frequency: Frequency::Instant,
                    unsubscribe_nonce: format!("{:032x}", n * 1000 + i as u64),
                },
                now,
            )
            .await
            .expect("saved search");
    }
    for i in 0..MESSAGES {
        let title = format!("新拍品 {i}");
        store
            .insert_system_message(
                id.as_str(),
                MessageCategory::Alert,
                &NewMessage {
                    title: &title,
                    body: "朝阳区 住宅 200万以下：佛山市禅城区某小区住宅一套，起拍价 150 万元。",
                    link: Some("/lots/1"),
                },
                now,
            )
            .await
            .expect("message");
    }
    for i in 0..SEARCHES {
        env.privacy
            .record_search(&id, &format!("朝阳 三居 {i}"))
            .await
            .expect("search");
    }
    env.accounts
        .send_step_up_code(&who, ip)
        .await
        .expect("step-up code");
    let code = last_code(env, &phone).await;
    env.accounts
        .verify_step_up(&who, &code)
        .await
        .expect("step-up");
    who
}

static EXPORTED: LazyLock<SignedIn> = LazyLock::new(|| {
    let env = &*ENV;
    env.rt.block_on(heavy_user(env))
});

#[divan::bench(sample_count = 10, sample_size = 1)]
fn export_heavy_user() -> usize {
    let env = &*ENV;
    let who = &*EXPORTED;
    env.rt.block_on(async {
        let e = env.accounts.export(who).await.expect("export");
        assert_eq!(e.document.messages.len(), MESSAGES);
        assert_eq!(e.document.search_history.len(), SEARCHES);
        e.zip.len()
    })
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn cancel_heavy_user(b: divan::Bencher) {
    let env = &*ENV;
    b.with_inputs(|| env.rt.block_on(heavy_user(env)))
        .bench_local_values(|who| {
            env.rt.block_on(async {
                let c = env.accounts.cancel_account(&who).await.expect("cancel");
                assert!(c.total_rows() >= (MESSAGES + SAVED + SEARCHES) as u64);
            })
        });
}
