//! The relay's codes and reasons in words a person understands, and the local clock.

use snapwire_relay::protocol::{CancelReason, ErrorCode};

/// Unix time in ms from the local clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn cancel_words(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::SenderLeft => "the sender left before it was complete",
        CancelReason::Cancelled => "the sender cancelled it",
        CancelReason::BadChunk => "the upload broke off (bad chunk)",
        CancelReason::BadHash => "the upload was damaged (checksum mismatch)",
        CancelReason::Storage => "the relay could not store it",
        CancelReason::ServerShutdown => "the relay shut down",
        CancelReason::Lagging => "this window fell behind; it will arrive shortly",
        CancelReason::Other => "the relay stopped it",
    }
}

/// The relay's error in words a person understands, keeping the relay's own message.
pub fn error_words(code: ErrorCode, message: &str) -> String {
    let lead = match code {
        ErrorCode::Unauthorized => "Wrong or missing access token",
        ErrorCode::BadName => "The relay refused this name",
        ErrorCode::BadRoom => "The relay refused this room name",
        ErrorCode::BadClient => "The relay refused this client's id",
        ErrorCode::Version => "This relay speaks another protocol version",
        ErrorCode::SlowConsumer => "The relay dropped us for reading too slowly",
        ErrorCode::ServerShutdown => "The relay is shutting down",
        ErrorCode::TooLarge => "Too large",
        ErrorCode::BadImage => "Not an image the relay accepts",
        ErrorCode::RateLimited => "Sending too fast, try again in a moment",
        ErrorCode::Storage => "The relay could not store it",
        ErrorCode::BadText => "The relay refused this text",
        _ => "Relay error",
    };
    if message.is_empty() {
        format!("{lead} ({code})")
    } else {
        format!("{lead}: {message}")
    }
}
