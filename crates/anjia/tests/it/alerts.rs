//! Alerts (issue 7): an import's change events become exactly the expected notifications (and a
//! repeated import none), quiet hours, the daily cap, consent and unsubscribing with an injected
//! clock, retries of a failing gateway, and a crash (SIGKILL of `anjia alerts run`) between
//! matching and delivery losing and duplicating nothing. Each test runs on SQLite and PostgreSQL.

use crate::harness::Harness;
use crate::support::Backend;
use anjia_domain::{Money, NewPosting, PriceValue, PropertyType, RegionCode, Round};
use anjia_ingest::ImportKind;
use anjia_privacy::consent::{Purpose, Surface};
use anjia_privacy::pi::Phone;
use anjia_search::SearchIndex;
use anjia_store::Store;
use anjia_store::alerts::{
    Channel, Channels, DeliveryStatus, EventKind, Frequency, NewSavedSearch, NotificationRow,
    NotificationSettings,
};
use anjia_web::Privacy;
use anjia_web::accounts::sms::{BoxFuture, SmsError, SmsGateway};
use anjia_web::accounts::{Accounts, AccountsConfig, ClientContext, CodeSignIn};
use anjia_web::alerts::channels::{DevEmailOutbox, EMAIL_COLUMN, EMAIL_TABLE};
use anjia_web::alerts::{Alerts, AlertsConfig, UnsubscribeError};
use anjia_web::privacy::SubjectId;
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

macro_rules! both_backends {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { super::$f(crate::support::Backend::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() { super::$f(crate::support::Backend::Postgres).await }
            }
        )*
    };
}

/// 10:00 Asia/Shanghai on 2026-12-01.
const START: OffsetDateTime = datetime!(2026-12-01 02:00 UTC);

fn rc(n: u32) -> RegionCode {
    RegionCode::new(n).expect("region code")
}

/// A judicial-auction lot in `region` auctioned a month after [`START`].
fn lot(
    id: &str,
    title: &str,
    region: u32,
    ty: PropertyType,
    round: Round,
    yuan: i64,
) -> NewPosting {
    let mut p = anjia_search::synth::postings(1, 5).remove(0).data;
    let r = rc(region);
    p.source_item_id = format!("it-alerts-{id}");
    p.importer = "it".into();
    p.title = title.into();
    p.address = title.into();
    p.community = None;
    p.seller_name = Some(format!(
        "{}人民法院",
        anjia_domain::Gazetteer::bundled().full_name(r)
    ));
    p.province = Some(r.province());
    p.city = r.city();
    p.district = Some(r);
    p.property_type = ty;
    p.round = round;
    p.stored_status = None;
    p.start_price = Some(PriceValue::exact(Money::from_yuan(yuan)));
    p.appraised_value = Some(PriceValue::exact(Money::from_yuan(yuan * 5 / 4)));
    p.deposit = Some(Money::from_yuan(yuan / 10));
    p.auction_start = Some(START + Duration::days(30));
    p.auction_end = Some(START + Duration::days(31));
    p.listed_on = Some(START.date());
    p.fetched_at = START;
    p
}

fn write_jsonl(dir: &Path, name: &str, lots: &[NewPosting]) -> std::path::PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).expect("create jsonl");
    anjia_ingest::canonical::write_jsonl(f, lots).expect("write jsonl");
    path
}

async fn import(store: &Store, path: &Path) -> anjia::Imported {
    let index = SearchIndex::in_ram().expect("index");
    anjia::import_file(store, &index, ImportKind::CanonicalJsonl, path, false)
        .await
        .expect("import")
}

fn random_phone() -> String {
    format!("137{:08}", rand::random::<u32>() % 100_000_000)
}

