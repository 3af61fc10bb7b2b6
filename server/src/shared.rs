//! State shared by every connection of one relay: settings, rooms, counters, ids.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::budget::{Budget, Relief};
use crate::config::Config;
use crate::guard::Guard;
use crate::metrics::{Gauges, Metrics};
use crate::room::{ConnId, Room, RoomSettings, Sid};
use crate::store::{Store, StoreError};

pub struct Shared {
    pub config: Config,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// The relay-wide memory budget (`budget.rs`).
    pub budget: Arc<Budget>,
    /// Per source host limits.
    pub guard: Arc<Guard>,
    /// Cancelled when the relay stops: every connection says `server_shutdown`.
    pub shutdown: CancellationToken,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    /// Set under the `rooms` lock by [`Shared::stop_streams`], so a room made
    /// after it starts stopped too.
    streams_stopped: AtomicBool,
    next_conn: AtomicU64,
    next_sid: AtomicU64,
    /// Connections past `hello`.
    sessions: AtomicUsize,
    /// Woken after a room may have left RAM (for tests that wait for it).
    pub rooms_changed: tokio::sync::Notify,
}

impl Shared {
    pub fn new(config: Config, store: Store) -> Self {
        let budget = Budget::new(config.memory_budget());
        let guard = Guard::new(config.host_limits);
        Self {
            config,
            store,
            metrics: Arc::new(Metrics::default()),
            budget,
            guard,
            shutdown: CancellationToken::new(),
            rooms: Mutex::new(HashMap::new()),
            streams_stopped: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            next_sid: AtomicU64::new(1),
            sessions: AtomicUsize::new(0),
            rooms_changed: tokio::sync::Notify::new(),
        }
    }

    pub fn next_conn(&self) -> ConnId {
        self.next_conn.fetch_add(1, Relaxed)
    }

    pub fn next_sid(&self) -> Sid {
        self.next_sid.fetch_add(1, Relaxed)
    }

    /// The room of that (validated) name, loading its history the first time.
    /// Blocking on first use (reads the room's directory): call from `spawn_blocking`.
    pub fn room(&self, name: &str) -> Result<Arc<Room>, StoreError> {
        if let Some(room) = self.lock_rooms().get(name) {
            return Ok(room.clone());
        }
        let store = self.store.room(name)?;
        let mut rooms = self.lock_rooms();
        let room = rooms.entry(name.to_owned()).or_insert_with(|| {
            let room = Arc::new(Room::new(
                name.to_owned(),
                store,
                RoomSettings {
                    metrics: self.metrics.clone(),
                    budget: self.budget.clone(),
                    limits: self.config.limits(),
                    replay_latest: self.config.replay_latest,
                    window: self.config.room_window_bytes,
                    hold_allowance: self.config.hold_allowance,
                    outbox_bytes: self.config.outbox_bytes,
                    linger: self.config.catchup_linger,
                },
            ));
            let as_relief: Arc<dyn Relief> = room.clone();
            self.budget.add_relief(Arc::downgrade(&as_relief));
            let cache: Arc<dyn Relief> = room.catchup.clone();
            self.budget.add_relief(Arc::downgrade(&cache));
            if self.streams_stopped.load(Relaxed) {
                room.stop_streams();
            }
            room
        });
        Ok(room.clone())
    }

    /// The first step of stopping: every image streaming in any room is cancelled
    /// to its receivers (`server_shutdown`) before [`Shared::shutdown`] tells any
    /// connection goodbye, so no receiver's goodbye can overtake a cancel.
    pub fn stop_streams(&self) {
        let rooms = self.lock_rooms();
        self.streams_stopped.store(true, Relaxed);
        for room in rooms.values() {
            room.stop_streams();
        }
    }

    /// Lets the room go from RAM if nobody holds it any more (see `rooms.rs`).
    /// May delete a never-used room's files (a few entries).
    pub fn release_room(&self, name: &str) {
        {
            let mut rooms = self.lock_rooms();
            let unused = rooms
                .get(name)
                // Only the map holds it: no session, feeder or joiner has it.
                .is_some_and(|room| Arc::strong_count(room) == 1 && room.member_count() == 0);
            if unused {
                // Dropped first: the room's retention is unused only once the room is gone.
                drop(rooms.remove(name));
                // Under the rooms lock, so a room is never half unloaded when seen.
                self.store.unload_if_unused(name);
            }
        }
        self.rooms_changed.notify_waiters();
    }

    /// Rooms held in RAM now (with members, or in use).
    pub fn rooms_in_memory(&self) -> usize {
        self.lock_rooms().len()
    }

    fn lock_rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Room>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn session_started(&self) {
        self.sessions.fetch_add(1, Relaxed);
    }

    pub fn session_ended(&self) {
        self.sessions.fetch_sub(1, Relaxed);
    }

    pub fn gauges(&self) -> Gauges {
        let rooms = self.lock_rooms();
        let active = rooms
            .values()
            .filter(|room| room.member_count() > 0)
            .count();
        let queued_bytes = rooms.values().map(|room| room.queued_bytes()).sum();
        let retention_reads = rooms.values().map(|room| room.store.chunk_reads()).sum();
        let damaged_items = rooms
            .values()
            .map(|room| room.catchup.damaged.load(Relaxed))
            .sum();
        Gauges {
            connections: self.sessions.load(Relaxed),
            rooms: active,
            queued_bytes,
            memory_budget: self.budget.limit(),
            memory_used: self.budget.used(),
            memory_peak: self.budget.peak(),
            memory_reached: self.budget.times_reached(),
            memory_forced: self.budget.forced(),
            retention_reads,
            damaged_items,
        }
    }
}
