//! The relay-wide memory budget (`--max-memory-mb`): one account of everything the
//! relay holds for its connections together (PROTOCOL.md, "Flow control").
//!
//! What is charged, and for how long:
//! - every frame the relay queues for receivers (a live chunk, a catch-up read, a
//!   text, a control message), once however many receivers share it, until the
//!   last of them has written it ([`charge`] ties the reservation to the `Bytes`);
//! - every partly received WebSocket message (fragments included), from the moment
//!   its frame header is read until the message is dropped after handling
//!   (`metered.rs`);
//! - catch-up reads kept for receivers that arrive moments apart (`catchup.rs`).
//!
//! Two classes share the account. *Bulk* requests (image data, in or out) may fill
//! it up to the limit less a reserve; *small* ones (texts, control messages, the
//! first bytes of any message) may use the reserve too, so a room whose pictures
//! fill the budget never blocks a text round trip elsewhere.
//!
//! A request that does not fit waits: a reader stops reading its socket (TCP
//! backpressure), a sender's upload stops, a feeder pauses. Before waiting, the
//! budget asks its [`Relief`]s (rooms, read caches) to let go of what they can
//! (PROTOCOL.md: a receiver far behind the rest of its room is lagging).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

/// Which part of the budget a request may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Image data: up to the limit less the reserve.
    Bulk,
    /// Texts, control messages, message headers: up to the limit.
    Small,
}

/// Something that can free budget when asked: a room lags receivers that are far
/// behind the rest (their queued live data is dropped), a cache drops what it keeps.
pub trait Relief: Send + Sync {
    fn relieve(&self);
}

/// Waiters are woken only when at least this much is free: releases come in small
/// pieces and thousands of connections may wait.
const WAKE_FREE: usize = 64 * 1024;
/// Reliefs run at most this often.
const RELIEF_INTERVAL: Duration = Duration::from_millis(20);

/// The account. Cheap to share as `Arc<Budget>`.
pub struct Budget {
    limit: usize,
    bulk_limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
    /// Requests that found the budget full (each wait counts once).
    reached: AtomicU64,
    /// Control messages charged past the limit (they cannot wait; see [`Budget::charge_now`]).
    forced: AtomicU64,
    waiters: AtomicUsize,
    notify: Arc<Notify>,
    reliefs: Mutex<Reliefs>,
}

struct Reliefs {
    list: Vec<Weak<dyn Relief>>,
    last: Option<Instant>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("limit", &self.limit)
            .field("used", &self.used())
            .finish()
    }
}

