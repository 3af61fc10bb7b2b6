//! LAN discovery with mDNS / DNS-SD: the relay advertises `_snapwire._tcp.local.`
//! with TXT `v=1`, `auth=token|none`, `tls=0|1`; the app browses for it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};

/// The DNS-SD service type of a Snapwire relay.
pub const SERVICE_TYPE: &str = "_snapwire._tcp.local.";

/// What a relay says about itself in its TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub instance: String,
    pub port: u16,
    pub needs_token: bool,
    pub tls: bool,
}

impl Advert {
    /// The TXT properties of the contract.
    pub fn txt(&self) -> HashMap<String, String> {
        HashMap::from([
            ("v".to_owned(), "1".to_owned()),
            (
                "auth".to_owned(),
                if self.needs_token { "token" } else { "none" }.to_owned(),
            ),
            (
                "tls".to_owned(),
                if self.tls { "1" } else { "0" }.to_owned(),
            ),
        ])
    }
}

/// A running advertisement; withdrawn when dropped.
pub struct Advertiser {
    daemon: ServiceDaemon,
    fullname: String,
}

impl Advertiser {
    /// Announces the relay on every interface (or only on `addrs`, when given).
    pub fn start(advert: &Advert, addrs: &[IpAddr]) -> Result<Advertiser, mdns_sd::Error> {
        let daemon = ServiceDaemon::new()?;
        let host = format!("{}.local.", sanitize_host(&crate::lan::host_name()));
        let info = ServiceInfo::new(
            SERVICE_TYPE,
            &advert.instance,
            &host,
            addrs,
            advert.port,
            advert.txt(),
        )?;
        let info = if addrs.is_empty() {
            info.enable_addr_auto()
        } else {
            info
        };
        let fullname = info.get_fullname().to_owned();
        daemon.register(info)?;
        Ok(Advertiser { daemon, fullname })
    }
}

impl Drop for Advertiser {
    fn drop(&mut self) {
        // Wait (briefly) for the daemon to send its goodbye, so browsers drop the
        // relay at once instead of when its record expires.
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            let _ = done.recv_timeout(Duration::from_secs(1));
        }
        if let Ok(done) = self.daemon.shutdown() {
            let _ = done.recv_timeout(Duration::from_secs(1));
        }
    }
}

/// A relay seen on the LAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRelay {
    /// The DNS-SD full name; the key for updates and removal.
    pub fullname: String,
    /// The operator's name for it (the instance part of the full name).
    pub instance: String,
    pub addrs: Vec<IpAddr>,
    pub port: u16,
    pub needs_token: bool,
    pub tls: bool,
}

impl FoundRelay {
    /// Reads a resolved service. `None` when it speaks another protocol version
    /// or has no address.
    pub fn from_parts(
        fullname: &str,
        port: u16,
        addrs: impl IntoIterator<Item = IpAddr>,
        txt: impl Fn(&str) -> Option<String>,
    ) -> Option<FoundRelay> {
        if txt("v").as_deref() != Some("1") {
            return None;
        }
        let mut addrs: Vec<IpAddr> = addrs.into_iter().collect();
        addrs.sort_by_key(|ip| (ip.is_ipv6(), *ip));
        if addrs.is_empty() {
            return None;
        }
        Some(FoundRelay {
            fullname: fullname.to_owned(),
            instance: instance_of(fullname),
            addrs,
            port,
            needs_token: txt("auth").as_deref() == Some("token"),
            tls: txt("tls").as_deref() == Some("1"),
        })
    }

    /// A URL to connect to it: its first address (IPv4 first).
    pub fn url(&self) -> Option<String> {
        let ip = self.addrs.first()?;
        let scheme = if self.tls { "wss" } else { "ws" };
        Some(match ip {
            IpAddr::V4(v4) => format!("{scheme}://{v4}:{}/ws", self.port),
            IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{}/ws", self.port),
        })
    }
}

