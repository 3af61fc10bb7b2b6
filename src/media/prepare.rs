//! Getting an image ready to send, on the media worker: read the file (with a
//! size limit), apply "Smaller" and metadata removal, then check what is left
//! (the real format from the bytes, dimensions), hash it and make the
//! ≤ 32 KiB preview. The hash and preview are of the bytes that are sent.
//! Errors are sentences for the timeline.

use std::path::Path;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{ImageFormat, validate};

use super::codec;
use super::privacy::{self, MetadataOutcome};
use crate::look::human_size;
use crate::state::{ImageMeta, PreparedImage};
use crate::t;

/// Default for the relay's limit until `welcome` tells us its own.
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 50 * 1024 * 1024;

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
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| t!("media-not-an-image", name = name))?;
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
        Some(named) if named != codec::to_image_format(format) => {
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
    let meta = std::fs::metadata(path)
        .map_err(|e| t!("media-cannot-read", name = shown, error = e.to_string()))?;
    if meta.is_dir() {
        return Err(t!("media-folder", name = shown));
    }
    if meta.len() > limit {
        return Err(t!(
            "media-too-large",
            name = shown,
            size = human_size(meta.len()),
            limit = human_size(limit)
        ));
    }
    std::fs::read(path)
        .map(Bytes::from)
        .map_err(|e| t!("media-cannot-read", name = shown, error = e.to_string()))
}

/// Checks bytes and prepares them for sending under `name`.
pub fn prepare_bytes(name: &str, bytes: Bytes, max_bytes: u64) -> Result<PreparedImage, String> {
    if bytes.is_empty() {
        return Err(t!("media-empty", name = name));
    }
    if bytes.len() as u64 > max_bytes {
        return Err(t!(
            "media-too-large",
            name = name,
            size = human_size(bytes.len() as u64),
            limit = human_size(max_bytes)
        ));
    }
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| t!("media-not-an-image", name = name))?;
    let (width, height) = codec::dimensions(&bytes, format)
        .map_err(|e| t!("media-undecodable", name = name, error = e.to_string()))?;
    let preview = codec::make_preview(&bytes);
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

#[cfg(test)]
mod tests {
    use std::io::Cursor;

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
    fn pasted_pixels_round_trip_as_png() {
        let img = egui::ColorImage::new([3, 2], vec![egui::Color32::RED; 6]);
        let png = codec::encode_png(&img).expect("png");
        let p = prepare_bytes("pasted image.png", png, 1 << 20).expect("prepared");
        assert_eq!((p.meta.width, p.meta.height), (Some(3), Some(2)));
    }
}
