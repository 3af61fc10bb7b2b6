//! The system clipboard behind a trait: an image as pixels, a message as
//! text. The app only knows [`Clipboard`] (tests inject a fake); the real one
//! is arboard. Copying runs on the media worker (an image is decoded at full
//! size first), never on the UI thread.

use std::sync::Mutex;

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
            .map_err(|_| crate::t!("clipboard-unavailable"))?;
        if guard.is_none() {
            *guard = Some(
                arboard::Clipboard::new()
                    .map_err(|e| crate::t!("clipboard-none", error = e.to_string()))?,
            );
        }
        match guard.as_mut() {
            Some(clipboard) => f(clipboard).map_err(|e| e.to_string()),
            None => Err(crate::t!("clipboard-unavailable")),
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
