//! Benchmarks of the privacy mechanisms (divan). Run: `cargo bench -p anjia-privacy`.
//!
//! Sections: crypto (field encryption of a user record), audit (append and verify of 1,000,000
//! entries); the consent section is added below them.

#![allow(missing_docs)]

use std::sync::LazyLock;

use anjia_privacy::audit::{
    Actor, AuditChain, AuditEntry, AuditEvent, AuditKind, Checkpoint, Checkpointer, verify,
};
use anjia_privacy::crypto::{DataKey, FieldContext, KeyKind, KeyRing, Pseudonym};
use divan::Bencher;
use divan::counter::ItemsCount;
use ed25519_dalek::SigningKey;
use time::OffsetDateTime;

fn main() {
    divan::main();
}

// ===================================================================================== crypto ===

mod crypto {
    use super::*;

    const SUBJECT: &str = "0123456789abcdef0123456789abcdef";
    const TABLE: &str = "users";
    /// (column, plaintext) of one user record's sensitive fields.
    const RECORD: [(&str, &str); 5] = [
        ("phone", "13812345678"),
        ("real_name", "欧阳娜娜"),
        ("id_number", "11010519491231002X"),
        ("address", "北京市朝阳区建国路88号3号楼1201"),
        ("recipient_name", "张三"),
    ];

    struct Stored {
        ring: KeyRing,
        wrapped: Vec<u8>,
        sealed: Vec<Vec<u8>>,
    }

    static STORED: LazyLock<Stored> = LazyLock::new(|| {
        let ring = KeyRing::generate().expect("rng");
        let dk = DataKey::generate().expect("rng");
        let wrapped = ring.wrap(&dk, SUBJECT, KeyKind::Data).expect("wrap");
        let cipher = dk.cipher(1);
        let sealed = RECORD
            .iter()
            .map(|(col, v)| {
                cipher
                    .seal(&FieldContext::new(TABLE, col, SUBJECT), v.as_bytes())
                    .expect("seal")
            })
            .collect();
        Stored {
            ring,
            wrapped,
            sealed,
        }
    });

    /// Read path: unwrap the subject's data key, decrypt the five fields.
    #[divan::bench]
    fn open_user_record(bencher: Bencher) {
        let s = &*STORED;
        bencher.bench(|| {
            let dk = s
                .ring
                .unwrap(divan::black_box(&s.wrapped), SUBJECT, KeyKind::Data)
                .expect("unwrap");
            let cipher = dk.cipher(1);
            let mut total = 0;
            for ((col, _), ct) in RECORD.iter().zip(&s.sealed) {
                total += cipher
                    .open(&FieldContext::new(TABLE, col, SUBJECT), ct)
                    .expect("open")
                    .len();
            }
            total
        });
    }

    /// Write + read: unwrap the data key, encrypt the five fields, decrypt them again.
    #[divan::bench]
    fn seal_and_open_user_record(bencher: Bencher) {
        let s = &*STORED;
        bencher.bench(|| {
            let dk = s
                .ring
                .unwrap(divan::black_box(&s.wrapped), SUBJECT, KeyKind::Data)
                .expect("unwrap");
            let cipher = dk.cipher(1);
            let mut total = 0;
            for (col, v) in RECORD {
                let ctx = FieldContext::new(TABLE, col, SUBJECT);
                let ct = cipher.seal(&ctx, v.as_bytes()).expect("seal");
                total += cipher.open(&ctx, &ct).expect("open").len();
            }
            total
        });
    }

    /// A new subject: generate and wrap a data key, derive the pseudonym.
    #[divan::bench]
    fn new_subject_key(bencher: Bencher) {
        let s = &*STORED;
        bencher.bench(|| {
            let dk = DataKey::generate().expect("rng");
            (
                s.ring.wrap(&dk, SUBJECT, KeyKind::Data).expect("wrap"),
                dk.pseudonym(),
            )
        });
    }
}

// ====================================================================================== audit ===

mod audit {
    use super::*;

    const N: usize = 1_000_000;

    fn signing_key() -> SigningKey {
        SigningKey::from_bytes(&[42u8; 32])
    }

    static PSEUDONYMS: LazyLock<Vec<Pseudonym>> = LazyLock::new(|| {
        (0..1_000)
            .map(|_| DataKey::generate().expect("rng").pseudonym())
            .collect()
    });

    /// A realistic event: staff unmask with purpose and small details.
    fn event(i: usize) -> AuditEvent {
        AuditEvent::new(
            AuditKind::StaffUnmask,
            Actor::Staff(format!("staff-{}", i % 17)),
        )
        .subject(PSEUDONYMS[i % PSEUDONYMS.len()].clone())
        .purpose("customer service ticket")
        .details(serde_json::json!({"fields": ["phone", "address"], "ticket": i}))
    }

