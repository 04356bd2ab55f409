//! Alert tables (`anjia_store::alerts`) and change detection in `Store::import`; every test runs
//! on SQLite and on PostgreSQL.

use anjia_domain::money::PricePrecision;
use anjia_domain::{
    AuctionKind, ImportSummary, Money, NewPosting, Platform, PriceValue, PropertyType, RegionCode,
    Round, SellerKind, StoredStatus,
};
use anjia_store::alerts::{
    BROWSING_HISTORY_RETENTION_DAYS, MAX_FOLLOWS_PER_ACCOUNT, MAX_SAVED_SEARCHES_PER_ACCOUNT,
};
use anjia_store::{
    AccountRow, Channel, Channels, DeliveryStatus, EventKind, Frequency, LotEventRow,
    MessageCategory, MessageQuery, NewDelivery, NewLotEvent, NewMessage, NewNotification,
    NewSavedSearch, NotificationSettings, SavedSearchUpdate, Store, StoreError, SubjectRow,
    test_on_both_backends,
};
use serde_json::json;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const A1: &str = "0123456789abcdef0123456789abcdef";
const A2: &str = "fedcba9876543210fedcba9876543210";
const T0: OffsetDateTime = datetime!(2026-12-03 08:00:00.123456 UTC);

/// A 64-character stand-in for a keyed hash.
fn h(c: char) -> String {
    c.to_string().repeat(64)
}

async fn with_account(store: &Store, id: &str, phone: char) {
    store
        .insert_subject(&SubjectRow {
            id: id.to_string(),
            kind: "account".to_string(),
            created_at: T0,
        })
        .await
        .unwrap();
    store
        .insert_account(&AccountRow {
            id: id.to_string(),
            phone_index: Some(h(phone)),
            phone_ciphertext: Some(vec![1, 2, 3]),
            nickname: None,
            avatar_file: None,
            password_hash: None,
            password_failures: 0,
            locked_until: None,
            status: "active".to_string(),
            created_at: T0,
            updated_at: T0,
        })
        .await
        .unwrap();
}

fn price(yuan: i64) -> Option<PriceValue> {
    Some(PriceValue::exact(Money::from_yuan(yuan)))
}

fn posting(id: &str, address: &str, round: Round, yuan: i64) -> NewPosting {
    NewPosting {
        platform: Platform::Ali,
        kind: AuctionKind::Judicial,
        source_item_id: id.to_string(),
        source_url: None,
        fetched_at: datetime!(2026-11-01 00:00 UTC),
        importer: "canonical_jsonl".to_string(),
        title: format!("{address}住宅"),
        address: address.to_string(),
        community: None,
        round,
        stored_status: None,
        property_type: PropertyType::Residential,
        province: Some(RegionCode::new(110000).unwrap()),
        city: Some(RegionCode::new(110100).unwrap()),
        district: Some(RegionCode::new(110105).unwrap()),
        building_area_m2: Some(80.0),
        start_price: price(yuan),
        appraised_value: price(3_000_000),
        appraisal_basis: None,
        deposit: None,
        increment: None,
        current_price: None,
        auction_start: Some(datetime!(2026-12-10 02:00 UTC)),
        auction_end: Some(datetime!(2026-12-11 02:00 UTC)),
        listed_on: Some(date!(2026 - 11 - 01)),
        seller_name: Some("北京市朝阳区人民法院".to_string()),
        seller_kind: SellerKind::Court,
        applicant_count: None,
        viewer_count: None,
        bid_count: Some(0),
        supports_loan: None,
        bankruptcy: false,
        raw: json!({"itemId": id}),
    }
}

async fn import(store: &Store, postings: &[NewPosting]) -> ImportSummary {
    store
        .import(
            "alerts.jsonl",
            "canonical_jsonl",
            postings.len() as u64,
            postings,
            &[],
            &|_| {},
        )
        .await
        .expect("import")
}

/// The stored id of a posting by its source item id (platform Ali).
async fn id_of(store: &Store, item: &str) -> i64 {
    store
        .postings_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.data.source_item_id == item && p.data.platform == Platform::Ali)
        .map(|p| p.id)
        .expect("posting stored")
}

async fn pending(store: &Store) -> Vec<LotEventRow> {
    store.pending_events(1_000).await.unwrap()
}

fn new_search(account: &str, name: &str) -> NewSavedSearch {
    NewSavedSearch {
        account_id: account.to_string(),
        name: name.to_string(),
        criteria: json!({"q": "朝阳 住宅", "price_max_yuan": 2_000_000}),
        channels: Channels {
            sms: true,
            email: false,
        },
        frequency: Frequency::Instant,
        unsubscribe_nonce: "0123456789abcdef0123456789abcdef".to_string(),
    }
}

fn delivery(channel: Channel, at: OffsetDateTime) -> NewDelivery {
    NewDelivery {
        channel,
        digest: false,
        next_attempt_at: at,
    }
}

fn notification(account: &str, event_id: i64, deliveries: Vec<NewDelivery>) -> NewNotification {
    NewNotification {
        account_id: account.to_string(),
        event_id,
        saved_search_id: None,
        explanation: "新上架 · 符合「朝阳 住宅 200万以下」".to_string(),
        personalised: false,
        deliveries,
    }
}

fn msg<'a>(title: &'a str) -> NewMessage<'a> {
    NewMessage {
        title,
        body: "朝阳区住宅 一拍 起拍价 180万",
        link: Some("/lots/1"),
    }
}

fn assert_constraint<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(e) => assert!(e.is_constraint_violation(), "{what}: {e}"),
        Ok(v) => panic!("{what}: accepted ({v:?})"),
    }
}

test_on_both_backends!(
    import_detects_changes,
    same_file_twice_and_one_file_with_two_rounds,
    failed_import_creates_no_events,
    saved_search_crud_owner_and_limit,
    commit_matches_is_idempotent,
    commit_matches_is_all_or_nothing,
    delivery_lifecycle,
    a_digest_counts_once_against_the_daily_cap,
    messages_idempotent_and_owner_checked,
    follows_limit_and_starting_soon_window,
    browsing_history_and_viewers,
    settings_defaults_and_outboxes,
    account_deletion_cascades,
    limits_hold_under_concurrent_requests,
);

