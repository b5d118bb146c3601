//! The binary itself: configuration errors, migrate, serve and shutdown.

use std::process::Output;

use register::testing::TestDb;

use crate::support::{Served, ocreg};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn unknown_key_in_config_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ocreg.toml"),
        "bind = \"127.0.0.1:1\"\ncolour = 1\n",
    )
    .unwrap();
    let output = ocreg(dir.path()).arg("migrate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("ocreg.toml") && err.contains("colour"),
        "{err}"
    );
    assert!(err.contains("line 2"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created on a bad config"
    );
}

#[test]
fn unknown_environment_setting_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = ocreg(dir.path())
        .env("OCREG_DATABSE_URL", "sqlite://x.db")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("OCREG_DATABSE_URL"), "{err}");
}

#[test]
fn explicit_config_file_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let output = ocreg(dir.path())
        .args(["--config", "missing.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("missing.toml"));
}

#[test]
fn unsupported_database_url_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let output = ocreg(dir.path())
        .args(["--database", "mysql://localhost/x", "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("mysql://localhost/x") && err.contains("sqlite://"),
        "{err}"
    );
}

#[test]
fn migrate_creates_the_default_sqlite_database_then_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let first = ocreg(dir.path()).arg("migrate").output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(dir.path().join("data/ocreg.db").is_file());
    let count = register::db::migration_names(register::Backend::Sqlite).len();
    assert!(
        stderr(&first).contains(&format!("{count} migration(s) applied")),
        "{}",
        stderr(&first)
    );
    let again = ocreg(dir.path()).arg("migrate").output().unwrap();
    assert!(stderr(&again).contains("up to date"), "{}", stderr(&again));
}

#[test]
fn environment_overrides_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ocreg.toml"),
        "database_url = \"sqlite://file.db\"\n",
    )
    .unwrap();
    let output = ocreg(dir.path())
        .env("OCREG_DATABASE_URL", "sqlite://env.db")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("env.db").is_file());
    assert!(!dir.path().join("file.db").exists());
}

#[tokio::test]
async fn serve_answers_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new();
    let url = test_db.url_string();
    let served = Served::start(dir.path(), &["--database", &url]);
    let body: serde_json::Value = reqwest::get(format!("{}/health", served.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["database"], test_db.url.backend().name());
    assert!(
        served.terminate(),
        "ocreg serve did not exit cleanly on SIGTERM"
    );
}

#[tokio::test]
async fn serve_uses_the_default_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &[]);
    let response = reqwest::get(format!("{}/health", served.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(dir.path().join("data/ocreg.db").is_file());
}

#[test]
fn openapi_command_prints_the_committed_document() {
    let dir = tempfile::tempdir().unwrap();
    let output = ocreg(dir.path()).arg("openapi").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        include_str!("../../openapi/openapi.json")
    );
}
