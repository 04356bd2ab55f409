//! PRV-20 canary test: canary identities — a checksum-valid resident ID number, a mainland mobile
//! number, a real name of rare characters, a street address and WGS-84 coordinates in Beijing —
//! are sent through every surface the server has (search API and page, facets, lot pages, the
//! consent API and form, nearby with and without the location grant, the privacy pages, and bad
//! requests carrying them in query values, path segments, headers, cookies and JSON bodies). Then
//! every log line the test binary emitted at TRACE level (server, stores, search — captured by one
//! global subscriber writing into memory), every response header and every response body is
//! scanned for each canary and its variants (the digits a mask hides, full-width digits,
//! percent-encoding, JSON `\u` escapes): zero hits.
//!
//! The one thing a response may carry back is what the caller typed into the search box, on the
//! successful search answer to that same request (the page's search field, the API's
//! `interpretation`), and the caller's own search history on `/api/v1/search-history`: that is
//! the function, not a leak. Error bodies never may, nor any header, nor any log line.
//!
//! There are no metrics yet (no `/metrics`, no exporter); `/metrics` is probed as a path and
//! must answer 404 without echoing. When metrics are added, scan them here.
//!
//! The journeys run on the shared test server of each backend; `raw_scan` runs them on a server
//! of its own ([`CanaryEnv`]: its own SQLite files or PostgreSQL databases) to read the files and
//! dump the tables afterwards.

use crate::both;
use crate::support::{Backend, OwnServer, TestClock, TestServer, code_in, data_dir, outbox_of};
use anjia_search::SearchIndex;
use anjia_store::Store;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

// ---- the canaries ------------------------------------------------------------------------------

/// A real name: a rare real surname (禤) and two rare given-name characters; none of the three
/// occurs in the bundled data.
pub(crate) const NAME: &str = "禤燊龢";
/// A mainland mobile number, `1[3-9]` + 9 digits.
pub(crate) const PHONE: &str = "17725839146";
/// A street address in Beijing (朝阳区 keeps its administrative part when masked).
pub(crate) const ADDRESS: &str = "北京市朝阳区霞光里鼐园路73号院4号楼2单元1103室";
/// WGS-84 longitude in Beijing (朝阳区), 6 decimals.
pub(crate) const LNG: &str = "116.458731";
/// WGS-84 latitude in Beijing (朝阳区), 6 decimals.
pub(crate) const LAT: &str = "39.927164";

/// The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID number.
fn check_char(body17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// The canary resident ID number: address code 110105 (北京市朝阳区), born 1987-03-14, sequence
/// 217 (odd: male), check character by MOD 11-2.
pub(crate) fn id_number() -> String {
    let body = "11010519870314217";
    format!("{body}{}", check_char(body))
}

/// One canary identity: a label (safe to print anywhere) and its value.
#[derive(Clone, Debug)]
pub(crate) struct Canary {
    pub label: &'static str,
    pub value: String,
}

/// The canaries, each a value that occurs nowhere else.
pub(crate) fn canaries() -> Vec<Canary> {
    let c = |label, value: &str| Canary {
        label,
        value: value.to_string(),
    };
    vec![
        c("phone", PHONE),
        c("id_number", &id_number()),
        c("name", NAME),
        c("address", ADDRESS),
        c("longitude", LNG),
        c("latitude", LAT),
    ]
}

/// A string to look for, and what it is (printable: never the canary itself).
#[derive(Clone, Debug)]
pub(crate) struct Needle {
    pub what: String,
    pub text: String,
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Percent-encodes every byte that is not unreserved (RFC 3986), upper-case hex.
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn json_escaped(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut buf = [0u16; 2];
                c.encode_utf16(&mut buf)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect()
}

/// The plaintext forms of the canaries that must be stored nowhere (phone, ID number, name,
/// address and the parts their masks hide; the coordinates). Used by the raw database scan.
pub(crate) fn plaintext_needles() -> Vec<Needle> {
    let id = id_number();
    let mut v: Vec<Needle> = canaries()
        .into_iter()
        .map(|c| Needle {
            what: c.label.to_string(),
            text: c.value,
        })
        .collect();
    let hidden = [
        // What `mask_id_number` hides: everything but the first and last character.
        (
            "id_number (the 16 characters its mask hides)",
            id[1..17].to_string(),
        ),
        // What `mask_real_name` hides: the given name.
        (
            "name (the given name its mask hides)",
            NAME.chars().skip(1).collect(),
        ),
        // What `mask_address` hides: everything after 北京市朝阳区.
        (
            "address (the part its mask hides)",
            ADDRESS.chars().skip(6).collect(),
        ),
        // `mask_phone` hides 4 digits (177****9146): too short to search for without false hits,
        // so look for the hidden digits together with either visible part.
        (
            "phone (prefix + digits its mask hides)",
            PHONE[..7].to_string(),
        ),
        (
            "phone (digits its mask hides + suffix)",
            PHONE[3..].to_string(),
        ),
    ];
    for (what, text) in hidden {
        v.push(Needle {
            what: what.to_string(),
            text,
        });
    }
    v
}

/// Every form of every canary to look for in logs, headers and bodies: the plaintext forms and
/// their full-width, percent-encoded (upper and lower case) and JSON-escaped variants.
pub(crate) fn all_needles() -> Vec<Needle> {
    let mut out = Vec::new();
    for n in plaintext_needles() {
        let variants = [
            ("", n.text.clone()),
            (", full-width", full_width(&n.text)),
            (", percent-encoded", enc(&n.text)),
            (", percent-encoded lower case", enc(&n.text).to_lowercase()),
            (", JSON-escaped", json_escaped(&n.text)),
        ];
        for (suffix, text) in variants {
            if out.iter().any(|o: &Needle| o.text == text) {
                continue;
            }
            out.push(Needle {
                what: format!("{}{suffix}", n.what),
                text,
            });
        }
    }
    out
}

/// `text` with every needle replaced by `<canary:what>`, to print a hit without repeating it.
pub(crate) fn redact(text: &str, needles: &[Needle]) -> String {
    let mut t = text.to_string();
    // Longest first, so that a part is not replaced inside a whole.
    let mut ns: Vec<&Needle> = needles.iter().collect();
    ns.sort_by_key(|n| std::cmp::Reverse(n.text.len()));
    for n in ns {
        t = t.replace(&n.text, &format!("<canary:{}>", n.what));
    }
    t
}

// ---- log capture -------------------------------------------------------------------------------

/// Everything the test binary logs once [`captured_logs`] was first called.
#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_buffer() -> &'static LogBuffer {
    static BUF: OnceLock<LogBuffer> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = LogBuffer(Arc::new(Mutex::new(Vec::new())));
        let writer = buf.clone();
        // One global subscriber for the whole test binary, at TRACE for every crate (the binary
        // itself installs none: `anjia::main` does, and tests do not run it). `log` records
        // (tantivy, …) are bridged too. If someone else installed a global subscriber first this
        // fails, and the probe in `start_capture` makes the canary test fail rather than pass
        // on an empty buffer.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_target(true)
            .try_init();
        buf
    })
}

