//! The views as functions: given this state, this click yields this intent.
//! Each view runs alone in an egui_kittest harness, with no app around it
//! (the views do not know the app); the whole app is driven in the other
//! `app_*` tests.

mod support;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use snapwire::discovery::{FoundList, FoundRelay};
use snapwire::intent::Intent;
use snapwire::keep::{Activity, Notice};
use snapwire::media::MediaWorker;
use snapwire::state::{ConnState, Event, Model};
use snapwire::textures::TextureCache;
use snapwire::ui;
use support::{ben, noisy_png, prepared, welcome};

/// A view's harness: `view` draws it and adds what it returned to the list.
fn harness<S: 'static>(
    state: S,
    mut view: impl FnMut(&mut egui::Ui, &mut S) -> Vec<Intent> + 'static,
) -> Harness<'static, (S, Vec<Intent>)> {
    Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_ui_state(
            move |ui, (state, intents): &mut (S, Vec<Intent>)| {
                intents.extend(view(ui, state));
            },
            (state, Vec::new()),
        )
}

fn said<S>(h: &Harness<'static, (S, Vec<Intent>)>) -> Vec<Intent> {
    h.state().1.clone()
}

fn connected_model() -> Model {
    let mut model = Model::new("aaaaaaaaaaaa");
    model.apply(welcome());
    model
}

#[test]
fn the_status_line_asks_to_leave_and_to_dismiss_an_error() {
    let mut model = connected_model();
    model.last_error = Some("Too large: 60 MB".into());
    let mut h = harness(model, |ui, model| {
        let input = ui::status::StatusInput {
            model,
            pending: 0,
            hosting: None,
            notifications: true,
            join_link: None,
            language: None,
        };
        ui::status::show(ui, &input)
    });
    h.run_steps(2);
    assert!(said(&h).is_empty(), "drawing alone asks nothing");
    h.get_by_label("Leave").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::Leave]);
    h.get_by_label("×").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::Leave, Intent::DismissError]);
}

#[test]
fn a_hosted_room_offers_its_phone_link_to_copy_and_as_a_qr_code() {
    let link = snapwire_relay::join_link::join_link(
        "192.168.1.20:7600".parse().expect("an address"),
        "lobby",
    );
    let mut h = harness((connected_model(), link.clone()), |ui, (model, link)| {
        let input = ui::status::StatusInput {
            model,
            pending: 0,
            hosting: None,
            notifications: true,
            join_link: Some(link.clone()),
            language: None,
        };
        ui::status::show(ui, &input)
    });
    h.run_steps(2);
    assert!(h.query_by_label(&link).is_some(), "the link is shown");
    h.get_by_label("Copy link").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::CopyText(link.clone())]);
    assert!(h.query_by_label("Hide QR code").is_none());
    h.get_by_label("QR code").click();
    h.run_steps(2);
    assert!(
        h.query_by_label("Hide QR code").is_some(),
        "the QR code is shown until hidden again"
    );
    assert_eq!(
        said(&h).len(),
        1,
        "showing the code is the view's own business"
    );
}

#[test]
fn the_composer_sends_its_text_trimmed_and_asks_for_the_file_dialog() {
    let composer = ui::composer::Composer {
        text: "hello there  \n".into(),
        hint: None,
    };
    let mut h = harness(composer, |ui, c| ui::composer::show(ui, c, false));
    h.run_steps(2);
    h.get_by_label("Send").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::SendText("hello there".into())]);

    h.state_mut().0.text = "   ".into();
    h.state_mut().1.clear();
    h.get_by_label("Send").click();
    h.run_steps(2);
    assert!(said(&h).is_empty(), "blank text is not sent");

    h.get_by_label("Send images…").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::PickFiles]);
}

#[test]
fn the_composer_waits_while_the_dialog_is_open() {
    let mut h = harness(ui::composer::Composer::default(), |ui, c| {
        ui::composer::show(ui, c, true)
    });
    h.run_steps(2);
    h.get_by_label("Choosing…").click();
    h.run_steps(2);
    assert!(said(&h).is_empty());
}

#[test]
fn the_connect_view_asks_to_connect_host_or_join_a_found_relay() {
    let relay = FoundRelay {
        fullname: "Ben's room._snapwire._tcp.local.".into(),
        instance: "Ben's room".into(),
        addrs: vec!["192.0.2.7".parse().expect("ip")],
        port: 7600,
        needs_token: false,
        tls: false,
    };
    let found = FoundList {
        relays: vec![relay.clone()],
        ..FoundList::default()
    };
    let form = ui::connect::ConnectForm::default();
    let mut h = harness((form, found), |ui, (form, found)| {
        let input = ui::connect::ConnectInput {
            found,
            discovering: true,
            busy: false,
        };
        ui::connect::show(ui, &input, form)
    });
    h.run_steps(2);
    h.get_by_label("Connect").click();
    h.run_steps(2);
    h.get_by_label("Host a room on this computer").click();
    h.run_steps(2);
    h.get_by_label_contains("Ben's room").click();
    h.run_steps(2);
    assert_eq!(
        said(&h),
        [Intent::Connect, Intent::Host, Intent::JoinFound(relay)]
    );
}

#[test]
fn the_connect_view_waits_while_the_hosted_relay_starts() {
    let mut h = harness(ui::connect::ConnectForm::default(), |ui, form| {
        let found = FoundList::default();
        let input = ui::connect::ConnectInput {
            found: &found,
            discovering: false,
            busy: true,
        };
        ui::connect::show(ui, &input, form)
    });
    h.run_steps(2);
    h.get_by_label("Starting…").click();
    h.get_by_label("Connect").click();
    h.run_steps(2);
    assert!(said(&h).is_empty());
}

