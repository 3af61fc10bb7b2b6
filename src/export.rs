//! Keeping received images on disk: a safe file name from whatever the sender
//! called it, writing through a temporary file in the target folder that never
//! replaces an existing file (`name (1).ext`, `name (2).ext`… instead), the
//! native save dialogs behind the [`SaveDialog`] trait (tests inject a fake),
//! and saving one image or a whole batch on its own thread with progress.

use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use snapwire_relay::protocol::ImageFormat;

use crate::media::Data;
use crate::repaint::Repaint;

/// The answer of a dialog: a path, or `None` when the person cancelled or no
/// dialog could be shown.
pub type PathFuture = Pin<Box<dyn Future<Output = Option<PathBuf>> + Send>>;

/// The dialogs saving needs; the real one is [`RfdSaveDialog`].
pub trait SaveDialog: Send + Sync {
    /// Where to save one image, offering `suggested` as its name.
    fn save_file(&self, suggested: &str) -> PathFuture;
    /// A folder to save several images into.
    fn pick_folder(&self) -> PathFuture;
}

/// The native dialogs: the desktop portal, else zenity, else `None` at once.
pub struct RfdSaveDialog;

impl SaveDialog for RfdSaveDialog {
    fn save_file(&self, suggested: &str) -> PathFuture {
        let dialog = rfd::AsyncFileDialog::new()
            .set_title(crate::t!("save-dialog-one"))
            .set_file_name(suggested);
        Box::pin(async move { dialog.save_file().await.map(|f| f.path().to_path_buf()) })
    }

    fn pick_folder(&self) -> PathFuture {
        let dialog = rfd::AsyncFileDialog::new().set_title(crate::t!("save-dialog-many"));
        Box::pin(async move { dialog.pick_folder().await.map(|f| f.path().to_path_buf()) })
    }
}

/// Longest file name we write, in bytes (common file systems allow 255).
const MAX_NAME_BYTES: usize = 200;
/// How many `name (n).ext` we try before giving up.
const MAX_NUMBERED: u32 = 10_000;

/// A file name that is safe to create in any folder on any desktop system:
/// the last path component only, no control characters, no characters
/// Windows reserves (`<>:"/\|?*` become `_`), no leading dots (no hidden
/// files, no `..`), no trailing dots or spaces, not a reserved device name,
/// bounded in length, and ending in the extension of the real format.
pub fn safe_file_name(raw: &str, format: Option<ImageFormat>) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_start_matches(|c: char| c == '.' || c.is_whitespace());
    let cleaned = cleaned.trim_end_matches(|c: char| c == '.' || c.is_whitespace());

    let (stem, ext) = split_ext(cleaned);
    let ext_lower = ext.map(str::to_ascii_lowercase);
    let (stem, ext) = match format {
        Some(format) => {
            let fits = ext_lower
                .as_deref()
                .is_some_and(|e| matches_format(e, format));
            let is_image_ext = ext_lower.as_deref().is_some_and(is_image_extension);
            if fits {
                (stem, ext.unwrap_or_default().to_owned())
            } else if is_image_ext {
                // "photo.png" that is really a JPEG becomes "photo.jpg".
                (stem, format.extension().to_owned())
            } else {
                // "notes" or "v1.2" keep their whole name and gain the extension.
                (cleaned, format.extension().to_owned())
            }
        }
        None => (stem, ext.unwrap_or_default().to_owned()),
    };
    let mut stem = truncate_bytes(stem.trim_end(), MAX_NAME_BYTES).to_owned();
    if stem.is_empty() {
        stem = "image".to_owned();
    }
    if is_reserved_device(&stem) {
        stem.insert(0, '_');
    }
    if ext.is_empty() {
        stem
    } else {
        format!("{stem}.{ext}")
    }
}

/// The name to save `bytes` under, from the name the sender gave.
pub fn file_name_for(raw: &str, bytes: &[u8]) -> String {
    safe_file_name(raw, ImageFormat::sniff(bytes))
}

