//! What leaves this computer with a picture: metadata and size.
//!
//! [`strip_metadata`] removes EXIF (camera, time, GPS location), XMP, IPTC,
//! comments and text chunks from JPEG, PNG and WebP files by dropping their
//! container segments: the compressed pixels are copied byte for byte, never
//! re-encoded. The EXIF orientation is the one tag put back (in a tiny EXIF
//! of its own), so a phone photo taken sideways still shows upright. GIF and
//! BMP have no EXIF block in practice (GIF comment extensions can carry text,
//! but cameras and phones never write GIF), so they go as they are.
//!
//! [`make_smaller`] is the per-send "Smaller" choice: longest side 2048 px,
//! JPEG at quality 85 (PNG when the image has transparency); [`estimate`]
//! guesses its size from the header alone so the send sheet can show it at once.

use std::io::Cursor;
use std::path::Path;

use bytes::Bytes;
use image::ImageDecoder;
use image::metadata::Orientation;
use img_parts::ImageEXIF;
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;
use img_parts::webp::WebP;
use snapwire_relay::protocol::ImageFormat;

use super::codec;
use crate::t;

/// Longest side of a "Smaller" image.
pub const SMALLER_SIDE: u32 = 2048;
/// JPEG quality of a "Smaller" image.
pub const SMALLER_QUALITY: u8 = 85;
/// Bytes per pixel of a quality-85 JPEG photo, for the estimate (≈ 2.4 bits per pixel).
const JPEG_BYTES_PER_PIXEL: f64 = 0.3;

/// What happened to a sent image's metadata, shown on the sent item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataOutcome {
    /// Something was there (EXIF, XMP, …) and was taken out.
    Removed,
    /// Stripping was on, and the file carried nothing to remove.
    NoneFound,
    /// The person chose to send originals.
    Kept,
    /// Re-encoded by "Smaller": a fresh file that carries no metadata at all.
    Smaller,
}

impl MetadataOutcome {
    pub fn words(self) -> String {
        match self {
            MetadataOutcome::Removed => t!("metadata-removed"),
            MetadataOutcome::NoneFound => t!("metadata-none"),
            MetadataOutcome::Kept => t!("metadata-kept"),
            MetadataOutcome::Smaller => t!("metadata-smaller"),
        }
    }
}

/// `bytes` without metadata, and whether anything was removed. A file the
/// container parser cannot read is an error: sending it unstripped would
/// break the promise.
pub fn strip_metadata(bytes: Bytes, format: ImageFormat) -> Result<(Bytes, bool), String> {
    match format {
        ImageFormat::Jpeg => strip_jpeg(bytes),
        ImageFormat::Png => strip_png(bytes),
        ImageFormat::Webp => strip_webp(bytes),
        // No EXIF block in these formats as written by cameras and phones.
        ImageFormat::Gif | ImageFormat::Bmp => Ok((bytes, false)),
    }
}

fn unreadable(e: img_parts::Error) -> String {
    t!("metadata-unreadable", error = e.to_string())
}

/// A minimal big-endian EXIF holding only the orientation tag.
fn orientation_exif(orientation: Orientation) -> Option<Bytes> {
    let value = orientation.to_exif();
    if value == Orientation::NoTransforms.to_exif() {
        return None;
    }
    let mut exif = Vec::with_capacity(26);
    exif.extend_from_slice(b"MM\0\x2a");
    exif.extend_from_slice(&8u32.to_be_bytes()); // first IFD right after the header
    exif.extend_from_slice(&1u16.to_be_bytes()); // one entry
    exif.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    exif.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    exif.extend_from_slice(&1u32.to_be_bytes()); // one value
    exif.extend_from_slice(&u16::from(value).to_be_bytes());
    exif.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    exif.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    Some(Bytes::from(exif))
}

fn kept_orientation(exif: Option<&Bytes>) -> Option<Bytes> {
    exif.and_then(|e| Orientation::from_exif_chunk(e))
        .and_then(orientation_exif)
}

