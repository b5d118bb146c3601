//! The HTTP client of the feed adapters: request spacing, retries with back-off, `Retry-After`,
//! and the rate-limit quirks of Find a Tender (429 with a plain-text body) and Contracts Finder
//! (403 with an HTML page).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How much of an error body goes into an error message or a log line.
const BODY_EXCERPT_CHARS: usize = 300;

/// Timeouts, retry budget and pacing of one [`FeedClient`].
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// The whole request, including reading the body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts per URL (the first one included) before a transient failure is reported.
    pub max_attempts: u32,
    /// Cap of the first back-off; the cap doubles on each further attempt ("full jitter": the
    /// actual wait is uniform in `[0, cap]`).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Minimum time between the starts of two requests made through the same client (retries
    /// included). Find a Tender allows about 12 requests per rolling 2 minutes.
    pub request_interval: Duration,
    /// A server's `Retry-After` longer than this is cut down to it.
    pub retry_after_max: Duration,
    /// Wait after Contracts Finder's 403 rate-limit page, which carries no `Retry-After`; its
    /// documentation asks for 5 minutes.
    pub rate_limited_wait: Duration,
    pub user_agent: String,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 6,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(5 * 60),
            request_interval: Duration::ZERO,
            retry_after_max: Duration::from_secs(15 * 60),
            rate_limited_wait: Duration::from_secs(300),
            user_agent: concat!("ocreg-sync/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A successfully fetched and parsed response.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    pub url: String,
    pub status: u16,
    pub content_type: Option<String>,
    /// The body after content decoding (gzip), exactly as parsed: kept as provenance.
    pub body: Vec<u8>,
    pub value: T,
    /// Requests made for this URL, the successful one included.
    pub attempts: u32,
    /// Time spent sleeping: request spacing, back-off and `Retry-After`.
    pub waited: Duration,
}

/// Why a fetch failed. Every message names the URL, the last status or error and the number of
/// attempts, except [`FetchError::Client`], which happens before any request exists.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A status that asking again will not change (4xx other than 429 and Contracts Finder's
    /// rate-limit 403, or an unexpected 1xx/3xx).
    #[error("GET {url}: HTTP {status} after {attempts} attempt(s), not retried; body: {body:?}")]
    Rejected {
        url: String,
        status: u16,
        attempts: u32,
        /// The first 300 characters of the body.
        body: String,
    },
    /// Every attempt failed in a way that may go away (network, timeout, 5xx, 429, rate limit).
    #[error("GET {url}: gave up after {attempts} attempts; last failure: {last}")]
    Exhausted {
        url: String,
        attempts: u32,
        /// The status of the last response, if the last attempt got one.
        last_status: Option<u16>,
        last: String,
    },
    /// Every attempt got a response whose body `parse` rejected (garbled or cut short).
    #[error("GET {url}: HTTP {status} body could not be parsed after {attempts} attempts: {error}")]
    Unparseable {
        url: String,
        status: u16,
        attempts: u32,
        error: String,
    },
    /// The request could not even be built (for example a malformed URL).
    #[error("GET {url}: request not sent after {attempts} attempt(s): {error}")]
    Invalid {
        url: String,
        attempts: u32,
        error: String,
    },
    /// The HTTP client itself could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    /// True when the retries ran out on failures that may clear up later (the caller should stop
    /// and resume the run later); false when asking again cannot help.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Exhausted { .. } | Self::Unparseable { .. })
    }
}

/// One attempt's failure, before deciding whether to retry.
#[derive(Debug)]
enum Failure {
    /// A status meaning "not now": 5xx, 429, Contracts Finder's rate-limit 403.
    Busy {
        status: u16,
        retry_after: Option<Duration>,
        /// Contracts Finder's 403 page, which calls for `rate_limited_wait` rather than back-off.
        rate_limit_page: bool,
        excerpt: String,
    },
    /// A status meaning "never".
    Refused { status: u16, excerpt: String },
    /// No complete response: connection refused or reset, timeout, body shorter than announced.
    Network { error: String },
    /// The body arrived but `parse` rejected it.
    Parse { status: u16, error: String },
    /// reqwest refused to build the request; retrying cannot help.
    Invalid { error: String },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Busy {
                status,
                rate_limit_page: true,
                ..
            } => write!(f, "HTTP {status} (rate-limit page)"),
            Self::Busy {
                status, excerpt, ..
            } => write!(f, "HTTP {status}: {excerpt:?}"),
            Self::Refused { status, excerpt } => write!(f, "HTTP {status}: {excerpt:?}"),
            Self::Network { error } => write!(f, "{error}"),
            Self::Parse { status, error } => {
                write!(f, "HTTP {status} with a body that did not parse: {error}")
            }
            Self::Invalid { error } => write!(f, "{error}"),
        }
    }
}