fn split_ext(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(i) if i > 0 && i + 1 < name.len() => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

fn matches_format(ext: &str, format: ImageFormat) -> bool {
    match format {
        ImageFormat::Jpeg => matches!(ext, "jpg" | "jpeg" | "jpe" | "jfif"),
        other => ext == other.extension(),
    }
}

fn is_image_extension(ext: &str) -> bool {
    ImageFormat::ALL.iter().any(|f| matches_format(ext, *f))
        || matches!(ext, "tif" | "tiff" | "heic" | "heif" | "avif" | "svg")
}

fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// CON, PRN, AUX, NUL, COM1-9, LPT1-9 (with any extension) name devices on Windows.
fn is_reserved_device(stem: &str) -> bool {
    let base = stem.split('.').next().unwrap_or_default().trim_end();
    let upper = base.to_ascii_uppercase();
    matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit()
            && upper.as_bytes()[3] != b'0')
}

/// `name`, then `name (1).ext`, `name (2).ext`…
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match split_ext(name) {
        (stem, Some(ext)) => format!("{stem} ({n}).{ext}"),
        (stem, None) => format!("{stem} ({n})"),
    }
}

/// Writes `bytes` as a new file named `name` in `dir`, or `name (1).ext`,
/// `name (2).ext`… when that exists: never replaces a file. The bytes go to
/// a temporary file in `dir` first, which then takes its name in one step,
/// so a half-written file never carries the name. Returns the path written.
pub fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".snapwire-").suffix(".part");
    #[cfg(unix)]
    {
        // A saved picture is an ordinary file (0644 under the usual umask),
        // not a private temporary one (0600).
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    for n in 0..MAX_NUMBERED {
        let candidate = dir.join(numbered(name, n));
        match tmp.persist_noclobber(&candidate) {
            Ok(_) => return Ok(candidate),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => {
                // A file system without hard links or no-replace renames (FAT on
                // a USB stick): claim the name with an exclusive create, then
                // move the finished file over our own empty claim.
                tmp = e.file;
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&candidate)
                {
                    Ok(_) => {
                        return match tmp.persist(&candidate) {
                            Ok(_) => Ok(candidate),
                            Err(e) => {
                                let _ = std::fs::remove_file(&candidate);
                                Err(e.error)
                            }
                        };
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        crate::t!("save-names-taken", count = MAX_NUMBERED, name = name),
    ))
}

/// One image to save: the name the sender gave, and where its bytes are.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub data: Data,
}

/// What a finished save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub dir: PathBuf,
    /// Every file written, in order.
    pub saved: Vec<PathBuf>,
    /// Files that got another name because the first one was taken.
    pub renamed: usize,
    /// Names not saved, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Stopped by the person before the end.
    pub stopped: bool,
}

impl Summary {
    /// One sentence for the window: "Saved 12 images to …; 1 skipped: …".
    pub fn words(&self) -> String {
        let dir = self.dir.display();
        let mut out = match self.saved.as_slice() {
            [] => crate::t!("saved-nothing", dir = dir.to_string()),
            [one] => crate::t!("saved-one", path = one.display().to_string()),
            many => crate::t!("saved-many", count = many.len(), dir = dir.to_string()),
        };
        if self.renamed > 0 && self.saved.len() > 1 {
            out.push(' ');
            out.push_str(&crate::t!("saved-renamed-some", count = self.renamed));
        } else if self.renamed > 0 {
            out.push(' ');
            out.push_str(&crate::t!("saved-renamed-one"));
        }
        if self.stopped {
            out.push_str("; ");
            out.push_str(&crate::t!("saved-stopped"));
        }
        if !self.skipped.is_empty() {
            let listed: Vec<String> = self
                .skipped
                .iter()
                .take(3)
                .map(|(name, why)| format!("{name} ({why})"))
                .collect();
            let more = self.skipped.len().saturating_sub(3);
            let listed = listed.join(", ");
            out.push_str("; ");
            out.push_str(&if more > 0 {
                crate::t!(
                    "saved-skipped-more",
                    count = self.skipped.len(),
                    names = listed,
                    more = more
                )
            } else {
                crate::t!("saved-skipped", count = self.skipped.len(), names = listed)
            });
        }
        out
    }

    pub fn failed(&self) -> bool {
        self.saved.is_empty() && !self.skipped.is_empty()
    }
}

