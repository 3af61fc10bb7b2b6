//! Texts and images: relaying, acks, cut-through streaming, every item error, cancel,
//! receipts, dedup, replay with `since`.

mod common;

use std::time::Duration;

use common::{Client, begin_for, fake_png, memory_config, sha256_hex, start_relay};
use serde_json::json;
use snapwire_relay::Config;
use snapwire_relay::protocol::{CancelReason, ClientHeader, ErrorCode, RelayHeader};
use tokio_tungstenite::tungstenite::Message;

/// A 1x1 PNG, small enough to be a preview.
const TINY_PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

#[tokio::test]
async fn text_is_acked_and_relayed_to_everyone_else() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    let mut cy = Client::join(addr, "Cy", "lobby", 3).await;
    ana.joined().await;
    ana.joined().await;
    ben.joined().await;

    ana.text("c-8", "héllo").await;
    let seq = ana.expect_ack("c-8").await;
    for receiver in [&mut ben, &mut cy] {
        let message = receiver.recv().await;
        match message.header {
            RelayHeader::Text {
                seq: got,
                from,
                history,
                ..
            } => {
                assert_eq!(got, seq);
                assert_eq!(from.name, "Ana");
                assert!(!history);
                assert_eq!(&message.body[..], "héllo".as_bytes());
            }
            other => panic!("expected text, got {other:?}"),
        }
    }
    ana.text("c-9", "again").await;
    let next = ana.expect_ack("c-9").await;
    assert!(next > seq, "seq increases");
    ana.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn text_errors_are_not_fatal() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    ana.text("t-1", &"x".repeat(16385)).await;
    assert_eq!(
        ana.expect_error(ErrorCode::TooLarge).await.as_deref(),
        Some("t-1")
    );
    ana.text("t-2", " \n\t ").await;
    ana.expect_error(ErrorCode::BadText).await;
    ana.send(ClientHeader::Text { id: "t-3".into() }, b"\xff\xfe")
        .await;
    ana.expect_error(ErrorCode::BadText).await;
    ana.send_json(json!({"type":"text"}), b"x").await;
    ana.expect_error(ErrorCode::BadHeader).await;
    ana.send_json(json!({"type":"telepathy"}), b"").await;
    ana.expect_error(ErrorCode::UnknownType).await;
    ana.text("t-4", &"x".repeat(16384)).await;
    ana.expect_ack("t-4").await;
}

#[tokio::test]
async fn a_broken_frame_after_hello_is_fatal() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    ana.send_raw(Message::Binary(vec![0, 0, 0, 5, b'{', b'}'].into()))
        .await;
    ana.expect_error(ErrorCode::BadFrame).await;
    ana.expect_close(1002).await;
}

#[tokio::test]
async fn oversized_websocket_messages_close_with_1009() {
    let relay = start_relay(Config {
        max_chunk_bytes: 64 * 1024,
        ..memory_config()
    })
    .await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    // 4 + 16384 + 64 KiB is the cap; one byte more.
    let big = vec![0u8; 4 + 16384 + 64 * 1024 + 1];
    let _ = futures_util::SinkExt::send(&mut ana.ws, Message::Binary(big.into())).await;
    assert_eq!(common::raw_close_code(ana).await, Some(1009));
}