impl Budget {
    /// A budget of `limit` bytes; an eighth of it (at least 1 MiB, at most half) is
    /// the reserve that only small requests may use.
    pub fn new(limit: usize) -> Arc<Budget> {
        let reserve = (limit / 8).max(1024 * 1024).min(limit / 2);
        Arc::new(Budget {
            limit,
            bulk_limit: limit - reserve,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            reached: AtomicU64::new(0),
            forced: AtomicU64::new(0),
            waiters: AtomicUsize::new(0),
            notify: Arc::new(Notify::new()),
            reliefs: Mutex::new(Reliefs {
                list: Vec::new(),
                last: None,
            }),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The most a single bulk request can ever get.
    pub fn bulk_limit(&self) -> usize {
        self.bulk_limit
    }

    /// Bytes charged now.
    pub fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    /// The most ever charged at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Relaxed)
    }

    /// How often a request found the budget full.
    pub fn times_reached(&self) -> u64 {
        self.reached.load(Relaxed)
    }

    /// Control messages charged past the limit.
    pub fn forced(&self) -> u64 {
        self.forced.load(Relaxed)
    }

    /// Whether requests are waiting for room now.
    pub fn is_pressed(&self) -> bool {
        self.waiters.load(Relaxed) > 0
    }

    /// Registers something to ask for memory back when the budget is full.
    pub fn add_relief(&self, relief: Weak<dyn Relief>) {
        let mut reliefs = self.lock_reliefs();
        reliefs.list.retain(|r| r.strong_count() > 0);
        reliefs.list.push(relief);
    }

    fn lock_reliefs(&self) -> std::sync::MutexGuard<'_, Reliefs> {
        self.reliefs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cap(&self, class: Class) -> usize {
        match class {
            Class::Bulk => self.bulk_limit,
            Class::Small => self.limit,
        }
    }

    fn try_take(&self, n: usize, class: Class) -> bool {
        let cap = self.cap(class);
        let mut used = self.used.load(Relaxed);
        loop {
            let Some(next) = used.checked_add(n).filter(|next| *next <= cap) else {
                return false;
            };
            match self.used.compare_exchange_weak(used, next, SeqCst, Relaxed) {
                Ok(_) => {
                    self.peak.fetch_max(next, Relaxed);
                    return true;
                }
                Err(now) => used = now,
            }
        }
    }

    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let before = self.used.fetch_sub(n, SeqCst);
        if self.waiters.load(SeqCst) > 0 && self.limit.saturating_sub(before - n) >= WAKE_FREE {
            self.notify.notify_waiters();
        }
    }

    /// `n` bytes now, or `None` when they do not fit.
    pub fn try_reserve(self: &Arc<Self>, n: usize, class: Class) -> Option<Reservation> {
        self.try_take(n, class).then(|| Reservation {
            budget: Some(self.clone()),
            bytes: n,
        })
    }

    /// An empty reservation that can grow with [`Reservation::absorb`].
    pub fn empty(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: Some(self.clone()),
            bytes: 0,
        }
    }

    /// Waits until `n` bytes fit, then reserves them. A request larger than its
    /// class's limit is cut to that limit (the configuration keeps every real
    /// request well below it).
    pub async fn reserve(self: &Arc<Self>, n: usize, class: Class) -> Reservation {
        let n = n.min(self.cap(class));
        if let Some(r) = self.try_reserve(n, class) {
            return r;
        }
        self.reached.fetch_add(1, Relaxed);
        let _waiting = WaitGuard::new(self);
        loop {
            let notified = self.notify.clone().notified_owned();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.ask_relief();
            if let Some(r) = self.try_reserve(n, class) {
                return r;
            }
            notified.await;
        }
    }

    /// A frame that must be queued now (from under a room's lock): charged as a small
    /// request, or past the limit when even the reserve is full (counted in
    /// [`forced`](Self::forced); control messages are small and each connection's
    /// queue bounds them).
    pub fn charge_now(self: &Arc<Self>, bytes: Bytes) -> Bytes {
        let n = bytes.len();
        let reservation = match self.try_reserve(n, Class::Small) {
            Some(r) => r,
            None => {
                self.forced.fetch_add(1, Relaxed);
                let now = self.used.fetch_add(n, SeqCst) + n;
                self.peak.fetch_max(now, Relaxed);
                Reservation {
                    budget: Some(self.clone()),
                    bytes: n,
                }
            }
        };
        charge(bytes, reservation)
    }

    /// Runs the reliefs, at most every [`RELIEF_INTERVAL`].
    pub fn ask_relief(&self) {
        let list = {
            let mut reliefs = self.lock_reliefs();
            let now = Instant::now();
            if reliefs
                .last
                .is_some_and(|last| now.duration_since(last) < RELIEF_INTERVAL)
            {
                return;
            }
            reliefs.last = Some(now);
            reliefs.list.retain(|r| r.strong_count() > 0);
            reliefs.list.clone()
        };
        for relief in list.iter().filter_map(Weak::upgrade) {
            relief.relieve();
        }
    }

    /// For poll-based waiters (`metered.rs`): a notification that fires when room
    /// may have been freed. Enable it, retry, then poll it.
    pub fn notified(&self) -> tokio::sync::futures::OwnedNotified {
        self.notify.clone().notified_owned()
    }

    /// Counts a poll-based waiter until the guard drops.
    pub fn waiting(self: &Arc<Self>) -> WaitGuard {
        WaitGuard::new(self)
    }

