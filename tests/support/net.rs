//! A real relay on 127.0.0.1:0 and the network worker connected to it,
//! waiting for its events with a time bound.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use snapwire::net::{NetHandle, Repaint};
use snapwire::settings::Target;
use snapwire::state::Event;
use snapwire_relay::config::{Config, Storage};
use snapwire_relay::server::RelayHandle;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(30);

pub async fn start_relay(addr: SocketAddr, storage: Storage) -> RelayHandle {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind relay");
    let config = Config {
        storage,
        ..Config::default()
    };
    snapwire_relay::server::start(listener, config)
        .await
        .expect("start relay")
}

pub async fn memory_relay() -> RelayHandle {
    start_relay("127.0.0.1:0".parse().expect("addr"), Storage::Memory).await
}

pub fn disk(dir: &Path) -> Storage {
    Storage::Disk(dir.to_path_buf())
}

pub fn target(relay: SocketAddr, name: &str) -> Target {
    Target {
        url: format!("ws://{relay}/ws"),
        name: name.to_owned(),
        room: "lobby".to_owned(),
        token: None,
    }
}

pub fn secret(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

pub fn no_repaint() -> Repaint {
    Arc::new(|| {})
}

pub fn connect(relay: SocketAddr, name: &str, n: u8) -> NetHandle {
    NetHandle::spawn(target(relay, name), secret(n), no_repaint()).expect("spawn worker")
}

/// Waits for the first event that `want` picks, keeping every event seen in `log`.
pub async fn wait_for<T>(
    net: &mut NetHandle,
    log: &mut Vec<Event>,
    what: &str,
    mut want: impl FnMut(&Event) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let Some(event) = net.recv().await else {
                panic!("worker stopped while waiting for {what}");
            };
            let hit = want(&event);
            log.push(event);
            if let Some(hit) = hit {
                return hit;
            }
        }
    })
    .await;
    match found {
        Ok(hit) => hit,
        Err(_) => panic!("no {what} within {WAIT:?}; saw {:#?}", summarize(log)),
    }
}

/// Collects whatever arrives within `window` (used only to make sure nothing *extra* arrives).
pub async fn drain_for(net: &mut NetHandle, log: &mut Vec<Event>, window: Duration) {
    let _ = tokio::time::timeout(window, async {
        while let Some(event) = net.recv().await {
            log.push(event);
        }
    })
    .await;
}

pub fn summarize(log: &[Event]) -> Vec<String> {
    log.iter()
        .map(|e| match e {
            Event::ImageComplete { bytes, .. } => format!("ImageComplete({} bytes)", bytes.len()),
            Event::ImageProgress { .. } => "ImageProgress".into(),
            Event::UploadProgress { .. } => "UploadProgress".into(),
            other => format!("{other:?}").chars().take(200).collect(),
        })
        .collect()
}

pub async fn welcomed(
    net: &mut NetHandle,
    log: &mut Vec<Event>,
) -> snapwire_relay::protocol::Welcome {
    wait_for(net, log, "welcome", |e| match e {
        Event::Welcome(w) => Some(w.clone()),
        _ => None,
    })
    .await
}
