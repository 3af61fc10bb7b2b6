//! "Open with Snapwire": files given at start wait on the send sheet and go
//! after one click (or at once with --yes), through the same path as any
//! send: metadata removed, hashed, previewed; the sent item says so. Also the
//! "Smaller" choice, and the unseen-images count in the window title.

mod support;

use std::io::Cursor;
use std::path::PathBuf;

use bytes::Bytes;
use egui_kittest::kittest::Queryable;
use img_parts::ImageEXIF;
use img_parts::jpeg::Jpeg;
use snapwire::net::Command;
use snapwire::state::{Event, ImageMeta, PreparedImage};
use snapwire_relay::protocol::ImageFormat;
use support::ui::{
    connected_launch, emit, has_text, next_command, set_focus, setup, step_until, welcome,
};

/// A JPEG carrying an EXIF block with a GPS pointer (enough to be "location data").
fn jpeg_with_exif(dir: &std::path::Path, name: &str) -> PathBuf {
    let img = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 99]));
    let mut plain = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90);
    img.write_with_encoder(encoder).expect("encode");
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain)).expect("parse");
    let mut exif = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    exif.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    exif.extend_from_slice(&[0, 0]);
    jpeg.set_exif(Some(Bytes::from(exif)));
    let path = dir.join(name);
    std::fs::write(&path, jpeg.encoder().bytes()).expect("write");
    path
}

fn sent_image(s: &mut support::ui::Setup, what: &str) -> PreparedImage {
    let net = std::sync::Arc::clone(&s.net);
    let mut sent = None;
    step_until(&mut s.harness, what, |_| {
        if let Some(Command::SendImage { image, .. }) = next_command(&net) {
            sent = Some(image);
        }
        sent.is_some()
    });
    sent.expect("sent")
}

#[test]
fn files_given_at_start_wait_for_one_click_then_go_without_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = jpeg_with_exif(dir.path(), "beach.jpg");
    let original = std::fs::read(&file).expect("read");
    let mut s = setup(connected_launch(), |app| app.open_files(vec![file], false));
    emit(&s.net, welcome());
    step_until(&mut s.harness, "the send sheet with the file's size", |h| {
        has_text(h, "Send 1 image") && has_text(h, "beach.jpg") && has_text(h, "40 × 30")
    });
    assert!(has_text(&s.harness, "Original ("));
    assert!(
        has_text(&s.harness, "Smaller: already small enough"),
        "a small JPEG is not offered smaller"
    );
    assert!(
        next_command(&s.net).is_none(),
        "nothing sent before the click"
    );

    s.harness.get_by_label("Send to the room").click();
    let image = sent_image(&mut s, "the image handed to the connection");
    assert_eq!(image.meta.name, "beach.jpg");
    assert!(!snapwire::privacy::has_exif(
        &image.bytes,
        ImageFormat::Jpeg
    ));
    assert!(image.bytes.len() < original.len());
    step_until(&mut s.harness, "the note on the sent item", |h| {
        has_text(h, "metadata removed")
    });
    assert!(s.harness.state().sheet.is_none());
}

#[test]
fn yes_sends_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = jpeg_with_exif(dir.path(), "now.jpg");
    let mut s = setup(connected_launch(), |app| app.open_files(vec![file], true));
    emit(&s.net, welcome());
    let image = sent_image(&mut s, "the image sent without asking");
    assert_eq!(image.meta.name, "now.jpg");
    assert!(!snapwire::privacy::has_exif(
        &image.bytes,
        ImageFormat::Jpeg
    ));
    assert!(s.harness.state().sheet.is_none(), "no sheet with --yes");
}

