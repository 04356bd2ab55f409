//! PRV-13 / PRV-18 / PRV-16: after the canary journeys — with search history and usage analytics
//! granted to the canary subjects, so that their searches are stored — the raw databases hold
//! none of the canaries in plaintext: not the phone number, the ID number, the name, the address
//! (nor the parts their masks hide), nor the coordinates.
//!
//! * SQLite: the bytes of `anjia.db`, `anjia.db-wal`, `keys.db`, `keys.db-wal` as they are (before
//!   any checkpoint) and again after a checkpoint; and every column of every table read as text
//!   (a value spilling over overflow pages is not contiguous in the file).
//! * PostgreSQL: every table of every schema (`public`, `analytics`, …) of the main database and of
//!   the key-vault database, each row as `t::text` — and `bytea` columns as hex.
//!
//! The scans search for a value known to be stored (the subject id) as well, so that a scan that
//! reads nothing cannot pass. The needles never appear in SQL text (sqlx logs statements): they
//! are spliced in as hex and decoded by the database.

use crate::canary::{
    AccountTarget, CanaryEnv, Needle, canary_per_backend, env_name, plaintext_needles,
    run_account_journeys, run_journeys,
};
use crate::support::Backend;
use anjia_store::Store;
use anjia_store::testing::execute_raw;

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Which needles occur in the raw bytes of `path` (missing file: none).
fn file_hits(path: &std::path::Path, needles: &[Needle]) -> Vec<usize> {
    let Ok(bytes) = std::fs::read(path) else {
        return vec![];
    };
    // Lossy decoding keeps every valid UTF-8 sequence intact, so a needle present in the bytes is
    // present in the text.
    let text = String::from_utf8_lossy(&bytes);
    needles
        .iter()
        .enumerate()
        .filter(|(_, n)| text.contains(n.text.as_str()))
        .map(|(i, _)| i)
        .collect()
}

