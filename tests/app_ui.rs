//! The app's views driven through egui_kittest, without a GPU or a window:
//! the connect form validates; sending through an injected file picker shows
//! progress and then the sent image; an incoming image appears; a bad image
//! shows its error inline. The network is played by the test through the
//! channels a real worker would use.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use snapwire::SnapwireApp;
use snapwire::cli::Launch;
use snapwire::net::Command;
use snapwire::settings::{self, Paths};
use snapwire::state::{Event, ImageMeta};
use support::ui::{
    Setup, confirm_sheet, connected_launch, emit, has_text, next_command, step_until,
};
use support::{ben, noisy_png, welcome_as};

/// The app with a picker that answers `picked`.
fn setup(launch: Launch, picked: Option<Vec<PathBuf>>) -> Setup {
    support::ui::setup_with_picker(launch, picked, |_| {})
}

#[test]
fn connect_form_validates_then_connects_and_remembers() {
    let mut s = setup(Launch::ConnectView, None);
    s.harness.run_steps(2);
    s.harness.get_by_label("Connect").click();
    s.harness.run_steps(2);
    assert!(has_text(&s.harness, "Enter the relay's address"));
    assert!(has_text(&s.harness, "Enter a name others will see"));
    assert!(
        s.targets.lock().expect("lock").is_empty(),
        "nothing connects with a bad form"
    );

    for (field, text) in [("Relay address", "127.0.0.1:70000"), ("Your name", "Ana")] {
        s.harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, field)
            .focus();
        s.harness.run_steps(1);
        s.harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, field)
            .type_text(text);
        s.harness.run_steps(1);
    }
    s.harness.run_steps(2);
    // Errors follow the typing once Connect was tried.
    assert!(has_text(&s.harness, "The port must be a number"));
    assert!(!has_text(&s.harness, "Enter a name others will see"));

    s.harness.state_mut().form.fields.server = "127.0.0.1:7601".into();
    s.harness.run_steps(1);
    s.harness.get_by_label("Connect").click();
    s.harness.run_steps(2);
    let targets = s.targets.lock().expect("lock").clone();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].url, "ws://127.0.0.1:7601/ws");
    assert_eq!(targets[0].name, "Ana");
    assert!(
        has_text(&s.harness, "Connecting"),
        "the status line shows the state"
    );
    let saved = settings::load(&Paths::in_dir(s.dir.path()).settings_file);
    assert_eq!(saved.server, "127.0.0.1:7601");
    assert_eq!(saved.name, "Ana");
}

#[test]
fn sending_through_the_picker_shows_progress_then_the_sent_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sunset.png");
    std::fs::write(&file, noisy_png(320, 240, 5)).expect("write png");
    let mut s = setup(connected_launch(), Some(vec![file]));
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    step_until(&mut s.harness, "connected status", |h| {
        has_text(h, "Connected to lobby")
    });

    s.harness.get_by_label("Send images…").click();
    confirm_sheet(&mut s.harness);
    let mut sent = None;
    step_until(&mut s.harness, "the image handed to the connection", |_| {
        if let Some(Command::SendImage { id, image }) = next_command(&s.net) {
            sent = Some((id, image));
        }
        sent.is_some()
    });
    let (id, image) = sent.expect("sent");
    assert_eq!(image.meta.name, "sunset.png");
    assert_eq!(image.meta.mime, "image/png");
    assert_eq!(
        (image.meta.width, image.meta.height),
        (Some(320), Some(240))
    );

    let half = image.meta.size / 2;
    emit(
        &s.net,
        Event::UploadProgress {
            id: id.clone(),
            sent: half,
        },
    );
    step_until(&mut s.harness, "upload progress", |h| {
        has_text(h, " of ") && has_text(h, "Cancel")
    });

    emit(
        &s.net,
        Event::Ack {
            id: id.clone(),
            seq: 42,
            ts: 1_764_100_000_000,
        },
    );
    emit(
        &s.net,
        Event::Receipt {
            seq: 42,
            user: ben(),
        },
    );
    step_until(&mut s.harness, "the sent image with its receipt", |h| {
        has_text(h, "✔ sent · seen by Ben") && h.state().textures.uploaded() >= 1
    });
}

