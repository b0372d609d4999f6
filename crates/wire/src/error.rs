//! The modeled errors of both APIs, one enum per API, each with its AWS code and HTTP
//! status (SPEC §1.6). The server renders them as `x-amzn-ErrorType` plus a JSON body
//! carrying the message under both `message` and `Message`.

use serde_json::{Map, Value};

/// What the server needs to render any error.
pub trait ApiError {
    fn aws_code(&self) -> &'static str;
    fn http_status_code(&self) -> u16;
    fn message(&self) -> &str;
    /// Modeled members besides the message (ResourceId, ResourceType, Reason …).
    fn extra_members(&self) -> Map<String, Value> {
        Map::new()
    }
}

/// Errors of the participant API (`connectparticipant`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParticipantError {
    #[error("ValidationException: {0}")]
    Validation(String),
    #[error("AccessDeniedException: {0}")]
    AccessDenied(String),
    #[error("ResourceNotFoundException: {message}")]
    ResourceNotFound { message: String, resource_id: String, resource_type: String },
    #[error("ConflictException: {0}")]
    Conflict(String),
    #[error("ServiceQuotaExceededException: {0}")]
    ServiceQuotaExceeded(String),
    #[error("ThrottlingException: {0}")]
    Throttling(String),
    #[error("InternalServerException: {0}")]
    Internal(String),
}

impl ParticipantError {
    /// The one answer for any bad, wrong-kind, expired or revoked token.
    pub fn access_denied() -> ParticipantError {
        ParticipantError::AccessDenied("Access denied".to_owned())
    }

    pub fn validation(message: impl Into<String>) -> ParticipantError {
        ParticipantError::Validation(message.into())
    }
}

impl ApiError for ParticipantError {
    fn aws_code(&self) -> &'static str {
        match self {
            ParticipantError::Validation(_) => "ValidationException",
            ParticipantError::AccessDenied(_) => "AccessDeniedException",
            ParticipantError::ResourceNotFound { .. } => "ResourceNotFoundException",
            ParticipantError::Conflict(_) => "ConflictException",
            ParticipantError::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            ParticipantError::Throttling(_) => "ThrottlingException",
            ParticipantError::Internal(_) => "InternalServerException",
        }
    }

    fn http_status_code(&self) -> u16 {
        match self {
            ParticipantError::Validation(_) => 400,
            ParticipantError::AccessDenied(_) => 403,
            ParticipantError::ResourceNotFound { .. } => 404,
            ParticipantError::Conflict(_) => 409,
            ParticipantError::ServiceQuotaExceeded(_) => 402,
            ParticipantError::Throttling(_) => 429,
            ParticipantError::Internal(_) => 500,
        }
    }

    fn message(&self) -> &str {
        match self {
            ParticipantError::Validation(m)
            | ParticipantError::AccessDenied(m)
            | ParticipantError::Conflict(m)
            | ParticipantError::ServiceQuotaExceeded(m)
            | ParticipantError::Throttling(m)
            | ParticipantError::Internal(m) => m,
            ParticipantError::ResourceNotFound { message, .. } => message,
        }
    }

    fn extra_members(&self) -> Map<String, Value> {
        let mut extra = Map::new();
        if let ParticipantError::ResourceNotFound { resource_id, resource_type, .. } = self {
            extra.insert("ResourceId".into(), Value::String(resource_id.clone()));
            extra.insert("ResourceType".into(), Value::String(resource_type.clone()));
        }
        extra
    }
}

/// Errors of the control plane (`connect`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("InvalidRequestException: {0}")]
    InvalidRequest(String),
    #[error("InvalidParameterException: {0}")]
    InvalidParameter(String),
    #[error("ResourceNotFoundException: {0}")]
    ResourceNotFound(String),
    #[error("ContactNotFoundException: {0}")]
    ContactNotFound(String),
    #[error("AccessDeniedException: {0}")]
    AccessDenied(String),
    #[error("ConflictException: {0}")]
    Conflict(String),
    #[error("IdempotencyException: {0}")]
    Idempotency(String),
    /// CreateView: a view of that name exists in the instance.
    #[error("DuplicateResourceException: {0}")]
    DuplicateResource(String),
    #[error("ServiceQuotaExceededException: {0}")]
    ServiceQuotaExceeded(String),
    #[error("LimitExceededException: {0}")]
    LimitExceeded(String),
    #[error("ThrottlingException: {0}")]
    Throttling(String),
    #[error("InternalServiceException: {0}")]
    InternalService(String),
}

impl ApiError for ConnectError {
    fn aws_code(&self) -> &'static str {
        match self {
            ConnectError::InvalidRequest(_) => "InvalidRequestException",
            ConnectError::InvalidParameter(_) => "InvalidParameterException",
            ConnectError::ResourceNotFound(_) => "ResourceNotFoundException",
            ConnectError::ContactNotFound(_) => "ContactNotFoundException",
            ConnectError::AccessDenied(_) => "AccessDeniedException",
            ConnectError::Conflict(_) => "ConflictException",
            ConnectError::Idempotency(_) => "IdempotencyException",
            ConnectError::DuplicateResource(_) => "DuplicateResourceException",
            ConnectError::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            ConnectError::LimitExceeded(_) => "LimitExceededException",
            ConnectError::Throttling(_) => "ThrottlingException",
            ConnectError::InternalService(_) => "InternalServiceException",
        }
    }

    fn http_status_code(&self) -> u16 {
        match self {
            ConnectError::InvalidRequest(_) | ConnectError::InvalidParameter(_) => 400,
            ConnectError::ResourceNotFound(_) => 404,
            ConnectError::ContactNotFound(_) => 410,
            ConnectError::AccessDenied(_) => 403,
            ConnectError::Conflict(_) | ConnectError::Idempotency(_) | ConnectError::DuplicateResource(_) => {
                409
            }
            ConnectError::ServiceQuotaExceeded(_) => 402,
            ConnectError::LimitExceeded(_) | ConnectError::Throttling(_) => 429,
            ConnectError::InternalService(_) => 500,
        }
    }

    fn message(&self) -> &str {
        match self {
            ConnectError::InvalidRequest(m)
            | ConnectError::InvalidParameter(m)
            | ConnectError::ResourceNotFound(m)
            | ConnectError::ContactNotFound(m)
            | ConnectError::AccessDenied(m)
            | ConnectError::Conflict(m)
            | ConnectError::Idempotency(m)
            | ConnectError::DuplicateResource(m)
            | ConnectError::ServiceQuotaExceeded(m)
            | ConnectError::LimitExceeded(m)
            | ConnectError::Throttling(m)
            | ConnectError::InternalService(m) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_models() {
        let denied = ParticipantError::access_denied();
        assert_eq!((denied.aws_code(), denied.http_status_code()), ("AccessDeniedException", 403));
        assert_eq!(denied.message(), "Access denied");
        let quota = ParticipantError::ServiceQuotaExceeded("x".into());
        assert_eq!(quota.http_status_code(), 402);
        let gone = ConnectError::ContactNotFound("x".into());
        assert_eq!((gone.aws_code(), gone.http_status_code()), ("ContactNotFoundException", 410));
        let nf = ParticipantError::ResourceNotFound {
            message: "m".into(),
            resource_id: "v".into(),
            resource_type: "CONTACT".into(),
        };
        assert_eq!(nf.extra_members().len(), 2);
    }
}
