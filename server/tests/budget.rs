//! The relay-wide memory budget holds under every pattern that used to grow memory:
//! a multi-sender burst, receivers that never read, connections parking unfinished
//! fragmented messages, and mass replay. In each, what the relay accounts never
//! exceeds the budget, nothing acked is lost, and every receiver gets every item once.
//! Shared catch-up: receivers replaying the same history cause one read per chunk.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Client, TempDir, fake_png, memory_config, metric, sha256_hex, start_relay};
use snapwire_relay::protocol::RelayHeader;
use snapwire_relay::{Config, Storage};
use tokio::io::AsyncWriteExt;

const MB: usize = 1024 * 1024;
const BUDGET: usize = 8 * MB;

/// A small relay: an 8 MiB budget, 2 MiB queues, a 1 MiB room window.
fn small_budget() -> Config {
    Config {
        max_memory_bytes: BUDGET,
        outbox_bytes: 2 * MB,
        room_window_bytes: MB,
        ..memory_config()
    }
}

/// Sends `count` images of `size` bytes as `who`, then waits for every ack; returns
/// seq → sha256 of what was acked.
async fn send_all(
    mut client: Client,
    prefix: &str,
    count: usize,
    size: usize,
) -> (Client, BTreeMap<u64, String>) {
    let mut ids = BTreeMap::new();
    for i in 0..count {
        let bytes = fake_png(size, (i as u8).wrapping_add(prefix.len() as u8 * 31));
        let id = format!("{prefix}-{i}");
        client.send_image(&id, &bytes, 256 * 1024).await;
        ids.insert(id, sha256_hex(&bytes));
    }
    let mut acked = BTreeMap::new();
    while acked.len() < count {
        if let RelayHeader::Ack { id, seq, .. } = client.recv().await.header {
            let sha = ids.get(&id).expect("an ack for an item sent").clone();
            acked.insert(seq, sha);
        }
    }
    (client, acked)
}

/// Reads until `count` images have completed; every one verified and seen once.
/// Returns seq → sha256 in the order they completed.
async fn receive_all(client: &mut Client, count: usize) -> Vec<(u64, String)> {
    let mut streams: BTreeMap<u64, (String, Vec<u8>)> = BTreeMap::new();
    let mut done = Vec::new();
    let mut seen = BTreeSet::new();
    while done.len() < count {
        let message = client.recv().await;
        match message.header {
            RelayHeader::ImageBegin(begin) => {
                streams.insert(begin.sid, (begin.sha256, Vec::new()));
            }
            RelayHeader::ImageChunk { sid, offset } => {
                let (_, bytes) = streams.get_mut(&sid).expect("a chunk of a begun stream");
                assert_eq!(offset as usize, bytes.len());
                bytes.extend_from_slice(&message.body);
            }
            RelayHeader::ImageEnd { sid, seq, .. } => {
                let (sha, bytes) = streams.remove(&sid).expect("the end of a begun stream");
                assert_eq!(sha256_hex(&bytes), sha, "verified bytes");
                assert!(seen.insert(seq), "seq {seq} delivered twice");
                done.push((seq, sha));
            }
            RelayHeader::ImageCancel { sid, .. } => {
                streams.remove(&sid);
            }
            _ => {}
        }
    }
    done
}

async fn assert_within_budget(addr: std::net::SocketAddr) {
    let peak = metric(addr, "snapwire_memory_peak_bytes").await as usize;
    assert!(
        peak <= BUDGET,
        "accounted {peak} bytes, the budget is {BUDGET}"
    );
    assert_eq!(metric(addr, "snapwire_memory_forced_total").await, 0);
}

