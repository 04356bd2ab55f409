//! The main journeys in a real headless browser (Debian's chromium + chromedriver): open the
//! search page, submit a query, open a lot; and signed in: search, save the search as a 选房条件,
//! find it in `/account/searches`, follow a lot, and read a message in the message centre.

use crate::support::{Backend, server};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A headless chromium driven through chromedriver, closed (and the driver killed) on drop of
/// the guard; `None` when they are not installed (a failure under `CI=true`).
async fn browser() -> Option<(Client, Driver, tempfile::TempDir)> {
    let have = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !have("chromedriver") || !have("chromium") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: chromium/chromedriver not installed");
        return None;
    }
    let port = free_port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", profile.path().display())]
        }),
    );
    // Two rustls crypto providers are compiled in (ring through reqwest/oauth2, aws-lc-rs through
    // fantoccini), so rustls cannot pick one by itself: name the process default (a second call
    // from another test is a harmless error).
    let _ = rustls::crypto::ring::default_provider().install_default();
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return Some((c, driver, profile)),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("could not connect to chromedriver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_submit_and_open_a_lot_in_chromium() {
    let Some((c, _driver, _profile)) = browser().await else {
        return;
    };
    let s = server(Backend::Sqlite).expect("server");
    let journey = async {
        c.goto(&format!("{}/", s.base)).await?;
        let q = c.find(Locator::Id("q")).await?;
        q.send_keys("佛山 住宅").await?;
        c.find(Locator::Css("form.search button[type=submit]"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("total")).await?;
        let url = c.current_url().await?;
        assert!(url.query().unwrap_or("").contains("q="), "{url}");
        let total = c.find(Locator::Id("total")).await?.text().await?;
        assert!(total.parse::<u64>().unwrap() > 0, "results for 佛山 住宅");
        let first = c.find(Locator::Css("li.lot a.title")).await?;
        let title = first.text().await?;
        first.click().await?;
        let h1 = c.wait().for_element(Locator::Id("lot-title")).await?;
        assert_eq!(h1.text().await?, title);
        assert!(c.current_url().await?.path().starts_with("/lots/"));
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    journey.expect("browser journey");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_a_flat_by_typed_address_in_chromium() {
    let Some((c, _driver, _profile)) = browser().await else {
        return;
    };
    let s = server(Backend::Sqlite).expect("server");
    let journey = async {
        c.goto(&format!("{}/", s.base)).await?;
        // From the header link, without any permission granted.
        c.find(Locator::Css("header.site a[href='/valuation']"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("valuation-form")).await?;
        assert!(
            c.find_all(Locator::Id("lng")).await?.is_empty(),
            "no location form without the grant"
        );
        c.find(Locator::Id("address"))
            .await?
            .send_keys("望京西园一区")
            .await?;
        c.find(Locator::Id("area_m2"))
            .await?
            .send_keys("89.5")
            .await?;
        c.find(Locator::Id("as_of"))
            .await?
            .send_keys("2017-06-01")
            .await?;
        c.find(Locator::Id("valuate")).await?.click().await?;
        let unit = c.wait().for_element(Locator::Id("unit-price")).await?;
        let unit: u32 = unit.text().await?.parse().expect("a number of 元/m²");
        assert!((40_000..120_000).contains(&unit), "{unit}");
        let rows = c.find_all(Locator::Css("#comparables tbody tr")).await?;
        assert!(rows.len() >= 5, "comparables listed: {}", rows.len());
        c.find(Locator::Css("#trend-chart svg polyline")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    journey.expect("browser journey");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_save_a_search_and_read_messages_in_chromium() {
    let Some((c, _driver, _profile)) = browser().await else {
        return;
    };
    let h =
        crate::harness::Harness::start_with(Backend::Sqlite, time::OffsetDateTime::now_utc(), true)
            .await
            .expect("server");
    let phone = "13700000077";
    let journey = async {
        // Sign up with an SMS code (the development outbox has it).
        c.goto(&h.url("/account/sign-in")).await?;
        c.find(Locator::Id("phone")).await?.send_keys(phone).await?;
        c.find(Locator::Css("#phone-form button[type=submit]"))
            .await?
            .click()
            .await?;
        let code_field = c.wait().for_element(Locator::Id("code")).await?;
        code_field.send_keys(&h.last_code(phone).await).await?;
        c.find(Locator::Id("accept_policy")).await?.click().await?;
        c.find(Locator::Css("#code-form button[type=submit]"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("nickname-form")).await?;
        // Search, then save the search as a 选房条件.
        c.goto(&h.url("/")).await?;
        c.find(Locator::Id("q"))
            .await?
            .send_keys("佛山 住宅")
            .await?;
        c.find(Locator::Id("price_max"))
            .await?
            .send_keys("300")
            .await?;
        c.find(Locator::Css("form.search button[type=submit]"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("save-search")).await?;
        let name = c.find(Locator::Id("save-name")).await?;
        name.clear().await?;
        name.send_keys("佛山三百万以内").await?;
        c.find(Locator::Css("#save-search button[type=submit]"))
            .await?
            .click()
            .await?;
        let table = c.wait().for_element(Locator::Id("searches")).await?;
        assert_eq!(c.current_url().await?.path(), "/account/searches");
        let text = table.text().await?;
        assert!(text.contains("佛山三百万以内"), "{text}");
        assert!(text.contains("提醒中"), "{text}");
        // Follow the first lot of the search.
        c.goto(&h.url("/?q=%E4%BD%9B%E5%B1%B1")).await?;
        c.find(Locator::Css("li.lot a.title"))
            .await?
            .click()
            .await?;
        c.wait()
            .for_element(Locator::Id("follow-button"))
            .await?
            .click()
            .await?;
        let b = c.wait().for_element(Locator::Id("follow-button")).await?;
        assert!(b.text().await?.contains("已关注"));
        // An alerts pass matches the imported lots' pending `new_lot` events against the saved
        // search: the header counts the messages, the message centre lists them with their
        // reason and marks one read.
        let report = anjia_web::alerts::Alerts::with_dev_outboxes(
            h.privacy.clone(),
            anjia_web::alerts::AlertsConfig::default(),
        )
        .run_once()
        .await
        .expect("alerts pass");
        assert!(report.sent_in_app > 0, "{report}");
        c.goto(&h.url("/")).await?;
        let badge = c.find(Locator::Id("unread-count")).await?;
        let unread: u64 = badge.text().await?.parse().unwrap();
        assert_eq!(unread, report.sent_in_app, "{report}");
        c.find(Locator::Id("messages-link")).await?.click().await?;
        let list = c.wait().for_element(Locator::Id("messages")).await?;
        let text = list.text().await?;
        assert!(text.contains("提醒"), "{text}");
        assert_eq!(
            c.find(Locator::Id("inbox-unread")).await?.text().await?,
            unread.to_string()
        );
        c.find(Locator::Css("#messages form button[type=submit]"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("inbox-unread")).await?;
        assert_eq!(
            c.find(Locator::Id("inbox-unread")).await?.text().await?,
            (unread - 1).to_string()
        );
        // The link of an alert opens its lot.
        c.find(Locator::Css("#messages a[href^='/lots/']"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("lot-title")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    journey.expect("browser journey");
}
