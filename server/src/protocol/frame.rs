//! Bytes ↔ frames: the length-prefixed JSON header and the binary body of one
//! WebSocket message. Knows nothing of message types beyond the `type` string.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{ErrorCode, ProtocolError};

/// Smallest and largest header length `H` the contract allows.
pub const MIN_HEADER_BYTES: usize = 2;
pub const MAX_HEADER_BYTES: usize = 16384;
/// The length prefix.
pub const PREFIX_BYTES: usize = 4;

/// One decoded message: the header object (with a string `type`) and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFrame {
    pub kind: String,
    pub header: Map<String, Value>,
    pub body: Bytes,
}

/// Splits one binary WebSocket message into header and body. Every failure is
/// `bad_frame`, as the contract says.
pub fn decode_frame(message: Bytes) -> Result<RawFrame, ProtocolError> {
    let bad = |why: &str| ProtocolError::new(ErrorCode::BadFrame, why);
    if message.len() < PREFIX_BYTES {
        return Err(bad("message is shorter than its 4-byte header length"));
    }
    let declared = u32::from_be_bytes([message[0], message[1], message[2], message[3]]) as usize;
    if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&declared) {
        return Err(bad(&format!(
            "header length {declared} is outside {MIN_HEADER_BYTES}..={MAX_HEADER_BYTES}"
        )));
    }
    let header_end = PREFIX_BYTES + declared;
    if message.len() < header_end {
        return Err(bad(&format!(
            "header length {declared} runs past the end of a {}-byte message",
            message.len()
        )));
    }
    let header: Value = serde_json::from_slice(&message[PREFIX_BYTES..header_end])
        .map_err(|e| bad(&format!("header is not JSON: {e}")))?;
    let Value::Object(header) = header else {
        return Err(bad("header is not a JSON object"));
    };
    let kind = match header.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        _ => return Err(bad("header has no string \"type\"")),
    };
    Ok(RawFrame {
        kind,
        header,
        body: message.slice(header_end..),
    })
}

/// Serializes a header and appends the body: one message, ready to share among receivers.
///
/// Our own headers are small structs; one larger than the contract allows is a bug
/// in this program, so it panics in debug builds and is reported as an error otherwise.
pub fn encode_frame(header: &impl Serialize, body: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(PREFIX_BYTES + 128 + body.len());
    buf.put_u32(0);
    let mut writer = buf.writer();
    // Serializing plain structs of strings and numbers to memory cannot fail.
    if let Err(e) = serde_json::to_writer(&mut writer, header) {
        unreachable!("serializing a protocol header failed: {e}");
    }
    let mut buf = writer.into_inner();
    let header_len = buf.len() - PREFIX_BYTES;
    debug_assert!(
        (MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&header_len),
        "header of {header_len} bytes"
    );
    buf[..PREFIX_BYTES].copy_from_slice(&(header_len as u32).to_be_bytes());
    buf.extend_from_slice(body);
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(header: &[u8], body: &[u8]) -> Bytes {
        let mut v = (header.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(header);
        v.extend_from_slice(body);
        Bytes::from(v)
    }

    #[test]
    fn round_trip_keeps_header_and_body() {
        let bytes = encode_frame(&json!({"type": "text", "id": "c-1"}), b"hello");
        let frame = decode_frame(bytes).expect("decode");
        assert_eq!(frame.kind, "text");
        assert_eq!(frame.header["id"], "c-1");
        assert_eq!(&frame.body[..], b"hello");
    }

    #[test]
    fn exact_bytes_of_a_small_frame() {
        let bytes = encode_frame(&json!({"type": "x"}), &[1, 2]);
        let mut expected = vec![0, 0, 0, 12];
        expected.extend_from_slice(br#"{"type":"x"}"#);
        expected.extend_from_slice(&[1, 2]);
        assert_eq!(&bytes[..], &expected[..]);
    }

    #[test]
    fn empty_body_is_allowed() {
        let frame = decode_frame(raw(br#"{"type":"image_end","id":"a"}"#, b"")).expect("decode");
        assert!(frame.body.is_empty());
    }

    #[test]
    fn rejects_short_messages() {
        for len in 0..4 {
            let err = decode_frame(Bytes::from(vec![0u8; len])).expect_err("too short");
            assert_eq!(err.code, ErrorCode::BadFrame);
        }
    }

    #[test]
    fn rejects_header_lengths_out_of_range() {
        for declared in [0u32, 1, 16385, u32::MAX] {
            let mut v = declared.to_be_bytes().to_vec();
            v.extend_from_slice(&[b' '; 20]);
            let err = decode_frame(Bytes::from(v)).expect_err("out of range");
            assert_eq!(err.code, ErrorCode::BadFrame, "H = {declared}");
        }
    }

    #[test]
    fn rejects_header_running_past_the_end() {
        let mut v = 100u32.to_be_bytes().to_vec();
        v.extend_from_slice(br#"{"type":"text"}"#);
        assert_eq!(
            decode_frame(Bytes::from(v)).expect_err("truncated").code,
            ErrorCode::BadFrame
        );
    }

    #[test]
    fn rejects_headers_that_are_not_objects_with_a_string_type() {
        let cases: [&[u8]; 8] = [
            b"[]",
            b"\"text\"",
            b"{}",
            br#"{"type":1}"#,
            br#"{"type":null}"#,
            b"{\"type\":\"te",
            b"\xff\xfe",
            br#"{"type":"a"} x"#,
        ];
        for header in cases {
            let err = decode_frame(raw(header, b"")).expect_err("bad header");
            assert_eq!(
                err.code,
                ErrorCode::BadFrame,
                "{:?}",
                String::from_utf8_lossy(header)
            );
        }
    }

    #[test]
    fn largest_header_is_accepted() {
        let pad = "a".repeat(MAX_HEADER_BYTES - r#"{"type":"t","p":""}"#.len());
        let header = format!(r#"{{"type":"t","p":"{pad}"}}"#);
        assert_eq!(header.len(), MAX_HEADER_BYTES);
        assert!(decode_frame(raw(header.as_bytes(), b"")).is_ok());
    }

    #[test]
    fn body_is_a_view_not_a_copy() {
        let bytes = raw(br#"{"type":"image_chunk"}"#, &[7u8; 1000]);
        let frame = decode_frame(bytes.clone()).expect("decode");
        assert_eq!(frame.body.as_ptr(), bytes[bytes.len() - 1000..].as_ptr());
    }
}
