//! The viewer, saving and copying, driven through egui_kittest with injected
//! save dialogs and clipboard: open from the timeline, zoom, move with ←/→,
//! close with Esc; save the original bytes without replacing a file; copy the
//! decoded pixels and a message's text.

mod support;

use egui_kittest::kittest::Queryable;
use support::pattern_png as png;
use support::ui::{has_text, labels, room_setup as setup, step_until};

fn viewer_index(h: &support::ui::App) -> Option<String> {
    labels(h, " of ").into_iter().find(|l| {
        let parts: Vec<&str> = l.split(" of ").collect();
        parts.len() == 2 && parts.iter().all(|p| p.trim().parse::<u32>().is_ok())
    })
}

#[test]
fn the_viewer_opens_from_the_timeline_zooms_moves_and_closes() {
    let mut s = setup();
    s.image_from_ben(1, "a.png", png(1200, 900, 1));
    s.image_from_ben(2, "b.png", png(1600, 1000, 2));
    s.text_from_ben(3, "between the pictures");
    s.image_from_ben(4, "c.png", png(400, 300, 3));
    step_until(&mut s.harness, "the newest image in the timeline", |h| {
        has_text(h, "Open c.png") && h.state().viewable_keys().len() == 3
    });

    s.harness.get_by_label("Open c.png").click();
    step_until(&mut s.harness, "the viewer on the last image", |h| {
        viewer_index(h).as_deref() == Some("3 of 3")
    });
    s.harness.key_press(egui::Key::ArrowLeft);
    step_until(
        &mut s.harness,
        "the previous image at full resolution",
        |h| {
            viewer_index(h).as_deref() == Some("2 of 3")
                && h.state().viewer.as_ref().is_some_and(|v| v.full.is_some())
        },
    );
    assert!(has_text(&s.harness, "b.png"));
    let viewer = s.harness.state().viewer.as_ref().expect("open");
    let (texture, original) = viewer.full.as_ref().expect("full");
    assert_eq!(*original, [1600, 1000]);
    assert_eq!(
        texture.size(),
        [1600, 1000],
        "full resolution, not the thumbnail"
    );
    assert!(
        !has_text(&s.harness, "Send images…"),
        "the viewer covers the room"
    );
    s.harness.run_steps(2);
    let fit = labels(&s.harness, "Zoom: ");
    assert!(
        fit.len() == 1 && fit[0].ends_with("% (fit)") && fit[0] != "Zoom: 100% (fit)",
        "{fit:?}"
    );

    s.harness.get_by_label("100%").click();
    s.harness.run_steps(2);
    assert!(has_text(&s.harness, "Zoom: 100%"));
    assert!(!has_text(&s.harness, "(fit)"));
    s.harness.get_by_label("+").click();
    s.harness.run_steps(2);
    assert!(
        has_text(&s.harness, "Zoom: 125%"),
        "{:?}",
        labels(&s.harness, "Zoom")
    );
    s.harness.get_by_label("−").click();
    s.harness.get_by_label("−").click();
    s.harness.run_steps(2);
    assert!(
        has_text(&s.harness, "Zoom: 80%"),
        "{:?}",
        labels(&s.harness, "Zoom")
    );
    s.harness.key_press(egui::Key::Plus);
    s.harness.run_steps(2);
    assert!(
        has_text(&s.harness, "Zoom: 100%"),
        "{:?}",
        labels(&s.harness, "Zoom")
    );
    s.harness.get_by_label("Fit").click();
    s.harness.run_steps(2);
    assert!(has_text(&s.harness, "(fit)"));

    s.harness.key_press(egui::Key::ArrowRight);
    step_until(&mut s.harness, "the next image", |h| {
        viewer_index(h).as_deref() == Some("3 of 3") && has_text(h, "c.png")
    });
    s.harness.key_press(egui::Key::ArrowRight);
    s.harness.run_steps(2);
    assert_eq!(
        viewer_index(&s.harness).as_deref(),
        Some("3 of 3"),
        "→ on the last image stays"
    );
    s.harness.key_press(egui::Key::ArrowLeft);
    s.harness.key_press(egui::Key::ArrowLeft);
    step_until(&mut s.harness, "the first image at full resolution", |h| {
        viewer_index(h).as_deref() == Some("1 of 3")
            && h.state()
                .viewer
                .as_ref()
                .and_then(|v| v.full.as_ref())
                .is_some_and(|(_, o)| *o == [1200, 900])
    });

    s.harness.key_press(egui::Key::Escape);
    step_until(&mut s.harness, "the timeline again", |h| {
        h.state().viewer.is_none() && has_text(h, "Send images…")
    });
}

