//! Every decode and encode of image bytes in the app, with [`image::Limits`]
//! so a decompression bomb or a corrupt file becomes an error value instead of
//! a crash or a freeze. A leaf: pure functions on bytes, no threads, nothing
//! of the rest of the app. The media worker calls these off the UI thread.

use std::io::Cursor;
use std::path::PathBuf;

use bytes::Bytes;
use image::{DynamicImage, ImageDecoder, ImageReader};
use snapwire_relay::protocol::{ImageFormat, validate};

/// Largest width or height we decode; larger images are refused, not decoded.
pub const MAX_DECODE_SIDE: u32 = 16_384;
/// Largest allocation one decode may make.
pub const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;

/// Why bytes could not become pixels. Shown inline as "could not show this image (…)".
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{}", crate::t!("decode-unknown-format"))]
    UnknownFormat,
    #[error("{}", crate::t!("decode-too-large", why = .0))]
    TooLarge(String),
    #[error("{0}")]
    Corrupt(String),
    #[error("{}", crate::t!("decode-unreadable", error = .0.to_string()))]
    Unreadable(#[source] std::io::Error),
}

impl From<image::ImageError> for DecodeError {
    fn from(e: image::ImageError) -> Self {
        match e {
            image::ImageError::Limits(l) => DecodeError::TooLarge(l.to_string()),
            other => DecodeError::Corrupt(other.to_string()),
        }
    }
}

/// Where an image's bytes are: in memory, or spilled to the cache directory.
#[derive(Debug, Clone)]
pub enum Data {
    Memory(Bytes),
    File(PathBuf),
}

impl Data {
    /// The bytes, read from the cache file when they left memory (blocking: not on the UI thread).
    pub fn load(&self) -> Result<Bytes, DecodeError> {
        match self {
            Data::Memory(bytes) => Ok(bytes.clone()),
            Data::File(path) => std::fs::read(path)
                .map(Bytes::from)
                .map_err(DecodeError::Unreadable),
        }
    }
}

/// The decode limits for anything a peer sent us.
pub fn decode_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
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

/// A decoder for `bytes` of `format`, with the limits set (nothing decoded yet).
pub fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), to_image_format(format));
    reader.limits(decode_limits());
    reader
}

/// Width and height from the header only (cheap, bounded).
pub fn dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), DecodeError> {
    let decoder = reader(bytes, format).into_decoder()?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(DecodeError::Corrupt(crate::t!("decode-no-pixels")));
    }
    Ok((w, h))
}

/// Decodes with limits, whatever the bytes claim.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, DecodeError> {
    let format = ImageFormat::sniff(bytes).ok_or(DecodeError::UnknownFormat)?;
    Ok(reader(bytes, format).decode()?)
}

/// Pixels ready to upload as one texture.
#[derive(Clone)]
pub struct Decoded {
    pub image: egui::ColorImage,
    /// Size of the full image, for aspect ratio and the viewer's zoom.
    pub full: [u32; 2],
    /// Every frame of an animated GIF (the first is `image` again); empty for a still.
    pub frames: Vec<super::animation::Frame>,
}

/// Decodes and scales so neither side exceeds `max_side` pixels: the
/// timeline's and gallery's textures are the size they are shown at, the
/// viewer's is the full image unless it exceeds the GPU's largest texture.
pub fn decode_for_display(bytes: &[u8], max_side: u32) -> Result<Decoded, DecodeError> {
    let img = decode(bytes)?;
    let full = [img.width(), img.height()];
    if ImageFormat::sniff(bytes) == Some(ImageFormat::Gif)
        && let Some(frames) = super::animation::gif_frames(bytes, max_side)?
        && let Some(first) = frames.first()
    {
        return Ok(Decoded {
            image: first.image.clone(),
            full,
            frames,
        });
    }
    let img = if img.width() > max_side || img.height() > max_side {
        img.thumbnail(max_side, max_side)
    } else {
        img
    };
    let size = [img.width() as usize, img.height() as usize];
    let image = match img {
        DynamicImage::ImageRgb8(rgb) => egui::ColorImage::from_rgb(size, rgb.as_raw()),
        DynamicImage::ImageRgba8(rgba) => {
            egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw())
        }
        other => egui::ColorImage::from_rgba_unmultiplied(size, other.to_rgba8().as_raw()),
    };
    Ok(Decoded {
        image,
        full,
        frames: Vec::new(),
    })
}

/// The full image as RGBA rows, 8 bits per channel, unpremultiplied (the clipboard's form).
pub fn rgba_pixels(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), DecodeError> {
    let image = decode(bytes)?.into_rgba8();
    Ok((
        image.width() as usize,
        image.height() as usize,
        image.into_raw(),
    ))
}

/// Encodes pasted pixels as PNG so they travel like any other image.
pub fn encode_png(image: &egui::ColorImage) -> Result<Bytes, String> {
    let [w, h] = image.size;
    let mut raw = Vec::with_capacity(w * h * 4);
    for px in &image.pixels {
        raw.extend_from_slice(&px.to_srgba_unmultiplied());
    }
    let buf = image::RgbaImage::from_raw(w as u32, h as u32, raw)
        .ok_or_else(|| crate::t!("paste-inconsistent"))?;
    let mut out = Vec::new();
    buf.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| crate::t!("paste-cannot-encode", error = e.to_string()))?;
    Ok(Bytes::from(out))
}

/// A JPEG of at most 32 KiB and 256 px, or none if the image cannot be decoded.
pub fn make_preview(bytes: &[u8]) -> Option<Bytes> {
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
    fn a_decompression_bomb_is_an_error() {
        // A PNG header claiming 100000 x 100000 pixels.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = decode_for_display(&bytes, 512).err().expect("bomb refused");
        assert!(!err.to_string().is_empty());
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
    fn a_missing_cache_file_says_so() {
        let err = Data::File("/nonexistent/snapwire-cache.img".into())
            .load()
            .expect_err("missing");
        assert!(
            err.to_string().starts_with("its cached copy is unreadable"),
            "{err}"
        );
    }
}