#[test]
fn an_incoming_image_appears_after_streaming() {
    let mut s = setup(connected_launch(), None);
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    let bytes = Bytes::from(noisy_png(200, 100, 9));
    let preview = snapwire::media::prepare_bytes("x.png", bytes.clone(), 1 << 30)
        .expect("prepare")
        .preview;
    emit(
        &s.net,
        Event::ImageBegin {
            sid: 7,
            ts: 1_764_100_000_000,
            from: ben(),
            meta: ImageMeta {
                name: "ben.png".into(),
                mime: "image/png".into(),
                size: bytes.len() as u64,
                sha256: String::new(),
                width: Some(200),
                height: Some(100),
            },
            preview,
            history: false,
        },
    );
    emit(
        &s.net,
        Event::ImageProgress {
            sid: 7,
            received: bytes.len() as u64 / 3,
        },
    );
    step_until(&mut s.harness, "streaming progress", |h| {
        has_text(h, "Ben") && has_text(h, " of ")
    });
    emit(
        &s.net,
        Event::ImageComplete {
            sid: 7,
            seq: 5,
            ts: 1_764_100_000_500,
            bytes,
            verified: true,
        },
    );
    step_until(&mut s.harness, "the received image", |h| {
        has_text(h, "ben.png") && !has_text(h, " of ") && h.state().textures.uploaded() >= 1
    });
}

#[test]
fn a_bad_image_shows_its_error_inline_and_the_app_goes_on() {
    let mut s = setup(connected_launch(), None);
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    // A PNG that claims 100000 x 100000 pixels (a bomb), then a corrupt one.
    let mut bomb = noisy_png(2, 2, 1);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut corrupt = noisy_png(64, 64, 2);
    corrupt.truncate(80);
    for (sid, seq, name, bytes) in [(1, 10, "bomb.png", bomb), (2, 11, "broken.png", corrupt)] {
        emit(
            &s.net,
            Event::ImageBegin {
                sid,
                ts: 1_764_100_000_000,
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
            },
        );
        emit(
            &s.net,
            Event::ImageComplete {
                sid,
                seq,
                ts: 1,
                bytes: Bytes::from(bytes),
                verified: true,
            },
        );
    }
    step_until(&mut s.harness, "two inline errors", |h| {
        h.query_all_by_label_contains("could not show this image")
            .count()
            == 2
    });
    // A damaged transfer (hash mismatch) is an inline error too.
    emit(
        &s.net,
        Event::ImageBegin {
            sid: 3,
            ts: 1,
            from: ben(),
            meta: ImageMeta {
                name: "damaged.png".into(),
                mime: "image/png".into(),
                size: 3,
                sha256: String::new(),
                width: None,
                height: None,
            },
            preview: None,
            history: false,
        },
    );
    emit(
        &s.net,
        Event::ImageComplete {
            sid: 3,
            seq: 12,
            ts: 1,
            bytes: Bytes::from_static(b"abc"),
            verified: false,
        },
    );
    step_until(&mut s.harness, "checksum error", |h| {
        has_text(h, "SHA-256 does not match")
    });
    // And the app still takes text.
    emit(
        &s.net,
        Event::Text {
            seq: 13,
            ts: 1,
            from: ben(),
            text: "still here".into(),
            history: false,
        },
    );
    step_until(&mut s.harness, "a later text", |h| {
        has_text(h, "still here")
    });
}

