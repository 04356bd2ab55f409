//! Test servers: one per backend per test process, started on first use, serving the bundled data.

use anjia_search::SearchIndex;
use anjia_store::Store;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
}

impl TestServer {
    /// GET a path, returning status, content type and body.
    pub async fn get(&self, path: &str) -> (u16, String, String) {
        let r = client()
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ct, r.text().await.expect("body"))
    }

    /// GET a JSON document, asserting status 200.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        let (status, _, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path} on {}: {body}", self.backend);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e})"))
    }
}

/// An HTTP client for the calling test's runtime (a pooled connection must not outlive the runtime
/// that opened it, and every test has its own runtime).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client")
}

/// The repository's bundled data directory.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// Which storage backend.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL at 127.0.0.1:5432.
    Postgres,
}

/// The shared server of a backend; `None` only for PostgreSQL when it is unreachable outside CI.
pub fn server(backend: Backend) -> Option<&'static TestServer> {
    static SQLITE: OnceLock<Option<TestServer>> = OnceLock::new();
    static PG: OnceLock<Option<TestServer>> = OnceLock::new();
    let cell = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &PG,
    };
    cell.get_or_init(|| start(backend)).as_ref()
}

/// A fresh, migrated, empty store of the backend (`None` as for [`server`]).
pub async fn fresh_store(backend: Backend) -> Option<(Store, Box<dyn std::any::Any + Send>)> {
    match backend {
        Backend::Sqlite => {
            let (s, dir) = anjia_store::testing::fresh_sqlite().await;
            Some((s, Box::new(dir)))
        }
        Backend::Postgres => anjia_store::testing::fresh_postgres()
            .await
            .map(|s| (s, Box::new(()) as Box<dyn std::any::Any + Send>)),
    }
}

/// A fresh key vault of the backend (`None` as for [`server`]).
pub async fn fresh_vault(
    backend: Backend,
) -> Option<(anjia_store::KeyVault, Box<dyn std::any::Any + Send>)> {
    match backend {
        Backend::Sqlite => {
            let (v, dir) = anjia_store::testing::fresh_sqlite_vault().await;
            Some((v, Box::new(dir)))
        }
        Backend::Postgres => anjia_store::testing::fresh_postgres_vault()
            .await
            .map(|v| (v, Box::new(()) as Box<dyn std::any::Any + Send>)),
    }
}

/// The privacy service over a store and a fresh vault of the same backend, with a fresh key ring.
pub async fn privacy_for(
    backend: Backend,
    store: &Store,
) -> Option<(anjia_web::Privacy, Box<dyn std::any::Any + Send>)> {
    let (vault, guard) = fresh_vault(backend).await?;
    let keys = anjia_privacy::crypto::KeyRing::generate().expect("key ring");
    let p = anjia_web::Privacy::open(store.clone(), vault, keys, anjia_web::system_clock())
        .await
        .expect("privacy service opens");
    Some((p, guard))
}

fn start(backend: Backend) -> Option<TestServer> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let Some((store, guard)) = fresh_store(backend).await else {
                tx.send(None).ok();
                return;
            };
            let dir = tempfile::tempdir().expect("index dir");
            let index = SearchIndex::open_or_create(dir.path()).expect("index");
            anjia::prepare_store(&store, &index, Some(&data_dir()), false)
                .await
                .expect("bundled data imports");
            let (privacy, vault_guard) = privacy_for(backend, &store)
                .await
                .expect("a vault on the same backend");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind port 0");
            let base = format!("http://{}", listener.local_addr().expect("addr"));
            tx.send(Some(base)).ok();
            let files = tempfile::tempdir().expect("files dir");
            // Tests give each flow its own client address with X-Forwarded-For, so that the
            // per-address SMS limits of parallel tests do not meet.
            let accounts = anjia_web::accounts::Accounts::with_dev_outbox(
                privacy.clone(),
                anjia_web::accounts::AccountsConfig {
                    files_dir: files.path().to_path_buf(),
                    trust_forwarded_for: true,
                    ..anjia_web::accounts::AccountsConfig::default()
                },
            );
            let state = anjia_web::AppState::new(store, index, privacy).with_accounts(accounts);
            anjia_web::serve(listener, state, std::future::pending())
                .await
                .expect("server runs");
            drop((dir, guard, vault_guard, files));
        });
    });
    let base = rx.recv().expect("server thread started")?;
    Some(TestServer {
        base,
        backend: match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
    })
}

