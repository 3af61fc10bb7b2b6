//! Per source address limits: what one host on the LAN may hold, and how fast it may
//! come back. A relay is reachable by every device on the Wi-Fi, so no single host
//! may take all of it (docs/SECURITY.md).
//!
//! A "host" is an IPv4 address, or an IPv6 /64: one device on an IPv6 LAN can use
//! as many addresses of its /64 as it likes, so counting single addresses would
//! count nothing.
//!
//! Every limit is a token bucket (a sustained rate and a burst) except the number of
//! connections a host holds at once. The defaults (see [`HostLimits::default`]) let
//! a classroom of 40 behind one NAT'd guest network connect, join and share at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A sustained rate with bursts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_sec: f64,
    /// Tokens a bucket holds at most (and starts with).
    pub burst: f64,
}

impl Rate {
    /// `n` per minute, with bursts of `burst`.
    pub fn per_minute(n: f64, burst: f64) -> Rate {
        Rate {
            per_sec: n / 60.0,
            burst,
        }
    }
}

/// What one host may do. Every figure is per host (IPv4 address or IPv6 /64).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostLimits {
    /// TCP connections held at once (default 128: 40 devices with three windows each).
    pub max_connections: usize,
    /// New TCP connections (default 20/s, bursts of 128).
    pub new_connections: Rate,
    /// Rooms joined, so also presence messages caused (default 2/s, bursts of 80).
    pub joins: Rate,
    /// Hellos with a wrong token (default 5 a minute, bursts of 5); past that every
    /// hello of the host is answered `rate_limited` and closed until the bucket refills.
    pub bad_tokens: Rate,
    /// Items (texts and images begun) across all rooms (default 300 a minute, bursts of 200).
    pub items: Rate,
    /// Bytes of items (texts, images' announced sizes) across all rooms (default
    /// 256 MiB a minute, bursts of 512 MiB): a room's default 1 GiB of history takes
    /// one host at least two minutes to push out.
    pub item_bytes: Rate,
}

impl Default for HostLimits {
    fn default() -> Self {
        const MIB: f64 = 1024.0 * 1024.0;
        Self {
            max_connections: 128,
            new_connections: Rate {
                per_sec: 20.0,
                burst: 128.0,
            },
            joins: Rate {
                per_sec: 2.0,
                burst: 80.0,
            },
            bad_tokens: Rate::per_minute(5.0, 5.0),
            items: Rate::per_minute(300.0, 200.0),
            item_bytes: Rate::per_minute(256.0 * MIB, 512.0 * MIB),
        }
    }
}

impl HostLimits {
    /// No per-host limit at all: for load tests and benchmarks whose thousands of
    /// clients all come from one machine. Never on a real network.
    pub fn unlimited() -> HostLimits {
        let plenty = Rate {
            per_sec: 1e12,
            burst: 1e15,
        };
        HostLimits {
            max_connections: usize::MAX,
            new_connections: plenty,
            joins: plenty,
            bad_tokens: plenty,
            items: plenty,
            item_bytes: plenty,
        }
    }
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The host already holds its maximum of connections.
    TooManyConnections,
    /// The host opens connections faster than allowed.
    TooFast,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::TooManyConnections => "this host holds too many connections to the relay",
            Refusal::TooFast => "this host opens connections too fast",
        }
    }
}

/// Hosts tracked before idle ones are swept out.
const SWEEP_AT: usize = 1024;

/// The per-host ledger. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Guard {
    limits: HostLimits,
    hosts: Mutex<HashMap<HostKey, Host>>,
}

/// A host as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostKey(IpAddr);

impl HostKey {
    pub fn of(ip: IpAddr) -> HostKey {
        match ip {
            IpAddr::V4(v4) => HostKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => HostKey(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    HostKey(IpAddr::V6(bits.into()))
                }
            },
        }
    }
}

#[derive(Debug)]
struct Host {
    connections: usize,
    new_connections: Bucket,
    joins: Bucket,
    bad_tokens: Bucket,
    items: Bucket,
    item_bytes: Bucket,
}

impl Host {
    fn new(limits: &HostLimits, now: Instant) -> Host {
        Host {
            connections: 0,
            new_connections: Bucket::full(limits.new_connections, now),
            joins: Bucket::full(limits.joins, now),
            bad_tokens: Bucket::full(limits.bad_tokens, now),
            items: Bucket::full(limits.items, now),
            item_bytes: Bucket::full(limits.item_bytes, now),
        }
    }

