//! Desktop notifications through a fake notifier: pictures and texts from
//! others while the window is in the background (sender, picture bytes for
//! the thumbnail), none while focused, none for history or our own, none
//! once "Notify" is switched off (one click, remembered).

mod support;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use egui_kittest::kittest::Queryable;
use snapwire::notify::{Note, Notifier};
use snapwire::settings;
use snapwire::state::{Event, ImageMeta};
use support::ui::{Setup, ben, room_setup, set_focus, step_until};

#[derive(Default)]
struct FakeNotifier(Mutex<Vec<Note>>);

impl Notifier for FakeNotifier {
    fn notify(&self, note: Note) {
        if let Ok(mut notes) = self.0.lock() {
            notes.push(note);
        }
    }
}

fn notes(fake: &FakeNotifier) -> Vec<Note> {
    fake.0.lock().expect("lock").clone()
}

fn live_text(s: &Setup, seq: u64, text: &str) {
    s.emit(Event::Text {
        seq,
        ts: 1_764_100_000_000 + seq,
        from: ben(),
        text: text.into(),
        history: false,
    });
}

fn live_image(s: &Setup, seq: u64, name: &str, bytes: Bytes) {
    s.emit(Event::ImageBegin {
        sid: seq,
        ts: 1_764_100_000_000 + seq,
        from: ben(),
        meta: ImageMeta {
            name: name.into(),
            mime: "image/png".into(),
            size: bytes.len() as u64,
            sha256: String::new(),
            width: None,
            height: None,
        },
        preview: None,
        history: false,
    });
    s.emit(Event::ImageComplete {
        sid: seq,
        seq,
        ts: 1_764_100_000_000 + seq,
        bytes,
        verified: true,
    });
}

fn room_with_fake() -> (Setup, Arc<FakeNotifier>) {
    let mut s = room_setup();
    let fake = Arc::new(FakeNotifier::default());
    s.harness.state_mut().notifier = fake.clone();
    s.harness.run_steps(2);
    (s, fake)
}

#[test]
fn notes_only_while_in_the_background() {
    let (mut s, fake) = room_with_fake();
    // Focused: the timeline shows it, no note.
    set_focus(&mut s.harness, true);
    live_text(&s, 1, "seen here");
    step_until(&mut s.harness, "the focused text", |h| {
        h.state().room.model.by_seq(1).is_some()
    });
    s.text_from_ben(2, "old history");
    step_until(&mut s.harness, "history", |h| {
        h.state().room.model.by_seq(2).is_some()
    });

    set_focus(&mut s.harness, false);
    s.harness.run_steps(2);
    s.text_from_ben(3, "history while away");
    let png = Bytes::from(support::noisy_png(30, 20, 4));
    live_image(&s, 4, "sunset.png", png.clone());
    live_text(&s, 5, "look at this");
    step_until(&mut s.harness, "two notes", |_| notes(&fake).len() >= 2);
    s.harness.run_steps(3);
    let got = notes(&fake);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].title, "Ben");
    assert_eq!(got[0].body, "sent a picture: sunset.png");
    assert_eq!(
        got[0].image.as_ref(),
        Some(&png),
        "the picture for the thumbnail"
    );
    assert_eq!(
        (
            got[1].title.as_str(),
            got[1].body.as_str(),
            got[1].image.is_none()
        ),
        ("Ben", "look at this", true)
    );
    assert!(
        s.harness.state().window_title().starts_with("(1)"),
        "the title count stays: {}",
        s.harness.state().window_title()
    );
}

#[test]
fn one_click_switches_them_off_and_it_is_remembered() {
    let (mut s, fake) = room_with_fake();
    set_focus(&mut s.harness, false);
    s.harness.get_by_label("Notify").click();
    s.harness.run_steps(2);
    assert!(!s.harness.state().form.fields.notifications);
    let saved = settings::load(&settings::Paths::in_dir(s.dir.path()).settings_file);
    assert!(!saved.notifications, "remembered");
    live_text(&s, 1, "quiet please");
    step_until(&mut s.harness, "the text", |h| {
        h.state().room.model.by_seq(1).is_some()
    });
    s.harness.run_steps(2);
    assert!(notes(&fake).is_empty(), "{:?}", notes(&fake));

    // On again: a burst becomes two notes and a summary.
    s.harness.get_by_label("Notify").click();
    s.harness.run_steps(2);
    for seq in 2..12 {
        live_text(&s, seq, &format!("burst {seq}"));
    }
    step_until(&mut s.harness, "the burst's notes", |_| {
        notes(&fake).len() >= 3
    });
    let got = notes(&fake);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2].body, "and 8 more new items");
}
