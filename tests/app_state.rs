//! The pure model driven by event sequences: history replay, live streams,
//! cancel, reconnect, dedup of our own items (the relay replays them to us on
//! reconnect; the ack's seq tells us which), receipts and errors.

use std::time::Instant;

use bytes::Bytes;
use snapwire::state::{Body, ConnState, Event, ImageMeta, ImageState, Model, PreparedImage};
use snapwire_relay::protocol::{CancelReason, ErrorCode, Limits, User, Welcome};

const ME: &str = "aaaaaaaaaaaa";

fn user(id: &str, name: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
    }
}

fn ben() -> User {
    user("bbbbbbbbbbbb", "Ben")
}

fn me() -> User {
    user(ME, "Ana")
}

fn welcome(epoch: &str, peers: Vec<User>) -> Event {
    Event::Welcome(Welcome {
        v: 1,
        user: me(),
        room: "lobby".into(),
        epoch: epoch.into(),
        peers,
        history: 0,
        limits: Limits {
            max_image_bytes: 1000,
            max_chunk_bytes: 100,
            max_text_bytes: 100,
            max_uploads: 4,
        },
    })
}

fn text(seq: u64, from: User, body: &str, history: bool) -> Event {
    Event::Text {
        seq,
        ts: seq * 10,
        from,
        text: body.into(),
        history,
    }
}

fn meta(name: &str, size: u64) -> ImageMeta {
    ImageMeta {
        name: name.into(),
        mime: "image/png".into(),
        size,
        sha256: "0".repeat(64),
        width: Some(4),
        height: Some(3),
    }
}

fn begin(sid: u64, from: User, name: &str, size: u64, history: bool) -> Event {
    Event::ImageBegin {
        sid,
        ts: 1,
        from,
        meta: meta(name, size),
        preview: None,
        history,
    }
}

fn complete(sid: u64, seq: u64, bytes: &'static [u8]) -> Event {
    Event::ImageComplete {
        sid,
        seq,
        ts: 2,
        bytes: Bytes::from_static(bytes),
        verified: true,
    }
}

fn connected() -> Model {
    let mut m = Model::new(ME);
    m.apply(Event::Connecting { attempt: 0 });
    m.apply(welcome("e1", vec![ben()]));
    m
}

fn seqs(m: &Model) -> Vec<Option<u64>> {
    m.entries.iter().map(|e| e.seq).collect()
}

fn reconnecting() -> Event {
    Event::Reconnecting {
        retry_at: Instant::now(),
        reason: "lost".into(),
    }
}

#[test]
fn history_replay_then_live_looks_the_same_and_is_in_order() {
    let mut m = connected();
    assert_eq!(m.conn, ConnState::Connected);
    assert_eq!(m.peers, vec![ben()]);
    m.apply(text(3, ben(), "old", true));
    m.apply(begin(1, ben(), "old.png", 3, true));
    m.apply(Event::ImageProgress {
        sid: 1,
        received: 2,
    });
    m.apply(complete(1, 5, b"abc"));
    m.apply(text(8, ben(), "new", false));
    assert_eq!(seqs(&m), [Some(3), Some(5), Some(8)]);
    let image = m.entries[1].image().expect("image");
    assert_eq!(image.state, ImageState::Ready);
    assert_eq!(image.bytes.as_deref(), Some(&b"abc"[..]));
    assert!(m.entries.iter().all(|e| !e.own));
    // The same item again (a replay after reconnect) is not added twice.
    m.apply(text(3, ben(), "old", true));
    assert_eq!(m.entries.len(), 3);
}

#[test]
fn streaming_shows_progress_and_a_hash_mismatch_is_an_inline_error() {
    let mut m = connected();
    m.apply(begin(7, ben(), "cat.png", 10, false));
    m.apply(Event::ImageProgress {
        sid: 7,
        received: 4,
    });
    let image = m.entries[0].image().expect("image");
    assert_eq!(image.state, ImageState::Streaming { received: 4 });
    assert_eq!(image.progress(), Some(0.4));
    m.apply(Event::ImageComplete {
        sid: 7,
        seq: 9,
        ts: 1,
        bytes: Bytes::from_static(b"x"),
        verified: false,
    });
    let ImageState::Failed(why) = &m.entries[0].image().expect("image").state else {
        panic!("expected a failure");
    };
    assert!(why.contains("could not show this image"), "{why}");
    assert_eq!(m.entries[0].seq, Some(9), "its seq still counts");
}