async fn import_detects_changes(store: Store) {
    // Two new lots.
    let a1 = posting("a1", "朝阳区建国路1号", Round::First, 2_000_000);
    let mut b1 = posting("b1", "朝阳区建国路2号", Round::First, 1_500_000);
    let s = import(&store, &[a1.clone(), b1.clone()]).await;
    assert_eq!((s.inserted, s.events_created), (2, 2));
    let (a1_id, b1_id) = (id_of(&store, "a1").await, id_of(&store, "b1").await);
    let ev = pending(&store).await;
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|e| e.kind == EventKind::NewLot));
    let a1_ev = ev.iter().find(|e| e.posting_id == a1_id).unwrap();
    assert_eq!(a1_ev.dedupe_key, format!("new_lot:{a1_id}"));
    assert_eq!(a1_ev.detail.new_round.as_deref(), Some("first"));
    assert_eq!(a1_ev.detail.new_price_fen, Some(200_000_000));
    assert_eq!(a1_ev.matched_at, None);
    assert_eq!(
        a1_ev.asset_id,
        store.posting(a1_id).await.unwrap().unwrap().asset_id
    );
    assert_eq!(store.event(a1_ev.id).await.unwrap().as_ref(), Some(a1_ev));

    // The second round of the same asset (same address and court, a new item id): next_round.
    let a2 = posting("a2", "朝阳区建国路1号", Round::Second, 1_600_000);
    let s = import(&store, &[a2]).await;
    assert_eq!((s.inserted, s.events_created), (1, 1));
    let a2_id = id_of(&store, "a2").await;
    let e = store.events_of_posting(a2_id).await.unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, EventKind::NextRound);
    assert_eq!(e[0].dedupe_key, format!("next_round:{a2_id}"));
    assert_eq!(e[0].detail.old_round.as_deref(), Some("first"));
    assert_eq!(e[0].detail.new_round.as_deref(), Some("second"));
    assert_eq!(e[0].detail.previous_posting_id, Some(a1_id));
    assert_eq!(e[0].detail.old_price_fen, Some(200_000_000));
    assert_eq!(e[0].detail.new_price_fen, Some(160_000_000));
    assert_eq!(e[0].asset_id, a1_ev.asset_id);

    // The same lot on another platform in the same round: the asset is known, nothing new.
    let mut a2_jd = posting("jd-a2", "朝阳区建国路1号", Round::Second, 1_600_000);
    a2_jd.platform = Platform::Jd;
    let s = import(&store, &[a2_jd]).await;
    assert_eq!((s.inserted, s.events_created), (1, 0));

    // A price change of b1, then a status change, then both at once.
    b1.start_price = price(1_400_000);
    let s = import(&store, &[b1.clone()]).await;
    assert_eq!((s.updated, s.events_created), (1, 1));
    b1.stored_status = Some(StoredStatus::Unsold);
    let s = import(&store, &[b1.clone()]).await;
    assert_eq!((s.updated, s.events_created), (1, 1));
    b1.start_price = price(1_120_000);
    b1.stored_status = Some(StoredStatus::Suspended);
    let s = import(&store, &[b1.clone()]).await;
    assert_eq!((s.updated, s.events_created), (1, 2));
    let e = store.events_of_posting(b1_id).await.unwrap();
    let keys: Vec<&str> = e.iter().map(|e| e.dedupe_key.as_str()).collect();
    assert_eq!(
        keys,
        [
            format!("new_lot:{b1_id}"),
            format!("price_changed:{b1_id}:150000000:140000000"),
            format!("status_changed:{b1_id}:none:unsold"),
            format!("price_changed:{b1_id}:140000000:112000000"),
            format!("status_changed:{b1_id}:unsold:suspended"),
        ]
    );
    assert_eq!(e[1].kind, EventKind::PriceChanged);
    assert_eq!(e[1].detail.old_price_fen, Some(150_000_000));
    assert_eq!(e[1].detail.new_price_fen, Some(140_000_000));
    assert_eq!(e[2].kind, EventKind::StatusChanged);
    assert_eq!(e[2].detail.old_status, None);
    assert_eq!(e[2].detail.new_status.as_deref(), Some("unsold"));

    // An update that changes neither price nor status creates no event.
    b1.bid_count = Some(3);
    let s = import(&store, &[b1.clone()]).await;
    assert_eq!((s.updated, s.events_created), (1, 0));
    // Nor does a later fetch of the same content.
    let s = import(&store, &[b1]).await;
    assert_eq!((s.unchanged, s.events_created), (1, 0));

    // Pending events come by ascending id.
    let ev = pending(&store).await;
    assert_eq!(ev.len(), 2 + 1 + 4);
    assert!(ev.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(store.pending_events(3).await.unwrap().len(), 3);
}

async fn same_file_twice_and_one_file_with_two_rounds(store: Store) {
    // One file holding both rounds of a new asset: the first is a new lot, the second the next
    // round of it; another asset's sell-off (变卖) after its first round counts as next round.
    let file = vec![
        posting("c1", "朝阳区光华路3号", Round::First, 1_000_000),
        posting("c2", "朝阳区光华路3号", Round::Second, 800_000),
        posting("d1", "朝阳区光华路4号", Round::First, 900_000),
        posting("d3", "朝阳区光华路4号", Round::SellOff, 700_000),
    ];
    let s = import(&store, &file).await;
    assert_eq!((s.inserted, s.events_created), (4, 4));
    let kinds: Vec<EventKind> = pending(&store).await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::NewLot,
            EventKind::NextRound,
            EventKind::NewLot,
            EventKind::NextRound
        ]
    );

    // The same file again: no change, no event.
    let s = import(&store, &file).await;
    assert_eq!((s.unchanged, s.events_created), (4, 0));
    assert_eq!(pending(&store).await.len(), 4);

    // An earlier round imported after a later one does not announce anything.
    let late = vec![
        posting("e2", "朝阳区光华路5号", Round::Second, 800_000),
        posting("e1", "朝阳区光华路5号", Round::First, 1_000_000),
    ];
    let s = import(&store, &late).await;
    assert_eq!((s.inserted, s.events_created), (2, 1));
    let e2 = id_of(&store, "e2").await;
    assert_eq!(
        pending(&store).await.last().unwrap().dedupe_key,
        format!("new_lot:{e2}")
    );

    // Change detection across chunks of one import (500 postings per chunk): the 600th record
    // changes the price of the 1st, both new in this file.
    let mut big: Vec<NewPosting> = (0..600)
        .map(|i| {
            posting(
                &format!("f{i}"),
                &format!("朝阳区东三环{i}号"),
                Round::First,
                1_000_000,
            )
        })
        .collect();
    let mut again = big[0].clone();
    again.start_price = price(900_000);
    big.push(again);
    let s = import(&store, &big).await;
    assert_eq!((s.inserted, s.updated), (600, 1));
    assert_eq!(s.events_created, 601, "600 new lots and one price change");
}

async fn failed_import_creates_no_events(store: Store) {
    import(
        &store,
        &[posting("g1", "朝阳区工体路1号", Round::First, 1_000_000)],
    )
    .await;
    let before = pending(&store).await;
    // New lots, a next round and a price change, then a record that breaks the price band.
    let mut bad = posting("g9", "朝阳区工体路9号", Round::First, 1_000_000);
    bad.start_price = Some(PriceValue {
        value: Money(100),
        precision: PricePrecision::Thousands,
        low: Money(200),
        high: Money(300),
        method: None,
    });
    let file = vec![
        posting("g1", "朝阳区工体路1号", Round::First, 900_000),
        posting("g2", "朝阳区工体路1号", Round::Second, 800_000),
        posting("g3", "朝阳区工体路3号", Round::First, 800_000),
        bad,
    ];
    let err = store
        .import("bad.jsonl", "canonical_jsonl", 4, &file, &[], &|_| {})
        .await
        .unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert_eq!(pending(&store).await, before);
    // The same file without the bad record stores the events.
    let s = import(&store, &file[..3]).await;
    assert_eq!(s.events_created, 3);
}

