//! The addresses people on the LAN can type to reach this host.

use std::net::IpAddr;

/// Non-loopback addresses of interfaces that are up, IPv4 first. Link-local IPv6
/// addresses are left out: they need a zone to be typed.
pub fn lan_addresses() -> Vec<IpAddr> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut addrs: Vec<IpAddr> = interfaces
        .iter()
        .filter(|i| !i.is_loopback() && i.oper_status == if_addrs::IfOperStatus::Up)
        .map(if_addrs::Interface::ip)
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_link_local(),
            IpAddr::V6(v6) => !v6.is_unicast_link_local(),
        })
        .collect();
    addrs.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    addrs.dedup();
    addrs
}

/// The host's name, for the advertised instance name and the start-up line.
pub fn host_name() -> String {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    if name.is_empty() {
        "snapwire".to_owned()
    } else {
        name
    }
}

/// A URL people can type for `addr`: `ws://HOST:PORT/ws` (IPv6 in brackets).
pub fn ws_url(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ws://{v4}:{port}/ws"),
        IpAddr::V6(v6) => format!("ws://[{v6}]:{port}/ws"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_bracket_ipv6() {
        assert_eq!(
            ws_url("192.168.1.20".parse().expect("ip"), 7600),
            "ws://192.168.1.20:7600/ws"
        );
        assert_eq!(
            ws_url("fd00::1".parse().expect("ip"), 80),
            "ws://[fd00::1]:80/ws"
        );
    }

    #[test]
    fn no_loopback_addresses_are_offered() {
        assert!(lan_addresses().iter().all(|ip| !ip.is_loopback()));
    }
}
