//! End-to-end tests: the API over real HTTP on 127.0.0.1 and the `ocreg` binary, against a
//! fresh database per test on the backend `TEST_DATABASE_URL` selects (SQLite by default).
//! One test binary, so the workspace links it once.

mod cli;
mod commissioning;
mod docs;
mod downloads;
mod extension;
mod feeds;
mod finance;
mod finance_sync;
mod finance_views;
mod health;
mod http;
mod identity;
mod import;
mod migrations;
mod ocds_cli;
mod openapi;
mod privacy;
mod publish;
mod support;
mod sync;
mod tokens;
mod views;
