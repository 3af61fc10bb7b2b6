//! Test images and the people in the tests' rooms.

use std::io::Cursor;

use bytes::Bytes;
use snapwire::state::{Event, PreparedImage};
use snapwire_relay::protocol::{Limits, User, Welcome};

/// A noisy PNG (so it does not compress away) of about `w * h * 3` bytes.
pub fn noisy_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let b = state.to_le_bytes();
        image::Rgb([b[0], b[1], b[2]])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    out
}

/// A PNG with a pattern that differs per `seed` (every pixel distinct enough to compare).
pub fn pattern_png(w: u32, h: u32, seed: u8) -> Bytes {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            (x % 251) as u8,
            (y % 241) as u8,
            seed.wrapping_mul(37),
            255 - seed,
        ])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    Bytes::from(out)
}

pub fn prepared(name: &str, bytes: Vec<u8>) -> PreparedImage {
    snapwire::media::prepare_bytes(name, Bytes::from(bytes), 1 << 30).expect("prepare")
}

pub fn ben() -> User {
    User {
        id: "bbbbbbbbbbbb".into(),
        name: "Ben".into(),
    }
}

/// The relay's welcome to `me` (user id `id`) in "lobby", with Ben online.
pub fn welcome_as(me: &str, id: &str) -> Event {
    Event::Welcome(Welcome {
        v: 1,
        user: User {
            id: id.into(),
            name: me.into(),
        },
        room: "lobby".into(),
        epoch: "e1".into(),
        peers: vec![ben()],
        history: 0,
        limits: Limits {
            max_image_bytes: 50 << 20,
            max_chunk_bytes: 1 << 20,
            max_text_bytes: 16 << 10,
            max_uploads: 4,
        },
    })
}

/// The welcome to Ana.
pub fn welcome() -> Event {
    welcome_as("Ana", "aaaaaaaaaaaa")
}
