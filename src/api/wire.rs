//! Wire helpers every service shares: query parameters (with repeated keys),
//! JSON bodies whose errors name the field (and which refuse fields the twin
//! does not model or OCI does not know, never dropping them), replies with
//! `etag` and `opc-next-page`, pagination with opaque page tokens, sorting,
//! and RFC 3339 timestamps from virtual time.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::ApiError;
use crate::kernel::SimTime;
use crate::kernel::rng::fnv1a64;

/// The largest request body accepted (bigger ones get 413 PayloadTooLarge).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The most items one list page returns, and the page size when `limit` is absent.
pub const MAX_PAGE_LIMIT: usize = 1000;

/// Query parameters in order, with repeated keys kept (`lifecycleState=A&lifecycleState=B`).
#[derive(Clone, Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses a raw query string (`a=1&b=x+y`).
    pub fn parse(query: &str) -> Params {
        Params(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`, if any (an empty value counts as absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of a required parameter, else 400 MissingParameter.
    pub fn required(&self, key: &str) -> Result<&str, ApiError> {
        self.get(key).ok_or_else(|| ApiError::missing(key))
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter (`true`/`false`), else 400 InvalidParameter.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid(
                key,
                format!("`{v}` is not a boolean (true or false)"),
            )),
        }
    }

    /// An integer parameter, else 400 InvalidParameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::invalid(key, format!("`{v}` is not an integer")))
            })
            .transpose()
    }

    /// A parameter restricted to `allowed` values, else 400 InvalidParameter
    /// listing them.
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(v) => Err(ApiError::invalid(
                key,
                format!("`{v}` is not one of {}", allowed.join(", ")),
            )),
        }
    }

    /// Every value of a multi-valued enum parameter, each checked against `allowed`.
    pub fn all_of(&self, key: &str, allowed: &[&str]) -> Result<Vec<&str>, ApiError> {
        let vals = self.all(key);
        for v in &vals {
            if !allowed.contains(v) {
                return Err(ApiError::invalid(
                    key,
                    format!("`{v}` is not one of {}", allowed.join(", ")),
                ));
            }
        }
        Ok(vals)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query().unwrap_or("")))
    }
}

/// A JSON request body. Errors name the field: a type mismatch or an unknown
/// enum value gives 400 InvalidParameter `routeRules[0].destinationType: ...`,
/// a missing required field 400 MissingParameter, text that is not JSON
/// 400 CannotParseRequest. No field is ever dropped: one that OCI knows but
/// the twin does not keep is declared [`Unmodelled`] in the body struct and
/// refused when given, and one that no struct names (a typo, or a field OCI
/// does not have on this request) is refused as unknown.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::too_large(MAX_BODY_BYTES))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body with errors that name the field (see [`JsonBody`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::cannot_parse(
            "the request needs a JSON body and it is empty",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    // The first field serde skipped, with its path: no struct names it.
    let mut unknown: Option<String> = None;
    let mut note = |p: serde_ignored::Path<'_>| {
        unknown.get_or_insert_with(|| field_path(&p));
    };
    let parsed = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(de, &mut note));
    if let Some(field) = unknown {
        // An unknown field is the first thing to fix even when a later one
        // is also wrong: a misspelt key can be why a required one is missing.
        return Err(ApiError::invalid(&field, UNKNOWN_FIELD));
    }
    parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::cannot_parse(format!("the body is not valid JSON: {msg}"));
        }
        if let Some(rest) = msg.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or(rest);
            let full = if path == "." {
                field.to_string()
            } else {
                format!("{path}.{field}")
            };
            return ApiError::missing(&full);
        }
        let field = if path == "." { "body" } else { path.as_str() };
        // serde appends " at line L column C"; the field path says more.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ApiError::invalid(field, msg)
    })
}

/// The message for a body field that no request struct names.
pub const UNKNOWN_FIELD: &str =
    "not a field of this request (OCI's API has no such property here; check the spelling)";

/// The message for a field OCI knows that the twin does not keep.
pub const NOT_MODELLED: &str = "not modelled by the twin";

/// A JSON field path as OCI's messages write it: `routeRules[0].cidrBlok`.
fn field_path(p: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match p {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            s if s.is_empty() => key.clone(),
            s => format!("{s}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// A request field that OCI knows and the twin does not model: absent or
/// `null` it is accepted; any other value is 400 InvalidParameter naming the
/// field's path (`podConfiguration.foo: not modelled by the twin`), so a
/// setting never seems to take when it did not.
///
/// Declaring one is one line in the body struct, with a leading underscore
/// so the field is never read (serde's camelCase drops it:
/// `_ipv6_private_cidr_blocks` is `ipv6PrivateCidrBlocks` on the wire):
///
/// ```ignore
/// _ipv6_private_cidr_blocks: Option<Unmodelled>,
/// _is_ipv6_enabled: Option<UnmodelledFlag<false>>, // OCI's default: harmless
/// ```
///
/// [`UnmodelledFlag`] also accepts one boolean: the value OCI takes when the
/// field is absent, which therefore changes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unmodelled<const HARMLESS: bool = false, const IS_FLAG: bool = false>;

/// A boolean field OCI knows and the twin does not model, where `DEFAULT`
/// (OCI's value when absent) is accepted and the other value refused.
pub type UnmodelledFlag<const DEFAULT: bool> = Unmodelled<DEFAULT, true>;

impl<'de, const HARMLESS: bool, const IS_FLAG: bool> Deserialize<'de>
    for Unmodelled<HARMLESS, IS_FLAG>
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(Unmodelled),
            serde_json::Value::Bool(b) if IS_FLAG && b == HARMLESS => Ok(Unmodelled),
            _ => Err(D::Error::custom(NOT_MODELLED)),
        }
    }
}

