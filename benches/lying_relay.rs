//! The app's memory against a relay that lies (`cargo bench -p snapwire --bench
//! lying_relay`): the network worker, connected to a fake relay in this process,
//! is sent (1) an image announced at 2^50 bytes followed by 64 MiB of chunks, and
//! (2) 40 streams of 16 MiB announced at once, each sent 15 MiB and never ended.
//! Printed: this process's resident memory idle (welcomed), at its peak during
//! each attack, and after the streams are cancelled, with the bytes the relay sent.
//! The fake relay sends one chunk at a time and waits for the app's progress
//! event, so what it holds itself stays under a chunk.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::time::Duration;

use snapwire::state::Event;
use snapwire_relay::protocol::{CancelReason, Limits, RelayHeader};
use support::net::{
    FakeRelay, WAIT, claimed_image_begin as begin, connect, fake_relay, relay_frame as frame,
    welcomed,
};

const MIB: u64 = 1024 * 1024;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What the app said about `sid` after a chunk: taken, or no longer wanted
/// (`gone` keeps the streams it refused or dropped, whenever it said so).
async fn answer(net: &mut snapwire::net::NetHandle, gone: &mut HashSet<u64>, sid: u64) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if gone.contains(&sid) {
            return false;
        }
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, net.recv()).await else {
            panic!("the app went quiet about stream {sid}");
        };
        match event {
            Event::ImageProgress { sid: s, .. } if s == sid => return true,
            Event::StreamRefused { sid: s, .. } | Event::ImageCancel { sid: s, .. } => {
                gone.insert(s);
            }
            _ => {}
        }
    }
}

/// Sends `chunks` chunks of 1 MiB to `sid`, one at a time, watching the peak RSS;
/// stops early once the app refuses the stream. Returns (MiB sent, peak RSS).
async fn feed(
    relay: &FakeRelay,
    net: &mut snapwire::net::NetHandle,
    gone: &mut HashSet<u64>,
    sid: u64,
    chunks: u64,
    refused: bool,
) -> (u64, f64) {
    let body = vec![7u8; MIB as usize];
    let mut peak = rss_mib();
    let mut sent = 0;
    for n in 0..chunks {
        let header = RelayHeader::ImageChunk {
            sid,
            offset: n * MIB,
        };
        relay.send.send(frame(header, &body)).expect("send");
        sent += 1;
        if refused {
            // Nothing comes back for a refused stream: pace on the socket instead.
            tokio::time::sleep(Duration::from_millis(2)).await;
        } else if !answer(net, gone, sid).await {
            break;
        }
        peak = peak.max(rss_mib());
    }
    (sent, peak)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let limits = Limits {
        max_image_bytes: u64::MAX,
        max_chunk_bytes: MIB,
        max_text_bytes: 16 * 1024,
        max_uploads: 4,
    };
    let relay = fake_relay(limits).await;
    let mut ana = connect(relay.addr, "Ana", 1);
    let mut log = Vec::new();
    welcomed(&mut ana, &mut log).await;
    relay.read.send(usize::MAX).expect("read");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = rss_mib();
    let mut gone = HashSet::new();

    // (1) 2^50 bytes announced, then chunks as if it meant it.
    relay.send.send(begin(1, 1 << 50)).expect("send");
    let (huge_sent, huge_peak) = feed(&relay, &mut ana, &mut gone, 1, 64, true).await;

    // (2) 40 streams of 16 MiB at once, 15 MiB of each sent, none ended.
    let streams = 40u64;
    for sid in 100..100 + streams {
        relay.send.send(begin(sid, 16 * MIB)).expect("send");
    }
    let mut sent = 0;
    let mut peak = rss_mib();
    for sid in 100..100 + streams {
        let (s, p) = feed(&relay, &mut ana, &mut gone, sid, 15, false).await;
        sent += s;
        peak = peak.max(p);
    }
    for sid in 100..100 + streams {
        let header = RelayHeader::ImageCancel {
            sid,
            reason: CancelReason::SenderLeft,
        };
        relay.send.send(frame(header, b"")).expect("send");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let refused = gone.iter().filter(|s| **s >= 100).count();
    let after = rss_mib();
    println!(
        "{{\"rss_idle_mib\":{idle:.1},\
         \"announced_2_pow_50\":{{\"mib_sent\":{huge_sent},\"rss_peak_mib\":{huge_peak:.1}}},\
         \"streams_of_16_mib\":{{\"streams\":{streams},\"refused\":{refused},\"mib_sent\":{sent},\"rss_peak_mib\":{peak:.1}}},\
         \"rss_after_cancel_mib\":{after:.1}}}"
    );
}