#[tokio::test]
async fn images_stream_cut_through_with_preview_and_complete_with_seq() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    ana.joined().await;

    let bytes = fake_png(300_000, 7);
    let mut begin = begin_for("c-9", &bytes);
    begin.name = "../../secret/cat.png".into();
    ana.send(ClientHeader::ImageBegin(begin), TINY_PNG).await;
    ana.send_chunks("c-9", &bytes[..100_000], 100_000).await;
    // Ben sees the begin and the first chunk before the image is complete.
    let first = ben.recv().await;
    let RelayHeader::ImageBegin(relayed) = first.header else {
        panic!("expected image_begin, got {:?}", first.header)
    };
    assert_eq!(
        relayed.name, "cat.png",
        "only the last path component is kept"
    );
    assert_eq!(relayed.size, 300_000);
    assert_eq!((relayed.width, relayed.height), (Some(640), Some(480)));
    assert_eq!(relayed.from.name, "Ana");
    assert!(!relayed.history);
    assert_eq!(
        &first.body[..],
        TINY_PNG,
        "the preview travels with the begin"
    );
    match ben.recv().await.header {
        RelayHeader::ImageChunk { sid, offset } => {
            assert_eq!((sid, offset), (relayed.sid, 0));
        }
        other => panic!("expected a chunk before the end, got {other:?}"),
    }
    for (i, part) in bytes[100_000..].chunks(100_000).enumerate() {
        let offset = 100_000 + i * 100_000;
        ana.send(
            ClientHeader::ImageChunk {
                id: "c-9".into(),
                offset: offset as u64,
            },
            part,
        )
        .await;
    }
    ana.send(ClientHeader::ImageEnd { id: "c-9".into() }, b"")
        .await;
    let seq = ana.expect_ack("c-9").await;
    let mut got = bytes[..100_000].to_vec();
    loop {
        let message = ben.recv().await;
        match message.header {
            RelayHeader::ImageChunk { offset, .. } => {
                assert_eq!(offset as usize, got.len());
                got.extend_from_slice(&message.body);
            }
            RelayHeader::ImageEnd {
                sid, seq: end_seq, ..
            } => {
                assert_eq!(sid, relayed.sid);
                assert_eq!(end_seq, seq);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, bytes, "byte-exact");
}

#[tokio::test]
async fn image_errors_name_the_item_and_later_chunks_are_dropped_silently() {
    let relay = start_relay(Config {
        max_image_bytes: 1_000_000,
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let bytes = fake_png(5_000, 1);

    // Unsupported type.
    let mut tiff = begin_for("i-1", &bytes);
    tiff.mime = "image/tiff".into();
    ana.send(ClientHeader::ImageBegin(tiff), b"").await;
    assert_eq!(
        ana.expect_error(ErrorCode::BadImage).await.as_deref(),
        Some("i-1")
    );
    ana.send_chunks("i-1", &bytes, 5_000).await;
    ana.send(ClientHeader::ImageEnd { id: "i-1".into() }, b"")
        .await;

    // Too large, size 0.
    let mut huge = begin_for("i-2", &bytes);
    huge.size = 2_000_000_000;
    ana.send(ClientHeader::ImageBegin(huge), b"").await;
    assert_eq!(
        ana.expect_error(ErrorCode::TooLarge).await.as_deref(),
        Some("i-2")
    );
    ana.send_json(json!({"type":"image_begin","id":"i-3","name":"a","mime":"image/png","size":0,"sha256":"a".repeat(64)}), b"").await;
    ana.expect_error(ErrorCode::BadHeader).await;

    // Signature does not match the mime.
    let mut jpeg = begin_for("i-4", &bytes);
    jpeg.mime = "image/jpeg".into();
    ana.send(ClientHeader::ImageBegin(jpeg), b"").await;
    ana.send_chunks("i-4", &bytes, 5_000).await;
    assert_eq!(
        ana.expect_error(ErrorCode::BadImage).await.as_deref(),
        Some("i-4")
    );
    ana.send(ClientHeader::ImageEnd { id: "i-4".into() }, b"")
        .await;

    // A first chunk too short to carry the signature.
    ana.begin_partial("i-5", &bytes, 4).await;
    ana.expect_error(ErrorCode::BadImage).await;

    // Offsets must be contiguous.
    ana.begin_partial("i-6", &bytes, 1000).await;
    ana.send(
        ClientHeader::ImageChunk {
            id: "i-6".into(),
            offset: 2000,
        },
        &bytes[2000..3000],
    )
    .await;
    assert_eq!(
        ana.expect_error(ErrorCode::BadChunk).await.as_deref(),
        Some("i-6")
    );

    // Ending early.
    ana.begin_partial("i-7", &bytes, 1000).await;
    ana.send(ClientHeader::ImageEnd { id: "i-7".into() }, b"")
        .await;
    ana.expect_error(ErrorCode::BadChunk).await;

    // Running past the size.
    let mut short = begin_for("i-8", &bytes);
    short.size = 100;
    ana.send(ClientHeader::ImageBegin(short), b"").await;
    ana.send(
        ClientHeader::ImageChunk {
            id: "i-8".into(),
            offset: 0,
        },
        &bytes[..200],
    )
    .await;
    ana.expect_error(ErrorCode::BadChunk).await;

    // Wrong hash.
    let mut wrong = begin_for("i-9", &bytes);
    wrong.sha256 = sha256_hex(b"something else");
    ana.send(ClientHeader::ImageBegin(wrong), b"").await;
    ana.send_chunks("i-9", &bytes, 2_000).await;
    ana.send(ClientHeader::ImageEnd { id: "i-9".into() }, b"")
        .await;
    assert_eq!(
        ana.expect_error(ErrorCode::BadHash).await.as_deref(),
        Some("i-9")
    );

    // A preview that is not an image, or too big.
    ana.send(
        ClientHeader::ImageBegin(begin_for("i-10", &bytes)),
        b"GIF89a\x01\0\x01\0",
    )
    .await;
    ana.expect_error(ErrorCode::BadImage).await;

    // Never begun.
    ana.send(
        ClientHeader::ImageChunk {
            id: "nope".into(),
            offset: 0,
        },
        &bytes[..100],
    )
    .await;
    assert_eq!(
        ana.expect_error(ErrorCode::UnknownItem).await.as_deref(),
        Some("nope")
    );
    ana.send(ClientHeader::ImageEnd { id: "nope".into() }, b"")
        .await;
    ana.expect_error(ErrorCode::UnknownItem).await;
    ana.send(ClientHeader::Cancel { id: "nope".into() }, b"")
        .await;
    ana.expect_error(ErrorCode::UnknownItem).await;

    // After all that the connection works, and nothing else was said.
    ana.send_image("ok", &bytes, 1_000).await;
    ana.expect_ack("ok").await;
    ana.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn at_most_max_uploads_in_flight() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    let bytes = fake_png(1000, 2);
    for i in 0..4 {
        ana.send(
            ClientHeader::ImageBegin(begin_for(&format!("u-{i}"), &bytes)),
            b"",
        )
        .await;
    }
    ana.send(ClientHeader::ImageBegin(begin_for("u-4", &bytes)), b"")
        .await;
    assert_eq!(
        ana.expect_error(ErrorCode::TooManyUploads).await.as_deref(),
        Some("u-4")
    );
    // Interleaved chunks of several images all complete.
    for i in 0..4 {
        ana.send(
            ClientHeader::ImageChunk {
                id: format!("u-{i}"),
                offset: 0,
            },
            &bytes[..500],
        )
        .await;
    }
    ana.text("t", "in between").await;
    ana.expect_ack("t").await;
    for i in 0..4 {
        ana.send(
            ClientHeader::ImageChunk {
                id: format!("u-{i}"),
                offset: 500,
            },
            &bytes[500..],
        )
        .await;
        ana.send(
            ClientHeader::ImageEnd {
                id: format!("u-{i}"),
            },
            b"",
        )
        .await;
        ana.expect_ack(&format!("u-{i}")).await;
    }
}

#[tokio::test]
async fn cancel_and_sender_leaving_cancel_to_receivers() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    ana.joined().await;
    let bytes = fake_png(10_000, 3);

    ana.begin_partial("x", &bytes, 5000).await;
    ana.send(ClientHeader::Cancel { id: "x".into() }, b"").await;
    // Later chunks of a cancelled image are dropped silently.
    ana.send(
        ClientHeader::ImageChunk {
            id: "x".into(),
            offset: 5000,
        },
        &bytes[5000..],
    )
    .await;
    ana.send(ClientHeader::ImageEnd { id: "x".into() }, b"")
        .await;
    let cancelled = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageCancel { .. }))
        .await;
    assert!(matches!(
        cancelled.header,
        RelayHeader::ImageCancel {
            reason: CancelReason::Cancelled,
            ..
        }
    ));

    ana.begin_partial("y", &bytes, 5000).await;
    let begun = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageBegin(_)))
        .await;
    let RelayHeader::ImageBegin(begun) = begun.header else {
        unreachable!()
    };
    drop(ana);
    let cancelled = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageCancel { .. }))
        .await;
    assert_eq!(
        cancelled.header,
        RelayHeader::ImageCancel {
            sid: begun.sid,
            reason: CancelReason::SenderLeft
        }
    );
    ben.recv_until(|h| matches!(h, RelayHeader::Left { .. }))
        .await;
    ben.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_bad_hash_is_cancelled_to_receivers() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    ana.joined().await;
    let bytes = fake_png(3000, 4);
    let mut begin = begin_for("h", &bytes);
    begin.sha256 = sha256_hex(b"other");
    ana.send(ClientHeader::ImageBegin(begin), b"").await;
    ana.send_chunks("h", &bytes, 1000).await;
    ana.send(ClientHeader::ImageEnd { id: "h".into() }, b"")
        .await;
    ana.expect_error(ErrorCode::BadHash).await;
    let cancelled = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageCancel { .. }))
        .await;
    assert!(matches!(
        cancelled.header,
        RelayHeader::ImageCancel {
            reason: CancelReason::BadHash,
            ..
        }
    ));
}

