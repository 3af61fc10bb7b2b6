//! LAN discovery with mDNS / DNS-SD: the relay advertises `_snapwire._tcp.local.`
//! with TXT `v=1`, `auth=token|none`, `tls=0|1`; the app browses for it.

use std::collections::HashMap;
use std::net::IpAddr;

use mdns_sd::{ServiceDaemon, ServiceInfo};

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
        let _ = self.daemon.unregister(&self.fullname);
        let _ = self.daemon.shutdown();
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

    #[test]
    fn host_labels_are_dns_safe() {
        assert_eq!(sanitize_host("my box.lan"), "my-box-lan");
        assert_eq!(sanitize_host(""), "snapwire");
    }
}
