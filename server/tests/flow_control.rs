//! Every receiver at its own pace: a stalled or slow reader never slows the others,
//! relay memory stays bounded, and a lagging receiver still gets every item once.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Client, fake_png, memory_config, metric, sha256_hex, start_relay};
use snapwire_relay::protocol::{CancelReason, ErrorCode, RelayHeader};
use snapwire_relay::{Config, Retention};

const IMAGE: usize = 256 * 1024;

fn small_queues() -> Config {
    Config {
        outbox_bytes: 1024 * 1024,
        ..memory_config()
    }
}

/// Reads everything until `count` images have completed, checking each once.
/// Returns seq → sha256 of the completed images, in the order they completed.
async fn read_images(
    client: &mut Client,
    count: usize,
) -> (Vec<u64>, BTreeMap<u64, String>, usize) {
    let mut streams: BTreeMap<u64, (String, Vec<u8>)> = BTreeMap::new();
    let mut order = Vec::new();
    let mut done = BTreeMap::new();
    let mut lagging_cancels = 0;
    while done.len() < count {
        let message = client.recv().await;
        match message.header {
            RelayHeader::ImageBegin(begin) => {
                streams.insert(begin.sid, (begin.sha256, Vec::new()));
            }
            RelayHeader::ImageChunk { sid, offset } => {
                let (_, bytes) = streams.get_mut(&sid).expect("chunk of a begun stream");
                assert_eq!(offset as usize, bytes.len());
                bytes.extend_from_slice(&message.body);
            }
            RelayHeader::ImageEnd { sid, seq, .. } => {
                let (sha, bytes) = streams.remove(&sid).expect("end of a begun stream");
                assert_eq!(sha256_hex(&bytes), sha, "verified bytes");
                assert!(done.insert(seq, sha).is_none(), "seq {seq} delivered twice");
                order.push(seq);
            }
            RelayHeader::ImageCancel { sid, reason } => {
                assert_eq!(reason, CancelReason::Lagging);
                streams.remove(&sid);
                lagging_cancels += 1;
            }
            _ => {}
        }
    }
    (order, done, lagging_cancels)
}