#[test]
fn enter_sends_text_and_a_refused_pick_explains_the_alternatives() {
    let mut s = setup(connected_launch(), None);
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    step_until(&mut s.harness, "connected", |h| {
        has_text(h, "Connected to lobby")
    });
    s.harness.state_mut().composer.text = "hello\nthere".into();
    s.harness.run_steps(1);
    s.harness.memory_mut_focus();
    s.harness.key_press(egui::Key::Enter);
    let mut text = None;
    step_until(&mut s.harness, "the text command", |_| {
        if let Some(Command::SendText { text: t, .. }) = next_command(&s.net) {
            text = Some(t);
        }
        text.is_some()
    });
    assert_eq!(text.as_deref(), Some("hello\nthere"));
    assert!(s.harness.state().composer.text.is_empty());

    // Shift+Enter is a new line, not a send.
    s.harness.state_mut().composer.text = "first".into();
    s.harness.memory_mut_focus();
    s.harness
        .key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
    s.harness.run_steps(2);
    assert!(next_command(&s.net).is_none(), "Shift+Enter sent the text");
    assert!(s.harness.state().composer.text.contains("first"));
    assert!(s.harness.state().composer.text.contains('\n'));

    s.harness.get_by_label("Send images…").click();
    step_until(&mut s.harness, "the no-dialog hint", |h| {
        has_text(h, "drag images onto this window")
    });
}

trait FocusComposer {
    fn memory_mut_focus(&mut self);
}

impl FocusComposer for Harness<'static, SnapwireApp> {
    fn memory_mut_focus(&mut self) {
        let id = egui::Id::unique(snapwire::ui::composer::TEXT_BOX_ID);
        self.ctx.memory_mut(|m| m.request_focus(id));
        self.run_steps(1);
    }
}

#[test]
fn images_beyond_the_memory_budget_move_to_disk_and_still_show() {
    let mut s = setup(connected_launch(), None);
    s.harness.state_mut().room.spill.budget = 1;
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    for sid in 0..3u64 {
        let bytes = Bytes::from(noisy_png(120, 80, sid as u32 + 20));
        emit(
            &s.net,
            Event::ImageBegin {
                sid,
                ts: 1,
                from: ben(),
                meta: ImageMeta {
                    name: format!("p{sid}.png"),
                    mime: "image/png".into(),
                    size: bytes.len() as u64,
                    sha256: String::new(),
                    width: Some(120),
                    height: Some(80),
                },
                preview: None,
                history: false,
            },
        );
        emit(
            &s.net,
            Event::ImageComplete {
                sid,
                seq: sid + 1,
                ts: 1,
                bytes,
                verified: true,
            },
        );
    }
    step_until(&mut s.harness, "all three images spilled and shown", |h| {
        let app = h.state();
        let images: Vec<_> = app
            .room
            .model
            .entries
            .iter()
            .filter_map(|e| e.image())
            .collect();
        images.len() == 3
            && images
                .iter()
                .all(|i| i.bytes.is_none() && i.spilled.as_ref().is_some_and(|p| p.exists()))
            && app.textures.uploaded() == 3
    });
    assert_eq!(s.harness.state().room.model.bytes_in_memory(), 0);
}

/// A file dropped on the window, as the windowing layer hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn next_image(s: &mut Setup, what: &str) -> snapwire::state::PreparedImage {
    let mut sent = None;
    let net = Arc::clone(&s.net);
    step_until(&mut s.harness, what, |_| {
        if let Some(Command::SendImage { image, .. }) = next_command(&net) {
            sent = Some(image);
        }
        sent.is_some()
    });
    sent.expect("sent")
}