async fn saved_search_crud_owner_and_limit(store: Store) {
    with_account(&store, A1, '1').await;
    with_account(&store, A2, '2').await;
    let v0 = store.saved_searches_version().await.unwrap();
    assert_eq!((v0.count, v0.max_id, v0.max_updated_at), (0, 0, None));

    let s = store
        .create_saved_search(&new_search(A1, "朝阳两居"), T0)
        .await
        .unwrap();
    assert!(s.active);
    assert_eq!(s.channels.as_str(), "in_app,sms");
    assert_eq!(s.criteria["price_max_yuan"], 2_000_000);
    assert_eq!((s.created_at, s.updated_at), (T0, T0));
    let debug = format!("{s:?}");
    assert!(
        !debug.contains("朝阳"),
        "Debug redacts name and criteria: {debug}"
    );

    // Owner checks: another account sees nothing, changes nothing, deletes nothing.
    assert_eq!(
        store.saved_search(A1, s.id).await.unwrap().as_ref(),
        Some(&s)
    );
    assert_eq!(store.saved_search(A2, s.id).await.unwrap(), None);
    assert_eq!(
        store.saved_search_by_id(s.id).await.unwrap().as_ref(),
        Some(&s)
    );
    let rename = SavedSearchUpdate {
        name: Some("换个名字".into()),
        ..SavedSearchUpdate::default()
    };
    assert_eq!(
        store
            .update_saved_search(A2, s.id, &rename, T0)
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_saved_search(A2, s.id).await.unwrap());
    assert!(store.saved_searches_of(A2).await.unwrap().is_empty());

    // Update every field.
    let t1 = T0 + Duration::minutes(1);
    let u = SavedSearchUpdate {
        name: Some("朝阳三居".into()),
        criteria: Some(json!({"q": "朝阳", "rooms": 3})),
        channels: Some(Channels::from_list(&[Channel::Email])),
        frequency: Some(Frequency::Daily),
        active: Some(false),
    };
    let s2 = store
        .update_saved_search(A1, s.id, &u, t1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s2.name, "朝阳三居");
    assert_eq!(s2.criteria, json!({"q": "朝阳", "rooms": 3}));
    assert_eq!(s2.channels.as_str(), "in_app,email");
    assert_eq!((s2.frequency, s2.active), (Frequency::Daily, false));
    assert_eq!((s2.created_at, s2.updated_at), (T0, t1));
    assert!(
        store
            .active_saved_searches_after(0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Bad input is refused with the argument named.
    let mut long = new_search(A1, &"朝".repeat(41));
    let err = store.create_saved_search(&long, T0).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidArgument {
                argument: "name",
                ..
            }
        ),
        "{err}"
    );
    long.name = "   ".into();
    assert!(store.create_saved_search(&long, T0).await.is_err());
    let mut not_object = new_search(A1, "x");
    not_object.criteria = json!(["q"]);
    let err = store
        .create_saved_search(&not_object, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidArgument {
                argument: "criteria",
                ..
            }
        ),
        "{err}"
    );
    let mut short_nonce = new_search(A1, "x");
    short_nonce.unsubscribe_nonce = "abc".into();
    assert_constraint(
        store.create_saved_search(&short_nonce, T0).await,
        "short nonce",
    );
    assert_constraint(
        store
            .create_saved_search(&new_search("nobody", "x"), T0)
            .await,
        "unknown account",
    );

    // The limit: 100 per account, the 101st is refused and nothing is stored.
    for i in 1..MAX_SAVED_SEARCHES_PER_ACCOUNT {
        store
            .create_saved_search(&new_search(A1, &format!("条件{i}")), T0)
            .await
            .unwrap();
    }
    assert_eq!(store.count_saved_searches(A1).await.unwrap(), 100);
    let err = store
        .create_saved_search(&new_search(A1, "第101个"), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::LimitReached { limit: 100, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("100"), "{err}");
    assert_eq!(store.count_saved_searches(A1).await.unwrap(), 100);
    // Another account has its own limit.
    store
        .create_saved_search(&new_search(A2, "别人的"), T0)
        .await
        .unwrap();

    // Active searches in pages, the inactive one left out.
    let all = store.all_active_saved_searches().await.unwrap();
    assert_eq!(all.len(), 100);
    assert!(all.iter().all(|s| s.active && s.id != s2.id));
    let page = store.active_saved_searches_after(0, 30).await.unwrap();
    let next = store
        .active_saved_searches_after(page.last().unwrap().id, 1_000)
        .await
        .unwrap();
    assert_eq!(page.len() + next.len(), 100);

    // Unsubscribe by id and nonce; a wrong nonce changes nothing.
    let target = &all[0];
    assert!(
        !store
            .deactivate_saved_search_by_nonce(target.id, "ffffffffffffffffffffffffffffffff", t1)
            .await
            .unwrap()
    );
    assert!(
        store
            .saved_search_by_id(target.id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let v1 = store.saved_searches_version().await.unwrap();
    let t2 = t1 + Duration::minutes(1);
    assert!(
        store
            .deactivate_saved_search_by_nonce(target.id, &target.unsubscribe_nonce, t2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .saved_search_by_id(target.id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let v2 = store.saved_searches_version().await.unwrap();
    assert_ne!(v1, v2);
    assert_eq!(v2.max_updated_at, Some(t2));
    assert_eq!(v2.count, 101);

    // Delete by the owner.
    assert!(store.delete_saved_search(A1, s.id).await.unwrap());
    assert_eq!(store.saved_search(A1, s.id).await.unwrap(), None);
    assert_eq!(store.saved_searches_version().await.unwrap().count, 100);
    let listed = store.saved_searches_of(A1).await.unwrap();
    assert_eq!(listed.len(), 99);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
}

/// Two accounts, one new lot: its event id.
async fn one_event(store: &Store) -> i64 {
    with_account(store, A1, '1').await;
    with_account(store, A2, '2').await;
    import(
        store,
        &[posting("m1", "朝阳区望京1号", Round::First, 1_800_000)],
    )
    .await;
    pending(store).await[0].id
}

async fn commit_matches_is_idempotent(store: Store) {
    let ev = one_event(&store).await;
    let search = store
        .create_saved_search(&new_search(A1, "望京"), T0)
        .await
        .unwrap();
    let mut n1 = notification(
        A1,
        ev,
        vec![
            delivery(Channel::InApp, T0),
            delivery(Channel::Sms, T0 + Duration::hours(1)),
            delivery(Channel::Sms, T0), // a repeated channel is stored once
        ],
    );
    n1.saved_search_id = Some(search.id);
    let n2 = notification(A2, ev, vec![delivery(Channel::InApp, T0)]);
    // A second notification for the same account and event: the first one wins.
    let mut dup = notification(A1, ev, vec![delivery(Channel::Email, T0)]);
    dup.explanation = "重复".into();
    let batch = vec![n1, n2, dup];

    let c = store.commit_matches(&[ev], &batch, T0).await.unwrap();
    assert_eq!(
        (
            c.events_marked,
            c.notifications_created,
            c.deliveries_created
        ),
        (1, 2, 3)
    );
    assert!(pending(&store).await.is_empty());
    assert_eq!(store.event(ev).await.unwrap().unwrap().matched_at, Some(T0));

    // The same batch again (a crash after commit, a second runner): nothing new.
    let c = store
        .commit_matches(&[ev], &batch, T0 + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        (
            c.events_marked,
            c.notifications_created,
            c.deliveries_created
        ),
        (0, 0, 0)
    );
    assert_eq!(store.event(ev).await.unwrap().unwrap().matched_at, Some(T0));

    let mine = store.notifications_of(A1, 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    let n = &mine[0];
    assert_eq!((n.event_id, n.kind), (ev, EventKind::NewLot));
    assert_eq!(n.posting_id, id_of(&store, "m1").await);
    assert_eq!(n.saved_search_id, Some(search.id));
    assert!(n.explanation.starts_with("新上架"));
    assert_eq!(store.notification(n.id).await.unwrap().as_ref(), Some(n));
    let d = store.deliveries_of_notification(n.id).await.unwrap();
    let channels: Vec<Channel> = d.iter().map(|d| d.channel).collect();
    assert_eq!(channels, [Channel::InApp, Channel::Sms]);
    assert!(
        d.iter()
            .all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0)
    );
    assert_eq!(d[1].next_attempt_at, T0 + Duration::hours(1));
    assert_eq!(store.notifications_of(A2, 10).await.unwrap().len(), 1);

    // Deleting the saved search keeps the notification, unlinked.
    assert!(store.delete_saved_search(A1, search.id).await.unwrap());
    assert_eq!(
        store
            .notification(n.id)
            .await
            .unwrap()
            .unwrap()
            .saved_search_id,
        None
    );
}

async fn commit_matches_is_all_or_nothing(store: Store) {
    let ev = one_event(&store).await;
    // An unknown event: refused, and the batch's event stays pending.
    let err = store
        .commit_matches(&[ev], &[notification(A1, ev + 1_000, vec![])], T0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidArgument { .. }), "{err}");
    assert_eq!(pending(&store).await.len(), 1);
    // A digest in-app delivery breaks a constraint after the notification was written: nothing
    // of the batch is kept.
    let mut bad = delivery(Channel::InApp, T0);
    bad.digest = true;
    assert_constraint(
        store
            .commit_matches(&[ev], &[notification(A1, ev, vec![bad])], T0)
            .await,
        "digest in-app delivery",
    );
    assert_eq!(pending(&store).await.len(), 1);
    assert!(store.notifications_of(A1, 10).await.unwrap().is_empty());
    // An unknown account.
    assert_constraint(
        store
            .commit_matches(&[ev], &[notification("nobody", ev, vec![])], T0)
            .await,
        "unknown account",
    );
    // An empty batch only marks the events.
    let c = store.commit_matches(&[ev], &[], T0).await.unwrap();
    assert_eq!(c.events_marked, 1);
    assert!(pending(&store).await.is_empty());
}

async fn delivery_lifecycle(store: Store) {
    let ev = one_event(&store).await;
    let digest = NewDelivery {
        channel: Channel::Email,
        digest: true,
        next_attempt_at: T0,
    };
    let later = T0 + Duration::hours(10);
    store
        .commit_matches(
            &[ev],
            &[
                notification(
                    A1,
                    ev,
                    vec![
                        delivery(Channel::InApp, T0),
                        delivery(Channel::Sms, later),
                        digest,
                    ],
                ),
                notification(A2, ev, vec![digest]),
            ],
            T0,
        )
        .await
        .unwrap();

    // Due now: only the in-app one (the SMS waits for quiet hours to end, digests wait for the
    // digest run).
    let due = store.due_deliveries(T0, 100).await.unwrap();
    assert_eq!(due.len(), 1);
    let in_app = &due[0];
    assert_eq!(in_app.delivery.channel, Channel::InApp);
    assert_eq!(in_app.delivery.account_id, A1);
    let n = in_app.notification.as_ref().unwrap();
    assert_eq!((n.event_id, n.account_id.as_str()), (ev, A1));
    let due_later = store.due_deliveries(later, 100).await.unwrap();
    assert_eq!(due_later.len(), 2);
    assert_eq!(due_later[1].delivery.channel, Channel::Sms);
    assert_eq!(store.due_deliveries(later, 1).await.unwrap().len(), 1);

    // Digests by channel, of all accounts or one.
    let all = store
        .due_digest_deliveries(T0, None, Channel::Email, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        all.windows(2)
            .all(|w| w[0].delivery.account_id <= w[1].delivery.account_id)
    );
    let one = store
        .due_digest_deliveries(T0, Some(A2), Channel::Email, 100)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].delivery.account_id, A2);
    assert!(
        store
            .due_digest_deliveries(T0, None, Channel::Sms, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Sent once; a second mark finds it no longer pending.
    let id = in_app.delivery.id;
    assert!(store.mark_delivery_sent(id, T0).await.unwrap());
    assert!(!store.mark_delivery_sent(id, T0).await.unwrap());
    let d = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.attempts, d.sent_at),
        (DeliveryStatus::Sent, 1, Some(T0))
    );
    assert!(store.due_deliveries(T0, 100).await.unwrap().is_empty());
    assert_eq!(
        store
            .count_sent_since(A1, Channel::InApp, T0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_sent_since(A1, Channel::InApp, T0 + Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.count_sent_since(A1, Channel::Sms, T0).await.unwrap(),
        0
    );

    // Retry back-off, then failure; reasons are ids, never free text.
    let sms = due_later[1].delivery.id;
    assert!(
        store
            .reschedule_delivery(sms, later + Duration::minutes(2), 1, Some("gateway-error"))
            .await
            .unwrap()
    );
    let d = store.delivery(sms).await.unwrap().unwrap();
    assert_eq!(d.attempts, 1);
    assert_eq!(d.last_error.as_deref(), Some("gateway-error"));
    assert!(store.due_deliveries(later, 100).await.unwrap().is_empty());
    let err = store
        .mark_delivery_failed(sms, "send to 13800138000 failed")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidArgument {
                argument: "reason",
                ..
            }
        ),
        "{err}"
    );
    assert_constraint(
        store.reschedule_delivery(sms, later, -1, None).await,
        "negative attempts",
    );
    assert!(
        store
            .mark_delivery_failed(sms, "gateway-error")
            .await
            .unwrap()
    );
    let d = store.delivery(sms).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 2));
    assert!(
        !store
            .reschedule_delivery(sms, later, 3, None)
            .await
            .unwrap()
    );

    // Suppressed (no attempt counted).
    let dg = one[0].delivery.id;
    assert!(
        store
            .mark_delivery_suppressed(dg, "no-consent")
            .await
            .unwrap()
    );
    let d = store.delivery(dg).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.attempts, d.last_error.as_deref()),
        (DeliveryStatus::Suppressed, 0, Some("no-consent"))
    );

    // Retention: finished deliveries go, pending ones stay; notifications without pending
    // deliveries go; matched events without pending deliveries go.
    let cutoff = T0 + Duration::days(91);
    assert_eq!(
        store
            .delete_finished_deliveries_before(cutoff)
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.delete_notifications_before(cutoff).await.unwrap(), 1);
    assert_eq!(store.delete_matched_events_before(cutoff).await.unwrap(), 0);
    assert_eq!(store.notifications_of(A1, 10).await.unwrap().len(), 1);
    assert!(store.notifications_of(A2, 10).await.unwrap().is_empty());
    let pending_digest = all.iter().find(|d| d.delivery.account_id == A1).unwrap();
    assert!(
        store
            .mark_delivery_sent(pending_digest.delivery.id, T0)
            .await
            .unwrap()
    );
    assert_eq!(store.delete_matched_events_before(cutoff).await.unwrap(), 1);
    assert!(store.notifications_of(A1, 10).await.unwrap().is_empty());
    assert_eq!(store.event(ev).await.unwrap(), None);
}