#[tokio::test]
async fn a_stalled_reader_neither_slows_others_nor_grows_memory_and_later_gets_everything_once() {
    let relay = start_relay(small_queues()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    let mut stalled = Client::join(addr, "Stall", "lobby", 3).await;
    ana.joined().await;
    ana.joined().await;
    ben.joined().await;

    // 96 images of 256 KiB = 24 MiB: far more than the stalled reader's queue
    // (1 MiB) plus what loopback socket buffers hold.
    let count = 96;
    let sender = tokio::spawn(async move {
        let mut sent = Vec::new();
        for i in 0..count {
            let bytes = fake_png(IMAGE, i as u8);
            ana.send_image(&format!("img-{i}"), &bytes, 64 * 1024).await;
            sent.push(sha256_hex(&bytes));
        }
        let mut acked = Vec::new();
        while acked.len() < count {
            if let RelayHeader::Ack { seq, .. } = ana.recv().await.header {
                acked.push(seq);
            }
        }
        (ana, sent, acked)
    });
    // Ben keeps reading and gets every image (live, or from retention if the test
    // runtime let it fall behind its small queue for a moment).
    let (ben_order, ben_done, _) = read_images(&mut ben, count).await;
    let (_ana, sent, acked) = sender.await.expect("sender");
    assert_eq!(ben_order, acked, "completion order is seq order");
    assert_eq!(
        ben_done
            .values()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        sent.iter().cloned().collect()
    );

    // The stalled reader's queue stayed within its bound (plus control slack).
    assert!(
        metric(addr, "snapwire_lagging_total").await >= 1,
        "the stalled reader went lagging"
    );
    let queued = metric(addr, "snapwire_queued_bytes").await;
    assert!(
        queued <= (1 + 1) * 1024 * 1024 + 64 * 1024,
        "queued {queued} bytes"
    );

    // Now it reads: every item arrives once, in seq order, verified.
    let (order, done, _) = read_images(&mut stalled, count).await;
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted, "seq order");
    assert_eq!(done.len(), count);
    stalled.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_reader_that_reads_nothing_while_data_waits_is_closed_as_slow_consumer() {
    let config = Config {
        stalled_timeout: Duration::from_millis(800),
        ..small_queues()
    };
    let relay = start_relay(config).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let stalled = Client::join(addr, "Stall", "lobby", 3).await;
    ana.joined().await;
    for i in 0..64 {
        ana.send_image(&format!("s-{i}"), &fake_png(IMAGE, i), 128 * 1024)
            .await;
    }
    for _ in 0..64 {
        ana.recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
            .await;
    }
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while metric(addr, "snapwire_slow_consumer_disconnects_total").await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "closed in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its socket is closed: reading drains what the kernel held, then ends.
    let _ = common::raw_close_code(stalled).await;
    assert_eq!(metric(addr, "snapwire_connections").await, 1);
}

#[tokio::test]
async fn a_receiver_behind_retention_is_closed_as_slow_consumer_and_resumes_with_since() {
    let config = Config {
        retention: Retention {
            max_items: 4,
            max_bytes: 1 << 30,
        },
        replay_latest: 50,
        ..small_queues()
    };
    let relay = start_relay(config).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut slow = Client::join(addr, "Slow", "lobby", 3).await;
    ana.joined().await;
    let count = 48;
    for i in 0..count {
        ana.send_image(&format!("p-{i}"), &fake_png(IMAGE, i), 128 * 1024)
            .await;
    }
    let mut last = 0;
    for _ in 0..count {
        if let RelayHeader::Ack { seq, .. } = ana
            .recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
            .await
            .header
        {
            last = seq;
        }
    }
    // Reading now, it finds that items it never got were pruned.
    let mut seen = 0u64;
    loop {
        let message = slow.recv().await;
        match message.header {
            RelayHeader::ImageEnd { seq, .. } => seen = seen.max(seq),
            RelayHeader::Error { code, .. } => {
                assert_eq!(code, ErrorCode::SlowConsumer);
                break;
            }
            _ => {}
        }
    }
    slow.expect_close(1008).await;
    assert!(seen < last);
    // On reconnect, `since` gets what retention still holds: the latest 4.
    let mut again = Client::join_since(addr, "Slow", "lobby", 3, Some(seen)).await;
    assert_eq!(again.welcome.as_ref().expect("welcome").history, 4);
    for _ in 0..4 {
        again.recv_image().await;
    }
}

/// Pacing (PROTOCOL.md, "Flow control"): queues of 8 MiB, a 1 MiB room window.
fn paced() -> Config {
    Config {
        outbox_bytes: 8 * 1024 * 1024,
        room_window_bytes: 1024 * 1024,
        ..memory_config()
    }
}

/// Sends `count` images of `size` as `client` while reading everything it is sent
/// (a sender is a receiver of the others' images too); returns the acked seqs.
async fn burst(client: Client, prefix: String, count: usize, size: usize) -> Vec<u64> {
    use futures_util::{SinkExt, StreamExt};
    use snapwire_relay::protocol::{ClientHeader, ClientMessage, parse_relay};
    use tokio_tungstenite::tungstenite::Message;

    let (mut sink, mut stream) = client.ws.split();
    let (acks, all_acked) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut acked = Vec::new();
        while acked.len() < count {
            let next = tokio::time::timeout(common::WAIT, stream.next())
                .await
                .expect("a message in time")
                .expect("open")
                .expect("read");
            if let Message::Binary(bytes) = next
                && let RelayHeader::Ack { seq, .. } = parse_relay(bytes).expect("valid").header
            {
                acked.push(seq);
            }
        }
        let _ = acks.send(acked);
        // Keep reading what the other senders send until the relay goes away: a
        // sender that stopped reading would be a receiver left behind.
        while let Some(Ok(_)) = stream.next().await {}
    });
    for i in 0..count {
        let bytes = fake_png(
            size,
            (i as u8).wrapping_mul(7).wrapping_add(prefix.len() as u8),
        );
        let id = format!("{prefix}-{i}");
        let mut messages = vec![ClientMessage::new(
            ClientHeader::ImageBegin(common::begin_for(&id, &bytes)),
            bytes::Bytes::new(),
        )];
        for (n, part) in bytes.chunks(256 * 1024).enumerate() {
            let header = ClientHeader::ImageChunk {
                id: id.clone(),
                offset: (n * 256 * 1024) as u64,
            };
            messages.push(ClientMessage::new(
                header,
                bytes::Bytes::copy_from_slice(part),
            ));
        }
        messages.push(ClientMessage::new(
            ClientHeader::ImageEnd { id },
            bytes::Bytes::new(),
        ));
        for message in messages {
            tokio::time::timeout(common::WAIT, sink.send(Message::Binary(message.encode())))
                .await
                .expect("send in time")
                .expect("send");
        }
    }
    tokio::time::timeout(common::WAIT, all_acked)
        .await
        .expect("acks in time")
        .expect("reader")
}

