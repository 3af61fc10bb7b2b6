//! The memory-pressure cells of issue 8, against a relay at `addr`: many receivers
//! joining a room with long history at once (some reading slowly), and abuse from
//! one host (parked unfinished fragmented messages, hello-and-never-read in a room
//! with history) while a well-behaved client elsewhere times text round trips.
//! Each returns what it measured; the caller adds the relay's RSS and CPU.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{ClientHeader, ClientMessage, ImageBegin, RelayHeader, parse_relay};
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::tungstenite::Message;

use crate::core::{CHUNK, Ws, image_bytes, join_relay, join_relay_since};

/// Sends `count` images of `size` into `room` and waits for every ack.
pub async fn fill_history(
    addr: SocketAddr,
    room: &str,
    count: usize,
    size: usize,
    deadline: Instant,
) -> Result<(), String> {
    let ws = join_relay(addr, room, 90_000, deadline).await?;
    let (mut sink, mut stream) = ws.split();
    let acks = tokio::spawn(async move {
        let mut acked = 0;
        while acked < count {
            match timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    if let Ok(m) = parse_relay(bytes)
                        && matches!(m.header, RelayHeader::Ack { .. })
                    {
                        acked += 1;
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => return Err(format!("only {acked} of {count} history images acked")),
            }
        }
        Ok(stream)
    });
    for i in 0..count {
        let bytes = image_bytes(size, 10_000 + i as u64);
        let id = format!("hist-{i}");
        let begin = ClientHeader::ImageBegin(ImageBegin {
            id: id.clone(),
            name: format!("img-{}.png", i + 1),
            mime: "image/png".to_owned(),
            size: size as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            width: None,
            height: None,
        });
        let mut messages = vec![ClientMessage::new(begin, Bytes::new())];
        for (n, part) in bytes.chunks(CHUNK).enumerate() {
            messages.push(ClientMessage::new(
                ClientHeader::ImageChunk {
                    id: id.clone(),
                    offset: (n * CHUNK) as u64,
                },
                bytes.slice(n * CHUNK..n * CHUNK + part.len()),
            ));
        }
        messages.push(ClientMessage::new(
            ClientHeader::ImageEnd { id },
            Bytes::new(),
        ));
        for message in messages {
            timeout_at(deadline, sink.send(Message::Binary(message.encode())))
                .await
                .map_err(|_| "filling history timed out".to_owned())?
                .map_err(|e| format!("filling history: {e}"))?;
        }
    }
    let _stream = acks.await.map_err(|e| e.to_string())??;
    Ok(())
}

/// Reads a replay of `expect` images, verifying each; `rate` caps bytes per second.
async fn replay_receiver(
    mut ws: Ws,
    expect: usize,
    rate: Option<f64>,
    deadline: Instant,
) -> Result<Duration, String> {
    let start = Instant::now();
    let mut read = 0f64;
    let mut verified = 0;
    let mut current: Option<(u64, String, Sha256)> = None;
    while verified < expect {
        let message = match timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => bytes,
            Ok(Some(Ok(_))) => continue,
            _ => return Err(format!("{verified} of {expect} images before the end")),
        };
        read += message.len() as f64;
        let message = parse_relay(message).map_err(|e| e.to_string())?;
        match message.header {
            RelayHeader::ImageBegin(begin) => {
                current = Some((begin.sid, begin.sha256, Sha256::new()));
            }
            RelayHeader::ImageChunk { sid, .. } => {
                if let Some((s, _, hasher)) = current.as_mut()
                    && *s == sid
                {
                    hasher.update(&message.body);
                }
            }
            RelayHeader::ImageEnd { sid, .. } => match current.take() {
                Some((s, sha, hasher)) if s == sid => {
                    if hex::encode(hasher.finalize()) != sha {
                        return Err("an image did not match its SHA-256".to_owned());
                    }
                    verified += 1;
                }
                _ => return Err(format!("an end for sid {sid} without its begin")),
            },
            RelayHeader::ImageCancel { reason, .. } => {
                return Err(format!("image_cancel {reason:?} during replay"));
            }
            _ => {}
        }
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(read / rate);
            tokio::time::sleep_until(due.min(deadline)).await;
        }
    }
    Ok(start.elapsed())
}