/// A new account (signed up by SMS code through the accounts service, policy accepted): its
/// id and phone number.
async fn account(privacy: &Privacy) -> (String, String) {
    let accounts = Accounts::with_dev_outbox(privacy.clone(), AccountsConfig::default());
    let phone = random_phone();
    let p = Phone::parse(&phone).expect("phone");
    let ip: std::net::IpAddr = format!("10.9.{}.{}", rand::random::<u8>(), rand::random::<u8>())
        .parse()
        .expect("ip");
    accounts
        .send_sign_in_code(&p, Some(ip))
        .await
        .expect("code sent");
    let idx = privacy.keys().blind_index().phone(&p);
    let msgs = privacy.store().sms_outbox_for(&idx).await.expect("outbox");
    let code = crate::support::code_in(&msgs[0].1);
    let s = accounts
        .sign_in_with_code(CodeSignIn {
            phone: &p,
            code: &code,
            accept_policy: true,
            nickname: None,
            password: None,
            client: &ClientContext {
                ip: Some(ip),
                device: Default::default(),
                kind: anjia_web::accounts::session::SessionKind::App,
            },
        })
        .await
        .expect("signed up");
    (s.account.as_str().to_string(), phone)
}

async fn grant(privacy: &Privacy, account: &str, p: Purpose) {
    let s = SubjectId::parse(account).expect("subject");
    privacy.grant(&s, p, Surface::Api).await.expect("grant");
}

async fn save_search(
    store: &Store,
    account: &str,
    criteria: serde_json::Value,
    channels: Channels,
    frequency: Frequency,
) -> i64 {
    store
        .create_saved_search(
            &NewSavedSearch {
                account_id: account.to_string(),
                name: "测试条件".into(),
                criteria,
                channels,
                frequency,
                unsubscribe_nonce: anjia_web::alerts::new_unsubscribe_nonce().expect("nonce"),
            },
            START,
        )
        .await
        .expect("saved search")
        .id
}

fn sms() -> Channels {
    Channels {
        sms: true,
        email: false,
    }
}

async fn notifications(store: &Store, account: &str) -> Vec<NotificationRow> {
    let mut v = store
        .notifications_of(account, 100)
        .await
        .expect("notifications");
    v.sort_by_key(|n| n.id);
    v
}

async fn explanations(store: &Store, account: &str) -> BTreeSet<String> {
    notifications(store, account)
        .await
        .into_iter()
        .map(|n| n.explanation)
        .collect()
}

async fn sms_texts(h: &Harness, phone: &str) -> Vec<String> {
    crate::support::outbox_of(&h.store, &h.privacy, phone)
        .await
        .into_iter()
        .filter(|t| t.contains("选房") || t.contains("您关注") || t.contains("符合"))
        .collect()
}

async fn statuses(
    store: &Store,
    n: &NotificationRow,
) -> Vec<(Channel, DeliveryStatus, Option<String>)> {
    store
        .deliveries_of_notification(n.id)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| (d.channel, d.status, d.last_error))
        .collect()
}

