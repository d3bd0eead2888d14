//! A small W3C WebDriver client (the handful of endpoints the end-to-end tests use), over ureq.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const ENTER: &str = "\u{E007}";
const BACKSPACE: &str = "\u{E003}";
const CONTROL: &str = "\u{E009}";

pub struct Session {
    agent: ureq::Agent,
    base: String,
    id: String,
    failure_shot: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Element(String);

impl Session {
    /// Starts the application at `app_path` through the driver at `driver_url`.
    pub fn start(driver_url: &str, app_path: &str) -> Result<Session, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "wry", "tauri:options": {"application": app_path}}}});
        let v = call(&agent, "POST", &format!("{driver_url}/session"), Some(caps))?;
        let id = v["sessionId"].as_str().ok_or_else(|| format!("no session id in {v}"))?.to_string();
        Ok(Session { agent, base: format!("{driver_url}/session/{id}"), id, failure_shot: None })
    }

    /// When a wait, click or fill fails, save what the window showed at that moment here.
    pub fn screenshot_failures_to(mut self, path: std::path::PathBuf) -> Session {
        self.failure_shot = Some(path);
        self
    }

    fn failed<V>(&self, r: Result<V, String>) -> Result<V, String> {
        if let (Err(e), Some(path)) = (&r, &self.failure_shot) {
            let _ = self.screenshot(path);
            return Err(format!("{e}\n(the window at that moment: {})", path.display()));
        }
        r
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(&self.agent, method, &format!("{}{path}", self.base), body)
    }

    pub fn find(&self, css: &str) -> Result<Element, String> {
        let v = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})))?;
        v[ELEMENT_KEY]
            .as_str()
            .map(|s| Element(s.to_string()))
            .ok_or_else(|| format!("no element for {css}: {v}"))
    }

    /// Waits until an element matching `css` is present and displayed.
    pub fn wait(&self, css: &str, timeout: Duration) -> Result<Element, String> {
        let r = self.wait_quietly(css, timeout);
        self.failed(r)
    }

    fn wait_quietly(&self, css: &str, timeout: Duration) -> Result<Element, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.find(css) {
                Ok(e) if self.displayed(&e).unwrap_or(false) => return Ok(e),
                Ok(_) => format!("{css} is present but hidden"),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(format!("timed out after {timeout:?} waiting for {css}: {last}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the text of `css` contains `needle`.
    pub fn wait_text(&self, css: &str, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.find(css).and_then(|e| self.text(&e)).unwrap_or_default();
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                return self.failed(Err(format!(
                    "timed out waiting for {css} to contain {needle:?}; it says {text:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn displayed(&self, e: &Element) -> Result<bool, String> {
        Ok(self.call("GET", &format!("/element/{}/displayed", e.0), None)?.as_bool().unwrap_or(false))
    }

    pub fn click(&self, css: &str) -> Result<(), String> {
        let e = self.wait(css, Duration::from_secs(10))?;
        let r = self.click_element(&e);
        self.failed(r)
    }

    fn click_element(&self, e: &Element) -> Result<(), String> {
        // A toast or a closing dialog may cover the element for a moment; a person would wait.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.call("POST", &format!("/element/{}/click", e.0), Some(json!({}))) {
                Err(msg) if msg.contains("intercepted") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                r => return r.map(|_| ()),
            }
        }
    }

    /// Opens the drop-down `select` and picks `option` in it. A drop-down opened while its dialog
    /// is still moving in can close again, or stay covered (seen about once in twenty runs); a
    /// person would close it and open it again, and so does this, up to three times.
    pub fn choose(&self, select: &str, option: &str) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..3 {
            let open = self.find(option).and_then(|e| self.displayed(&e)).unwrap_or(false);
            if !open {
                self.click(select)?;
            }
            match self.wait_quietly(option, Duration::from_secs(3)) {
                Ok(e) => match self.click_element(&e) {
                    Ok(()) => return Ok(()),
                    Err(m) => {
                        last = m;
                        // Close it, so that the next round opens it afresh.
                        self.click(select)?;
                    }
                },
                Err(m) => last = m,
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        self.failed(Err(format!("could not pick {option} in {select}: {last}")))
    }

    /// Replaces what the input holds with `text`, as a person would: select all, delete, type.
    /// (WebDriver's own "clear" sets the value without an input event, which frameworks that
    /// bind the value, like Vue, never see.)
    pub fn fill(&self, css: &str, text: &str) -> Result<(), String> {
        let e = self.wait(css, Duration::from_secs(10))?;
        // Modifiers are released at the end of each call, so select-all is a call of its own.
        let path = format!("/element/{}/value", e.0);
        let r = self
            .call("POST", &path, Some(json!({"text": format!("{CONTROL}a")})))
            .and_then(|_| self.call("POST", &path, Some(json!({"text": format!("{BACKSPACE}{text}")}))));
        self.failed(r.map(|_| ()))
    }

    pub fn text(&self, e: &Element) -> Result<String, String> {
        Ok(self
            .call("GET", &format!("/element/{}/text", e.0), None)?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    pub fn text_of(&self, css: &str) -> Result<String, String> {
        let e = self.wait(css, Duration::from_secs(10))?;
        self.text(&e)
    }

    pub fn execute(&self, script: &str) -> Result<Value, String> {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// Waits for the page to paint twice, so a screenshot shows the current state rather than
    /// the last frame WebKit happened to keep.
    pub fn settle(&self) -> Result<(), String> {
        let script = "const done = arguments[arguments.length - 1]; \
                      requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        self.call("POST", "/execute/async", Some(json!({"script": script, "args": []}))).map(|_| ())
    }

    pub fn screenshot(&self, path: &std::path::Path) -> Result<(), String> {
        let _ = self.settle();
        let v = self.call("GET", "/screenshot", None)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().ok_or("screenshot is not a string")?)
            .map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, png).map_err(|e| e.to_string())
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Session {
    /// Ends the session (closing the app). Also done on drop; idempotent.
    pub fn end(&mut self) {
        if !self.id.is_empty() {
            let _ = call(&self.agent, "DELETE", &self.base, None);
            self.id.clear();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.end();
    }
}

fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let resp = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some(b)) => agent.post(url).send_json(b),
        (_, None) => agent.post(url).send_empty(),
    };
    let mut resp = resp.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status();
    let v: Value =
        resp.body_mut().read_json().map_err(|e| format!("{method} {url}: unreadable reply: {e}"))?;
    if !status.is_success() {
        return Err(format!("{method} {url}: {status}: {}", v["value"]));
    }
    Ok(v["value"].clone())
}