/// Installs the capture (once per binary) and checks that it works.
pub(crate) fn start_capture() {
    let buf = log_buffer();
    let probe = format!("canary-capture-probe-{}", std::process::id());
    tracing::debug!(target: "anjia_canary_probe", "{probe}");
    let text =
        String::from_utf8_lossy(&buf.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(
        text.contains(&probe),
        "the log capture does not receive DEBUG events: another global subscriber was installed first"
    );
}

/// A copy of everything captured so far.
pub(crate) fn captured_logs() -> String {
    let buf = log_buffer();
    String::from_utf8_lossy(&buf.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

// ---- a server of its own -----------------------------------------------------------------------

/// The maintenance database URL of the test PostgreSQL (as `anjia_store::testing` uses it).
fn pg_maintenance_url() -> String {
    std::env::var(anjia_store::testing::PG_URL_VAR)
        .unwrap_or_else(|_| anjia_store::testing::DEFAULT_PG_URL.to_string())
}

fn pg_url_of(db: &str) -> String {
    let base = pg_maintenance_url();
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h.to_string(), Some(q.to_string())),
        None => (base.clone(), None),
    };
    let head = match head.rfind('/') {
        Some(i) if i > head.find("://").map_or(0, |j| j + 2) => head[..i].to_string(),
        _ => head,
    };
    match query {
        Some(q) => format!("{head}/{db}?{q}"),
        None => format!("{head}/{db}"),
    }
}

/// PostgreSQL databases made for one test, dropped (with `FORCE`) when this is dropped.
pub(crate) struct PgDatabases {
    pub names: Vec<String>,
}

impl Drop for PgDatabases {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.names);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = Store::connect(&pg_maintenance_url()).await {
                    for n in names {
                        let sql = format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)");
                        let _ = anjia_store::testing::execute_raw(&admin, &sql).await;
                    }
                }
            });
        })
        .join();
    }
}

/// Creates two PostgreSQL databases (main, vault); `None` when PostgreSQL is unreachable outside
/// CI (a notice is printed), a panic under `CI=true`.
async fn pg_databases() -> Option<(String, String, PgDatabases)> {
    let admin = match tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let s = Store::connect(&pg_maintenance_url()).await?;
        s.ping().await.map(|()| s)
    })
    .await
    {
        Ok(Ok(s)) => s,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_string(),
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is unreachable ({why}) and CI=true"
            );
            eprintln!("skipped: PostgreSQL is not reachable ({why}); set CI=true to fail instead");
            return None;
        }
    };
    let tag: u64 = rand_u64();
    let main = format!("anjia_canary_{tag:016x}");
    let vault = format!("anjia_canary_{tag:016x}_keys");
    let guard = PgDatabases {
        names: vec![main.clone(), vault.clone()],
    };
    for n in &guard.names {
        anjia_store::testing::execute_raw(&admin, &format!("CREATE DATABASE {n}"))
            .await
            .expect("create a canary database");
    }
    Some((pg_url_of(&main), pg_url_of(&vault), guard))
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A running server of one backend with its own storage, for the canary journeys.
pub(crate) struct CanaryEnv {
    pub base: String,
    pub store: Store,
    /// The server's privacy service (blind indexes for reading the SMS outbox).
    pub privacy: anjia_web::Privacy,
    /// The server's clock (the account journeys move it past the resend interval).
    pub clock: TestClock,
    _files: tempfile::TempDir,
    /// URL of the key vault database (open a `Store` on it to scan it).
    pub vault_url: String,
    /// SQLite: the directory holding `anjia.db` and `keys.db`.
    pub sqlite_dir: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _index_dir: tempfile::TempDir,
    pg: Option<PgDatabases>,
}

impl CanaryEnv {
    /// Starts the server (`None`: PostgreSQL unreachable outside CI).
    pub(crate) async fn start(backend: Backend) -> Option<CanaryEnv> {
        start_capture();
        let (main_url, vault_url, sqlite_dir, pg) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                (
                    format!("sqlite://{}", dir.path().join("anjia.db").display()),
                    format!("sqlite://{}", dir.path().join("keys.db").display()),
                    Some(dir),
                    None,
                )
            }
            Backend::Postgres => {
                let (m, v, guard) = pg_databases().await?;
                (m, v, None, Some(guard))
            }
        };
        let store = Store::connect(&main_url).await.expect("open the store");
        store.migrate().await.expect("migrate the store");
        let vault = anjia_store::KeyVault::connect(&vault_url)
            .await
            .expect("open the vault");
        vault.migrate().await.expect("migrate the vault");
        let index_dir = tempfile::tempdir().expect("index dir");
        let index = SearchIndex::open_or_create(index_dir.path()).expect("index");
        anjia::prepare_store(&store, &index, Some(&data_dir()), false)
            .await
            .expect("bundled data imports");
        let keys = anjia_privacy::crypto::KeyRing::generate().expect("key ring");
        let clock = TestClock::new();
        let privacy = anjia_web::Privacy::open(store.clone(), vault, keys, clock.clock())
            .await
            .expect("privacy service opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
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
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            anjia_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        Some(CanaryEnv {
            base,
            store,
            privacy,
            clock,
            _files: files,
            vault_url,
            sqlite_dir,
            shutdown: Some(tx),
            server: Some(server),
            _index_dir: index_dir,
            pg,
        })
    }

    /// Stops the server (its connections are closed before the databases are dropped).
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), h).await;
        }
        let pg = self.pg.take();
        drop(self);
        drop(pg);
    }
}

// ---- the journeys ------------------------------------------------------------------------------

/// One request and its answer.
pub(crate) struct Exchange {
    /// What was sent (labels only, never a canary value).
    pub step: String,
    pub status: u16,
    /// Every response header, `name: value` per line.
    pub headers: String,
    pub body: String,
    /// A successful answer to this request may show the caller what they typed (search) or their
    /// own search history.
    pub echo_ok: bool,
}

/// Drives requests and records every answer.
pub(crate) struct Journey {
    base: String,
    client: reqwest::Client,
    pub exchanges: Vec<Exchange>,
}