#[tokio::test]
async fn a_connection_that_joins_mid_upload_gets_the_image_once_complete() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let bytes = fake_png(50_000, 5);
    ana.begin_partial("m", &bytes, 20_000).await;
    ana.text("sync", "barrier").await;
    ana.expect_ack("sync").await;
    let mut late = Client::join(addr, "Late", "lobby", 9).await;
    // The replay holds the text (the image was not complete at hello).
    assert_eq!(late.welcome.as_ref().expect("welcome").history, 1);
    let replayed = late.recv().await;
    assert!(matches!(
        replayed.header,
        RelayHeader::Text { history: true, .. }
    ));
    ana.send(
        ClientHeader::ImageChunk {
            id: "m".into(),
            offset: 20_000,
        },
        &bytes[20_000..],
    )
    .await;
    ana.send(ClientHeader::ImageEnd { id: "m".into() }, b"")
        .await;
    let seq = ana
        .recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
        .await;
    let image = late.recv_image().await;
    assert_eq!(image.bytes, bytes);
    assert!(!image.begin.history, "completed after joining: not history");
    assert!(matches!(seq.header, RelayHeader::Ack { seq, .. } if seq == image.seq));
    late.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn replay_after_welcome_with_history_flags_and_since() {
    let relay = start_relay(Config {
        replay_latest: 3,
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut seqs = Vec::new();
    for i in 0..4 {
        ana.text(&format!("t-{i}"), &format!("text {i}")).await;
        seqs.push(ana.expect_ack(&format!("t-{i}")).await);
    }
    let bytes = fake_png(4000, 6);
    ana.send_image("img", &bytes, 1500).await;
    seqs.push(ana.expect_ack("img").await);

    // No since: the latest 3.
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    assert_eq!(ben.welcome.as_ref().expect("welcome").history, 3);
    for expected in &seqs[2..4] {
        match ben.recv().await.header {
            RelayHeader::Text { seq, history, .. } => {
                assert_eq!(seq, *expected);
                assert!(history);
            }
            other => panic!("expected replayed text, got {other:?}"),
        }
    }
    let image = ben.recv_image().await;
    assert!(image.begin.history);
    assert_eq!(image.seq, seqs[4]);
    assert_eq!(image.bytes, bytes);
    ben.expect_silence(Duration::from_millis(200)).await;

    // since = the first seq: everything after it.
    let mut cy = Client::join_since(addr, "Cy", "lobby", 3, Some(seqs[0])).await;
    assert_eq!(cy.welcome.as_ref().expect("welcome").history, 4);
    for expected in &seqs[1..4] {
        assert!(
            matches!(cy.recv().await.header, RelayHeader::Text { seq, .. } if seq == *expected)
        );
    }
    assert_eq!(cy.recv_image().await.seq, seqs[4]);

    // since = the latest: nothing.
    let mut dee = Client::join_since(addr, "Dee", "lobby", 4, Some(seqs[4])).await;
    assert_eq!(dee.welcome.as_ref().expect("welcome").history, 0);
    dee.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn resent_items_get_the_original_ack_and_are_not_relayed_twice() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    ana.joined().await;
    ana.text("d-1", "once").await;
    let text_ack = ana.recv().await;
    let bytes = fake_png(3000, 8);
    ana.send_image("d-2", &bytes, 1000).await;
    let image_ack = ana.recv().await;
    assert!(matches!(ben.recv().await.header, RelayHeader::Text { .. }));
    ben.recv_image().await;

    // Reconnect (same client secret) and send both again, as after a lost ack.
    drop(ana);
    let mut again = Client::join_since(addr, "Ana", "lobby", 1, Some(u64::MAX / 2)).await;
    again.text("d-1", "once").await;
    assert_eq!(again.recv().await.header, text_ack.header);
    again
        .send(ClientHeader::ImageBegin(begin_for("d-2", &bytes)), b"")
        .await;
    assert_eq!(
        again.recv().await.header,
        image_ack.header,
        "acked at image_begin"
    );
    again.send_chunks("d-2", &bytes, 1000).await;
    again
        .send(ClientHeader::ImageEnd { id: "d-2".into() }, b"")
        .await;
    again.expect_silence(Duration::from_millis(200)).await;
    ben.joined().await;
    ben.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn receipts_reach_the_author_only() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ana2 = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    let mut cy = Client::join(addr, "Cy", "lobby", 3).await;
    ana.text("r-1", "read me").await;
    let seq = ana
        .recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
        .await;
    let RelayHeader::Ack { seq, .. } = seq.header else {
        unreachable!()
    };
    ben.recv_until(|h| matches!(h, RelayHeader::Text { .. }))
        .await;
    ben.send(ClientHeader::Receipt { seq }, b"").await;
    for author in [&mut ana, &mut ana2] {
        let receipt = author
            .recv_until(|h| matches!(h, RelayHeader::Receipt { .. }))
            .await;
        match receipt.header {
            RelayHeader::Receipt { seq: got, user } => {
                assert_eq!(got, seq);
                assert_eq!(user.name, "Ben");
            }
            _ => unreachable!(),
        }
    }
    // Unknown seqs and one's own items are ignored.
    ben.send(ClientHeader::Receipt { seq: 999_999 }, b"").await;
    ana2.send(ClientHeader::Receipt { seq }, b"").await;
    cy.recv_until(|h| matches!(h, RelayHeader::Text { .. }))
        .await;
    ana.expect_silence(Duration::from_millis(200)).await;
    cy.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn items_reach_other_windows_of_the_same_user() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut one = Client::join(addr, "Ana", "lobby", 1).await;
    let mut two = Client::join(addr, "Ana", "lobby", 1).await;
    one.joined().await;
    one.text("w-1", "from window one").await;
    one.expect_ack("w-1").await;
    assert!(matches!(two.recv().await.header, RelayHeader::Text { .. }));
}

#[tokio::test]
async fn rate_limited_items_are_dropped_with_an_error() {
    let relay = start_relay(Config {
        max_items_per_sec: 1,
        ..memory_config()
    })
    .await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    // The bucket holds a burst of two.
    ana.text("a", "1").await;
    ana.expect_ack("a").await;
    ana.text("b", "2").await;
    ana.expect_ack("b").await;
    ana.text("c", "3").await;
    assert_eq!(
        ana.expect_error(ErrorCode::RateLimited).await.as_deref(),
        Some("c")
    );
}
