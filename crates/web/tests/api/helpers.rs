//! `TestApp::spawn()`: a fresh database with the demo loaded (every demo user's
//! password is `DEMO_PW`), the real router served on an ephemeral loopback
//! port, a clock the test controls.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use taskforce_core::actor::Actor;
use taskforce_core::clock::FixedClock;
use taskforce_core::password::{Argon2Hasher, HashCost};
use taskforce_core::service::{App, Settings};
use taskforce_store_sqlite::SqliteStore;
use taskforce_web::hasher::BlockingHasher;
use taskforce_web::{AppState, WebConfig};

pub const DEMO_PW: &str = "demo-password-123";

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub clock: Arc<FixedClock>,
    pub client: Client,
    keys: Arc<taskforce_core::keys::KeyRing>,
    /// The SQLite file (to look at what is stored, as an attacker would).
    pub db: std::path::PathBuf,
    /// Answers whose status the OpenAPI document does not give for their
    /// operation, seen by the server itself whichever client asked.
    undocumented: Arc<std::sync::Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        // A generous sign-in limit: tests sign in often from one address; one test checks the real limit.
        Self::spawn_with(WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..WebConfig::default() }).await
    }

    pub async fn spawn_with(config: WebConfig) -> TestApp {
        Self::spawn_full(config, false).await
    }

    /// A demo server that asks for the second factor, as a real one does.
    pub async fn spawn_mfa() -> TestApp {
        Self::spawn_full(
            WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, demo: true, ..WebConfig::default() },
            true,
        )
        .await
    }

    async fn spawn_full(config: WebConfig, mfa: bool) -> TestApp {
        Self::spawn_settings(config, Settings { mfa_required: mfa, ..Settings::default() }).await
    }

    /// A demo server with these use-case settings.
    pub async fn spawn_settings(config: WebConfig, settings: Settings) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db");
        let keys = Arc::new(taskforce_core::keys::KeyRing::generate().unwrap());
        let clock = Arc::new(FixedClock::new("2026-11-24T12:00:00Z".parse::<Timestamp>().unwrap()));
        let mut app = Self::start(db, keys, clock, config, settings, true).await;
        app._dir = Some(dir);
        app
    }

    /// A demo server whose database lives in `dir` (which the caller keeps).
    pub async fn spawn_in(dir: &std::path::Path) -> TestApp {
        let keys = Arc::new(taskforce_core::keys::KeyRing::generate().unwrap());
        let clock = Arc::new(FixedClock::new("2026-11-24T12:00:00Z".parse::<Timestamp>().unwrap()));
        let config = WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..WebConfig::default() };
        Self::start(
            dir.join("test.db"),
            keys,
            clock,
            config,
            Settings { mfa_required: false, ..Settings::default() },
            true,
        )
        .await
    }

    /// A second server on the same database (as a second instance behind a
    /// load balancer would be): its own caches, the same rows.
    pub async fn another_instance(&self) -> TestApp {
        let settings = self.app.settings.clone();
        let config = WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..WebConfig::default() };
        Self::start(self.db.clone(), self.keys.clone(), self.clock.clone(), config, settings, false).await
    }

    /// A server of its own on a copy of this one's database (an online
    /// backup, as `taskforce backup` takes), with the same key file and a
    /// clock of its own at the same time: a fixture built once and copied
    /// for each case that changes it, many times faster than building it again.
    pub async fn copy(&self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db");
        let store = SqliteStore::open(&self.db).await.unwrap();
        store.backup_to(&db).await.unwrap();
        store.close().await;
        let clock = Arc::new(FixedClock::new(taskforce_core::clock::Clock::now(&*self.clock)));
        let config = WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..WebConfig::default() };
        let settings = self.app.settings.clone();
        let mut app = Self::start(db, self.keys.clone(), clock, config, settings, false).await;
        app._dir = Some(dir);
        app
    }

    async fn start(
        db: std::path::PathBuf,
        keys: Arc<taskforce_core::keys::KeyRing>,
        clock: Arc<FixedClock>,
        config: WebConfig,
        settings: Settings,
        fresh: bool,
    ) -> TestApp {
        let store = Arc::new(SqliteStore::open(&db).await.unwrap());
        let hasher = Argon2Hasher::new(HashCost::TEST_ONLY, None);
        let dummy = hasher.dummy_hash();
        // Without `mfa`, as `serve --demo --demo-skip-mfa`: most tests are about other things.
        let settings = Settings { demo: config.demo, ..settings };
        let app = App::new(store, clock.clone(), Arc::new(BlockingHasher(hasher)), settings, dummy)
            .with_keys(Arc::new(taskforce_core::keys::StaticKeys(keys.clone())));
        if fresh {
            app.sync_reference_data().await.unwrap();
            app.load_demo(&Actor::local_admin(), Some(DEMO_PW)).await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState::new(app.clone(), config);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let undocumented = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = undocumented.clone();
        let router = taskforce_web::router(state).layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let seen = seen.clone();
                async move {
                    let method = req.method().as_str().to_ascii_lowercase();
                    let path = req.uri().path().to_owned();
                    let r = next.run(req).await;
                    if let Some(e) = undocumented_status(&method, &path, r.status().as_u16()) {
                        seen.lock().unwrap().push(e);
                    }
                    r
                }
            },
        ));
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        // reqwest is built with rustls here (for the CLI's HTTPS test): choose its provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp {
            base: format!("http://{addr}"),
            app,
            clock,
            client,
            keys,
            db,
            undocumented,
            _dir: None,
            _shutdown: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    /// Signs in and returns the bearer token.
    pub async fn token(&self, username: &str) -> String {
        let r = self.sign_in(username, DEMO_PW).await;
        assert_eq!(r.status(), StatusCode::CREATED, "sign-in of {username}");
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/sessions"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// The demo operation's id, as the demo commander sees it.
    pub async fn demo_operation_id(&self, token: &str) -> String {
        let list: Value = self.get("/api/v1/operations", token).await.json().await.unwrap();
        list["items"].as_array().unwrap().iter().find(|o| o["code"] == "united-front-2021").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// An agency's id by short name (any signed-in user may list agencies).
    pub async fn agency_id(&self, token: &str, short: &str) -> String {
        let list: Value = self.get("/api/v1/agencies?limit=1000", token).await.json().await.unwrap();
        list["items"].as_array().unwrap().iter().find(|a| a["short_name"] == short).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl TestApp {
    /// The current TOTP code of a user (the test plays the phone: it opens the sealed secret).
    pub async fn current_code(&self, username: &str) -> String {
        use taskforce_core::store::TxMode;
        let admin = Actor::local_admin();
        let user = self.app.find_user_by_username(&admin, username).await.unwrap();
        let mut tx = self.app.store.begin(TxMode::Read).await.unwrap();
        let st = tx.totp_state(user.id).await.unwrap();
        let row = user.id.to_string();
        let place = taskforce_core::seal::Place { table: "users", row: &row, field: "totp_secret" };
        let secret = self.app.open_value(tx.as_mut(), "system", &place, &st.secret.unwrap()).await.unwrap();
        taskforce_core::totp::code_at(&secret, taskforce_core::clock::Clock::now(self.clock.as_ref())).unwrap()
    }

    /// Every audit record so far.
    pub async fn audit(&self) -> Vec<taskforce_core::audit::AuditRecord> {
        let admin = Actor::local_admin();
        let mut all = Vec::new();
        loop {
            let after = all.last().map_or(0, |r: &taskforce_core::audit::AuditRecord| r.seq);
            let page = self.app.audit_page(&admin, after, 1000).await.unwrap();
            if page.is_empty() {
                return all;
            }
            all.extend(page);
        }
    }
}

/// Asserts a problem response: status, code, and (when given) an offending field.
pub async fn assert_problem(r: Response, status: StatusCode, code: &str, field: Option<&str>) -> Value {
    assert_eq!(r.status(), status, "status");
    let ct = r.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert_eq!(ct, "application/problem+json");
    let header_id = r.headers().get("x-request-id").unwrap().to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["request_id"], header_id.as_str());
    if let Some(f) = field {
        let fields: Vec<&str> =
            body["fields"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&f), "expected field {f} in {fields:?}");
    }
    body
}

/// A valid agency body with a unique short name.
pub fn agency_body(short: &str) -> Value {
    json!({
        "name": format!("{short} Police Department"),
        "short_name": short,
        "kind": "municipal",
        "home_state": "US-IA",
        "ori": null,
        "duty_contact": {"name": "Dispatch", "phone": "+1 515 555 0199"}
    })
}

/// Every status the API suite receives is documented for its operation in
/// the OpenAPI document. The server records what it answered (whichever
/// client asked) and the test fails when its app is dropped.
impl Drop for TestApp {
    fn drop(&mut self) {
        let seen = std::mem::take(&mut *self.undocumented.lock().unwrap_or_else(|e| e.into_inner()));
        if !seen.is_empty() && !std::thread::panicking() {
            panic!("answers the OpenAPI document does not document:\n{}", seen.join("\n"));
        }
    }
}

/// Why `status` for `method path` is not in the OpenAPI document, if it is not.
fn undocumented_status(method: &str, path: &str, status: u16) -> Option<String> {
    use std::sync::OnceLock;
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    let doc = DOC.get_or_init(taskforce_web::openapi);
    let segments: Vec<&str> = path.split('/').collect();
    // Pages and unknown paths are not the API's.
    let (template, item) = doc.paths.paths.iter().find(|(t, _)| {
        let ts: Vec<&str> = t.split('/').collect();
        ts.len() == segments.len() && ts.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s)
    })?;
    let op = match method {
        "get" => item.get.as_ref(),
        "post" => item.post.as_ref(),
        "put" => item.put.as_ref(),
        "patch" => item.patch.as_ref(),
        "delete" => item.delete.as_ref(),
        _ => None,
    };
    // A method the path does not have answers 405, documented by its absence.
    let op = op?;
    (!op.responses.responses.contains_key(&status.to_string()))
        .then(|| format!("{} {template} answered {status}", method.to_uppercase()))
}

/// Signs `user` in on the pages and gives the session cookie (`name=value`).
pub async fn cookie_for(app: &TestApp, user: &str) -> String {
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", user), ("password", DEMO_PW), ("next", "/operations")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/operations");
    let c = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(c.starts_with("taskforce_session="));
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
    c.split(';').next().unwrap().to_string()
}
