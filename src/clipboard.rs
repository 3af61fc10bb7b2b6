//! Copying to the system clipboard: an image as pixels, a message as text.
//! The app only knows the [`Clipboard`] trait (tests inject a fake); the real
//! one is arboard. Copying an image decodes the original at full size and
//! hands it to the platform (which may encode it again), so it runs on its own
//! thread and reports back in words.

use std::sync::{Arc, Mutex, mpsc};

use crate::media::Data;
use crate::net::Repaint;

/// Pixels for the clipboard: RGBA, 8 bits per channel, unpremultiplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipImage {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
}

pub trait Clipboard: Send + Sync {
    fn set_text(&self, text: &str) -> Result<(), String>;
    fn set_image(&self, image: ClipImage) -> Result<(), String>;
}

/// The system clipboard through arboard, opened on first use and kept open:
/// on X11 the copied data lives only as long as the clipboard object does.
#[derive(Default)]
pub struct SystemClipboard {
    inner: Mutex<Option<arboard::Clipboard>>,
}

impl SystemClipboard {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut arboard::Clipboard) -> Result<T, arboard::Error>,
    ) -> Result<T, String> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| "the clipboard is unavailable".to_owned())?;
        if guard.is_none() {
            *guard =
                Some(arboard::Clipboard::new().map_err(|e| format!("no clipboard here ({e})"))?);
        }
        match guard.as_mut() {
            Some(clipboard) => f(clipboard).map_err(|e| e.to_string()),
            None => Err("the clipboard is unavailable".to_owned()),
        }
    }
}

impl Clipboard for SystemClipboard {
    fn set_text(&self, text: &str) -> Result<(), String> {
        self.with(|c| c.set_text(text))
    }

    fn set_image(&self, image: ClipImage) -> Result<(), String> {
        self.with(|c| {
            c.set_image(arboard::ImageData {
                width: image.width,
                height: image.height,
                bytes: std::borrow::Cow::Owned(image.rgba),
            })
        })
    }
}

/// Decodes an image (with the usual limits) into clipboard pixels.
pub fn clip_image(data: &Data) -> Result<ClipImage, String> {
    let bytes = match data {
        Data::Memory(bytes) => bytes.clone(),
        Data::File(path) => std::fs::read(path)
            .map(bytes::Bytes::from)
            .map_err(|e| format!("its cached copy is unreadable: {e}"))?,
    };
    let image = crate::media::decode(&bytes)?.into_rgba8();
    Ok(ClipImage {
        width: image.width() as usize,
        height: image.height() as usize,
        rgba: image.into_raw(),
    })
}

/// What to copy.
pub enum Copy {
    Text(String),
    Image { name: String, data: Data },
}

/// One copy at a time on its own thread; the answer is a sentence for the window.
pub struct CopyJob {
    rx: mpsc::Receiver<Result<String, String>>,
}

impl CopyJob {
    pub fn start(clipboard: Arc<dyn Clipboard>, what: Copy, repaint: Repaint) -> Self {
        let (tx, rx) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("snapwire-copy".into())
            .spawn(move || {
                let result = match what {
                    Copy::Text(text) => clipboard
                        .set_text(&text)
                        .map(|()| "Copied the text".to_owned())
                        .map_err(|e| format!("Could not copy the text: {e}")),
                    Copy::Image { name, data } => clip_image(&data)
                        .and_then(|image| {
                            let (w, h) = (image.width, image.height);
                            clipboard.set_image(image).map(|()| (w, h))
                        })
                        .map(|(w, h)| format!("Copied {name} ({w}×{h}) as an image"))
                        .map_err(|e| format!("Could not copy {name}: {e}")),
                };
                let _ = tx.send(result);
                repaint();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the copy thread");
        }
        Self { rx }
    }

    /// The result once done (a lost thread is an error).
    pub fn try_finish(&self) -> Option<Result<String, String>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err("Copying stopped".into())),
        }
    }
}
