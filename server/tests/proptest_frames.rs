//! Property tests: arbitrary bytes never panic the decoder, and arbitrary message
//! sequences never break the relay: a connection either goes on or ends with a
//! contract error, and the relay keeps serving others.

mod common;

use bytes::Bytes;
use futures_util::StreamExt;
use proptest::prelude::*;
use serde_json::json;
use snapwire_relay::protocol::{ErrorCode, RelayHeader, parse_client, parse_relay};
use tokio_tungstenite::tungstenite::Message;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_are_a_value_or_a_contract_error(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let bytes = Bytes::from(bytes);
        if let Err(err) = parse_client(bytes.clone()) {
            prop_assert!(ErrorCode::ALL.contains(&err.code));
        }
        let _ = parse_relay(bytes);
    }

    #[test]
    fn arbitrary_headers_behind_a_valid_prefix(header in "\\PC{0,80}", body in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut frame = (header.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(header.as_bytes());
        frame.extend_from_slice(&body);
        if let Err(err) = parse_client(Bytes::from(frame)) {
            prop_assert!(ErrorCode::ALL.contains(&err.code));
        }
    }
}

/// A message a confused or hostile client might send.
fn arb_message() -> impl Strategy<Value = Message> {
    let id = prop_oneof![Just("a".to_owned()), Just("b".to_owned()), "[a-z]{0,3}"];
    let num = prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(12)),
        Just(json!(-1)),
        Just(json!("1")),
        Just(json!(null)),
        Just(json!(1e30))
    ];
    let kind = prop_oneof![
        Just("text"),
        Just("image_begin"),
        Just("image_chunk"),
        Just("image_end"),
        Just("cancel"),
        Just("receipt"),
        Just("hello"),
        Just("nonsense"),
    ];
    let body = proptest::collection::vec(any::<u8>(), 0..40);
    let header = (kind, id, num.clone(), num, any::<bool>()).prop_map(|(kind, id, a, b, png)| {
        json!({
            "type": kind, "id": id, "offset": a, "seq": b, "size": a,
            "name": "x.png", "mime": if png { "image/png" } else { "image/gif" },
            "sha256": "0".repeat(64), "v": 1,
        })
    });
    prop_oneof![
        8 => (header, body.clone()).prop_map(|(header, body)| {
            Message::Binary(snapwire_relay::protocol::encode_frame(&header, &body))
        }),
        1 => body.clone().prop_map(|b| Message::Binary(b.into())),
        1 => "\\PC{0,20}".prop_map(|t| Message::Text(t.into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_message_sequences_get_contract_answers(messages in proptest::collection::vec(arb_message(), 1..24)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let relay = common::start_relay(common::memory_config()).await;
            let mut client = common::Client::join(relay.local_addr(), "Fuzz", "lobby", 1).await;
            for message in messages {
                if futures_util::SinkExt::send(&mut client.ws, message).await.is_err() {
                    break;
                }
            }
            // Close our side and read what the relay said: only contract messages.
            let _ = futures_util::SinkExt::close(&mut client.ws).await;
            let deadline = tokio::time::Instant::now() + common::WAIT;
            while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, client.ws.next()).await {
                if let Message::Binary(bytes) = message {
                    let parsed = parse_relay(bytes).expect("the relay speaks the protocol");
                    if let RelayHeader::Error { code, .. } = parsed.header {
                        assert!(ErrorCode::ALL.contains(&code));
                    }
                }
            }
            // The relay still serves a newcomer.
            let mut other = common::Client::join(relay.local_addr(), "Next", "lobby", 2).await;
            other.text("ok", "still alive").await;
            other.recv_until(|h| matches!(h, RelayHeader::Ack { .. })).await;
            relay.shutdown().await.expect("shutdown");
        });
    }
}
