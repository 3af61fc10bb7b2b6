//! Animated GIFs play: in the timeline (the texture cache hands out the
//! frame for the time) and in the viewer (its full-size frames), with
//! frames decoded on the media worker.

mod support;

use std::collections::BTreeSet;

use bytes::Bytes;
use image::RgbaImage;
use snapwire::intent::Intent;
use snapwire::media::TexKey;
use snapwire::textures::Look;
use support::ui::{room_setup, step_until};

/// A GIF of `count` flat-colour frames, `delay_ms` each.
fn gif(w: u32, h: u32, count: u8, delay_ms: u32) -> Bytes {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .expect("repeat");
        let frames = (0..count).map(|n| {
            let buffer = RgbaImage::from_pixel(w, h, image::Rgba([n * 70, 200 - n * 60, 30, 255]));
            image::Frame::from_parts(buffer, 0, 0, image::Delay::from_numer_denom_ms(delay_ms, 1))
        });
        encoder.encode_frames(frames).expect("encode");
    }
    Bytes::from(out)
}

/// The texture ids shown at `times`, in order, without repeats in a row.
fn shown_over(
    times: impl Iterator<Item = f64>,
    mut at: impl FnMut(f64) -> egui::TextureId,
) -> Vec<egui::TextureId> {
    let mut seen: Vec<egui::TextureId> = Vec::new();
    for t in times {
        let id = at(t);
        if seen.last() != Some(&id) {
            seen.push(id);
        }
    }
    seen
}

#[test]
fn a_gif_plays_in_the_timeline_and_in_the_viewer() {
    let mut s = room_setup();
    s.image_from_ben(1, "dance.gif", gif(120, 80, 3, 100));
    step_until(&mut s.harness, "the GIF's first frame", |h| {
        let app = h.state();
        let Some(key) = app.room.model.entries.last().map(|e| e.key) else {
            return false;
        };
        app.textures.uploaded() > 0 && app.room.model.entry(key).is_some()
    });
    let key = s
        .harness
        .state()
        .room
        .model
        .entries
        .last()
        .expect("entry")
        .key;

    // Over two cycles (2 × 300 ms) from a moment well after it started: the
    // three frames in turn, then again.
    let app = s.harness.state_mut();
    let base = 1000.0;
    let shown = shown_over((0..60).map(|k| base + f64::from(k) * 0.01), |t| {
        app.textures.set_time(t);
        match app.textures.look(TexKey::Full(key), 0, None, 0, &app.media) {
            Look::Texture(id, full) => {
                assert_eq!(full, [120, 80]);
                id
            }
            other => panic!("not a texture: {other:?}"),
        }
    });
    let distinct: BTreeSet<_> = shown.iter().collect();
    assert_eq!(distinct.len(), 3, "{shown:?}");
    assert!(shown.len() >= 6, "frames advance and loop: {shown:?}");
    assert_eq!(shown[0], shown[3], "it loops: {shown:?}");
    assert!(
        app.textures
            .take_wake()
            .is_some_and(|d| d <= std::time::Duration::from_millis(100)),
        "a repaint is asked for the next frame"
    );

    s.harness.state_mut().dispatch(Intent::Open(key));
    step_until(&mut s.harness, "the viewer's frames", |h| {
        h.state()
            .viewer
            .as_ref()
            .is_some_and(|v| v.animated.is_some())
    });
    let viewer = s.harness.state().viewer.as_ref().expect("viewer");
    let animated = viewer.animated.as_ref().expect("animated");
    assert_eq!(animated.frames(), 3);
    let shown = shown_over((0..60).map(|k| base + f64::from(k) * 0.01), |t| {
        animated.at(t).0.id()
    });
    assert_eq!(shown.iter().collect::<BTreeSet<_>>().len(), 3, "{shown:?}");
    assert!(shown.len() >= 6);
    // And the real frames go by on screen without failing.
    s.harness.run_steps(5);
}