/// The HTTP client of one feed source. Clones share the connection pool, the request spacing and
/// the jitter generator.
#[derive(Clone, Debug)]
pub struct FeedClient {
    client: reqwest::Client,
    policy: Arc<HttpPolicy>,
    /// Start of the latest request; held across the spacing sleep so that concurrent callers
    /// queue up instead of all waking at the same moment.
    last_start: Arc<Mutex<Option<Instant>>>,
    jitter: Arc<std::sync::Mutex<XorShift>>,
}

impl FeedClient {
    pub fn new(policy: HttpPolicy) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .user_agent(policy.user_agent.clone())
            .gzip(true)
            .build()
            .map_err(|e| FetchError::Client(error_chain(&e)))?;
        Ok(Self {
            client,
            policy: Arc::new(policy),
            last_start: Arc::new(Mutex::new(None)),
            jitter: Arc::new(std::sync::Mutex::new(XorShift::from_os())),
        })
    }

    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// GETs `url`, retrying transient failures, and hands the body to `parse`; a parse error is
    /// treated as a truncated/garbled body and retried too (same attempt budget) and reported if
    /// it persists.
    pub async fn get_parsed<T>(
        &self,
        url: &str,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Fetched<T>, FetchError> {
        let mut waited = Duration::ZERO;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            waited += self.wait_for_turn().await;
            let failure = match self.attempt(url).await {
                Ok((status, content_type, body)) => match parse(&body) {
                    Ok(value) => {
                        return Ok(Fetched {
                            url: url.to_string(),
                            status,
                            content_type,
                            body,
                            value,
                            attempts,
                            waited,
                        });
                    }
                    Err(error) => Failure::Parse { status, error },
                },
                Err(failure) => failure,
            };
            let retry_after = match &failure {
                Failure::Refused { status, excerpt } => {
                    return Err(FetchError::Rejected {
                        url: url.to_string(),
                        status: *status,
                        attempts,
                        body: excerpt.clone(),
                    });
                }
                Failure::Invalid { error } => {
                    return Err(FetchError::Invalid {
                        url: url.to_string(),
                        attempts,
                        error: error.clone(),
                    });
                }
                Failure::Busy {
                    retry_after,
                    rate_limit_page,
                    ..
                } => retry_after
                    .map(|d| d.min(self.policy.retry_after_max))
                    .or(rate_limit_page.then_some(self.policy.rate_limited_wait)),
                Failure::Network { .. } | Failure::Parse { .. } => None,
            };
            if attempts >= self.policy.max_attempts.max(1) {
                return Err(match failure {
                    Failure::Parse { status, error } => FetchError::Unparseable {
                        url: url.to_string(),
                        status,
                        attempts,
                        error,
                    },
                    other => FetchError::Exhausted {
                        url: url.to_string(),
                        attempts,
                        last_status: match &other {
                            Failure::Busy { status, .. } => Some(*status),
                            _ => None,
                        },
                        last: other.to_string(),
                    },
                });
            }
            let wait = retry_after.unwrap_or_else(|| self.backoff(attempts - 1));
            tracing::warn!(
                url,
                attempt = attempts,
                reason = %failure,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "feed request failed; retrying"
            );
            let before = Instant::now();
            tokio::time::sleep(wait).await;
            waited += before.elapsed();
        }
    }

    /// Sleeps until this client may start another request, and records that start.
    async fn wait_for_turn(&self) -> Duration {
        let mut last = self.last_start.lock().await;
        let now = Instant::now();
        let mut waited = Duration::ZERO;
        if let Some(previous) = *last {
            let due = previous + self.policy.request_interval;
            if due > now {
                tokio::time::sleep_until(due).await;
                waited = now.elapsed();
            }
        }
        *last = Some(Instant::now());
        waited
    }

    /// One request: the status, content type and complete body of a 2xx response, or why not.
    async fn attempt(&self, url: &str) -> Result<(u16, Option<String>, Vec<u8>), Failure> {
        let response = self.client.get(url).send().await.map_err(|e| {
            if e.is_builder() {
                Failure::Invalid {
                    error: error_chain(&e),
                }
            } else {
                Failure::Network {
                    error: error_chain(&e),
                }
            }
        })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = retry_after(response.headers(), Utc::now());
        let body = response.bytes().await;
        if status.is_success() {
            let body = body.map_err(|e| Failure::Network {
                error: error_chain(&e),
            })?;
            return Ok((status.as_u16(), content_type, body.to_vec()));
        }
        // An error body that cannot be read completely still says enough through its status.
        let body = body.map(|b| b.to_vec()).unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let excerpt: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
        let code = status.as_u16();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Failure::Busy {
                status: code,
                retry_after,
                rate_limit_page: false,
                excerpt,
            });
        }
        if status == StatusCode::FORBIDDEN && mentions_rate_limit(&text) {
            return Err(Failure::Busy {
                status: code,
                retry_after,
                rate_limit_page: true,
                excerpt,
            });
        }
        Err(Failure::Refused {
            status: code,
            excerpt,
        })
    }

    /// Full-jitter exponential back-off before retry number `retry` (0 for the first retry).
    fn backoff(&self, retry: u32) -> Duration {
        let cap = backoff_cap(&self.policy, retry);
        let mut jitter = self.jitter.lock().unwrap_or_else(|p| p.into_inner());
        jitter.up_to(cap)
    }
}

