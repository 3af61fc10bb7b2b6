//! The network cut in the middle of transfers, both ways: every client talks to the
//! relay through a TCP proxy in the test that, at seeded random points, drops the
//! connection, resets it, or stalls it. Protocol clients reconnect with `since` and
//! re-send what was not acked under the same ids. At the end every receiver holds
//! every item exactly once, whole, in seq order.

mod common;
#[path = "common/faulty_proxy.rs"]
mod faulty_proxy;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use snapwire_relay::protocol::{ClientHeader, ClientMessage, RelayHeader, parse_relay};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use common::{begin_for, fake_png, secret, sha256_hex};
use faulty_proxy::{Count, Plan, Rng, start_proxy};

/// The furthest point at which a fault strikes, in bytes through the link.
const MAX_AT: u64 = 300_000;

/// The first link of each of the three clients strikes, one of each kind; of the
/// first 40 links 80 % do.
const PLAN: Plan = Plan {
    faulty: 40,
    always: 3,
    min_at: 200,
    spread: MAX_AT,
    websocket_only: false,
    count: Count::Both,
};

/// An item the sender must get acked, as the receiver will see it.
#[derive(Clone)]
enum Item {
    Text(String),
    Image(Vec<u8>),
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Connects and says hello; `None` if the proxy cut it on the way.
async fn join(addr: SocketAddr, name: &str, who: u32, since: Option<u64>) -> Option<Ws> {
    let url = format!("ws://{addr}/ws");
    let (mut ws, _) = tokio::time::timeout(common::WAIT, tokio_tungstenite::connect_async(url))
        .await
        .ok()?
        .ok()?;
    let hello = serde_json::json!({
        "type": "hello", "v": 1, "name": name, "room": "cuts",
        "client": secret(who), "since": since,
    });
    let bytes = snapwire_relay::protocol::encode_frame(&hello, b"");
    ws.send(Message::Binary(bytes)).await.ok()?;
    Some(ws)
}

/// The next relay message; `None` when the connection is gone or silent too long.
async fn next(ws: &mut Ws) -> Option<RelayHeader> {
    next_with_body(ws).await.map(|(h, _)| h)
}

async fn next_with_body(ws: &mut Ws) -> Option<(RelayHeader, Bytes)> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(2), ws.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Binary(bytes) => {
                let message = parse_relay(bytes).ok()?;
                return Some((message.header, message.body));
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Sends `items` until every one is acked, reconnecting whenever the link is cut;
/// returns the seq each id was acked with.
async fn sender(addr: SocketAddr, items: Vec<(String, Item)>) -> HashMap<String, u64> {
    let mut acked: HashMap<String, u64> = HashMap::new();
    for attempt in 0..200 {
        if acked.len() == items.len() {
            break;
        }
        let Some(mut ws) = join(addr, "Sender", 1, None).await else {
            continue;
        };
        // Everything not acked yet, again, with the same ids.
        let mut sent_all = true;
        for (id, item) in items.iter().filter(|(id, _)| !acked.contains_key(id)) {
            let messages = match item {
                Item::Text(text) => vec![ClientMessage::new(
                    ClientHeader::Text { id: id.clone() },
                    Bytes::from(text.clone()),
                )],
                Item::Image(bytes) => {
                    let mut messages = vec![ClientMessage::new(
                        ClientHeader::ImageBegin(begin_for(id, bytes)),
                        Bytes::new(),
                    )];
                    for (i, part) in bytes.chunks(64 * 1024).enumerate() {
                        messages.push(ClientMessage::new(
                            ClientHeader::ImageChunk {
                                id: id.clone(),
                                offset: (i * 64 * 1024) as u64,
                            },
                            Bytes::copy_from_slice(part),
                        ));
                    }
                    messages.push(ClientMessage::new(
                        ClientHeader::ImageEnd { id: id.clone() },
                        Bytes::new(),
                    ));
                    messages
                }
            };
            for message in messages {
                let send = tokio::time::timeout(
                    Duration::from_secs(2),
                    ws.send(Message::Binary(message.encode())),
                );
                if !matches!(send.await, Ok(Ok(()))) {
                    sent_all = false;
                    break;
                }
            }
            if !sent_all {
                break;
            }
        }
        // Collect acks until all are in or the link dies.
        while acked.len() < items.len() {
            match next(&mut ws).await {
                Some(RelayHeader::Ack { id, seq, .. }) => {
                    if let Some(earlier) = acked.insert(id.clone(), seq) {
                        assert_eq!(earlier, seq, "{id} acked twice with different seqs");
                    }
                }
                Some(RelayHeader::Error { code, message, id }) => {
                    panic!("attempt {attempt}: error {code} for {id:?}: {message}")
                }
                Some(_) => {}
                None => break,
            }
        }
    }
    acked
}

/// Receives until it holds `expected` items, reconnecting with `since` = the last
/// complete item's seq. Returns (seq, content) in the order received.
async fn receiver(addr: SocketAddr, who: u32, expected: usize) -> Vec<(u64, Item)> {
    let mut got: Vec<(u64, Item)> = Vec::new();
    let mut since = None;
    for _ in 0..400 {
        if got.len() >= expected {
            break;
        }
        let Some(mut ws) = join(addr, &format!("Recv{who}"), who, since).await else {
            continue;
        };
        // Partial images of this connection only: a cut discards them.
        let mut partial: HashMap<u64, (String, Vec<u8>)> = HashMap::new();
        while got.len() < expected {
            let Some((header, body)) = next_with_body(&mut ws).await else {
                break;
            };
            match header {
                RelayHeader::Text { seq, .. } => {
                    got.push((seq, Item::Text(String::from_utf8_lossy(&body).into_owned())));
                    since = Some(seq);
                }
                RelayHeader::ImageBegin(begin) => {
                    partial.insert(begin.sid, (begin.sha256, Vec::new()));
                }
                RelayHeader::ImageChunk { sid, offset } => {
                    if let Some((_, bytes)) = partial.get_mut(&sid) {
                        assert_eq!(offset, bytes.len() as u64, "contiguous chunks");
                        bytes.extend_from_slice(&body);
                    }
                }
                RelayHeader::ImageEnd { sid, seq, .. } => {
                    let (sha, bytes) = partial.remove(&sid).expect("an end for a begun image");
                    assert_eq!(sha256_hex(&bytes), sha, "a whole image, never half");
                    got.push((seq, Item::Image(bytes)));
                    since = Some(seq);
                }
                RelayHeader::ImageCancel { sid, .. } => {
                    partial.remove(&sid);
                }
                _ => {}
            }
        }
    }
    got
}

/// The items of one run: texts and images of random sizes.
fn items(rng: &mut Rng, count: usize) -> Vec<(String, Item)> {
    (0..count)
        .map(|i| {
            let id = format!("item-{i}");
            let item = if rng.below(2) == 0 {
                Item::Text(format!("text {i}"))
            } else {
                let len = 1_000 + rng.below(400_000) as usize;
                Item::Image(fake_png(len, i as u8))
            };
            (id, item)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_links_lose_nothing_and_deliver_nothing_twice_or_half() {
    let seed = std::env::var("SNAPWIRE_CUTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_u64);
    eprintln!("network cuts: seed {seed} (SNAPWIRE_CUTS_SEED replays it)");
    let relay = common::start_relay(common::memory_config()).await;
    let (proxy, injected) = start_proxy(relay.local_addr(), seed, PLAN).await;
    let mut rng = Rng(seed ^ 0xabcdef);
    let items = items(&mut rng, 40);
    let total = items.len();
    let bytes: usize = items
        .iter()
        .map(|(_, item)| match item {
            Item::Text(text) => text.len(),
            Item::Image(bytes) => bytes.len(),
        })
        .sum();
    assert!(
        bytes as u64 > 2 * MAX_AT,
        "every client's first link strikes"
    );

    let receivers: Vec<_> = (0..2)
        .map(|r| tokio::spawn(receiver(proxy, 10 + r, total)))
        .collect();
    let acked = tokio::time::timeout(Duration::from_secs(120), sender(proxy, items.clone()))
        .await
        .expect("the sender finishes in time");
    assert_eq!(acked.len(), total, "every item acked");
    let seqs: HashSet<u64> = acked.values().copied().collect();
    assert_eq!(seqs.len(), total, "one seq per item");

    let by_seq: BTreeMap<u64, &Item> = items.iter().map(|(id, item)| (acked[id], item)).collect();
    for receiver in receivers {
        let got = tokio::time::timeout(Duration::from_secs(120), receiver)
            .await
            .expect("the receiver finishes in time")
            .expect("the receiver task");
        assert_eq!(got.len(), total, "every item, no more");
        for pair in got.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "seq order, each once: {} then {}",
                pair[0].0,
                pair[1].0
            );
        }
        for (seq, item) in &got {
            let sent = by_seq
                .get(seq)
                .unwrap_or_else(|| panic!("seq {seq} was never acked"));
            match (item, sent) {
                (Item::Text(a), Item::Text(b)) => assert_eq!(a, b, "seq {seq}"),
                (Item::Image(a), Item::Image(b)) => assert!(a == b, "seq {seq}: other bytes"),
                _ => panic!("seq {seq}: a text and an image mixed up"),
            }
        }
    }
    let (drops, resets, stalls) = injected.counts();
    eprintln!("network cuts: {drops} drops, {resets} resets, {stalls} stalls");
    assert!(
        drops >= 1 && resets >= 1 && stalls >= 1,
        "each kind of fault struck"
    );
    relay.shutdown().await.expect("shutdown");
}
