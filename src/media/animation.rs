//! Animated GIFs: every frame decoded (composited by `image`) and scaled on
//! the media worker, within a memory bound, and the clock that says which
//! frame shows when. A leaf like [`super::codec`].
//!
//! Bounds, per animation: at most [`MAX_FRAMES`] frames (a longer GIF loops
//! on its first ones) and [`MAX_PIXELS`] pixels in all frames together; past
//! that, the frames are halved in size as often as needed, so a large or long
//! GIF plays smaller instead of taking the memory of hundreds of stills.

use std::io::Cursor;
use std::time::Duration;

use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, DynamicImage, RgbaImage};

use super::codec::{DecodeError, decode_limits};

/// Frames kept per animation.
pub const MAX_FRAMES: usize = 300;
/// Pixels kept per animation, all frames together (4 bytes each: 64 MiB).
pub const MAX_PIXELS: u64 = 16 * 1024 * 1024;
/// Browsers show GIF delays under 20 ms as 100 ms; so do we (a 0 would spin).
const MIN_DELAY: Duration = Duration::from_millis(20);
const SLOW_DELAY: Duration = Duration::from_millis(100);

/// One frame ready to upload, and how long it shows.
#[derive(Clone)]
pub struct Frame {
    pub image: egui::ColorImage,
    pub delay: Duration,
}

/// Which frame of `delays` shows `elapsed` after the animation started, and
/// how long until the next one does (looping forever).
pub fn frame_at(delays: &[Duration], elapsed: Duration) -> (usize, Duration) {
    let cycle: Duration = delays.iter().sum();
    if delays.len() < 2 || cycle.is_zero() {
        return (0, Duration::MAX);
    }
    let cycle_ns = cycle.as_nanos().max(1);
    let mut into = Duration::from_nanos((elapsed.as_nanos() % cycle_ns) as u64);
    for (n, delay) in delays.iter().enumerate() {
        if into < *delay {
            return (n, *delay - into);
        }
        into -= *delay;
    }
    (0, delays[0])
}

/// The frames of a GIF scaled to at most `max_side`, when it has more than
/// one; `Ok(None)` for a still GIF. Each frame is the whole canvas.
pub fn gif_frames(bytes: &[u8], max_side: u32) -> Result<Option<Vec<Frame>>, DecodeError> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes))?;
    image::ImageDecoder::set_limits(&mut decoder, decode_limits())?;
    let mut side = max_side.max(1);
    let mut kept: Vec<(RgbaImage, Duration)> = Vec::new();
    let mut pixels: u64 = 0;
    for frame in decoder.into_frames().take(MAX_FRAMES) {
        let frame = frame?;
        let (num, den) = frame.delay().numer_denom_ms();
        let ms = num.checked_div(den).unwrap_or(0);
        let delay = match Duration::from_millis(u64::from(ms)) {
            d if d < MIN_DELAY => SLOW_DELAY,
            d => d,
        };
        let image = fit(frame.into_buffer(), side);
        pixels += u64::from(image.width()) * u64::from(image.height());
        kept.push((image, delay));
        while pixels > MAX_PIXELS && side > 16 {
            side /= 2;
            for (image, _) in &mut kept {
                *image = fit(std::mem::take(image), side);
            }
            pixels = kept
                .iter()
                .map(|(i, _)| u64::from(i.width()) * u64::from(i.height()))
                .sum();
        }
    }
    if kept.len() < 2 {
        return Ok(None);
    }
    Ok(Some(
        kept.into_iter()
            .map(|(image, delay)| {
                let size = [image.width() as usize, image.height() as usize];
                Frame {
                    image: egui::ColorImage::from_rgba_unmultiplied(size, image.as_raw()),
                    delay,
                }
            })
            .collect(),
    ))
}

fn fit(image: RgbaImage, side: u32) -> RgbaImage {
    if image.width() <= side && image.height() <= side {
        return image;
    }
    DynamicImage::ImageRgba8(image)
        .thumbnail(side, side)
        .into_rgba8()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A GIF of `count` frames, each one flat colour, `delay_ms` apart.
    pub(crate) fn gif(w: u32, h: u32, count: u8, delay_ms: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
            encoder
                .set_repeat(image::codecs::gif::Repeat::Infinite)
                .expect("repeat");
            let frames = (0..count).map(|n| {
                let buffer = RgbaImage::from_pixel(
                    w,
                    h,
                    image::Rgba([n.wrapping_mul(30), 255 - n.wrapping_mul(30), 9, 255]),
                );
                image::Frame::from_parts(
                    buffer,
                    0,
                    0,
                    image::Delay::from_numer_denom_ms(delay_ms, 1),
                )
            });
            encoder.encode_frames(frames).expect("encode");
        }
        out
    }

    #[test]
    fn the_clock_picks_frames_and_loops() {
        let d = |ms| Duration::from_millis(ms);
        let delays = [d(100), d(50), d(200)];
        assert_eq!(frame_at(&delays, d(0)), (0, d(100)));
        assert_eq!(frame_at(&delays, d(120)), (1, d(30)));
        assert_eq!(frame_at(&delays, d(150)), (2, d(200)));
        assert_eq!(frame_at(&delays, d(350)), (0, d(100)));
        assert_eq!(frame_at(&delays, d(3500 + 160)), (2, d(190)));
        assert_eq!(frame_at(&[d(100)], d(5)).0, 0);
    }

    #[test]
    fn frames_are_decoded_with_their_delays_and_bounded() {
        let frames = gif_frames(&gif(40, 20, 3, 70), 1000)
            .expect("decodes")
            .expect("animated");
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|f| f.delay == Duration::from_millis(70)));
        assert_eq!(frames[0].image.size, [40, 20]);
        assert_ne!(frames[0].image.pixels[0], frames[1].image.pixels[0]);
        assert!(gif_frames(&gif(40, 20, 1, 70), 1000).expect("ok").is_none());

        // 8 frames of 2048² are 32 Mpx: they are halved until they fit.
        let big = gif_frames(&gif(2048, 2048, 8, 0), 4096)
            .expect("decodes")
            .expect("animated");
        let total: usize = big.iter().map(|f| f.image.size[0] * f.image.size[1]).sum();
        assert!(total as u64 <= MAX_PIXELS, "{total}");
        assert_eq!(big[0].image.size, [1024, 1024]);
        assert!(
            big.iter().all(|f| f.delay == SLOW_DELAY),
            "0 ms plays at 100 ms"
        );
    }
}