fn strip_jpeg(bytes: Bytes) -> Result<(Bytes, bool), String> {
    let mut jpeg = Jpeg::from_bytes(bytes).map_err(unreadable)?;
    let exif = jpeg.exif();
    let before = jpeg.segments().len();
    // APP1 is EXIF or XMP (and extended XMP); APP13 is Photoshop/IPTC; COM is a comment.
    // EXIF itself goes through `set_exif`, which keeps MPF offsets right.
    jpeg.segments_mut().retain(|s| {
        let m = s.marker();
        let is_exif = m == markers::APP1 && s.contents().starts_with(b"Exif\0\0");
        is_exif || !(m == markers::APP1 || m == markers::APP13 || m == markers::COM)
    });
    let removed = exif.is_some() || jpeg.segments().len() != before;
    if !removed {
        return Ok((jpeg.encoder().bytes(), false));
    }
    jpeg.set_exif(kept_orientation(exif.as_ref()));
    Ok((jpeg.encoder().bytes(), true))
}

fn strip_png(bytes: Bytes) -> Result<(Bytes, bool), String> {
    const DROP: [[u8; 4]; 5] = [*b"eXIf", *b"tEXt", *b"zTXt", *b"iTXt", *b"tIME"];
    let mut png = Png::from_bytes(bytes).map_err(unreadable)?;
    let exif = png.exif();
    let before = png.chunks().len();
    png.chunks_mut().retain(|c| !DROP.contains(&c.kind()));
    let removed = png.chunks().len() != before;
    if removed {
        png.set_exif(kept_orientation(exif.as_ref()));
    }
    Ok((png.encoder().bytes(), removed))
}

fn strip_webp(bytes: Bytes) -> Result<(Bytes, bool), String> {
    let mut webp = WebP::from_bytes(bytes).map_err(unreadable)?;
    let exif = webp.exif();
    let had_xmp = webp.has_chunk(img_parts::webp::CHUNK_XMP);
    let removed = exif.is_some() || had_xmp;
    if removed {
        webp.remove_chunks_by_id(img_parts::webp::CHUNK_XMP);
        // `set_exif` also rewrites the VP8X flags to match what is left.
        webp.set_exif(kept_orientation(exif.as_ref()));
    }
    Ok((webp.encoder().bytes(), removed))
}

/// True when the file holds an EXIF block (used by tests and the send sheet).
pub fn has_exif(bytes: &[u8], format: ImageFormat) -> bool {
    let bytes = Bytes::copy_from_slice(bytes);
    match format {
        ImageFormat::Jpeg => Jpeg::from_bytes(bytes)
            .ok()
            .and_then(|j| j.exif())
            .is_some(),
        ImageFormat::Png => Png::from_bytes(bytes).ok().and_then(|p| p.exif()).is_some(),
        ImageFormat::Webp => WebP::from_bytes(bytes)
            .ok()
            .and_then(|w| w.exif())
            .is_some(),
        ImageFormat::Gif | ImageFormat::Bmp => false,
    }
}

/// Whether "Smaller" would re-encode this image, or send it as it is
/// (already small JPEGs, and GIFs, which would lose their animation).
fn smaller_keeps_original(format: ImageFormat, width: u32, height: u32) -> bool {
    format == ImageFormat::Gif || (format == ImageFormat::Jpeg && width.max(height) <= SMALLER_SIDE)
}

fn fitted(width: u32, height: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= SMALLER_SIDE {
        return (width, height);
    }
    let scale = f64::from(SMALLER_SIDE) / f64::from(long);
    (
        ((f64::from(width) * scale).round() as u32).max(1),
        ((f64::from(height) * scale).round() as u32).max(1),
    )
}

