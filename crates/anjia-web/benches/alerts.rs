//! Outbox throughput of the alerts service (divan). Run: `cargo bench -p anjia-web --bench alerts`.
//!
//! `deliver_pass`: one `Alerts::run_once` over [`EVENTS`] × [`ACCOUNTS`] fresh notifications,
//! each with three instant deliveries (in-app message, SMS, e-mail), on SQLite with the
//! development SMS and e-mail outboxes — the whole delivery path per item: consent and settings
//! read (cached per pass), quiet hours and daily cap, phone or e-mail opened with the account's
//! data key, the SMS provision recorded, the outbox row and the delivery marked sent. Every
//! sample is one pass over [`DELIVERIES`] deliveries, so deliveries/s = `DELIVERIES` ÷ the time.
//! The notifications are created in the (untimed) input step on a new Shanghai day at noon, so
//! neither quiet hours nor the daily cap of the previous sample interferes.

#![allow(missing_docs)]

use anjia_domain::{
    AuctionKind, Money, NewPosting, Platform, PriceValue, PropertyType, RegionCode, Round,
    SellerKind,
};
use anjia_privacy::consent::{Purpose, Surface};
use anjia_privacy::crypto::KeyRing;
use anjia_privacy::pi::Phone;
use anjia_store::{Channel, NewDelivery, NewLotEvent, NewNotification, NotificationSettings};
use anjia_web::Privacy;
use anjia_web::accounts::session::{DeviceInfo, SessionKind};
use anjia_web::accounts::sms::SendLimits;
use anjia_web::accounts::{Accounts, AccountsConfig, ClientContext, CodeSignIn};
use anjia_web::alerts::channels::{EMAIL_COLUMN, EMAIL_TABLE};
use anjia_web::alerts::{Alerts, AlertsConfig};
use anjia_web::privacy::SubjectId;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};
use time::OffsetDateTime;
use time::macros::datetime;

fn main() {
    divan::main();
}

/// Accounts told about each event.
const ACCOUNTS: usize = 200;
/// Events per pass.
const EVENTS: usize = 5;
/// Deliveries per pass (in-app, SMS and e-mail per notification).
const DELIVERIES: usize = ACCOUNTS * EVENTS * 3;

/// Day 0, 12:00 Asia/Shanghai (04:00 UTC): outside the default quiet hours.
const DAY0_NOON: OffsetDateTime = datetime!(2026-12-03 04:00 UTC);

struct Env {
    rt: tokio::runtime::Runtime,
    alerts: Alerts,
    privacy: Privacy,
    accounts: Vec<String>,
    /// (posting id, asset id) of the imported lots.
    lots: Vec<(i64, i64)>,
    /// The clock: Unix seconds.
    now: Arc<AtomicI64>,
    /// Samples run so far (the sample's day).
    day: AtomicI64,
    _dirs: Vec<tempfile::TempDir>,
}

fn posting(i: usize) -> NewPosting {
    let price = |yuan: i64| Some(PriceValue::exact(Money::from_yuan(yuan)));
    NewPosting {
        platform: Platform::Ali,
        kind: AuctionKind::Judicial,
        source_item_id: format!("bench-{i}"),
        source_url: None,
        fetched_at: datetime!(2026-11-01 00:00 UTC),
        importer: "canonical_jsonl".to_string(),
        title: format!("朝阳区望京西园{i}号楼住宅"),
        address: format!("朝阳区望京西园{i}号楼"),
        community: None,
        round: Round::First,
        stored_status: None,
        property_type: PropertyType::Residential,
        province: Some(RegionCode::new(110000).expect("code")),
        city: Some(RegionCode::new(110100).expect("code")),
        district: Some(RegionCode::new(110105).expect("code")),
        building_area_m2: Some(80.0),
        start_price: price(1_800_000 + i as i64),
        appraised_value: price(3_000_000),
        appraisal_basis: None,
        deposit: None,
        increment: None,
        current_price: None,
        auction_start: Some(datetime!(2027-01-10 02:00 UTC)),
        auction_end: Some(datetime!(2027-01-11 02:00 UTC)),
        listed_on: None,
        seller_name: Some("北京市朝阳区人民法院".to_string()),
        seller_kind: SellerKind::Court,
        applicant_count: None,
        viewer_count: None,
        bid_count: Some(0),
        supports_loan: None,
        bankruptcy: false,
        raw: serde_json::json!({"itemId": i}),
    }
}

