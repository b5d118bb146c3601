//! `ETag` and `If-None-Match` for successful GET and HEAD responses.
//!
//! [`ETag`] sits inside `Compress`, so it sees and hashes the identity body: the strong tag is
//! the first 128 bits of the SHA-256 of the body, in hex. Only bodies already in memory are
//! hashed (`try_into_bytes`); streamed ones, bulk downloads among them, pass untouched, so
//! nothing is ever buffered. A matching `If-None-Match` (RFC 9110 §13.1.2: `*`, a list, weak
//! comparison) turns the answer into 304 Not Modified with no body.
//!
//! [`WeakenWhenEncoded`] sits outside `Compress`: a gzip or brotli body is another
//! representation with other bytes, so its tag is sent weak (`W/"…"`), as nginx does. Weak
//! comparison still lets a client holding either form revalidate, and `Compress` adds
//! `Vary: Accept-Encoding` whenever it encodes.

use actix_web::{
    Error, HttpResponse,
    body::{BoxBody, EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
    http::{
        Method, StatusCode,
        header::{self, HeaderValue},
    },
};
use futures_util::{
    TryFutureExt,
    future::{MapOk, Ready, ready},
};
use sha2::{Digest, Sha256};

use super::HEALTH_PATH;

/// Headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5).
static KEPT_ON_304: [header::HeaderName; 5] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::ETAG,
    header::EXPIRES,
    header::VARY,
];

/// The strong entity tag of `body`: `"` + 32 hex digits + `"`.
pub fn strong_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest[..16] {
        tag.push(char::from(HEX[usize::from(byte >> 4)]));
        tag.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    tag.push('"');
    tag
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How an `If-None-Match` field value matched an entity tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// `*`: any current representation.
    Any,
    /// A listed tag with the same opaque-tag, sent strong.
    Strong,
    /// A listed tag with the same opaque-tag, sent weak (`W/"…"`).
    Weak,
}

/// Weak comparison of one `If-None-Match` field value against `etag` (`"x"` or `W/"x"`).
///
/// The value is `*` or a comma-separated list of entity tags; commas inside a quoted tag
/// belong to it. Parsing stops at the first malformed element, which with what follows is
/// ignored (no match from it).
pub fn if_none_match(value: &str, etag: &str) -> Option<Match> {
    let ours = opaque(etag)?;
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return None;
        }
        if rest.starts_with('*') {
            // `*` is only valid alone; accept it where it stands anyway.
            return Some(Match::Any);
        }
        let (weak, tagged) = match rest.strip_prefix("W/") {
            Some(tagged) => (true, tagged),
            None => (false, rest),
        };
        let inner = tagged.strip_prefix('"')?;
        let end = inner.find('"')?;
        let theirs = &tagged[..end + 2];
        if theirs == ours {
            return Some(if weak { Match::Weak } else { Match::Strong });
        }
        rest = &inner[end + 1..];
        // Elements are separated by a comma (with optional whitespace); anything else is
        // malformed.
        let next = rest.trim_start_matches([' ', '\t']);
        if !(next.is_empty() || next.starts_with(',')) {
            return None;
        }
    }
}

/// The opaque-tag (with its quotes) of an entity tag, weak or strong.
fn opaque(etag: &str) -> Option<&str> {
    let tag = etag.strip_prefix("W/").unwrap_or(etag);
    (tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"')).then_some(tag)
}

/// Whether a response gets an ETag: a successful GET or HEAD of anything but the health probe.
fn eligible(res: &ServiceResponse<impl MessageBody>) -> bool {
    let req = res.request();
    res.status() == StatusCode::OK
        && matches!(*req.method(), Method::GET | Method::HEAD)
        && req.path() != HEALTH_PATH
}

/// Sets the ETag (unless the handler set one) and answers 304 for a matching `If-None-Match`.
fn tag_response<B: MessageBody>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    if !eligible(&res) {
        return res.map_into_left_body();
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let (etag, body) = match head.headers().get(header::ETAG) {
        Some(set) => (set.clone(), EitherBody::left(body)),
        None => match body.try_into_bytes() {
            Ok(bytes) if !bytes.is_empty() => {
                let tag = HeaderValue::from_str(&strong_etag(&bytes))
                    .expect("quoted hex is a valid header value");
                head.headers_mut().insert(header::ETAG, tag.clone());
                (tag, EitherBody::right(BoxBody::new(bytes)))
            }
            Ok(bytes) => {
                return ServiceResponse::new(req, head.set_body(EitherBody::right(bytes.boxed())));
            }
            // Streamed (or otherwise not in memory): never buffered, never tagged.
            Err(body) => {
                return ServiceResponse::new(req, head.set_body(EitherBody::left(body)));
            }
        },
    };
    let matched = etag.to_str().ok().and_then(|etag| {
        req.headers()
            .get_all(header::IF_NONE_MATCH)
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| if_none_match(value, etag))
    });
    let Some(matched) = matched else {
        return ServiceResponse::new(req, head.set_body(body));
    };
    let mut not_modified = HttpResponse::NotModified();
    for name in &KEPT_ON_304 {
        for value in head.headers().get_all(name) {
            not_modified.append_header((name.clone(), value.clone()));
        }
    }
    let mut not_modified = not_modified.finish();
    // The client holds the tag in the form it sent (weak when it got a compressed body).
    if matched == Match::Weak
        && let Ok(tag) = etag.to_str()
        && !tag.starts_with("W/")
        && let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}"))
    {
        not_modified.headers_mut().insert(header::ETAG, weak);
    }
    ServiceResponse::new(req, not_modified.map_into_right_body())
}