/// Runs a burst: every sender sends `count` images of `size` (ids tagged with
/// `tag`) while every reader reads; waits for all acks and all readers, and checks
/// that each reader saw no lagging cancel and got every image live, once, in seq
/// order. Returns the acked seqs, sorted.
async fn burst_to_readers(
    readers: Vec<Client>,
    senders: Vec<Client>,
    tag: &str,
    count: usize,
    size: usize,
) -> Vec<u64> {
    let images = senders.len() * count;
    let sending: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, s)| tokio::spawn(burst(s, tag.repeat(i + 1), count, size)))
        .collect();
    let reading: Vec<_> = readers
        .into_iter()
        .map(|mut r| tokio::spawn(async move { read_images(&mut r, images).await }))
        .collect();
    let mut acked = Vec::new();
    for task in sending {
        acked.extend(task.await.expect("sender"));
    }
    acked.sort_unstable();
    for task in reading {
        let (order, _, lagging_cancels) = task.await.expect("reader");
        assert_eq!(lagging_cancels, 0, "a reader was never lagging");
        assert_eq!(order, acked, "every image live, once, in seq order");
    }
    acked
}

#[tokio::test]
async fn a_multi_sender_burst_to_a_room_that_reads_lags_nobody() {
    // Queues far longer than the window: a reader lags only if it is 15 MiB behind
    // the fastest, which readers that all keep reading never are, even on a
    // loaded test machine.
    let relay = start_relay(Config {
        outbox_bytes: 16 * 1024 * 1024,
        ..paced()
    })
    .await;
    let addr = relay.local_addr();
    let mut readers = Vec::new();
    for who in 0..4 {
        readers.push(Client::join(addr, "Reader", "busy", 10 + who).await);
    }
    let mut senders = Vec::new();
    for who in 0..4 {
        senders.push(Client::join(addr, "Sender", "busy", 20 + who).await);
    }
    let (count, size) = (10, 1_000_000);
    burst_to_readers(readers, senders, "x", count, size).await;
    assert_eq!(metric(addr, "snapwire_lagging_total").await, 0);
}

#[tokio::test]
async fn with_one_stalled_receiver_only_it_lags_and_the_others_finish() {
    let relay = start_relay(paced()).await;
    let addr = relay.local_addr();
    let mut readers = Vec::new();
    for who in 0..3 {
        readers.push(Client::join(addr, "Reader", "busy", 10 + who).await);
    }
    let mut stalled = Client::join(addr, "Stall", "busy", 30).await;
    let mut senders = Vec::new();
    for who in 0..3 {
        senders.push(Client::join(addr, "Sender", "busy", 20 + who).await);
    }
    // 36 MB: more than the stalled one's queue and socket buffers can hold.
    let (count, size) = (12, 1_000_000);
    let acked = burst_to_readers(readers, senders, "y", count, size).await;
    // Only the stalled one lagged (every reader saw 0 lagging cancels above). It may
    // lag more than once: after its first lag the feeder fills the socket buffers
    // the kernel still gives it (several MB on loopback), it can catch up with the
    // room, go live, and lag again on the next burst; each time it loses nothing.
    let lagged = metric(addr, "snapwire_lagging_total").await;
    assert!(lagged >= 1, "the stalled receiver lagged ({lagged})");
    // It reads now, and has every image once, in seq order.
    let (order, done, _) = read_images(&mut stalled, 3 * count).await;
    assert_eq!(order, acked);
    assert_eq!(done.len(), 3 * count);
}

#[tokio::test]
async fn a_receiver_that_stalls_for_a_moment_is_waited_for_and_never_lags() {
    // A generous allowance, so a loaded test machine cannot use it up: what is
    // tested is that the room waits for a receiver that holds it, then goes on.
    let relay = start_relay(Config {
        hold_allowance: Duration::from_secs(10),
        ..paced()
    })
    .await;
    let addr = relay.local_addr();
    let mut readers = Vec::new();
    for who in 0..3 {
        readers.push(Client::join(addr, "Reader", "busy", 10 + who).await);
    }
    let mut pausing = Client::join(addr, "Pause", "busy", 30).await;
    let mut senders = Vec::new();
    for who in 0..3 {
        senders.push(Client::join(addr, "Sender", "busy", 20 + who).await);
    }
    // 48 MB: far more than the pausing one's queue and socket buffers hold, so
    // without the room waiting for it, it would lag (as the stalled one above does).
    let (count, size) = (16, 1_000_000);
    // The stall itself (a phone busy for half a second) is what this test plays.
    let paused = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        read_images(&mut pausing, 3 * count).await
    });
    let acked = burst_to_readers(readers, senders, "z", count, size).await;
    let (order, _, lagging_cancels) = paused.await.expect("pausing reader");
    assert_eq!(lagging_cancels, 0, "the room waited for it");
    assert_eq!(order, acked, "every image live, once, in seq order");
    assert_eq!(metric(addr, "snapwire_lagging_total").await, 0);
}
