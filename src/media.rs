//! Image work that must never run on the UI thread: reading and checking files
//! to send (real format from the bytes, SHA-256, dimensions, a ≤ 32 KiB
//! preview), and decoding received images into display-sized pixels with
//! [`image::Limits`], so a decompression bomb or a corrupt file becomes an
//! error value instead of a crash or a freeze.
//!
//! [`MediaWorker`] runs two threads fed by a bounded job queue (64 jobs; when
//! it is full the UI asks again next frame) and answers through a bounded
//! result queue the UI drains every frame.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use bytes::Bytes;
use image::{DynamicImage, ImageDecoder, ImageReader};
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{ImageFormat, validate};

use crate::privacy::{self, MetadataOutcome};
use crate::state::{EntryKey, ImageMeta, PreparedImage};

/// Largest width or height we decode; larger images are refused, not decoded.
pub const MAX_DECODE_SIDE: u32 = 16_384;
/// Largest allocation one decode may make.
pub const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Default for the relay's limit until `welcome` tells us its own.
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 50 * 1024 * 1024;

/// The decode limits for anything a peer sent us.
pub fn decode_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

/// Sizes in words, in binary units as file managers show them: "812 KB", "10.5 MB".
pub fn human_size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.0} KB", b / K)
    } else if b < K * K * K {
        format!("{:.1} MB", b / (K * K))
    } else {
        format!("{:.1} GB", b / (K * K * K))
    }
}

/// How one send treats its images (chosen in the send sheet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Remove EXIF/XMP (location, camera) before sending; on by default.
    pub strip_metadata: bool,
    /// Longest side 2048 px, re-encoded; off by default.
    pub smaller: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            strip_metadata: true,
            smaller: false,
        }
    }
}

/// Reads the file, applies `options` (smaller, then metadata removal), and
/// prepares what is left: the hash and preview are of the bytes that are sent.
pub fn prepare_with(
    name: &str,
    bytes: Bytes,
    max_bytes: u64,
    options: SendOptions,
) -> Result<(PreparedImage, MetadataOutcome), String> {
    let format = ImageFormat::sniff(&bytes)
        .ok_or_else(|| format!("{name} is not a PNG, JPEG, GIF, WebP or BMP image"))?;
    let mut bytes = bytes;
    let mut outcome = MetadataOutcome::Kept;
    let mut format = format;
    if options.smaller
        && let Some(small) =
            privacy::make_smaller(&bytes, format).map_err(|e| format!("{name}: {e}"))?
    {
        format = ImageFormat::sniff(&small).unwrap_or(format);
        bytes = small;
        // A fresh encode carries no metadata whatever the setting.
        outcome = MetadataOutcome::Smaller;
    }
    if options.strip_metadata && outcome == MetadataOutcome::Kept {
        let (stripped, removed) =
            privacy::strip_metadata(bytes, format).map_err(|e| format!("{name}: {e}"))?;
        bytes = stripped;
        outcome = if removed {
            MetadataOutcome::Removed
        } else {
            MetadataOutcome::NoneFound
        };
    }
    // "x.png" made smaller is a JPEG now: its name says so.
    let named = std::path::Path::new(name)
        .extension()
        .and_then(image::ImageFormat::from_extension);
    let name = match named {
        Some(named) if named != to_image_format(format) => {
            format!(
                "{}.{}",
                std::path::Path::new(name)
                    .file_stem()
                    .map_or_else(|| "image".into(), |s| s.to_string_lossy()),
                format.extension()
            )
        }
        _ => name.to_owned(),
    };
    prepare_bytes(&name, bytes, max_bytes).map(|p| (p, outcome))
}

/// Reads a file and prepares it with `options`. With "Smaller", a file up to
/// [`SMALLER_READ_LIMIT`] is read, since what is sent is the smaller version.
pub fn prepare_file_with(
    path: &Path,
    max_bytes: u64,
    options: SendOptions,
) -> Result<(PreparedImage, MetadataOutcome), String> {
    let shown = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let limit = if options.smaller {
        max_bytes.max(SMALLER_READ_LIMIT)
    } else {
        max_bytes
    };
    let bytes = read_limited(path, &shown, limit)?;
    prepare_with(&shown, bytes, max_bytes, options)
}

