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
use taskforce_core::store::Store;
use taskforce_store_postgres::PgStore;
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
    /// Where it stores (to look at what is stored, as an attacker would).
    pub db: TestDb,
    /// The open store, to close it.
    store: OpenStore,
    /// Answers whose status the OpenAPI document does not give for their
    /// operation, seen by the server itself whichever client asked.
    undocumented: Arc<std::sync::Mutex<Vec<String>>>,
    /// The closed database copies are made from (PostgreSQL, after [`TestApp::frozen`]).
    template: Option<String>,
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    /// The PostgreSQL databases dropped with it (its own, and the template
    /// it was frozen to): last, so the server and the store go first.
    _dropped: DropDatabases,
}

/// Drops PostgreSQL test databases when dropped, so that a run of the suite
/// leaves none behind (each holds some 11 MB; a run makes hundreds).
#[derive(Default)]
struct DropDatabases(Vec<String>);

impl Drop for DropDatabases {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.0);
        if names.is_empty() {
            return;
        }
        // On a thread of its own with a runtime of its own: a drop cannot
        // await, and the test's runtime may have one thread only.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                for n in names {
                    let _ = taskforce_store_postgres::drop_database(&pg_server(), &n).await;
                }
            })
        });
        let _ = done.join();
    }
}

/// Whether this run of the suite stores on PostgreSQL
/// (`TASKFORCE_TEST_STORE=postgres`; the README's test command runs the HTTP
/// suite once on each store).
pub fn on_postgres() -> bool {
    std::env::var("TASKFORCE_TEST_STORE").is_ok_and(|s| s == "postgres")
}

/// The PostgreSQL test server (a role that may create databases).
fn pg_server() -> sqlx::postgres::PgConnectOptions {
    let url = std::env::var("TASKFORCE_TEST_PG_URL")
        .expect("TASKFORCE_TEST_STORE=postgres needs TASKFORCE_TEST_PG_URL (scripts/test starts a private server)");
    url.parse().expect("TASKFORCE_TEST_PG_URL is a PostgreSQL URL")
}

/// Where a test server stores.
#[derive(Debug, Clone)]
pub enum TestDb {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A database of its own on the test server, by name.
    Postgres(String),
}

/// An open store of either kind.
#[derive(Clone)]
enum OpenStore {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl OpenStore {
    fn dyn_store(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(s) => s.clone(),
            OpenStore::Postgres(s) => s.clone(),
        }
    }

    async fn close(&self) {
        match self {
            OpenStore::Sqlite(s) => s.close().await,
            OpenStore::Postgres(s) => s.close().await,
        }
    }
}

impl TestDb {
    /// A new, empty database of the run's kind (a SQLite file in `dir`).
    async fn fresh(dir: &std::path::Path) -> TestDb {
        if !on_postgres() {
            return TestDb::Sqlite(dir.join("test.db"));
        }
        let name = format!("tf_api_{}", uuid::Uuid::new_v4().simple());
        taskforce_store_postgres::create_database(&pg_server(), &name).await.unwrap();
        TestDb::Postgres(name)
    }

    /// Opens (and migrates) it.
    async fn open(&self) -> OpenStore {
        match self {
            TestDb::Sqlite(path) => OpenStore::Sqlite(Arc::new(SqliteStore::open(path).await.unwrap())),
            TestDb::Postgres(name) => {
                OpenStore::Postgres(Arc::new(PgStore::connect(pg_server().database(name)).await.unwrap()))
            }
        }
    }

    /// A copy: SQLite's by an online backup into `dir`; PostgreSQL's from
    /// `template`, a database no connection holds.
    async fn copy_to(&self, dir: &std::path::Path, template: Option<&str>) -> TestDb {
        match self {
            TestDb::Sqlite(path) => {
                let db = dir.join("test.db");
                let store = SqliteStore::open(path).await.unwrap();
                store.backup_to(&db).await.unwrap();
                store.close().await;
                TestDb::Sqlite(db)
            }
            TestDb::Postgres(_) => {
                let template = template.expect("a PostgreSQL fixture is copied once frozen (TestApp::frozen)");
                let name = format!("tf_api_{}", uuid::Uuid::new_v4().simple());
                taskforce_store_postgres::create_database_from(&pg_server(), &name, template).await.unwrap();
                TestDb::Postgres(name)
            }
        }
    }