    /// Nothing held and every bucket full again: forgetting it changes nothing.
    fn is_idle(&mut self, now: Instant) -> bool {
        self.connections == 0
            && [
                &mut self.new_connections,
                &mut self.joins,
                &mut self.bad_tokens,
                &mut self.items,
                &mut self.item_bytes,
            ]
            .into_iter()
            .all(|b| b.is_full(now))
    }
}

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            rate,
            tokens: rate.burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate.per_sec).min(self.rate.burst);
    }

    /// Takes `n` tokens if there are that many. A request larger than the whole
    /// burst is allowed from a full bucket (and empties it), so nothing the other
    /// limits accept is refused forever.
    fn take(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n || (self.tokens >= self.rate.burst && n > self.rate.burst) {
            self.tokens = (self.tokens - n).max(0.0);
            true
        } else {
            false
        }
    }

    /// Whether at least one token is left, without taking it.
    fn has(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.rate.burst
    }

    /// Time until `n` tokens are there (zero if they are).
    fn wait_for(&mut self, n: f64, now: Instant) -> Duration {
        self.refill(now);
        let missing = (n.min(self.rate.burst) - self.tokens).max(0.0);
        if self.rate.per_sec <= 0.0 {
            return Duration::MAX;
        }
        Duration::from_secs_f64(missing / self.rate.per_sec)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Guard {
    pub fn new(limits: HostLimits) -> Arc<Guard> {
        Arc::new(Guard {
            limits,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    fn with_host<T>(&self, ip: IpAddr, f: impl FnOnce(&mut Host, Instant) -> T) -> T {
        let now = Instant::now();
        let mut hosts = lock(&self.hosts);
        let host = hosts
            .entry(HostKey::of(ip))
            .or_insert_with(|| Host::new(&self.limits, now));
        f(host, now)
    }

    /// Admits a new TCP connection from `ip`, or says why not. The connection
    /// counts against its host until the returned permit (and every clone) is dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<HostPermit, Refusal> {
        let now = Instant::now();
        let mut hosts = lock(&self.hosts);
        if hosts.len() >= SWEEP_AT {
            hosts.retain(|_, host| !host.is_idle(now));
        }
        let key = HostKey::of(ip);
        let host = hosts
            .entry(key)
            .or_insert_with(|| Host::new(&self.limits, now));
        if host.connections >= self.limits.max_connections {
            return Err(Refusal::TooManyConnections);
        }
        if !host.new_connections.take(1.0, now) {
            return Err(Refusal::TooFast);
        }
        host.connections += 1;
        Ok(HostPermit {
            _held: Arc::new(PermitInner {
                guard: Arc::clone(self),
                key,
            }),
        })
    }

    /// A join by `ip`; false when the host joins faster than allowed.
    pub fn join(&self, ip: IpAddr) -> bool {
        self.with_host(ip, |host, now| host.joins.take(1.0, now))
    }

    /// Whether `ip` may try a token now (it has failed fewer than allowed lately).
    pub fn may_try_token(&self, ip: IpAddr) -> bool {
        self.with_host(ip, |host, now| host.bad_tokens.has(now))
    }

    /// `ip` sent a wrong token.
    pub fn bad_token(&self, ip: IpAddr) {
        self.with_host(ip, |host, now| {
            host.bad_tokens.take(1.0, now);
        });
    }

    /// An item of `bytes` bytes from `ip`: `Ok` if within the host's rates (and
    /// counted), else how long until it would be.
    pub fn item(&self, ip: IpAddr, bytes: u64) -> Result<(), Duration> {
        self.with_host(ip, |host, now| {
            let bytes = bytes as f64;
            if !host.items.has(now) {
                return Err(host.items.wait_for(1.0, now));
            }
            if !host.item_bytes.take(bytes, now) {
                return Err(host.item_bytes.wait_for(bytes, now));
            }
            host.items.take(1.0, now);
            Ok(())
        })
    }

    /// Hosts currently tracked (for tests and metrics).
    pub fn hosts(&self) -> usize {
        lock(&self.hosts).len()
    }

    fn release(&self, key: HostKey) {
        let mut hosts = lock(&self.hosts);
        if let Some(host) = hosts.get_mut(&key) {
            host.connections = host.connections.saturating_sub(1);
        }
    }
}

/// One admitted connection's place in its host's count; clones share it.
#[derive(Debug, Clone)]
pub struct HostPermit {
    _held: Arc<PermitInner>,
}

#[derive(Debug)]
struct PermitInner {
    guard: Arc<Guard>,
    key: HostKey,
}

impl Drop for PermitInner {
    fn drop(&mut self) {
        self.guard.release(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn limits(max_connections: usize) -> HostLimits {
        HostLimits {
            max_connections,
            new_connections: Rate {
                per_sec: 0.0,
                burst: 100.0,
            },
            ..HostLimits::default()
        }
    }

    #[test]
    fn connections_are_capped_per_host_and_released() {
        let guard = Guard::new(limits(2));
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
        let one = guard.admit(a).expect("first");
        let two = guard.admit(a).expect("second");
        let shared = two.clone();
        assert_eq!(
            guard.admit(a).expect_err("third"),
            Refusal::TooManyConnections
        );
        assert!(guard.admit(b).is_ok(), "another host is not affected");
        drop(one);
        let three = guard.admit(a).expect("a slot was freed");
        drop(two);
        assert!(guard.admit(a).is_err(), "a clone still holds the slot");
        drop(shared);
        drop(three);
    }

    #[test]
    fn new_connections_are_rate_limited() {
        let guard = Guard::new(HostLimits {
            new_connections: Rate {
                per_sec: 0.0,
                burst: 3.0,
            },
            ..HostLimits::default()
        });
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..3 {
            drop(guard.admit(ip).expect("within the burst"));
        }
        assert_eq!(guard.admit(ip).expect_err("past it"), Refusal::TooFast);
    }

    #[test]
    fn ipv6_hosts_are_their_64() {
        let a: Ipv6Addr = "fd00:1:2:3::1".parse().expect("v6");
        let b: Ipv6Addr = "fd00:1:2:3:ffff::9".parse().expect("v6");
        let c: Ipv6Addr = "fd00:1:2:4::1".parse().expect("v6");
        assert_eq!(HostKey::of(a.into()), HostKey::of(b.into()));
        assert_ne!(HostKey::of(a.into()), HostKey::of(c.into()));
        let mapped: Ipv6Addr = "::ffff:127.0.0.2".parse().expect("v6");
        assert_eq!(
            HostKey::of(mapped.into()),
            HostKey::of(Ipv4Addr::new(127, 0, 0, 2).into())
        );
    }

    #[test]
    fn bad_tokens_lock_a_host_out_and_items_count_bytes() {
        let guard = Guard::new(HostLimits {
            bad_tokens: Rate {
                per_sec: 0.0,
                burst: 2.0,
            },
            items: Rate {
                per_sec: 0.0,
                burst: 10.0,
            },
            item_bytes: Rate {
                per_sec: 0.0,
                burst: 100.0,
            },
            ..HostLimits::default()
        });
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert!(guard.may_try_token(ip));
        guard.bad_token(ip);
        assert!(guard.may_try_token(ip));
        guard.bad_token(ip);
        assert!(!guard.may_try_token(ip));
        assert!(guard.item(ip, 60).is_ok());
        assert!(guard.item(ip, 60).is_err(), "only 40 bytes left");
        assert!(guard.item(ip, 40).is_ok());
    }

    #[test]
    fn idle_hosts_are_forgotten() {
        // Buckets that refill at once, so a host is idle as soon as its connection ends.
        let guard = Guard::new(HostLimits {
            new_connections: Rate {
                per_sec: 1e12,
                burst: 128.0,
            },
            max_connections: 1,
            ..HostLimits::default()
        });
        for i in 0..(SWEEP_AT as u32 + 10) {
            let ip = IpAddr::V4(Ipv4Addr::from(0x7f00_0000 + i));
            drop(guard.admit(ip).expect("admit"));
        }
        assert!(guard.hosts() <= 11, "{} hosts kept", guard.hosts());
        let held = guard.admit(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("admit");
        for i in 0..(SWEEP_AT as u32 + 10) {
            let ip = IpAddr::V4(Ipv4Addr::from(0x7f01_0000 + i));
            drop(guard.admit(ip).expect("admit"));
        }
        // A host that holds a connection survives the sweeps: its count still holds.
        assert_eq!(
            guard
                .admit(IpAddr::V4(Ipv4Addr::LOCALHOST))
                .expect_err("held"),
            Refusal::TooManyConnections
        );
        drop(held);
    }
}