/// The "done when": an import in which one lot moved to its second round and one new lot
/// matches produces exactly the expected notifications for a set of users, and repeating the
/// import produces none.
async fn import_notifies_exactly_the_expected_users(b: Backend) {
    let Some(h) = Harness::start(b, START).await else {
        return;
    };
    let store = &h.store;
    let alerts = Alerts::with_dev_outboxes(h.privacy.clone(), AlertsConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let res = PropertyType::Residential;
    let a1 = lot(
        "a1",
        "北京市朝阳区望京西园三区1号楼101室住宅",
        110105,
        res,
        Round::First,
        2_500_000,
    );
    let c = lot(
        "c",
        "杭州市西湖区文三路88号商铺",
        330106,
        PropertyType::Commercial,
        Round::First,
        900_000,
    );
    let first = import(store, &write_jsonl(dir.path(), "1.jsonl", &[a1.clone(), c])).await;
    assert_eq!(first.inserted, 2);
    let r = alerts.run_once().await.unwrap();
    assert_eq!((r.events_matched, r.notifications), (2, 0), "{r}");
    let a1_id = store
        .postings_after(0, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.data.source_item_id == "it-alerts-a1")
        .expect("lot A stored")
        .id;

    // The users.
    let (u1, u1_phone) = account(&h.privacy).await; // 朝阳区 住宅 200万以下, in-app + SMS
    let (u2, _) = account(&h.privacy).await; // follows lot A
    let (u3, _) = account(&h.privacy).await; // viewed lot A, personalised recommendations on
    let (u4, _) = account(&h.privacy).await; // viewed lot A, personalised recommendations off
    let (u5, _) = account(&h.privacy).await; // 杭州 商铺: nothing in the second file
    let (u6, _) = account(&h.privacy).await; // 花家地 by e-mail, daily digest
    for u in [&u1, &u6] {
        grant(&h.privacy, u, Purpose::Notifications).await;
    }
    grant(&h.privacy, &u3, Purpose::PersonalisedRecommendations).await;
    let chaoyang = serde_json::json!({"q": "朝阳区 住宅", "price_max": 200_000_000});
    save_search(store, &u1, chaoyang, sms(), Frequency::Instant).await;
    save_search(
        store,
        &u5,
        serde_json::json!({"q": "杭州 商铺"}),
        sms(),
        Frequency::Instant,
    )
    .await;
    let email_only = Channels {
        sms: false,
        email: true,
    };
    save_search(
        store,
        &u6,
        serde_json::json!({"q": "花家地"}),
        email_only,
        Frequency::Daily,
    )
    .await;
    assert!(store.follow(&u2, a1_id, START).await.unwrap());
    store.record_view(&u3, a1_id, START).await.unwrap();
    store.record_view(&u4, a1_id, START).await.unwrap();
    let u6_subject = SubjectId::parse(&u6).unwrap();
    let sealed = h
        .privacy
        .seal_field(&u6_subject, (EMAIL_TABLE, EMAIL_COLUMN), b"u6@example.com")
        .await
        .unwrap();
    store
        .put_notification_settings(
            &u6,
            &NotificationSettings {
                email_ciphertext: Some(sealed),
                ..NotificationSettings::default()
            },
            START,
        )
        .await
        .unwrap();

    // The second file: lot A unchanged, its second round, and a new lot.
    let a2 = lot(
        "a2",
        "北京市朝阳区望京西园三区1号楼101室住宅",
        110105,
        res,
        Round::Second,
        2_000_000,
    );
    let new = lot(
        "b",
        "北京市朝阳区花家地小区5号楼202室住宅",
        110105,
        res,
        Round::First,
        1_800_000,
    );
    let file2 = write_jsonl(dir.path(), "2.jsonl", &[a1, a2, new]);
    let second = import(store, &file2).await;
    assert_eq!((second.inserted, second.unchanged), (2, 1));
    let events = store.pending_events(100).await.unwrap();
    let kinds: BTreeSet<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        kinds,
        BTreeSet::from([EventKind::NewLot, EventKind::NextRound])
    );

    let r = alerts.run_once().await.unwrap();
    assert_eq!(r.events_matched, 2, "{r}");
    assert_eq!(r.notifications, 5, "{r}");
    assert_eq!((r.sent_in_app, r.sent_sms, r.sent_email), (5, 2, 0), "{r}");
    let set = |v: &[&str]| {
        v.iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<String>>()
    };
    assert_eq!(
        explanations(store, &u1).await,
        set(&[
            "进入二拍 · 符合「朝阳区 住宅 200万以下」",
            "新上架 · 符合「朝阳区 住宅 200万以下」"
        ])
    );
    assert_eq!(
        explanations(store, &u2).await,
        set(&["进入二拍 · 您关注的标的"])
    );
    assert_eq!(
        explanations(store, &u3).await,
        set(&["进入二拍 · 您浏览过的标的"])
    );
    assert!(notifications(store, &u3).await[0].personalised);
    assert!(!notifications(store, &u1).await[0].personalised);
    assert!(
        explanations(store, &u4).await.is_empty(),
        "no consent: no personalised alert"
    );
    assert!(explanations(store, &u5).await.is_empty());
    assert_eq!(
        explanations(store, &u6).await,
        set(&["新上架 · 符合「花家地」"])
    );
    for (u, n) in [(&u1, 2), (&u2, 1), (&u3, 1), (&u4, 0), (&u5, 0), (&u6, 1)] {
        assert_eq!(store.unread_count(u).await.unwrap(), n, "message centre");
    }
    let texts = sms_texts(&h, &u1_phone).await;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts.iter().all(|t| !t.contains(&u1_phone[3..])),
        "no number in the text"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("进入二拍") && t.contains("/unsubscribe/"))
    );
    // U6's e-mail waits for the 08:00 digest.
    let n6 = &notifications(store, &u6).await[0];
    let st = statuses(store, n6).await;
    assert!(
        st.contains(&(Channel::Email, DeliveryStatus::Pending, None)),
        "{st:?}"
    );

    // The same file again: nothing changes, nobody is told twice.
    let again = import(store, &file2).await;
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
    assert!(store.pending_events(100).await.unwrap().is_empty());
    let r = alerts.run_once().await.unwrap();
    assert_eq!(
        (r.events_matched, r.notifications, r.sent_in_app, r.sent_sms),
        (0, 0, 0, 0)
    );
    assert_eq!(sms_texts(&h, &u1_phone).await.len(), 2);
    assert_eq!(notifications(store, &u1).await.len(), 2);

    // 08:00 the next morning: the digest goes out once.
    h.clock.set(datetime!(2026-12-02 00:00 UTC));
    let r = alerts.run_once().await.unwrap();
    assert_eq!(r.digests, 1, "{r}");
    let email = anjia_privacy::pi::Email::parse("u6@example.com").unwrap();
    let idx = h.privacy.keys().blind_index().email(&email);
    let mails = store.email_outbox_for(&idx).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body.contains("花家地"), "the digest lists the lot");
    assert!(!mails[0].body.contains("u6@example.com"));
    let r = alerts.run_once().await.unwrap();
    assert_eq!(r.digests, 0);
    assert_eq!(store.email_outbox_for(&idx).await.unwrap().len(), 1);
}