/// `min(backoff_max, backoff_base * 2^retry)`, without overflowing.
fn backoff_cap(policy: &HttpPolicy, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    policy
        .backoff_base
        .checked_mul(factor)
        .unwrap_or(Duration::MAX)
        .min(policy.backoff_max)
}

/// Contracts Finder's rate-limit page says "Request forbidden ... The request rate limit may have
/// been exceeded"; other 403s are real refusals.
fn mentions_rate_limit(body: &str) -> bool {
    body.to_ascii_lowercase().contains("rate limit")
}

/// `Retry-After` as delta-seconds or an HTTP-date (relative to `now`); unparseable is absent.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // IMF-fixdate ("Wed, 12 Aug 2026 08:38:39 GMT") is a subset of RFC 2822.
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (date.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// reqwest's top-level message rarely says what went wrong ("error sending request"); the
/// sources do ("connection refused", "operation timed out").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// xorshift64: plenty for spreading retries apart, and avoids a dependency on `rand`.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn from_os() -> Self {
        let seed = getrandom::u64().unwrap_or_else(|_| {
            // Without OS randomness, clients started at different times still differ.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
        });
        Self::seeded(seed)
    }

    fn seeded(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `[0, cap]` at nanosecond resolution (the modulo bias is negligible here).
    fn up_to(&mut self, cap: Duration) -> Duration {
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        let pick = match nanos.checked_add(1) {
            Some(range) => self.next_u64() % range,
            None => self.next_u64(),
        };
        Duration::from_nanos(pick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn retry_after_delta_seconds_and_http_date() {
        let now = DateTime::parse_from_rfc3339("2026-08-12T08:38:39Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&headers(" 11 "), now),
            Some(Duration::from_secs(11))
        );
        assert_eq!(
            retry_after(&headers("Wed, 12 Aug 2026 08:40:39 GMT"), now),
            Some(Duration::from_secs(120))
        );
        // A date already past means "now", not a negative wait.
        assert_eq!(
            retry_after(&headers("Wed, 12 Aug 2026 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_cap_doubles_and_saturates() {
        let policy = HttpPolicy {
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(300),
            ..HttpPolicy::default()
        };
        let caps: Vec<u64> = (0..10).map(|n| backoff_cap(&policy, n).as_secs()).collect();
        assert_eq!(caps, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff_cap(&policy, 200), Duration::from_secs(300));
    }

    #[test]
    fn jitter_stays_within_the_cap_and_varies() {
        let mut rng = XorShift::seeded(0);
        let cap = Duration::from_millis(100);
        let picks: Vec<Duration> = (0..1000).map(|_| rng.up_to(cap)).collect();
        assert!(picks.iter().all(|d| *d <= cap));
        // Full jitter: both halves of the range are used.
        assert!(picks.iter().any(|d| *d < cap / 4));
        assert!(picks.iter().any(|d| *d > cap * 3 / 4));
        assert_eq!(rng.up_to(Duration::ZERO), Duration::ZERO);
        assert!(rng.up_to(Duration::MAX) <= Duration::MAX);
    }

    #[test]
    fn only_rate_limit_pages_count_as_rate_limited() {
        assert!(mentions_rate_limit(
            "<html><h1>Request forbidden</h1><p>The request Rate Limit may have been exceeded</p>"
        ));
        assert!(!mentions_rate_limit(
            "<html><h1>Forbidden</h1><p>Access denied</p>"
        ));
    }

    #[test]
    fn every_error_message_names_url_status_and_attempts() {
        let rejected = FetchError::Rejected {
            url: "http://x/a".into(),
            status: 404,
            attempts: 1,
            body: "nope".into(),
        };
        let text = rejected.to_string();
        assert!(text.contains("http://x/a") && text.contains("404") && text.contains("1 attempt"));
        assert!(!rejected.is_transient());
        let exhausted = FetchError::Exhausted {
            url: "http://x/b".into(),
            attempts: 6,
            last_status: Some(503),
            last: Failure::Busy {
                status: 503,
                retry_after: None,
                rate_limit_page: false,
                excerpt: "down".into(),
            }
            .to_string(),
        };
        let text = exhausted.to_string();
        assert!(text.contains("http://x/b") && text.contains("503") && text.contains("6 attempts"));
        assert!(exhausted.is_transient());
    }
}
