//! CORS: the register is open data, so any web page may read it; nobody may write through a
//! browser across origins (writes need a token, and that is not a use case).
//!
//! - GET and HEAD responses carry `Access-Control-Allow-Origin: *` (whatever the status, so a
//!   page can read a 404 or 429 too) and expose `ETag` and `Retry-After`.
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) for GET or HEAD
//!   is answered here with 204, allowing GET, HEAD, OPTIONS and the requested headers. A
//!   preflight for any other method gets 204 with no grant, which the browser reads as a no.
//! - POST and other methods get no CORS headers.
//!
//! Written here rather than with `actix-cors` (MIT/Apache, so allowed): that crate adds the
//! allow-origin grant to the actual response of every method whose origin is allowed, checking
//! methods only at preflight, so a POST answer would carry a grant; and it boxes a future per
//! request. The policy above is a few lines.

use actix_web::{
    Error, HttpResponse,
    body::EitherBody,
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
    http::{
        Method,
        header::{self, HeaderMap, HeaderValue},
    },
};
use futures_util::{
    TryFutureExt,
    future::{Either, MapOk, Ready, ready},
};

/// How long a browser may cache a preflight answer, in seconds (a day).
const MAX_AGE: &str = "86400";
const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";
/// Response headers a page may read beyond the CORS-safelisted ones.
const EXPOSED: &str = "ETag, Retry-After";

/// Whether a preflight asks for a method reads may use.
fn is_read(method: &[u8]) -> bool {
    method == b"GET" || method == b"HEAD"
}

/// The answer to a preflight request: a grant for reads, nothing for anything else.
pub fn preflight(request_headers: &HeaderMap) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    response.insert_header((
        header::VARY,
        "Access-Control-Request-Method, Access-Control-Request-Headers",
    ));
    let asks_for_read = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .is_some_and(|m| is_read(m.as_bytes()));
    if asks_for_read {
        response
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE));
        // Reads are public, so whatever headers the page wants to send are fine.
        if let Some(requested) = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            response.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone()));
        }
    }
    response.finish()
}

fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn grant_read<B>(mut res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let headers = res.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    res.map_into_left_body()
}

/// The CORS policy above; wrap it outside the rate limiter so that refusals of reads are
/// readable by pages too.
#[derive(Clone, Copy, Default)]
pub struct Cors;

impl<S, B> Transform<S, ServiceRequest> for Cors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CorsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CorsMiddleware { service }))
    }
}

pub struct CorsMiddleware<S> {
    service: S,
}

type Mapped<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for CorsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    #[allow(clippy::type_complexity)]
    type Future = Either<Ready<Result<Self::Response, Error>>, MapOk<S::Future, Mapped<B>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if is_preflight(&req) {
            let response = preflight(req.headers());
            return Either::Left(ready(Ok(req.into_response(response).map_into_right_body())));
        }
        let map: Mapped<B> = if matches!(*req.method(), Method::GET | Method::HEAD) {
            grant_read
        } else {
            ServiceResponse::map_into_left_body
        };
        Either::Right(self.service.call(req).map_ok(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn preflight_for_get_grants_reads_and_the_requested_headers() {
        let response = preflight(&headers(&[
            (header::ORIGIN, "https://example.org"),
            (header::ACCESS_CONTROL_REQUEST_METHOD, "GET"),
            (
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "if-none-match, accept",
            ),
        ]));
        assert_eq!(response.status(), 204);
        let h = response.headers();
        assert_eq!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), "*");
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_METHODS).unwrap(),
            ALLOWED_METHODS
        );
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_HEADERS).unwrap(),
            "if-none-match, accept"
        );
    }

    #[test]
    fn preflight_for_a_write_grants_nothing() {
        for method in ["POST", "PUT", "DELETE", "get"] {
            let mut map = headers(&[(header::ORIGIN, "https://example.org")]);
            map.insert(
                header::ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static(method),
            );
            let response = preflight(&map);
            assert_eq!(response.status(), 204);
            assert!(
                !response
                    .headers()
                    .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            );
            assert!(
                !response
                    .headers()
                    .contains_key(header::ACCESS_CONTROL_ALLOW_METHODS)
            );
        }
    }
}
