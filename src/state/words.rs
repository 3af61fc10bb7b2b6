//! The relay's codes and reasons in words a person understands, and the local clock.

use snapwire_relay::protocol::{CancelReason, ErrorCode};

use crate::t;

/// Unix time in ms from the local clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn cancel_words(reason: CancelReason) -> String {
    match reason {
        CancelReason::SenderLeft => t!("cancel-sender-left"),
        CancelReason::Cancelled => t!("cancel-cancelled"),
        CancelReason::BadChunk => t!("cancel-bad-chunk"),
        CancelReason::BadHash => t!("cancel-bad-hash"),
        CancelReason::Storage => t!("cancel-storage"),
        CancelReason::ServerShutdown => t!("cancel-server-shutdown"),
        CancelReason::Lagging => t!("cancel-lagging"),
        CancelReason::Other => t!("cancel-other"),
    }
}

/// The relay's error in words a person understands, keeping the relay's own message.
pub fn error_words(code: ErrorCode, message: &str) -> String {
    let lead = match code {
        ErrorCode::Unauthorized => t!("relay-error-unauthorized"),
        ErrorCode::BadName => t!("relay-error-bad-name"),
        ErrorCode::BadRoom => t!("relay-error-bad-room"),
        ErrorCode::BadClient => t!("relay-error-bad-client"),
        ErrorCode::Version => t!("relay-error-version"),
        ErrorCode::SlowConsumer => t!("relay-error-slow-consumer"),
        ErrorCode::ServerShutdown => t!("relay-error-server-shutdown"),
        ErrorCode::TooLarge => t!("relay-error-too-large"),
        ErrorCode::BadImage => t!("relay-error-bad-image"),
        ErrorCode::RateLimited => t!("relay-error-rate-limited"),
        ErrorCode::Storage => t!("relay-error-storage"),
        ErrorCode::BadText => t!("relay-error-bad-text"),
        _ => t!("relay-error-other"),
    };
    if message.is_empty() {
        format!("{lead} ({code})")
    } else {
        format!("{lead}: {message}")
    }
}