static ENV: LazyLock<Env> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let now = Arc::new(AtomicI64::new(DAY0_NOON.unix_timestamp()));
    let clock_now = now.clone();
    let clock: anjia_web::Clock = Arc::new(move || {
        OffsetDateTime::from_unix_timestamp(clock_now.load(Ordering::SeqCst)).expect("time")
    });
    let (alerts, privacy, accounts, lots, dirs) = rt.block_on(async {
        let (store, d1) = anjia_store::testing::fresh_sqlite().await;
        let (vault, d2) = anjia_store::testing::fresh_sqlite_vault().await;
        let privacy = Privacy::open(store, vault, KeyRing::generate().expect("keys"), clock)
            .await
            .expect("privacy");
        let files = tempfile::tempdir().expect("files");
        let acc = Accounts::with_dev_outbox(
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
        let client = ClientContext {
            ip: Some("203.0.113.7".parse().expect("ip")),
            device: DeviceInfo::from_user_agent(Some("Mozilla/5.0 Chrome/120.0")),
            kind: SessionKind::App,
        };
        let mut accounts = Vec::with_capacity(ACCOUNTS);
        for i in 0..ACCOUNTS {
            let phone = Phone::parse(&format!("139{i:08}")).expect("phone");
            acc.send_sign_in_code(&phone, client.ip)
                .await
                .expect("send");
            let idx = privacy.keys().blind_index().phone(&phone);
            let msgs = privacy.store().sms_outbox_for(&idx).await.expect("outbox");
            let text = &msgs[0].1;
            let start = text.find("是").expect("code") + "是".len();
            let session = acc
                .sign_in_with_code(CodeSignIn {
                    phone: &phone,
                    code: &text[start..start + 6],
                    accept_policy: true,
                    nickname: None,
                    password: None,
                    client: &client,
                })
                .await
                .expect("sign-up");
            let subject: SubjectId = session.account;
            privacy
                .grant(&subject, Purpose::Notifications, Surface::App)
                .await
                .expect("consent");
            let sealed = privacy
                .seal_field(
                    &subject,
                    (EMAIL_TABLE, EMAIL_COLUMN),
                    format!("user{i}@example.com").as_bytes(),
                )
                .await
                .expect("seal");
            let settings = NotificationSettings {
                email_ciphertext: Some(sealed),
                ..NotificationSettings::default()
            };
            privacy
                .store()
                .put_notification_settings(subject.as_str(), &settings, DAY0_NOON)
                .await
                .expect("settings");
            accounts.push(subject.as_str().to_string());
        }
        let postings: Vec<NewPosting> = (0..EVENTS).map(posting).collect();
        privacy
            .store()
            .import(
                "bench.jsonl",
                "canonical_jsonl",
                EVENTS as u64,
                &postings,
                &[],
                &|_| {},
            )
            .await
            .expect("import");
        // The import's new-lot events: their lots, then marked matched (nobody to tell).
        let events = privacy.store().pending_events(1_000).await.expect("events");
        let lots: Vec<(i64, i64)> = events.iter().map(|e| (e.posting_id, e.asset_id)).collect();
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        privacy
            .store()
            .commit_matches(&ids, &[], DAY0_NOON)
            .await
            .expect("mark");
        let alerts = Alerts::with_dev_outboxes(privacy.clone(), AlertsConfig::default());
        (alerts, privacy, accounts, lots, vec![d1, d2, files])
    });
    assert_eq!(lots.len(), EVENTS);
    Env {
        rt,
        alerts,
        privacy,
        accounts,
        lots,
        now,
        day: AtomicI64::new(0),
        _dirs: dirs,
    }
});

impl Env {
    /// A new day at noon; one event per lot and a notification with three instant deliveries
    /// per account and event, committed; returns how many deliveries are due.
    async fn prepare(&self) -> usize {
        let day = self.day.fetch_add(1, Ordering::SeqCst) + 1;
        let now = DAY0_NOON + time::Duration::days(day);
        self.now.store(now.unix_timestamp(), Ordering::SeqCst);
        let store = self.privacy.store();
        let mut event_ids = Vec::with_capacity(EVENTS);
        for &(posting, asset) in &self.lots {
            // A distinct (rescheduled) start per day: a new event each time.
            let e =
                NewLotEvent::starting_soon(posting, asset, now + time::Duration::hours(20), now);
            event_ids.push(store.insert_event(&e).await.expect("event").expect("new"));
        }
        let mut ns = Vec::with_capacity(EVENTS * ACCOUNTS);
        for &ev in &event_ids {
            for a in &self.accounts {
                ns.push(NewNotification {
                    account_id: a.clone(),
                    event_id: ev,
                    saved_search_id: None,
                    explanation: "即将开拍 · 您关注的标的".to_string(),
                    personalised: false,
                    deliveries: [Channel::InApp, Channel::Sms, Channel::Email]
                        .into_iter()
                        .map(|channel| NewDelivery {
                            channel,
                            digest: false,
                            next_attempt_at: now,
                        })
                        .collect(),
                });
            }
        }
        let c = store
            .commit_matches(&event_ids, &ns, now)
            .await
            .expect("commit");
        usize::try_from(c.deliveries_created).expect("count")
    }
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn deliver_pass(bencher: divan::Bencher) {
    let env = &*ENV;
    bencher
        .with_inputs(|| {
            let n = env.rt.block_on(env.prepare());
            assert_eq!(n, DELIVERIES);
        })
        .bench_local_values(|()| {
            let r = env.rt.block_on(env.alerts.run_once()).expect("pass");
            assert_eq!(
                (r.sent_in_app, r.sent_sms, r.sent_email, r.errors),
                (
                    (ACCOUNTS * EVENTS) as u64,
                    (ACCOUNTS * EVENTS) as u64,
                    (ACCOUNTS * EVENTS) as u64,
                    0
                ),
                "every delivery sent once"
            );
        });
}