/// Who sends a request.
#[derive(Clone, Copy)]
pub(crate) enum As<'a> {
    /// No subject.
    Nobody,
    /// `X-Anjia-Subject: <id>`.
    Header(&'a str),
    /// `Cookie: anjia_subject=<id>`.
    Cookie(&'a str),
}

fn hv(s: &str) -> HeaderValue {
    // Header values may carry UTF-8 bytes (obs-text): clients do send them.
    HeaderValue::from_bytes(s.as_bytes()).expect("header value")
}

impl Journey {
    pub(crate) fn new(base: &str) -> Journey {
        Journey {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
            exchanges: Vec::new(),
        }
    }

    /// Sends `method path` (`path` already encoded) with a body and extra headers; records the
    /// answer under `step`. (One flat call per request keeps the journey readable as a list.)
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send(
        &mut self,
        step: &str,
        echo_ok: bool,
        who: As<'_>,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, String)>,
        extra: &[(&str, String)],
    ) -> (u16, String, HeaderMap) {
        let mut headers = HeaderMap::new();
        match who {
            As::Nobody => {}
            As::Header(id) => {
                headers.insert("x-anjia-subject", hv(id));
            }
            As::Cookie(id) => {
                headers.insert("cookie", hv(&format!("anjia_subject={id}")));
            }
        }
        for (k, v) in extra {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("header name");
            headers.insert(name, hv(v));
        }
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .headers(headers);
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{step}: request failed: {e}"));
        let status = resp.status().as_u16();
        let h = resp.headers().clone();
        let headers_text: String = h
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let body = resp.text().await.unwrap_or_default();
        self.exchanges.push(Exchange {
            step: format!("{method} {step}"),
            status,
            headers: headers_text,
            body: body.clone(),
            echo_ok,
        });
        (status, body, h)
    }

    pub(crate) async fn get(
        &mut self,
        step: &str,
        echo_ok: bool,
        who: As<'_>,
        path: &str,
    ) -> (u16, String) {
        let (s, b, _) = self
            .send(step, echo_ok, who, reqwest::Method::GET, path, None, &[])
            .await;
        (s, b)
    }
}

/// The policy version in force (what a client accepts).
pub(crate) fn current_version() -> String {
    let doc = anjia_privacy::policy::PolicyDocument::bundled().expect("bundled policy");
    let now = time::OffsetDateTime::now_utc();
    doc.current(now)
        .unwrap_or(&doc.history()[0])
        .version()
        .to_string()
}

/// The subjects the journeys made.
pub(crate) struct Subjects {
    /// Accepted over the API with search history, usage analytics and location granted.
    pub api: String,
    /// Accepted with the web form with search history and usage analytics granted (cookie).
    pub web: String,
}

/// Sends every canary through every surface; returns the journey (all exchanges) and the
/// subjects it made.
pub(crate) async fn run_journeys(base: &str) -> (Journey, Subjects) {
    let mut j = Journey::new(base);
    let v = current_version();
    let cs = canaries();
    let combined = cs
        .iter()
        .map(|c| c.value.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut searches: Vec<(String, String)> = cs
        .iter()
        .map(|c| (c.label.to_string(), c.value.clone()))
        .collect();
    searches.push(("all canaries".to_string(), combined.clone()));
    let json_ct = "application/json";
    let form_ct = "application/x-www-form-urlencoded";

    // -- subjects: accepting the policy (with canaries in the User-Agent and an unknown form field)
    let (status, body, _) = j
        .send(
            "/api/v1/consents accept + grants (User-Agent: <name>)",
            false,
            As::Nobody,
            reqwest::Method::POST,
            "/api/v1/consents",
            Some((
                json_ct,
                json!({
                    "accept_policy_version": v,
                    "grant": ["search_history", "usage_analytics", "location"]
                })
                .to_string(),
            )),
            &[("user-agent", NAME.to_string())],
        )
        .await;
    assert_eq!(status, 200, "accepting over the API: {body}");
    let api_subject = serde_json::from_str::<Value>(&body).expect("JSON")["subject"]
        .as_str()
        .expect("a subject is issued")
        .to_string();
    let (status, body, h) = j
        .send(
            "/privacy/consent accept + grants, unknown fields name=<name>&phone=<phone>",
            false,
            As::Nobody,
            reqwest::Method::POST,
            "/privacy/consent",
            Some((
                form_ct,
                format!(
                    "action=accept&purpose=search_history&purpose=usage_analytics&name={}&phone={}&address={}",
                    enc(NAME),
                    PHONE,
                    enc(ADDRESS)
                ),
            )),
            &[("user-agent", format!("Mozilla/5.0 ({PHONE})"))],
        )
        .await;
    assert_eq!(status, 303, "accepting with the form: {body}");
    let cookie = h
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("anjia_subject=")
                .map(|r| r.split(';').next().unwrap_or("").to_string())
        })
        .expect("the form acceptance issues the cookie");
    let api = As::Header(&api_subject);
    let web = As::Cookie(&cookie);

    // -- search: API (as the API subject and as nobody), page (cookie), facets
    for (label, value) in &searches {
        let q = enc(value);
        j.get(
            &format!("/api/v1/listings?q=<{label}>"),
            true,
            api,
            &format!("/api/v1/listings?q={q}"),
        )
        .await;
        j.get(
            &format!("/api/v1/listings?q=<{label}> (no subject)"),
            true,
            As::Nobody,
            &format!("/api/v1/listings?q={q}&per_page=5"),
        )
        .await;
        j.get(&format!("/?q=<{label}>"), true, web, &format!("/?q={q}"))
            .await;
        j.get(
            &format!("/?q=<{label}> (no subject)"),
            true,
            As::Nobody,
            &format!("/?q={q}&sort=price_asc"),
        )
        .await;
        j.get(
            &format!("/api/v1/facets?q=<{label}>"),
            false,
            api,
            &format!("/api/v1/facets?q={q}"),
        )
        .await;
    }
    // A real lot id for the lot pages.
    let (_, body) = j
        .get(
            "/api/v1/listings?per_page=1",
            false,
            As::Nobody,
            "/api/v1/listings?per_page=1",
        )
        .await;
    let lot_id = serde_json::from_str::<Value>(&body).expect("JSON")["items"][0]["id"]
        .as_i64()
        .expect("a lot");

    // -- every canary as a bad value, a path segment, a header, a cookie, a JSON field
    for c in &cs {
        let (label, e) = (c.label, enc(&c.value));
        let bad_params = [
            "region",
            "type",
            "round",
            "status",
            "sort",
            "price_min",
            "price_max",
            "discount_min",
            "area_min",
            "start_from",
            "start_to",
            "page",
            "per_page",
            "name",
            "phone",
        ];
        for p in bad_params {
            // A value that happens to be valid (a coordinate is a fine `area_min`) is answered with
            // results, and the search form shows it back: `echo_ok` (error bodies never may).
            j.get(
                &format!("/api/v1/listings?{p}=<{label}>"),
                true,
                api,
                &format!("/api/v1/listings?{p}={e}"),
            )
            .await;
            j.get(
                &format!("/?{p}=<{label}>"),
                true,
                web,
                &format!("/?{p}={e}"),
            )
            .await;
            j.get(
                &format!("/api/v1/facets?{p}=<{label}>"),
                false,
                As::Nobody,
                &format!("/api/v1/facets?{p}={e}"),
            )
            .await;
        }
        // The canary pasted after `?` with no name (it becomes a parameter name).
        j.get(
            &format!("/api/v1/listings?<{label}>"),
            false,
            api,
            &format!("/api/v1/listings?{e}"),
        )
        .await;
        j.get(&format!("/?<{label}>"), false, web, &format!("/?{e}"))
            .await;
        j.get(
            &format!("/api/v1/nearby?<{label}>"),
            false,
            api,
            &format!("/api/v1/nearby?{e}"),
        )
        .await;
        // Too long a query, made of the canary.
        let long = enc(&c.value.repeat(220 / c.value.chars().count() + 1));
        j.get(
            &format!("/api/v1/listings?q=<{label} repeated past 200 characters>"),
            false,
            api,
            &format!("/api/v1/listings?q={long}"),
        )
        .await;
        j.get(
            &format!("/?q=<{label} repeated past 200 characters>"),
            false,
            web,
            &format!("/?q={long}"),
        )
        .await;
        // Path segments.
        for (step, path) in [
            ("/lots/<c>", format!("/lots/{e}")),
            ("/lots/<c>/x", format!("/lots/{e}/x")),
            ("/api/v1/listings/<c>", format!("/api/v1/listings/{e}")),
            ("/<c>", format!("/{e}")),
            ("/api/v1/<c>", format!("/api/v1/{e}")),
            ("/privacy/versions/<c>", format!("/privacy/versions/{e}")),
            ("/static/<c>", format!("/static/{e}")),
            ("/metrics?x=<c>", format!("/metrics?x={e}")),
            ("/lots/{id}?ref=<c>", format!("/lots/{lot_id}?ref={e}")),
            (
                "/api/v1/listings/{id}?ref=<c>",
                format!("/api/v1/listings/{lot_id}?ref={e}"),
            ),
            ("/privacy?from=<c>", format!("/privacy?from={e}")),
            (
                "/privacy/consent?done=<c>",
                format!("/privacy/consent?done={e}"),
            ),
            (
                "/api/v1/privacy/policy?v=<c>",
                format!("/api/v1/privacy/policy?v={e}"),
            ),
            ("/staff/roles?u=<c>", format!("/staff/roles?u={e}")),
            ("/api/v1/health?x=<c>", format!("/api/v1/health?x={e}")),
        ] {
            j.get(
                &step.replace("<c>", &format!("<{label}>")),
                false,
                web,
                &path,
            )
            .await;
        }
        // Headers and cookies.
        let headers = [
            ("x-anjia-subject", c.value.clone()),
            ("user-agent", c.value.clone()),
            ("referer", format!("http://example.com/?q={e}")),
            ("x-forwarded-for", c.value.clone()),
            ("accept-language", c.value.clone()),
            (
                "cookie",
                format!("anjia_subject={}; name={}", c.value, c.value),
            ),
        ];
        for (h, val) in &headers {
            for path in [
                "/api/v1/listings?q=%E6%9C%9D%E9%98%B3".to_string(),
                "/".to_string(),
                format!("/lots/{lot_id}"),
                "/api/v1/consents".to_string(),
                "/api/v1/search-history".to_string(),
                "/privacy/consent".to_string(),
                "/nearby".to_string(),
                "/api/v1/nearby?lng=116.4&lat=39.9".to_string(),
            ] {
                j.send(
                    &format!("{path} ({h}: <{label}>)"),
                    false,
                    As::Nobody,
                    reqwest::Method::GET,
                    &path,
                    None,
                    &[(h, val.clone())],
                )
                .await;
            }
        }
        // JSON bodies: unknown fields, wrong types, unknown purposes, a stale version, broken JSON.
        let bodies = [
            (
                "unknown field name=<c>",
                json!({"accept_policy_version": v, "name": c.value}).to_string(),
                As::Nobody,
            ),
            (
                "unknown field name=<c> (subject)",
                json!({"grant": [], "phone": c.value}).to_string(),
                api,
            ),
            (
                "accept_policy_version=<c>",
                json!({"accept_policy_version": c.value}).to_string(),
                As::Nobody,
            ),
            ("grant=[<c>]", json!({"grant": [c.value]}).to_string(), api),
            (
                "withdraw=[<c>]",
                json!({"withdraw": [c.value]}).to_string(),
                api,
            ),
            (
                "grant=<c> (a string, not a list)",
                json!({"grant": c.value}).to_string(),
                api,
            ),
            (
                "accept_policy_version=[<c>] (a list)",
                json!({"accept_policy_version": [c.value]}).to_string(),
                As::Nobody,
            ),
            (
                "broken JSON with <c>",
                format!("{{\"grant\": [\"{}", c.value),
                api,
            ),
            ("<c> as the whole body", c.value.clone(), api),
        ];
        for (step, body, who) in bodies {
            j.send(
                &format!(
                    "/api/v1/consents {}",
                    step.replace("<c>", &format!("<{label}>"))
                ),
                false,
                who,
                reqwest::Method::POST,
                "/api/v1/consents",
                Some((json_ct, body)),
                &[],
            )
            .await;
        }
        j.send(
            &format!("/api/v1/consents text/plain <{label}>"),
            false,
            api,
            reqwest::Method::POST,
            "/api/v1/consents",
            Some(("text/plain", c.value.clone())),
            &[],
        )
        .await;
        // The consent form with the canary in every field.
        for (step, body, who) in [
            ("action=<c>", format!("action={e}"), web),
            (
                "action=grant&purpose=<c>",
                format!("action=grant&purpose={e}"),
                web,
            ),
            (
                "action=withdraw&purpose=<c>",
                format!("action=withdraw&purpose={e}"),
                web,
            ),
            (
                "action=accept&purpose=<c> (no subject)",
                format!("action=accept&purpose={e}"),
                As::Nobody,
            ),
            (
                "action=grant&purpose=<c> (no subject)",
                format!("action=grant&purpose={e}"),
                As::Nobody,
            ),
            ("<c> as the whole body", e.clone(), web),
        ] {
            j.send(
                &format!(
                    "/privacy/consent {}",
                    step.replace("<c>", &format!("<{label}>"))
                ),
                false,
                who,
                reqwest::Method::POST,
                "/privacy/consent",
                Some((form_ct, body)),
                &[],
            )
            .await;
        }
        // Methods the site does not have, with the canary in the body.
        let lot_path = format!("/lots/{lot_id}");
        for (m, path) in [
            (reqwest::Method::PUT, "/api/v1/listings"),
            (reqwest::Method::DELETE, "/api/v1/consents"),
            (reqwest::Method::POST, "/"),
            (reqwest::Method::PATCH, lot_path.as_str()),
        ] {
            j.send(
                &format!("{path} (body <{label}>)"),
                false,
                api,
                m,
                path,
                Some((json_ct, json!({"q": c.value}).to_string())),
                &[],
            )
            .await;
        }
        // Nearby with the canary as a parameter value (as nobody the gate answers first).
        for who in [api, As::Nobody] {
            for p in ["crs", "lng", "lat", "page", "per_page", "name"] {
                j.get(
                    &format!("/api/v1/nearby?{p}=<{label}>"),
                    false,
                    who,
                    &format!("/api/v1/nearby?lng={LNG}&lat={LAT}&{p}={e}"),
                )
                .await;
            }
            j.send(
                &format!("/nearby form crs=<{label}>&name=<{label}>"),
                false,
                who,
                reqwest::Method::POST,
                "/nearby",
                Some((form_ct, format!("lng={LNG}&lat={LAT}&crs={e}&name={e}"))),
                &[],
            )
            .await;
        }
    }

    // -- nearby with the canary coordinates: without the grant (nobody, the web subject), with it
    for (who, what) in [
        (As::Nobody, "no subject"),
        (web, "no location grant"),
        (api, "location granted"),
    ] {
        for crs in ["wgs84", "gcj02", "bd09"] {
            j.get(
                &format!("/api/v1/nearby?lng=<lng>&lat=<lat>&crs={crs} ({what})"),
                false,
                who,
                &format!("/api/v1/nearby?lng={LNG}&lat={LAT}&crs={crs}"),
            )
            .await;
        }
        j.get(&format!("/nearby ({what})"), false, who, "/nearby")
            .await;
        j.send(
            &format!("/nearby form lng=<lng>&lat=<lat> ({what})"),
            false,
            who,
            reqwest::Method::POST,
            "/nearby",
            Some((form_ct, format!("lng={LNG}&lat={LAT}&crs=wgs84"))),
            &[],
        )
        .await;
    }

    // -- valuation and market prices with the canary coordinates, with and without the grant
    for (who, what) in [
        (As::Nobody, "no subject"),
        (web, "no location grant"),
        (api, "location granted"),
    ] {
        j.send(
            &format!("POST /api/v1/valuations location=<lng,lat> ({what})"),
            false,
            who,
            reqwest::Method::POST,
            "/api/v1/valuations",
            Some((
                json_ct,
                format!(
                    r#"{{"location":{{"lng":{LNG},"lat":{LAT},"crs":"wgs84"}},"area_m2":88.5,"as_of":"2017-06-01"}}"#
                ),
            )),
            &[],
        )
        .await;
        j.get(
            &format!("/api/v1/market/prices?lng=<lng>&lat=<lat> ({what})"),
            false,
            who,
            &format!("/api/v1/market/prices?lng={LNG}&lat={LAT}&as_of=2017-06-01"),
        )
        .await;
        j.send(
            &format!("/valuation form lng=<lng>&lat=<lat> ({what})"),
            false,
            who,
            reqwest::Method::POST,
            "/valuation",
            Some((
                form_ct,
                format!("lng={LNG}&lat={LAT}&crs=wgs84&area_m2=88.5&as_of=2017-06-01"),
            )),
            &[],
        )
        .await;
    }

    // -- the caller's own pages: consents (state and history), search history, the policy
    for (who, what) in [(api, "API subject"), (web, "web subject")] {
        j.get(
            &format!("/api/v1/consents ({what})"),
            false,
            who,
            "/api/v1/consents",
        )
        .await;
        j.get(
            &format!("/privacy/consent ({what})"),
            false,
            who,
            "/privacy/consent",
        )
        .await;
        // The caller's own search history is theirs to read back.
        j.get(
            &format!("/api/v1/search-history ({what})"),
            true,
            who,
            "/api/v1/search-history",
        )
        .await;
    }
    j.get("/privacy", false, web, "/privacy").await;
    j.get(
        "/api/v1/privacy/policy",
        false,
        api,
        "/api/v1/privacy/policy",
    )
    .await;
    j.get("/api/v1/openapi.json", false, api, "/api/v1/openapi.json")
        .await;
    j.get("/api/v1/health", false, api, "/api/v1/health").await;
    j.get(
        &format!("/lots/{lot_id}"),
        false,
        web,
        &format!("/lots/{lot_id}"),
    )
    .await;
    j.get(
        &format!("/api/v1/listings/{lot_id}"),
        false,
        api,
        &format!("/api/v1/listings/{lot_id}"),
    )
    .await;
    (
        j,
        Subjects {
            api: api_subject,
            web: cookie,
        },
    )
}