/// Defines, for each `async fn NAME(s: &'static TestServer)`, a module `NAME` with one test per backend.
#[macro_export]
macro_rules! both {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let s = $crate::support::server($crate::support::Backend::Sqlite)
                        .expect("the SQLite server starts");
                    super::$f(s).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::support::server($crate::support::Backend::Postgres) {
                        Some(s) => super::$f(s).await,
                        None => eprintln!("skipped: PostgreSQL is not reachable (set CI=true to fail instead)"),
                    }
                }
            }
        )*
    };
}

/// A clock tests move: a fixed start (10:00 Asia/Shanghai today, so that day windows do not roll
/// over during a test) plus an offset.
#[derive(Clone)]
pub struct TestClock {
    start: time::OffsetDateTime,
    offset_ms: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl TestClock {
    /// 10:00 in Shanghai on today's Shanghai date.
    pub fn new() -> TestClock {
        let now = time::OffsetDateTime::now_utc().to_offset(anjia_domain::china_time::SHANGHAI);
        let start = now
            .replace_time(time::macros::time!(10:00))
            .to_offset(time::UtcOffset::UTC);
        TestClock {
            start,
            offset_ms: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, d: time::Duration) {
        self.offset_ms.fetch_add(
            d.whole_milliseconds() as i64,
            std::sync::atomic::Ordering::SeqCst,
        );
    }

    /// "Now" of this clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.start
            + time::Duration::milliseconds(self.offset_ms.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// As the services' [`anjia_web::Clock`].
    pub fn clock(&self) -> anjia_web::Clock {
        let c = self.clone();
        std::sync::Arc::new(move || c.now())
    }
}

/// A server of its own for one test, started on the test's runtime: fresh storage of the
/// backend (no bundled lots), a [`TestClock`] for every service, a temporary files directory,
/// and `trust_forwarded_for` so the test chooses client addresses with `X-Forwarded-For`.
pub struct OwnServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The storage the server writes to.
    pub store: Store,
    /// The server's privacy service (its key ring computes blind indexes).
    pub privacy: anjia_web::Privacy,
    /// The server's clock.
    pub clock: TestClock,
    /// The files directory (avatars).
    pub files: tempfile::TempDir,
    _guards: Vec<Box<dyn std::any::Any + Send>>,
}

impl OwnServer {
    /// Starts one (`None`: PostgreSQL unreachable outside CI).
    pub async fn start(backend: Backend) -> Option<OwnServer> {
        let (store, g1) = fresh_store(backend).await?;
        let (vault, g2) = fresh_vault(backend).await?;
        let clock = TestClock::new();
        let keys = anjia_privacy::crypto::KeyRing::generate().expect("key ring");
        let privacy = anjia_web::Privacy::open(store.clone(), vault, keys, clock.clock())
            .await
            .expect("privacy service opens");
        let dir = tempfile::tempdir().expect("index dir");
        let index = SearchIndex::open_or_create(dir.path()).expect("index");
        let files = tempfile::tempdir().expect("files dir");
        let accounts = anjia_web::accounts::Accounts::with_dev_outbox(
            privacy.clone(),
            anjia_web::accounts::AccountsConfig {
                files_dir: files.path().to_path_buf(),
                trust_forwarded_for: true,
                ..anjia_web::accounts::AccountsConfig::default()
            },
        );
        let state = anjia_web::AppState::new(store.clone(), index, privacy.clone())
            .with_accounts(accounts)
            .with_clock(clock.clock());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = anjia_web::serve(listener, state, std::future::pending()).await;
        });
        Some(OwnServer {
            base,
            store,
            privacy,
            clock,
            files,
            _guards: vec![g1, g2, Box::new(dir)],
        })
    }

    /// The development outbox's messages for `phone`, newest first (read from storage by the
    /// number's blind index, as `anjia sms outbox` does — never from logs).
    pub async fn outbox(&self, phone: &str) -> Vec<String> {
        outbox_of(&self.store, &self.privacy, phone).await
    }
}

/// The development outbox's messages for `phone` in `store`, newest first.
pub async fn outbox_of(store: &Store, privacy: &anjia_web::Privacy, phone: &str) -> Vec<String> {
    let phone = anjia_privacy::pi::Phone::parse(phone).expect("a valid test number");
    let index = privacy.keys().blind_index().phone(&phone);
    store
        .sms_outbox_for(&index)
        .await
        .expect("outbox")
        .into_iter()
        .map(|(_, body, _)| body)
        .collect()
}

/// The 6-digit code in an SMS text.
pub fn code_in(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    for w in digits.windows(6) {
        if w.iter().all(|c| c.is_ascii_digit()) {
            return w.iter().collect();
        }
    }
    panic!("no code in the message");
}