#[test]
fn smaller_on_the_sheet_sends_at_most_2048_px_and_escape_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("wide.png");
    let img = image::RgbImage::from_fn(2600, 300, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 239) as u8])
    });
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    std::fs::write(&big, &png).expect("write");

    let mut s = setup(connected_launch(), |app| {
        app.open_files(vec![big.clone()], false)
    });
    emit(&s.net, welcome());
    step_until(&mut s.harness, "the sheet", |h| has_text(h, "2600 × 300"));
    s.harness.key_press(egui::Key::Escape);
    step_until(&mut s.harness, "the sheet closed", |h| {
        h.state().sheet.is_none()
    });
    assert!(next_command(&s.net).is_none());

    s.harness.state_mut().open_sheet(vec![big]);
    step_until(&mut s.harness, "the sheet again", |h| {
        has_text(h, "2600 × 300")
    });
    s.harness.get_by_label_contains("Smaller (≈").click();
    // A half-typed message under the sheet stays: Enter belongs to the sheet.
    s.harness.state_mut().composer.text = "half-typed".into();
    s.harness
        .ctx
        .memory_mut(|m| m.request_focus(egui::Id::unique(snapwire::ui::composer::TEXT_BOX_ID)));
    s.harness.run_steps(1);
    s.harness.key_press(egui::Key::Enter);
    let net = std::sync::Arc::clone(&s.net);
    let mut sent = None;
    step_until(&mut s.harness, "the smaller image", |_| {
        match next_command(&net) {
            Some(Command::SendImage { image, .. }) => sent = Some(image),
            Some(Command::SendText { text, .. }) => panic!("the composer sent {text:?}"),
            _ => {}
        }
        sent.is_some()
    });
    let image = sent.expect("sent");
    assert_eq!(s.harness.state().composer.text, "half-typed");
    assert_eq!(
        (image.meta.width, image.meta.height),
        (Some(2048), Some(236))
    );
    assert_eq!(image.meta.name, "wide.jpg");
    step_until(&mut s.harness, "the note on the smaller item", |h| {
        has_text(h, "made smaller, metadata removed")
    });
    assert!((image.bytes.len()) < png.len());
}

#[test]
fn images_arriving_while_away_count_in_the_title() {
    let mut s = setup(connected_launch(), |_| {});
    emit(&s.net, welcome());
    step_until(&mut s.harness, "connected", |h| {
        has_text(h, "Connected to lobby")
    });
    set_focus(&mut s.harness, false);
    s.harness.run_steps(2);
    let png = {
        let mut out = Vec::new();
        image::RgbImage::new(4, 4)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("png");
        Bytes::from(out)
    };
    for sid in 1..=3u64 {
        emit(
            &s.net,
            Event::ImageBegin {
                sid,
                ts: 1_764_100_000_000,
                from: support::ben(),
                meta: ImageMeta {
                    name: format!("b{sid}.png"),
                    mime: "image/png".into(),
                    size: png.len() as u64,
                    sha256: String::new(),
                    width: Some(4),
                    height: Some(4),
                },
                preview: None,
                history: false,
            },
        );
        emit(
            &s.net,
            Event::ImageComplete {
                sid,
                seq: sid,
                ts: 1_764_100_000_000,
                bytes: png.clone(),
                verified: true,
            },
        );
    }
    step_until(&mut s.harness, "the count in the title", |h| {
        h.state().window_title() == "(3) Snapwire — lobby"
    });
    set_focus(&mut s.harness, true);
    step_until(&mut s.harness, "the count reset on focus", |h| {
        h.state().window_title() == "Snapwire — lobby"
    });
}

#[test]
fn coming_back_to_the_window_shows_the_first_picture_that_arrived_meanwhile() {
    let mut s = setup(connected_launch(), |_| {});
    emit(&s.net, welcome());
    step_until(&mut s.harness, "connected", |h| {
        has_text(h, "Connected to lobby")
    });
    let png = {
        let mut out = Vec::new();
        image::RgbImage::new(400, 300)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("png");
        Bytes::from(out)
    };
    let picture = |sid: u64| {
        [
            Event::ImageBegin {
                sid,
                ts: 1_764_100_000_000,
                from: support::ben(),
                meta: ImageMeta {
                    name: format!("pic-{sid}.png"),
                    mime: "image/png".into(),
                    size: png.len() as u64,
                    sha256: String::new(),
                    width: Some(400),
                    height: Some(300),
                },
                preview: None,
                history: false,
            },
            Event::ImageComplete {
                sid,
                seq: sid,
                ts: 1_764_100_000_000,
                bytes: png.clone(),
                verified: true,
            },
        ]
    };
    // Two seen while here, then eight while away: far more than one screen.
    for sid in 1..=2u64 {
        picture(sid).into_iter().for_each(|e| emit(&s.net, e));
    }
    step_until(&mut s.harness, "the first two", |h| {
        has_text(h, "pic-2.png")
    });
    set_focus(&mut s.harness, false);
    s.harness.run_steps(2);
    for sid in 3..=10u64 {
        picture(sid).into_iter().for_each(|e| emit(&s.net, e));
    }
    step_until(&mut s.harness, "the count in the title", |h| {
        h.state().window_title() == "(8) Snapwire — lobby"
    });
    // Still following the end while away: the first unseen one is off screen.
    step_until(&mut s.harness, "the newest in view", |h| {
        has_text(h, "pic-10.png")
    });
    assert!(!has_text(&s.harness, "pic-3.png"));
    set_focus(&mut s.harness, true);
    step_until(&mut s.harness, "the first unseen picture in view", |h| {
        has_text(h, "pic-3.png")
    });
    assert!(
        !has_text(&s.harness, "pic-10.png"),
        "not at the end any more"
    );
}
