//! Keeping what arrived: saving images (one, or a batch into a folder) and
//! copying an image or a text, with the sentence that says how it went. The
//! dialogs and the clipboard are traits so tests inject fakes. Saving runs on
//! its own thread ([`SaveJob`]); copying is a job for the media worker
//! (decoding is its work); the app drains both each frame and shows
//! [`Keeper::activity`] in the room's tab row or the viewer's bottom bar.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::clipboard::{Clipboard, SystemClipboard};
use crate::export::{Item, Outcome, RfdSaveDialog, SaveDialog, SaveJob};
use crate::media::{self, Copy, Data, Job};
use crate::repaint::Repaint;
use crate::state::Entry;
use crate::t;

/// A sentence shown under the view: where something was saved, what was copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// What saving and copying show right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Idle,
    /// The dialog is open.
    Choosing,
    Saving {
        done: usize,
        total: usize,
    },
    Said(Notice),
}

pub struct Keeper {
    pub dialog: Arc<dyn SaveDialog>,
    pub clipboard: Arc<dyn Clipboard>,
    pub save: Option<SaveJob>,
    /// The name of what is being copied, while the media worker copies it.
    pub copy: Option<String>,
    pub notice: Option<Notice>,
}

impl Default for Keeper {
    fn default() -> Self {
        Self {
            dialog: Arc::new(RfdSaveDialog),
            clipboard: Arc::new(SystemClipboard::default()),
            save: None,
            copy: None,
            notice: None,
        }
    }
}

/// What saving or copying an entry's image needs: its name and where its bytes are.
pub fn item(entry: &Entry) -> Option<Item> {
    let image = entry.image()?;
    let data = media::entry_data(entry)?;
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

impl Keeper {
    fn busy_saving(&mut self) -> bool {
        if self.save.is_some() {
            self.notice = Some(Notice {
                text: t!("keep-still-saving"),
                error: true,
            });
            return true;
        }
        false
    }

    /// "Save…": the save dialog, then the write, both off the UI thread.
    pub fn save_one(&mut self, item: Item, repaint: Repaint) {
        if self.busy_saving() {
            return;
        }
        self.notice = None;
        self.save = Some(SaveJob::one(self.dialog.as_ref(), item, repaint));
    }

    /// "Save selected" / "Save all": a folder dialog, then every image into it.
    pub fn save_many(&mut self, items: Vec<Item>, repaint: Repaint) {
        if items.is_empty() || self.busy_saving() {
            return;
        }
        self.notice = None;
        self.save = Some(SaveJob::many(self.dialog.as_ref(), items, repaint));
    }

    /// "Copy image": the job that decodes it and puts the pixels on the clipboard.
    pub fn copy_image(&mut self, item: Item) -> Job {
        self.notice = Some(Notice {
            text: t!("keep-copying", name = &item.name),
            error: false,
        });
        self.copy = Some(item.name.clone());
        Job::Copy {
            clipboard: Arc::clone(&self.clipboard),
            what: Copy::Image {
                name: item.name,
                data: item.data,
            },
        }
    }

    /// "Copy text" on a message.
    pub fn copy_text(&mut self, text: String) -> Job {
        self.copy = Some("text".into());
        Job::Copy {
            clipboard: Arc::clone(&self.clipboard),
            what: Copy::Text(text),
        }
    }

    /// The media worker copied (or could not).
    pub fn copied(&mut self, result: Result<String, String>) {
        self.copy = None;
        self.notice = Some(match result {
            Ok(text) => Notice { text, error: false },
            Err(text) => Notice { text, error: true },
        });
    }

    /// Takes a finished save; true while one is writing (its progress bar moves without events).
    pub fn poll(&mut self) -> bool {
        if let Some(outcome) = self.save.as_ref().and_then(SaveJob::try_finish) {
            self.save = None;
            self.notice = Some(match outcome {
                Outcome::NoChoice => Notice {
                    text: t!("keep-no-place"),
                    error: true,
                },
                Outcome::Finished(summary) => Notice {
                    text: summary.words(),
                    error: summary.failed(),
                },
            });
        }
        self.save
            .as_ref()
            .is_some_and(|job| job.writing.load(Ordering::Relaxed))
    }

    /// "Stop" on a batch: it ends after the file in hand.
    pub fn stop_saving(&self) {
        if let Some(job) = &self.save {
            job.stop();
        }
    }

    pub fn activity(&self) -> Activity {
        if let Some(job) = &self.save {
            if !job.writing.load(Ordering::Relaxed) {
                return Activity::Choosing;
            }
            let (done, total) = job.progress();
            return Activity::Saving { done, total };
        }
        match &self.notice {
            Some(notice) => Activity::Said(notice.clone()),
            None => Activity::Idle,
        }
    }
}
