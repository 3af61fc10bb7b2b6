//! One small run of the client benchmark (`benches/client.rs`), so it cannot rot:
//! tiny images, one run, and checks of what it produced, never of speed.

#[path = "../benches/client.rs"]
mod bench;

#[test]
fn the_client_benchmark_runs_on_small_images() {
    let ctx = egui::Context::default();
    for (bytes, name) in [
        (
            bench::encode(&bench::picture(320, 240), image::ImageFormat::Jpeg),
            "small.jpg",
        ),
        (
            bench::encode(&bench::picture(200, 100), image::ImageFormat::Png),
            "small.png",
        ),
    ] {
        let figures = bench::measure(&ctx, &bytes, name, 1);
        for value in [
            figures.prepare,
            figures.sha256,
            figures.decode_shown,
            figures.full_decode,
            figures.texture,
        ] {
            assert!(value.is_finite() && value >= 0.0, "{name}: {figures:?}");
        }
    }
}