/// Quiet hours defer, the daily cap suppresses, a withdrawn consent suppresses, an unsubscribe
/// stops the saved search — with the injected clock.
async fn quiet_hours_cap_consent_and_unsubscribe(b: Backend) {
    // 23:00 Shanghai: quiet hours.
    let Some(h) = Harness::start(b, datetime!(2026-12-01 15:00 UTC)).await else {
        return;
    };
    let store = &h.store;
    let alerts = Alerts::with_dev_outboxes(h.privacy.clone(), AlertsConfig::default());
    let (u, phone) = account(&h.privacy).await;
    grant(&h.privacy, &u, Purpose::Notifications).await;
    let search = save_search(
        store,
        &u,
        serde_json::json!({"q": "车位"}),
        sms(),
        Frequency::Instant,
    )
    .await;
    store
        .put_notification_settings(
            &u,
            &NotificationSettings {
                daily_cap: 2,
                ..NotificationSettings::default()
            },
            h.clock.now(),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let park = |i: u32| {
        lot(
            &format!("p{i}"),
            &format!("上海市浦东新区某花园{i}号地下车位"),
            310115,
            PropertyType::Parking,
            Round::First,
            100_000 + i64::from(i),
        )
    };
    import(
        store,
        &write_jsonl(dir.path(), "p.jsonl", &[park(1), park(2), park(3)]),
    )
    .await;
    let r = alerts.run_once().await.unwrap();
    assert_eq!(
        (r.notifications, r.sent_in_app, r.sent_sms, r.deferred),
        (3, 3, 0, 3),
        "{r}"
    );
    assert!(
        sms_texts(&h, &phone).await.is_empty(),
        "nothing sent in quiet hours"
    );
    // 07:59: still quiet.
    h.clock.set(datetime!(2026-12-01 23:59 UTC));
    let r = alerts.run_once().await.unwrap();
    assert_eq!(r.sent_sms, 0, "{r}");
    // 08:00: two are sent (the cap), the third is suppressed.
    h.clock.set(datetime!(2026-12-02 00:00 UTC));
    let r = alerts.run_once().await.unwrap();
    assert_eq!((r.sent_sms, r.suppressed), (2, 1), "{r}");
    assert_eq!(sms_texts(&h, &phone).await.len(), 2);
    let mut reasons = Vec::new();
    for n in notifications(store, &u).await {
        for (ch, st, err) in statuses(store, &n).await {
            if ch == Channel::Sms {
                reasons.push((st, err));
            }
        }
    }
    reasons.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        reasons,
        vec![
            (DeliveryStatus::Sent, Some("quiet-hours".into())),
            (DeliveryStatus::Sent, Some("quiet-hours".into())),
            (DeliveryStatus::Suppressed, Some("daily-cap".into())),
        ]
    );
    assert_eq!(
        store.unread_count(&u).await.unwrap(),
        3,
        "the message centre has all three"
    );

    // The next day, consent withdrawn: in-app only.
    h.clock.set(datetime!(2026-12-03 02:00 UTC));
    let subject = SubjectId::parse(&u).unwrap();
    h.privacy
        .withdraw(&subject, Purpose::Notifications, Surface::Api)
        .await
        .unwrap();
    import(store, &write_jsonl(dir.path(), "p4.jsonl", &[park(4)])).await;
    let r = alerts.run_once().await.unwrap();
    assert_eq!((r.sent_in_app, r.sent_sms, r.suppressed), (1, 0, 1), "{r}");
    let last = notifications(store, &u).await.pop().unwrap();
    assert!(statuses(store, &last).await.contains(&(
        Channel::Sms,
        DeliveryStatus::Suppressed,
        Some("no-consent".into())
    )));

    // Unsubscribe: a tampered token is refused; the real one switches the search off.
    grant(&h.privacy, &u, Purpose::Notifications).await;
    let nonce = store
        .saved_search_by_id(search)
        .await
        .unwrap()
        .unwrap()
        .unsubscribe_nonce;
    let token = alerts.unsubscribe_token(search, &nonce);
    let tampered = token.replacen(&format!("{search}."), &format!("{}.", search + 1), 1);
    assert!(matches!(
        alerts.unsubscribe(&tampered).await,
        Err(UnsubscribeError::InvalidToken(_))
    ));
    assert_eq!(alerts.check_unsubscribe_token(&token), Ok(search));
    assert_eq!(alerts.unsubscribe(&token).await.unwrap(), Some(search));
    assert!(
        !store
            .saved_search_by_id(search)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    import(store, &write_jsonl(dir.path(), "p5.jsonl", &[park(5)])).await;
    let r = alerts.run_once().await.unwrap();
    assert_eq!((r.events_matched, r.notifications), (1, 0), "{r}");
}

/// An SMS gateway failing its first `fail` sends.
struct Flaky {
    fail: usize,
    calls: AtomicUsize,
    inner: Arc<dyn SmsGateway>,
}

impl SmsGateway for Flaky {
    fn id(&self) -> &'static str {
        "flaky"
    }
    fn send<'a>(&'a self, to: &'a Phone, text: &'a str) -> BoxFuture<'a, Result<(), SmsError>> {
        self.inner.send(to, text)
    }
    fn send_for_delivery<'a>(
        &'a self,
        to: &'a Phone,
        text: &'a str,
        delivery_id: i64,
    ) -> BoxFuture<'a, Result<(), SmsError>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail {
            return Box::pin(async { Err(SmsError("down".into())) });
        }
        self.inner.send_for_delivery(to, text, delivery_id)
    }
}

