//! The app in an egui_kittest harness, without a GPU or a window. The
//! network is played by the test through the channels a real worker uses;
//! the file picker, the save dialogs and the clipboard are fakes that answer
//! at once and remember what they were given.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use snapwire::app::Connector;
use snapwire::cli::Launch;
use snapwire::clipboard::{ClipImage, Clipboard};
use snapwire::export::{PathFuture, SaveDialog};
use snapwire::net::{Command, NetHandle};
use snapwire::picker::{FilePicker, PickFuture};
use snapwire::settings::{self, Paths};
use snapwire::state::{Event, ImageMeta};
use snapwire::{AppOptions, SnapwireApp};
use tokio::sync::mpsc;

pub use super::fixtures::{ben, welcome};

pub type App = Harness<'static, SnapwireApp>;

/// Every UI wait is bounded by this (generous: the machine may be busy).
pub const UI_WAIT: Duration = Duration::from_secs(60);
/// Events the fake connection holds before the test must step the UI.
const EVENT_QUEUE: usize = 8192;

/// Answers every pick with the files it was given (`None`: cancelled or no dialog).
pub struct FakePicker(pub Option<Vec<PathBuf>>);

impl FilePicker for FakePicker {
    fn pick_images(&self) -> PickFuture {
        let answer = self.0.clone();
        Box::pin(async move { answer })
    }
}

/// Answers at once: `file` for a save dialog (or the suggestion inside
/// `folder` when `file` is `None`), `folder` for a folder dialog.
#[derive(Default)]
pub struct FakeDialog {
    pub file: Mutex<Option<PathBuf>>,
    pub folder: Mutex<Option<PathBuf>>,
    /// The names offered to the save dialog.
    pub suggested: Mutex<Vec<String>>,
}

impl SaveDialog for FakeDialog {
    fn save_file(&self, suggested: &str) -> PathFuture {
        if let Ok(mut s) = self.suggested.lock() {
            s.push(suggested.to_owned());
        }
        let file = self.file.lock().ok().and_then(|f| f.clone());
        let folder = self.folder.lock().ok().and_then(|f| f.clone());
        let answer = file.or_else(|| folder.map(|d| d.join(suggested)));
        Box::pin(async move { answer })
    }

    fn pick_folder(&self) -> PathFuture {
        let answer = self.folder.lock().ok().and_then(|f| f.clone());
        Box::pin(async move { answer })
    }
}

#[derive(Default)]
pub struct FakeClipboard {
    pub texts: Mutex<Vec<String>>,
    pub images: Mutex<Vec<ClipImage>>,
}

impl Clipboard for FakeClipboard {
    fn set_text(&self, text: &str) -> Result<(), String> {
        self.texts
            .lock()
            .map_err(|e| e.to_string())?
            .push(text.to_owned());
        Ok(())
    }

    fn set_image(&self, image: ClipImage) -> Result<(), String> {
        self.images.lock().map_err(|e| e.to_string())?.push(image);
        Ok(())
    }
}

/// The test's end of a connection: what the app sends, and a way to answer.
pub struct FakeNet {
    pub commands: mpsc::Receiver<Command>,
    pub events: mpsc::Sender<Event>,
}

/// The latest connection the app made.
pub type Slot = Arc<Mutex<Option<FakeNet>>>;

/// A connector that hands the test each connection's other end (and remembers the targets).
pub fn fake_connector(net: Slot, targets: Arc<Mutex<Vec<settings::Target>>>) -> Connector {
    Box::new(move |target, _secret, _repaint| {
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
        *net.lock().map_err(|_| anyhow::anyhow!("lock"))? = Some(FakeNet {
            commands: cmd_rx,
            events: ev_tx,
        });
        targets
            .lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .push(target);
        Ok(NetHandle::from_parts(cmd_tx, ev_rx))
    })
}

pub struct Setup {
    pub harness: App,
    pub net: Slot,
    pub targets: Arc<Mutex<Vec<settings::Target>>>,
    pub dialog: Arc<FakeDialog>,
    pub clipboard: Arc<FakeClipboard>,
    /// The app's home (settings, secret, hosted relay data).
    pub dir: tempfile::TempDir,
}

/// Runs the app's two halves each frame, as eframe does, in a window of `size` points.
pub fn harness(app: SnapwireApp, size: egui::Vec2) -> App {
    Harness::builder().with_size(size).build_ui_state(
        |ui, app: &mut SnapwireApp| {
            app.logic(&ui.ctx().clone());
            app.ui(ui);
        },
        app,
    )
}