/// The daily cap counts messages, not items: a digest's deliveries are all marked sent at one
/// instant and count once; non-digest deliveries count one each.
async fn a_digest_counts_once_against_the_daily_cap(store: Store) {
    with_account(&store, A1, '1').await;
    import(
        &store,
        &[
            posting("c1", "朝阳区望京1号", Round::First, 1_800_000),
            posting("c2", "朝阳区望京2号", Round::First, 1_900_000),
            posting("c3", "朝阳区望京3号", Round::First, 2_000_000),
        ],
    )
    .await;
    let events: Vec<i64> = pending(&store).await.iter().map(|e| e.id).collect();
    assert_eq!(events.len(), 3);
    let digest = NewDelivery {
        channel: Channel::Email,
        digest: true,
        next_attempt_at: T0,
    };
    let ns = vec![
        notification(A1, events[0], vec![digest]),
        notification(A1, events[1], vec![digest]),
        notification(A1, events[2], vec![delivery(Channel::Email, T0)]),
    ];
    store.commit_matches(&events, &ns, T0).await.unwrap();
    let due = store
        .due_digest_deliveries(T0, Some(A1), Channel::Email, 100)
        .await
        .unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(
        store
            .count_sent_since(A1, Channel::Email, T0)
            .await
            .unwrap(),
        0
    );
    // One digest carrying two items.
    for d in &due {
        assert!(store.mark_delivery_sent(d.delivery.id, T0).await.unwrap());
    }
    assert_eq!(
        store
            .count_sent_since(A1, Channel::Email, T0)
            .await
            .unwrap(),
        1
    );
    // Plus one instant e-mail.
    let instant = store.due_deliveries(T0, 100).await.unwrap();
    let instant: Vec<_> = instant
        .iter()
        .filter(|d| d.delivery.channel == Channel::Email)
        .collect();
    assert_eq!(instant.len(), 1);
    let later = T0 + Duration::minutes(5);
    assert!(
        store
            .mark_delivery_sent(instant[0].delivery.id, later)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .count_sent_since(A1, Channel::Email, T0)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_sent_since(A1, Channel::Email, later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.count_sent_since(A1, Channel::Sms, T0).await.unwrap(),
        0
    );
}

async fn messages_idempotent_and_owner_checked(store: Store) {
    let ev = one_event(&store).await;
    store
        .commit_matches(
            &[ev],
            &[notification(
                A1,
                ev,
                vec![delivery(Channel::InApp, T0), delivery(Channel::Sms, T0)],
            )],
            T0,
        )
        .await
        .unwrap();
    let due = store.due_deliveries(T0, 10).await.unwrap();
    let in_app = due
        .iter()
        .find(|d| d.delivery.channel == Channel::InApp)
        .unwrap();
    let sms = due
        .iter()
        .find(|d| d.delivery.channel == Channel::Sms)
        .unwrap();

    // Written once: a repeated attempt (after a crash before marking sent) finds it.
    let m1 = store
        .insert_message_for_delivery(in_app.delivery.id, &msg("望京新上架"), T0)
        .await
        .unwrap();
    let m2 = store
        .insert_message_for_delivery(in_app.delivery.id, &msg("望京新上架"), T0)
        .await
        .unwrap();
    assert_eq!(m1, m2);
    assert_eq!(store.count_messages(A1, false).await.unwrap(), 1);
    let d = store.delivery(in_app.delivery.id).await.unwrap().unwrap();
    assert_eq!(d.message_id, Some(m1));
    // Only in-app deliveries of notifications write messages.
    let err = store
        .insert_message_for_delivery(sms.delivery.id, &msg("x"), T0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidArgument { .. }), "{err}");
    assert!(
        store
            .insert_message_for_delivery(999_999, &msg("x"), T0)
            .await
            .is_err()
    );
    let m = store.message(A1, m1).await.unwrap().unwrap();
    assert_eq!(m.category, MessageCategory::Alert);
    assert_eq!(
        m.notification_id,
        in_app.notification.as_ref().map(|n| n.id)
    );
    assert_eq!(
        (m.title.as_str(), m.link.as_deref()),
        ("望京新上架", Some("/lots/1"))
    );
    assert!(!format!("{m:?}").contains("望京"));

    // System notices go the same way.
    let t1 = T0 + Duration::minutes(1);
    let p = store
        .insert_system_message(A1, MessageCategory::Policy, &msg("隐私政策更新"), t1)
        .await
        .unwrap();
    let b = store
        .insert_system_message(
            A1,
            MessageCategory::Breach,
            &NewMessage {
                title: "安全事件告知",
                body: "……",
                link: None,
            },
            t1,
        )
        .await
        .unwrap();
    store
        .insert_system_message(A2, MessageCategory::System, &msg("欢迎"), t1)
        .await
        .unwrap();
    assert_constraint(
        store
            .insert_system_message(A1, MessageCategory::System, &msg(""), t1)
            .await,
        "empty title",
    );
    // A breach notice also by SMS: a delivery of the message, once per channel.
    let created = store
        .insert_message_deliveries(
            b,
            &[delivery(Channel::Sms, t1), delivery(Channel::Sms, t1)],
            t1,
        )
        .await
        .unwrap();
    assert_eq!(created, 1);
    assert_eq!(
        store
            .insert_message_deliveries(b, &[delivery(Channel::Sms, t1)], t1)
            .await
            .unwrap(),
        0
    );
    let sys = store
        .due_deliveries(t1, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.delivery.message_id == Some(b))
        .unwrap();
    assert_eq!(
        (sys.delivery.account_id.as_str(), sys.notification),
        (A1, None)
    );
    assert!(
        store
            .insert_message_deliveries(999_999, &[], t1)
            .await
            .is_err()
    );

    // Unread counts, pages, filters.
    assert_eq!(store.unread_count(A1).await.unwrap(), 3);
    assert_eq!(store.unread_count(A2).await.unwrap(), 1);
    let page = store
        .messages_of(
            A1,
            MessageQuery {
                unread_only: false,
                offset: 0,
                limit: 2,
            },
        )
        .await
        .unwrap();
    let ids: Vec<i64> = page.iter().map(|m| m.id).collect();
    assert_eq!(ids, [b, p]);
    let rest = store
        .messages_of(
            A1,
            MessageQuery {
                unread_only: false,
                offset: 2,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), [m1]);

    // Another account cannot read, mark or delete.
    assert_eq!(store.message(A2, m1).await.unwrap(), None);
    assert!(!store.mark_message_read(A2, m1, t1).await.unwrap());
    assert!(!store.delete_message(A2, m1).await.unwrap());
    assert_eq!(store.unread_count(A1).await.unwrap(), 3);

    // Read, read again (keeps the first time), unread.
    assert!(store.mark_message_read(A1, m1, t1).await.unwrap());
    assert!(
        store
            .mark_message_read(A1, m1, t1 + Duration::hours(1))
            .await
            .unwrap()
    );
    assert_eq!(
        store.message(A1, m1).await.unwrap().unwrap().read_at,
        Some(t1)
    );
    assert_eq!(store.unread_count(A1).await.unwrap(), 2);
    let unread = store
        .messages_of(
            A1,
            MessageQuery {
                unread_only: true,
                offset: 0,
                limit: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!(unread.iter().map(|m| m.id).collect::<Vec<_>>(), [b, p]);
    assert_eq!(store.count_messages(A1, true).await.unwrap(), 2);
    assert!(store.mark_message_unread(A1, m1).await.unwrap());
    assert!(!store.mark_message_unread(A2, m1).await.unwrap());
    assert_eq!(store.unread_count(A1).await.unwrap(), 3);
    assert_eq!(store.mark_all_messages_read(A1, t1).await.unwrap(), 3);
    assert_eq!(store.unread_count(A1).await.unwrap(), 0);
    assert_eq!(store.unread_count(A2).await.unwrap(), 1);

    // Delete is real; the delivery that wrote it stays, unlinked; a repeated attempt writes it
    // again only if the delivery were still pending (it is not: mark it sent first).
    assert!(
        store
            .mark_delivery_sent(in_app.delivery.id, t1)
            .await
            .unwrap()
    );
    assert!(store.delete_message(A1, m1).await.unwrap());
    assert_eq!(store.message(A1, m1).await.unwrap(), None);
    assert_eq!(
        store
            .delivery(in_app.delivery.id)
            .await
            .unwrap()
            .unwrap()
            .message_id,
        None
    );
    assert_eq!(store.count_messages(A1, false).await.unwrap(), 2);
}

async fn follows_limit_and_starting_soon_window(store: Store) {
    with_account(&store, A1, '1').await;
    with_account(&store, A2, '2').await;
    let from = datetime!(2026-12-10 00:00 UTC);
    let to = from + Duration::hours(24);
    let mut ps: Vec<NewPosting> = (0..=MAX_FOLLOWS_PER_ACCOUNT)
        .map(|i| {
            posting(
                &format!("p{i}"),
                &format!("朝阳区朝外{i}号"),
                Round::First,
                1_000_000,
            )
        })
        .collect();
    // Window edges: p0 at `from` (in), p1 just before `to` (in), p2 at `to` (out), p3 before
    // `from` (out), p4 in the window but withdrawn (out), p5 without a start (out).
    ps[0].auction_start = Some(from);
    ps[1].auction_start = Some(to - Duration::microseconds(1));
    ps[2].auction_start = Some(to);
    ps[3].auction_start = Some(from - Duration::microseconds(1));
    ps[4].auction_start = Some(from + Duration::hours(1));
    ps[4].stored_status = Some(StoredStatus::Withdrawn);
    ps[5].auction_start = None;
    for p in ps.iter_mut().skip(6) {
        p.auction_start = Some(from + Duration::days(30));
    }
    import(&store, &ps).await;
    let all = store.postings_after(0, 10_000).await.unwrap();
    let id = |item: &str| {
        all.iter()
            .find(|p| p.data.source_item_id == item)
            .unwrap()
            .id
    };

    // Follow is idempotent.
    assert!(store.follow(A1, id("p0"), T0).await.unwrap());
    assert!(!store.follow(A1, id("p0"), T0).await.unwrap());
    assert!(store.is_following(A1, id("p0")).await.unwrap());
    assert!(!store.is_following(A2, id("p0")).await.unwrap());
    assert_constraint(store.follow(A1, 999_999, T0).await, "unknown posting");
    for item in ["p1", "p2", "p3", "p4", "p5"] {
        store.follow(A1, id(item), T0).await.unwrap();
    }
    store.follow(A2, id("p1"), T0).await.unwrap();

    let soon = store.followed_starting_between(from, to).await.unwrap();
    let got: Vec<(&str, i64)> = soon
        .iter()
        .map(|s| (s.account_id.as_str(), s.posting_id))
        .collect();
    assert_eq!(got, [(A1, id("p0")), (A1, id("p1")), (A2, id("p1"))]);
    assert_eq!(soon[0].auction_start, from);
    assert_eq!(soon[1].auction_start, to - Duration::microseconds(1));
    assert_eq!(
        soon[0].asset_id,
        all.iter().find(|p| p.id == id("p0")).unwrap().asset_id
    );

    // The scan's events are stored once per posting and start time.
    let e = NewLotEvent::starting_soon(soon[0].posting_id, soon[0].asset_id, from, T0);
    let first = store.insert_event(&e).await.unwrap();
    assert!(first.is_some());
    assert_eq!(store.insert_event(&e).await.unwrap(), None);
    let stored = store.event(first.unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.kind, EventKind::StartingSoon);
    assert_eq!(stored.detail.auction_start, Some(from.unix_timestamp()));
    let moved = NewLotEvent::starting_soon(soon[0].posting_id, soon[0].asset_id, to, T0);
    assert!(store.insert_event(&moved).await.unwrap().is_some());

    // Followers of events' postings.
    let followers = store
        .followers_of(&[id("p1"), id("p0"), id("p1")])
        .await
        .unwrap();
    assert_eq!(
        followers,
        [
            (id("p0"), A1.to_string()),
            (id("p1"), A1.to_string()),
            (id("p1"), A2.to_string())
        ]
    );

    // The limit: 500 per account; following one already followed at the limit still succeeds.
    for p in ps.iter().skip(6).take(MAX_FOLLOWS_PER_ACCOUNT as usize - 6) {
        store.follow(A1, id(&p.source_item_id), T0).await.unwrap();
    }
    let last = &ps[MAX_FOLLOWS_PER_ACCOUNT as usize].source_item_id;
    let err = store.follow(A1, id(last), T0).await.unwrap_err();
    assert!(
        matches!(err, StoreError::LimitReached { limit: 500, .. }),
        "{err}"
    );
    assert!(!store.follow(A1, id("p0"), T0).await.unwrap());
    assert_eq!(store.follows_of(A1).await.unwrap().len(), 500);
    assert!(store.follow(A2, id(last), T0).await.unwrap());

    // Unfollow, newest first.
    assert!(store.unfollow(A1, id("p0")).await.unwrap());
    assert!(!store.unfollow(A1, id("p0")).await.unwrap());
    assert!(
        store
            .follow(A1, id(last), T0 + Duration::minutes(1))
            .await
            .unwrap()
    );
    let mine = store.follows_of(A1).await.unwrap();
    assert_eq!(mine[0].posting_id, id(last));
    assert_eq!(mine[0].created_at, T0 + Duration::minutes(1));
}

async fn browsing_history_and_viewers(store: Store) {
    with_account(&store, A1, '1').await;
    with_account(&store, A2, '2').await;
    import(
        &store,
        &[
            posting("v1", "朝阳区三里屯1号", Round::First, 1_000_000),
            posting("v2", "朝阳区三里屯2号", Round::First, 1_000_000),
        ],
    )
    .await;
    let (v1, v2) = (id_of(&store, "v1").await, id_of(&store, "v2").await);
    let t1 = T0 + Duration::hours(1);
    store.record_view(A1, v1, T0).await.unwrap();
    store.record_view(A1, v2, t1).await.unwrap();
    store.record_view(A2, v1, T0).await.unwrap();
    // A repeated view moves the time forward, never back.
    store
        .record_view(A1, v1, T0 + Duration::hours(2))
        .await
        .unwrap();
    store.record_view(A1, v1, T0).await.unwrap();
    assert_constraint(store.record_view(A1, 999_999, T0).await, "unknown posting");

    let h = store.browsing_history(A1, 10).await.unwrap();
    assert_eq!(
        h.iter()
            .map(|r| (r.posting_id, r.viewed_at))
            .collect::<Vec<_>>(),
        [(v1, T0 + Duration::hours(2)), (v2, t1)]
    );
    assert_eq!(store.browsing_history(A1, 1).await.unwrap().len(), 1);

    assert_eq!(
        store.accounts_that_viewed(&[v2, v1]).await.unwrap(),
        [
            (v1, A1.to_string()),
            (v1, A2.to_string()),
            (v2, A1.to_string())
        ]
    );
    // The next round of v1 is a new posting of the same asset: its viewers are found by asset.
    import(
        &store,
        &[posting("v1b", "朝阳区三里屯1号", Round::Second, 800_000)],
    )
    .await;
    let v1b = id_of(&store, "v1b").await;
    let asset = store.posting(v1b).await.unwrap().unwrap().asset_id;
    assert_eq!(
        store.accounts_that_viewed_assets(&[asset]).await.unwrap(),
        [(asset, A1.to_string()), (asset, A2.to_string())]
    );
    assert!(store.accounts_that_viewed(&[v1b]).await.unwrap().is_empty());

    // Owner-checked delete of one entry.
    let entry = h[0].id;
    assert!(!store.delete_browsing_entry(A2, entry).await.unwrap());
    assert!(store.delete_browsing_entry(A1, entry).await.unwrap());
    assert_eq!(store.browsing_history(A1, 10).await.unwrap().len(), 1);

    // Retention: 180 days after the latest view.
    let cutoff = t1 + Duration::days(BROWSING_HISTORY_RETENTION_DAYS);
    assert_eq!(store.delete_browsing_before(t1).await.unwrap(), 1); // A2's view at T0
    assert_eq!(store.delete_browsing_before(cutoff).await.unwrap(), 1);
    store.record_view(A1, v1, T0).await.unwrap();
    store.record_view(A1, v2, T0).await.unwrap();
    assert_eq!(store.clear_browsing_history(A1).await.unwrap(), 2);
    assert!(store.browsing_history(A1, 10).await.unwrap().is_empty());
}

async fn settings_defaults_and_outboxes(store: Store) {
    with_account(&store, A1, '1').await;
    let s = store.notification_settings(A1).await.unwrap();
    assert_eq!(s, NotificationSettings::default());
    assert_eq!(
        (
            s.quiet_start_minute,
            s.quiet_end_minute,
            s.daily_cap,
            s.updated_at
        ),
        (1320, 480, 20, None)
    );
    let mine = NotificationSettings {
        quiet_start_minute: 23 * 60,
        quiet_end_minute: 7 * 60,
        daily_cap: 5,
        email_ciphertext: Some(b"ajf1 sealed".to_vec()),
        updated_at: None,
    };
    store
        .put_notification_settings(A1, &mine, T0)
        .await
        .unwrap();
    let got = store.notification_settings(A1).await.unwrap();
    assert_eq!(got.updated_at, Some(T0));
    assert_eq!(got.email_ciphertext.as_deref(), Some(&b"ajf1 sealed"[..]));
    assert_eq!((got.quiet_start_minute, got.daily_cap), (1380, 5));
    assert!(format!("{got:?}").contains("bytes sealed"));
    let cleared = NotificationSettings {
        email_ciphertext: None,
        ..mine.clone()
    };
    store
        .put_notification_settings(A1, &cleared, T0)
        .await
        .unwrap();
    assert_eq!(
        store
            .notification_settings(A1)
            .await
            .unwrap()
            .email_ciphertext,
        None
    );
    for bad in [
        NotificationSettings {
            daily_cap: 101,
            ..mine.clone()
        },
        NotificationSettings {
            quiet_end_minute: 1440,
            ..mine.clone()
        },
    ] {
        assert_constraint(
            store.put_notification_settings(A1, &bad, T0).await,
            "out of range",
        );
    }
    assert_constraint(
        store.put_notification_settings("nobody", &mine, T0).await,
        "unknown account",
    );

    // Outboxes carry the delivery: a repeated attempt writes nothing new.
    with_account(&store, A2, '2').await;
    import(
        &store,
        &[posting("o1", "朝阳区国贸1号", Round::First, 1_000_000)],
    )
    .await;
    let ev = pending(&store).await[0].id;
    store
        .commit_matches(
            &[ev],
            &[notification(
                A1,
                ev,
                vec![delivery(Channel::Sms, T0), delivery(Channel::Email, T0)],
            )],
            T0,
        )
        .await
        .unwrap();
    let due = store.due_deliveries(T0, 10).await.unwrap();
    let sms = due
        .iter()
        .find(|d| d.delivery.channel == Channel::Sms)
        .unwrap();
    let email = due
        .iter()
        .find(|d| d.delivery.channel == Channel::Email)
        .unwrap();

    let e1 = store
        .insert_email_outbox(&h('e'), "新上架", "正文", Some(email.delivery.id), T0)
        .await
        .unwrap();
    let e2 = store
        .insert_email_outbox(&h('e'), "新上架", "正文", Some(email.delivery.id), T0)
        .await
        .unwrap();
    assert_eq!(e1, e2);
    store
        .insert_email_outbox(&h('e'), "测试", "无投递", None, T0 + Duration::seconds(1))
        .await
        .unwrap();
    let box_e = store.email_outbox_for(&h('e')).await.unwrap();
    assert_eq!(box_e.len(), 2);
    assert_eq!(box_e[1].delivery_id, Some(email.delivery.id));
    assert!(!format!("{:?}", box_e[0]).contains("测试"));
    assert_constraint(
        store
            .insert_email_outbox("plain@example.com", "s", "b", None, T0)
            .await,
        "plain address",
    );
    assert_constraint(
        store
            .insert_email_outbox(&h('e'), "s", "b", Some(999_999), T0)
            .await,
        "unknown delivery",
    );

    let s1 = store
        .insert_sms_outbox_for_delivery(&h('1'), "【安家】新上架", sms.delivery.id, T0)
        .await
        .unwrap();
    let s2 = store
        .insert_sms_outbox_for_delivery(&h('1'), "【安家】新上架", sms.delivery.id, T0)
        .await
        .unwrap();
    assert_eq!(s1, s2);
    // The codes' outbox method is unchanged: no delivery, every call a message.
    store
        .insert_sms_outbox(&h('1'), "验证码 123456", T0)
        .await
        .unwrap();
    store
        .insert_sms_outbox(&h('1'), "验证码 123456", T0)
        .await
        .unwrap();
    assert_eq!(store.sms_outbox_for(&h('1')).await.unwrap().len(), 3);

    assert_eq!(
        store
            .email_outbox_delete_before(T0 + Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.email_outbox_for(&h('e')).await.unwrap().len(), 1);
}

async fn account_deletion_cascades(store: Store) {
    let ev = one_event(&store).await;
    let posting_id = id_of(&store, "m1").await;
    store
        .create_saved_search(&new_search(A1, "望京"), T0)
        .await
        .unwrap();
    store.follow(A1, posting_id, T0).await.unwrap();
    store.record_view(A1, posting_id, T0).await.unwrap();
    store
        .put_notification_settings(A1, &NotificationSettings::default(), T0)
        .await
        .unwrap();
    store
        .commit_matches(
            &[ev],
            &[
                notification(A1, ev, vec![delivery(Channel::InApp, T0)]),
                notification(A2, ev, vec![delivery(Channel::InApp, T0)]),
            ],
            T0,
        )
        .await
        .unwrap();
    for d in store.due_deliveries(T0, 10).await.unwrap() {
        store
            .insert_message_for_delivery(d.delivery.id, &msg("望京"), T0)
            .await
            .unwrap();
    }
    store
        .insert_system_message(A1, MessageCategory::System, &msg("通知"), T0)
        .await
        .unwrap();

    assert!(store.delete_account(A1).await.unwrap());
    assert!(store.saved_searches_of(A1).await.unwrap().is_empty());
    assert!(store.follows_of(A1).await.unwrap().is_empty());
    assert!(store.browsing_history(A1, 10).await.unwrap().is_empty());
    assert!(store.notifications_of(A1, 10).await.unwrap().is_empty());
    assert_eq!(store.count_messages(A1, false).await.unwrap(), 0);
    assert_eq!(
        store.notification_settings(A1).await.unwrap().updated_at,
        None
    );
    assert!(
        store
            .accounts_that_viewed(&[posting_id])
            .await
            .unwrap()
            .is_empty()
    );
    // The other account's data stays.
    assert_eq!(store.count_messages(A2, false).await.unwrap(), 1);
    assert_eq!(store.due_deliveries(T0, 10).await.unwrap().len(), 1);

    // Erasure that keeps the account row (a cancellation that keeps it): counted per table.
    store.follow(A2, posting_id, T0).await.unwrap();
    store.record_view(A2, posting_id, T0).await.unwrap();
    let e = store.erase_alert_data(A2).await.unwrap();
    assert_eq!(
        (
            e.saved_searches,
            e.follows,
            e.browsing_history,
            e.deliveries,
            e.notifications,
            e.messages,
            e.notification_settings
        ),
        (0, 1, 1, 1, 1, 1, 0)
    );
    assert_eq!(e.total(), 5);
    assert_eq!(store.count_messages(A2, false).await.unwrap(), 0);
    assert!(store.due_deliveries(T0, 10).await.unwrap().is_empty());
    assert!(store.follows_of(A2).await.unwrap().is_empty());
    assert_eq!(store.erase_alert_data(A2).await.unwrap().total(), 0);
    assert!(store.account(A2).await.unwrap().is_some());
}

async fn limits_hold_under_concurrent_requests(store: Store) {
    with_account(&store, A1, '1').await;
    let left = 5;
    for i in 0..MAX_SAVED_SEARCHES_PER_ACCOUNT - left {
        store
            .create_saved_search(&new_search(A1, &format!("条件{i}")), T0)
            .await
            .unwrap();
    }
    // 20 creations at once, interleaved at every await (and on PostgreSQL on separate
    // connections): exactly the 5 that fit succeed.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_saved_search(&new_search(A1, &format!("并发{i}")), T0)
                    .await
            })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::LimitReached { .. }) => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((ok, refused), (left, 20 - left));
    assert_eq!(
        store.count_saved_searches(A1).await.unwrap(),
        i64::from(MAX_SAVED_SEARCHES_PER_ACCOUNT)
    );

    // The same for follows, from 498.
    let ps: Vec<NewPosting> = (0..510)
        .map(|i| {
            posting(
                &format!("q{i}"),
                &format!("朝阳区团结湖{i}号"),
                Round::First,
                1_000_000,
            )
        })
        .collect();
    import(&store, &ps).await;
    let ids: Vec<i64> = store
        .postings_after(0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    for id in &ids[..498] {
        store.follow(A1, *id, T0).await.unwrap();
    }
    let tasks: Vec<_> = ids[498..]
        .iter()
        .map(|id| {
            let (store, id) = (store.clone(), *id);
            tokio::spawn(async move { store.follow(A1, id, T0).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(true) => ok += 1,
            Err(StoreError::LimitReached { .. }) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(ok, 2);
    assert_eq!(
        store.follows_of(A1).await.unwrap().len(),
        MAX_FOLLOWS_PER_ACCOUNT as usize
    );
}
