//! 30 seconds of the soak (`benches/loadgen/soak.rs`): 20 clients sending random
//! texts and images, leaving, rejoining and cutting uploads against the relay binary
//! on a temp data dir; then every client must hold exactly the items it should, and
//! the relay's descriptors must be back where they started once everyone has left.
//! Asserts delivery and leaks, never speed.

#[path = "../benches/loadgen/core.rs"]
mod core;
#[path = "../benches/loadgen/soak.rs"]
mod soak;

mod common;

use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_seconds_of_twenty_clients_deliver_every_item_exactly_once() {
    let data = common::TempDir::new("soak");
    let relay = core::ServerProcess::relay(
        Path::new(env!("CARGO_BIN_EXE_snapwire-relay")),
        &core::RelayStorage::Disk(data.path().join("data")),
        50,
    )
    .expect("relay starts");
    let (_, fds_before) = soak::sample_process(relay.pid());
    let config = soak::SoakConfig {
        clients: 20,
        duration: Duration::from_secs(30),
        sample_every: Duration::from_secs(2),
        max_image: 1_000_000,
        seed: 30,
        print_samples: false,
    };
    let report = tokio::time::timeout(
        Duration::from_secs(150),
        soak::run(relay.addr, relay.pid(), &config),
    )
    .await
    .expect("the soak ends in time");
    eprintln!("{}", soak::summary_json(&report));
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert!(report.texts > 20 && report.images > 10, "traffic flowed");
    assert!(
        report.rejoins >= 20 && report.cut_uploads >= 1,
        "people came and went"
    );
    assert!(
        report.items_checked >= report.room_items,
        "every item was checked"
    );
    // Every client has left: the relay's descriptors return to where they were.
    let deadline = std::time::Instant::now() + common::WAIT;
    let mut fds = soak::sample_process(relay.pid()).1;
    while fds > fds_before + 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fds = soak::sample_process(relay.pid()).1;
    }
    assert!(
        fds <= fds_before + 2,
        "{fds} descriptors open, {fds_before} before"
    );
}