/// The one string value of a field that the twin models only at that value
/// (OCI's default): see [`UnmodelledExcept`].
pub trait WireDefault {
    /// The value accepted, exactly as OCI spells it.
    const VALUE: &'static str;
}

/// A string field OCI knows where the twin models only its default,
/// `D::VALUE`: absent, `null` or that value is accepted (it changes nothing),
/// any other value is 400 InvalidParameter naming the field, as
/// [`Unmodelled`] does. An LB's `ipMode: "IPV4"` is the case in point.
pub struct UnmodelledExcept<D: WireDefault>(std::marker::PhantomData<D>);

impl<'de, D: WireDefault> Deserialize<'de> for UnmodelledExcept<D> {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(UnmodelledExcept(std::marker::PhantomData)),
            serde_json::Value::String(v) if v == D::VALUE => {
                Ok(UnmodelledExcept(std::marker::PhantomData))
            }
            _ => Err(De::Error::custom(format!(
                "{NOT_MODELLED} (only `{}`, OCI's default)",
                D::VALUE
            ))),
        }
    }
}

/// A successful reply: status, JSON body (or none), and OCI's headers.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: Option<Vec<u8>>,
    headers: Vec<(HeaderName, String)>,
}

impl Reply {
    /// 200 with `value` as JSON.
    pub fn json<T: Serialize>(value: &T) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Some(serde_json::to_vec(value).expect("API models serialize")),
            headers: Vec::new(),
        }
    }

    /// A reply with no body (204 unless the status is changed).
    pub fn empty() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        }
    }

    /// 202 Accepted with no body and `opc-work-request-id`.
    pub fn accepted(work_request_id: &str) -> Reply {
        Reply {
            status: StatusCode::ACCEPTED,
            body: None,
            headers: vec![(
                HeaderName::from_static("opc-work-request-id"),
                work_request_id.to_string(),
            )],
        }
    }

    /// A list page: the items as a bare array, and `opc-next-page` when more follow.
    pub fn page<T: Serialize>(items: &[T], next_page: Option<String>) -> Reply {
        let r = Reply::json(&items);
        match next_page {
            Some(p) => r.header("opc-next-page", &p),
            None => r,
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: StatusCode) -> Reply {
        self.status = status;
        self
    }

    /// Adds the `etag` header.
    pub fn etag(self, etag: &str) -> Reply {
        self.header("etag", etag)
    }

    /// Adds any header (names are lower-case ASCII constants).
    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers
            .push((HeaderName::from_static(name), value.to_string()));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut r = match self.body {
            Some(b) => (self.status, b).into_response(),
            None => self.status.into_response(),
        };
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        r
    }
}

