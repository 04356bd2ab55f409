//! The main journey in a real headless browser (Debian's chromium + chromedriver): open the search
//! page, submit a query, open a lot.

use crate::support::{Backend, server};
use fantoccini::{ClientBuilder, Locator};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_submit_and_open_a_lot_in_chromium() {
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
        return;
    }
    let s = server(Backend::Sqlite).expect("server");
    let port = free_port();
    let _driver = Driver(
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
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("connected to chromedriver");
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