// ---- the account journeys ----------------------------------------------------------------------

/// A server the account journeys run on: they read SMS codes from its development outbox (by the
/// number's blind index) and move its clock past the 1-per-minute resend interval.
pub(crate) struct AccountTarget<'a> {
    pub base: &'a str,
    pub store: &'a Store,
    pub privacy: &'a anjia_web::Privacy,
    pub clock: &'a TestClock,
}

fn set_cookie_of(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|r| r.split(';').next().unwrap_or("").to_string())
        })
}

/// Sends the canaries through every account surface (issue 3): the SMS-code, sign-in, password,
/// step-up, recovery, profile, session and phone-change endpoints and pages — the canary phone
/// as the account's number, the name and address in fields that are refused, hashed or never
/// stored (password, User-Agent, invalid nicknames, unknown fields), the ID number as a password
/// and as a bad number, every canary in cookies and bearer tokens. Returns the journey and every
/// code the development gateway sent (the codes are secrets too: see [`code_findings`]).
pub(crate) async fn run_account_journeys(t: AccountTarget<'_>) -> (Journey, Vec<String>) {
    let mut j = Journey::new(t.base);
    let json_ct = "application/json";
    let form_ct = "application/x-www-form-urlencoded";
    let post = reqwest::Method::POST;
    let ip = ("x-forwarded-for", "10.77.0.1".to_string());
    let latest = |phone: &'static str| async move {
        code_in(
            outbox_of(t.store, t.privacy, phone)
                .await
                .first()
                .expect("a message was sent"),
        )
    };
    let id = id_number();
    let body = |v: Value| Some((json_ct, v.to_string()));
    let bearer = |tok: &str| ("authorization", format!("Bearer {tok}"));

    // -- codes: the number in its forms, bad numbers, unknown fields
    let (st, b, _) = j
        .send(
            "/api/v1/auth/code phone=<phone> (User-Agent: <name>)",
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/code",
            body(json!({"phone": PHONE})),
            &[ip.clone(), ("user-agent", NAME.to_string())],
        )
        .await;
    assert_eq!(st, 200, "send a code to the canary number: {b}");
    let code = latest(PHONE).await;
    for (step, v) in [
        (
            "phone=<phone> full-width again (429)",
            json!({"phone": full_width(PHONE)}),
        ),
        ("phone=<phone>0", json!({"phone": format!("{PHONE}0")})),
        ("phone=<id_number>", json!({"phone": id})),
        ("phone=<name>", json!({"phone": NAME})),
        ("phone=<address>", json!({"phone": ADDRESS})),
        ("phone=[<phone>]", json!({"phone": [PHONE]})),
        ("phone + name=<name>", json!({"phone": PHONE, "name": NAME})),
        ("<phone> as a field name", json!({PHONE: 1})),
    ] {
        j.send(
            &format!("/api/v1/auth/code {step}"),
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/code",
            body(v),
            std::slice::from_ref(&ip),
        )
        .await;
    }
    j.send(
        "/api/v1/auth/code <phone> as text/plain",
        false,
        As::Nobody,
        post.clone(),
        "/api/v1/auth/code",
        Some(("text/plain", PHONE.to_string())),
        std::slice::from_ref(&ip),
    )
    .await;
    j.send(
        "/api/v1/auth/code X-Forwarded-For: <phone>",
        false,
        As::Nobody,
        post.clone(),
        "/api/v1/auth/code",
        body(json!({"phone": "13800000000"})),
        &[("x-forwarded-for", PHONE.to_string())],
    )
    .await;

    // -- sign-in: wrong code, no acceptance, a refused nickname, then success
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (step, v) in [
        (
            "wrong code",
            json!({"phone": PHONE, "code": wrong, "accept_policy": true}),
        ),
        (
            "code=<id_number>",
            json!({"phone": PHONE, "code": id, "accept_policy": true}),
        ),
        (
            "without accepting the policy",
            json!({"phone": PHONE, "code": code}),
        ),
        (
            "nickname=<name>×7 (too long)",
            json!({"phone": PHONE, "code": code, "accept_policy": true, "nickname": NAME.repeat(7)}),
        ),
        (
            "nickname=<address> (too long)",
            json!({"phone": PHONE, "code": code, "accept_policy": true, "nickname": ADDRESS}),
        ),
        (
            "password=<phone> (refused)",
            json!({"phone": PHONE, "code": code, "accept_policy": true, "password": format!("x{PHONE}")}),
        ),
        (
            "device.device_model=<name>×40 (too long)",
            json!({"phone": PHONE, "code": code, "accept_policy": true, "device": {"device_model": NAME.repeat(40)}}),
        ),
        (
            "device.imei=<id_number> (unknown)",
            json!({"phone": PHONE, "code": code, "accept_policy": true, "device": {"imei": id}}),
        ),
        (
            "real_name=<name> (unknown)",
            json!({"phone": PHONE, "code": code, "accept_policy": true, "real_name": NAME}),
        ),
    ] {
        j.send(
            &format!("/api/v1/auth/sign-in {step}"),
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/sign-in",
            body(v),
            std::slice::from_ref(&ip),
        )
        .await;
    }
    let password = format!("{NAME} 安家的密码");
    let (st, b, _) = j
        .send("/api/v1/auth/sign-in (password <name>…)", false, As::Nobody, post.clone(), "/api/v1/auth/sign-in",
            body(json!({"phone": PHONE, "code": code, "accept_policy": true, "nickname": "安家测试", "password": password,
                "device": {"device_model": "Test Phone", "os": "Android 14", "app_version": "1.0", "network_type": "wifi"}})),
            &[ip.clone(), ("user-agent", format!("Mozilla/5.0 ({PHONE})"))])
        .await;
    assert_eq!(st, 200, "sign-up of the canary number: {b}");
    let token = serde_json::from_str::<Value>(&b).expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let tok = bearer(&token);

    // -- the account's own endpoints
    for path in [
        "/api/v1/me",
        "/api/v1/me/sessions",
        "/api/v1/consents",
        "/api/v1/me/avatar",
    ] {
        j.send(
            path,
            false,
            As::Nobody,
            reqwest::Method::GET,
            path,
            None,
            std::slice::from_ref(&tok),
        )
        .await;
    }
    for (step, v) in [
        ("nickname=<name>×7", json!({"nickname": NAME.repeat(7)})),
        ("nickname=<address>", json!({"nickname": ADDRESS})),
        ("nickname=[<phone>]", json!({"nickname": [PHONE]})),
        ("phone=<phone> (unknown)", json!({"phone": PHONE})),
    ] {
        j.send(
            &format!("PATCH /api/v1/me {step}"),
            false,
            As::Nobody,
            reqwest::Method::PATCH,
            "/api/v1/me",
            body(v),
            std::slice::from_ref(&tok),
        )
        .await;
    }
    // -- alerts (issue 7): an e-mail address made of the phone number (stored sealed, shown
    // masked), and refused criteria and addresses carrying canaries (never echoed).
    for (step, method, path, v) in [
        (
            "PUT notification-settings email=<phone>@example.com",
            reqwest::Method::PUT,
            "/api/v1/me/notification-settings",
            json!({"email": format!("{PHONE}@example.com")}),
        ),
        (
            "PUT notification-settings email=<name>@ (refused)",
            reqwest::Method::PUT,
            "/api/v1/me/notification-settings",
            json!({"email": format!("{NAME}@")}),
        ),
        (
            "POST saved-searches price_min=<phone> as text (refused)",
            post.clone(),
            "/api/v1/me/saved-searches",
            json!({"criteria": {"price_min": PHONE}}),
        ),
        (
            "POST saved-searches region=<phone> (refused)",
            post.clone(),
            "/api/v1/me/saved-searches",
            json!({"criteria": {"region": PHONE}}),
        ),
        (
            "POST saved-searches name=<id_number>×3 (refused: too long)",
            post.clone(),
            "/api/v1/me/saved-searches",
            json!({"name": id.repeat(3), "criteria": {"q": "住宅"}}),
        ),
    ] {
        j.send(
            step,
            false,
            As::Nobody,
            method,
            path,
            body(v),
            std::slice::from_ref(&tok),
        )
        .await;
    }
    let (st, b, _) = j
        .send(
            "GET notification-settings (e-mail masked)",
            false,
            As::Nobody,
            reqwest::Method::GET,
            "/api/v1/me/notification-settings",
            None,
            std::slice::from_ref(&tok),
        )
        .await;
    assert_eq!(st, 200, "notification settings: {b}");
    assert!(
        b.contains("1***@example.com"),
        "the e-mail is shown masked: {b}"
    );
    j.send(
        "DELETE /api/v1/me/sessions/<phone>",
        false,
        As::Nobody,
        reqwest::Method::DELETE,
        &format!("/api/v1/me/sessions/{PHONE}"),
        None,
        std::slice::from_ref(&tok),
    )
    .await;
    for (label, value) in [
        ("phone", PHONE.to_string()),
        ("name", NAME.to_string()),
        ("id_number", id.clone()),
    ] {
        let e = enc(&value);
        j.send(
            &format!("/api/v1/me (Authorization: Bearer <{label}>)"),
            false,
            As::Nobody,
            reqwest::Method::GET,
            "/api/v1/me",
            None,
            &[("authorization", format!("Bearer {value}"))],
        )
        .await;
        j.send(
            &format!("/api/v1/me/sessions/<{label}> DELETE"),
            false,
            As::Nobody,
            reqwest::Method::DELETE,
            &format!("/api/v1/me/sessions/{e}"),
            None,
            std::slice::from_ref(&tok),
        )
        .await;
        j.send(
            &format!("/account (Cookie anjia_session=<{label}>; anjia_pending=<{label}>)"),
            false,
            As::Nobody,
            reqwest::Method::GET,
            "/account",
            None,
            &[(
                "cookie",
                format!("anjia_session={value}; anjia_pending={value}"),
            )],
        )
        .await;
    }
    // Password sign-in: wrong (containing the canaries), right.
    for (step, pw) in [
        ("password=<name> wrong", format!("{NAME}{ADDRESS}")),
        ("password=<id_number> wrong", id.clone()),
    ] {
        j.send(
            &format!("/api/v1/auth/sign-in/password {step}"),
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/sign-in/password",
            body(json!({"phone": PHONE, "password": pw})),
            std::slice::from_ref(&ip),
        )
        .await;
    }
    let (st, b, _) = j
        .send(
            "/api/v1/auth/sign-in/password (right)",
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/sign-in/password",
            body(json!({"phone": PHONE, "password": password})),
            std::slice::from_ref(&ip),
        )
        .await;
    assert_eq!(st, 200, "password sign-in: {b}");

    // -- step-up, password change, phone change
    t.clock.advance(time::Duration::seconds(61));
    let (st, b, _) = j
        .send(
            "/api/v1/auth/step-up/code",
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/step-up/code",
            body(json!({})),
            &[tok.clone(), ip.clone()],
        )
        .await;
    assert_eq!(st, 200, "step-up code: {b}");
    let step_code = latest(PHONE).await;
    j.send(
        "/api/v1/auth/step-up code=<phone>",
        false,
        As::Nobody,
        post.clone(),
        "/api/v1/auth/step-up",
        body(json!({"code": PHONE})),
        std::slice::from_ref(&tok),
    )
    .await;
    let (st, b, _) = j
        .send(
            "/api/v1/auth/step-up",
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/step-up",
            body(json!({"code": step_code})),
            std::slice::from_ref(&tok),
        )
        .await;
    assert_eq!(st, 200, "step-up: {b}");
    for (step, pw) in [
        ("new_password=<phone>", PHONE.to_string()),
        ("new_password=<id_number>", id.clone()),
    ] {
        j.send(
            &format!("PUT /api/v1/me/password {step}"),
            false,
            As::Nobody,
            reqwest::Method::PUT,
            "/api/v1/me/password",
            body(json!({"new_password": pw})),
            std::slice::from_ref(&tok),
        )
        .await;
    }
    for (step, v) in [
        ("phone=<id_number>", json!({"phone": id})),
        ("phone=<phone> (unchanged)", json!({"phone": PHONE})),
    ] {
        j.send(
            &format!("/api/v1/me/phone/code {step}"),
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/me/phone/code",
            body(v),
            &[tok.clone(), ip.clone()],
        )
        .await;
    }
    j.send(
        "PUT /api/v1/me/phone phone=<phone> code=<id_number>",
        false,
        As::Nobody,
        reqwest::Method::PUT,
        "/api/v1/me/phone",
        body(json!({"phone": PHONE, "code": id})),
        std::slice::from_ref(&tok),
    )
    .await;

    // -- recovery
    t.clock.advance(time::Duration::seconds(61));
    let (st, b, _) = j
        .send(
            "/api/v1/auth/recover/code phone=<phone>",
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/recover/code",
            body(json!({"phone": PHONE})),
            std::slice::from_ref(&ip),
        )
        .await;
    assert_eq!(st, 200, "recovery code: {b}");
    let rec = latest(PHONE).await;
    j.send(
        "/api/v1/auth/recover wrong code, new_password=<name>…",
        false,
        As::Nobody,
        post.clone(),
        "/api/v1/auth/recover",
        body(json!({"phone": PHONE, "code": wrong, "new_password": format!("{NAME}{NAME}{NAME}")})),
        std::slice::from_ref(&ip),
    )
    .await;
    let (st, b, _) = j
        .send(
            "/api/v1/auth/recover",
            false,
            As::Nobody,
            post.clone(),
            "/api/v1/auth/recover",
            body(
                json!({"phone": PHONE, "code": rec, "new_password": format!("{NAME}{NAME}{NAME}")}),
            ),
            std::slice::from_ref(&ip),
        )
        .await;
    assert_eq!(st, 200, "recovery: {b}");

    // -- the pages: sign-in in two steps, the profile, a refused nickname, no CSRF
    t.clock.advance(time::Duration::seconds(61));
    let (st, b, h) = j
        .send(
            "/account/sign-in/code phone=<phone>&name=<name>",
            false,
            As::Nobody,
            post.clone(),
            "/account/sign-in/code",
            Some((form_ct, format!("phone={}&name={}", enc(PHONE), enc(NAME)))),
            &[ip.clone(), ("user-agent", NAME.to_string())],
        )
        .await;
    assert_eq!(st, 303, "page sign-in, step 1: {b}");
    let pending = set_cookie_of(&h, "anjia_pending").expect("pending cookie");
    let pending_cookie = ("cookie", format!("anjia_pending={pending}"));
    let page_code = latest(PHONE).await;
    j.send(
        "/account/sign-in (pending)",
        false,
        As::Nobody,
        reqwest::Method::GET,
        "/account/sign-in?done=sent",
        None,
        std::slice::from_ref(&pending_cookie),
    )
    .await;
    j.send(
        "/account/sign-in code=<phone>",
        false,
        As::Nobody,
        post.clone(),
        "/account/sign-in",
        Some((form_ct, format!("code={}&accept_policy=yes", enc(PHONE)))),
        std::slice::from_ref(&pending_cookie),
    )
    .await;
    j.send(
        "/account/sign-in/password phone=<phone>&password=<name>",
        false,
        As::Nobody,
        post.clone(),
        "/account/sign-in/password",
        Some((
            form_ct,
            format!("phone={}&password={}", enc(PHONE), enc(NAME)),
        )),
        std::slice::from_ref(&ip),
    )
    .await;
    j.send(
        "/account/sign-in/code phone=<id_number>",
        false,
        As::Nobody,
        post.clone(),
        "/account/sign-in/code",
        Some((form_ct, format!("phone={}", enc(&id)))),
        std::slice::from_ref(&ip),
    )
    .await;
    let (st, b, h) = j
        .send(
            "/account/sign-in (right code)",
            false,
            As::Nobody,
            post.clone(),
            "/account/sign-in",
            Some((form_ct, format!("code={page_code}"))),
            &[
                pending_cookie.clone(),
                ("user-agent", format!("Mozilla/5.0 ({PHONE}) Chrome/120.0")),
            ],
        )
        .await;
    assert_eq!(st, 303, "page sign-in, step 2: {b}");
    let session = set_cookie_of(&h, "anjia_session").expect("session cookie");
    let cookie = ("cookie", format!("anjia_session={session}"));
    let (_, page, _) = j
        .send(
            "/account",
            false,
            As::Nobody,
            reqwest::Method::GET,
            "/account",
            None,
            std::slice::from_ref(&cookie),
        )
        .await;
    let csrf = page
        .find("name=\"csrf\" value=\"")
        .map(|at| page[at + 19..at + 83].to_string())
        .expect("a CSRF field");
    for path in [
        "/account/sessions",
        "/account/password",
        "/account/phone",
        "/account/avatar",
        "/privacy/consent",
        "/nearby",
    ] {
        j.send(
            path,
            false,
            As::Nobody,
            reqwest::Method::GET,
            path,
            None,
            std::slice::from_ref(&cookie),
        )
        .await;
    }
    for (step, form) in [
        (
            "nickname=<name>×7",
            format!("nickname={}&csrf={csrf}", enc(&NAME.repeat(7))),
        ),
        (
            "nickname=<address>",
            format!("nickname={}&csrf={csrf}", enc(ADDRESS)),
        ),
        (
            "nickname=<name> without CSRF",
            format!("nickname={}", enc(NAME)),
        ),
        (
            "nickname=<name> csrf=<phone>",
            format!("nickname={}&csrf={PHONE}", enc(NAME)),
        ),
    ] {
        j.send(
            &format!("/account/nickname {step}"),
            false,
            As::Nobody,
            post.clone(),
            "/account/nickname",
            Some((form_ct, form)),
            std::slice::from_ref(&cookie),
        )
        .await;
    }
    j.send(
        "/account/step-up code=<phone>",
        false,
        As::Nobody,
        post.clone(),
        "/account/step-up",
        Some((form_ct, format!("code={PHONE}&next=phone&csrf={csrf}"))),
        std::slice::from_ref(&cookie),
    )
    .await;
    j.send(
        "/account/phone/code phone=<id_number>",
        false,
        As::Nobody,
        post.clone(),
        "/account/phone/code",
        Some((form_ct, format!("phone={}&csrf={csrf}", enc(&id)))),
        std::slice::from_ref(&cookie),
    )
    .await;
    j.send(
        "/account/sessions/revoke session=<phone>",
        false,
        As::Nobody,
        post.clone(),
        "/account/sessions/revoke",
        Some((form_ct, format!("session={PHONE}&csrf={csrf}"))),
        std::slice::from_ref(&cookie),
    )
    .await;
    j.send(
        "/account/recover/code phone=<phone>",
        false,
        As::Nobody,
        post.clone(),
        "/account/recover/code",
        Some((form_ct, format!("phone={}", enc(PHONE)))),
        std::slice::from_ref(&ip),
    )
    .await;

    let codes: Vec<String> = outbox_of(t.store, t.privacy, PHONE)
        .await
        .iter()
        .map(|m| code_in(m))
        .collect();
    assert!(codes.len() >= 4, "{} codes", codes.len());
    (j, codes)
}