    /// Everything the database holds, as an attacker who copied it would
    /// read it: SQLite's file and its log, byte for byte; on PostgreSQL
    /// every row of every table, as text. Each with where it was read.
    pub async fn stored(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            TestDb::Sqlite(path) => [path.clone(), path.with_extension("db-wal")]
                .into_iter()
                .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap_or_default()))
                .collect(),
            TestDb::Postgres(name) => {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect_with(&pg_server().database(name)).await.unwrap();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::TEXT FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                )
                .fetch_all(&mut c)
                .await
                .unwrap();
                let mut out = Vec::new();
                for t in tables {
                    let rows: Vec<String> =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT t::TEXT FROM \"{t}\" t")))
                            .fetch_all(&mut c)
                            .await
                            .unwrap();
                    out.push((format!("table {t}"), rows.join("\n").into_bytes()));
                }
                out
            }
        }
    }
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
        let db = TestDb::fresh(dir.path()).await;
        let keys = Arc::new(taskforce_core::keys::KeyRing::generate().unwrap());
        let clock = Arc::new(FixedClock::new("2026-11-24T12:00:00Z".parse::<Timestamp>().unwrap()));
        let mut app = Self::start(db, keys, clock, config, settings, true).await;
        app._dir = Some(dir);
        app.own_database();
        app
    }

    /// A demo server whose SQLite database lives in `dir` (which the caller keeps).
    pub async fn spawn_in(dir: &std::path::Path) -> TestApp {
        let keys = Arc::new(taskforce_core::keys::KeyRing::generate().unwrap());
        let clock = Arc::new(FixedClock::new("2026-11-24T12:00:00Z".parse::<Timestamp>().unwrap()));
        let config = WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..WebConfig::default() };
        Self::start(
            TestDb::Sqlite(dir.join("test.db")),
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
        self.another_instance_with(WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..WebConfig::default() })
            .await
    }

    /// [`TestApp::another_instance`] with HTTP settings of its own.
    pub async fn another_instance_with(&self, config: WebConfig) -> TestApp {
        let settings = self.app.settings.clone();
        Self::start(self.db.clone(), self.keys.clone(), self.clock.clone(), config, settings, false).await
    }

    /// A server of its own on a copy of this one's database (an online
    /// backup, as `taskforce backup` takes), with the same key file and a
    /// clock of its own at the same time: a fixture built once and copied
    /// for each case that changes it, many times faster than building it again.
    ///
    /// On PostgreSQL the copy is made from a database no connection holds
    /// (a template): call [`TestApp::frozen`] first.
    pub async fn copy(&self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = self.db.copy_to(dir.path(), self.template.as_deref()).await;
        let clock = Arc::new(FixedClock::new(taskforce_core::clock::Clock::now(&*self.clock)));
        let config = WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..WebConfig::default() };
        let settings = self.app.settings.clone();
        let mut app = Self::start(db, self.keys.clone(), clock, config, settings, false).await;
        app._dir = Some(dir);
        app.own_database();
        app
    }

    /// Its PostgreSQL database is dropped with it (not with another instance on it).
    fn own_database(&mut self) {
        if let TestDb::Postgres(name) = &self.db {
            self._dropped.0.push(name.clone());
        }
    }

    /// This server, frozen as a fixture for [`TestApp::copy`]: on PostgreSQL
    /// its database is closed and kept as the template of every copy, and a
    /// server on a copy of it is answered instead (the same rows, keys and
    /// time); on SQLite it is itself.
    pub async fn frozen(self) -> TestApp {
        let TestDb::Postgres(name) = self.db.clone() else { return self };
        let mut this = self;
        this.store.close().await;
        this.template = Some(name.clone());
        let mut app = this.copy().await;
        app.template = Some(name.clone());
        // The template goes with the frozen server; `this` must not drop it first.
        std::mem::take(&mut this._dropped.0);
        app._dropped.0.push(name);
        app
    }

    async fn start(
        db: TestDb,
        keys: Arc<taskforce_core::keys::KeyRing>,
        clock: Arc<FixedClock>,
        config: WebConfig,
        settings: Settings,
        fresh: bool,
    ) -> TestApp {
        let store = db.open().await;
        let hasher = Argon2Hasher::new(HashCost::TEST_ONLY, None);
        let dummy = hasher.dummy_hash();
        // Without `mfa`, as `serve --demo --demo-skip-mfa`: most tests are about other things.
        let settings = Settings { demo: config.demo, ..settings };
        let app = App::new(store.dyn_store(), clock.clone(), Arc::new(BlockingHasher(hasher)), settings, dummy)
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
            store,
            template: None,
            _dropped: DropDatabases::default(),
            undocumented,
            _dir: None,
            _shutdown: tx,
        }
    }

    /// Everything its database holds (see [`TestDb::stored`]).
    pub async fn stored(&self) -> Vec<(String, Vec<u8>)> {
        self.db.stored().await
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
