//! Cross-cutting HTTP behaviour, wrapped around every route in [`crate::startup`]:
//!
//! - [`cors`]: reads are open to every origin (`Access-Control-Allow-Origin: *` on GET and HEAD,
//!   preflights for them answered); writes get no CORS grant.
//! - [`rate_limit`]: a token bucket per client IP address; over it, 429 with `Retry-After`.
//! - [`etag`]: a strong `ETag` from the body of successful in-memory GET responses, and 304 Not
//!   Modified for a matching `If-None-Match`.
//!
//! Each is a hand-written `Transform` whose future is a plain enum or `map_ok` over the inner
//! service's future (no boxing), since every request of a load test passes through all three.

pub mod cors;
pub mod etag;
pub mod rate_limit;

/// The path that is neither rate limited nor given an ETag: probes call it often and its answer
/// says how things are now.
pub(crate) const HEALTH_PATH: &str = "/health";
