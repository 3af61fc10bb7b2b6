//! Looking at and keeping what arrived: the state behind the viewer, the
//! gallery, saving and copying, and the app's methods that start them. The
//! dialogs and the clipboard are traits so tests inject fakes; every piece of
//! work (decoding, writing, copying) runs on its own thread and reports back
//! here, drained each frame by [`SnapwireApp::keep_logic`].

use std::sync::Arc;

use egui::RichText;

use crate::app::SnapwireApp;
use crate::clipboard::{Clipboard, Copy, CopyJob, SystemClipboard};
use crate::export::{Item, Outcome, RfdSaveDialog, SaveDialog, SaveJob};
use crate::media::Data;
use crate::state::{Entry, EntryKey};
use crate::ui::gallery::GalleryState;
use crate::ui::viewer::{FullDecoder, Viewer};

/// A sentence shown under the view: where something was saved, what was copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

pub struct Keep {
    pub dialog: Arc<dyn SaveDialog>,
    pub clipboard: Arc<dyn Clipboard>,
    pub viewer: Option<Viewer>,
    pub gallery: GalleryState,
    /// The room shows the gallery instead of the timeline.
    pub show_gallery: bool,
    pub save: Option<SaveJob>,
    pub copy: Option<CopyJob>,
    pub notice: Option<Notice>,
    pub(crate) decoder: Option<FullDecoder>,
    pub(crate) generation: u64,
    ctx: Option<egui::Context>,
}

impl Default for Keep {
    fn default() -> Self {
        Self {
            dialog: Arc::new(RfdSaveDialog),
            clipboard: Arc::new(SystemClipboard::default()),
            viewer: None,
            gallery: GalleryState::default(),
            show_gallery: false,
            save: None,
            copy: None,
            notice: None,
            decoder: None,
            generation: 0,
            ctx: None,
        }
    }
}

impl Keep {
    /// A new room: nothing of the old one stays open (its keys mean nothing now).
    pub fn reset(&mut self) {
        self.viewer = None;
        self.gallery = GalleryState::default();
        self.show_gallery = false;
    }
}

/// Where an entry's image bytes are, when it has them and is not failed.
pub fn entry_data(entry: &Entry) -> Option<Data> {
    let image = entry.image()?;
    if !crate::ui::viewer::viewable(&image.state) {
        return None;
    }
    match (&image.bytes, &image.spilled) {
        (Some(bytes), _) => Some(Data::Memory(bytes.clone())),
        (None, Some(path)) => Some(Data::File(path.clone())),
        (None, None) => None,
    }
}

impl SnapwireApp {
    /// The images of the room that can be viewed and saved, oldest first.
    pub fn viewable_keys(&self) -> Vec<EntryKey> {
        self.model
            .entries
            .iter()
            .filter(|e| entry_data(e).is_some())
            .map(|e| e.key)
            .collect()
    }

    /// Uses these dialogs instead of the native ones (tests).
    pub fn set_save_dialog(&mut self, dialog: Arc<dyn SaveDialog>) {
        self.keep.dialog = dialog;
    }

    /// Uses this clipboard instead of the system's (tests).
    pub fn set_clipboard(&mut self, clipboard: Arc<dyn Clipboard>) {
        self.keep.clipboard = clipboard;
    }

    fn keep_repaint(&self) -> crate::net::Repaint {
        let ctx = self.keep.ctx.clone();
        Arc::new(move || {
            if let Some(ctx) = &ctx {
                ctx.request_repaint();
            }
        })
    }

    fn item(&self, key: EntryKey) -> Option<Item> {
        let entry = self.model.entry(key)?;
        let image = entry.image()?;
        let data = entry_data(entry)?;
        let mut name = image.name().to_owned();
        if let Data::File(_) = data
            && let Some(format) = image
                .meta
                .as_ref()
                .and_then(|m| snapwire_relay::protocol::ImageFormat::from_mime(&m.mime))
        {
            // Bytes on disk are not sniffed on the UI thread: the save dialog's
            // suggestion takes the extension from the announced type (the
            // written file still gets the sniffed one).
            name = crate::export::safe_file_name(&name, Some(format));
        }
        Some(Item { name, data })
    }

    fn busy_saving(&mut self) -> bool {
        if self.keep.save.is_some() {
            self.keep.notice = Some(Notice {
                text: "Still saving; try again when it is done".into(),
                error: true,
            });
            return true;
        }
        false
    }

    /// "Save…": the save dialog, then the write, both off the UI thread.
    pub fn save_image(&mut self, key: EntryKey) {
        if self.busy_saving() {
            return;
        }
        let Some(item) = self.item(key) else {
            return;
        };
        self.keep.notice = None;
        let job = SaveJob::one(self.keep.dialog.as_ref(), item, self.keep_repaint());
        self.keep.save = Some(job);
    }