#[test]
fn dropped_files_and_pasted_images_are_sent_like_picked_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dropped.png");
    std::fs::write(&file, noisy_png(50, 40, 8)).expect("write");
    let mut s = setup(connected_launch(), None);
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    step_until(&mut s.harness, "connected", |h| {
        has_text(h, "Connected to lobby")
    });

    s.harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(file.clone())));
    confirm_sheet(&mut s.harness);
    let image = next_image(&mut s, "the dropped file sent");
    assert_eq!(image.meta.name, "dropped.png");

    let pixels = egui::ColorImage::new([8, 6], vec![egui::Color32::BLUE; 48]);
    s.harness.event(egui::Event::PasteImage(Arc::new(pixels)));
    let image = next_image(&mut s, "the pasted image sent");
    assert_eq!(image.meta.name, "pasted image.png");
    assert_eq!((image.meta.width, image.meta.height), (Some(8), Some(6)));

    // Files copied in a file manager arrive as text: they are sent, not typed.
    s.harness.memory_mut_focus();
    s.harness
        .event(egui::Event::Paste(format!("file://{}", file.display())));
    confirm_sheet(&mut s.harness);
    let image = next_image(&mut s, "the pasted file sent");
    assert_eq!(image.meta.name, "dropped.png");
    assert!(
        s.harness.state().composer.text.is_empty(),
        "no path typed into the text box"
    );
}

#[test]
fn scrolled_up_new_messages_show_a_button_that_jumps_down() {
    let mut s = setup(connected_launch(), None);
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    for seq in 1..=60u64 {
        emit(
            &s.net,
            Event::Text {
                seq,
                ts: 1,
                from: ben(),
                text: format!("message {seq}"),
                history: true,
            },
        );
    }
    step_until(
        &mut s.harness,
        "the newest message, pinned at the bottom",
        |h| has_text(h, "message 60") && h.state().timeline.at_bottom,
    );
    s.harness.hover_at(egui::pos2(450.0, 300.0));
    for _ in 0..10 {
        s.harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 2000.0),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Wheel,
        });
        s.harness.step();
    }
    step_until(&mut s.harness, "scrolled up", |h| {
        !h.state().timeline.at_bottom
    });
    assert!(!has_text(&s.harness, "new ⬇"));
    emit(
        &s.net,
        Event::Text {
            seq: 61,
            ts: 1,
            from: ben(),
            text: "message 61".into(),
            history: false,
        },
    );
    step_until(&mut s.harness, "the new-messages button", |h| {
        has_text(h, "1 new ⬇")
    });
    assert!(
        !s.harness.state().timeline.at_bottom,
        "not yanked down while reading"
    );
    s.harness.get_by_label_contains("1 new ⬇").click();
    step_until(&mut s.harness, "back at the bottom", |h| {
        h.state().timeline.at_bottom && has_text(h, "message 61") && !has_text(h, "new ⬇")
    });
}

#[test]
fn the_timeline_stays_pinned_to_the_bottom_as_images_arrive_and_grow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("tall.png");
    std::fs::write(&file, noisy_png(300, 900, 4)).expect("write");
    let mut s = setup(connected_launch(), Some(vec![file]));
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    for seq in 1..=8u64 {
        emit(
            &s.net,
            Event::Text {
                seq,
                ts: 1,
                from: ben(),
                text: format!("message {seq}"),
                history: true,
            },
        );
    }
    step_until(&mut s.harness, "texts at the bottom", |h| {
        has_text(h, "message 8") && h.state().timeline.at_bottom
    });
    s.harness.get_by_label("Send images…").click();
    confirm_sheet(&mut s.harness);
    let image = next_image(&mut s, "the picked image");
    let id = s
        .harness
        .state()
        .room
        .model
        .entries
        .last()
        .and_then(|e| e.local_id.clone())
        .expect("own entry");
    emit(&s.net, Event::Ack { id, seq: 9, ts: 2 });
    assert_eq!(image.meta.height, Some(900));
    let bytes = Bytes::from(noisy_png(200, 600, 6));
    emit(
        &s.net,
        Event::ImageBegin {
            sid: 1,
            ts: 3,
            from: ben(),
            meta: ImageMeta {
                name: "reply.png".into(),
                mime: "image/png".into(),
                size: bytes.len() as u64,
                sha256: String::new(),
                width: None,
                height: None,
            },
            preview: None,
            history: false,
        },
    );
    emit(
        &s.net,
        Event::ImageComplete {
            sid: 1,
            seq: 10,
            ts: 3,
            bytes,
            verified: true,
        },
    );
    emit(
        &s.net,
        Event::Text {
            seq: 11,
            ts: 4,
            from: ben(),
            text: "the last word".into(),
            history: false,
        },
    );
    step_until(&mut s.harness, "everything in and decoded", |h| {
        has_text(h, "the last word") && h.state().textures.uploaded() >= 2
    });
    s.harness.run_steps(5);
    assert!(
        s.harness.state().timeline.at_bottom,
        "still pinned to the bottom"
    );
    assert!(
        !has_text(&s.harness, "new ⬇"),
        "no new-messages button while at the bottom"
    );
}