/// Saves `items` into `dir` under safe names; `done` counts finished items.
pub fn save_into(dir: &Path, items: &[Item], done: &AtomicUsize, stop: &AtomicBool) -> Summary {
    let mut summary = Summary {
        dir: dir.to_path_buf(),
        saved: Vec::new(),
        renamed: 0,
        skipped: Vec::new(),
        stopped: false,
    };
    for item in items {
        if stop.load(Ordering::Relaxed) {
            summary.stopped = true;
            break;
        }
        let result = item
            .data
            .load()
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                let name = file_name_for(&item.name, &bytes);
                write_new(dir, &name, &bytes)
                    .map(|path| (name, path))
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok((name, path)) => {
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy() != name)
                {
                    summary.renamed += 1;
                }
                summary.saved.push(path);
            }
            Err(why) => summary.skipped.push((item.name.clone(), why)),
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    summary
}

/// How a save ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No path chosen (cancelled, or no dialog could be shown).
    NoChoice,
    Finished(Summary),
}

/// A save running on its own thread: the dialog, then the writing.
pub struct SaveJob {
    pub total: usize,
    pub done: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    /// Set once a folder or file was chosen (the writing started).
    pub writing: Arc<AtomicBool>,
    rx: mpsc::Receiver<Outcome>,
}

impl SaveJob {
    /// Asks for a file name, then writes one image there (renamed if taken).
    pub fn one(dialog: &dyn SaveDialog, item: Item, repaint: Repaint) -> Self {
        let suggested = match &item.data {
            Data::Memory(bytes) => file_name_for(&item.name, bytes),
            Data::File(_) => safe_file_name(&item.name, None),
        };
        let ask = dialog.save_file(&suggested);
        Self::spawn(1, repaint, move |done, stop, writing| {
            let path = pollster::block_on(ask)?;
            writing.store(true, Ordering::Relaxed);
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            // The person chose this name: keep it (made safe), with the real extension.
            let chosen = path
                .file_name()
                .map_or_else(|| item.name.clone(), |n| n.to_string_lossy().into_owned());
            let item = Item {
                name: chosen,
                data: item.data,
            };
            Some(save_into(&dir, &[item], done, stop))
        })
    }

    /// Asks for a folder, then writes every image into it.
    pub fn many(dialog: &dyn SaveDialog, items: Vec<Item>, repaint: Repaint) -> Self {
        let ask = dialog.pick_folder();
        Self::spawn(items.len(), repaint, move |done, stop, writing| {
            let dir = pollster::block_on(ask)?;
            writing.store(true, Ordering::Relaxed);
            let started = std::time::Instant::now();
            let summary = save_into(&dir, &items, done, stop);
            tracing::info!(
                saved = summary.saved.len(),
                skipped = summary.skipped.len(),
                ms = started.elapsed().as_millis() as u64,
                "save: batch written"
            );
            Some(summary)
        })
    }

