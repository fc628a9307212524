//! Headless Chromium (Debian's `chromium` and `chromium-driver`) over WebDriver, and the
//! few page actions the browser tests repeat.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, MutexGuard};

use super::{Backend, PASSWORD, TestApp, spawn_app};

/// One browser at a time: two cores are not enough for parallel Chromiums and the rest.
pub static ONE_BROWSER: Mutex<()> = Mutex::const_new(());

pub struct Chrome {
    pub client: Client,
    /// chromedriver's own address, for WebDriver extension commands fantoccini lacks.
    pub driver: String,
    _driver: Child,
    _profile: tempfile::TempDir,
}

pub async fn start_chrome() -> Option<Chrome> {
    let (driver_bin, chrome_bin) = ("/usr/bin/chromedriver", "/usr/bin/chromium");
    if !std::path::Path::new(driver_bin).exists() || !std::path::Path::new(chrome_bin).exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI needs chromium and chromium-driver"
        );
        eprintln!("skipping browser test: install Debian's chromium and chromium-driver");
        return None;
    }
    let mut driver = Command::new(driver_bin)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let mut lines = BufReader::new(driver.stdout.take().expect("stdout")).lines();
    let port = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                return rest.trim_end_matches('.').trim().parse::<u16>().ok();
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("chromedriver port");
    let profile = tempfile::tempdir().expect("profile dir");
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chrome_bin,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1000,800",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
    Some(Chrome {
        client,
        driver: format!("http://127.0.0.1:{port}"),
        _driver: driver,
        _profile: profile,
    })
}

pub async fn wait_for_url(client: &Client, prefix: &str) -> String {
    let start = Instant::now();
    loop {
        let url = client.current_url().await.expect("url").to_string();
        if url.starts_with(prefix) {
            return url;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never reached {prefix}; at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The one browser's turn, a server and a Chromium; `None` where either cannot run.
pub async fn with_chrome(backend: Backend) -> Option<(MutexGuard<'static, ()>, TestApp, Chrome)> {
    let one = ONE_BROWSER.lock().await;
    let app = spawn_app(backend).await?;
    let chrome = start_chrome().await?;
    Some((one, app, chrome))
}

/// `with_chrome` with a server configured by `tweak`.
pub async fn with_chrome_config(
    backend: Backend,
    tweak: impl FnOnce(&mut tollgate::config::Config),
) -> Option<(MutexGuard<'static, ()>, TestApp, Chrome)> {
    let one = ONE_BROWSER.lock().await;
    let app = crate::helpers::spawn_app_with(backend, tweak).await?;
    let chrome = start_chrome().await?;
    Some((one, app, chrome))
}

pub fn enter() -> String {
    char::from(Key::Enter).to_string()
}

/// The element `#id`, once the page shows it.
pub async fn element(b: &Client, id: &str) -> Element {
    b.wait()
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
}

pub async fn text_of(b: &Client, id: &str) -> String {
    element(b, id).await.text().await.expect("text")
}

pub async fn value_of(b: &Client, id: &str) -> String {
    element(b, id)
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

pub async fn click(b: &Client, id: &str) {
    element(b, id)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

pub async fn type_into(b: &Client, id: &str, text: &str) {
    let field = element(b, id).await;
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

pub async fn sign_in(b: &Client, app: &TestApp, email: &str) {
    b.goto(&app.url("/console")).await.expect("open console");
    type_into(b, "email", email).await;
    type_into(b, "password", &format!("{PASSWORD}{}", enter())).await;
}
