//! Rate limiting per client: a GCRA token bucket (`governor`) for each peer IP address.
//!
//! The client is the TCP peer address. Behind a reverse proxy every request would share the
//! proxy's address; trusting `Forwarded` / `X-Forwarded-For` from configured proxies is out of
//! scope for now, so deploy without one in front or limit at the proxy. IPv6 clients are keyed
//! by their full address.
//!
//! The check is one `DashMap` shard lookup and a compare-and-swap on the client's state, with
//! no lock held across an await. Keys that have refilled to a full bucket are swept now and
//! then, so the table holds only clients seen recently.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use actix_web::{
    Error, ResponseError,
    body::EitherBody,
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
};
use futures_util::{
    TryFutureExt,
    future::{Either, MapOk, Ready, ready},
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

use super::HEALTH_PATH;
use crate::error::ApiError;

/// Requests between two sweeps of stale clients (per limiter, over all workers).
const SWEEP_EVERY: u32 = 1 << 16;

/// The middleware: clone it into every worker's app so that all share one table.
#[derive(Clone, Default)]
pub struct RateLimit {
    limiter: Option<Arc<Limiter>>,
}

struct Limiter {
    governor: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU32,
}

impl RateLimit {
    /// `per_second` requests per second sustained, `burst` at once; 0 for either turns
    /// limiting off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        // Above one per nanosecond governor's replenish interval would round to zero.
        let per_second = NonZeroU32::new(per_second.min(1_000_000_000));
        let burst = NonZeroU32::new(burst);
        let limiter = per_second.zip(burst).map(|(rate, burst)| {
            Arc::new(Limiter {
                governor: DefaultKeyedRateLimiter::keyed(
                    Quota::per_second(rate).allow_burst(burst),
                ),
                checks: AtomicU32::new(0),
            })
        });
        Self { limiter }
    }

    /// Whether requests are limited at all.
    pub fn is_enabled(&self) -> bool {
        self.limiter.is_some()
    }

    /// Takes one token from `client`'s bucket; when it is empty, the whole seconds (at least 1)
    /// until the next token.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // IPv4 clients reaching a dual-stack socket appear as ::ffff:a.b.c.d.
        let client = client.to_canonical();
        let outcome = limiter.governor.check_key(&client);
        if limiter.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.governor.retain_recent();
            limiter.governor.shrink_to_fit();
        }
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.governor.clock().now());
            // Round up: retrying after the truncated value would be refused again.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// Clients currently in the table (for tests and diagnostics).
    pub fn tracked_clients(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.governor.len())
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RateLimitMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitMiddleware {
            service,
            limit: self.clone(),
        }))
    }
}

pub struct RateLimitMiddleware<S> {
    service: S,
    limit: RateLimit,
}

type Passed<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for RateLimitMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    #[allow(clippy::type_complexity)]
    type Future = Either<Ready<Result<Self::Response, Error>>, MapOk<S::Future, Passed<B>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if self.limit.is_enabled()
            && req.path() != HEALTH_PATH
            && let Some(peer) = req.peer_addr()
            && let Err(retry_after_secs) = self.limit.check(peer.ip())
        {
            let response = ApiError::TooManyRequests { retry_after_secs }.error_response();
            return Either::Left(ready(Ok(req.into_response(response).map_into_right_body())));
        }
        let passed: Passed<B> = ServiceResponse::map_into_left_body;
        Either::Right(self.service.call(req).map_ok(passed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn burst_then_refused_with_a_wait_of_at_least_one_second() {
        let limit = RateLimit::new(1, 3);
        for _ in 0..3 {
            assert_eq!(limit.check(CLIENT), Ok(()));
        }
        assert_eq!(limit.check(CLIENT), Err(1));
        // Each client has its own bucket.
        assert_eq!(limit.check(OTHER), Ok(()));
        assert_eq!(limit.tracked_clients(), 2);
    }

    #[test]
    fn wait_is_rounded_up_to_whole_seconds() {
        // One token every 10 s: the next one is 9.x s away.
        let limit = RateLimit {
            limiter: Some(Arc::new(Limiter {
                governor: DefaultKeyedRateLimiter::keyed(
                    Quota::with_period(std::time::Duration::from_secs(10)).unwrap(),
                ),
                checks: AtomicU32::new(0),
            })),
        };
        assert_eq!(limit.check(CLIENT), Ok(()));
        assert_eq!(limit.check(CLIENT), Err(10));
    }

    #[test]
    fn zero_disables() {
        for limit in [RateLimit::new(0, 10), RateLimit::new(10, 0)] {
            assert!(!limit.is_enabled());
            for _ in 0..1000 {
                assert_eq!(limit.check(CLIENT), Ok(()));
            }
        }
    }

    #[test]
    fn mapped_ipv4_shares_the_ipv4_bucket() {
        let limit = RateLimit::new(1, 1);
        assert_eq!(limit.check(CLIENT), Ok(()));
        let mapped = match CLIENT {
            IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
            IpAddr::V6(_) => unreachable!(),
        };
        assert!(limit.check(mapped).is_err());
    }
}