    fn spawn(
        total: usize,
        repaint: Repaint,
        work: impl FnOnce(&AtomicUsize, &AtomicBool, &AtomicBool) -> Option<Summary> + Send + 'static,
    ) -> Self {
        let (tx, rx) = mpsc::sync_channel(1);
        let done = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let writing = Arc::new(AtomicBool::new(false));
        let (d, s, w) = (Arc::clone(&done), Arc::clone(&stop), Arc::clone(&writing));
        let spawned = std::thread::Builder::new()
            .name("snapwire-save".into())
            .spawn(move || {
                let outcome = match work(&d, &s, &w) {
                    Some(summary) => Outcome::Finished(summary),
                    None => Outcome::NoChoice,
                };
                let _ = tx.send(outcome);
                repaint();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the save thread");
        }
        Self {
            total,
            done,
            stop,
            writing,
            rx,
        }
    }

    /// The outcome, once the thread is done (a lost thread counts as no choice).
    pub fn try_finish(&self) -> Option<Outcome> {
        match self.rx.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Outcome::NoChoice),
        }
    }

    /// Asks the thread to stop after the current file.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn progress(&self) -> (usize, usize) {
        (self.done.load(Ordering::Relaxed), self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const PNG: Option<ImageFormat> = Some(ImageFormat::Png);
    const JPEG: Option<ImageFormat> = Some(ImageFormat::Jpeg);

    #[test]
    fn names_lose_their_paths_and_dangerous_characters() {
        assert_eq!(safe_file_name("../../x.png", PNG), "x.png");
        assert_eq!(safe_file_name("..\\..\\win\\x.png", PNG), "x.png");
        assert_eq!(safe_file_name("/etc/passwd", PNG), "passwd.png");
        assert_eq!(safe_file_name("a\u{0}b\nc\u{7f}.png", PNG), "abc.png");
        assert_eq!(
            safe_file_name("what?<is>:this*|\".png", PNG),
            "what__is__this___.png"
        );
        assert_eq!(safe_file_name(".hidden.png", PNG), "hidden.png");
        assert_eq!(safe_file_name("...", PNG), "image.png");
        assert_eq!(safe_file_name("..", PNG), "image.png");
        assert_eq!(safe_file_name("", PNG), "image.png");
        assert_eq!(safe_file_name("dir/", PNG), "image.png");
        assert_eq!(safe_file_name("  spaced out . ", PNG), "spaced out.png");
        assert_eq!(safe_file_name("trailing.png...", PNG), "trailing.png");
    }

    #[test]
    fn the_extension_matches_the_real_format() {
        assert_eq!(safe_file_name("cat.png", PNG), "cat.png");
        assert_eq!(safe_file_name("cat.PNG", PNG), "cat.PNG");
        assert_eq!(safe_file_name("cat.png", JPEG), "cat.jpg");
        assert_eq!(safe_file_name("cat.jpeg", JPEG), "cat.jpeg");
        assert_eq!(safe_file_name("cat", JPEG), "cat.jpg");
        assert_eq!(safe_file_name("v1.2", PNG), "v1.2.png");
        assert_eq!(safe_file_name("scan.tiff", PNG), "scan.png");
        assert_eq!(safe_file_name("report.exe", PNG), "report.exe.png");
        assert_eq!(safe_file_name("kept.anything", None), "kept.anything");
    }

    #[test]
    fn windows_device_names_and_long_names_are_made_safe() {
        assert_eq!(safe_file_name("CON.png", PNG), "_CON.png");
        assert_eq!(safe_file_name("lpt1.jpg", JPEG), "_lpt1.jpg");
        assert_eq!(safe_file_name("com0.png", PNG), "com0.png");
        assert_eq!(safe_file_name("console.png", PNG), "console.png");
        let long = format!("{}.png", "é".repeat(300));
        let name = safe_file_name(&long, PNG);
        assert!(name.len() <= MAX_NAME_BYTES + 4, "{}", name.len());
        assert!(name.ends_with(".png"));
    }

    #[test]
    fn numbering_goes_before_the_extension() {
        assert_eq!(numbered("x.png", 0), "x.png");
        assert_eq!(numbered("x.png", 1), "x (1).png");
        assert_eq!(numbered("x.tar.gz", 2), "x.tar (2).gz");
        assert_eq!(numbered("x", 3), "x (3)");
    }

    #[test]
    fn existing_files_are_never_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("x.png"), b"old").expect("write");
        std::fs::write(dir.path().join("x (1).png"), b"old1").expect("write");
        let path = write_new(dir.path(), "x.png", b"new").expect("saved");
        assert_eq!(path, dir.path().join("x (2).png"));
        assert_eq!(
            std::fs::read(dir.path().join("x.png")).expect("read"),
            b"old"
        );
        assert_eq!(
            std::fs::read(dir.path().join("x (1).png")).expect("read"),
            b"old1"
        );
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(
                mode & 0o644,
                0o644,
                "readable like any saved file: {mode:o}"
            );
        }
        let again = write_new(dir.path(), "x.png", b"newer").expect("saved");
        assert_eq!(again, dir.path().join("x (3).png"));
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
    }

    #[test]
    fn a_batch_reports_what_it_saved_and_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let png = Bytes::from_static(b"\x89PNG\r\n\x1a\nrest");
        let items = vec![
            Item {
                name: "../../a.png".into(),
                data: Data::Memory(png.clone()),
            },
            Item {
                name: "a.png".into(),
                data: Data::Memory(png.clone()),
            },
            Item {
                name: "gone.png".into(),
                data: Data::File(dir.path().join("missing-cache-file")),
            },
        ];
        let done = AtomicUsize::new(0);
        let summary = save_into(dir.path(), &items, &done, &AtomicBool::new(false));
        assert_eq!(done.load(Ordering::Relaxed), 3);
        assert_eq!(
            summary.saved,
            [dir.path().join("a.png"), dir.path().join("a (1).png")]
        );
        assert_eq!(summary.renamed, 1);
        assert_eq!(summary.skipped.len(), 1);
        let words = summary.words();
        assert!(words.starts_with("Saved 2 images to "), "{words}");
        assert!(
            words.contains("1 skipped: gone.png (its cached copy"),
            "{words}"
        );
    }
}
