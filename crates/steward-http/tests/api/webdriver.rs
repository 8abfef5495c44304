//! A small W3C WebDriver client for Debian's chromedriver and headless Chromium: enough to
//! fill forms, click, read text and take screenshots. Blocking, one request per connection.
//!
//! Every page the browser arrives at is checked with axe-core before the test goes on, so no
//! test can forget to: `goto` and `click` check the page they land on, and the last page is
//! checked when the browser is dropped. A serious or critical violation, or an id used twice,
//! fails the test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    axe: String,
    _profile: tempfile::TempDir,
}

/// Where `scripts/test` installs axe-core with npm (pinned in that folder's lock file).
fn axe_source() -> String {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let file = folder.join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing ({}: {e}); the browser tests check every page with it. \
             Install it with: (cd {} && npm ci --no-audit --no-fund)",
            file.display(),
            folder.display()
        )
    })
}

/// Whether the page in the window is one of ours still unchecked: an HTML document over HTTP
/// (a download shown as text is no page), and whether axe-core is already in it.
const AXE_STATE: &str = "return { \
    due: location.protocol.startsWith('http') && document.contentType === 'text/html' \
         && !window.__stewardAxeChecked, \
    loaded: typeof window.axe !== 'undefined', url: location.href };";

/// WCAG 2.1 A and AA and axe-core's best practices; the serious and critical violations, and
/// any id used twice: axe-core 4.7 retired its duplicate-id rules from WCAG 2.2's parsing
/// criterion and only asks for a review of an id that a label or ARIA points at, yet a
/// `for` or `aria-describedby` still reaches the first element of that id only.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
const duplicate = id => id.startsWith('duplicate-id');
axe.run(document, {
    runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
    rules: { 'duplicate-id': { enabled: true }, 'duplicate-id-active': { enabled: true } },
}).then(r => {
    window.__stewardAxeChecked = true;
    const faults = r.violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical' || duplicate(v.id))
        .concat(r.incomplete.filter(v => duplicate(v.id)));
    done({ violations: faults.map(v => ({ id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(' ')) })) });
}).catch(e => done({ error: String(e) }));
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // chromedriver may keep the connection open: read the head, then Content-Length bytes.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break raw.len();
        }
        raw.extend_from_slice(&chunk[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    while length.is_none_or(|len| raw.len() - head_end < len) {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    Ok(serde_json::from_slice(&raw[head_end..]).unwrap_or(Value::Null))
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium profile.
    pub fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) must be installed");
        let started = Instant::now();
        while http(port, "GET", "/status", None).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let answer = http(port, "POST", "/session", Some(&caps)).expect("new session");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        let browser = Browser {
            driver,
            port,
            session,
            axe: axe_source(),
            _profile: profile,
        };
        // Elements a page is still loading are waited for, up to this long; a check of a long
        // page may take a few seconds.
        browser.call(
            "POST",
            "/timeouts",
            Some(json!({ "implicit": 5000, "script": 60000 })),
        );
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"))
    }

    /// A WebDriver command; its error object when it failed.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let path = format!("/session/{}{path}", self.session);
        let answer = http(self.port, method, &path, body.as_ref()).expect("webdriver call");
        if answer["value"]["error"].is_string() {
            return Err(answer["value"].clone());
        }
        Ok(answer["value"].clone())
    }

    /// Runs `op` on the element `css` selects, finding it again when the page was replaced
    /// between finding and using it (the answer to a form arriving meanwhile).
    fn on_element(&self, css: &str, op: impl Fn(&str) -> Result<Value, Value>) -> Value {
        let stale = |e: &Value| {
            e["error"] == "stale element reference"
                || e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("does not belong to the document"))
        };
        for _ in 0..40 {
            match op(&self.find(css)) {
                Ok(v) => return v,
                Err(e) if stale(&e) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("webdriver on {css}: {e}"),
            }
        }
        panic!("{css} was replaced each time it was found")
    }

    pub fn goto(&self, url: &str) {
        // A page a click reached after the click returned is checked before it is left.
        self.check_page();
        self.call("POST", "/url", Some(json!({ "url": url })));
        self.check_page();
    }

    /// Checks the page in the window with axe-core, once per page, and fails on any fault
    /// `AXE_RUN` reports, naming the rule, the elements and the page.
    fn check_page(&self) {
        if let Err(report) = self.axe_check() {
            panic!("{report}");
        }
    }

    fn axe_check(&self) -> Result<(), String> {
        let state = self.script(AXE_STATE);
        if state["due"] != true {
            return Ok(());
        }
        let url = state["url"].as_str().unwrap_or_default();
        if state["loaded"] != true {
            self.script(&self.axe);
        }
        let found = self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": AXE_RUN, "args": [] })),
        );
        if let Some(error) = found["error"].as_str() {
            return Err(format!("axe-core could not check {url}: {error}"));
        }
        let violations = found["violations"].as_array().cloned().unwrap_or_default();
        if violations.is_empty() {
            return Ok(());
        }
        let mut report = format!("accessibility violations on {url}:\n");
        for v in &violations {
            report.push_str(&format!(
                "  {} ({}): {}\n",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("")
            ));
            for target in v["targets"].as_array().into_iter().flatten() {
                report.push_str(&format!("    {}\n", target.as_str().unwrap_or("?")));
            }
        }
        Err(report)
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Whether the page shows `text` within a few seconds (a click's navigation may still be
    /// finishing when the click returns).
    pub fn shows(&self, text: &str) -> bool {
        let started = Instant::now();
        loop {
            if self.source().contains(text) {
                return true;
            }
            if started.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether an element `css` selects comes to exist within `within`: for what a page
    /// streams at the end of work whose length the test does not decide (an import on a busy
    /// machine), where the few seconds of the other waits are too few.
    pub fn appears(&self, css: &str, within: Duration) -> bool {
        let started = Instant::now();
        while !self.exists(css) {
            if started.elapsed() > within {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }

    /// Whether the text of the element `css` selects comes to hold `needle` within a few
    /// seconds: the answer to a click may still be on its way when the next step looks.
    pub fn text_has(&self, css: &str, needle: &str) -> bool {
        let started = Instant::now();
        loop {
            if self.exists(css) && self.text(css).contains(needle) {
                return true;
            }
            if started.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the browser leaves a URL ending in `suffix` within a few seconds: a form's
    /// answer may still be on its way when the click returns, and a `goto` issued meanwhile
    /// can be overtaken by it.
    pub fn leaves(&self, suffix: &str) -> bool {
        let started = Instant::now();
        while self.url().ends_with(suffix) {
            if started.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    /// Whether the browser arrives at a URL ending in `suffix` within a few seconds.
    pub fn arrives(&self, suffix: &str) -> bool {
        let started = Instant::now();
        while !self.url().ends_with(suffix) {
            if started.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    pub fn find(&self, css: &str) -> String {
        if !self.exists(css) {
            panic!(
                "no element {css} on {}:\n{}",
                self.url(),
                self.source().chars().take(3000).collect::<String>()
            );
        }
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    pub fn exists(&self, css: &str) -> bool {
        let found = http(
            self.port,
            "POST",
            &format!("/session/{}/elements", self.session),
            Some(&json!({"using": "css selector", "value": css})),
        )
        .expect("webdriver call");
        found["value"].as_array().is_some_and(|a| !a.is_empty())
    }

    pub fn text(&self, css: &str) -> String {
        self.on_element(css, |el| {
            self.try_call("GET", &format!("/element/{el}/text"), None)
        })
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub fn fill(&self, css: &str, value: &str) {
        self.on_element(css, |el| {
            self.try_call("POST", &format!("/element/{el}/clear"), Some(json!({})))?;
            self.try_call(
                "POST",
                &format!("/element/{el}/value"),
                Some(json!({ "text": value })),
            )
        });
    }

    /// Chooses a file in a file input, as a person picking it in the dialog.
    pub fn attach(&self, css: &str, path: &Path) {
        let path = path.display().to_string();
        self.on_element(css, |el| {
            self.try_call(
                "POST",
                &format!("/element/{el}/value"),
                Some(json!({ "text": path })),
            )
        });
    }

    pub fn click(&self, css: &str) {
        self.check_page();
        self.on_element(css, |el| {
            self.try_call("POST", &format!("/element/{el}/click"), Some(json!({})))
        });
        self.check_page();
    }

    /// Runs `script` in the page (WebDriver's own channel, which the page's policy does not
    /// govern) and returns what it returns.
    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Presses and releases one key: `\u{E004}` is Tab (WebDriver's key codes).
    pub fn press(&self, key: char) {
        self.call(
            "POST",
            "/actions",
            Some(
                json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                    { "type": "keyDown", "value": key.to_string() },
                    { "type": "keyUp", "value": key.to_string() },
                ]}]}),
            ),
        );
    }

    /// Resizes the window, for pages that must scroll.
    pub fn window_size(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// The value of one of the page's cookies.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let path = format!("/session/{}/cookie/{name}", self.session);
        let answer = http(self.port, "GET", &path, None).ok()?;
        answer["value"]["value"].as_str().map(str::to_string)
    }

    pub fn delete_cookies(&self) {
        self.call("DELETE", "/cookie", None);
    }

    /// Saves a PNG of the viewport to `dir/name.png`.
    pub fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        use base64::Engine;
        let data = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("png");
        std::fs::create_dir_all(dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The page a test ends on, checked before the browser goes and reported after; a test
        // already failing has said what went wrong.
        let last_page = if std::thread::panicking() {
            Ok(())
        } else {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.axe_check()))
                .unwrap_or_else(|_| Err("the last page could not be checked".into()))
        };
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Err(report) = last_page {
            panic!("{report}");
        }
    }
}
