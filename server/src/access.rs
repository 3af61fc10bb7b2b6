//! Who may use the relay's HTTP side besides native clients: browser pages (by their
//! `Origin`) and scrapers of `/metrics` (by a bearer token).
//!
//! A browser sends `Origin` with every WebSocket upgrade, and any web page a LAN user
//! opens can try `ws://<relay>/ws`: without this check such a page could join the
//! lobby and read its history. The relay's own page (served at `/`) has the relay's
//! own origin: the same host and port as the request's `Host`. Native clients send
//! no `Origin` and are not affected.
//!
//! DNS rebinding: a hostile page can make its own name resolve to the relay, and then
//! its origin matches `Host` too. So the relay's own origin counts only when `Host`
//! is an address, `localhost`, a `.local` (mDNS) name, or this machine's own host
//! name; any other name (a DNS name of the relay) must be allowed with `--allow-origin`.

use std::net::IpAddr;

use crate::protocol::validate::constant_time_eq;

/// Whether an upgrade with this `Origin` and `Host` may proceed.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true; // not a browser
    };
    let origin = origin.trim().trim_end_matches('/');
    if allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false; // "null", file://, extensions
    };
    let Some(host) = host.map(str::trim) else {
        return false;
    };
    authority.eq_ignore_ascii_case(host) && is_own_name(host)
}

/// An address, `localhost`, or an mDNS name: names a hostile page cannot rebind.
fn is_own_name(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest
            .split(']')
            .next()
            .is_some_and(|v6| v6.parse::<IpAddr>().is_ok());
    } else {
        host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        })
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".local")
        || name == machine_name()
}

/// This machine's host name, lowercase: a page served under it comes from the relay.
fn machine_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| crate::lan::host_name().to_ascii_lowercase())
}

/// Whether a `/metrics` request may see the page: always without a token, else
/// only with `Authorization: Bearer <token>` (compared in constant time).
pub fn metrics_authorized(authorization: Option<&[u8]>, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    let Some(given) = authorization.and_then(|a| a.strip_prefix(b"Bearer ")) else {
        return false;
    };
    constant_time_eq(given.trim_ascii(), token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_clients_and_the_relays_own_page_pass() {
        assert!(origin_allowed(None, Some("192.168.1.5:7600"), &[]));
        assert!(origin_allowed(
            Some("http://192.168.1.5:7600"),
            Some("192.168.1.5:7600"),
            &[]
        ));
        assert!(origin_allowed(
            Some("http://LOCALHOST:7600"),
            Some("localhost:7600"),
            &[]
        ));
        assert!(origin_allowed(
            Some("http://[fd00::1]:7600"),
            Some("[fd00::1]:7600"),
            &[]
        ));
        assert!(origin_allowed(
            Some("http://studio.local:7600"),
            Some("studio.local:7600"),
            &[]
        ));
        let me = format!("{}:7600", crate::lan::host_name());
        assert!(origin_allowed(
            Some(&format!("http://{me}")),
            Some(&me),
            &[]
        ));
    }

    #[test]
    fn other_pages_are_refused_unless_allowed() {
        let host = Some("192.168.1.5:7600");
        for origin in [
            "https://evil.example",
            "http://192.168.1.5:7601",
            "http://192.168.1.6:7600",
            "null",
            "file://",
        ] {
            assert!(!origin_allowed(Some(origin), host, &[]), "{origin}");
        }
        let allowed = vec!["https://evil.example/".to_owned()];
        assert!(origin_allowed(Some("https://evil.example"), host, &allowed));
        assert!(origin_allowed(Some("null"), host, &["*".to_owned()]));
        // A rebound name matches its own Host, but is no name of the relay's.
        assert!(!origin_allowed(
            Some("http://evil.example:7600"),
            Some("evil.example:7600"),
            &[]
        ));
        assert!(!origin_allowed(Some("http://192.168.1.5:7600"), None, &[]));
    }

    #[test]
    fn metrics_need_the_bearer_token_when_one_is_set() {
        assert!(metrics_authorized(None, None));
        assert!(metrics_authorized(Some(b"Bearer s3cret"), Some("s3cret")));
        assert!(!metrics_authorized(Some(b"Bearer wrong"), Some("s3cret")));
        assert!(!metrics_authorized(Some(b"s3cret"), Some("s3cret")));
        assert!(!metrics_authorized(None, Some("s3cret")));
    }
}