/// The app with fakes for everything outside it; `prepare` runs before the first frame.
pub fn setup_with_picker(
    launch: Launch,
    picked: Option<Vec<PathBuf>>,
    prepare: impl FnOnce(&mut SnapwireApp),
) -> Setup {
    build(launch, picked, prepare, egui::vec2(900.0, 700.0))
}

fn build(
    launch: Launch,
    picked: Option<Vec<PathBuf>>,
    prepare: impl FnOnce(&mut SnapwireApp),
    size: egui::Vec2,
) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let net: Slot = Arc::new(Mutex::new(None));
    let targets = Arc::new(Mutex::new(Vec::new()));
    let mut app = SnapwireApp::new(AppOptions {
        paths: Paths::in_dir(dir.path()),
        launch,
        picker: Arc::new(FakePicker(picked)),
        connector: fake_connector(Arc::clone(&net), Arc::clone(&targets)),
    });
    let dialog = Arc::new(FakeDialog::default());
    let clipboard = Arc::new(FakeClipboard::default());
    app.keep.dialog = dialog.clone();
    app.keep.clipboard = clipboard.clone();
    prepare(&mut app);
    Setup {
        harness: harness(app, size),
        net,
        targets,
        dialog,
        clipboard,
        dir,
    }
}

/// The app with a picker that chooses nothing.
pub fn setup(launch: Launch, prepare: impl FnOnce(&mut SnapwireApp)) -> Setup {
    setup_with_picker(launch, None, prepare)
}

/// The app in the room as Ana, welcomed, with Ben online (a window large
/// enough for the viewer's and the gallery's bars).
pub fn room_setup() -> Setup {
    let s = build(connected_launch(), None, |_| {}, egui::vec2(1000.0, 760.0));
    s.emit(welcome());
    s
}

pub fn connected_launch() -> Launch {
    Launch::Connect(settings::Target {
        url: "ws://127.0.0.1:9/ws".into(),
        name: "Ana".into(),
        room: "lobby".into(),
        token: None,
    })
}

impl Setup {
    pub fn emit(&self, event: Event) {
        emit(&self.net, event);
    }

    /// A complete image from Ben, as the network worker reports it.
    pub fn image_from_ben(&self, seq: u64, name: &str, bytes: Bytes) {
        let (width, height) = image::load_from_memory(&bytes)
            .map(|i| (Some(i.width()), Some(i.height())))
            .unwrap_or((None, None));
        self.emit(Event::ImageBegin {
            sid: seq,
            ts: 1_764_100_000_000 + seq,
            from: ben(),
            meta: ImageMeta {
                name: name.into(),
                mime: "image/png".into(),
                size: bytes.len() as u64,
                sha256: String::new(),
                width,
                height,
            },
            preview: None,
            history: true,
        });
        self.emit(Event::ImageComplete {
            sid: seq,
            seq,
            ts: 1_764_100_000_000 + seq,
            bytes,
            verified: true,
        });
    }

    pub fn text_from_ben(&self, seq: u64, text: &str) {
        self.emit(Event::Text {
            seq,
            ts: 1_764_100_000_000 + seq,
            from: ben(),
            text: text.into(),
            history: true,
        });
    }
}

pub fn emit(net: &Slot, event: Event) {
    let guard = net.lock().expect("lock");
    let fake = guard.as_ref().expect("connected");
    fake.events.try_send(event).expect("event queue has room");
}

pub fn next_command(net: &Slot) -> Option<Command> {
    net.lock().expect("lock").as_mut()?.commands.try_recv().ok()
}

/// Steps the UI until `done` holds; bounded in time, never a timed assertion.
pub fn step_until(harness: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    let deadline = Instant::now() + UI_WAIT;
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "UI never showed {what}");
        // Workers (decoding, the fake dialogs) answer on other threads.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Picked and dropped files wait on the send sheet; "Send to the room" sends them.
pub fn confirm_sheet(h: &mut App) {
    step_until(h, "the send sheet", |h| has_text(h, "Send to the room"));
    h.get_by_label("Send to the room").click();
}

/// Tells the app its window gained or lost the focus (as the window manager would).
pub fn set_focus(h: &mut App, focused: bool) {
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(focused);
}

pub fn has_text(h: &App, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// All labels on screen containing `text` (for failure messages).
pub fn labels(h: &App, text: &str) -> Vec<String> {
    h.query_all_by_label_contains(text)
        .filter_map(|n| {
            let node = n.accesskit_node();
            // AccessKit keeps a label widget's text in its value.
            if node.role() == egui::accesskit::Role::Label {
                node.value()
            } else {
                node.label()
            }
        })
        .collect()
}