/// The largest file "Smaller" reads (what it sends is much smaller).
pub const SMALLER_READ_LIMIT: u64 = 256 * 1024 * 1024;

fn read_limited(path: &Path, shown: &str, limit: u64) -> Result<Bytes, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: cannot read it ({e})"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a folder, not an image"));
    }
    if meta.len() > limit {
        return Err(format!(
            "{shown} is {}; the relay accepts images up to {}",
            human_size(meta.len()),
            human_size(limit)
        ));
    }
    std::fs::read(path)
        .map(Bytes::from)
        .map_err(|e| format!("{shown}: cannot read it ({e})"))
}

/// Reads a file and prepares it for sending. Errors are sentences for the timeline.
pub fn prepare_file(path: &Path, max_bytes: u64) -> Result<PreparedImage, String> {
    let shown = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: cannot read it ({e})"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a folder, not an image"));
    }
    if meta.len() > max_bytes {
        return Err(format!(
            "{shown} is {}; the relay accepts images up to {}",
            human_size(meta.len()),
            human_size(max_bytes)
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: cannot read it ({e})"))?;
    prepare_bytes(&shown, Bytes::from(bytes), max_bytes)
}

/// Checks bytes and prepares them for sending under `name`.
pub fn prepare_bytes(name: &str, bytes: Bytes, max_bytes: u64) -> Result<PreparedImage, String> {
    if bytes.is_empty() {
        return Err(format!("{name} is empty"));
    }
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "{name} is {}; the relay accepts images up to {}",
            human_size(bytes.len() as u64),
            human_size(max_bytes)
        ));
    }
    let format = ImageFormat::sniff(&bytes)
        .ok_or_else(|| format!("{name} is not a PNG, JPEG, GIF, WebP or BMP image"))?;
    let (width, height) = dimensions(&bytes, format)
        .map_err(|e| format!("{name} could not be read as an image ({e})"))?;
    let preview = make_preview(&bytes, format);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(PreparedImage {
        meta: ImageMeta {
            name: validate::file_display_name(name, format),
            mime: format.mime().to_owned(),
            size: bytes.len() as u64,
            sha256,
            width: Some(width),
            height: Some(height),
        },
        preview,
        bytes,
    })
}

pub fn to_image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
    }
}

/// Width and height from the header only (cheap, bounded).
fn dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), to_image_format(format));
    reader.limits(decode_limits());
    let decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err("it has no pixels".into());
    }
    Ok((w, h))
}

/// Decodes with limits, whatever the bytes claim.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, String> {
    let format = ImageFormat::sniff(bytes).ok_or_else(|| "not a known image format".to_owned())?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), to_image_format(format));
    reader.limits(decode_limits());
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => format!("too large to show safely: {l}"),
        other => other.to_string(),
    })
}

/// A JPEG or PNG of at most 32 KiB and 256 px, or none if the image cannot be decoded.
fn make_preview(bytes: &[u8], _format: ImageFormat) -> Option<Bytes> {
    let img = decode(bytes).ok()?;
    for (side, quality) in [(256u32, 70u8), (192, 60), (128, 50), (64, 40)] {
        let small = img.thumbnail(side, side).to_rgb8();
        let mut out = Vec::new();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
        if small.write_with_encoder(encoder).is_err() {
            return None;
        }
        if validate::preview(&out).is_ok() {
            return Some(Bytes::from(out));
        }
    }
    None
}

/// Pixels ready to upload as one texture.
#[derive(Clone)]
pub struct Decoded {
    pub image: egui::ColorImage,
    /// Size of the full image, for aspect ratio.
    pub full: [u32; 2],
}

/// Decodes and scales so neither side exceeds `max_side` pixels (textures sized to what is shown).
pub fn decode_for_display(bytes: &[u8], max_side: u32) -> Result<Decoded, String> {
    let img = decode(bytes)?;
    let full = [img.width(), img.height()];
    let img = if img.width() > max_side || img.height() > max_side {
        img.thumbnail(max_side, max_side)
    } else {
        img
    };
    let rgba = img.to_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Ok(Decoded {
        image: egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()),
        full,
    })
}

