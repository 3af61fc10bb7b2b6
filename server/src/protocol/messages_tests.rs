use super::*;
use crate::protocol::{decode_frame, parse_client, parse_relay};
use serde_json::json;

fn frame(header: Value, body: &[u8]) -> Bytes {
    encode_frame(&header, body)
}

fn client_err(header: Value) -> ProtocolError {
    parse_client(frame(header, b"")).expect_err("should be rejected")
}

fn hello(extra: Value) -> Value {
    let mut h = json!({"type":"hello","v":1,"name":"Ana","room":"lobby","client":"0123456789abcdef0123456789abcdef"});
    if let (Value::Object(h), Value::Object(extra)) = (&mut h, extra) {
        for (k, v) in extra {
            h.insert(k, v);
        }
    }
    h
}

#[test]
fn hello_parses_with_defaults() {
    let mut h = hello(json!({}));
    h.as_object_mut().expect("object").remove("room");
    let msg = parse_client(frame(h, b"")).expect("hello");
    let ClientHeader::Hello(hello) = msg.header else {
        panic!("not a hello: {:?}", msg.header)
    };
    assert_eq!(hello.room, "lobby");
    assert_eq!(hello.since, None);
    assert_eq!(hello.token, None);
    assert_eq!(hello.name, "Ana");
}

#[test]
fn hello_checks_fields_in_contract_order() {
    // Everything wrong at once: the first rule in order wins.
    let all_bad = json!({"type":"hello","v":2,"name":"","room":".x","client":"nope"});
    assert_eq!(client_err(all_bad).code, ErrorCode::Version);
    assert_eq!(client_err(json!({"type":"hello"})).code, ErrorCode::Version);
    assert_eq!(client_err(hello(json!({"v":"1"}))).code, ErrorCode::Version);
    assert_eq!(
        client_err(hello(json!({"name":"", "room":".x"}))).code,
        ErrorCode::BadName
    );
    assert_eq!(
        client_err(hello(json!({"name":5}))).code,
        ErrorCode::BadName
    );
    assert_eq!(
        client_err(hello(json!({"room":".x", "client":"z"}))).code,
        ErrorCode::BadRoom
    );
    assert_eq!(
        client_err(hello(json!({"room":7}))).code,
        ErrorCode::BadRoom
    );
    assert_eq!(
        client_err(hello(json!({"client":"z"}))).code,
        ErrorCode::BadClient
    );
}

#[test]
fn a_mistyped_since_is_a_separate_non_fatal_error() {
    for since in [json!("5"), json!(-1), json!(1.5), json!([])] {
        let h = hello(json!({ "since": since }));
        let msg = parse_client(frame(h.clone(), b"")).expect("hello still parses");
        let ClientHeader::Hello(parsed) = msg.header else {
            panic!("not a hello")
        };
        assert_eq!(parsed.since, None);
        let header = decode_frame(frame(h, b"")).expect("frame").header;
        let err = Hello::since_error(&header).expect("an error");
        assert_eq!(err.code, ErrorCode::BadHeader);
        assert!(!err.code.is_fatal());
    }
    let header = decode_frame(frame(hello(json!({"since": 4})), b""))
        .expect("frame")
        .header;
    assert_eq!(Hello::since_error(&header), None);
}

#[test]
fn hello_keeps_since_and_token() {
    let msg = parse_client(frame(hello(json!({"since":41,"token":"t0k"})), b"")).expect("hello");
    let ClientHeader::Hello(hello) = msg.header else {
        panic!("not a hello")
    };
    assert_eq!(hello.since, Some(41));
    assert_eq!(hello.token.as_deref(), Some("t0k"));
}

