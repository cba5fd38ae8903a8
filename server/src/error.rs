//! API errors: every failure is an HTTP status plus a JSON body
//! `{"error": "<code>", "message": "<what was wrong and what to do>"}`.

use attest_wire::ErrorBody;
use axum::{
	http::StatusCode,
	response::{IntoResponse, Response},
	Json,
};

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
	/// The request is malformed (bad JSON, bad hex, missing field, ...).
	#[error("{0}")]
	BadRequest(String),
	/// A signature does not verify.
	#[error("{0}")]
	BadSignature(String),
	/// The signer is not the party the record or request needs.
	#[error("{0}")]
	Forbidden(String),
	/// Nothing stored under this name.
	#[error("{0}")]
	NotFound(String),
	/// The channel is not known to the chain (nor to this server).
	#[error("{0}")]
	UnknownChannel(String),
	/// The claim conflicts with one stored earlier; the stored one is kept.
	#[error("{0}")]
	Conflict(String),
	/// Uploaded bytes do not hash to the digest they were sent for.
	#[error("{0}")]
	DigestMismatch(String),
	/// The body is larger than the configured limit.
	#[error("{0}")]
	TooLarge(String),
	/// The body ended before it was complete, or stalled.
	#[error("{0}")]
	Truncated(String),
	/// The anchor is not held by the finalized chain.
	#[error("{0}")]
	AnchorNotOnChain(String),
	/// The request is valid but cannot be served yet (e.g. the item is not anchored).
	#[error("{0}")]
	NotReady(String),
	/// The party has too many uploads in progress.
	#[error("{0}")]
	TooManyUploads(String),
	/// The server has too many uploads in progress.
	#[error("{0}")]
	Busy(String),
	/// The request did not complete in time.
	#[error("{0}")]
	Timeout(String),
	/// The endpoint exists but not with this method.
	#[error("{0}")]
	MethodNotAllowed(String),
	/// The chain could not be reached.
	#[error("{0}")]
	ChainUnavailable(String),
	/// The server's disk (or quota) is full: nothing was stored.
	#[error("{0}")]
	InsufficientStorage(String),
	/// A fault of the server (database, disk); details are logged.
	#[error("{0}")]
	Internal(String),
}

impl ApiError {
	/// HTTP status of the error.
	pub fn status(&self) -> StatusCode {
		match self {
			ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
			ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
			ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
			ApiError::NotFound(_) => StatusCode::NOT_FOUND,
			ApiError::UnknownChannel(_) => StatusCode::UNPROCESSABLE_ENTITY,
			ApiError::Conflict(_) => StatusCode::CONFLICT,
			ApiError::DigestMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
			ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
			ApiError::Truncated(_) => StatusCode::BAD_REQUEST,
			ApiError::AnchorNotOnChain(_) => StatusCode::UNPROCESSABLE_ENTITY,
			ApiError::NotReady(_) => StatusCode::CONFLICT,
			ApiError::TooManyUploads(_) => StatusCode::TOO_MANY_REQUESTS,
			ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
			ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
			ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
			ApiError::ChainUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
			ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
			ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
		}
	}

	/// Stable machine-readable code of the error.
	pub fn code(&self) -> &'static str {
		match self {
			ApiError::BadRequest(_) => "bad_request",
			ApiError::BadSignature(_) => "bad_signature",
			ApiError::Forbidden(_) => "forbidden",
			ApiError::NotFound(_) => "not_found",
			ApiError::UnknownChannel(_) => "unknown_channel",
			ApiError::Conflict(_) => "conflict",
			ApiError::DigestMismatch(_) => "digest_mismatch",
			ApiError::TooLarge(_) => "too_large",
			ApiError::Truncated(_) => "truncated",
			ApiError::AnchorNotOnChain(_) => "anchor_not_on_chain",
			ApiError::NotReady(_) => "not_ready",
			ApiError::TooManyUploads(_) => "too_many_uploads",
			ApiError::Busy(_) => "busy",
			ApiError::Timeout(_) => "timeout",
			ApiError::MethodNotAllowed(_) => "method_not_allowed",
			ApiError::ChainUnavailable(_) => "chain_unavailable",
			ApiError::InsufficientStorage(_) => "insufficient_storage",
			ApiError::Internal(_) => "internal",
		}
	}
}

impl From<crate::store::StoreError> for ApiError {
	fn from(e: crate::store::StoreError) -> Self {
		tracing::error!("store: {e}");
		ApiError::Internal(format!("storage failed: {e}; retry later"))
	}
}

impl From<std::io::Error> for ApiError {
	fn from(e: std::io::Error) -> Self {
		tracing::error!("io: {e}");
		if matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)) {
			return ApiError::InsufficientStorage(format!(
				"the server's disk is full ({e}); nothing was stored: retry later, and tell the \
				 server's operator"
			));
		}
		ApiError::Internal(format!("disk operation failed: {e}; retry later"))
	}
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		let body = ErrorBody { error: self.code().to_string(), message: self.to_string() };
		(self.status(), Json(body)).into_response()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_full_disk_is_507_other_disk_faults_500() {
		for errno in [libc::ENOSPC, libc::EDQUOT] {
			let e = ApiError::from(std::io::Error::from_raw_os_error(errno));
			assert_eq!((e.status().as_u16(), e.code()), (507, "insufficient_storage"));
			assert!(e.to_string().contains("nothing was stored"), "{e}");
		}
		let e = ApiError::from(std::io::Error::from_raw_os_error(libc::EIO));
		assert_eq!((e.status().as_u16(), e.code()), (500, "internal"));
	}
}
