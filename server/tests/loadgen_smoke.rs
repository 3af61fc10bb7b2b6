//! One small run of the `loadgen` bench, so it cannot rot: the relay binary in its own
//! process and the raw-TCP baseline on a thread, 2 receivers, 3 images of 100 KB.
//! Asserts counts and verified bytes, never speed.

#[path = "../benches/loadgen/core.rs"]
mod core;

use std::path::Path;
use std::time::Duration;

use crate::core::{Load, RelayStorage, ServerProcess};

fn small_load() -> Load {
    Load {
        receivers: 2,
        stalled: 0,
        slow: 0,
        slow_rate: 0.0,
        senders: 1,
        images: 3,
        size: 100_000,
        window: 1,
        time_limit: Duration::from_secs(8),
    }
}

fn assert_complete(outcome: &core::Outcome, load: &Load) {
    assert!(outcome.errors.is_empty(), "errors: {:?}", outcome.errors);
    assert_eq!(outcome.images_done, load.images);
    assert_eq!(outcome.latencies.len(), load.images);
    assert_eq!(
        outcome.bytes_delivered,
        (load.images * load.size * load.receivers) as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_relay_run_delivers_every_verified_byte() {
    let load = small_load();
    let relay = ServerProcess::relay(
        Path::new(env!("CARGO_BIN_EXE_snapwire-relay")),
        &RelayStorage::Memory,
        50,
    )
    .expect("relay starts");
    let outcome = core::run_relay_load(relay.addr, "smoke", &load).await;
    assert_complete(&outcome, &load);
    let stats = relay.stats();
    assert!(stats.peak_rss_kb > 0, "VmHWM read from /proc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_baseline_run_delivers_every_verified_byte() {
    let mut load = small_load();
    load.senders = 2; // blobs of two senders interleave at the receivers
    let addr = core::spawn_tcp_fanout_thread();
    let outcome = core::run_tcp_load(addr, &load).await;
    assert_complete(&outcome, &load);
}

#[test]
fn parses_the_relays_listening_line() {
    let line = "snapwire-relay 0.1.0: listening on ws://127.0.0.1:4321/ws (history in memory only)";
    assert_eq!(
        core::parse_listening(line),
        Some("127.0.0.1:4321".parse().expect("address"))
    );
    assert_eq!(
        core::parse_listening("baseline listening on 127.0.0.1:99"),
        Some("127.0.0.1:99".parse().expect("address"))
    );
}
#[test]
fn a_receiver_accepts_only_the_bytes_that_were_sent() {
    let sent = core::Sent::new(core::image_bytes(3000, 3000));
    let image = sent.of(1).0.clone();
    assert!(sent.matches(1, 0, &image[..1000]));
    assert!(sent.matches(1, 2000, &image[2000..]));
    let mut flipped = image[1000..2000].to_vec();
    flipped[500] ^= 1;
    assert!(!sent.matches(1, 1000, &flipped));
    // Right bytes at the wrong place, past the end, or at an absurd offset.
    assert!(!sent.matches(1, 8, &image[..1000]));
    assert!(!sent.matches(1, 2500, &image[2000..]));
    assert!(!sent.matches(1, u64::MAX, &image[..1]));
    // The warm-up has bytes of its own.
    assert!(!sent.matches(0, 0, &image[..1000]));
    assert!(sent.matches(0, 0, &sent.of(0).0.clone()));
    assert_ne!(sent.of(0).1, sent.of(1).1);
}
