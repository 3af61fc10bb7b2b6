//! A TCP proxy for tests that cuts links at seeded random points: it forwards
//! every connection to the relay and, for the links a [`Plan`] picks, drops
//! (FIN both ways), resets (RST both ways) or stalls the link once a drawn
//! number of bytes has passed it. Seeded, so a failing run can be replayed.
//!
//! One file used by two packages' tests: the relay's
//! (`server/tests/fault_network_cuts.rs`, protocol clients;
//! `server/tests/browser_cuts.rs`, the web page) and the app's
//! (`tests/app_net_cuts.rs`, the app's own network worker), each through a
//! `#[path]` module, so all of them cut links the same way.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A small seeded generator (xorshift64*), so a failing run can be replayed.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the proxy does to one connection, once `at` bytes have passed it (both
/// directions counted: a sender's link is busy upstream, a receiver's downstream).
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Forward faithfully.
    None,
    /// Close both sides (FIN).
    Drop { at: u64 },
    /// Reset both sides (RST).
    Reset { at: u64 },
    /// The direction that crossed `at` hangs while the other still flows, as
    /// behind a dying link; then the link is cut, as a client's timeout would.
    Stall { at: u64 },
}

/// Which links strike, and where.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Links after this many are forwarded faithfully.
    pub faulty: usize,
    /// The first this many links always strike, drop, reset, stall in turn (so
    /// every kind is seen); later faulty links strike 4 times in 5.
    pub always: usize,
    /// The earliest point at which a fault strikes, in bytes through the link.
    pub min_at: u64,
    /// The range of points above `min_at`.
    pub spread: u64,
    /// Only WebSocket upgrades are links: the proxy reads each connection's
    /// request head first, and forwards any other connection (a page's HTTP
    /// loads: its HTML, scripts, styles, words, icons) faithfully, without
    /// numbering it. Off: every connection is a link.
    pub websocket_only: bool,
    /// Which bytes bring a link to its fault.
    pub count: Count,
}

/// The bytes that count towards a link's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Both directions together.
    Both,
    /// One direction, taking turns: odd links count the relay's bytes to the
    /// client (they strike while the client receives), even links the client's
    /// to the relay (while it sends). A client that receives for a while, then
    /// sends, and so on, each phase carrying more than `min_at + spread` bytes
    /// its way and little the other, gets exactly one fault per phase; with
    /// `always: 6`, each kind strikes once each way.
    Alternate,
}

/// Which way bytes go through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// Client to relay.
    Up,
    /// Relay to client.
    Down,
}

/// Faults injected, per kind and per direction, for the log and the assertion
/// that some were.
#[derive(Default)]
pub struct Injected {
    pub drops: AtomicUsize,
    pub resets: AtomicUsize,
    pub stalls: AtomicUsize,
    /// Faults that struck while the client was sending (its bytes to the relay
    /// brought the link to its point).
    pub sending: AtomicUsize,
    /// Faults that struck while the client was receiving.
    pub receiving: AtomicUsize,
    /// Connections forwarded untouched because they were not WebSocket
    /// upgrades (only with [`Plan::websocket_only`]).
    pub spared: AtomicUsize,
}

impl Injected {
    /// (drops, resets, stalls) so far.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.drops.load(Relaxed),
            self.resets.load(Relaxed),
            self.stalls.load(Relaxed),
        )
    }

    /// (while sending, while receiving) so far.
    pub fn directions(&self) -> (usize, usize) {
        (self.sending.load(Relaxed), self.receiving.load(Relaxed))
    }
}

/// How long a stalled direction hangs before the link is cut.
pub const STALL: Duration = Duration::from_millis(300);

/// The fault for link number `n` (1-based) under `plan`.
fn draw(rng: &mut Rng, plan: &Plan, n: usize) -> Fault {
    if n > plan.faulty || (n > plan.always && rng.below(10) < 2) {
        return Fault::None;
    }
    let at = plan.min_at + rng.below(plan.spread);
    let kind = if n <= plan.always {
        (n as u64 - 1) % 3
    } else {
        rng.below(3)
    };
    match kind {
        0 => Fault::Drop { at },
        1 => Fault::Reset { at },
        _ => Fault::Stall { at },
    }
}

