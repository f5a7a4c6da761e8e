//! A minimal WebDriver client driving Debian's headless `chromium` through `chromedriver`, for
//! the overview page's tests.
//!
//! Without both programs the browser tests are `ignored`, with the reason (`build.rs` looks for
//! them and sets the `rates_test_browser` cfg); `RATES_TEST_REQUIRE_BROWSER=1` (set by `.ci/run`,
//! which installs them) makes them run, and fail, when either is missing. Browser sessions run
//! one at a time: chromium is heavy and the machine small.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::helpers::TestResult;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Longest wait for the page to reach a state.
pub const PATIENCE: Duration = Duration::from_secs(30);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Whether script runs in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Enabled,
    Disabled,
}

/// A chromedriver process with one chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    profile: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// A headless chromium with a fresh profile and a window of `width` × `height`.
    pub fn start(script: Script, width: u32, height: u32) -> TestResult<Browser> {
        if !(Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file()) {
            return Err(format!(
                "{CHROMIUM} or {CHROMEDRIVER} is missing (Debian: apt-get install chromium \
                 chromium-driver; .ci/run installs them)"
            )
            .into());
        }
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let profile = std::env::temp_dir().join(format!(
            "rates-api-chromium-{}-{}",
            std::process::id(),
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()
        ));
        std::fs::create_dir_all(&profile)?;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            profile,
            _turn: turn,
        };
        browser.wait_for_driver()?;
        browser.open_session(script, width, height)?;
        Ok(browser)
    }

    fn wait_for_driver(&self) -> TestResult {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = ureq::get(&format!("{}/status", self.base))
                .timeout(Duration::from_secs(2))
                .call()
                .ok()
                .and_then(|response| response.into_json::<Value>().ok())
                .and_then(|status| status.pointer("/value/ready").and_then(Value::as_bool));
            if ready == Some(true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("chromedriver did not become ready".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn open_session(&mut self, script: Script, width: u32, height: u32) -> TestResult {
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", self.profile.display()),
        ];
        if script == Script::Disabled {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                    "goog:loggingPrefs": { "browser": "ALL" }
                }
            }
        });
        let answer = self.command("POST", "/session", Some(capabilities))?;
        let id = answer
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("no session id in {answer}"))?;
        self.base = format!("{}/session/{id}", self.base);
        self.command(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )?;
        Ok(())
    }

    /// Sends one WebDriver command and returns its `value`.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> TestResult<Value> {
        let request =
            ureq::request(method, &format!("{}{path}", self.base)).timeout(Duration::from_secs(60));
        let result = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        let answer: Value = match result {
            Ok(response) => response.into_json()?,
            Err(ureq::Error::Status(status, response)) => {
                let text = response.into_string().unwrap_or_default();
                return Err(format!("WebDriver {method} {path}: {status} {text}").into());
            }
            Err(error) => return Err(error.into()),
        };
        Ok(answer.get("value").cloned().unwrap_or(Value::Null))
    }

    /// Loads `url` and waits for the document to finish loading.
    pub fn goto(&self, url: &str) -> TestResult {
        self.command("POST", "/url", Some(json!({ "url": url })))?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub fn run(&self, script: &str, args: Value) -> TestResult<Value> {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Polls `script` until it returns something other than `null` or `false`.
    pub fn wait_for(&self, what: &str, script: &str, args: Value) -> TestResult<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let value = self.run(script, args.clone())?;
            if !matches!(value, Value::Null | Value::Bool(false)) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {what}").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The WebDriver id of the first element matching `css`.
    pub fn find(&self, css: &str) -> TestResult<String> {
        let found = self.command(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        found
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no element {css}").into())
    }

    /// The rendered text of the first element matching `css` (empty when it is not displayed).
    pub fn text(&self, css: &str) -> TestResult<String> {
        let element = self.find(css)?;
        let text = self.command("GET", &format!("/element/{element}/text"), None)?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Whether the first element matching `css` is displayed.
    pub fn displayed(&self, css: &str) -> TestResult<bool> {
        let element = self.find(css)?;
        let shown = self.command("GET", &format!("/element/{element}/displayed"), None)?;
        Ok(shown.as_bool().unwrap_or(false))
    }

    /// Clicks the first element matching `css` (an `<option>` click selects it, as a person would).
    pub fn click(&self, css: &str) -> TestResult {
        let element = self.find(css)?;
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        )?;
        Ok(())
    }

    /// Clears the field matching `css` and types `text` into it.
    pub fn type_into(&self, css: &str, text: &str) -> TestResult {
        let element = self.find(css)?;
        self.command(
            "POST",
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )?;
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )?;
        Ok(())
    }

    /// Sends keys to the focused element's target `css` (WebDriver key codes allowed).
    pub fn keys(&self, css: &str, keys: &str) -> TestResult {
        let element = self.find(css)?;
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": keys })),
        )?;
        Ok(())
    }

    /// The browser console's entries since the last call, as `(level, message)`.
    pub fn console(&self) -> TestResult<Vec<(String, String)>> {
        let entries = self.command("POST", "/se/log", Some(json!({ "type": "browser" })))?;
        Ok(entries
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|entry| {
                let field = |name: &str| {
                    entry
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                (field("level"), field("message"))
            })
            .collect())
    }

    /// A PNG of the whole page (the window is grown until the viewport holds the document).
    pub fn screenshot(&self, width: u32) -> TestResult<Vec<u8>> {
        let mut height = 0;
        for _ in 0..3 {
            let missing = self
                .run(
                    "return Math.ceil(document.documentElement.scrollHeight - window.innerHeight);",
                    json!([]),
                )?
                .as_i64()
                .ok_or("no document height")?;
            let window = self.command("GET", "/window/rect", None)?;
            let current = window
                .get("height")
                .and_then(Value::as_i64)
                .ok_or("no window height")?;
            if missing <= 0 && height != 0 {
                break;
            }
            height = u32::try_from((current + missing.max(0)).clamp(200, 8000))?;
            self.command(
                "POST",
                "/window/rect",
                Some(json!({ "width": width, "height": height })),
            )?;
        }
        let encoded = self.command("GET", "/screenshot", None)?;
        decode_base64(encoded.as_str().ok_or("no screenshot")?)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.base.contains("/session/") {
            let _ = ureq::delete(&self.base)
                .timeout(Duration::from_secs(20))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64 (WebDriver screenshots), without a dependency for one use.
fn decode_base64(text: &str) -> TestResult<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            other => return Err(format!("not base64: {other}").into()),
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from((buffer >> bits) & 0xff)?);
        }
    }
    Ok(bytes)
}

#[test]
fn base64_decodes_padding_and_all_symbols() -> TestResult {
    assert_eq!(decode_base64("aGk=")?, b"hi");
    assert_eq!(decode_base64("aGV5")?, b"hey");
    assert_eq!(decode_base64("+/8=")?, [0xfb, 0xff]);
    assert!(decode_base64("a*b").is_err());
    Ok(())
}
