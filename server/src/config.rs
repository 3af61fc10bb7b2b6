//! Everything an operator can tune, with the contract's defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::guard::{HostLimits, Rate};
use crate::protocol::Limits;

/// Where retained items live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// On disk below this directory; survives restarts.
    Disk(PathBuf),
    /// In RAM only (`--memory`); gone when the relay stops.
    Memory,
}

/// How much history each room keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_items: usize,
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_items: 500,
            max_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// The relay's settings. `Config::default()` is what `snapwire-relay` runs with
/// when given no flags, except that the binary puts storage in the platform's data dir.
#[derive(Debug, Clone)]
pub struct Config {
    pub storage: Storage,
    pub retention: Retention,
    /// Required in `hello` when set; compared in constant time.
    pub token: Option<String>,
    /// Largest image, in bytes (default 50 MiB).
    pub max_image_bytes: u64,
    /// Largest `image_chunk` body (default 1 MiB).
    pub max_chunk_bytes: usize,
    /// Largest text body (default 16 KiB).
    pub max_text_bytes: usize,
    /// Images in flight per connection (default 4).
    pub max_uploads: usize,
    /// Bound of each connection's outbound queue, in bytes (default 32 MiB).
    pub outbox_bytes: usize,
    /// The relay-wide memory budget for everything held for connections together:
    /// queued messages, catch-up reads, partly received messages (default 64 MiB,
    /// `--max-memory-mb`; see [`Config::memory_budget`] for its floor).
    pub max_memory_bytes: usize,
    /// The room window: a live image is forwarded only while the least-loaded live
    /// receiver has less than this queued, and a catching-up connection is fed while
    /// its queue holds less (default 4 MiB). See PROTOCOL.md, "Flow control".
    pub room_window_bytes: usize,
    /// How long, in all, a room waits for one live receiver that has a whole room
    /// window queued before it goes on without it; refilled at 5% of the time
    /// passing (default 200 ms). See PROTOCOL.md, "Flow control", and `hold.rs`.
    pub hold_allowance: Duration,
    /// How long a chunk read from retention is kept after its last use, so receivers
    /// catching up moments apart share one read (default 2 s).
    pub catchup_linger: Duration,
    /// Connections past which new ones are refused with HTTP 503 (default 4096).
    pub max_connections: usize,
    /// Time allowed between the upgrade and `hello` (default 10 s).
    pub hello_timeout: Duration,
    /// Interval between pings (default 20 s).
    pub ping_interval: Duration,
    /// A connection silent this long is closed (default 60 s).
    pub idle_timeout: Duration,
    /// A connection that reads nothing this long while data waits is `slow_consumer` (default 60 s).
    pub stalled_timeout: Duration,
    /// Items replayed after `welcome` when `since` is absent (default 50).
    pub replay_latest: usize,
    /// Items (texts and images begun) per second one connection may send,
    /// sustained, with bursts of twice that (a token bucket; default 200).
    pub max_items_per_sec: u32,
    /// The instance name advertised on the LAN (default: the host name).
    pub name: String,
    /// What one source host may hold and how fast it may come back (docs/SECURITY.md).
    pub host_limits: HostLimits,
    /// Browser origins allowed besides the relay's own (`--allow-origin`); `*` allows all.
    pub allowed_origins: Vec<String>,
    /// Bearer token `/metrics` requires when set (`--metrics-token`); `/healthz` stays open.
    pub metrics_token: Option<String>,
    /// An upload that receives no chunk for this long is cancelled (default 60 s).
    pub upload_timeout: Duration,
    /// Receipts one connection may send (default 100/s, bursts of 1,000: a replay of
    /// a whole room's history is answered with a receipt per item); the rest are dropped.
    pub receipts: Rate,
    /// Bytes of history all rooms together keep, uploads in progress included
    /// (`--max-disk-mb`, default 8 GiB); past it the oldest items of the largest rooms go first.
    pub max_history_bytes: u64,
    /// Rooms that may exist at once, on disk or in memory (default 1,000).
    pub max_rooms: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            storage: Storage::Memory,
            retention: Retention::default(),
            token: None,
            max_image_bytes: 50 * 1024 * 1024,
            max_chunk_bytes: 1024 * 1024,
            max_text_bytes: 16 * 1024,
            max_uploads: 4,
            outbox_bytes: 32 * 1024 * 1024,
            max_memory_bytes: 64 * 1024 * 1024,
            room_window_bytes: 4 * 1024 * 1024,
            hold_allowance: crate::hold::ALLOWANCE,
            catchup_linger: Duration::from_secs(2),
            max_connections: 4096,
            hello_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            stalled_timeout: Duration::from_secs(60),
            replay_latest: 50,
            max_items_per_sec: 200,
            name: "snapwire".to_owned(),
            host_limits: HostLimits::default(),
            allowed_origins: Vec::new(),
            metrics_token: None,
            upload_timeout: Duration::from_secs(60),
            receipts: Rate {
                per_sec: 100.0,
                burst: 1000.0,
            },
            max_history_bytes: 8 * 1024 * 1024 * 1024,
            max_rooms: 1000,
        }
    }
}

impl Config {
    /// The limits announced in `welcome`.
    pub fn limits(&self) -> Limits {
        Limits {
            max_image_bytes: self.max_image_bytes,
            max_chunk_bytes: self.max_chunk_bytes as u64,
            max_text_bytes: self.max_text_bytes as u64,
            max_uploads: self.max_uploads as u64,
        }
    }

    /// The memory budget in force: `max_memory_bytes`, but at least 6 of the largest
    /// messages, so that one upload and its relayed copy always fit beside the reserve.
    pub fn memory_budget(&self) -> usize {
        self.max_memory_bytes.max(6 * self.max_message_bytes())
    }

    /// The largest WebSocket message accepted: the contract's `4 + 16384 + max_chunk_bytes`.
    pub fn max_message_bytes(&self) -> usize {
        4 + crate::protocol::MAX_HEADER_BYTES + self.max_chunk_bytes
    }
}