/// `joiners` receivers join a room holding `count` × `size` of history at once with
/// `since: 0`; `slow` of them read at `slow_rate` bytes per second.
pub async fn history_join(
    addr: SocketAddr,
    count: usize,
    size: usize,
    joiners: usize,
    slow: usize,
    slow_rate: f64,
    deadline: Instant,
) -> serde_json::Value {
    if let Err(e) = fill_history(addr, "history", count, size, deadline).await {
        return json!({ "error": e });
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for j in 0..joiners {
        tasks.push(tokio::spawn(async move {
            let ws = join_relay_since(addr, "history", 91_000 + j, Some(0), deadline).await?;
            let rate = (j < slow).then_some(slow_rate);
            replay_receiver(ws, count, rate, deadline)
                .await
                .map(|d| (j < slow, d))
        }));
    }
    let mut fast = Vec::new();
    let mut slow_done = Vec::new();
    let mut errors = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok((true, d))) => slow_done.push(d.as_secs_f64()),
            Ok(Ok((false, d))) => fast.push(d.as_secs_f64()),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let all = started.elapsed().as_secs_f64();
    let fast_max = fast.iter().copied().fold(0.0, f64::max);
    json!({
        "history_mb": (count * size) as f64 / 1e6,
        "joiners": joiners, "slow": slow, "slow_rate_mb_s": slow_rate / 1e6,
        "all_complete": errors.is_empty() && fast.len() + slow_done.len() == joiners,
        "fast_done_s": fast_max,
        "fast_mb_per_s": if fast_max > 0.0 { (fast.len() * count * size) as f64 / 1e6 / fast_max } else { 0.0 },
        "slow_done_s": slow_done.iter().copied().fold(0.0, f64::max),
        "all_done_s": all,
        "errors": errors.len(),
        "first_errors": errors.iter().take(3).collect::<Vec<_>>(),
    })
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

/// One host, no token: `parkers` connections each leave a 1 MB fragmented message
/// unfinished, `readers_never` say hello with `since: 0` in a room with
/// `count` × `size` of history and never read; meanwhile a client in another room
/// times `samples` text round trips (sent → received by a peer).
pub async fn abuse(
    addr: SocketAddr,
    parkers: usize,
    readers_never: usize,
    count: usize,
    size: usize,
    samples: usize,
    deadline: Instant,
) -> serde_json::Value {
    if let Err(e) = fill_history(addr, "history", count, size, deadline).await {
        return json!({ "error": e });
    }
    let mut held = Vec::new();
    for j in 0..readers_never {
        match join_relay_since(addr, "history", 92_000 + j, Some(0), deadline).await {
            Ok(ws) => held.push(ws),
            Err(e) => return json!({ "error": format!("non-reader {j}: {e}") }),
        }
    }
    let mut parked = tokio::task::JoinSet::new();
    for j in 0..parkers {
        let ws = match join_relay(addr, &format!("frag-{}", j / 50), 93_000 + j, deadline).await {
            Ok(ws) => ws,
            Err(e) => return json!({ "error": format!("parker {j}: {e}") }),
        };
        parked.spawn(async move {
            let tokio_tungstenite::MaybeTlsStream::Plain(mut tcp) = ws.into_inner() else {
                return;
            };
            let piece = vec![7u8; 64 * 1024];
            for i in 0..16 {
                let frame = client_frame(false, if i == 0 { 2 } else { 0 }, &piece);
                if tcp.write_all(&frame).await.is_err() {
                    return;
                }
            }
            std::future::pending::<()>().await;
        });
    }
    // Let the relay take in what it will.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut ana = match join_relay(addr, "calm", 94_000, deadline).await {
        Ok(ws) => ws,
        Err(e) => return json!({ "error": e }),
    };
    let mut ben = match join_relay(addr, "calm", 94_001, deadline).await {
        Ok(ws) => ws,
        Err(e) => return json!({ "error": e }),
    };
    let mut rtts = Vec::new();
    for i in 0..samples {
        let text = ClientMessage::new(
            ClientHeader::Text {
                id: format!("probe-{i}"),
            },
            Bytes::from_static(b"are you there"),
        );
        let sent = Instant::now();
        if ana.send(Message::Binary(text.encode())).await.is_err() {
            break;
        }
        loop {
            match timeout_at(deadline, ben.next()).await {
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    if let Ok(m) = parse_relay(bytes)
                        && matches!(m.header, RelayHeader::Text { .. })
                    {
                        rtts.push(sent.elapsed().as_secs_f64() * 1000.0);
                        break;
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Drain Ana's acks.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_millis(1), ana.next()).await
        {
        }
    }
    parked.abort_all();
    drop(held);
    rtts.sort_by(f64::total_cmp);
    let q = |p: f64| {
        rtts.get(((rtts.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    json!({
        "parkers": parkers, "non_readers": readers_never,
        "history_mb": (count * size) as f64 / 1e6,
        "rtt_samples": rtts.len(),
        "rtt_p50_ms": q(0.5), "rtt_p99_ms": q(0.99), "rtt_max_ms": q(1.0),
    })
}