/// What every handler returns.
pub type ApiResult = Result<Reply, ApiError>;

/// The page of `items` that `limit` and `page` select, and the token of the
/// next page when one follows (none on the last page, or the SDK's helpers
/// would loop forever).
pub fn paginate<T>(items: Vec<T>, params: &Params) -> Result<(Vec<T>, Option<String>), ApiError> {
    let limit = match params.int("limit")? {
        None => MAX_PAGE_LIMIT,
        Some(l) if l >= 1 => (l as usize).min(MAX_PAGE_LIMIT),
        Some(l) => {
            return Err(ApiError::invalid(
                "limit",
                format!("{l} is not between 1 and {MAX_PAGE_LIMIT}"),
            ));
        }
    };
    let offset = match params.get("page") {
        None => 0,
        Some(token) => decode_page(token).ok_or_else(|| {
            ApiError::invalid(
                "page",
                format!("`{token}` is not a page token of this list"),
            )
        })?,
    };
    let total = items.len();
    let next = (offset + limit < total).then(|| encode_page(offset + limit));
    let page = items.into_iter().skip(offset).take(limit).collect();
    Ok((page, next))
}

/// An opaque page token: the offset and a check so that garbage is refused.
fn encode_page(offset: usize) -> String {
    let check = fnv1a64(format!("page:{offset}").as_bytes()) as u32;
    format!("{offset:x}.{check:08x}")
}

fn decode_page(token: &str) -> Option<usize> {
    let (off, check) = token.split_once('.')?;
    let offset = usize::from_str_radix(off, 16).ok()?;
    (encode_page(offset).split_once('.')?.1 == check).then_some(offset)
}

/// Sorts by `sortBy`/`sortOrder` as OCI lists do: TIMECREATED (default order
/// descending) or DISPLAYNAME (ascending, case-insensitive), with the OCID as
/// a tiebreak so pages are stable. `time_keys` and `name_keys` are the accepted
/// spellings (`TIMECREATED`/`timeCreated`, `DISPLAYNAME`/`NAME`/`displayName`).
pub fn sort_items<T>(
    items: &mut [T],
    params: &Params,
    time_keys: &[&str],
    name_keys: &[&str],
    key: impl Fn(&T) -> (SimTime, String, String),
) -> Result<(), ApiError> {
    let allowed: Vec<&str> = time_keys.iter().chain(name_keys).copied().collect();
    let by = params.one_of("sortBy", &allowed)?;
    let order = params.one_of("sortOrder", &["ASC", "DESC"])?;
    let by_name = by.is_some_and(|b| name_keys.contains(&b));
    let descending = match order {
        Some(o) => o == "DESC",
        None => !by_name,
    };
    items.sort_by(|a, b| {
        let (ta, na, ia) = key(a);
        let (tb, nb, ib) = key(b);
        let ord = if by_name {
            (na.to_lowercase(), ia).cmp(&(nb.to_lowercase(), ib))
        } else {
            (ta, ia).cmp(&(tb, ib))
        };
        if descending { ord.reverse() } else { ord }
    });
    Ok(())
}

/// The wall-clock date that virtual time zero stands for, in days since
/// 1970-01-01 (2026-01-01: a fixed epoch, so the same journal renders the same
/// timestamps; an assumption listed in the README).
pub const EPOCH_DAYS: i64 = 20_454;