/// A guess at the "Smaller" size from the header alone; never more than `size`.
pub fn estimate(size: u64, format: ImageFormat, width: u32, height: u32, alpha: bool) -> u64 {
    if smaller_keeps_original(format, width, height) {
        return size;
    }
    let (w, h) = fitted(width, height);
    let guess = if alpha {
        // Re-encoded as PNG: about the original's bytes per pixel.
        let ratio = (f64::from(w) * f64::from(h)) / (f64::from(width) * f64::from(height));
        size as f64 * ratio
    } else {
        f64::from(w) * f64::from(h) * JPEG_BYTES_PER_PIXEL
    };
    (guess as u64).clamp(1, size.max(1))
}

/// What the send sheet shows about a file before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub size: u64,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// The estimated size of the "Smaller" version.
    pub smaller: u64,
}

/// Reads a file's header (not its pixels): size, format, dimensions, the "Smaller" estimate.
pub fn inspect(path: &Path) -> Result<Inspected, String> {
    use std::io::Read;
    let size = std::fs::metadata(path)
        .map_err(|e| t!("inspect-cannot-read", error = e.to_string()))?
        .len();
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| t!("inspect-cannot-read", error = e.to_string()))?;
    let format = ImageFormat::sniff(&head).ok_or_else(|| t!("inspect-not-an-image"))?;
    let file =
        std::fs::File::open(path).map_err(|e| t!("inspect-cannot-read", error = e.to_string()))?;
    let mut reader = image::ImageReader::with_format(
        std::io::BufReader::new(file),
        codec::to_image_format(format),
    );
    reader.limits(codec::decode_limits());
    let decoder = reader
        .into_decoder()
        .map_err(|e| t!("inspect-undecodable", error = e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let alpha = decoder.color_type().has_alpha();
    Ok(Inspected {
        size,
        format,
        width,
        height,
        smaller: estimate(size, format, width, height, alpha),
    })
}

/// The "Smaller" version: `None` when the original is as good (already small,
/// a GIF, or re-encoding would not save anything). Orientation is applied to
/// the pixels, and the new file carries no metadata at all.
pub fn make_smaller(bytes: &[u8], format: ImageFormat) -> Result<Option<Bytes>, String> {
    let mut decoder = codec::reader(bytes, format)
        .into_decoder()
        .map_err(|e| e.to_string())?;
    let (width, height) = decoder.dimensions();
    if smaller_keeps_original(format, width, height) {
        return Ok(None);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    let (w, h) = fitted(img.width(), img.height());
    if (w, h) != (img.width(), img.height()) {
        img = img.resize_exact(w, h, image::imageops::FilterType::Lanczos3);
    }
    let mut out = Vec::new();
    if img.color().has_alpha() {
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
    } else {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, SMALLER_QUALITY);
        img.to_rgb8()
            .write_with_encoder(encoder)
            .map_err(|e| e.to_string())?;
    }
    if out.len() >= bytes.len() {
        return Ok(None);
    }
    Ok(Some(Bytes::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_exif_reads_back() {
        let exif = orientation_exif(Orientation::Rotate90).expect("exif");
        assert_eq!(
            Orientation::from_exif_chunk(&exif),
            Some(Orientation::Rotate90)
        );
        assert_eq!(orientation_exif(Orientation::NoTransforms), None);
    }

    #[test]
    fn estimates_never_exceed_the_original() {
        assert_eq!(estimate(1000, ImageFormat::Gif, 4000, 3000, false), 1000);
        assert_eq!(
            estimate(900_000, ImageFormat::Jpeg, 1024, 768, false),
            900_000
        );
        let big = estimate(8_000_000, ImageFormat::Jpeg, 4000, 3000, false);
        assert!(big < 8_000_000 && big > 500_000, "{big}");
        assert_eq!(estimate(10, ImageFormat::Png, 4000, 3000, false), 10);
    }

    #[test]
    fn fitting_keeps_the_aspect() {
        assert_eq!(fitted(4000, 3000), (2048, 1536));
        assert_eq!(fitted(100, 50), (100, 50));
        assert_eq!(fitted(3000, 4000), (1536, 2048));
    }
}
