//! Measurements for the closing note, not pass/fail tests (they assert only
//! that the work happened): run with
//! `cargo test --release --test app_perf -- --ignored --nocapture`.
//!
//! - send → shown: from the sender's "send" (read, hash, preview) to the image
//!   decoded for display on the other client, through a real relay on loopback;
//! - UI time per frame (our `logic` + `ui`) while scrolling 2,000 images;
//! - client memory (RSS) with 2,000 images in the timeline.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use egui_kittest::Harness;
use snapwire::cli::Launch;
use snapwire::net::Command;
use snapwire::settings::{Paths, Target};
use snapwire::state::{Event, ImageMeta};
use snapwire::{AppOptions, SnapwireApp};
use snapwire_relay::protocol::{Limits, User, Welcome};
use support::net::*;
use support::noisy_png as png;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn jpeg(w: u32, h: u32, seed: u32, quality: u8) -> Vec<u8> {
    let png = png(w, h, seed);
    let img = image::load_from_memory(&png).expect("decode").to_rgb8();
    // Smooth the noise a little so the JPEG looks like a photo's size, not noise's.
    let img = image::imageops::blur(&img, 1.5);
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.write_with_encoder(enc).expect("jpeg");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn send_to_shown_latency() {
    let relay = memory_relay().await;
    let addr = relay.local_addr();
    let (mut ana, mut ana_log) = (connect(addr, "Ana", 1), Vec::new());
    welcomed(&mut ana, &mut ana_log).await;
    let (mut ben, mut ben_log) = (connect(addr, "Ben", 2), Vec::new());
    welcomed(&mut ben, &mut ben_log).await;

    let small = jpeg(560, 420, 1, 92);
    let big = png(1830, 1830, 2);
    println!(
        "images: {} bytes (JPEG), {} bytes (PNG)",
        small.len(),
        big.len()
    );
    for (label, bytes) in [("~100 KB", small), ("~10 MB", big)] {
        let mut times = Vec::new();
        for round in 0..5 {
            let id = format!("{label}-{round}");
            let t0 = Instant::now();
            let image = snapwire::media::prepare_bytes("x", Bytes::from(bytes.clone()), 1 << 30)
                .expect("prepare");
            let prepared_at = t0.elapsed();
            ana.send(Command::SendImage { id, image }).expect("send");
            let got = wait_for(&mut ben, &mut ben_log, "image", |e| match e {
                Event::ImageComplete {
                    bytes,
                    verified: true,
                    ..
                } => Some(bytes.clone()),
                _ => None,
            })
            .await;
            let received_at = t0.elapsed();
            let decoded = snapwire::media::decode_for_display(&got, 720).expect("decode");
            let shown = t0.elapsed();
            assert!(decoded.image.size[0] > 0);
            times.push(shown.as_secs_f64() * 1000.0);
            println!(
                "{label} round {round}: prepared {:.1} ms, received+verified {:.1} ms, decoded for display {:.1} ms",
                prepared_at.as_secs_f64() * 1000.0,
                received_at.as_secs_f64() * 1000.0,
                shown.as_secs_f64() * 1000.0
            );
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{label}: send → shown median {:.1} ms (min {:.1}, max {:.1})",
            times[2], times[0], times[4]
        );
    }
    relay.shutdown().await.expect("shutdown");
}

#[test]
#[ignore = "measurement; run with --ignored --nocapture"]
fn scrolling_2000_images() {
    let count: usize = std::env::var("SNAPWIRE_PERF_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("tempdir");
    let net: support::ui::Slot = Arc::new(Mutex::new(None));
    let connector = support::ui::fake_connector(Arc::clone(&net), Arc::default());
    let app = SnapwireApp::new(AppOptions {
        paths: Paths::in_dir(dir.path()),
        launch: Launch::Connect(Target {
            url: "ws://127.0.0.1:9/ws".into(),
            name: "Ana".into(),
            room: "lobby".into(),
            token: None,
        }),
        picker: Arc::new(support::ui::FakePicker(None)),
        connector,
    });
    let rss_start = rss_mib();
    let frame_ms: Rc<RefCell<Vec<f64>>> = Rc::new(RefCell::new(Vec::new()));
    let recorder = Rc::clone(&frame_ms);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_ui_state(
            move |ui, app: &mut SnapwireApp| {
                let t = Instant::now();
                app.logic(&ui.ctx().clone());
                app.ui(ui);
                recorder
                    .borrow_mut()
                    .push(t.elapsed().as_secs_f64() * 1000.0);
            },
            app,
        );
    let events = net
        .lock()
        .expect("lock")
        .as_ref()
        .expect("connected")
        .events
        .clone();
    let ben = User {
        id: "bbbbbbbbbbbb".into(),
        name: "Ben".into(),
    };
    events
        .try_send(Event::Welcome(Welcome {
            v: 1,
            user: User {
                id: "aaaaaaaaaaaa".into(),
                name: "Ana".into(),
            },
            room: "lobby".into(),
            epoch: "e".into(),
            peers: vec![ben.clone()],
            history: count as u64,
            limits: Limits {
                max_image_bytes: 50 << 20,
                max_chunk_bytes: 1 << 20,
                max_text_bytes: 16384,
                max_uploads: 4,
            },
        }))
        .expect("send");
    // 2,000 distinct photos of about 100 KB, as a room's history would bring them.
    let base: Vec<Vec<u8>> = (0..8).map(|i| jpeg(1024, 768, i + 10, 80)).collect();
    let mut total_bytes = 0usize;
    for n in 0..count {
        // Distinct bytes per image (memory counts each), same decodable content.
        let bytes = Bytes::from(base[n % base.len()].clone());
        total_bytes += bytes.len();
        let meta = ImageMeta {
            name: format!("photo-{n}.jpg"),
            mime: "image/jpeg".into(),
            size: bytes.len() as u64,
            sha256: String::new(),
            width: Some(1024),
            height: Some(768),
        };
        let sid = n as u64;
        let from = if n % 3 == 0 {
            User {
                id: "aaaaaaaaaaaa".into(),
                name: "Ana".into(),
            }
        } else {
            ben.clone()
        };
        for event in [
            Event::ImageBegin {
                sid,
                ts: 1_764_100_000_000 + n as u64,
                from,
                meta,
                preview: None,
                history: true,
            },
            Event::ImageComplete {
                sid,
                seq: n as u64 + 1,
                ts: 1_764_100_000_000 + n as u64,
                bytes,
                verified: true,
            },
        ] {
            let deadline = Instant::now() + Duration::from_secs(60);
            while events.try_send(event.clone()).is_err() {
                harness.step();
                assert!(Instant::now() < deadline, "the app stopped draining events");
            }
        }
        // Images arrive one after another over the network, not all at once:
        // the app gets a frame between them.
        harness.step();
    }
    // Settle at the bottom: everything drained, visible images decoded.
    let deadline = Instant::now() + Duration::from_secs(120);
    let budget = snapwire::app::MEMORY_BUDGET + (4 << 20);
    while harness.state().room.model.entries.len() < count
        || harness.state().textures.uploaded() < 2
        || harness.state().room.model.bytes_in_memory() > budget
    {
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
        assert!(Instant::now() < deadline, "never settled");
    }
    for _ in 0..50 {
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    let rss_loaded = rss_mib();
    let spilled = harness
        .state()
        .room
        .model
        .entries
        .iter()
        .filter(|e| e.image().is_some_and(|i| i.spilled.is_some()))
        .count();
    let in_memory = harness.state().room.model.bytes_in_memory();
    frame_ms.borrow_mut().clear();

    // Scroll from the bottom to the top with the mouse wheel, 600 px a frame.
    harness.hover_at(egui::pos2(450.0, 350.0));
    let mut max_textures = 0;
    let mut max_texture_bytes = 0;
    let mut rows_drawn = 0;
    let mut frames = 0;
    let scroll_deadline = Instant::now() + Duration::from_secs(600);
    loop {
        harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 600.0),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Wheel,
        });
        harness.step();
        frames += 1;
        // Real frames come at most 60 a second; decoding happens meanwhile.
        std::thread::sleep(Duration::from_millis(16));
        let app = harness.state();
        max_textures = max_textures.max(app.textures.uploaded());
        max_texture_bytes = max_texture_bytes.max(app.textures.uploaded_bytes());
        rows_drawn = rows_drawn.max(app.timeline.rows_drawn);
        if app.timeline.first_visible == 0 || Instant::now() > scroll_deadline {
            break;
        }
    }
    let mut times = frame_ms.borrow().clone();
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "{count} images, {:.0} MiB of image bytes in the timeline",
        total_bytes as f64 / 1048576.0
    );
    println!(
        "scrolling: {frames} frames; logic+ui per frame: mean {mean:.2} ms, p50 {:.2}, p95 {:.2}, p99 {:.2}, max {:.2}",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        percentile(&times, 1.0)
    );
    println!(
        "rows laid out per frame at most: {rows_drawn}; textures alive at most: {max_textures} ({:.1} MiB of pixels)",
        max_texture_bytes as f64 / 1048576.0
    );
    println!(
        "after loading: {:.0} MiB of image bytes in memory, {spilled} images spilled to the cache directory",
        in_memory as f64 / 1048576.0
    );
    println!(
        "RSS: {rss_start:.0} MiB at start, {rss_loaded:.0} MiB with {count} images loaded, {:.0} MiB after scrolling through all",
        rss_mib()
    );
    assert!(frames > 10 && rows_drawn < count);
}
