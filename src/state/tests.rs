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