#[test]
fn the_status_line_tells_connecting_reconnecting_and_refusals_in_words() {
    let mut s = setup(connected_launch(), None);
    step_until(&mut s.harness, "connecting", |h| has_text(h, "Connecting…"));
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    step_until(&mut s.harness, "who is online", |h| {
        has_text(h, "2 online: Ana (you), Ben")
    });
    emit(
        &s.net,
        Event::Reconnecting {
            retry_at: Instant::now() + Duration::from_secs(8),
            reason: "the relay closed the connection".into(),
        },
    );
    step_until(&mut s.harness, "the countdown", |h| {
        has_text(h, "Reconnecting in") && has_text(h, "the relay closed the connection")
    });
    // Offline sends wait, and the status says how many.
    s.harness.state_mut().composer.text = "later".into();
    s.harness.memory_mut_focus();
    s.harness.key_press(egui::Key::Enter);
    step_until(&mut s.harness, "the waiting count", |h| {
        has_text(h, "1 waiting to send")
    });
    emit(
        &s.net,
        Event::Stopped {
            reason: "Wrong or missing access token: token required".into(),
        },
    );
    step_until(&mut s.harness, "the refusal", |h| {
        has_text(h, "Disconnected — Wrong or missing access token")
    });
    s.harness.get_by_label("Leave").click();
    step_until(&mut s.harness, "back to the form, filled in", |h| {
        has_text(h, "Host a room on this computer") && h.state().form.fields.name == "Ana"
    });
}

#[test]
fn cancel_stops_an_upload_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("oops.png");
    std::fs::write(&file, noisy_png(100, 100, 3)).expect("write");
    let mut s = setup(connected_launch(), Some(vec![file]));
    emit(&s.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    s.harness.get_by_label("Send images…").click();
    confirm_sheet(&mut s.harness);
    let mut id = None;
    let net = Arc::clone(&s.net);
    step_until(&mut s.harness, "the upload handed over", |_| {
        if let Some(Command::SendImage { id: i, .. }) = next_command(&net) {
            id = Some(i);
        }
        id.is_some()
    });
    let id = id.expect("id");
    emit(
        &s.net,
        Event::UploadProgress {
            id: id.clone(),
            sent: 10,
        },
    );
    step_until(&mut s.harness, "a Cancel button", |h| has_text(h, "Cancel"));
    // An own bubble finds its width in the frame after it first shows; a
    // pointer click needs the settled position.
    s.harness.run_steps(3);
    s.harness.get_by_label("Cancel").click();
    let mut cancelled = None;
    step_until(&mut s.harness, "the cancel command", |_| {
        if let Some(Command::Cancel { id: i }) = next_command(&net) {
            cancelled = Some(i);
        }
        cancelled.is_some()
    });
    assert_eq!(cancelled.as_deref(), Some(id.as_str()));
    emit(&s.net, Event::UploadCancelled { id });
    step_until(&mut s.harness, "the cancelled note", |h| {
        has_text(h, "you cancelled it") && !has_text(h, "Cancel")
    });
}