/// Encodes pasted pixels as PNG so they travel like any other image.
pub fn encode_png(image: &egui::ColorImage) -> Result<Bytes, String> {
    let [w, h] = image.size;
    let mut raw = Vec::with_capacity(w * h * 4);
    for px in &image.pixels {
        raw.extend_from_slice(&px.to_srgba_unmultiplied());
    }
    let buf = image::RgbaImage::from_raw(w as u32, h as u32, raw)
        .ok_or_else(|| "the pasted image has an inconsistent size".to_owned())?;
    let mut out = Vec::new();
    buf.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| format!("could not encode the pasted image: {e}"))?;
    Ok(Bytes::from(out))
}

/// Which texture: the full image of an entry, or its preview while it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TexKey {
    Full(EntryKey),
    Preview(EntryKey),
}

/// Where an image's bytes are: in memory, or spilled to the cache directory.
#[derive(Debug, Clone)]
pub enum Data {
    Memory(Bytes),
    File(PathBuf),
}

impl Data {
    fn load(self) -> Result<Bytes, String> {
        match self {
            Data::Memory(bytes) => Ok(bytes),
            Data::File(path) => std::fs::read(&path)
                .map(Bytes::from)
                .map_err(|e| format!("its cached copy is unreadable: {e}")),
        }
    }
}

/// Something to prepare for sending.
pub enum Source {
    File(PathBuf),
    Pasted(Arc<egui::ColorImage>),
    Bytes { name: String, bytes: Bytes },
}

pub enum Job {
    Prepare {
        id: String,
        source: Source,
        max_bytes: u64,
        options: SendOptions,
    },
    Decode {
        key: TexKey,
        data: Data,
        max_side: u32,
    },
    /// Writes a received image to `path` so memory holds only what is on screen.
    Spill {
        key: crate::state::EntryKey,
        bytes: Bytes,
        path: PathBuf,
    },
}

pub enum Done {
    Prepared {
        id: String,
        result: Result<PreparedImage, String>,
        /// What happened to its metadata (when it could be prepared).
        metadata: Option<MetadataOutcome>,
    },
    Decoded {
        key: TexKey,
        result: Result<Decoded, String>,
    },
    Spilled {
        key: crate::state::EntryKey,
        result: Result<PathBuf, String>,
    },
}

/// Two worker threads for image work; dropping it lets them finish and exit.
pub struct MediaWorker {
    jobs: mpsc::SyncSender<Job>,
    done: mpsc::Receiver<Done>,
    /// Decodes no longer wanted (their rows scrolled far away): skipped, not run.
    dropped: Arc<Mutex<HashSet<TexKey>>>,
}

impl MediaWorker {
    pub fn spawn(repaint: crate::net::Repaint) -> Self {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(64);
        let (done_tx, done_rx) = mpsc::sync_channel::<Done>(64);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let dropped: Arc<Mutex<HashSet<TexKey>>> = Arc::default();
        for n in 0..2 {
            let job_rx = Arc::clone(&job_rx);
            let dropped = Arc::clone(&dropped);
            let done_tx = done_tx.clone();
            let repaint = Arc::clone(&repaint);
            let spawned = std::thread::Builder::new()
                .name(format!("snapwire-media-{n}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let Ok(rx) = job_rx.lock() else { return };
                            match rx.recv() {
                                Ok(job) => job,
                                Err(_) => return,
                            }
                        };
                        if let Job::Decode { key, .. } = &job
                            && dropped.lock().is_ok_and(|mut d| d.remove(key))
                        {
                            continue;
                        }
                        if done_tx.send(run_job(job)).is_err() {
                            return;
                        }
                        repaint();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start an image worker");
            }
        }
        Self {
            jobs: job_tx,
            done: done_rx,
            dropped,
        }
    }