#[test]
fn the_tabs_switch_views_and_a_notice_can_be_dismissed() {
    let notice = Activity::Said(Notice {
        text: "Saved /tmp/x.png".into(),
        error: false,
    });
    let mut h = harness(notice, |ui, activity| {
        ui::tabs::show(ui, false, 3, activity)
    });
    h.run_steps(2);
    h.get_by_label("Gallery (3)").click();
    h.run_steps(2);
    h.get_by_label("×").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::ShowGallery(true), Intent::DismissNotice]);
}

struct Room {
    model: Model,
    timeline: ui::timeline::TimelineState,
    textures: TextureCache,
    media: MediaWorker,
}

fn room(model: Model) -> Room {
    Room {
        model,
        timeline: ui::timeline::TimelineState::default(),
        textures: TextureCache::default(),
        media: MediaWorker::spawn(snapwire::repaint::nothing()),
    }
}

#[test]
fn a_queued_image_in_the_timeline_can_be_cancelled() {
    let mut model = connected_model();
    model.add_own_image("i1", "cat.png", 1);
    model.apply(Event::Prepared {
        id: "i1".into(),
        result: Ok(prepared("cat.png", noisy_png(40, 30, 1))),
    });
    let mut h = harness(room(model), |ui, r| {
        ui::timeline::show(ui, &r.model, &mut r.timeline, &mut r.textures, &r.media)
    });
    h.run_steps(2);
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::Cancel("i1".into())]);
}

fn with_images_from_ben(n: u64) -> Model {
    let mut model = connected_model();
    for seq in 1..=n {
        let bytes = bytes::Bytes::from(noisy_png(16, 12, seq as u32));
        model.apply(Event::ImageBegin {
            sid: seq,
            ts: 1_764_100_000_000,
            from: ben(),
            meta: snapwire::state::ImageMeta {
                name: format!("b{seq}.png"),
                mime: "image/png".into(),
                size: bytes.len() as u64,
                sha256: String::new(),
                width: Some(16),
                height: Some(12),
            },
            preview: None,
            history: true,
        });
        model.apply(Event::ImageComplete {
            sid: seq,
            seq,
            ts: 1_764_100_000_000,
            bytes,
            verified: true,
        });
    }
    model
}

#[test]
fn clicking_an_image_in_the_timeline_opens_it() {
    let model = with_images_from_ben(1);
    let key = model.entries[0].key;
    let mut h = harness(room(model), |ui, r| {
        ui::timeline::show(ui, &r.model, &mut r.timeline, &mut r.textures, &r.media)
    });
    h.run_steps(2);
    h.get_by_label("Open b1.png").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::Open(key)]);
}

#[test]
fn the_gallery_selects_by_itself_and_asks_to_save_what_is_selected() {
    let model = with_images_from_ben(3);
    let keys: Vec<_> = model.entries.iter().map(|e| e.key).collect();
    let state = (
        room(model),
        ui::gallery::GalleryState::default(),
        keys.clone(),
    );
    let mut h = harness(state, |ui, (r, gallery, keys)| {
        let input = ui::gallery::GalleryInput {
            model: &r.model,
            keys,
            saving: false,
        };
        ui::gallery::show(ui, &input, gallery, &mut r.textures, &r.media)
    });
    h.run_steps(2);
    h.get_by_label("Select all").click();
    h.run_steps(2);
    assert!(
        said(&h).is_empty(),
        "selecting is the gallery's own business"
    );
    assert_eq!(h.state().0.1.selected.len(), 3);
    h.get_by_label("Save selected (3)…").click();
    h.run_steps(2);
    assert_eq!(said(&h), [Intent::SaveMany(keys)]);
}

#[test]
fn the_viewer_asks_for_the_next_image_and_to_close() {
    let model = with_images_from_ben(2);
    let keys: Vec<_> = model.entries.iter().map(|e| e.key).collect();
    let viewer = ui::viewer::Viewer::new(keys[0], 1);
    let mut h = harness(
        (room(model), viewer, keys.clone()),
        |ui, (r, viewer, keys)| {
            let input = ui::viewer::ViewerInput {
                entry: &r.model.entries[0],
                row: 0,
                keys,
                activity: &Activity::Idle,
            };
            ui::viewer::show(ui, &input, viewer, &mut r.textures, &r.media)
        },
    );
    h.run_steps(2);
    h.get_by_label("Next ➡").click();
    h.run_steps(2);
    h.get_by_label("Save…").click();
    h.run_steps(2);
    h.get_by_label("× Close").click();
    h.run_steps(2);
    assert_eq!(
        said(&h),
        [
            Intent::Open(keys[1]),
            Intent::Save(keys[0]),
            Intent::CloseViewer
        ]
    );
}

#[test]
fn the_status_line_says_reconnecting_in_words() {
    let mut model = connected_model();
    model.apply(Event::Reconnecting {
        retry_at: std::time::Instant::now() + std::time::Duration::from_secs(3),
        reason: "the relay closed the connection".into(),
    });
    assert!(matches!(model.conn, ConnState::Reconnecting { .. }));
    let (_, words) = ui::status::status_text(&model, std::time::Instant::now());
    assert!(
        words.starts_with("Reconnecting in 3 s — the relay closed"),
        "{words}"
    );
}