/// The instance label of a full name, unescaped (`My\ relay._snapwire._tcp.local.` → `My relay`).
fn instance_of(fullname: &str) -> String {
    let instance = fullname
        .strip_suffix(SERVICE_TYPE)
        .map(|s| s.trim_end_matches('.'))
        .unwrap_or(fullname);
    let mut out = String::with_capacity(instance.len());
    let mut chars = instance.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What browsing reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowseEvent {
    Found(FoundRelay),
    /// The relay with this full name is gone.
    Lost(String),
}

/// Browses the LAN for relays until dropped.
pub struct Browser {
    daemon: ServiceDaemon,
    events: mdns_sd::Receiver<ServiceEvent>,
}

impl Browser {
    pub fn start() -> Result<Browser, mdns_sd::Error> {
        let daemon = ServiceDaemon::new()?;
        let events = daemon.browse(SERVICE_TYPE)?;
        Ok(Browser { daemon, events })
    }

    /// The next event, waiting at most `wait`.
    pub fn next_event(&self, wait: Duration) -> Option<BrowseEvent> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let event = self.events.recv_timeout(left).ok()?;
            if let Some(event) = translate(event) {
                return Some(event);
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.daemon.stop_browse(SERVICE_TYPE);
        let _ = self.daemon.shutdown();
    }
}

fn translate(event: ServiceEvent) -> Option<BrowseEvent> {
    match event {
        ServiceEvent::ServiceResolved(service) => FoundRelay::from_parts(
            &service.fullname,
            service.port,
            service.addresses.iter().map(|ip| ip.to_ip_addr()),
            |key| {
                service
                    .txt_properties
                    .get_property_val_str(key)
                    .map(str::to_owned)
            },
        )
        .map(BrowseEvent::Found),
        ServiceEvent::ServiceRemoved(_, fullname) => Some(BrowseEvent::Lost(fullname)),
        _ => None,
    }
}

/// A host name usable as a DNS label.
fn sanitize_host(name: &str) -> String {
    let label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    if label.is_empty() {
        "snapwire".to_owned()
    } else {
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_follows_the_contract() {
        let advert = Advert {
            instance: "x".into(),
            port: 7600,
            needs_token: true,
            tls: false,
        };
        let txt = advert.txt();
        assert_eq!(txt["v"], "1");
        assert_eq!(txt["auth"], "token");
        assert_eq!(txt["tls"], "0");
    }

    fn txt_of(advert: &Advert) -> impl Fn(&str) -> Option<String> + use<> {
        let txt = advert.txt();
        move |key| txt.get(key).cloned()
    }

    #[test]
    fn a_resolved_service_becomes_a_found_relay() {
        let advert = Advert {
            instance: "Ana's relay".into(),
            port: 7600,
            needs_token: true,
            tls: false,
        };
        let found = FoundRelay::from_parts(
            "Ana's\\ relay._snapwire._tcp.local.",
            7600,
            [
                "fd00::1".parse().expect("ip"),
                "192.0.2.7".parse().expect("ip"),
            ],
            txt_of(&advert),
        )
        .expect("found");
        assert_eq!(found.instance, "Ana's relay");
        assert!(found.needs_token);
        assert!(!found.tls);
        assert_eq!(
            found.url().as_deref(),
            Some("ws://192.0.2.7:7600/ws"),
            "IPv4 first"
        );
    }

    #[test]
    fn other_versions_and_addressless_services_are_skipped() {
        let advert = Advert {
            instance: "x".into(),
            port: 1,
            needs_token: false,
            tls: true,
        };
        let no_addr = FoundRelay::from_parts("x._snapwire._tcp.local.", 1, [], txt_of(&advert));
        assert_eq!(no_addr, None);
        let v2 = FoundRelay::from_parts(
            "x._snapwire._tcp.local.",
            1,
            ["192.0.2.1".parse().expect("ip")],
            |k| (k == "v").then(|| "2".to_owned()),
        );
        assert_eq!(v2, None);
        let tls = FoundRelay::from_parts(
            "x._snapwire._tcp.local.",
            9,
            ["fd00::2".parse().expect("ip")],
            txt_of(&advert),
        )
        .expect("found");
        assert_eq!(tls.url().as_deref(), Some("wss://[fd00::2]:9/ws"));
    }

    #[test]
    fn host_labels_are_dns_safe() {
        assert_eq!(sanitize_host("my box.lan"), "my-box-lan");
        assert_eq!(sanitize_host(""), "snapwire");
    }
}
