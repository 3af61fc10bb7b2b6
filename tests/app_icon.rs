//! The icon PNGs in `assets/` are the ones `snapwire::icon` draws, at 256 and
//! 1024 px. `UPDATE_ICONS=1 cargo test --test app_icon` rewrites them.

use std::path::PathBuf;

fn asset(size: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("assets/snapwire-{size}.png"))
}

#[test]
fn icons_match_the_drawing() {
    for size in [256u32, 1024] {
        let drawn = snapwire::icon::render(size);
        if std::env::var_os("UPDATE_ICONS").is_some() {
            let img = image::RgbaImage::from_raw(size, size, drawn.clone()).expect("buffer size");
            img.save_with_format(asset(size), image::ImageFormat::Png)
                .expect("write icon");
        }
        let stored = image::open(asset(size))
            .expect("icon in assets/")
            .to_rgba8();
        assert_eq!(stored.dimensions(), (size, size));
        assert!(
            stored.as_raw() == &drawn,
            "assets/snapwire-{size}.png is stale: run with UPDATE_ICONS=1"
        );
        // Transparent corners, opaque middle: it reads as an app icon on any background.
        assert_eq!(stored.get_pixel(0, 0)[3], 0);
        assert_eq!(stored.get_pixel(size / 2, size / 2)[3], 255);
    }
}