/// A failing gateway is retried after 1, 2, 4 … minutes; a delivery that keeps failing is
/// `failed` after the 8th attempt; one that recovers is sent once.
async fn gateway_errors_are_retried_with_backoff(b: Backend) {
    let Some(h) = Harness::start(b, START).await else {
        return;
    };
    let store = &h.store;
    let flaky = Arc::new(Flaky {
        fail: 10,
        calls: AtomicUsize::new(0),
        inner: Arc::new(anjia_web::accounts::sms::DevOutboxGateway::new(
            h.privacy.clone(),
        )),
    });
    let alerts = Alerts::new(
        h.privacy.clone(),
        flaky.clone(),
        Arc::new(DevEmailOutbox::new(h.privacy.clone())),
        AlertsConfig::default(),
    );
    let (u, phone) = account(&h.privacy).await;
    grant(&h.privacy, &u, Purpose::Notifications).await;
    save_search(
        store,
        &u,
        serde_json::json!({"q": "厂房"}),
        sms(),
        Frequency::Instant,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let f = lot(
        "f1",
        "苏州市工业园区某路1号厂房",
        320506,
        PropertyType::Industrial,
        Round::First,
        5_000_000,
    );
    import(store, &write_jsonl(dir.path(), "f.jsonl", &[f])).await;
    let r = alerts.run_once().await.unwrap();
    assert_eq!((r.sent_in_app, r.retried), (1, 1), "{r}");
    let n = notifications(store, &u).await.pop().unwrap();
    let nid = n.id;
    let sms_delivery = || async move {
        store
            .deliveries_of_notification(nid)
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.channel == Channel::Sms)
            .unwrap()
    };
    let mut waits = Vec::new();
    for _ in 0..7 {
        let d = sms_delivery().await;
        assert_eq!(d.status, DeliveryStatus::Pending);
        waits.push((d.next_attempt_at - h.clock.now()).whole_minutes());
        // Not due yet: nothing happens.
        let r = alerts.run_once().await.unwrap();
        assert_eq!(r.retried + r.failed, 0, "{r}");
        h.clock.set(d.next_attempt_at);
        alerts.run_once().await.unwrap();
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60]);
    let d = sms_delivery().await;
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert_eq!(d.attempts, 8);
    assert_eq!(d.last_error.as_deref(), Some("gateway-error"));
    assert!(sms_texts(&h, &phone).await.is_empty());

    // The gateway recovers (calls 9 and 10 fail, then it works): a new lot is sent after one retry.
    let g = lot(
        "f2",
        "苏州市工业园区某路2号厂房",
        320506,
        PropertyType::Industrial,
        Round::First,
        6_000_000,
    );
    import(store, &write_jsonl(dir.path(), "g.jsonl", &[g])).await;
    alerts.run_once().await.unwrap();
    h.clock.advance(Duration::minutes(1));
    alerts.run_once().await.unwrap();
    h.clock.advance(Duration::minutes(2));
    let r = alerts.run_once().await.unwrap();
    assert_eq!(r.sent_sms, 1, "{r}");
    assert_eq!(sms_texts(&h, &phone).await.len(), 1);
}

