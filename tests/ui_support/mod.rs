//! A windowless app for the discovery, open-with and attention tests: the
//! network is played by the test through the channels a real worker uses.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use snapwire::app::Connector;
use snapwire::cli::Launch;
use snapwire::net::{Command, NetHandle};
use snapwire::picker::{FilePicker, PickFuture};
use snapwire::settings::{self, Paths};
use snapwire::state::Event;
use snapwire::{AppOptions, SnapwireApp};
use snapwire_relay::protocol::{Limits, User, Welcome};
use tokio::sync::mpsc;

pub struct NoPicker;

impl FilePicker for NoPicker {
    fn pick_images(&self) -> PickFuture {
        Box::pin(async { None })
    }
}

pub struct FakeNet {
    pub commands: mpsc::Receiver<Command>,
    pub events: mpsc::Sender<Event>,
}

pub type Slot = Arc<Mutex<Option<FakeNet>>>;

pub struct Setup {
    pub harness: Harness<'static, SnapwireApp>,
    pub net: Slot,
    pub targets: Arc<Mutex<Vec<settings::Target>>>,
    pub dir: tempfile::TempDir,
}

/// The app as a test drives it; `prepare` runs on it before the first frame.
pub fn setup(launch: Launch, prepare: impl FnOnce(&mut SnapwireApp)) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let net: Slot = Arc::new(Mutex::new(None));
    let targets = Arc::new(Mutex::new(Vec::new()));
    let connector: Connector = {
        let net = Arc::clone(&net);
        let targets = Arc::clone(&targets);
        Box::new(move |target, _secret, _repaint| {
            let (cmd_tx, cmd_rx) = mpsc::channel(64);
            let (ev_tx, ev_rx) = mpsc::channel(256);
            *net.lock().expect("lock") = Some(FakeNet {
                commands: cmd_rx,
                events: ev_tx,
            });
            targets.lock().expect("lock").push(target);
            Ok(NetHandle::from_parts(cmd_tx, ev_rx))
        })
    };
    let mut app = SnapwireApp::new(AppOptions {
        paths: Paths::in_dir(dir.path()),
        launch,
        picker: Arc::new(NoPicker),
        connector,
    });
    prepare(&mut app);
    let harness = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_ui_state(
            |ui, app: &mut SnapwireApp| {
                app.logic(&ui.ctx().clone());
                app.ui(ui);
            },
            app,
        );
    Setup {
        harness,
        net,
        targets,
        dir,
    }
}

pub fn connected_launch() -> Launch {
    Launch::Connect(settings::Target {
        url: "ws://127.0.0.1:9/ws".into(),
        name: "Ana".into(),
        room: "lobby".into(),
        token: None,
    })
}

/// Steps the UI until `done` holds; bounded in time, never a timed assertion.
pub fn step_until(
    harness: &mut Harness<'static, SnapwireApp>,
    what: &str,
    mut done: impl FnMut(&mut Harness<'static, SnapwireApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "UI never showed {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Tells the app its window gained or lost the focus (as the window manager would).
pub fn set_focus(h: &mut Harness<'static, SnapwireApp>, focused: bool) {
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(focused);
}

pub fn has_text(h: &Harness<'static, SnapwireApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

pub fn emit(net: &Slot, event: Event) {
    let guard = net.lock().expect("lock");
    let fake = guard.as_ref().expect("connected");
    fake.events.try_send(event).expect("event queue has room");
}

pub fn next_command(net: &Slot) -> Option<Command> {
    net.lock().expect("lock").as_mut()?.commands.try_recv().ok()
}

pub fn welcome() -> Event {
    Event::Welcome(Welcome {
        v: 1,
        user: User {
            id: "aaaaaaaaaaaa".into(),
            name: "Ana".into(),
        },
        room: "lobby".into(),
        epoch: "e1".into(),
        peers: vec![ben()],
        history: 0,
        limits: Limits {
            max_image_bytes: 50 << 20,
            max_chunk_bytes: 1 << 20,
            max_text_bytes: 16 << 10,
            max_uploads: 4,
        },
    })
}

pub fn ben() -> User {
    User {
        id: "bbbbbbbbbbbb".into(),
        name: "Ben".into(),
    }
}