    fn events() -> Vec<AuditEvent> {
        (0..N).map(event).collect()
    }

    static LOG: LazyLock<(Vec<AuditEntry>, Vec<Checkpoint>)> = LazyLock::new(|| {
        let cp = Checkpointer::new(signing_key(), Checkpointer::DEFAULT_EVERY);
        let mut chain = AuditChain::new();
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut entries = Vec::with_capacity(N);
        let mut cps = Vec::new();
        for (i, e) in events().into_iter().enumerate() {
            let entry = chain.append(e, t0 + time::Duration::milliseconds(i as i64));
            cps.extend(cp.after_append(&entry));
            entries.push(entry);
        }
        (entries, cps)
    });

    /// Append 1,000,000 events (hash each; a signed checkpoint every 10,000).
    #[divan::bench(sample_count = 5, sample_size = 1)]
    fn append_1m(bencher: Bencher) {
        let cp = Checkpointer::new(signing_key(), Checkpointer::DEFAULT_EVERY);
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        bencher
            .counter(ItemsCount::new(N))
            .with_inputs(events)
            .bench_values(|events| {
                let mut chain = AuditChain::new();
                let mut out = Vec::with_capacity(N);
                let mut cps = Vec::new();
                for (i, e) in events.into_iter().enumerate() {
                    let entry = chain.append(e, t0 + time::Duration::milliseconds(i as i64));
                    cps.extend(cp.after_append(&entry));
                    out.push(entry);
                }
                (out, cps)
            });
    }

    /// Verify 1,000,000 entries and their 100 checkpoints.
    #[divan::bench(sample_count = 5, sample_size = 1)]
    fn verify_1m(bencher: Bencher) {
        let (entries, cps) = &*LOG;
        let vk = signing_key().verifying_key();
        bencher.counter(ItemsCount::new(N)).bench(|| {
            let r = verify(entries.iter(), cps, &vk).expect("intact");
            assert_eq!(r.entries, N as u64);
            r
        });
    }
}

// ==================================================================================== consent ===
// (benchmarks of consent folding go here)

// ==================================================================================== consent ===
// Owned by the consent/permissions module; target < 5 µs per check on the request path.

mod consent {
    use anjia_privacy::consent::{
        ConsentState, ExplicitAct, GeneralAcceptance, Purpose, SensitivePurpose, SeparateConsent,
        SubjectRef, Surface,
    };
    use anjia_privacy::permissions::{Feature, gate};
    use anjia_privacy::policy::PolicyDocument;
    use divan::Bencher;
    use std::sync::LazyLock;

    /// A subject who accepted the bundled policy, ticked three purposes and gave separate consent
    /// to the courier.
    static STATE: LazyLock<ConsentState> = LazyLock::new(|| {
        let doc = PolicyDocument::bundled().expect("bundled policy");
        let v = doc.latest();
        let at = v.effective_at() + time::Duration::days(1);
        let subject = SubjectRef::parse("0123456789abcdef0123456789abcdef").expect("subject");
        let ticked = [Purpose::Camera, Purpose::Notifications, Purpose::Location];
        let mut events = GeneralAcceptance::new(v, &ticked, Surface::App, at)
            .expect("acceptance")
            .events(&subject);
        let courier = SensitivePurpose::ThirdPartyProvision("courier".into());
        let act =
            ExplicitAct::from_confirmation(&courier, &courier.confirmation_key(), Surface::App, at)
                .expect("act");
        events.push(
            SeparateConsent::given(courier, act)
                .expect("consent")
                .event(&subject, v)
                .expect("event"),
        );
        ConsentState::fold_with(&events, &doc)
    });

    /// One `is_granted` check of a fixed purpose (the request-path check).
    #[divan::bench]
    fn consent_check(bencher: Bencher) {
        let state = &*STATE;
        let purpose = Purpose::Location;
        bencher.bench(|| divan::black_box(state).is_granted(divan::black_box(&purpose)));
    }

    /// One `is_granted` check of a third-party provision purpose.
    #[divan::bench]
    fn consent_check_third_party(bencher: Bencher) {
        let state = &*STATE;
        let purpose = Purpose::ThirdPartyProvision("courier".into());
        bencher.bench(|| divan::black_box(state).is_granted(divan::black_box(&purpose)));
    }

    /// One permission gate of a location feature.
    #[divan::bench]
    fn permission_gate(bencher: Bencher) {
        let state = &*STATE;
        bencher.bench(|| {
            gate(
                divan::black_box(Feature::NearbyLots),
                divan::black_box(state),
            )
            .is_ok()
        });
    }
}