#[test]
fn a_cancelled_stream_says_why_and_a_lagging_one_waits_for_its_full_copy() {
    let mut m = connected();
    m.apply(begin(1, ben(), "a.png", 10, false));
    m.apply(Event::ImageCancel {
        sid: 1,
        reason: CancelReason::Cancelled,
    });
    assert!(
        matches!(&m.entries[0].image().expect("image").state, ImageState::Cancelled(w) if w.contains("cancelled"))
    );
    m.apply(begin(2, ben(), "b.png", 3, false));
    m.apply(Event::ImageCancel {
        sid: 2,
        reason: CancelReason::Lagging,
    });
    assert_eq!(
        m.entries.len(),
        1,
        "a lagging cancel is not shown as a failure"
    );
    // It arrives in full later, under a new stream id.
    m.apply(begin(9, ben(), "b.png", 3, false));
    m.apply(complete(9, 4, b"abc"));
    assert_eq!(m.entries.len(), 2);
    assert_eq!(
        m.entries[1].image().expect("image").state,
        ImageState::Ready
    );
}

#[test]
fn own_items_are_pending_until_acked_then_collect_receipts() {
    let mut m = connected();
    let t = m.add_own_text("t1", "hi", 1);
    let i = m.add_own_image("i1", "cat.png", 2);
    assert!(m.entry(t).expect("text").pending());
    m.apply(Event::Prepared {
        id: "i1".into(),
        result: Ok(PreparedImage {
            meta: meta("cat.png", 3),
            preview: None,
            bytes: Bytes::from_static(b"abc"),
        }),
    });
    assert_eq!(
        m.entry(i).and_then(|e| e.image()).expect("image").state,
        ImageState::Queued
    );
    m.apply(Event::UploadProgress {
        id: "i1".into(),
        sent: 2,
    });
    assert_eq!(
        m.entry(i).and_then(|e| e.image()).expect("image").state,
        ImageState::Uploading { sent: 2 }
    );
    m.apply(Event::Ack {
        id: "t1".into(),
        seq: 20,
        ts: 5,
    });
    m.apply(Event::Ack {
        id: "i1".into(),
        seq: 21,
        ts: 6,
    });
    assert!(!m.entry(t).expect("text").pending());
    assert_eq!(
        m.entry(i).and_then(|e| e.image()).expect("image").state,
        ImageState::Ready
    );
    m.apply(Event::Receipt {
        seq: 21,
        user: ben(),
    });
    m.apply(Event::Receipt {
        seq: 21,
        user: ben(),
    }); // the same person twice counts once
    m.apply(Event::Receipt {
        seq: 21,
        user: me(),
    }); // our own receipt is not "seen by"
    m.apply(Event::Receipt {
        seq: 999,
        user: ben(),
    }); // unknown seq: ignored
    assert_eq!(m.entry(i).expect("image").receipts, vec![ben()]);
    assert!(m.entry(i).expect("image").own);
}

#[test]
fn reconnect_drops_half_streams_requeues_uploads_and_dedups_our_replayed_items() {
    let mut m = connected();
    m.apply(text(1, ben(), "before", false));
    m.apply(begin(3, ben(), "half.png", 10, false));
    m.apply(Event::ImageProgress {
        sid: 3,
        received: 5,
    });
    let t = m.add_own_text("t1", "my text", 1);
    let i = m.add_own_image("i1", "mine.png", 2);
    m.apply(Event::Prepared {
        id: "i1".into(),
        result: Ok(PreparedImage {
            meta: meta("mine.png", 3),
            preview: None,
            bytes: Bytes::from_static(b"abc"),
        }),
    });
    m.apply(Event::UploadProgress {
        id: "i1".into(),
        sent: 1,
    });

    m.apply(reconnecting());
    assert!(matches!(m.conn, ConnState::Reconnecting { .. }));
    assert!(m.peers.is_empty());
    assert!(
        m.entries
            .iter()
            .all(|e| e.image().is_none_or(|img| img.name() != "half.png")),
        "a half stream is gone: `since` brings it back in full"
    );
    assert_eq!(
        m.entry(i).and_then(|e| e.image()).expect("image").state,
        ImageState::Queued
    );

    // The relay had completed our text before we lost the ack: after reconnect
    // it replays it (from us, seq 2) and then, when we resend, acks with seq 2.
    m.apply(welcome("e1", vec![ben()]));
    m.apply(text(2, me(), "my text", false));
    m.apply(begin(4, ben(), "half.png", 3, false));
    m.apply(complete(4, 3, b"abc"));
    m.apply(Event::Ack {
        id: "t1".into(),
        seq: 2,
        ts: 7,
    });
    let mine: Vec<_> = m
        .entries
        .iter()
        .filter(|e| matches!(&e.body, Body::Text { text, .. } if text == "my text"))
        .collect();
    assert_eq!(mine.len(), 1, "our text once");
    assert_eq!(mine[0].key, t, "our own entry kept its place");
    assert_eq!(mine[0].seq, Some(2));

    // Our image: acked first, then its replay arrives: the replay is dropped.
    m.apply(Event::Ack {
        id: "i1".into(),
        seq: 6,
        ts: 8,
    });
    m.apply(begin(5, me(), "mine.png", 3, false));
    m.apply(complete(5, 6, b"abc"));
    let images = m
        .entries
        .iter()
        .filter(|e| e.image().is_some_and(|img| img.name() == "mine.png"))
        .count();
    assert_eq!(images, 1, "our image once");
    assert_eq!(m.entries.iter().filter(|e| e.seq == Some(3)).count(), 1);
}