/// RFC 3339 with milliseconds, as OCI writes timestamps: `2026-01-01T00:00:00.000Z`.
pub fn rfc3339(t: SimTime) -> String {
    let ms = t.as_ms();
    let secs = (ms / 1000) as i64;
    let days = EPOCH_DAYS + secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Howard Hinnant's days → (year, month, day) for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An etag: a stable hash of the resource's OCID and version.
pub fn etag_of(ocid: &str, version: u64) -> String {
    format!("{:016x}", fnv1a64(format!("{ocid}#{version}").as_bytes()))
}

/// Free-form tags as given (string values only); absent means empty.
pub type FreeformTags = BTreeMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_start_at_the_epoch() {
        assert_eq!(rfc3339(SimTime::ZERO), "2026-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(SimTime(86_400_000 * 59 + 1)),
            "2026-03-01T00:00:00.001Z"
        );
    }

    #[test]
    fn pages_cover_the_list_once_and_the_last_has_no_token() {
        let items: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut q = vec![("limit".to_string(), "3".to_string())];
            if let Some(p) = &page {
                q.push(("page".into(), p.clone()));
            }
            let (got, next) = paginate(items.clone(), &Params(q)).unwrap();
            seen.extend(got);
            match next {
                Some(n) => page = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, items);
        let bad = Params(vec![("page".into(), "3.00000000".into())]);
        assert_eq!(paginate(items, &bad).unwrap_err().code, "InvalidParameter");
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)]
        struct Rule {
            network_entity_id: String,
            is_stateless: Option<bool>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)]
        struct Body {
            route_rules: Vec<Rule>,
        }
        let e =
            parse_json::<Body>(br#"{"routeRules":[{"networkEntityId":"x","isStateless":"no"}]}"#)
                .unwrap_err();
        assert_eq!(e.code, "InvalidParameter");
        assert!(e.message.starts_with("routeRules[0].isStateless:"), "{e}");
        let e = parse_json::<Body>(br#"{"routeRules":[{}]}"#).unwrap_err();
        assert_eq!(e.code, "MissingParameter");
        assert!(
            e.message.starts_with("routeRules[0].networkEntityId"),
            "{e}"
        );
        let e = parse_json::<Body>(b"{not json").unwrap_err();
        assert_eq!(e.code, "CannotParseRequest");
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        _fault_domains: Option<Unmodelled>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Outer {
        cidr_block: String,
        items: Option<Vec<Inner>>,
        _ipv6_private_cidr_blocks: Option<Unmodelled>,
        _is_ipv6_enabled: Option<UnmodelledFlag<false>>,
    }

    fn refusal(body: &str) -> String {
        let e = parse_json::<Outer>(body.as_bytes()).unwrap_err();
        assert_eq!(e.code, "InvalidParameter", "{e}");
        e.message
    }

    #[test]
    fn unmodelled_fields_are_refused_by_name_and_harmless_values_pass() {
        assert_eq!(
            refusal(r#"{"cidrBlock":"10.0.0.0/16","ipv6PrivateCidrBlocks":["fd00::/48"]}"#),
            "ipv6PrivateCidrBlocks: not modelled by the twin"
        );
        assert_eq!(
            refusal(r#"{"cidrBlock":"x","isIpv6Enabled":true}"#),
            "isIpv6Enabled: not modelled by the twin"
        );
        assert_eq!(
            refusal(
                r#"{"cidrBlock":"x","items":[{"name":"a"},{"name":"b","faultDomains":["FD-1"]}]}"#
            ),
            "items[1].faultDomains: not modelled by the twin"
        );
        let ok = r#"{"cidrBlock":"x","ipv6PrivateCidrBlocks":null,"isIpv6Enabled":false,"items":[{"name":"a","faultDomains":null}]}"#;
        let b = parse_json::<Outer>(ok.as_bytes()).unwrap();
        assert_eq!(b.cidr_block, "x");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_path() {
        assert_eq!(
            refusal(r#"{"cidrBlok":"10.0.0.0/16"}"#),
            format!("cidrBlok: {UNKNOWN_FIELD}")
        );
        assert_eq!(
            refusal(r#"{"cidrBlock":"x","items":[{"name":"a","nmae":"b"}]}"#),
            format!("items[0].nmae: {UNKNOWN_FIELD}")
        );
        // Even `null` is refused: the name itself is the mistake.
        assert_eq!(
            refusal(r#"{"cidrBlock":"x","typo":null}"#),
            format!("typo: {UNKNOWN_FIELD}")
        );
    }
}
