//! Typed messages of both directions, and the step from a [`RawFrame`] to them.
//! Header fields are serde structs tagged by `type`; bodies stay `Bytes`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::frame::{RawFrame, encode_frame};
use super::validate;
use super::{ErrorCode, ImageFormat, ProtocolError};

/// Longest `message` of an error the relay sends.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 300;

/// The only protocol version this crate speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// A person as others see them: the public id (never the secret) and the display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
}

/// The relay's limits, announced in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_image_bytes: u64,
    pub max_chunk_bytes: u64,
    pub max_text_bytes: u64,
    pub max_uploads: u64,
}

/// A validated `hello` (the token is checked by the relay, which knows the expected one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub v: u64,
    pub name: String,
    pub room: String,
    pub client: String,
    pub token: Option<String>,
    pub since: Option<u64>,
}

impl Hello {
    /// `bad_header` when `since` is present but neither null nor a non-negative integer.
    pub fn since_error(header: &Map<String, Value>) -> Option<ProtocolError> {
        match header.get("since") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => None,
            Some(_) => Some(ProtocolError::new(
                ErrorCode::BadHeader,
                "since is a non-negative integer or null; replaying the latest items instead",
            )),
        }
    }

    /// Reads a `hello` header, checking `v`, `name`, `room`, `client` in the contract's order.
    pub fn from_header(header: &Map<String, Value>) -> Result<Hello, ProtocolError> {
        match header.get("v") {
            Some(Value::Number(n)) if n.as_u64() == Some(PROTOCOL_VERSION) => {}
            other => {
                return Err(ProtocolError::new(
                    ErrorCode::Version,
                    format!(
                        "this relay speaks protocol version {PROTOCOL_VERSION}, the client sent {}",
                        other.map_or_else(|| "none".to_owned(), Value::to_string)
                    ),
                ));
            }
        }
        let name = match header.get("name") {
            Some(Value::String(name)) => validate::display_name(name)?,
            _ => return Err(ProtocolError::new(ErrorCode::BadName, "name is required")),
        };
        let room = match header.get("room") {
            None | Some(Value::Null) => validate::DEFAULT_ROOM.to_owned(),
            Some(Value::String(room)) => validate::room_name(room)?,
            Some(_) => {
                return Err(ProtocolError::new(
                    ErrorCode::BadRoom,
                    "room is not a string",
                ));
            }
        };
        let client = match header.get("client") {
            Some(Value::String(client)) => validate::client_secret(client)?,
            _ => {
                return Err(ProtocolError::new(
                    ErrorCode::BadClient,
                    "client is required",
                ));
            }
        };
        // A token that is not a string counts as missing: `unauthorized` where one is needed.
        let token = match header.get("token") {
            Some(Value::String(token)) => Some(token.clone()),
            _ => None,
        };
        // A mistyped `since` is answered with a non-fatal `bad_header` after `welcome`
        // (see `Hello::since_error`); the session replays as if it were null.
        let since = header.get("since").and_then(Value::as_u64);
        Ok(Hello {
            v: PROTOCOL_VERSION,
            name,
            room,
            client,
            token,
            since,
        })
    }
}

/// `image_begin` as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageBegin {
    pub id: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// Headers a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientHeader {
    Hello(Hello),
    Text { id: String },
    ImageBegin(ImageBegin),
    ImageChunk { id: String, offset: u64 },
    ImageEnd { id: String },
    Cancel { id: String },
    Receipt { seq: u64 },
}

const CLIENT_TYPES: [&str; 7] = [
    "hello",
    "text",
    "image_begin",
    "image_chunk",
    "image_end",
    "cancel",
    "receipt",
];

/// A client's message after parsing: header checked field by field, body as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientMessage {
    pub header: ClientHeader,
    pub body: Bytes,
}

impl ClientMessage {
    pub fn new(header: ClientHeader, body: impl Into<Bytes>) -> Self {
        Self {
            header,
            body: body.into(),
        }
    }

    /// Parses a decoded frame. `hello` goes through [`Hello::from_header`];
    /// unknown types are `unknown_type`, missing or mistyped fields `bad_header`,
    /// field rules that have their own code (mime, sha256, ids) are checked here too.
    pub fn parse(frame: RawFrame) -> Result<ClientMessage, ProtocolError> {
        if !CLIENT_TYPES.contains(&frame.kind.as_str()) {
            return Err(ProtocolError::new(
                ErrorCode::UnknownType,
                format!("unknown message type {:?}", truncate(&frame.kind)),
            ));
        }
        if frame.kind == "hello" {
            let hello = Hello::from_header(&frame.header)?;
            return Ok(ClientMessage::new(ClientHeader::Hello(hello), frame.body));
        }
        let id_of = |h: &Map<String, Value>| match h.get("id") {
            Some(Value::String(id)) => Some(id.clone()),
            _ => None,
        };
        let id = id_of(&frame.header);
        let header: ClientHeader =
            serde_json::from_value(Value::Object(frame.header)).map_err(|e| {
                let err =
                    ProtocolError::new(ErrorCode::BadHeader, format!("{} header: {e}", frame.kind));
                match &id {
                    Some(id) => err.with_id(id.clone()),
                    None => err,
                }
            })?;
        check_fields(&header)?;
        Ok(ClientMessage::new(header, frame.body))
    }

