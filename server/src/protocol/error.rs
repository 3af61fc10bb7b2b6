//! The contract's error codes and the one error type every parse step returns.

use serde::{Deserialize, Serialize};

/// Every `code` of the contract's error table, plus the close behaviour that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadFrame,
    NotHello,
    Version,
    HelloTimeout,
    Unauthorized,
    BadName,
    BadRoom,
    BadClient,
    SlowConsumer,
    ServerShutdown,
    UnknownType,
    BadHeader,
    BadText,
    TooLarge,
    BadChunk,
    BadHash,
    BadImage,
    TooManyUploads,
    UnknownItem,
    RateLimited,
    Storage,
    /// A code this version does not know (a newer relay). Never sent.
    #[serde(other)]
    Other,
}

impl ErrorCode {
    /// All codes, for metrics and exhaustive tests.
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::BadFrame,
        ErrorCode::NotHello,
        ErrorCode::Version,
        ErrorCode::HelloTimeout,
        ErrorCode::Unauthorized,
        ErrorCode::BadName,
        ErrorCode::BadRoom,
        ErrorCode::BadClient,
        ErrorCode::SlowConsumer,
        ErrorCode::ServerShutdown,
        ErrorCode::UnknownType,
        ErrorCode::BadHeader,
        ErrorCode::BadText,
        ErrorCode::TooLarge,
        ErrorCode::BadChunk,
        ErrorCode::BadHash,
        ErrorCode::BadImage,
        ErrorCode::TooManyUploads,
        ErrorCode::UnknownItem,
        ErrorCode::RateLimited,
        ErrorCode::Storage,
    ];

    /// The WebSocket close code that follows a fatal error, `None` for non-fatal ones.
    pub fn close_code(self) -> Option<u16> {
        use ErrorCode::*;
        match self {
            BadFrame | NotHello | Version => Some(1002),
            HelloTimeout | Unauthorized | BadName | BadRoom | BadClient | SlowConsumer => {
                Some(1008)
            }
            ServerShutdown => Some(1001),
            UnknownType | BadHeader | BadText | TooLarge | BadChunk | BadHash | BadImage
            | TooManyUploads | UnknownItem | RateLimited | Storage | Other => None,
        }
    }

    pub fn is_fatal(self) -> bool {
        self.close_code().is_some()
    }

    /// The code as it appears on the wire (`"bad_frame"`).
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadFrame => "bad_frame",
            NotHello => "not_hello",
            Version => "version",
            HelloTimeout => "hello_timeout",
            Unauthorized => "unauthorized",
            BadName => "bad_name",
            BadRoom => "bad_room",
            BadClient => "bad_client",
            SlowConsumer => "slow_consumer",
            ServerShutdown => "server_shutdown",
            UnknownType => "unknown_type",
            BadHeader => "bad_header",
            BadText => "bad_text",
            TooLarge => "too_large",
            BadChunk => "bad_chunk",
            BadHash => "bad_hash",
            BadImage => "bad_image",
            TooManyUploads => "too_many_uploads",
            UnknownItem => "unknown_item",
            RateLimited => "rate_limited",
            Storage => "storage",
            Other => "other",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A contract violation found while reading a peer's message: the code to answer with,
/// words for a person, and the item it concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
    pub id: Option<String>,
}

impl ProtocolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            id: None,
        }
    }

    /// Names the item this error concerns (`"id"` of the error message).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_names() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serialize code");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn an_unknown_code_from_a_newer_relay_still_parses() {
        let code: ErrorCode = serde_json::from_str("\"quota_exceeded\"").expect("parses");
        assert_eq!(code, ErrorCode::Other);
        assert!(!code.is_fatal());
    }

    #[test]
    fn close_codes_follow_the_table() {
        assert_eq!(ErrorCode::BadFrame.close_code(), Some(1002));
        assert_eq!(ErrorCode::NotHello.close_code(), Some(1002));
        assert_eq!(ErrorCode::Version.close_code(), Some(1002));
        assert_eq!(ErrorCode::HelloTimeout.close_code(), Some(1008));
        assert_eq!(ErrorCode::Unauthorized.close_code(), Some(1008));
        assert_eq!(ErrorCode::SlowConsumer.close_code(), Some(1008));
        assert_eq!(ErrorCode::ServerShutdown.close_code(), Some(1001));
        let non_fatal = ErrorCode::ALL.iter().filter(|c| !c.is_fatal()).count();
        assert_eq!(non_fatal, 11);
    }
}
