//! Relays on the LAN, as the connect view lists them.
//!
//! A background thread pulls [`BrowseEvent`]s from a [`BrowseSource`] (the
//! relay library's mDNS [`Browser`], or a test's recorded events) into a
//! bounded channel (64 events; when it is full the thread waits, and the mDNS
//! daemon keeps buffering) and asks for a repaint. The UI drains it each frame
//! into a [`FoundList`], a pure model: found replaces by full name, lost removes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use snapwire_relay::discovery::{Advert, Advertiser, Browser};
pub use snapwire_relay::discovery::{BrowseEvent, FoundRelay};

use crate::repaint::Repaint;

/// How often the thread looks at its stop flag while nothing happens.
const POLL: Duration = Duration::from_millis(300);

/// Where browse events come from.
pub trait BrowseSource: Send + 'static {
    /// The next event, waiting at most `wait`.
    fn next_event(&mut self, wait: Duration) -> Option<BrowseEvent>;
}

impl BrowseSource for Browser {
    fn next_event(&mut self, wait: Duration) -> Option<BrowseEvent> {
        Browser::next_event(self, wait)
    }
}

/// Events fed by a test (or anything else) through a channel.
impl BrowseSource for mpsc::Receiver<BrowseEvent> {
    fn next_event(&mut self, wait: Duration) -> Option<BrowseEvent> {
        self.recv_timeout(wait).ok()
    }
}

/// Makes the source on the discovery thread (the mDNS daemon starts there, not on the UI thread).
pub type SourceMaker = Box<dyn FnOnce() -> Result<Box<dyn BrowseSource>, String> + Send>;

/// The real thing: mDNS browsing for `_snapwire._tcp.local.`.
pub fn mdns() -> SourceMaker {
    Box::new(|| {
        Browser::start()
            .map(|b| Box::new(b) as Box<dyn BrowseSource>)
            .map_err(|e| e.to_string())
    })
}

/// A source from already-made events (tests).
pub fn from_channel(rx: mpsc::Receiver<BrowseEvent>) -> SourceMaker {
    Box::new(move || Ok(Box::new(rx) as Box<dyn BrowseSource>))
}

/// The running browser thread; stops (and withdraws its mDNS query) when dropped.
pub struct Discovery {
    events: mpsc::Receiver<Result<BrowseEvent, String>>,
    stop: Arc<AtomicBool>,
}

impl Discovery {
    pub fn spawn(make: SourceMaker, repaint: Repaint) -> Self {
        let (tx, rx) = mpsc::sync_channel(64);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("snapwire-discovery".into())
            .spawn(move || {
                let mut source = match make() {
                    Ok(source) => source,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot look for relays on the network");
                        let _ = tx.send(Err(e));
                        repaint();
                        return;
                    }
                };
                while !stopping.load(Ordering::Relaxed) {
                    if let Some(event) = source.next_event(POLL) {
                        if tx.send(Ok(event)).is_err() {
                            return;
                        }
                        repaint();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start looking for relays");
        }
        Self { events: rx, stop }
    }

    /// Moves what arrived into `list`; an error is kept for the connect view.
    pub fn drain(&self, list: &mut FoundList) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                Ok(event) => list.apply(event),
                Err(e) => list.error = Some(e),
            }
        }
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The relays currently seen, sorted by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FoundList {
    pub relays: Vec<FoundRelay>,
    /// Why browsing could not start, if it could not.
    pub error: Option<String>,
}

impl FoundList {
    pub fn apply(&mut self, event: BrowseEvent) {
        match event {
            BrowseEvent::Found(relay) => {
                match self
                    .relays
                    .iter_mut()
                    .find(|r| r.fullname == relay.fullname)
                {
                    Some(known) => *known = relay,
                    None => self.relays.push(relay),
                }
                self.relays.sort_by_key(|r| r.instance.to_lowercase());
            }
            BrowseEvent::Lost(fullname) => self.relays.retain(|r| r.fullname != fullname),
        }
    }
}

/// What the address field gets for a found relay: `ip:port`, as a person would type it.
pub fn typed_address(relay: &FoundRelay) -> Option<String> {
    let url = relay.url()?;
    if relay.tls {
        // The form says in words that wss:// is not supported yet.
        return Some(url);
    }
    Some(
        url.trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .to_owned(),
    )
}

/// The name a hosted room is announced under: the host's name, and the room
/// when it is not the default one ("Ana (room garden)"), so that a click on it
/// joins that room (see [`room_of`]).
pub fn instance_for(name: &str, room: &str) -> String {
    if room == snapwire_relay::protocol::validate::DEFAULT_ROOM {
        name.to_owned()
    } else {
        format!("{name} (room {room})")
    }
}

/// The room an announced name carries, if it was made by [`instance_for`].
pub fn room_of(instance: &str) -> Option<String> {
    let room = instance.strip_suffix(')')?.rsplit_once(" (room ")?.1;
    crate::settings::check_room(room).ok()
}

/// Announces a room hosted here; withdrawn when dropped.
pub fn advertise(instance: &str, port: u16) -> Result<Advertiser, String> {
    Advertiser::start(
        &Advert {
            instance: instance.to_owned(),
            port,
            needs_token: false,
            tls: false,
        },
        &[],
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(name: &str, ip: &str) -> FoundRelay {
        FoundRelay {
            fullname: format!("{name}._snapwire._tcp.local."),
            instance: name.to_owned(),
            addrs: vec![ip.parse().expect("ip")],
            port: 7600,
            needs_token: false,
            tls: false,
        }
    }

    #[test]
    fn found_replaces_and_lost_removes() {
        let mut list = FoundList::default();
        list.apply(BrowseEvent::Found(relay("b", "192.0.2.1")));
        list.apply(BrowseEvent::Found(relay("a", "192.0.2.2")));
        list.apply(BrowseEvent::Found(relay("b", "192.0.2.3")));
        let names: Vec<_> = list.relays.iter().map(|r| r.instance.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            typed_address(&list.relays[1]).as_deref(),
            Some("192.0.2.3:7600")
        );
        list.apply(BrowseEvent::Lost("a._snapwire._tcp.local.".into()));
        assert_eq!(list.relays.len(), 1);
    }

    #[test]
    fn a_hosted_room_is_announced_with_its_room() {
        assert_eq!(instance_for("Ana", "lobby"), "Ana");
        assert_eq!(instance_for("Ana", "garden"), "Ana (room garden)");
        assert_eq!(room_of("Ana (room garden)").as_deref(), Some("garden"));
        assert_eq!(room_of("Ana"), None);
        assert_eq!(
            room_of("Kitchen (room with a view)"),
            None,
            "not a room name"
        );
    }
}
