//! "Host a room on this computer": the relay library in-process, on its own
//! runtime thread, with its data in the app's data directory. The app then
//! connects to it like any other relay, over loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use snapwire_relay::config::{Config, Storage};
use snapwire_relay::lan;
use snapwire_relay::server::RelayHandle;

/// Where the hosted relay listens unless told otherwise: every interface, the default port.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7600);

/// A relay running inside this app.
pub struct Hosted {
    /// Where this app itself connects (loopback).
    pub local_url: String,
    /// What others type: `ip:port` for each LAN address (empty when bound to loopback).
    pub addresses: Vec<String>,
    pub port: u16,
    /// Where it listens.
    pub bound: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    handle: Option<RelayHandle>,
}

impl Hosted {
    /// Starts the relay (blocking: call it off the UI thread). When `listen`'s
    /// port is taken and it is the default one, a free port is used instead.
    pub fn start(listen: SocketAddr, data_dir: PathBuf) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("snapwire-host")
            .enable_all()
            .build()
            .with_context(|| crate::t!("host-no-runtime"))?;
        let config = Config {
            storage: Storage::Disk(data_dir),
            name: lan::host_name(),
            ..Config::default()
        };
        let handle = runtime.block_on(async {
            let listener = match tokio::net::TcpListener::bind(listen).await {
                Ok(l) => l,
                Err(e) if listen.port() == DEFAULT_LISTEN.port() => {
                    tracing::warn!(error = %e, "port {} is taken, using a free one", listen.port());
                    tokio::net::TcpListener::bind(SocketAddr::new(listen.ip(), 0))
                        .await
                        .with_context(|| {
                            crate::t!("host-cannot-listen", address = listen.ip().to_string())
                        })?
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        crate::t!("host-cannot-listen", address = listen.to_string())
                    });
                }
            };
            snapwire_relay::server::start(listener, config).await
        })?;
        let addr = handle.local_addr();
        let port = addr.port();
        let local_ip = if addr.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            addr.ip()
        };
        let addresses = if addr.ip().is_loopback() {
            Vec::new()
        } else if addr.ip().is_unspecified() {
            lan::lan_addresses()
                .into_iter()
                .filter(|ip| ip.is_ipv4() || addr.ip().is_ipv6())
                .map(|ip| typed_address(ip, port))
                .collect()
        } else {
            vec![typed_address(addr.ip(), port)]
        };
        Ok(Self {
            local_url: lan::ws_url(local_ip, port),
            addresses,
            port,
            bound: addr,
            runtime: Some(runtime),
            handle: Some(handle),
        })
    }

    /// The relay's web page for `room`, as a phone on the network opens it: at the
    /// first LAN address, or where it listens when it has none (this computer only).
    pub fn join_link(&self, room: &str) -> String {
        let addr = self
            .addresses
            .iter()
            .find_map(|a| a.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| {
                let ip = if self.bound.ip().is_unspecified() {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    self.bound.ip()
                };
                SocketAddr::new(ip, self.port)
            });
        snapwire_relay::join_link::join_link(addr, room)
    }

    /// Stops the relay, giving connections a moment to close.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let (Some(runtime), Some(handle)) = (self.runtime.take(), self.handle.take()) {
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(3), handle.shutdown()).await;
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Hosted {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// `ip:port` as a person types it (the default port can be left out, but showing it is clearer).
fn typed_address(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}