/// Marks the ETag of a content-encoded response weak.
fn weaken_when_encoded<B>(mut res: ServiceResponse<B>) -> ServiceResponse<B> {
    let headers = res.headers_mut();
    if headers.contains_key(header::CONTENT_ENCODING)
        && let Some(tag) = headers.get(header::ETAG).and_then(|t| t.to_str().ok())
        && tag.starts_with('"')
        && let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}"))
    {
        headers.insert(header::ETAG, weak);
    }
    res
}

/// Tags successful in-memory GET/HEAD responses and answers conditional requests; wrap it
/// inside `Compress`.
#[derive(Clone, Copy, Default)]
pub struct ETag;

impl<S, B> Transform<S, ServiceRequest> for ETag
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ETagMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ETagMiddleware { service }))
    }
}

pub struct ETagMiddleware<S> {
    service: S,
}

type Tagged<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for ETagMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = MapOk<S::Future, Tagged<B>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let tag: Tagged<B> = tag_response;
        self.service.call(req).map_ok(tag)
    }
}

/// Sends the ETag of compressed responses as a weak one; wrap it outside `Compress`.
#[derive(Clone, Copy, Default)]
pub struct WeakenWhenEncoded;

impl<S, B> Transform<S, ServiceRequest> for WeakenWhenEncoded
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = WeakenWhenEncodedMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(WeakenWhenEncodedMiddleware { service }))
    }
}

pub struct WeakenWhenEncodedMiddleware<S> {
    service: S,
}

type Weakened<B> = fn(ServiceResponse<B>) -> ServiceResponse<B>;