/// Where a code occurs as a code: a run of exactly these 6 digits, not preceded by a digit or
/// `.` (the fractional seconds of a timestamp are 6 digits) and not followed by a digit.
pub(crate) fn code_occurs(text: &str, code: &str) -> bool {
    let b = text.as_bytes();
    text.match_indices(code).any(|(i, _)| {
        let before = i.checked_sub(1).map(|k| b[k]);
        let after = b.get(i + code.len()).copied();
        !before.is_some_and(|c| c.is_ascii_digit() || c == b'.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// Answers (bodies and headers, success or not) and log lines that carry an SMS code.
pub(crate) fn code_findings(j: &Journey, logs: &str, codes: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, code) in codes.iter().enumerate() {
        for x in &j.exchanges {
            if code_occurs(&x.body, code) || code_occurs(&x.headers, code) {
                out.push(format!(
                    "the answer to {} ({}) carries SMS code #{n}",
                    x.step, x.status
                ));
            }
        }
        for line in logs.lines().filter(|l| code_occurs(l, code)) {
            out.push(format!(
                "LOG carries SMS code #{n}: {}",
                line.replace(code, "<code>")
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
    }
    out
}

// ---- the checks --------------------------------------------------------------------------------

/// Response headers carrying a canary, and 5xx answers (printable: canaries redacted).
pub(crate) fn header_findings(j: &Journey, needles: &[Needle]) -> Vec<String> {
    let mut out = Vec::new();
    for x in &j.exchanges {
        if x.status >= 500 {
            out.push(format!("{} answered {} (never 5xx)", x.step, x.status));
        }
        for n in needles {
            if x.headers.contains(&n.text) {
                out.push(format!(
                    "response HEADER of {} ({}) carries {}: {}",
                    x.step,
                    x.status,
                    n.what,
                    redact(&x.headers, needles).replace('\n', " | ")
                ));
            }
        }
    }
    out
}

/// Response bodies carrying a canary where they may not: every error body, and every successful
/// body except the search answers and the caller's own history (`echo_ok`).
pub(crate) fn body_findings(j: &Journey, needles: &[Needle]) -> Vec<String> {
    let mut out = Vec::new();
    for x in &j.exchanges {
        if x.echo_ok && (200..300).contains(&x.status) {
            continue;
        }
        for n in needles {
            let Some(at) = x.body.find(&n.text) else {
                continue;
            };
            let from = x.body[..at]
                .char_indices()
                .rev()
                .nth(80)
                .map_or(0, |(i, _)| i);
            let to = x.body[at..]
                .char_indices()
                .nth(n.text.chars().count() + 80)
                .map_or(x.body.len(), |(i, _)| at + i);
            out.push(format!(
                "response BODY of {} ({}) carries {}: …{}…",
                x.step,
                x.status,
                n.what,
                redact(&x.body[from..to], needles).replace('\n', " ")
            ));
        }
    }
    out
}

/// Log lines carrying a canary (redacted), at most 3 per needle, and how many more.
pub(crate) fn log_findings(logs: &str, needles: &[Needle]) -> Vec<String> {
    let mut out = Vec::new();
    for n in needles {
        let hits: Vec<usize> = logs
            .match_indices(n.text.as_str())
            .map(|(i, _)| i)
            .collect();
        for &at in hits.iter().take(3) {
            let start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = logs[at..].find('\n').map_or(logs.len(), |i| at + i);
            let short: String = redact(&logs[start..end], needles)
                .chars()
                .take(400)
                .collect();
            out.push(format!("LOG carries {}: {short}", n.what));
        }
        if hits.len() > 3 {
            out.push(format!(
                "LOG: {} more occurrences of {}",
                hits.len() - 3,
                n.what
            ));
        }
    }
    out
}

/// Defines a test per backend for `async fn NAME(backend: Backend)`.
macro_rules! canary_per_backend {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$f(crate::support::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$f(crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}
pub(crate) use canary_per_backend;

#[test]
fn canaries_are_valid_looking_and_unique() {
    // The check character function agrees with the known-good examples of GB 11643.
    assert_eq!(check_char("11010519491231002"), 'X');
    assert_eq!(check_char("44052418800101001"), '4');
    let id = id_number();
    assert_eq!(id.len(), 18);
    assert_eq!(id, "110105198703142179");
    assert!(PHONE.len() == 11 && PHONE.starts_with('1'));
    assert!(('3'..='9').contains(&PHONE.chars().nth(1).unwrap()));
    assert_eq!(
        anjia_domain::mask::normalize_phone(PHONE).as_deref(),
        Ok(PHONE)
    );
    assert_eq!(
        anjia_domain::mask::mask_address(ADDRESS),
        "北京市朝阳区****"
    );
    assert_eq!(
        anjia_domain::mask::mask_id_number(&id),
        "1****************9"
    );
    for c in [LNG, LAT] {
        assert_eq!(c.split('.').nth(1).map(str::len), Some(6), "6 decimals");
    }
    // None of them occurs in the bundled data (else a search would rightly show it).
    let mut data = String::new();
    for entry in walk(&data_dir()) {
        if let Ok(t) = std::fs::read_to_string(&entry) {
            data.push_str(&t);
        }
    }
    assert!(data.len() > 100_000, "the bundled data was read");
    for n in plaintext_needles() {
        assert!(
            !data.contains(&n.text),
            "{} occurs in the bundled data",
            n.what
        );
    }
}

#[test]
fn the_scanners_find_every_variant_and_print_none() {
    let needles = all_needles();
    let id = id_number();
    let fw_phone = full_width(PHONE);
    let logs = format!(
        "DEBUG a: ok\nINFO b: q={}\nWARN c: {fw_phone}\nTRACE d: {}\nDEBUG e: {}\n",
        enc(NAME),
        &id[1..17],
        json_escaped(ADDRESS)
    );
    let found = log_findings(&logs, &needles).join("\n");
    for what in [
        "name, percent-encoded",
        "phone, full-width",
        "id_number (the 16 characters its mask hides)",
        "address, JSON-escaped",
    ] {
        assert!(
            found.contains(&format!("carries {what}:")),
            "{what} not found in:\n{found}"
        );
    }
    // The report names the canary, it does not repeat it.
    for n in &needles {
        assert!(!found.contains(&n.text), "the report repeats {}", n.what);
    }
    let j = Journey {
        base: String::new(),
        client: reqwest::Client::new(),
        exchanges: vec![
            Exchange {
                step: "error".into(),
                status: 400,
                headers: format!("x-echo: {LNG}\n"),
                body: format!("{{\"detail\":\"{PHONE} is not a number\"}}"),
                echo_ok: true,
            },
            Exchange {
                step: "search".into(),
                status: 200,
                headers: String::new(),
                body: format!("<input name=q value=\"{NAME}\">"),
                echo_ok: true,
            },
            Exchange {
                step: "boom".into(),
                status: 502,
                headers: String::new(),
                body: String::new(),
                echo_ok: false,
            },
        ],
    };
    let bodies = body_findings(&j, &needles);
    assert_eq!(bodies.len(), 3, "{bodies:?}"); // phone and both phone windows, error body only
    assert!(bodies.iter().all(|b| b.contains("BODY of error (400)")));
    let headers = header_findings(&j, &needles).join("\n");
    assert!(
        headers.contains("HEADER of error (400) carries longitude"),
        "{headers}"
    );
    assert!(headers.contains("boom answered 502"), "{headers}");
}

#[test]
fn the_code_scanner_finds_codes_not_timestamps() {
    for (text, hit) in [
        ("INFO sms code=482913 sent", true),
        ("{\"code\":\"482913\"}", true),
        ("482913", true),
        ("您的验证码是482913，5分钟内有效", true),
        ("2026-11-29T19:51:17.482913Z INFO", false),
        ("id 14829130", false),
        ("x1482913", false),
    ] {
        assert_eq!(code_occurs(text, "482913"), hit, "{text}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// PRV-20: no canary in any log line (server, stores, search index; TRACE), in any response
/// header, and no 5xx answer — over every surface.
async fn canaries_never_reach_logs_or_headers(s: &'static TestServer) {
    start_capture();
    let (j, _) = run_journeys(&s.base).await;
    let (aj, codes) = account_journeys_for(s).await;
    let needles = all_needles();
    let logs = captured_logs();
    assert!(
        logs.contains("sms sent")
            && (logs.contains("purpose=\"sign_in\"") || logs.contains("purpose=sign_in")),
        "the log says that a code was sent (and only that)"
    );
    // The capture saw the server's own DEBUG events for these requests (else the scan proves
    // nothing).
    assert!(
        logs.contains("finished processing request") && logs.contains("route=/api/v1/consents"),
        "the server's DEBUG access events were not captured"
    );
    assert!(j.exchanges.len() > 500, "{} exchanges", j.exchanges.len());
    assert!(
        aj.exchanges.len() > 60,
        "{} account exchanges",
        aj.exchanges.len()
    );
    let mut findings = header_findings(&j, &needles);
    findings.extend(header_findings(&aj, &needles));
    findings.extend(log_findings(&logs, &needles));
    findings.extend(code_findings(&aj, &logs, &codes));
    assert!(
        findings.is_empty(),
        "{}: {} canary finding(s) over {} exchanges and {} KiB of logs:\n{}",
        s.backend,
        findings.len(),
        j.exchanges.len(),
        logs.len() / 1024,
        findings.join("\n")
    );
}

/// PRV-20: error bodies (API problems and error pages) never echo a canary the request carried
/// — in a parameter value or name, a path segment, a JSON or form field.
async fn error_bodies_never_echo_canaries(s: &'static TestServer) {
    start_capture();
    let (j, _) = run_journeys(&s.base).await;
    let (aj, _) = account_journeys_for(s).await;
    let mut findings = body_findings(&j, &all_needles());
    findings.extend(body_findings(&aj, &all_needles()));
    assert!(
        findings.is_empty(),
        "{}: {} response bodies echo a canary (of {} exchanges):\n{}",
        s.backend,
        findings.len(),
        j.exchanges.len(),
        findings.join("\n")
    );
}

/// The account journeys on a server of their own of `s`'s backend (its clock is moved, and the
/// canary number's send limits must not meet those of the other canary test).
async fn account_journeys_for(s: &TestServer) -> (Journey, Vec<String>) {
    let backend = if s.backend == "postgres" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let own = OwnServer::start(backend)
        .await
        .expect("the shared server of this backend runs, so an own one starts");
    run_account_journeys(AccountTarget {
        base: &own.base,
        store: &own.store,
        privacy: &own.privacy,
        clock: &own.clock,
    })
    .await
}

pub(crate) fn env_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

both!(
    canaries_never_reach_logs_or_headers,
    error_bodies_never_echo_canaries,
);
