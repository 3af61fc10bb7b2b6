//! The model's own unit tests (the event-sequence tests are in tests/app_state.rs).

use super::*;

#[test]
fn own_image_shows_its_name_while_preparing() {
    let mut m = Model::new("aaaaaaaaaaaa");
    let key = m.add_own_image("i1", "cat.png", 1);
    let entry = m.entry(key).expect("entry");
    assert_eq!(entry.image().expect("image").name(), "cat.png");
    assert!(entry.pending());
}

#[test]
fn receipts_find_their_item_by_seq_among_many() {
    let mut m = Model::new("aaaaaaaaaaaa");
    let ben = User {
        id: "bbbbbbbbbbbb".into(),
        name: "Ben".into(),
    };
    for seq in 1..=5_000 {
        m.apply(Event::Text {
            seq,
            ts: 1,
            from: ben.clone(),
            text: "hi".into(),
            history: true,
        });
    }
    let key = m.add_own_text("mine", "mine", 2);
    m.apply(Event::Ack {
        id: "mine".into(),
        seq: 5_001,
        ts: 3,
    });
    m.apply(Event::Receipt {
        seq: 5_001,
        user: ben.clone(),
    });
    assert_eq!(m.entry(key).expect("entry").receipts, [ben]);
    assert_eq!(m.by_seq(2_500).and_then(|e| e.seq), Some(2_500));
    assert!(m.by_seq(9_999).is_none());
}

#[test]
fn a_cancel_too_late_is_said_on_the_image() {
    let mut m = Model::new("aaaaaaaaaaaa");
    let key = m.add_own_image("i1", "cat.png", 1);
    m.set_note("i1", "metadata removed");
    m.apply(Event::CancelTooLate { id: "i1".into() });
    let image = m.entry(key).and_then(Entry::image).expect("image");
    assert_eq!(
        image.note.as_deref(),
        Some("metadata removed · already sent, too late to cancel")
    );
}

fn begin(sid: u64, from: &User, sha256: &str) -> Event {
    Event::ImageBegin {
        sid,
        ts: 1,
        from: from.clone(),
        meta: ImageMeta {
            name: "cat.png".into(),
            mime: "image/png".into(),
            size: 4,
            sha256: sha256.into(),
            width: None,
            height: None,
        },
        preview: None,
        history: false,
    }
}

fn complete(sid: u64, seq: u64) -> Event {
    Event::ImageComplete {
        sid,
        seq,
        ts: 2,
        bytes: Bytes::from_static(b"abcd"),
        verified: true,
    }
}

/// Found by tests/app_net_cuts.rs: a sender whose link was cut mid-upload sends
/// the image again; the receiver showed the broken try (cancelled, "the sender
/// left") beside the whole one, the same picture twice.
#[test]
fn a_picture_sent_again_after_a_cut_replaces_its_broken_try() {
    let mut m = Model::new("aaaaaaaaaaaa");
    let ben = User {
        id: "bbbbbbbbbbbb".into(),
        name: "Ben".into(),
    };
    let cy = User {
        id: "cccccccccccc".into(),
        name: "Cy".into(),
    };
    m.apply(begin(1, &ben, "same"));
    m.apply(Event::ImageCancel {
        sid: 1,
        reason: CancelReason::SenderLeft,
    });
    // Another picture cancelled, and the same bytes from someone else: both stay.
    m.apply(begin(2, &ben, "other"));
    m.apply(Event::ImageCancel {
        sid: 2,
        reason: CancelReason::ServerShutdown,
    });
    m.apply(begin(3, &cy, "same"));
    m.apply(Event::ImageCancel {
        sid: 3,
        reason: CancelReason::SenderLeft,
    });
    assert_eq!(m.entries.len(), 3);
    m.apply(begin(4, &ben, "same"));
    m.apply(complete(4, 10));
    let shown: Vec<(Option<u64>, String, bool)> = m
        .entries
        .iter()
        .map(|e| {
            let image = e.image().expect("image");
            let sha = image.meta.as_ref().expect("meta").sha256.clone();
            let who = e.from.as_ref().expect("from").name.clone();
            (
                e.seq,
                format!("{who}:{sha}"),
                image.state == ImageState::Ready,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (None, "Ben:other".to_owned(), false),
            (None, "Cy:same".to_owned(), false),
            (Some(10), "Ben:same".to_owned(), true),
        ]
    );
}