impl<S, B> Service<ServiceRequest> for WeakenWhenEncodedMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = MapOk<S::Future, Weakened<B>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let weaken: Weakened<B> = weaken_when_encoded;
        self.service.call(req).map_ok(weaken)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{
        App,
        body::{BodyStream, SizedStream},
        middleware::Compress,
        test as atest, web,
        web::Bytes,
    };

    use super::*;

    fn chunks() -> impl futures_util::Stream<Item = Result<Bytes, Error>> {
        futures_util::stream::iter([
            Ok(Bytes::from_static(b"{\"a\":")),
            Ok(Bytes::from_static(b"1}")),
        ])
    }

    #[actix_web::test]
    async fn in_memory_bodies_are_tagged_and_streams_are_not_buffered() {
        let app = atest::init_service(
            App::new()
                .wrap(ETag)
                .route("/bytes", web::get().to(|| async { "{\"a\":1}" }))
                .route(
                    "/stream",
                    web::get().to(|| async { HttpResponse::Ok().body(BodyStream::new(chunks())) }),
                )
                .route(
                    "/sized-stream",
                    web::get()
                        .to(|| async { HttpResponse::Ok().body(SizedStream::new(7, chunks())) }),
                )
                .route("/bytes", web::post().to(|| async { "{\"a\":1}" })),
        )
        .await;
        let res =
            atest::call_service(&app, atest::TestRequest::get().uri("/bytes").to_request()).await;
        assert_eq!(
            res.headers().get(header::ETAG).unwrap(),
            strong_etag(b"{\"a\":1}").as_str()
        );
        for uri in ["/stream", "/sized-stream"] {
            let res =
                atest::call_service(&app, atest::TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(res.status(), 200);
            assert!(res.headers().get(header::ETAG).is_none(), "{uri}");
            assert_eq!(atest::read_body(res).await, "{\"a\":1}");
        }
        let res =
            atest::call_service(&app, atest::TestRequest::post().uri("/bytes").to_request()).await;
        assert!(res.headers().get(header::ETAG).is_none());
    }

    #[actix_web::test]
    async fn inside_compress_the_tag_is_of_the_identity_body_and_weak_when_encoded() {
        let body = "x".repeat(4096);
        let expected = strong_etag(body.as_bytes());
        let app = atest::init_service(
            App::new()
                .wrap(ETag)
                .wrap(Compress::default())
                .wrap(WeakenWhenEncoded)
                .route(
                    "/",
                    web::get().to(move || {
                        let body = body.clone();
                        async move { body }
                    }),
                ),
        )
        .await;
        let identity =
            atest::call_service(&app, atest::TestRequest::get().uri("/").to_request()).await;
        assert_eq!(
            identity.headers().get(header::ETAG).unwrap(),
            expected.as_str()
        );
        let gzip = atest::call_service(
            &app,
            atest::TestRequest::get()
                .uri("/")
                .insert_header((header::ACCEPT_ENCODING, "gzip"))
                .to_request(),
        )
        .await;
        assert_eq!(
            gzip.headers().get(header::CONTENT_ENCODING).unwrap(),
            "gzip"
        );
        assert_eq!(
            gzip.headers().get(header::ETAG).unwrap(),
            format!("W/{expected}").as_str()
        );
        // Either form revalidates against either encoding.
        for (encoding, tag) in [
            ("gzip", expected.clone()),
            ("identity", format!("W/{expected}")),
        ] {
            let res = atest::call_service(
                &app,
                atest::TestRequest::get()
                    .uri("/")
                    .insert_header((header::ACCEPT_ENCODING, encoding))
                    .insert_header((header::IF_NONE_MATCH, tag.as_str()))
                    .to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{encoding} {tag}");
            assert_eq!(res.headers().get(header::ETAG).unwrap(), tag.as_str());
            assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
            assert!(atest::read_body(res).await.is_empty());
        }
    }

    const TAG: &str = "\"abc\"";

    #[test]
    fn strong_etag_is_quoted_128_bit_hex_and_depends_on_the_body() {
        let tag = strong_etag(b"{}");
        assert_eq!(tag.len(), 34);
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert!(tag[1..33].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(tag, strong_etag(b"{}"));
        assert_ne!(tag, strong_etag(b"{ }"));
        // SHA-256("abc") starts ba7816bf8f01cfea414140de5dae2223.
        assert_eq!(strong_etag(b"abc"), "\"ba7816bf8f01cfea414140de5dae2223\"");
    }

    #[test]
    fn star_matches_any_tag() {
        assert_eq!(if_none_match("*", TAG), Some(Match::Any));
        assert_eq!(if_none_match(" * ", "W/\"x\""), Some(Match::Any));
    }

    #[test]
    fn single_strong_and_weak_tags_compare_weakly() {
        assert_eq!(if_none_match("\"abc\"", TAG), Some(Match::Strong));
        assert_eq!(if_none_match("W/\"abc\"", TAG), Some(Match::Weak));
        assert_eq!(if_none_match("\"abc\"", "W/\"abc\""), Some(Match::Strong));
        assert_eq!(if_none_match("\"abd\"", TAG), None);
        // The opaque-tag includes its quotes: a bare token is not a tag.
        assert_eq!(if_none_match("abc", TAG), None);
        // `w/` is not the weak prefix (it is case-sensitive).
        assert_eq!(if_none_match("w/\"abc\"", TAG), None);
    }

    #[test]
    fn lists_with_spaces_empty_elements_and_commas_inside_tags() {
        assert_eq!(
            if_none_match("\"x\", W/\"y\" ,\t\"abc\"", TAG),
            Some(Match::Strong)
        );
        assert_eq!(if_none_match(",,\"x\",,W/\"abc\",", TAG), Some(Match::Weak));
        assert_eq!(if_none_match("\"a,b\", \"abc\"", TAG), Some(Match::Strong));
        assert_eq!(if_none_match("\"a,b\"", "\"a,b\""), Some(Match::Strong));
        assert_eq!(if_none_match("\"x\", \"y\"", TAG), None);
        assert_eq!(if_none_match("", TAG), None);
    }

    #[test]
    fn malformed_elements_stop_the_parse() {
        // Unterminated quote.
        assert_eq!(if_none_match("\"abc", TAG), None);
        // Garbage glued to a tag: what follows is ignored.
        assert_eq!(if_none_match("\"x\"junk, \"abc\"", TAG), None);
        // A match before the malformed part still counts.
        assert_eq!(if_none_match("\"abc\", junk", TAG), Some(Match::Strong));
        // Our own tag must be well formed for anything to match.
        assert_eq!(if_none_match("*", "abc"), None);
    }
}
