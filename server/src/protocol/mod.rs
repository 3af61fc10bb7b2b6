//! The Snapwire wire protocol, version 1 (`docs/PROTOCOL.md`): one binary
//! WebSocket message per protocol message, a length-prefixed JSON header and a
//! binary body. Both the relay and the app use this module, so there is one codec.
//!
//! - [`frame`]: bytes ↔ header object + body (`bad_frame` lives here).
//! - [`messages`]: typed headers of both directions and their parsing.
//! - [`validate`]: the field rules (names, rooms, secrets, file names, previews).
//! - [`image_format`]: the five formats and their signatures.
//! - [`error`]: the error codes and [`ProtocolError`].

pub mod error;
pub mod frame;
pub mod image_format;
pub mod messages;
pub mod validate;

pub use error::{ErrorCode, ProtocolError};
pub use frame::{MAX_HEADER_BYTES, RawFrame, decode_frame, encode_frame};
pub use image_format::ImageFormat;
pub use messages::{
    CancelReason, ClientHeader, ClientMessage, Hello, ImageBegin, Limits, PROTOCOL_VERSION,
    RelayHeader, RelayImageBegin, RelayMessage, User, Welcome,
};

/// Decodes and parses a client's message in one step.
pub fn parse_client(message: bytes::Bytes) -> Result<ClientMessage, ProtocolError> {
    ClientMessage::parse(decode_frame(message)?)
}

/// Decodes and parses a relay's message in one step.
pub fn parse_relay(message: bytes::Bytes) -> Result<RelayMessage, ProtocolError> {
    RelayMessage::parse(decode_frame(message)?)
}
