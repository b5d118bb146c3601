//! Helpers every end-to-end test uses: an app on a free port with its own database, and the
//! `ocreg` binary.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use api::{AppState, Application};
use register::{DbPool, testing::TestDb};

/// A running app on 127.0.0.1 with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Kept so the database outlives the server.
    pub db: Option<TestDb>,
}

impl TestApp {
    /// Spawns the app against a fresh, migrated database of the backend under test.
    pub async fn spawn() -> Self {
        let db = TestDb::new();
        let pool = db.pool();
        let backend = db.url.backend();
        Self::spawn_with_pool(pool, backend, Some(db))
    }

    /// Spawns the app over any pool (for example one whose database is unreachable).
    pub fn spawn_with_pool(pool: DbPool, backend: register::Backend, db: Option<TestDb>) -> Self {
        Self::spawn_with_state(AppState::new(pool, backend), db)
    }

    /// Spawns the app with hand-made state (limits, publisher).
    pub fn spawn_with_state(state: AppState, db: Option<TestDb>) -> Self {
        let app =
            Application::build("127.0.0.1:0", state, 1).expect("bind a free port on 127.0.0.1");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("build an HTTP client"),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the request reaches the app")
    }

    /// Every page of a paged listing, following `links.next` from `path`.
    pub async fn every_page(&self, path: &str) -> Vec<serde_json::Value> {
        let mut pages = Vec::new();
        let mut next = Some(self.url(path));
        while let Some(url) = next {
            let response = self.client.get(&url).send().await.expect("reach the app");
            assert_eq!(response.status(), 200, "{url}");
            let page: serde_json::Value = response.json().await.expect("a JSON page");
            next = page["links"]["next"].as_str().map(str::to_owned);
            pages.push(page);
        }
        pages
    }

    /// A new token (its secret) that may publish for `orgs`, named after them.
    pub fn token(&self, orgs: &[&str]) -> String {
        let db = self.db.as_ref().expect("an app with its own database");
        let mut conn = db.url.connect().expect("connect to the test database");
        let orgs: Vec<String> = orgs.iter().map(|o| (*o).to_owned()).collect();
        register::tokens::create(&mut conn, &format!("{} token", orgs.join("+")), &orgs)
            .expect("create a token")
            .1
    }

    /// `POST /api/v1/releases` of `body` (a release or package) with `token`.
    pub async fn publish(&self, token: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/releases"))
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body(body.to_string())
            .send()
            .await
            .expect("the request reaches the app")
    }
}

/// The `ocreg` binary, run in `dir` with no `OCREG_*` settings inherited from the caller.
pub fn ocreg(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocreg"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("OCREG_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// A served binary that is stopped (SIGTERM) when dropped.
pub struct Served {
    pub child: Child,
    pub address: String,
}

impl Served {
    /// Starts `ocreg serve` with `args` on a free port and waits until it says it serves.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = ocreg(dir)
            .arg("serve")
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ocreg serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let address = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("ocreg serve exited before serving:\n{}", seen.join("\n"));
            };
            if let Some(rest) = line.split("serving on ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            seen.push(line);
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, address }
    }

    /// Sends SIGTERM and returns whether the process exited cleanly.
    pub fn terminate(mut self) -> bool {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait for ocreg");
        exit.success()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