#[test]
fn a_new_epoch_forgets_the_old_history_but_keeps_what_we_still_send() {
    let mut m = connected();
    m.apply(text(1, ben(), "old epoch", false));
    m.add_own_text("t9", "unsent", 1);
    m.apply(reconnecting());
    m.apply(welcome("e2", vec![]));
    assert_eq!(m.entries.len(), 1);
    assert!(m.entries[0].pending());
    assert_eq!(m.epoch.as_deref(), Some("e2"));
}

#[test]
fn errors_land_on_their_item_or_in_the_status() {
    let mut m = connected();
    let i = m.add_own_image("i1", "huge.png", 1);
    m.apply(Event::Prepared {
        id: "i1".into(),
        result: Ok(PreparedImage {
            meta: meta("huge.png", 3),
            preview: None,
            bytes: Bytes::from_static(b"abc"),
        }),
    });
    m.apply(Event::RelayError {
        code: ErrorCode::TooLarge,
        message: "image is 80 MB, the limit is 50 MB".into(),
        id: Some("i1".into()),
    });
    let ImageState::Failed(why) = &m.entry(i).and_then(|e| e.image()).expect("image").state else {
        panic!("expected failure");
    };
    assert!(why.contains("80 MB"), "{why}");
    let t = m.add_own_text("t1", "x", 1);
    m.apply(Event::RelayError {
        code: ErrorCode::RateLimited,
        message: "slow down".into(),
        id: Some("t1".into()),
    });
    assert!(
        matches!(&m.entry(t).expect("text").body, Body::Text { failed: Some(w), .. } if w.contains("slow down"))
    );
    m.apply(Event::RelayError {
        code: ErrorCode::UnknownType,
        message: "what".into(),
        id: None,
    });
    assert!(m.last_error.as_deref().is_some_and(|e| e.contains("what")));
    // A file that is not an image fails before anything is sent.
    let p = m.add_own_image("i2", "notes.pdf", 1);
    m.apply(Event::Prepared {
        id: "i2".into(),
        result: Err("notes.pdf is not a PNG, JPEG, GIF, WebP or BMP image".into()),
    });
    assert!(
        matches!(&m.entry(p).and_then(|e| e.image()).expect("image").state, ImageState::Failed(w) if w.contains("not a PNG"))
    );
    m.apply(Event::Stopped {
        reason: "Wrong or missing access token".into(),
    });
    assert!(matches!(&m.conn, ConnState::Stopped { reason } if reason.contains("token")));
}

#[test]
fn cancel_of_our_own_upload_and_joined_left_notices() {
    let mut m = connected();
    let i = m.add_own_image("i1", "a.png", 1);
    m.apply(Event::UploadCancelled { id: "i1".into() });
    assert!(matches!(
        &m.entry(i).and_then(|e| e.image()).expect("image").state,
        ImageState::Cancelled(_)
    ));
    // A late "prepared" for a cancelled item changes nothing.
    m.apply(Event::Prepared {
        id: "i1".into(),
        result: Ok(PreparedImage {
            meta: meta("a.png", 3),
            preview: None,
            bytes: Bytes::from_static(b"abc"),
        }),
    });
    assert!(matches!(
        &m.entry(i).and_then(|e| e.image()).expect("image").state,
        ImageState::Cancelled(_)
    ));
    let cy = user("cccccccccccc", "Cy");
    m.apply(Event::Joined(cy.clone()));
    assert_eq!(m.peers.len(), 2);
    m.apply(Event::Left(cy));
    assert_eq!(m.peers, vec![ben()]);
    let notices: Vec<_> = m
        .entries
        .iter()
        .filter_map(|e| match &e.body {
            Body::Notice(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    // One line for joins and leaves in a row (a flood never adds entries).
    assert_eq!(notices, ["Cy joined · Cy left"]);
}
