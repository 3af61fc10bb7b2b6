//! Choosing files to send. The app only knows the [`FilePicker`] trait; the
//! real one opens the native dialog through rfd (async, off the UI thread),
//! tests inject a fake that answers at once.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::mpsc;

use crate::t;

/// What the composer says when the dialog gave nothing: cancelled, or no dialog
/// could be shown at all (no portal and no zenity), which looks the same.
pub fn nothing_picked() -> String {
    t!("picker-nothing-picked")
}

/// The answer of a picker: the chosen files, or `None` when the person
/// cancelled or no dialog could be shown.
pub type PickFuture = Pin<Box<dyn Future<Output = Option<Vec<PathBuf>>> + Send>>;

pub trait FilePicker: Send + Sync {
    fn pick_images(&self) -> PickFuture;
}

/// Extensions offered in the dialog's filter (the real format is still sniffed from the bytes).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "bmp"];

/// The native dialog: the desktop portal, else zenity, else `None` at once.
pub struct RfdPicker;

impl FilePicker for RfdPicker {
    fn pick_images(&self) -> PickFuture {
        let (title, filter) = (t!("picker-title"), t!("picker-filter"));
        Box::pin(async move {
            rfd::AsyncFileDialog::new()
                .set_title(title)
                .add_filter(filter, &IMAGE_EXTENSIONS)
                .pick_files()
                .await
                .map(|files| files.iter().map(|f| f.path().to_path_buf()).collect())
        })
    }
}

/// Runs a pick on its own thread; the answer arrives on the returned channel.
pub fn spawn_pick(
    picker: &dyn FilePicker,
    repaint: crate::repaint::Repaint,
) -> mpsc::Receiver<Option<Vec<PathBuf>>> {
    let (tx, rx) = mpsc::sync_channel(1);
    let future = picker.pick_images();
    let spawned = std::thread::Builder::new()
        .name("snapwire-pick".into())
        .spawn(move || {
            let answer = pollster::block_on(future);
            let _ = tx.send(answer);
            repaint();
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the file dialog thread");
    }
    rx
}

/// Files copied in a file manager arrive as text: `file://` URIs or plain
/// paths, one per line. Returns the paths if every line is one, else `None`
/// (then it is ordinary text for the text box).
pub fn pasted_paths(text: &str) -> Option<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            continue; // text/uri-list comments
        }
        let path = match line.strip_prefix("file://") {
            Some(rest) => {
                // Drop an optional host part ("file://localhost/…").
                let rest = rest.find('/').map_or(rest, |i| &rest[i..]);
                PathBuf::from(percent_decode(rest)?)
            }
            None => PathBuf::from(line),
        };
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !path.is_absolute() || !is_image {
            return None;
        }
        paths.push(path);
    }
    (!paths.is_empty()).then_some(paths)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copied_files_become_paths() {
        let text = "file:///home/ana/My%20Cat.PNG\r\nfile://localhost/tmp/b.jpg\n";
        let paths = pasted_paths(text).expect("paths");
        assert_eq!(
            paths,
            [
                PathBuf::from("/home/ana/My Cat.PNG"),
                PathBuf::from("/tmp/b.jpg")
            ]
        );
        assert_eq!(
            pasted_paths("/tmp/a.gif"),
            Some(vec![PathBuf::from("/tmp/a.gif")])
        );
    }

    #[test]
    fn ordinary_text_stays_text() {
        assert_eq!(pasted_paths("hello there"), None);
        assert_eq!(pasted_paths("/tmp/notes.txt"), None);
        assert_eq!(pasted_paths("file:///tmp/a.png\nand more words"), None);
        assert_eq!(pasted_paths(""), None);
        assert_eq!(pasted_paths("file:///tmp/%zz.png"), None);
    }
}