#[test]
fn client_messages_round_trip() {
    let begin = ImageBegin {
        id: "c-9".into(),
        name: "cat.png".into(),
        mime: "image/png".into(),
        size: 123456,
        sha256: "a".repeat(64),
        width: Some(640),
        height: None,
    };
    let cases = vec![
        ClientMessage::new(ClientHeader::Text { id: "c-8".into() }, &b"hi"[..]),
        ClientMessage::new(ClientHeader::ImageBegin(begin), &b"preview"[..]),
        ClientMessage::new(
            ClientHeader::ImageChunk {
                id: "c-9".into(),
                offset: 0,
            },
            &b"\x89PNG"[..],
        ),
        ClientMessage::new(ClientHeader::ImageEnd { id: "c-9".into() }, Bytes::new()),
        ClientMessage::new(ClientHeader::Cancel { id: "c-9".into() }, Bytes::new()),
        ClientMessage::new(ClientHeader::Receipt { seq: 42 }, Bytes::new()),
    ];
    for msg in cases {
        assert_eq!(parse_client(msg.encode()).expect("parse"), msg);
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let msg =
        parse_client(frame(json!({"type":"text","id":"a","future":[1,2]}), b"x")).expect("text");
    assert_eq!(msg.header, ClientHeader::Text { id: "a".into() });
}

#[test]
fn unknown_type_is_its_own_code() {
    assert_eq!(
        client_err(json!({"type":"dance"})).code,
        ErrorCode::UnknownType
    );
    assert_eq!(
        client_err(json!({"type":"welcome"})).code,
        ErrorCode::UnknownType
    );
}

#[test]
fn missing_or_mistyped_fields_are_bad_header() {
    let cases = [
        json!({"type":"text"}),
        json!({"type":"text","id":5}),
        json!({"type":"text","id":""}),
        json!({"type":"image_chunk","id":"a"}),
        json!({"type":"image_chunk","id":"a","offset":-1}),
        json!({"type":"image_chunk","id":"a","offset":1.5}),
        json!({"type":"image_end"}),
        json!({"type":"cancel","id":null}),
        json!({"type":"receipt"}),
        json!({"type":"receipt","seq":"42"}),
        json!({"type":"image_begin","id":"a","name":"x","mime":"image/png","sha256":"a".repeat(64)}),
        json!({"type":"image_begin","id":"a","name":"x","mime":"image/png","size":0,"sha256":"a".repeat(64)}),
        json!({"type":"image_begin","id":"a","name":"x","mime":"image/png","size":5,"sha256":"A".repeat(64)}),
        json!({"type":"image_begin","id":"a","name":"x","mime":"image/png","size":5,"sha256":"a".repeat(64),"width":-3}),
    ];
    for case in cases {
        let err = client_err(case.clone());
        assert_eq!(err.code, ErrorCode::BadHeader, "{case}");
    }
}

#[test]
fn bad_header_names_the_item_when_it_can() {
    let err = client_err(json!({"type":"image_chunk","id":"c-3"}));
    assert_eq!(err.id.as_deref(), Some("c-3"));
}

#[test]
fn unsupported_mime_is_bad_image() {
    let err = client_err(
        json!({"type":"image_begin","id":"a","name":"x","mime":"image/tiff","size":5,"sha256":"a".repeat(64)}),
    );
    assert_eq!(err.code, ErrorCode::BadImage);
    assert_eq!(err.id.as_deref(), Some("a"));
}

#[test]
fn relay_messages_round_trip() {
    let ana = User {
        id: "3f9a1c0b7d2e".into(),
        name: "Ana".into(),
    };
    let cases = vec![
        RelayHeader::Welcome(Welcome {
            v: 1,
            user: ana.clone(),
            room: "lobby".into(),
            epoch: "5b1e0c9a".into(),
            peers: vec![],
            history: 12,
            limits: Limits {
                max_image_bytes: 1,
                max_chunk_bytes: 2,
                max_text_bytes: 3,
                max_uploads: 4,
            },
        }),
        RelayHeader::Joined { user: ana.clone() },
        RelayHeader::Left { user: ana.clone() },
        RelayHeader::Ack {
            id: "c-9".into(),
            seq: 42,
            ts: 7,
        },
        RelayHeader::Text {
            seq: 41,
            ts: 1,
            from: ana.clone(),
            history: true,
        },
        RelayHeader::ImageBegin(RelayImageBegin {
            sid: 7,
            ts: 1,
            from: ana.clone(),
            name: "cat.png".into(),
            mime: "image/png".into(),
            size: 10,
            sha256: "b".repeat(64),
            width: Some(1),
            height: Some(2),
            history: false,
        }),
        RelayHeader::ImageChunk { sid: 7, offset: 0 },
        RelayHeader::ImageEnd {
            sid: 7,
            seq: 42,
            ts: 3,
        },
        RelayHeader::ImageCancel {
            sid: 7,
            reason: CancelReason::Lagging,
        },
        RelayHeader::Receipt { seq: 42, user: ana },
        RelayHeader::Error {
            code: ErrorCode::TooLarge,
            message: "big".into(),
            id: Some("c-9".into()),
        },
    ];
    for header in cases {
        let msg = RelayMessage::new(header, &b"body"[..]);
        assert_eq!(parse_relay(msg.encode()).expect("parse"), msg);
    }
}

#[test]
fn relay_headers_match_the_contract_text() {
    let text = RelayMessage::new(
        RelayHeader::Text {
            seq: 41,
            ts: 1764100000123,
            from: User {
                id: "3f9a1c0b7d2e".into(),
                name: "Ana".into(),
            },
            history: false,
        },
        Bytes::new(),
    );
    let frame = decode_frame(text.encode()).expect("frame");
    assert_eq!(
        Value::Object(frame.header),
        json!({"type":"text","seq":41,"ts":1764100000123u64,"from":{"id":"3f9a1c0b7d2e","name":"Ana"}})
    );
    let cancel = RelayMessage::new(
        RelayHeader::ImageCancel {
            sid: 7,
            reason: CancelReason::SenderLeft,
        },
        Bytes::new(),
    );
    let frame = decode_frame(cancel.encode()).expect("frame");
    assert_eq!(
        Value::Object(frame.header),
        json!({"type":"image_cancel","sid":7,"reason":"sender_left"})
    );
}

#[test]
fn unknown_cancel_reason_from_a_newer_relay_still_parses() {
    let msg = parse_relay(frame(
        json!({"type":"image_cancel","sid":1,"reason":"solar_flare"}),
        b"",
    ))
    .expect("parse");
    assert_eq!(
        msg.header,
        RelayHeader::ImageCancel {
            sid: 1,
            reason: CancelReason::Other
        }
    );
}

#[test]
fn relay_unknown_type_is_reported_for_ignoring() {
    let err = parse_relay(frame(json!({"type":"poll"}), b"")).expect_err("unknown");
    assert_eq!(err.code, ErrorCode::UnknownType);
}