    /// "Save selected" / "Save all": a folder dialog, then every image into it.
    pub fn save_images(&mut self, keys: &[EntryKey]) {
        if self.busy_saving() {
            return;
        }
        let items: Vec<Item> = keys.iter().filter_map(|k| self.item(*k)).collect();
        if items.is_empty() {
            return;
        }
        self.keep.notice = None;
        let job = SaveJob::many(self.keep.dialog.as_ref(), items, self.keep_repaint());
        self.keep.save = Some(job);
    }

    /// "Copy image": the full image's pixels to the clipboard.
    pub fn copy_image(&mut self, key: EntryKey) {
        let Some(item) = self.item(key) else {
            return;
        };
        self.keep.notice = Some(Notice {
            text: format!("Copying {}…", item.name),
            error: false,
        });
        self.keep.copy = Some(CopyJob::start(
            Arc::clone(&self.keep.clipboard),
            Copy::Image {
                name: item.name,
                data: item.data,
            },
            self.keep_repaint(),
        ));
    }

    /// "Copy text" on a message.
    pub fn copy_text(&mut self, text: String) {
        self.keep.copy = Some(CopyJob::start(
            Arc::clone(&self.keep.clipboard),
            Copy::Text(text),
            self.keep_repaint(),
        ));
    }

    /// Drains the viewer's decoder and the save and copy threads.
    pub fn keep_logic(&mut self, ctx: &egui::Context) {
        if self.keep.ctx.is_none() {
            self.keep.ctx = Some(ctx.clone());
        }
        self.viewer_logic(ctx);
        if let Some(outcome) = self.keep.save.as_ref().and_then(SaveJob::try_finish) {
            self.keep.save = None;
            self.keep.notice = match outcome {
                Outcome::NoChoice => Some(Notice {
                    text: "Not saved: no place chosen (or no file dialog could be shown)".into(),
                    error: true,
                }),
                Outcome::Finished(summary) => Some(Notice {
                    text: summary.words(),
                    error: summary.failed(),
                }),
            };
        }
        if let Some(result) = self.keep.copy.as_ref().and_then(CopyJob::try_finish) {
            self.keep.copy = None;
            self.keep.notice = Some(match result {
                Ok(text) => Notice { text, error: false },
                Err(text) => Notice { text, error: true },
            });
        }
        if let Some(job) = &self.keep.save
            && job.writing.load(std::sync::atomic::Ordering::Relaxed)
        {
            // The progress bar moves without other events.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// The timeline's image and text actions.
    pub fn keep_action(&mut self, action: crate::ui::timeline::Action) {
        use crate::ui::timeline::Action;
        match action {
            Action::Open(key) => self.open_viewer(key),
            Action::Save(key) => self.save_image(key),
            Action::CopyImage(key) => self.copy_image(key),
            Action::CopyText(text) => self.copy_text(text),
            Action::Cancel(id) => self.cancel(&id),
        }
    }
}

/// Saving progress or the latest notice, on one line.
pub fn status_line(ui: &mut egui::Ui, app: &mut SnapwireApp) {
    if let Some(job) = &app.keep.save {
        let (done, total) = job.progress();
        if job.writing.load(std::sync::atomic::Ordering::Relaxed) {
            let fraction = if total == 0 {
                0.0
            } else {
                done as f32 / total as f32
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(200.0)
                    .text(format!("Saving {done} of {total}…")),
            );
            if total > 1 && ui.small_button("Stop").clicked() {
                job.stop();
            }
        } else {
            ui.label(RichText::new("Choosing where to save…").weak());
        }
        return;
    }
    if let Some(notice) = app.keep.notice.clone() {
        let text = RichText::new(&notice.text);
        let text = if notice.error {
            text.color(crate::ui::connect::ERROR_COLOR)
        } else {
            text
        };
        ui.add(egui::Label::new(text).truncate())
            .on_hover_text(&notice.text);
        if ui.small_button("×").on_hover_text("Dismiss").clicked() {
            app.keep.notice = None;
        }
    }
}

/// The row under the status line: Timeline | Gallery, and saving progress.
pub fn tabs(ui: &mut egui::Ui, app: &mut SnapwireApp) {
    egui::Panel::top("keep-tabs").show(ui, |ui| {
        ui.add_space(2.0);
        ui.horizontal(|ui| {
            if ui
                .selectable_label(!app.keep.show_gallery, "Timeline")
                .clicked()
            {
                app.keep.show_gallery = false;
            }
            let count = app.viewable_keys().len();
            if ui
                .selectable_label(app.keep.show_gallery, format!("Gallery ({count})"))
                .on_hover_text("All images of the room in a grid")
                .clicked()
            {
                app.keep.show_gallery = true;
            }
            if app.keep.save.is_some() || app.keep.notice.is_some() {
                ui.separator();
                status_line(ui, app);
            }
        });
        ui.add_space(2.0);
    });
}
