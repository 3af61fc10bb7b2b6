//! The relay as a library: [`start`] takes a bound listener and a [`Config`], serves
//! WebSocket clients at `/ws`, `GET /healthz` and `GET /metrics` on the same port, and
//! stops gracefully on [`RelayHandle::shutdown`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::Config;
use crate::http;
use crate::metrics::Metrics;
use crate::shared::Shared;
use crate::store::Store;

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
pub async fn start(listener: TcpListener, config: Config) -> anyhow::Result<RelayHandle> {
    let addr = listener
        .local_addr()
        .context("reading the listener's address")?;
    let storage = config.storage.clone();
    let retention = config.retention;
    let store = tokio::task::spawn_blocking(move || Store::open(&storage, retention))
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
            Ok((tcp, peer)) => {
                tracker.spawn(serve_tcp(
                    tcp,
                    peer,
                    shared.clone(),
                    permits.clone(),
                    tracker.clone(),
                ));
            }
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

async fn serve_tcp(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
) {
    // Small control messages (acks, receipts) should not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    http::serve(tcp, peer, shared, permits, tracker).await;
}
