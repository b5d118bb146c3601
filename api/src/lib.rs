//! The HTTP API: actix-web handlers over the `register`, documented with utoipa.
//! Handlers read and write through `register`; they never write SQL themselves.

pub mod auth;
pub mod error;
pub mod examples;
pub mod middleware;
pub mod openapi;
pub mod packages;
pub mod routes;
pub mod startup;

pub use startup::{AppState, Application};