    pub fn encode(&self) -> Bytes {
        encode_frame(&self.header, &self.body)
    }
}

fn check_fields(header: &ClientHeader) -> Result<(), ProtocolError> {
    let id = match header {
        ClientHeader::Text { id }
        | ClientHeader::ImageChunk { id, .. }
        | ClientHeader::ImageEnd { id }
        | ClientHeader::Cancel { id } => id,
        ClientHeader::ImageBegin(begin) => &begin.id,
        ClientHeader::Hello(_) | ClientHeader::Receipt { .. } => return Ok(()),
    };
    validate::item_id(id)?;
    if let ClientHeader::ImageBegin(begin) = header {
        let with_id = |code, why: &str| ProtocolError::new(code, why).with_id(id.clone());
        if begin.size == 0 {
            return Err(with_id(ErrorCode::BadHeader, "size must be at least 1"));
        }
        if !validate::sha256_hex(&begin.sha256) {
            return Err(with_id(
                ErrorCode::BadHeader,
                "sha256 must be 64 lowercase hex digits",
            ));
        }
        if ImageFormat::from_mime(&begin.mime).is_none() {
            return Err(with_id(
                ErrorCode::BadImage,
                "mime must be image/png, image/jpeg, image/gif, image/webp or image/bmp",
            ));
        }
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Why an image stopped streaming to a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    SenderLeft,
    Cancelled,
    BadChunk,
    BadHash,
    Storage,
    ServerShutdown,
    Lagging,
    /// A reason this version does not know (a newer relay).
    #[serde(other)]
    Other,
}

/// `welcome`, the relay's answer to a good `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub v: u64,
    pub user: User,
    pub room: String,
    pub epoch: String,
    pub peers: Vec<User>,
    pub history: u64,
    pub limits: Limits,
}

/// `image_begin` as the relay forwards it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayImageBegin {
    pub sid: u64,
    pub ts: u64,
    pub from: User,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub history: bool,
}

/// Headers the relay sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayHeader {
    Welcome(Welcome),
    Joined {
        user: User,
    },
    Left {
        user: User,
    },
    Ack {
        id: String,
        seq: u64,
        ts: u64,
    },
    Text {
        seq: u64,
        ts: u64,
        from: User,
        #[serde(default, skip_serializing_if = "is_false")]
        history: bool,
    },
    ImageBegin(RelayImageBegin),
    ImageChunk {
        sid: u64,
        offset: u64,
    },
    ImageEnd {
        sid: u64,
        seq: u64,
        ts: u64,
    },
    ImageCancel {
        sid: u64,
        reason: CancelReason,
    },
    Receipt {
        seq: u64,
        user: User,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

const RELAY_TYPES: [&str; 11] = [
    "welcome",
    "joined",
    "left",
    "ack",
    "text",
    "image_begin",
    "image_chunk",
    "image_end",
    "image_cancel",
    "receipt",
    "error",
];

fn is_false(b: &bool) -> bool {
    !*b
}

/// A relay's message after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayMessage {
    pub header: RelayHeader,
    pub body: Bytes,
}

impl RelayMessage {
    pub fn new(header: RelayHeader, body: impl Into<Bytes>) -> Self {
        Self {
            header,
            body: body.into(),
        }
    }

    /// Parses a decoded frame from the relay. A type this version does not know is
    /// `unknown_type`, which a client should ignore (a newer relay's extension).
    pub fn parse(frame: RawFrame) -> Result<RelayMessage, ProtocolError> {
        if !RELAY_TYPES.contains(&frame.kind.as_str()) {
            return Err(ProtocolError::new(
                ErrorCode::UnknownType,
                format!("unknown message type {:?}", truncate(&frame.kind)),
            ));
        }
        let kind = frame.kind;
        let header = serde_json::from_value(Value::Object(frame.header))
            .map_err(|e| ProtocolError::new(ErrorCode::BadHeader, format!("{kind} header: {e}")))?;
        Ok(RelayMessage::new(header, frame.body))
    }

    pub fn encode(&self) -> Bytes {
        encode_frame(&self.header, &self.body)
    }

    /// An `error` message. Its words may quote a peer's input, so they are cut to
    /// [`MAX_ERROR_MESSAGE_CHARS`], and `id` is kept only when it is a valid item id:
    /// the header always stays far below the 16 KiB limit.
    pub fn error(err: &ProtocolError) -> RelayMessage {
        let mut message: String = err.message.chars().take(MAX_ERROR_MESSAGE_CHARS).collect();
        if message.len() < err.message.len() {
            message.push('…');
        }
        let id = err.id.clone().filter(|id| validate::item_id(id).is_ok());
        RelayMessage::new(
            RelayHeader::Error {
                code: err.code,
                message,
                id,
            },
            Bytes::new(),
        )
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