/// Waits until the relay accounts at most `bytes` (everything drained).
async fn settles_below(addr: std::net::SocketAddr, bytes: u64) {
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let used = metric(addr, "snapwire_memory_used_bytes").await;
        if used <= bytes {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {used} bytes accounted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_multi_sender_burst_stays_within_the_budget_and_loses_nothing() {
    let relay = start_relay(small_budget()).await;
    let addr = relay.local_addr();
    let mut receivers = Vec::new();
    for who in 0..3 {
        receivers.push(Client::join(addr, &format!("R{who}"), "burst", 100 + who).await);
    }
    let mut senders = Vec::new();
    for who in 0..3 {
        senders.push(Client::join(addr, &format!("S{who}"), "burst", who).await);
    }
    let (count, size) = (8, 700 * 1024);
    let sending: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, s)| tokio::spawn(send_all(s, ["a", "bb", "ccc"][i], count, size)))
        .collect();
    let receiving: Vec<_> = receivers
        .into_iter()
        .map(|mut r| tokio::spawn(async move { receive_all(&mut r, 3 * count).await }))
        .collect();
    let mut acked = BTreeMap::new();
    for task in sending {
        let (_client, got) = task.await.expect("sender");
        acked.extend(got);
    }
    assert_eq!(acked.len(), 3 * count);
    for task in receiving {
        let got = task.await.expect("receiver");
        let got: BTreeMap<u64, String> = got.into_iter().collect();
        assert_eq!(got, acked, "every acked image, once, whole");
    }
    assert_within_budget(addr).await;
    settles_below(addr, 64 * 1024).await;
}

#[tokio::test]
async fn receivers_that_never_read_cannot_fill_the_budget_and_get_everything_later() {
    let relay = start_relay(small_budget()).await;
    let addr = relay.local_addr();
    // Two of eight receivers never read: a quarter of the room, which pacing
    // leaves behind (a room mostly stalled would hold its senders back instead).
    let mut stalled = Vec::new();
    for who in 0..2 {
        stalled.push(Client::join(addr, &format!("N{who}"), "stall", 200 + who).await);
    }
    let mut readers = Vec::new();
    for who in 0..6 {
        readers.push(Client::join(addr, "Reader", "stall", 300 + who).await);
    }
    let sender = Client::join(addr, "Sender", "stall", 1).await;
    let count = 24;
    let sending = tokio::spawn(send_all(sender, "n", count, 512 * 1024));
    let reading: Vec<_> = readers
        .into_iter()
        .map(|mut r| tokio::spawn(async move { receive_all(&mut r, count).await }))
        .collect();
    let (_sender, acked) = sending.await.expect("sender");
    for task in reading {
        let got: BTreeMap<u64, String> = task.await.expect("reader").into_iter().collect();
        assert_eq!(got, acked);
    }
    assert_within_budget(addr).await;
    assert!(metric(addr, "snapwire_lagging_total").await >= 1);
    // Now they read: each gets every item once, in seq order.
    for mut client in stalled {
        let got = receive_all(&mut client, count).await;
        let seqs: Vec<u64> = got.iter().map(|(seq, _)| *seq).collect();
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(seqs, sorted, "seq order");
        assert_eq!(got.into_iter().collect::<BTreeMap<_, _>>(), acked);
    }
    assert_within_budget(addr).await;
}

/// A masked client frame (mask key 0, so the payload goes as is).
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn unfinished_fragmented_messages_wait_for_budget_and_texts_still_flow() {
    let relay = start_relay(small_budget()).await;
    let addr = relay.local_addr();
    // Twelve connections each try to park a 1 MiB message in 64 KiB fragments,
    // never sending its last one: 12 MiB against an 8 MiB budget.
    let mut parked = Vec::new();
    for who in 0..12 {
        let client = Client::join(addr, "Frag", "frag", 400 + who).await;
        let tokio_tungstenite::MaybeTlsStream::Plain(mut tcp) = client.ws.into_inner() else {
            panic!("plain TCP")
        };
        parked.push(tokio::spawn(async move {
            let piece = vec![7u8; 64 * 1024];
            for i in 0..16 {
                let frame = client_frame(false, if i == 0 { 2 } else { 0 }, &piece);
                if tcp.write_all(&frame).await.is_err() {
                    return;
                }
            }
            // Hold the connection open, the message unfinished.
            std::future::pending::<()>().await;
        }));
    }
    // Someone in another room still gets a text round trip.
    let mut ana = Client::join(addr, "Ana", "calm", 1).await;
    let mut ben = Client::join(addr, "Ben", "calm", 2).await;
    ana.joined().await;
    ben.text("t-1", "still here").await;
    ben.expect_ack("t-1").await;
    let text = ana
        .recv_until(|h| matches!(h, RelayHeader::Text { .. }))
        .await;
    assert_eq!(&text.body[..], b"still here");
    // The budget was reached and held.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while metric(addr, "snapwire_memory_budget_reached_total").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the budget was never reached"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_within_budget(addr).await;
    for task in parked {
        task.abort();
    }
    settles_below(addr, 64 * 1024).await;
}

