//! The API's one error type, rendered as OCI renders errors: a status and a
//! `{"code","message"}` body (oci-api.md §2.4).
//!
//! Every service returns `ApiError`; model errors convert into it here, so the
//! mapping from a typed model error to an HTTP status lives in one place. The
//! SDK retries 409 IncorrectState/LockConflict, 429 and 5xx for minutes, so
//! those come only from deliberate chaos rules, never from a constructor here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::model::identity::IdentityError;
use crate::model::network::NetworkError;

/// An error response: status, OCI error code, and a message naming the field,
/// OCID or CIDR at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// OCI error code (`InvalidParameter`, `NotAuthorizedOrNotFound`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// 404 NotAuthorizedOrNotFound for an unknown (or invisible) resource.
    pub fn not_found(kind: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotAuthorizedOrNotFound",
            format!(
                "Authorization failed or requested resource not found: {kind} {id} does not exist or you are not authorized to access it."
            ),
        )
    }

    /// 404 NotFound for a path no service answers.
    pub fn no_route(method: &str, path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no operation answers {method} {path}"),
        )
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(method: &str, path: &str) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{method} is not allowed on {path}"),
        )
    }

    /// 400 InvalidParameter naming the field.
    pub fn invalid(field: &str, message: impl AsRef<str>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("{field}: {}", message.as_ref()),
        )
    }

    /// 400 MissingParameter naming the field.
    pub fn missing(field: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!("{field}: a value is required"),
        )
    }

    /// 400 CannotParseRequest (a body that is not JSON at all).
    pub fn cannot_parse(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "CannotParseRequest", message)
    }

    /// 400 LimitExceeded (a service limit).
    pub fn limit(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "LimitExceeded", message)
    }

    /// 409 Conflict (a state or dependency conflict that retrying won't fix).
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "Conflict", message)
    }

    /// 412 NoEtagMatch.
    pub fn no_etag_match(id: &str, given: &str) -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "NoEtagMatch",
            format!("if-match `{given}` does not match the current etag of {id}"),
        )
    }

    /// 409 InvalidatedRetryToken.
    pub fn invalidated_retry_token() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "InvalidatedRetryToken",
            "opc-retry-token was already used with a different request",
        )
    }

    /// 413 PayloadTooLarge.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// 401 NotAuthenticated.
    pub fn not_authenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "NotAuthenticated", message)
    }

    /// The JSON body OCI sends.
    pub fn body(&self) -> String {
        serde_json::json!({ "code": self.code, "message": self.message }).to_string()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.body()).into_response();
        r.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        r
    }
}

impl From<NetworkError> for ApiError {
    fn from(e: NetworkError) -> ApiError {
        use NetworkError as N;
        let msg = e.to_string();
        match e {
            N::VcnLimit { .. }
            | N::SubnetLimit { .. }
            | N::TooManyCidrBlocks { .. }
            | N::TooManySecurityLists { .. }
            | N::GatewayLimit { .. } => ApiError::limit(msg),
            N::NotFound { .. } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "RelatedResourceNotAuthorizedOrNotFound",
                msg,
            ),
            N::SubnetExhausted { .. } | N::InUse { .. } | N::DefaultObject { .. } => {
                ApiError::conflict(msg)
            }
            _ => ApiError::new(StatusCode::BAD_REQUEST, "InvalidParameter", msg),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> ApiError {
        use IdentityError as I;
        let msg = e.to_string();
        match e {
            I::NotFound(id) => ApiError::not_found("compartment", &id),
            I::ParentNotActive { .. } | I::WrongState { .. } | I::NotEmpty { .. } => {
                ApiError::conflict(msg)
            }
            I::DuplicateName { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "NotAuthorizedOrResourceAlreadyExists",
                msg,
            ),
            I::LimitExceeded { .. } | I::TooDeep { .. } => ApiError::limit(msg),
            I::InvalidName { .. } => ApiError::invalid("name", msg),
            I::Root(_) => ApiError::new(StatusCode::BAD_REQUEST, "InvalidParameter", msg),
        }
    }
}
