//! The network worker against a real relay on 127.0.0.1: images both ways
//! byte-exact with receipts, reconnect after the relay restarts on the same
//! data directory, and items queued while offline delivered exactly once.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use snapwire::net::Command;
use snapwire::state::Event;
use support::net::*;
use support::{noisy_png as png, prepared};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_travel_both_ways_byte_exact_with_receipts() {
    let relay = memory_relay().await;
    let addr = relay.local_addr();
    let (mut ana, mut ana_log) = (connect(addr, "Ana", 1), Vec::new());
    let ana_welcome = welcomed(&mut ana, &mut ana_log).await;
    let (mut ben, mut ben_log) = (connect(addr, "Ben", 2), Vec::new());
    welcomed(&mut ben, &mut ben_log).await;
    // Make sure Ben is in the room before Ana sends, so the image streams live.
    wait_for(&mut ana, &mut ana_log, "Ben joined", |e| match e {
        Event::Joined(u) if u.name == "Ben" => Some(()),
        _ => None,
    })
    .await;

    // About 600 KB: several 256 KiB chunks.
    let big = png(420, 480, 7);
    assert!(big.len() > 300_000, "test image too small: {}", big.len());
    let image = prepared("dir/ana.png", big.clone());
    ana.send(Command::SendImage {
        id: "ana-1".into(),
        image,
    })
    .expect("send");
    let ana_seq = wait_for(&mut ana, &mut ana_log, "ack for ana-1", |e| match e {
        Event::Ack { id, seq, .. } if id == "ana-1" => Some(*seq),
        _ => None,
    })
    .await;
    let (sid, meta_name) = wait_for(&mut ben, &mut ben_log, "Ana's image_begin", |e| match e {
        Event::ImageBegin {
            sid,
            from,
            meta,
            preview,
            ..
        } => {
            assert_eq!(from.id, ana_welcome.user.id);
            assert!(preview.is_some(), "the sender made a preview");
            Some((*sid, meta.name.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(meta_name, "ana.png");
    let got = wait_for(
        &mut ben,
        &mut ben_log,
        "Ana's image complete",
        |e| match e {
            Event::ImageComplete {
                sid: s,
                seq,
                bytes,
                verified,
                ..
            } if *s == sid => {
                assert!(*verified, "SHA-256 checked by the receiver");
                assert_eq!(*seq, ana_seq);
                Some(bytes.clone())
            }
            _ => None,
        },
    )
    .await;
    assert_eq!(&got[..], &big[..], "byte-exact");
    assert!(
        ben_log
            .iter()
            .any(|e| matches!(e, Event::ImageProgress { sid: s, .. } if *s == sid)),
        "progress was reported while streaming"
    );
    // Ben's worker sends a receipt after its check; Ana hears it.
    wait_for(&mut ana, &mut ana_log, "Ben's receipt", |e| match e {
        Event::Receipt { seq, user } if *seq == ana_seq && user.name == "Ben" => Some(()),
        _ => None,
    })
    .await;

    // And back: a JPEG from Ben.
    let jpeg = {
        let img = image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .expect("jpeg");
        out
    };
    let image = prepared("ben.jpg", jpeg.clone());
    ben.send(Command::SendImage {
        id: "ben-1".into(),
        image,
    })
    .expect("send");
    let got = wait_for(&mut ana, &mut ana_log, "Ben's image", |e| match e {
        Event::ImageComplete {
            bytes,
            verified: true,
            ..
        } => Some(bytes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&got[..], &jpeg[..]);

    // A text, with Enter-style newlines kept.
    ana.send(Command::SendText {
        id: "ana-2".into(),
        text: "hello\nBen".into(),
    })
    .expect("send");
    let text = wait_for(&mut ben, &mut ben_log, "Ana's text", |e| match e {
        Event::Text { text, .. } => Some(text.clone()),
        _ => None,
    })
    .await;
    assert_eq!(text, "hello\nBen");

    drop((ana, ben));
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_upload_tells_the_receiver() {
    let relay = memory_relay().await;
    let addr = relay.local_addr();
    let (mut ana, mut ana_log) = (connect(addr, "Ana", 1), Vec::new());
    welcomed(&mut ana, &mut ana_log).await;
    let (mut ben, mut ben_log) = (connect(addr, "Ben", 2), Vec::new());
    welcomed(&mut ben, &mut ben_log).await;
    wait_for(&mut ana, &mut ana_log, "Ben joined", |e| {
        matches!(e, Event::Joined(_)).then_some(())
    })
    .await;

    // Large enough (~6 MB) that the cancel usually lands mid-stream; on a
    // busy machine every byte may be out first, and then the app says so.
    let image = prepared("big.png", png(1500, 1400, 3));
    ana.send(Command::SendImage {
        id: "big".into(),
        image,
    })
    .expect("send");
    wait_for(&mut ana, &mut ana_log, "first progress", |e| match e {
        Event::UploadProgress { id, sent } if id == "big" && *sent > 0 => Some(()),
        _ => None,
    })
    .await;
    ana.send(Command::Cancel { id: "big".into() })
        .expect("cancel");
    let cancelled = wait_for(
        &mut ana,
        &mut ana_log,
        "cancelled or too late",
        |e| match e {
            Event::UploadCancelled { id } if id == "big" => Some(true),
            Event::CancelTooLate { id } if id == "big" => Some(false),
            _ => None,
        },
    )
    .await;
    if !cancelled {
        // Too late: it arrives like any image, and the sender hears its ack.
        wait_for(&mut ben, &mut ben_log, "the image", |e| {
            matches!(e, Event::ImageComplete { verified: true, .. }).then_some(())
        })
        .await;
        wait_for(&mut ana, &mut ana_log, "the ack", |e| {
            matches!(e, Event::Ack { id, .. } if id == "big").then_some(())
        })
        .await;
        relay.shutdown().await.expect("shutdown");
        return;
    }
    let reason = wait_for(&mut ben, &mut ben_log, "image_cancel", |e| match e {
        Event::ImageCancel { reason, .. } => Some(*reason),
        Event::ImageComplete { .. } => panic!("a cancelled image completed"),
        _ => None,
    })
    .await;
    assert_eq!(reason, snapwire_relay::protocol::CancelReason::Cancelled);
    assert!(
        !ana_log
            .iter()
            .any(|e| matches!(e, Event::Ack { id, .. } if id == "big"))
    );
    relay.shutdown().await.expect("shutdown");
}

fn fake_limits() -> snapwire_relay::protocol::Limits {
    snapwire_relay::protocol::Limits {
        max_image_bytes: 1 << 30,
        max_chunk_bytes: 1 << 20,
        max_text_bytes: 16 << 10,
        max_uploads: 4,
    }
}

async fn next_frame(relay: &mut FakeRelay, what: &str) -> String {
    match tokio::time::timeout(WAIT, relay.frames.recv()).await {
        Ok(Some(kind)) => kind,
        Ok(None) => panic!("the fake relay stopped before {what}"),
        Err(_) => panic!("no {what} within {WAIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_is_handled_between_two_chunks_however_slow_the_relay_reads() {
    // The relay reads nothing until the cancel was handled: the 40 MB cannot
    // all be out, so the cancel must stop the stream between chunks.
    let mut relay = fake_relay(fake_limits()).await;
    let mut ana = connect(relay.addr, "Ana", 1);
    let mut log = Vec::new();
    welcomed(&mut ana, &mut log).await;
    ana.send(Command::SendImage {
        id: "big".into(),
        image: raw_image(40 << 20),
    })
    .expect("send");
    wait_for(&mut ana, &mut log, "first progress", |e| match e {
        Event::UploadProgress { id, sent } if id == "big" && *sent > 0 => Some(()),
        _ => None,
    })
    .await;
    ana.send(Command::Cancel { id: "big".into() })
        .expect("cancel");
    wait_for(&mut ana, &mut log, "cancelled", |e| match e {
        Event::UploadCancelled { id } if id == "big" => Some(()),
        Event::CancelTooLate { .. } => panic!("40 MB cannot be out: the relay read nothing"),
        _ => None,
    })
    .await;
    relay.read.send(usize::MAX).expect("let it read");
    let mut kinds = vec![next_frame(&mut relay, "image_begin").await];
    while kinds.last().map(String::as_str) != Some("cancel") {
        let kind = next_frame(&mut relay, "the cancel").await;
        assert_ne!(kind, "image_end", "the stream ended instead: {kinds:?}");
        kinds.push(kind);
    }
    assert_eq!(kinds[0], "image_begin");
    let chunks = kinds.iter().filter(|k| *k == "image_chunk").count();
    assert!(
        chunks > 0 && chunks < 160,
        "{chunks} of 160 chunks before the cancel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_after_the_last_byte_says_it_is_too_late() {
    let mut relay = fake_relay(fake_limits()).await;
    let mut ana = connect(relay.addr, "Ana", 1);
    let mut log = Vec::new();
    welcomed(&mut ana, &mut log).await;
    relay.read.send(usize::MAX).expect("read everything");
    ana.send(Command::SendImage {
        id: "small".into(),
        image: raw_image(3 << 20),
    })
    .expect("send");
    while next_frame(&mut relay, "image_end").await != "image_end" {}
    ana.send(Command::Cancel { id: "small".into() })
        .expect("cancel");
    wait_for(&mut ana, &mut log, "a stated outcome", |e| match e {
        Event::CancelTooLate { id } if id == "small" => Some(()),
        Event::UploadCancelled { .. } => panic!("every byte was out: it cannot be cancelled"),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_relay_restart_and_delivers_queued_items_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = start_relay("127.0.0.1:0".parse().expect("addr"), disk(dir.path())).await;
    let addr = relay.local_addr();
    let (mut ana, mut ana_log) = (connect(addr, "Ana", 1), Vec::new());
    let (mut ben, mut ben_log) = (connect(addr, "Ben", 2), Vec::new());
    let first_welcome = welcomed(&mut ana, &mut ana_log).await;
    welcomed(&mut ben, &mut ben_log).await;

    ana.send(Command::SendText {
        id: "before".into(),
        text: "before the restart".into(),
    })
    .expect("send");
    let before_seq = wait_for(&mut ben, &mut ben_log, "first text", |e| match e {
        Event::Text { seq, text, .. } if text == "before the restart" => Some(*seq),
        _ => None,
    })
    .await;
    // What follows counts on Ana knowing her item was stored: its ack must be
    // in before the relay stops (under load it could still be on its way).
    wait_for(&mut ana, &mut ana_log, "the first ack", |e| {
        matches!(e, Event::Ack { id, .. } if id == "before").then_some(())
    })
    .await;

    relay.shutdown().await.expect("shutdown");
    for (net, log) in [(&mut ana, &mut ana_log), (&mut ben, &mut ben_log)] {
        wait_for(net, log, "reconnecting", |e| {
            matches!(e, Event::Reconnecting { .. }).then_some(())
        })
        .await;
    }

    // Offline: these wait in Ana's queue.
    ana.send(Command::SendText {
        id: "queued-text".into(),
        text: "sent while offline".into(),
    })
    .expect("send");
    let offline_png = png(200, 150, 11);
    ana.send(Command::SendImage {
        id: "queued-image".into(),
        image: prepared("offline.png", offline_png.clone()),
    })
    .expect("send");

    // The same data directory, the same port: the relay comes back.
    let relay = start_relay(addr, disk(dir.path())).await;
    let again = welcomed(&mut ana, &mut ana_log).await;
    assert_eq!(
        again.epoch, first_welcome.epoch,
        "history survived the restart"
    );
    welcomed(&mut ben, &mut ben_log).await;

    let mut acks = HashMap::new();
    while !(acks.contains_key("queued-text") && acks.contains_key("queued-image")) {
        let (id, seq) = wait_for(
            &mut ana,
            &mut ana_log,
            "acks of queued items",
            |e| match e {
                Event::Ack { id, seq, .. } => Some((id.clone(), *seq)),
                _ => None,
            },
        )
        .await;
        acks.insert(id, seq);
    }
    let image_seq = acks["queued-image"];
    let got = wait_for(&mut ben, &mut ben_log, "the queued image", |e| match e {
        Event::ImageComplete {
            seq,
            bytes,
            verified: true,
            ..
        } if *seq == image_seq => Some(bytes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&got[..], &offline_png[..]);
    // Give any duplicate a chance to show up, then count.
    drain_for(&mut ben, &mut ben_log, Duration::from_millis(500)).await;
    let seqs: Vec<u64> = ben_log
        .iter()
        .filter_map(|e| match e {
            Event::Text { seq, .. } | Event::ImageComplete { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    let count = |s: u64| seqs.iter().filter(|x| **x == s).count();
    assert_eq!(
        count(before_seq),
        1,
        "since resume: nothing replayed twice: {seqs:?}"
    );
    assert_eq!(count(acks["queued-text"]), 1, "queued text once: {seqs:?}");
    assert_eq!(count(image_seq), 1, "queued image once: {seqs:?}");
    let texts = ben_log
        .iter()
        .filter(|e| matches!(e, Event::Text { text, .. } if text == "sent while offline"))
        .count();
    assert_eq!(texts, 1);
    // The relay replays Ana's own acked items to her after the restart (she had
    // received nothing, so no `since`): the worker knows them by their acks'
    // seqs and does not show them twice.
    drain_for(&mut ana, &mut ana_log, Duration::from_millis(300)).await;
    let own_again = ana_log
        .iter()
        .filter(|e| match e {
            Event::Text { text, .. } => text == "before the restart",
            Event::ImageBegin { from, .. } => from.name == "Ana",
            _ => false,
        })
        .count();
    assert_eq!(own_again, 0, "own acked items replayed as new entries");

    drop((ana, ben));
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_hello_stops_with_words_instead_of_retrying() {
    let relay = memory_relay().await;
    let mut bad = snapwire::net::NetHandle::spawn(
        snapwire::settings::Target {
            room: ".hidden".into(),
            ..target(relay.local_addr(), "Ana")
        },
        secret(1),
        no_repaint(),
    )
    .expect("spawn");
    let mut log = Vec::new();
    let reason = wait_for(&mut bad, &mut log, "stopped", |e| match e {
        Event::Stopped { reason } => Some(reason.clone()),
        Event::Reconnecting { reason, .. } => panic!("retried a refused hello: {reason}"),
        _ => None,
    })
    .await;
    assert!(reason.contains("room"), "{reason}");
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_means_reconnecting_with_a_reason() {
    // Bind then drop: a port on loopback where nothing listens.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let mut net = connect(addr, "Ana", 1);
    let mut log = Vec::new();
    let reason = wait_for(&mut net, &mut log, "reconnecting", |e| match e {
        Event::Reconnecting { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        reason.contains("nothing is listening") || reason.contains("cannot reach"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_lost_its_history_is_rejoined_from_scratch() {
    let first = tempfile::tempdir().expect("tempdir");
    let relay = start_relay("127.0.0.1:0".parse().expect("addr"), disk(first.path())).await;
    let addr = relay.local_addr();
    let (mut ana, mut ana_log) = (connect(addr, "Ana", 1), Vec::new());
    let old = welcomed(&mut ana, &mut ana_log).await;
    ana.send(Command::SendText {
        id: "t1".into(),
        text: "old history".into(),
    })
    .expect("send");
    wait_for(&mut ana, &mut ana_log, "ack", |e| {
        matches!(e, Event::Ack { .. }).then_some(())
    })
    .await;
    relay.shutdown().await.expect("shutdown");

    // Same address, empty data directory: a new epoch, and seqs that may start over.
    let second = tempfile::tempdir().expect("tempdir");
    let relay = start_relay(addr, disk(second.path())).await;
    let new = welcomed(&mut ana, &mut ana_log).await;
    assert_ne!(new.epoch, old.epoch);
    let (mut ben, mut ben_log) = (connect(addr, "Ben", 2), Vec::new());
    welcomed(&mut ben, &mut ben_log).await;
    ben.send(Command::SendText {
        id: "b1".into(),
        text: "after the wipe".into(),
    })
    .expect("send");
    wait_for(
        &mut ana,
        &mut ana_log,
        "Ben's text in the new history",
        |e| match e {
            Event::Text { text, .. } if text == "after the wipe" => Some(()),
            _ => None,
        },
    )
    .await;
    let welcomes = ana_log
        .iter()
        .filter(|e| matches!(e, Event::Welcome(_)))
        .count();
    assert_eq!(welcomes, 2, "one welcome per history, no reconnect loop");
    drop((ana, ben));
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_lies_about_sizes_gets_a_refusal_not_our_memory() {
    use snapwire_relay::protocol::RelayHeader;
    let relay = fake_relay(fake_limits()).await;
    let mut ana = connect(relay.addr, "Ana", 1);
    let mut log = Vec::new();
    welcomed(&mut ana, &mut log).await;
    relay.read.send(usize::MAX).expect("read");
    let begin = claimed_image_begin;
    // 2^50 bytes announced, then chunks as if it meant it.
    relay.send.send(begin(1, 1 << 50)).expect("send");
    for n in 0..64u64 {
        let chunk = relay_frame(
            RelayHeader::ImageChunk {
                sid: 1,
                offset: n << 20,
            },
            &vec![0u8; 1 << 20],
        );
        relay.send.send(chunk).expect("send");
    }
    let reason = wait_for(&mut ana, &mut log, "the refusal", |e| match e {
        Event::StreamRefused { sid: 1, reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("more than the"), "{reason}");
    // A chunk larger than the welcome's limit drops a stream that was taken.
    relay.send.send(begin(2, 4 << 20)).expect("send");
    let big_chunk = relay_frame(
        RelayHeader::ImageChunk { sid: 2, offset: 0 },
        &vec![0u8; 2 << 20],
    );
    relay.send.send(big_chunk).expect("send");
    wait_for(&mut ana, &mut log, "the dropped stream", |e| {
        matches!(e, Event::ImageCancel { sid: 2, .. }).then_some(())
    })
    .await;
    assert!(
        !log.iter()
            .any(|e| matches!(e, Event::ImageProgress { sid: 1, .. })),
        "nothing of the refused stream was taken"
    );
}

/// A relay that welcomes every connection `n` with a new epoch (`e{n}`), sends
/// what `then(n)` gives, and closes it. Returns its address and how many
/// connections it accepted.
async fn dropping_relay(
    then: impl Fn(u32) -> Vec<bytes::Bytes> + Send + 'static,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU32>,
) {
    use futures_util::{SinkExt, StreamExt};
    use snapwire_relay::protocol::{RelayHeader, User, Welcome};
    use std::sync::atomic::Ordering;
    use tokio_tungstenite::tungstenite::Message;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                continue;
            };
            let _hello = ws.next().await;
            let welcome = relay_frame(
                RelayHeader::Welcome(Welcome {
                    v: 1,
                    user: User {
                        id: snapwire_relay::protocol::validate::user_id(&secret(1)),
                        name: "Ana".into(),
                    },
                    room: "lobby".into(),
                    epoch: format!("e{n}"),
                    peers: Vec::new(),
                    history: 0,
                    limits: fake_limits(),
                }),
                b"",
            );
            for frame in std::iter::once(welcome).chain(then(n)) {
                let _ = ws.send(Message::Binary(frame)).await;
            }
            let _ = ws.close(None).await;
        }
    });
    (addr, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_welcomes_and_drops_us_at_once_is_retried_ever_more_slowly() {
    let (addr, _) = dropping_relay(|_| Vec::new()).await;
    let mut ana = connect(addr, "Ana", 1);
    let mut log = Vec::new();
    let mut attempts = Vec::new();
    while attempts.len() < 3 {
        let attempt = wait_for(&mut ana, &mut log, "a connection attempt", |e| match e {
            Event::Connecting { attempt } => Some(*attempt),
            _ => None,
        })
        .await;
        attempts.push(attempt);
    }
    assert_eq!(
        attempts,
        [0, 1, 2],
        "each attempt waits longer than the last"
    );
}

/// A relay that forgets its history on every connection: each welcome has a new
/// epoch and one text, then it drops us. The app rejoins from scratch once per
/// new epoch, but never more than once per backoff step: it backs off, not spins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_epoch_changes_every_time_is_retried_with_backoff_not_spun() {
    use snapwire_relay::protocol::RelayHeader;
    use std::sync::atomic::Ordering;

    let (addr, accepted) = dropping_relay(|n| {
        let text = RelayHeader::Text {
            seq: 1,
            ts: 1,
            from: support::ben(),
            history: false,
        };
        vec![relay_frame(text, format!("from epoch {n}").as_bytes())]
    })
    .await;
    let mut ana = connect(addr, "Ana", 1);
    let mut log = Vec::new();
    let mut attempts = Vec::new();
    while attempts.last() != Some(&3) {
        let attempt = wait_for(&mut ana, &mut log, "a connection attempt", |e| match e {
            Event::Connecting { attempt } => Some(*attempt),
            _ => None,
        })
        .await;
        attempts.push(attempt);
    }
    assert!(
        attempts.windows(2).all(|w| w[0] <= w[1]),
        "the backoff never starts over: {attempts:?}"
    );
    for step in 0..=3 {
        let tries = attempts.iter().filter(|a| **a == step).count();
        assert!(
            (1..=2).contains(&tries),
            "backoff step {step}: {tries} connections (its own, and one rejoin for a new epoch): {attempts:?}"
        );
    }
    let connections = accepted.load(Ordering::SeqCst) as usize;
    assert!(
        connections <= attempts.len(),
        "{connections} connections for {} attempts",
        attempts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presence_flood_from_the_relay_is_one_timeline_line() {
    use snapwire_relay::protocol::{RelayHeader, User};
    let relay = fake_relay(fake_limits()).await;
    let mut ana = connect(relay.addr, "Ana", 1);
    let mut log = Vec::new();
    welcomed(&mut ana, &mut log).await;
    let flood = 5_000u32;
    for n in 0..flood {
        let user = User {
            id: format!("{n:012x}"),
            name: format!("guest{n}"),
        };
        for header in [
            RelayHeader::Joined { user: user.clone() },
            RelayHeader::Left { user },
        ] {
            relay.send.send(relay_frame(header, b"")).expect("send");
        }
    }
    let last = format!("guest{}", flood - 1);
    wait_for(&mut ana, &mut log, "the last leave", |e| match e {
        Event::Left(u) if u.name == last => Some(()),
        _ => None,
    })
    .await;
    let mut model =
        snapwire::state::Model::new(snapwire_relay::protocol::validate::user_id(&secret(1)));
    for event in log {
        model.apply(event);
    }
    assert_eq!(model.entries.len(), 1, "one presence line");
    assert!(model.peers.is_empty());
    assert_eq!(model.appended, 1, "nothing new to announce per join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_incoming_image_is_written_to_disk_as_it_arrives() {
    use sha2::{Digest, Sha256};
    use snapwire_relay::protocol::{RelayHeader, RelayImageBegin};
    let relay = fake_relay(fake_limits()).await;
    let mut ana = connect(relay.addr, "Ana", 1);
    let mut log = Vec::new();
    welcomed(&mut ana, &mut log).await;
    let bytes: Vec<u8> = (0..20u32 << 20).map(|n| (n % 251) as u8).collect();
    let begin = RelayHeader::ImageBegin(RelayImageBegin {
        sid: 7,
        ts: 1,
        from: support::ben(),
        name: "big.png".into(),
        mime: "image/png".into(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
        width: None,
        height: None,
        history: false,
    });
    relay.send.send(relay_frame(begin, b"")).expect("send");
    for (n, chunk) in bytes.chunks(1 << 20).enumerate() {
        let header = RelayHeader::ImageChunk {
            sid: 7,
            offset: (n as u64) << 20,
        };
        relay.send.send(relay_frame(header, chunk)).expect("send");
    }
    let end = RelayHeader::ImageEnd {
        sid: 7,
        seq: 1,
        ts: 2,
    };
    relay.send.send(relay_frame(end, b"")).expect("send");
    let path = wait_for(&mut ana, &mut log, "the stored image", |e| match e {
        Event::ImageStored {
            sid: 7,
            verified,
            path,
            ..
        } => {
            assert!(verified, "the hash matches");
            Some(path.clone())
        }
        Event::ImageComplete { sid: 7, .. } => panic!("20 MB went through memory"),
        _ => None,
    })
    .await;
    assert_eq!(std::fs::read(&path).expect("read back"), bytes);
}
