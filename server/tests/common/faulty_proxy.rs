//! A TCP proxy for tests that cuts links at seeded random points: it forwards
//! every connection to the relay and, for the links a [`Plan`] picks, drops
//! (FIN both ways), resets (RST both ways) or stalls the link once a drawn
//! number of bytes has passed it. Seeded, so a failing run can be replayed.
//!
//! One file used by two packages' tests: the relay's
//! (`server/tests/fault_network_cuts.rs`, protocol clients) and the app's
//! (`tests/app_net_cuts.rs`, the app's own network worker), each through a
//! `#[path]` module, so both cut links the same way.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
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
}

/// Faults injected, per kind, for the log and the assertion that some were.
#[derive(Default)]
pub struct Injected {
    pub drops: AtomicUsize,
    pub resets: AtomicUsize,
    pub stalls: AtomicUsize,
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
        let mut rng = Rng(seed);
        let mut n = 0;
        while let Ok((client, _)) = listener.accept().await {
            n += 1;
            let fault = draw(&mut rng, &plan, n);
            let counts = counts.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(relay).await {
                    proxy(client, server, fault, &counts).await;
                }
            });
        }
    });
    (addr, injected)
}

/// Pumps both ways until either side ends or the fault strikes.
async fn proxy(client: TcpStream, server: TcpStream, fault: Fault, counts: &Injected) {
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
    let up = pump(&mut client_read, &mut server_write, trigger, stall, &passed);
    let down = pump(&mut server_read, &mut client_write, trigger, stall, &passed);
    let struck = tokio::select! {
        struck = up => struck,
        struck = down => struck,
    };
    if !struck {
        return; // one side ended: dropping the halves closes the other
    }
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

/// Copies bytes until EOF or an error (false), or until `passed` (both directions)
/// reaches `trigger` (true; after hanging for [`STALL`] if `stall`).
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    trigger: u64,
    stall: bool,
    passed: &AtomicU64,
) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let so_far = passed.load(Relaxed);
        if so_far >= trigger {
            if stall {
                tokio::time::sleep(STALL).await;
            }
            return true;
        }
        let room = usize::try_from(trigger - so_far)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = match from.read(&mut buf[..room]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return false;
        }
        passed.fetch_add(n as u64, Relaxed);
    }
}
