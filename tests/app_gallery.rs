//! The gallery through egui_kittest: a grid of the room's images, selection
//! by checkbox and Ctrl+click, "Save selected" / "Save all" into a folder
//! from the injected dialog (safe names, nothing replaced, a summary), a
//! click opens the viewer, and a room of 2,000 images lays out only a screenful.

mod support;

use egui_kittest::kittest::Queryable;
use support::pattern_png as png;
use support::ui::{has_text, labels, room_setup as setup, step_until};

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn gallery_selection_saves_exactly_those_files_and_says_so() {
    let mut s = setup();
    let images: Vec<(&str, bytes::Bytes)> = vec![
        ("a.png", png(120, 80, 1)),
        ("../../b.png", png(90, 120, 2)),
        ("c.png", png(100, 100, 3)),
        ("d.png", png(60, 40, 4)),
    ];
    for (i, (name, bytes)) in images.iter().enumerate() {
        s.image_from_ben(i as u64 + 1, name, bytes.clone());
    }
    s.text_from_ben(10, "not an image");
    step_until(&mut s.harness, "the gallery tab with four images", |h| {
        has_text(h, "Gallery (4)")
    });
    s.harness.get_by_label("Gallery (4)").click();
    step_until(&mut s.harness, "the grid with thumbnails", |h| {
        has_text(h, "4 images") && h.state().textures.uploaded() >= 4
    });
    assert!(
        !has_text(&s.harness, "not an image"),
        "texts stay in the timeline"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("c.png"), b"already here").expect("write");
    *s.dialog.folder.lock().expect("lock") = Some(dir.path().to_path_buf());

    s.harness.get_by_label("Select ../../b.png").click();
    s.harness.run_steps(1);
    s.harness
        .get_by_label("c.png")
        .click_modifiers(egui::Modifiers::COMMAND);
    s.harness.run_steps(2);
    assert_eq!(s.harness.state().gallery.selected.len(), 2);
    assert!(
        s.harness.state().viewer.is_none(),
        "Ctrl+click selects, it does not open"
    );
    s.harness.get_by_label("Save selected (2)…").click();
    step_until(&mut s.harness, "the summary", |h| {
        has_text(h, "Saved 2 images to")
    });
    assert_eq!(files(dir.path()), ["b.png", "c (1).png", "c.png"]);
    assert_eq!(
        std::fs::read(dir.path().join("b.png")).expect("b"),
        images[1].1
    );
    assert_eq!(
        std::fs::read(dir.path().join("c (1).png")).expect("c1"),
        images[2].1
    );
    assert_eq!(
        std::fs::read(dir.path().join("c.png")).expect("c"),
        b"already here"
    );
    assert!(
        has_text(&s.harness, &dir.path().display().to_string()),
        "{:?}",
        labels(&s.harness, "Saved")
    );

    // Save all into another folder.
    let all = tempfile::tempdir().expect("tempdir");
    *s.dialog.folder.lock().expect("lock") = Some(all.path().to_path_buf());
    s.harness.get_by_label("Save all…").click();
    step_until(&mut s.harness, "the second summary", |h| {
        has_text(h, "Saved 4 images to")
    });
    assert_eq!(files(all.path()), ["a.png", "b.png", "c.png", "d.png"]);

    // Select all / none.
    s.harness.get_by_label("Select all").click();
    s.harness.run_steps(1);
    assert_eq!(s.harness.state().gallery.selected.len(), 4);
    s.harness.get_by_label("Select none").click();
    s.harness.run_steps(1);
    assert!(s.harness.state().gallery.selected.is_empty());

    // A plain click opens the viewer; Esc comes back to the gallery.
    s.harness.get_by_label("d.png").click();
    step_until(&mut s.harness, "the viewer", |h| has_text(h, "4 of 4"));
    s.harness.key_press(egui::Key::Escape);
    step_until(&mut s.harness, "the gallery again", |h| {
        has_text(h, "4 images")
    });
}

#[test]
fn a_room_of_two_thousand_images_lays_out_only_what_is_visible() {
    let mut s = setup();
    let bytes = png(32, 24, 5);
    for seq in 1..=2000u64 {
        s.image_from_ben(seq, &format!("p{seq}.png"), bytes.clone());
    }
    step_until(&mut s.harness, "all images in", |h| {
        h.state().viewable_keys().len() == 2000
    });
    s.harness.get_by_label("Gallery (2000)").click();
    step_until(&mut s.harness, "the first cells", |h| {
        has_text(h, "2000 images")
    });
    s.harness.run_steps(3);
    let drawn = s.harness.state().gallery.cells_drawn;
    assert!(drawn > 0 && drawn <= 60, "{drawn} cells laid out");
    assert!(s.harness.state().textures.uploaded() <= 150);
}
