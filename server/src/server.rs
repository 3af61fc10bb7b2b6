//! The relay as a library: [`start`] takes a bound listener and a [`Config`], serves
//! WebSocket clients at `/ws`, `GET /healthz` and `GET /metrics` on the same port, and
//! stops gracefully on [`RelayHandle::shutdown`].
//!
//! Every TCP connection is admitted by the per-host [`Guard`](crate::guard::Guard)
//! before anything is read from it: a host past its cap or its rate of new
//! connections gets a one-line `429` and the socket is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::guard::{HostPermit, Refusal};
use crate::http;
use crate::metrics::Metrics;
use crate::shared::Shared;
use crate::store::{Budgets, Store};

/// How long connections get to say goodbye when the relay stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running relay.
pub struct RelayHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl RelayHandle {
    /// The address the relay listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The relay's counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// Rooms held in RAM now.
    pub fn rooms_in_memory(&self) -> usize {
        self.shared.rooms_in_memory()
    }

    /// Rooms that exist, on disk or in memory, loaded or not.
    pub fn rooms_existing(&self) -> usize {
        self.shared.store.room_count()
    }

    /// Whether the room's retention is in RAM now.
    pub fn room_is_loaded(&self, room: &str) -> bool {
        self.shared.store.is_loaded(room)
    }

    /// Bytes of history all rooms keep, uploads in progress included.
    pub fn history_bytes(&self) -> u64 {
        self.shared.store.history_bytes()
    }

    /// Bytes the loaded rooms hold in RAM (items, texts, previews).
    pub fn history_ram_bytes(&self) -> u64 {
        self.shared.store.ram_bytes()
    }

    /// Waits until at most `n` rooms are in RAM; false if that did not happen `within`.
    pub async fn wait_rooms_in_memory(&self, n: usize, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let changed = self.shared.rooms_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.rooms_in_memory() <= n {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.rooms_in_memory() <= n;
            }
        }
    }

    /// Stops accepting, tells every client `server_shutdown`, waits for them to go
    /// (at most 10 s). Every acked item is already durable.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shared.stop_streams();
        self.shared.shutdown.cancel();
        self.task.await.context("the relay task failed")?;
        info!("relay stopped");
        Ok(())
    }
}

/// Opens the store and starts serving on `listener`.
pub async fn start(listener: TcpListener, mut config: Config) -> anyhow::Result<RelayHandle> {
    config.max_connections = crate::fdlimit::fit(config.max_connections, config.max_uploads);
    let addr = listener
        .local_addr()
        .context("reading the listener's address")?;
    let storage = config.storage.clone();
    let retention = config.retention;
    let budgets = Budgets {
        max_bytes: config.max_history_bytes,
        max_rooms: config.max_rooms,
    };
    let store = tokio::task::spawn_blocking(move || {
        let store = Store::open_with(&storage, retention, budgets)?;
        // The budget may have been lowered since the last run.
        store.enforce_budget();
        Ok::<_, crate::store::StoreError>(store)
    })
    .await
    .context("opening the store")?
    .with_context(|| match &config.storage {
        crate::config::Storage::Disk(dir) => {
            format!("cannot use data directory {}", dir.display())
        }
        crate::config::Storage::Memory => "cannot open the in-memory store".to_owned(),
    })?;
    let shared = Arc::new(Shared::new(config, store));
    let task = tokio::spawn(accept_loop(listener, shared.clone()));
    Ok(RelayHandle { addr, shared, task })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let tracker = TaskTracker::new();
    let permits = Arc::new(Semaphore::new(shared.config.max_connections));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.shutdown.cancelled() => break,
        };
        match accepted {
            Ok((tcp, peer)) => match shared.guard.admit(peer.ip()) {
                Ok(host) => {
                    tracker.spawn(serve_tcp(
                        tcp,
                        peer,
                        host,
                        shared.clone(),
                        permits.clone(),
                        tracker.clone(),
                    ));
                }
                Err(refusal) => {
                    shared.metrics.host_refusals.fetch_add(1, Relaxed);
                    debug!(%peer, why = refusal.as_str(), "connection refused");
                    refuse(&tcp, refusal);
                }
            },
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        warn!("some connections did not close in time");
    }
}

/// Tells a refused peer why, if its socket takes the line at once, and closes it.
/// Never waits: a host that is refused must not hold a task either.
fn refuse(tcp: &TcpStream, refusal: Refusal) {
    let why = refusal.as_str();
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{why}\n",
        why.len() + 1
    );
    let _ = tcp.try_write(response.as_bytes());
}

async fn serve_tcp(
    tcp: TcpStream,
    peer: SocketAddr,
    host: HostPermit,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
) {
    // Small control messages (acks, receipts) should not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    http::serve(tcp, peer, host, shared, permits, tracker).await;
}