#[tokio::test]
async fn a_mass_replay_stays_within_the_budget_and_everyone_gets_everything() {
    let dir = TempDir::new("mass-replay");
    let config = Config {
        storage: Storage::Disk(dir.path().to_path_buf()),
        ..small_budget()
    };
    let relay = start_relay(config).await;
    let addr = relay.local_addr();
    let sender = Client::join(addr, "Sender", "replay", 1).await;
    let count = 16;
    let (_sender, acked) = send_all(sender, "h", count, 600 * 1024).await;
    // Ten join at once with since 0 (9.4 MiB of history each, 94 MiB in all).
    let mut joining = Vec::new();
    for who in 0..10 {
        joining.push(tokio::spawn(async move {
            let mut client = Client::join_since(addr, "Late", "replay", 500 + who, Some(0)).await;
            if who < 3 {
                // Slow readers: they start late.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            receive_all(&mut client, count).await
        }));
    }
    for task in joining {
        let got = task.await.expect("receiver");
        assert_eq!(got.into_iter().collect::<BTreeMap<_, _>>(), acked);
    }
    assert_within_budget(addr).await;
}

#[tokio::test]
async fn receivers_replaying_the_same_history_share_one_read_per_chunk() {
    let dir = TempDir::new("shared-reads");
    let config = Config {
        storage: Storage::Disk(dir.path().to_path_buf()),
        max_chunk_bytes: 256 * 1024,
        // Long enough that nothing lingers out while the test runs, however loaded.
        catchup_linger: Duration::from_secs(600),
        ..memory_config()
    };
    let relay = start_relay(config).await;
    let addr = relay.local_addr();
    let sender = Client::join(addr, "Sender", "shared", 1).await;
    // 4 images of 3 chunks each.
    let (_sender, acked) = send_all(sender, "s", 4, 600 * 1024).await;
    assert_eq!(metric(addr, "snapwire_retention_reads_total").await, 0);
    for who in 0..5 {
        let mut client = Client::join_since(addr, "Late", "shared", 600 + who, Some(0)).await;
        let got = receive_all(&mut client, 4).await;
        assert_eq!(got.into_iter().collect::<BTreeMap<_, _>>(), acked);
    }
    assert_eq!(
        metric(addr, "snapwire_retention_reads_total").await,
        12,
        "one read per retained chunk, not one per receiver"
    );
}

#[tokio::test]
async fn a_damaged_retained_image_is_cancelled_never_served_as_whole() {
    let dir = TempDir::new("damaged");
    let config = Config {
        storage: Storage::Disk(dir.path().to_path_buf()),
        ..memory_config()
    };
    let relay = start_relay(config).await;
    let addr = relay.local_addr();
    let sender = Client::join(addr, "Sender", "rot", 1).await;
    let (_sender, _acked) = send_all(sender, "d", 1, 300 * 1024).await;
    // Flip one byte of the retained image's body on disk.
    let items = find_dir(dir.path(), "items").expect("an items directory");
    let file = std::fs::read_dir(&items)
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "item"))
        .expect("an item file");
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[1000] ^= 0xff;
    std::fs::write(&file, bytes).expect("write");

    let mut late = Client::join_since(addr, "Late", "rot", 2, Some(0)).await;
    loop {
        match late.recv().await.header {
            RelayHeader::ImageEnd { .. } => panic!("a damaged image was ended as whole"),
            RelayHeader::ImageCancel { reason, .. } => {
                assert_eq!(reason, snapwire_relay::protocol::CancelReason::Storage);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(metric(addr, "snapwire_damaged_items_total").await, 1);
}

fn find_dir(root: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == name) {
                return Some(path);
            }
            if let Some(found) = find_dir(&path, name) {
                return Some(found);
            }
        }
    }
    None
}
