//! Helpers for the viewer and gallery tests: the app in an egui_kittest
//! harness with a fake connection, fake save dialogs and a fake clipboard.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use snapwire::clipboard::{ClipImage, Clipboard};
use snapwire::export::{PathFuture, SaveDialog};
use snapwire::net::{Command, NetHandle};
use snapwire::picker::{FilePicker, PickFuture};
use snapwire::settings::{self, Paths};
use snapwire::state::{Event, ImageMeta};
use snapwire::{AppOptions, SnapwireApp, cli::Launch};
use snapwire_relay::protocol::{Limits, User, Welcome};
use tokio::sync::mpsc;

pub type App = Harness<'static, SnapwireApp>;

struct NoPicker;

impl FilePicker for NoPicker {
    fn pick_images(&self) -> PickFuture {
        Box::pin(async { None })
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

pub struct Setup {
    pub harness: App,
    pub events: mpsc::Sender<Event>,
    _commands: Arc<Mutex<Option<mpsc::Receiver<Command>>>>,
    pub dialog: Arc<FakeDialog>,
    pub clipboard: Arc<FakeClipboard>,
    _home: tempfile::TempDir,
}

/// The app connected to a fake relay as Ana, welcomed, with Ben online.
pub fn setup() -> Setup {
    let home = tempfile::tempdir().expect("tempdir");
    let (ev_tx, ev_rx) = mpsc::channel(4096);
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let parts = Arc::new(Mutex::new(Some((cmd_tx, ev_rx))));
    let commands = Arc::new(Mutex::new(Some(cmd_rx)));
    let mut app = SnapwireApp::new(AppOptions {
        paths: Paths::in_dir(home.path()),
        launch: Launch::Connect(settings::Target {
            url: "ws://127.0.0.1:9/ws".into(),
            name: "Ana".into(),
            room: "lobby".into(),
            token: None,
        }),
        picker: Arc::new(NoPicker),
        connector: Box::new(move |_target, _secret, _repaint| {
            let (tx, rx) = parts
                .lock()
                .map_err(|_| anyhow::anyhow!("lock"))?
                .take()
                .ok_or_else(|| anyhow::anyhow!("connected twice"))?;
            Ok(NetHandle::from_parts(tx, rx))
        }),
    });
    let dialog = Arc::new(FakeDialog::default());
    let clipboard = Arc::new(FakeClipboard::default());
    app.set_save_dialog(dialog.clone());
    app.set_clipboard(clipboard.clone());
    let harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 760.0))
        .build_ui_state(
            |ui, app: &mut SnapwireApp| {
                app.logic(&ui.ctx().clone());
                app.ui(ui);
            },
            app,
        );
    let s = Setup {
        harness,
        events: ev_tx,
        _commands: commands,
        dialog,
        clipboard,
        _home: home,
    };
    s.emit(Event::Welcome(Welcome {
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
    }));
    s
}

impl Setup {
    pub fn emit(&self, event: Event) {
        self.events.try_send(event).expect("event queue has room");
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

pub fn ben() -> User {
    User {
        id: "bbbbbbbbbbbb".into(),
        name: "Ben".into(),
    }
}

/// Steps the UI until `done` holds; bounded in time, never a timed assertion.
pub fn step_until(harness: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "UI never showed {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
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

/// A PNG with a pattern that differs per `seed` (every pixel distinct enough to compare).
pub fn png(w: u32, h: u32, seed: u8) -> Bytes {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            (x % 251) as u8,
            (y % 241) as u8,
            seed.wrapping_mul(37),
            255 - seed,
        ])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    Bytes::from(out)
}