/// SQLite: per table and needle, the rows having the needle in any column read as text
/// (`INSERT … SELECT` counts them: the raw-statement helper returns rows affected).
pub(crate) async fn sqlite_table_hits(
    store: &Store,
    needles: &[Needle],
) -> Vec<(String, usize, u64)> {
    execute_raw(
        store,
        "CREATE TABLE IF NOT EXISTS canary_scan_hits (n INTEGER)",
    )
    .await
    .expect("scratch table");
    let cols = store.schema_columns().await.expect("schema");
    let mut tables: Vec<&str> = cols.iter().map(|c| c.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    let mut out = Vec::new();
    for t in tables.into_iter().filter(|t| *t != "canary_scan_hits") {
        let tcols: Vec<&str> = cols
            .iter()
            .filter(|c| c.table == t)
            .map(|c| c.column.as_str())
            .collect();
        for (i, n) in needles.iter().enumerate() {
            let cond = tcols
                .iter()
                .map(|c| {
                    format!(
                        "instr(CAST(\"{c}\" AS TEXT), CAST(X'{}' AS TEXT)) > 0",
                        hex(&n.text)
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!("INSERT INTO canary_scan_hits SELECT 1 FROM \"{t}\" WHERE {cond}");
            let rows = execute_raw(store, &sql)
                .await
                .unwrap_or_else(|e| panic!("scan {t}: {e}"));
            if rows > 0 {
                out.push((t.to_string(), i, rows));
            }
        }
    }
    out
}

/// PostgreSQL: every base table of every schema, each row as text (and as the hex of its text, for
/// `bytea`), per needle. A `DO` block cannot return rows, so it always raises an exception whose
/// message carries the result: `canary-scan tables=N hits=schema.table#needle:rows;…end-of-scan`.
pub(crate) async fn pg_table_hits(
    store: &Store,
    needles: &[Needle],
) -> (u64, Vec<(String, usize, u64)>) {
    let arr = needles
        .iter()
        .map(|n| format!("convert_from(decode('{}', 'hex'), 'UTF8')", hex(&n.text)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        r#"DO $canary$
DECLARE
  needles text[] := ARRAY[{arr}];
  r record;
  n bigint;
  i int;
  tables int := 0;
  hits text := '';
BEGIN
  FOR r IN SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_type = 'BASE TABLE'
             AND table_schema NOT IN ('pg_catalog', 'information_schema') LOOP
    tables := tables + 1;
    FOR i IN 1 .. array_length(needles, 1) LOOP
      EXECUTE format('SELECT count(*) FROM %I.%I t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0',
                     r.table_schema, r.table_name)
        INTO n USING needles[i], encode(convert_to(needles[i], 'UTF8'), 'hex');
      IF n > 0 THEN
        hits := hits || format('%s.%s#%s:%s;', r.table_schema, r.table_name, i - 1, n);
      END IF;
    END LOOP;
  END LOOP;
  RAISE EXCEPTION 'canary-scan tables=% hits=%end-of-scan', tables, hits;
END
$canary$"#
    );
    let e = execute_raw(store, &sql)
        .await
        .expect_err("the scan always raises its result");
    let msg = e.to_string();
    let rest = msg
        .split("canary-scan tables=")
        .nth(1)
        .unwrap_or_else(|| panic!("the scan failed: {msg}"));
    let (tables, hits) = rest.split_once(" hits=").expect("scan result");
    let hits = hits
        .split("end-of-scan")
        .next()
        .unwrap_or_else(|| panic!("the scan result is cut: {msg}"));
    let tables: u64 = tables.trim().parse().expect("table count");
    let mut out = Vec::new();
    for h in hits.split(';').map(str::trim).filter(|h| !h.is_empty()) {
        let bad = || panic!("unexpected scan result {h:?} in {msg:?}");
        let Some((table, rest)) = h.split_once('#') else {
            bad()
        };
        let Some((i, rows)) = rest.split_once(':') else {
            bad()
        };
        out.push((
            table.to_string(),
            i.parse().expect("needle index"),
            rows.parse().expect("rows"),
        ));
    }
    (tables, out)
}

/// Tables of imported public lot data, left out of the SMS-code scan: the account journeys never
/// write them, and a random 6-digit code can coincide with a region code or a source id in them
/// (a flaky false finding). The phone, name and ID needles still scan them.
const IMPORTED_LOT_TABLES: [&str; 5] = [
    "assets",
    "import_runs",
    "import_rejections",
    "postings",
    "posting_provenance",
];

/// SQLite: per table (except `sms_outbox`, the development gateway's simulated phone, which holds
/// the message texts by design) and code, the rows where the code occurs as a code in any
/// column read as text — 6 digits not inside a longer run of digits and not after `.` (stored
/// times end in 6 digits of fractional seconds): `GLOB` patterns.
async fn sqlite_code_hits(store: &Store, codes: &[String]) -> Vec<(String, usize, u64)> {
    let cols = store.schema_columns().await.expect("schema");
    let mut tables: Vec<&str> = cols.iter().map(|c| c.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    let mut out = Vec::new();
    for t in tables
        .into_iter()
        .filter(|t| !matches!(*t, "canary_scan_hits" | "sms_outbox"))
        .filter(|t| !IMPORTED_LOT_TABLES.contains(t))
    {
        for (i, _) in codes.iter().enumerate() {
            let rows = sqlite_code_rows(store, &cols, t, &codes[i..=i]).await;
            if rows > 0 {
                out.push((t.to_string(), i, rows));
            }
        }
    }
    out
}

/// How many of `codes` occur (as codes) in `table`.
async fn sqlite_code_hits_in(store: &Store, codes: &[String], table: &str) -> usize {
    let cols = store.schema_columns().await.expect("schema");
    let mut n = 0;
    for c in codes {
        if sqlite_code_rows(store, &cols, table, std::slice::from_ref(c)).await > 0 {
            n += 1;
        }
    }
    n
}

async fn sqlite_code_rows(
    store: &Store,
    cols: &[anjia_store::privacy::SchemaColumn],
    table: &str,
    code: &[String],
) -> u64 {
    execute_raw(
        store,
        "CREATE TABLE IF NOT EXISTS canary_scan_hits (n INTEGER)",
    )
    .await
    .expect("scratch table");
    let code = &code[0];
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    let cond = cols
        .iter()
        .filter(|c| c.table == table)
        .map(|c| {
            let v = format!("CAST(\"{}\" AS TEXT)", c.column);
            format!(
                "({v} = '{code}' OR {v} GLOB '{code}[^0-9]*' OR {v} GLOB '*[^0-9.]{code}' OR {v} GLOB '*[^0-9.]{code}[^0-9]*')"
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!("INSERT INTO canary_scan_hits SELECT 1 FROM \"{table}\" WHERE {cond}");
    execute_raw(store, &sql)
        .await
        .unwrap_or_else(|e| panic!("code scan of {table}: {e}"))
}

/// PostgreSQL: as [`pg_table_hits`], for codes, over every table. Text-like columns are matched
/// with a regular expression (a code as a code, see [`sqlite_code_hits`]); `bytea` columns by an
/// exact search for the code's ASCII bytes — their hex text would hold a random 6-digit run now and
/// then (a ciphertext is random bytes: CI saw one such false finding in `search_history`), while a
/// plaintext code stored in a `bytea` is exactly its bytes.
async fn pg_code_hits(store: &Store, codes: &[String]) -> (u64, Vec<(String, usize, u64)>) {
    for c in codes {
        assert!(c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()));
    }
    let arr = codes
        .iter()
        .map(|c| format!("'(^|[^0-9.]){c}([^0-9]|$)'"))
        .collect::<Vec<_>>()
        .join(", ");
    let raw = codes
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        r#"DO $canary$
DECLARE
  needles text[] := ARRAY[{arr}];
  raw text[] := ARRAY[{raw}];
  r record;
  c record;
  cond text;
  n bigint;
  i int;
  tables int := 0;
  hits text := '';
BEGIN
  FOR r IN SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_type = 'BASE TABLE'
             AND table_schema NOT IN ('pg_catalog', 'information_schema') LOOP
    tables := tables + 1;
    cond := '';
    FOR c IN SELECT column_name, data_type FROM information_schema.columns
             WHERE table_schema = r.table_schema AND table_name = r.table_name LOOP
      IF cond <> '' THEN cond := cond || ' OR '; END IF;
      IF c.data_type = 'bytea' THEN
        cond := cond || format('position(convert_to($2, ''UTF8'') in %I) > 0', c.column_name);
      ELSE
        cond := cond || format('%I::text ~ $1', c.column_name);
      END IF;
    END LOOP;
    CONTINUE WHEN cond = '';
    FOR i IN 1 .. array_length(needles, 1) LOOP
      EXECUTE format('SELECT count(*) FROM %I.%I WHERE %s',
                     r.table_schema, r.table_name, cond)
        INTO n USING needles[i], raw[i];
      IF n > 0 THEN
        hits := hits || format('%s.%s#%s:%s;', r.table_schema, r.table_name, i - 1, n);
      END IF;
    END LOOP;
  END LOOP;
  RAISE EXCEPTION 'canary-scan tables=% hits=%end-of-scan', tables, hits;
END
$canary$"#
    );
    parse_scan_result(store, &sql).await
}

/// Runs a scan that raises its result, and parses it.
async fn parse_scan_result(store: &Store, sql: &str) -> (u64, Vec<(String, usize, u64)>) {
    let e = execute_raw(store, sql)
        .await
        .expect_err("the scan always raises its result");
    let msg = e.to_string();
    let rest = msg
        .split("canary-scan tables=")
        .nth(1)
        .unwrap_or_else(|| panic!("the scan failed: {msg}"));
    let (tables, hits) = rest.split_once(" hits=").expect("scan result");
    let hits = hits
        .split("end-of-scan")
        .next()
        .unwrap_or_else(|| panic!("the scan result is cut: {msg}"));
    let tables: u64 = tables.trim().parse().expect("table count");
    let mut out = Vec::new();
    for h in hits.split(';').map(str::trim).filter(|h| !h.is_empty()) {
        let bad = || panic!("unexpected scan result {h:?} in {msg:?}");
        let Some((table, rest)) = h.split_once('#') else {
            bad()
        };
        let Some((i, rows)) = rest.split_once(':') else {
            bad()
        };
        out.push((
            table.to_string(),
            i.parse().expect("needle index"),
            rows.parse().expect("rows"),
        ));
    }
    (tables, out)
}

async fn raw_databases_hold_no_canary_plaintext(backend: Backend) {
    let Some(env) = CanaryEnv::start(backend).await else {
        return;
    };
    let (_, subjects) = run_journeys(&env.base).await;
    // The account journeys: the canary number becomes an account (its number sealed, found by
    // blind index), with a password made of the name, sessions, step-up and recovery codes.
    let (_, codes) = run_account_journeys(AccountTarget {
        base: &env.base,
        store: &env.store,
        privacy: &env.privacy,
        clock: &env.clock,
    })
    .await;
    let account = {
        let phone = anjia_privacy::pi::Phone::parse(crate::canary::PHONE).expect("canary");
        let idx = env.privacy.keys().blind_index().phone(&phone);
        env.store
            .account_by_phone_index(&idx)
            .await
            .expect("account lookup")
            .expect("the canary number has an account")
    };
    assert!(account.password_hash.is_some() && account.phone_ciphertext.is_some());
    // Something was stored for the canary subjects: sealed search history and analytics events.
    let history = env
        .store
        .search_history(&subjects.api, 1000)
        .await
        .expect("history");
    assert!(history.len() >= 7, "the API subject's searches were kept");
    assert!(
        !env.store
            .search_history(&subjects.web, 1000)
            .await
            .expect("history")
            .is_empty(),
        "the web subject's searches were kept"
    );
    let events = env.store.analytics_events(0, 10_000).await.expect("events");
    assert!(!events.is_empty(), "analytics events were recorded");

    // The installation the journeys leave passes the compliance report (issue 5 item 8),
    // before the scans below add their helper table; on SQLite it is kept for
    // `anjia compliance` (run here and by `.ci/run`).
    // As `serve` does every minute: users are told of announced policy versions.
    env.privacy
        .notify_policy_changes()
        .await
        .expect("policy notices");
    let report = anjia_web::compliance::run(&env.privacy)
        .await
        .expect("the compliance report runs");
    let compliance_findings = if report.passed() {
        vec![]
    } else {
        vec![format!(
            "{}: the compliance report finds violations:\n{}",
            env_name(backend),
            report.to_text()
        )]
    };
    if backend == Backend::Sqlite {
        leave_installation(&env).await;
    }

    let needles = plaintext_needles();
    // The control: the subject ids are stored in plaintext (as ids, not PI).
    let control = vec![Needle {
        what: "subject id (control)".into(),
        text: subjects.api.clone(),
    }];
    let mut findings: Vec<String> = compliance_findings;
    let name = env_name(backend);
    match backend {
        Backend::Sqlite => {
            let dir = env
                .sqlite_dir
                .as_ref()
                .expect("SQLite dir")
                .path()
                .to_path_buf();
            let files = ["anjia.db", "anjia.db-wal", "keys.db", "keys.db-wal"];
            let raw_scan = |when: &str, findings: &mut Vec<String>| {
                let mut control_seen = false;
                for f in files {
                    let p = dir.join(f);
                    for i in file_hits(&p, &needles) {
                        findings.push(format!(
                            "{name}: raw bytes of {f} ({when}) contain {}",
                            needles[i].what
                        ));
                    }
                    control_seen |= !file_hits(&p, &control).is_empty();
                }
                assert!(
                    control_seen,
                    "{when}: the raw scan finds the stored subject id"
                );
            };
            raw_scan("before checkpoint", &mut findings);
            execute_raw(&env.store, "PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .expect("checkpoint");
            raw_scan("after checkpoint", &mut findings);
            let vault = Store::connect(&env.vault_url).await.expect("open keys.db");
            for (db, store) in [("anjia.db", &env.store), ("keys.db", &vault)] {
                for (table, i, rows) in sqlite_table_hits(store, &needles).await {
                    findings.push(format!(
                        "{name}: {db} table {table}: {rows} row(s) contain {}",
                        needles[i].what
                    ));
                }
                let ctl = sqlite_table_hits(store, &control).await;
                assert!(!ctl.is_empty(), "{db}: the table scan finds the subject id");
                for (table, n, rows) in sqlite_code_hits(store, &codes).await {
                    findings.push(format!(
                        "{name}: {db} table {table}: {rows} row(s) contain SMS code #{n}"
                    ));
                }
            }
            // The control for the code scan: the development outbox (the simulated phone) holds
            // the texts with the codes, by design — the scan must see them there.
            assert_eq!(
                sqlite_code_hits_in(&env.store, &codes, "sms_outbox").await,
                codes.len(),
                "the code scan finds every code in the outbox"
            );
        }
        Backend::Postgres => {
            let vault = Store::connect(&env.vault_url)
                .await
                .expect("open the vault db");
            for (db, store) in [("main", &env.store), ("vault", &vault)] {
                let (tables, hits) = pg_table_hits(store, &needles).await;
                assert!(tables >= 2, "{db}: scanned {tables} tables");
                for (table, i, rows) in hits {
                    findings.push(format!(
                        "{name}: {db} database, table {table}: {rows} row(s) contain {}",
                        needles[i].what
                    ));
                }
                let (_, ctl) = pg_table_hits(store, &control).await;
                assert!(!ctl.is_empty(), "{db}: the table scan finds the subject id");
                let (_, hits) = pg_code_hits(store, &codes).await;
                for (table, n, rows) in hits {
                    if table == "public.sms_outbox"
                        || IMPORTED_LOT_TABLES
                            .iter()
                            .any(|t| table == format!("public.{t}"))
                    {
                        continue;
                    }
                    findings.push(format!(
                        "{name}: {db} database, table {table}: {rows} row(s) contain SMS code #{n}"
                    ));
                }
            }
            let (_, hits) = pg_code_hits(&env.store, &codes).await;
            let in_outbox = hits
                .iter()
                .filter(|(t, _, _)| t == "public.sms_outbox")
                .count();
            assert_eq!(
                in_outbox,
                codes.len(),
                "the code scan finds every code in the outbox"
            );
            drop(vault);
        }
    }
    env.stop().await;
    assert!(
        findings.is_empty(),
        "plaintext canaries in the raw databases ({} finding(s)):\n{}",
        findings.len(),
        findings.join("\n")
    );
}

/// Where the SQLite installation of the canary journeys is left for `anjia compliance`
/// (`target/tmp/compliance-installation`: `anjia.db`, `keys.db`, `keys.toml`).
pub(crate) fn installation_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compliance-installation")
}

/// `anjia compliance --html report.html` against the installation in `dir`: success and output.
fn compliance_cli(dir: &std::path::Path) -> (bool, String) {
    let url = |f: &str| format!("sqlite://{}", dir.join(f).display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(["compliance", "--html"])
        .arg(dir.join("report.html"))
        .current_dir(dir)
        .env("ANJIA_DATABASE_URL", url("anjia.db"))
        .env("ANJIA_VAULT_URL", url("keys.db"))
        .env("ANJIA_KEYS_FILE", dir.join("keys.toml"))
        .env("ANJIA_IMPORT_BUNDLED", "false")
        .output()
        .expect("anjia runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Copies the SQLite installation (main database, key vault, key file) out of the test's
/// temporary directory, runs the CLI report on it (passes), and on a copy with a planted
/// undeclared column (fails, naming the clause).
async fn leave_installation(env: &CanaryEnv) {
    let dir = installation_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("installation dir");
    let vault = Store::connect(&env.vault_url).await.expect("open keys.db");
    for (store, file) in [(&env.store, "anjia.db"), (&vault, "keys.db")] {
        let target = dir.join(file).display().to_string().replace('\'', "''");
        execute_raw(store, &format!("VACUUM INTO '{target}'"))
            .await
            .expect("copy the database");
    }
    env.privacy
        .keys()
        .save_file(&dir.join("keys.toml"))
        .expect("key file");
    let (ok, text) = compliance_cli(&dir);
    assert!(
        ok,
        "anjia compliance on the journeys' installation:\n{text}"
    );
    assert!(text.contains("checks passed"), "{text}");
    assert!(dir.join("report.html").exists());

    let planted = dir.with_file_name("compliance-installation-planted");
    let _ = std::fs::remove_dir_all(&planted);
    std::fs::create_dir_all(&planted).unwrap();
    for f in ["anjia.db", "keys.db", "keys.toml"] {
        std::fs::copy(dir.join(f), planted.join(f)).unwrap();
    }
    let copy = Store::connect(&format!("sqlite://{}", planted.join("anjia.db").display()))
        .await
        .unwrap();
    execute_raw(&copy, "ALTER TABLE subjects ADD COLUMN phone TEXT")
        .await
        .unwrap();
    drop(copy);
    let (ok, text) = compliance_cli(&planted);
    assert!(!ok, "a planted violation exits non-zero:\n{text}");
    assert!(
        text.contains("[VIOLATION] inventory_complete") && text.contains("intro.scope"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&planted);
}

canary_per_backend!(raw_databases_hold_no_canary_plaintext);
