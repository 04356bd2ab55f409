//! Benchmarks of the accounts service (divan). Run: `cargo bench -p anjia-web --bench accounts`.
//!
//! * `argon2id_hash`: one Argon2id hash (the cost of setting a password and of every password
//!   sign-in) for the configurations considered — the OWASP Password Storage Cheat Sheet's
//!   equivalent set (m = 47 MiB t = 1, m = 19 MiB t = 2, m = 12 MiB t = 3) and RFC 9106's second
//!   recommendation (m = 64 MiB, t = 3; one lane here, as the crate computes lanes in turn).
//! * `sign_in_password`: the whole service path of a password sign-in on SQLite (lookup by
//!   blind index, Argon2id verification on a blocking thread, session row with the sealed
//!   address, audit entry) — the sign-in throughput per core.
//! * `sign_in_code`: an SMS sign-in of an existing account (send: limits, code row, provision,
//!   outbox; then check, consume, session, audit), without Argon2.

#![allow(missing_docs)]

use anjia_privacy::crypto::KeyRing;
use anjia_privacy::pi::Phone;
use anjia_web::Privacy;
use anjia_web::accounts::password::{Password, PasswordParams};
use anjia_web::accounts::session::{DeviceInfo, SessionKind};
use anjia_web::accounts::sms::SendLimits;
use anjia_web::accounts::{Accounts, AccountsConfig, ClientContext, CodeSignIn};
use std::sync::LazyLock;

fn main() {
    divan::main();
}

const CONFIGS: [(&str, u32, u32); 4] = [
    ("owasp_m47MiB_t1", 47 * 1024, 1),
    ("owasp_m19MiB_t2 (default)", 19 * 1024, 2),
    ("owasp_m12MiB_t3", 12 * 1024, 3),
    ("rfc9106_m64MiB_t3", 64 * 1024, 3),
];

#[divan::bench(args = CONFIGS, sample_count = 20, sample_size = 1)]
fn argon2id_hash(cfg: (&str, u32, u32)) -> String {
    let params = PasswordParams {
        m_cost: cfg.1,
        t_cost: cfg.2,
        p_cost: 1,
    };
    params
        .hash(&Password::for_sign_in(divan::black_box(
            "correct horse battery",
        )))
        .expect("hash")
}

struct Env {
    rt: tokio::runtime::Runtime,
    accounts: Accounts,
    privacy: Privacy,
    phone: Phone,
    _dirs: Vec<tempfile::TempDir>,
}

fn client() -> ClientContext {
    ClientContext {
        ip: Some("203.0.113.7".parse().expect("ip")),
        device: DeviceInfo::from_user_agent(Some("Mozilla/5.0 (Windows NT 10.0) Chrome/120.0")),
        kind: SessionKind::App,
    }
}

/// A SQLite store and vault, the service with the default Argon2 cost and limits high enough
/// for a benchmark, and one account with a password.
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
    let phone = Phone::parse("13912345678").expect("phone");
    let env = Env {
        rt,
        accounts,
        privacy,
        phone,
        _dirs: dirs,
    };
    env.rt.block_on(async {
        let code = send_and_read(&env).await;
        env.accounts
            .sign_in_with_code(CodeSignIn {
                phone: &env.phone,
                code: &code,
                accept_policy: true,
                nickname: None,
                password: Some("correct horse battery"),
                client: &client(),
            })
            .await
            .expect("sign-up");
    });
    env
});

async fn send_and_read(env: &Env) -> String {
    env.accounts
        .send_sign_in_code(&env.phone, Some("203.0.113.7".parse().expect("ip")))
        .await
        .expect("send");
    let idx = env.privacy.keys().blind_index().phone(&env.phone);
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

#[divan::bench(sample_count = 20, sample_size = 1)]
fn sign_in_password() {
    let env = &*ENV;
    env.rt.block_on(async {
        env.accounts
            .sign_in_with_password(&env.phone, "correct horse battery", &client())
            .await
            .expect("sign-in");
    });
}

#[divan::bench(sample_count = 50, sample_size = 1)]
fn sign_in_code() {
    let env = &*ENV;
    env.rt.block_on(async {
        let code = send_and_read(env).await;
        env.accounts
            .sign_in_with_code(CodeSignIn {
                phone: &env.phone,
                code: &code,
                accept_policy: false,
                nickname: None,
                password: None,
                client: &client(),
            })
            .await
            .expect("sign-in");
    });
}
