//! The app's own costs around a picture, measured against the physical floor of
//! the same work (`cargo bench -p snapwire --bench client`):
//!
//! - before sending: sniff + strip metadata + SHA-256 + dimensions + preview of a
//!   12-megapixel JPEG and a 4K PNG, against SHA-256 alone of the same bytes;
//! - on receipt: decode + scale to the displayed size, against a plain full decode;
//! - on the UI thread: handing the decoded pixels to egui as a texture.
//!
//! Prepare and decode run on the media worker threads, never on the UI thread; only
//! the texture hand-over runs there. Figures are medians of several runs.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use snapwire::media::{SendOptions, decode_for_display, prepare_with};

const RUNS: usize = 7;
/// The longest side the timeline asks decodes for.
const SHOWN_SIDE: u32 = 720;

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A photo-like picture: smooth gradients plus noise, so it compresses like a photo.
pub fn picture(width: u32, height: u32) -> image::RgbImage {
    let mut seed = 0x9e37_79b9u32;
    image::RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed & 0x1f) as u8;
        image::Rgb([
            ((x * 255 / width) as u8).wrapping_add(noise),
            ((y * 255 / height) as u8).wrapping_add(noise / 2),
            (((x + y) * 127 / (width + height)) as u8).wrapping_add(noise),
        ])
    })
}

pub fn encode(img: &image::RgbImage, format: image::ImageFormat) -> Bytes {
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        image::ImageFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
            img.write_with_encoder(encoder).expect("encode jpeg");
        }
        _ => img.write_to(&mut out, format).expect("encode"),
    }
    Bytes::from(out.into_inner())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One image's figures, in milliseconds (medians of `runs`).
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub prepare: f64,
    pub sha256: f64,
    pub decode_shown: f64,
    pub full_decode: f64,
    pub texture: f64,
}

/// Times every step for one encoded image.
pub fn measure(ctx: &egui::Context, bytes: &Bytes, name: &str, runs: usize) -> Figures {
    let prepare = median(runs, || {
        let prepared = prepare_with(name, bytes.clone(), u64::MAX, SendOptions::default());
        assert!(prepared.is_ok(), "{name} prepares");
    });
    let floor = median(runs, || {
        let digest = Sha256::digest(bytes);
        assert_eq!(digest.len(), 32);
    });
    let decode = median(runs, || {
        let decoded = decode_for_display(bytes, SHOWN_SIDE).expect("decodes");
        assert!(decoded.image.size[0] <= SHOWN_SIDE as usize);
    });
    let full = median(runs, || {
        let img = image::load_from_memory(bytes).expect("decodes");
        assert!(img.width() > 0);
    });
    let decoded = decode_for_display(bytes, SHOWN_SIDE).expect("decodes");
    let texture = median(runs, || {
        let handle = ctx.load_texture("bench", decoded.image.clone(), Default::default());
        assert!(handle.size()[0] > 0);
    });
    Figures {
        prepare: ms(prepare),
        sha256: ms(floor),
        decode_shown: ms(decode),
        full_decode: ms(full),
        texture: ms(texture),
    }
}

#[allow(dead_code)] // also compiled into the smoke test, which has its own entry point
fn main() {
    // `cargo bench` passes `--bench`; nothing else is read.
    let cases = [
        (
            "12 MP JPEG (4000x3000)",
            encode(&picture(4000, 3000), image::ImageFormat::Jpeg),
            "photo.jpg",
        ),
        (
            "4K PNG (3840x2160)",
            encode(&picture(3840, 2160), image::ImageFormat::Png),
            "screen.png",
        ),
    ];
    let ctx = egui::Context::default();
    println!(
        "{:<24} {:>9} | {:>10} {:>10} {:>6} | {:>10} {:>10} {:>6} | {:>9}",
        "image", "size", "prepare", "sha256", "x", "decode", "full dec", "x", "texture"
    );
    for (label, bytes, name) in cases {
        let f = measure(&ctx, &bytes, name, RUNS);
        println!(
            "{label:<24} {:>7.1}MB | {:>8.1}ms {:>8.1}ms {:>6.1} | {:>8.1}ms {:>8.1}ms {:>6.2} | {:>7.2}ms",
            bytes.len() as f64 / 1e6,
            f.prepare,
            f.sha256,
            f.prepare / f.sha256,
            f.decode_shown,
            f.full_decode,
            f.decode_shown / f.full_decode,
            f.texture,
        );
        println!(
            "{{\"image\":\"{label}\",\"bytes\":{},\"prepare_ms\":{:.2},\"sha256_ms\":{:.2},\"decode_shown_ms\":{:.2},\"full_decode_ms\":{:.2},\"texture_ui_ms\":{:.3}}}",
            bytes.len(),
            f.prepare,
            f.sha256,
            f.decode_shown,
            f.full_decode,
            f.texture
        );
    }
}