#[test]
fn save_writes_the_original_under_a_safe_name_and_never_replaces_a_file() {
    let mut s = setup();
    let bytes = png(300, 200, 7);
    s.image_from_ben(1, "../../x.png", bytes.clone());
    step_until(&mut s.harness, "the image", |h| {
        has_text(h, "Open ../../x.png")
    });
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.png"), b"someone else's file").expect("write");
    *s.dialog.folder.lock().expect("lock") = Some(dir.path().to_path_buf());

    s.harness.get_by_label("Open ../../x.png").click();
    step_until(&mut s.harness, "the viewer", |h| has_text(h, "Save…"));
    s.harness.get_by_label("Save…").click();
    step_until(&mut s.harness, "where it was saved", |h| {
        has_text(h, "Saved ")
    });

    assert_eq!(*s.dialog.suggested.lock().expect("lock"), ["x.png"]);
    let saved = dir.path().join("x (1).png");
    assert_eq!(std::fs::read(&saved).expect("saved file"), bytes);
    assert_eq!(
        std::fs::read(dir.path().join("x.png")).expect("old file"),
        b"someone else's file"
    );
    assert!(
        has_text(&s.harness, &saved.display().to_string()),
        "{:?}",
        labels(&s.harness, "Saved")
    );

    // A chosen file name that exists is not replaced either.
    *s.dialog.file.lock().expect("lock") = Some(dir.path().join("x.png"));
    s.harness.get_by_label("Save…").click();
    step_until(&mut s.harness, "the second save", |h| {
        has_text(h, "x (2).png")
    });
    assert_eq!(
        std::fs::read(dir.path().join("x (2).png")).expect("saved"),
        bytes
    );
    assert_eq!(
        std::fs::read(dir.path().join("x.png")).expect("old file"),
        b"someone else's file"
    );

    // No dialog (cancelled): nothing written, and the window says so.
    *s.dialog.file.lock().expect("lock") = None;
    *s.dialog.folder.lock().expect("lock") = None;
    s.harness.get_by_label("Save…").click();
    step_until(&mut s.harness, "not saved", |h| has_text(h, "Not saved"));
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 3);
}

#[test]
fn copy_image_puts_the_decoded_pixels_on_the_clipboard_and_copy_text_the_text() {
    let mut s = setup();
    let bytes = png(64, 48, 9);
    s.image_from_ben(1, "pixels.png", bytes.clone());
    s.text_from_ben(2, "copy me, please");
    step_until(&mut s.harness, "image and text", |h| {
        has_text(h, "Open pixels.png") && has_text(h, "copy me, please")
    });

    // From the timeline: right-click the image, "Copy image".
    s.harness.get_by_label("Open pixels.png").click_secondary();
    s.harness.run_steps(2);
    s.harness.get_by_label("Copy image").click();
    step_until(&mut s.harness, "copied", |h| {
        has_text(h, "Copied pixels.png")
    });
    let expected = image::load_from_memory(&bytes).expect("decode").to_rgba8();
    {
        let images = s.clipboard.images.lock().expect("lock");
        assert_eq!(images.len(), 1);
        assert_eq!((images[0].width, images[0].height), (64, 48));
        assert_eq!(images[0].rgba, expected.as_raw().as_slice());
    }

    // Right-click the message, "Copy text".
    s.harness.get_by_label("copy me, please").click_secondary();
    s.harness.run_steps(2);
    s.harness.get_by_label("Copy text").click();
    step_until(&mut s.harness, "text copied", |h| {
        has_text(h, "Copied the text")
    });
    assert_eq!(
        *s.clipboard.texts.lock().expect("lock"),
        ["copy me, please"]
    );

    // And from the viewer's button.
    s.harness.get_by_label("Open pixels.png").click();
    step_until(&mut s.harness, "the viewer", |h| has_text(h, "Copy image"));
    s.harness.get_by_label("Copy image").click();
    step_until(&mut s.harness, "a second copy", |h| {
        h.state().keep.copy.is_none() && s.clipboard.images.lock().expect("lock").len() == 2
    });
}

#[test]
fn an_image_moved_to_the_disk_cache_saves_with_its_real_extension() {
    let mut s = setup();
    s.harness.state_mut().room.spill.budget = 1;
    let bytes = png(120, 90, 11);
    s.image_from_ben(1, "screenshot", bytes.clone());
    step_until(&mut s.harness, "the image spilled to disk", |h| {
        h.state()
            .room
            .model
            .entries
            .iter()
            .filter_map(|e| e.image())
            .any(|i| i.bytes.is_none() && i.spilled.is_some())
            && has_text(h, "Open screenshot")
    });
    let dir = tempfile::tempdir().expect("tempdir");
    *s.dialog.folder.lock().expect("lock") = Some(dir.path().to_path_buf());
    s.harness.get_by_label("Open screenshot").click();
    step_until(&mut s.harness, "the viewer", |h| has_text(h, "Save…"));
    s.harness.run_steps(2);
    s.harness.get_by_label("Save…").click();
    step_until(&mut s.harness, "saved", |h| has_text(h, "Saved "));
    assert_eq!(
        *s.dialog.suggested.lock().expect("lock"),
        ["screenshot.png"]
    );
    assert_eq!(
        std::fs::read(dir.path().join("screenshot.png")).expect("saved"),
        bytes
    );
}