/// Listens on loopback and forwards every connection to `relay`, with faults drawn
/// from `seed` as `plan` says.
pub async fn start_proxy(relay: SocketAddr, seed: u64, plan: Plan) -> (SocketAddr, Arc<Injected>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let injected = Arc::new(Injected::default());
    let counts = injected.clone();
    tokio::spawn(async move {
        // Links are numbered and drawn in the order they are known to be links:
        // at accept, or once their request head says WebSocket.
        let draws = Arc::new(Mutex::new((Rng(seed), 0)));
        let next_link = move |draws: &Mutex<(Rng, usize)>| {
            let mut draws = draws.lock().expect("draws");
            draws.1 += 1;
            let n = draws.1;
            let way = match plan.count {
                Count::Both => None,
                Count::Alternate if n % 2 == 1 => Some(Way::Down),
                Count::Alternate => Some(Way::Up),
            };
            (draw(&mut draws.0, &plan, n), way)
        };
        while let Ok((client, _)) = listener.accept().await {
            let link = (!plan.websocket_only).then(|| next_link(&draws));
            let counts = counts.clone();
            let draws = draws.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(relay).await else {
                    return;
                };
                if let Some((fault, way)) = link {
                    proxy(client, server, Vec::new(), fault, way, &counts).await;
                    return;
                }
                let mut client = client;
                let head = request_head(&mut client).await;
                if is_websocket_upgrade(&head) {
                    let (fault, way) = next_link(&draws);
                    proxy(client, server, head, fault, way, &counts).await;
                } else {
                    counts.spared.fetch_add(1, Relaxed);
                    proxy(client, server, head, Fault::None, None, &counts).await;
                }
            });
        }
    });
    (addr, injected)
}

/// The bytes a client sends first, up to the end of its request head (or
/// whatever came before it stopped, or 16 KiB).
async fn request_head(client: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

/// Whether a request head asks to upgrade to a WebSocket.
fn is_websocket_upgrade(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.strip_prefix("upgrade:")
            .is_some_and(|value| value.trim() == "websocket")
    })
}

/// Pumps both ways (after sending `head`, already read from the client, on to the
/// relay) until either side ends or the fault strikes. With `way`, only the bytes
/// going that way count towards the fault.
async fn proxy(
    client: TcpStream,
    server: TcpStream,
    head: Vec<u8>,
    fault: Fault,
    way: Option<Way>,
    counts: &Injected,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (trigger, stall) = match fault {
        Fault::None => (u64::MAX, false),
        Fault::Drop { at } | Fault::Reset { at } => (at, false),
        Fault::Stall { at } => (at, true),
    };
    let passed = AtomicU64::new(0);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    if !head.is_empty() {
        if server_write.write_all(&head).await.is_err() {
            return;
        }
        if way != Some(Way::Down) {
            passed.fetch_add(head.len() as u64, Relaxed);
        }
    }
    let meter = |counted: Way| (way.is_none() || way == Some(counted)).then_some(&passed);
    let up = pump(
        &mut client_read,
        &mut server_write,
        trigger,
        stall,
        meter(Way::Up),
    );
    let down = pump(
        &mut server_read,
        &mut client_write,
        trigger,
        stall,
        meter(Way::Down),
    );
    let struck = tokio::select! {
        struck = up => struck.then_some(Way::Up),
        struck = down => struck.then_some(Way::Down),
    };
    let Some(struck) = struck else {
        return; // one side ended: dropping the halves closes the other
    };
    match struck {
        Way::Up => counts.sending.fetch_add(1, Relaxed),
        Way::Down => counts.receiving.fetch_add(1, Relaxed),
    };
    match fault {
        Fault::None => {}
        Fault::Drop { .. } => {
            counts.drops.fetch_add(1, Relaxed);
        }
        Fault::Reset { .. } => {
            counts.resets.fetch_add(1, Relaxed);
            let client = client_read.reunite(client_write);
            let server = server_read.reunite(server_write);
            for stream in [client, server].into_iter().flatten() {
                let _ = stream.set_zero_linger();
            }
        }
        Fault::Stall { .. } => {
            counts.stalls.fetch_add(1, Relaxed);
        }
    }
}

/// Copies bytes until EOF or an error (false). With a `meter` (the bytes that
/// count towards the fault, shared with the other direction if both count), also
/// until it reaches `trigger` (true; after hanging for [`STALL`] if `stall`).
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    trigger: u64,
    stall: bool,
    meter: Option<&AtomicU64>,
) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut room = buf.len();
        if let Some(passed) = meter {
            let so_far = passed.load(Relaxed);
            if so_far >= trigger {
                if stall {
                    tokio::time::sleep(STALL).await;
                }
                return true;
            }
            room = usize::try_from(trigger - so_far)
                .unwrap_or(usize::MAX)
                .min(room);
        }
        let n = match from.read(&mut buf[..room]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return false;
        }
        if let Some(passed) = meter {
            passed.fetch_add(n as u64, Relaxed);
        }
    }
}