/// Issue 5 item 2 (PRV-25, PRV-26): a saved search edited or deleted over the API reaches the
/// matcher (the compiled percolator cache) at once — the next pass matches the new criteria, and
/// after deletion nothing — and a deleted search leaves no row.
async fn edits_and_deletions_reach_the_matcher_at_once(b: Backend) {
    let Some(h) = Harness::start(b, START).await else {
        return;
    };
    let alerts = Alerts::with_dev_outboxes(h.privacy.clone(), AlertsConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let u = h.sign_in("13700000701", "10.7.0.1").await;
    let account = h.account_id(&u).await;
    let path = "/api/v1/me/saved-searches";
    let call = |m: reqwest::Method, p: String, body: Option<serde_json::Value>| {
        let (h, u) = (&h, &u);
        async move { h.api(m, &p, Some(&u.bearer), &u.ip, body).await }
    };
    let (s, v) = call(
        reqwest::Method::POST,
        path.into(),
        Some(serde_json::json!({"criteria": {"q": "杭州 商铺"}})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    // A pass compiles the searches (and caches them) before the edit.
    alerts.run_once().await.unwrap();
    // Edited to 朝阳区: the next import of a 朝阳区 lot notifies, the old criteria no longer do.
    let (s, v) = call(
        reqwest::Method::PATCH,
        format!("{path}/{id}"),
        Some(serde_json::json!({"criteria": {"q": "朝阳区 住宅"}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let res = PropertyType::Residential;
    let chaoyang = lot(
        "e1",
        "北京市朝阳区望京西园三区1号楼101室住宅",
        110105,
        res,
        Round::First,
        2_000_000,
    );
    let hangzhou = lot(
        "e2",
        "杭州市西湖区文三路88号商铺",
        330106,
        PropertyType::Commercial,
        Round::First,
        900_000,
    );
    import(
        &h.store,
        &write_jsonl(dir.path(), "1.jsonl", &[chaoyang, hangzhou]),
    )
    .await;
    alerts.run_once().await.unwrap();
    let got = notifications(&h.store, &account).await;
    assert_eq!(got.len(), 1, "one notification, for the edited criteria");
    assert_eq!(got[0].saved_search_id, Some(id));
    // Deleted: gone from the database, and the matcher forgets it on the very next pass.
    let (s, _) = call(reqwest::Method::DELETE, format!("{path}/{id}"), None).await;
    assert_eq!(s, 204);
    assert!(h.store.saved_search(&account, id).await.unwrap().is_none());
    let again = lot(
        "e3",
        "北京市朝阳区望京西园四区2号楼202室住宅",
        110105,
        res,
        Round::First,
        1_900_000,
    );
    import(&h.store, &write_jsonl(dir.path(), "2.jsonl", &[again])).await;
    let r = alerts.run_once().await.unwrap();
    assert_eq!((r.events_matched, r.notifications), (1, 0), "{r}");
    assert_eq!(notifications(&h.store, &account).await.len(), 1);
}

both_backends!(
    edits_and_deletions_reach_the_matcher_at_once,
    import_notifies_exactly_the_expected_users,
    quiet_hours_cap_consent_and_unsubscribe,
    gateway_errors_are_retried_with_backoff,
);

// ---------------------------------------------------------------------------------------------
// Crash: `anjia alerts run` killed with SIGKILL at its fail points.

/// A database for the child processes: SQLite in `dir`, or a new PostgreSQL database (dropped by
/// the guard). `None` when PostgreSQL is unreachable outside CI.
async fn child_database(b: Backend, dir: &Path) -> Option<(String, Option<PgDrop>)> {
    match b {
        Backend::Sqlite => Some((format!("sqlite://{}/anjia.db", dir.display()), None)),
        Backend::Postgres => {
            let base = std::env::var("ANJIA_TEST_PG_URL")
                .unwrap_or_else(|_| anjia_store::testing::DEFAULT_PG_URL.to_string());
            let admin = match Store::connect(&base).await {
                Ok(s) => s,
                Err(e) => {
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "PostgreSQL unreachable under CI: {e}"
                    );
                    eprintln!("skipped: PostgreSQL is not reachable");
                    return None;
                }
            };
            let name = format!("anjia_crash_{:016x}", rand::random::<u64>());
            anjia_store::testing::execute_raw(&admin, &format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            let url = match base.rsplit_once('/') {
                Some((head, _)) => format!("{head}/{name}"),
                None => format!("{base}/{name}"),
            };
            Some((url, Some(PgDrop { admin, name })))
        }
    }
}

/// Drops the crash test's PostgreSQL database.
struct PgDrop {
    admin: Store,
    name: String,
}

impl PgDrop {
    async fn drop_now(self) {
        let _ = anjia_store::testing::execute_raw(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
    }
}

/// `anjia alerts run` with `failpoint` set, killed with SIGKILL once it reports reaching it.
fn run_and_kill_at(dir: &Path, env: &[(&str, String)], failpoint: &str) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(["alerts", "run"])
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env(anjia_web::alerts::FAILPOINT_ENV, failpoint)
        .stdout(std::process::Stdio::piped())
        .stderr(
            std::fs::File::create(dir.join(format!("{failpoint}.stderr"))).expect("stderr file"),
        )
        .spawn()
        .expect("spawn anjia");
    let out = child.stdout.take().expect("stdout");
    let mut reached = false;
    for line in std::io::BufReader::new(out).lines() {
        let line = line.expect("read stdout");
        if line == format!("FAILPOINT {failpoint}") {
            reached = true;
            break;
        }
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(
        reached,
        "the child reached {failpoint} ({status}): {}",
        std::fs::read_to_string(dir.join(format!("{failpoint}.stderr"))).unwrap_or_default()
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
}

/// Kills before a batch's commit, between matching and delivery, and between an SMS write and
/// its delivery's update: the next run delivers every notification exactly once.
async fn killed_between_matching_and_delivery(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((db, pg)) = child_database(b, dir.path()).await else {
        return;
    };
    let vault = format!("sqlite://{}/keys.db", dir.path().display());
    let keys = dir.path().join("keys.toml");
    let env: Vec<(&str, String)> = vec![
        ("ANJIA_DATABASE_URL", db.clone()),
        ("ANJIA_VAULT_URL", vault.clone()),
        ("ANJIA_KEYS_FILE", keys.display().to_string()),
        ("ANJIA_IMPORT_BUNDLED", "false".into()),
        (
            "ANJIA_INDEX_DIR",
            dir.path().join("index").display().to_string(),
        ),
    ];
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
            .args(args)
            .current_dir(dir.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("run anjia")
    };
    let out = run(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Users, their consent and saved searches, written by this process into the same storage.
    let store = Store::connect(&db).await.expect("store");
    let kv = anjia_store::KeyVault::connect(&vault).await.expect("vault");
    let ring = anjia_privacy::crypto::KeyRing::load_file(&keys).expect("keys");
    let privacy = Privacy::open(store.clone(), kv, ring, anjia_web::system_clock())
        .await
        .expect("privacy");
    let mut users = Vec::new();
    for i in 0..4 {
        let (id, phone) = account(&privacy).await;
        grant(&privacy, &id, Purpose::Notifications).await;
        // No quiet hours and the largest cap: the child runs on the real clock.
        let settings = NotificationSettings {
            quiet_start_minute: 0,
            quiet_end_minute: 0,
            daily_cap: anjia_store::alerts::MAX_DAILY_CAP,
            ..NotificationSettings::default()
        };
        store
            .put_notification_settings(&id, &settings, OffsetDateTime::now_utc())
            .await
            .unwrap();
        let q = if i % 2 == 0 { "住宅" } else { "朝阳区" };
        save_search(
            &store,
            &id,
            serde_json::json!({ "q": q }),
            sms(),
            Frequency::Instant,
        )
        .await;
        users.push((id, phone));
    }
    // 30 new lots in Beijing's Chaoyang district, residential and not.
    let lots: Vec<NewPosting> = (0..30)
        .map(|i| {
            let ty = if i % 3 == 0 {
                PropertyType::Commercial
            } else {
                PropertyType::Residential
            };
            lot(
                &format!("k{i}"),
                &format!("北京市朝阳区某街{i}号"),
                110105,
                ty,
                Round::First,
                1_000_000 + i,
            )
        })
        .collect();
    let file = write_jsonl(dir.path(), "lots.jsonl", &lots);
    let out = run(&["import", "jsonl", &file.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = store.pending_events(1_000).await.unwrap();
    assert_eq!(events.len(), 30);

    // Killed with its first batch matched but not committed: nothing kept.
    run_and_kill_at(dir.path(), &env, "before-commit");
    assert_eq!(store.pending_events(1_000).await.unwrap().len(), 30);
    for (u, _) in &users {
        assert!(notifications(&store, u).await.is_empty());
    }
    // Killed after matching, before delivering.
    run_and_kill_at(dir.path(), &env, "after-match");
    assert!(store.pending_events(1_000).await.unwrap().is_empty());
    let mut expected = 0;
    for (i, (u, _)) in users.iter().enumerate() {
        let n = notifications(&store, u).await;
        // 住宅 matches the 20 residential lots, 朝阳区 all 30.
        assert_eq!(n.len(), if i % 2 == 0 { 20 } else { 30 });
        assert_eq!(
            store.unread_count(u).await.unwrap(),
            0,
            "nothing delivered yet"
        );
        expected += n.len();
    }
    // Killed after an SMS was written, before its delivery was marked sent.
    run_and_kill_at(dir.path(), &env, "after-sms-send");
    // The next runs deliver everything, once.
    let out = run(&["alerts", "run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["alerts", "run"]);
    assert!(out.status.success());
    let mut delivered = 0;
    for (u, phone) in &users {
        let n = notifications(&store, u).await;
        assert_eq!(store.unread_count(u).await.unwrap() as usize, n.len());
        let p = Phone::parse(phone).unwrap();
        let idx = privacy.keys().blind_index().phone(&p);
        let texts: Vec<String> = store
            .sms_outbox_for(&idx)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, t, _)| t)
            .filter(|t| t.contains("符合"))
            .collect();
        assert_eq!(texts.len(), n.len(), "one SMS per notification");
        for x in &n {
            for d in store.deliveries_of_notification(x.id).await.unwrap() {
                assert_eq!(d.status, DeliveryStatus::Sent, "{:?}", d.channel);
            }
        }
        delivered += n.len();
    }
    assert_eq!(delivered, expected);
    drop(privacy);
    drop(store);
    if let Some(pg) = pg {
        pg.drop_now().await;
    }
}

both_backends!(killed_between_matching_and_delivery);