    /// Counts one more time the budget was found full.
    pub fn note_reached(&self) {
        self.reached.fetch_add(1, Relaxed);
    }
}

/// Marks a waiter, so releases know to wake someone.
pub struct WaitGuard {
    budget: Arc<Budget>,
}

impl WaitGuard {
    fn new(budget: &Arc<Budget>) -> WaitGuard {
        budget.waiters.fetch_add(1, SeqCst);
        WaitGuard {
            budget: budget.clone(),
        }
    }
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        self.budget.waiters.fetch_sub(1, SeqCst);
    }
}

/// Bytes held against the budget; released when dropped.
#[derive(Debug, Default)]
pub struct Reservation {
    budget: Option<Arc<Budget>>,
    bytes: usize,
}

impl Reservation {
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Moves `n` bytes (at most all) into a reservation of their own.
    pub fn split(&mut self, n: usize) -> Reservation {
        let n = n.min(self.bytes);
        self.bytes -= n;
        Reservation {
            budget: self.budget.clone(),
            bytes: n,
        }
    }

    /// Takes over another reservation of the same budget.
    pub fn absorb(&mut self, mut other: Reservation) {
        if self.budget.is_none() {
            self.budget = other.budget.take();
        }
        self.bytes += std::mem::take(&mut other.bytes);
    }

    /// Gives back everything above `keep` bytes.
    pub fn shrink_to(&mut self, keep: usize) {
        if self.bytes > keep {
            let extra = self.bytes - keep;
            self.bytes = keep;
            if let Some(budget) = &self.budget {
                budget.release(extra);
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.release(self.bytes);
        }
    }
}

/// Bytes that keep their reservation for as long as any clone or slice of them lives.
struct Charged {
    bytes: Bytes,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Charged {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Ties `reservation` to `bytes`: it is released when the last clone is dropped.
/// No copy is made.
pub fn charge(bytes: Bytes, reservation: Reservation) -> Bytes {
    Bytes::from_owner(Charged {
        bytes,
        _reservation: reservation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_stops_at_the_reserve_small_at_the_limit() {
        let budget = Budget::new(8 << 20);
        assert_eq!(budget.bulk_limit(), 7 << 20);
        let bulk = budget.try_reserve(7 << 20, Class::Bulk).expect("fits");
        assert!(budget.try_reserve(1, Class::Bulk).is_none());
        let small = budget.try_reserve(1 << 20, Class::Small).expect("reserve");
        assert!(budget.try_reserve(1, Class::Small).is_none());
        assert_eq!(budget.used(), 8 << 20);
        drop(bulk);
        drop(small);
        assert_eq!(budget.used(), 0);
        assert_eq!(budget.peak(), 8 << 20);
    }

    #[test]
    fn charged_bytes_release_when_the_last_clone_goes() {
        let budget = Budget::new(8 << 20);
        let r = budget.try_reserve(100, Class::Small).expect("fits");
        let bytes = charge(Bytes::from(vec![7u8; 100]), r);
        let a = bytes.clone();
        let b = bytes.slice(10..20);
        drop(bytes);
        drop(a);
        assert_eq!(budget.used(), 100);
        assert_eq!(&b[..], &[7u8; 10]);
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn split_absorb_and_shrink_keep_the_account_exact() {
        let budget = Budget::new(8 << 20);
        let mut r = budget.empty();
        r.absorb(budget.try_reserve(1000, Class::Small).expect("fits"));
        let part = r.split(300);
        assert_eq!((r.bytes(), part.bytes()), (700, 300));
        r.shrink_to(200);
        assert_eq!(budget.used(), 500);
        drop(part);
        drop(r);
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn a_waiter_resumes_when_room_is_freed() {
        let budget = Budget::new(8 << 20);
        let hog = budget.try_reserve(7 << 20, Class::Bulk).expect("fits");
        let waiter = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.reserve(1 << 20, Class::Bulk).await.bytes() })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(hog);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("task");
        assert_eq!(got, 1 << 20);
        assert_eq!(budget.times_reached(), 1);
        assert_eq!(budget.used(), 0);
    }
}