    /// A queued decode is no longer needed; the worker skips it.
    pub fn drop_decode(&self, key: TexKey) {
        if let Ok(mut d) = self.dropped.lock() {
            d.insert(key);
        }
    }

    /// A decode is wanted again (after being dropped while still queued).
    pub fn want_decode(&self, key: TexKey) {
        if let Ok(mut d) = self.dropped.lock() {
            d.remove(&key);
        }
    }

    /// Queues a job; gives it back when the queue is full.
    pub fn submit(&self, job: Job) -> Result<(), Job> {
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job) => job,
        })
    }

    pub fn try_recv(&self) -> Option<Done> {
        self.done.try_recv().ok()
    }
}

fn run_job(job: Job) -> Done {
    match job {
        Job::Prepare {
            id,
            source,
            max_bytes,
            options,
        } => {
            let result = match source {
                Source::File(path) => prepare_file_with(&path, max_bytes, options),
                Source::Bytes { name, bytes } => prepare_with(&name, bytes, max_bytes, options),
                Source::Pasted(image) => encode_png(&image)
                    .and_then(|png| prepare_with("pasted image.png", png, max_bytes, options)),
            };
            let (result, metadata) = match result {
                Ok((prepared, outcome)) => (Ok(prepared), Some(outcome)),
                Err(e) => (Err(e), None),
            };
            Done::Prepared {
                id,
                result,
                metadata,
            }
        }
        Job::Decode {
            key,
            data,
            max_side,
        } => Done::Decoded {
            key,
            result: data
                .load()
                .and_then(|bytes| decode_for_display(&bytes, max_side)),
        },
        Job::Spill { key, bytes, path } => Done::Spilled {
            key,
            result: std::fs::write(&path, &bytes)
                .map(|()| path)
                .map_err(|e| e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn prepares_a_png_with_hash_dimensions_and_preview() {
        let bytes = png(640, 480);
        let p = prepare_bytes("dir/cat.png", Bytes::from(bytes.clone()), 1 << 30).expect("ok");
        assert_eq!(p.meta.name, "cat.png");
        assert_eq!(p.meta.mime, "image/png");
        assert_eq!((p.meta.width, p.meta.height), (Some(640), Some(480)));
        assert_eq!(p.meta.sha256, hex::encode(Sha256::digest(&bytes)));
        let preview = p.preview.expect("preview");
        assert!(validate::preview(&preview).is_ok());
    }

    #[test]
    fn refuses_non_images_and_oversize() {
        let err = prepare_bytes("notes.png", Bytes::from_static(b"%PDF-1.7 hello"), 1 << 30)
            .expect_err("pdf");
        assert!(err.contains("not a PNG"), "{err}");
        let err = prepare_bytes("big.png", Bytes::from(png(10, 10)), 10).expect_err("big");
        assert!(err.contains("accepts images up to"), "{err}");
        let err = prepare_bytes("e.png", Bytes::new(), 10).expect_err("empty");
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn a_decompression_bomb_is_an_error() {
        // A PNG header claiming 100000 x 100000 pixels.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = decode_for_display(&bytes, 512).err().expect("bomb refused");
        assert!(!err.is_empty());
    }

    #[test]
    fn corrupt_bytes_are_an_error() {
        let mut bytes = png(64, 64);
        bytes.truncate(60);
        assert!(decode_for_display(&bytes, 512).is_err());
        assert!(decode_for_display(b"GIF89a\x01\0\x01\0garbage", 512).is_err());
    }

    #[test]
    fn display_decode_fits_the_box() {
        let d = decode_for_display(&png(1000, 500), 256).expect("decode");
        assert_eq!(d.full, [1000, 500]);
        assert_eq!(d.image.size, [256, 128]);
    }

    #[test]
    fn pasted_pixels_round_trip_as_png() {
        let img = egui::ColorImage::new([3, 2], vec![egui::Color32::RED; 6]);
        let png = encode_png(&img).expect("png");
        let p = prepare_bytes("pasted image.png", png, 1 << 20).expect("prepared");
        assert_eq!((p.meta.width, p.meta.height), (Some(3), Some(2)));
    }
}
