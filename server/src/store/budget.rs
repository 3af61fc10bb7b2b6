//! The limits across rooms: how many rooms may exist at once, and how many bytes of
//! history all of them together keep (uploads in progress included).
//!
//! Per-room retention bounds one room; this bounds their sum, so a host that fills
//! many rooms cannot fill the disk. It keeps one small entry per existing room
//! (its name and retained bytes), loaded or not, so the largest rooms can be found
//! without loading any: when the total is over the budget, the oldest items of the
//! largest room are pruned first (`Store::enforce_budget`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::lock;

/// The limits across rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Bytes of history of all rooms together, temp files of uploads included.
    pub max_bytes: u64,
    /// Rooms that may exist at once.
    pub max_rooms: usize,
}

impl Budgets {
    /// No limit across rooms (each room's retention still holds).
    pub const UNLIMITED: Budgets = Budgets {
        max_bytes: u64::MAX,
        max_rooms: usize::MAX,
    };
}

#[derive(Debug)]
pub(crate) struct Budget {
    pub(crate) limits: Budgets,
    /// Retained bytes of every existing room, by name.
    rooms: Mutex<HashMap<String, u64>>,
    /// Sum of `rooms`' values.
    retained: AtomicU64,
    /// Bytes in temp files: uploads in progress, items being written.
    pub(crate) temp: AtomicU64,
    /// Held while pruning for the budget, so two commits never prune together.
    pub(crate) enforcing: Mutex<()>,
    /// Bytes the loaded rooms hold in RAM (`Index::ram_bytes` of each live `RoomStore`).
    pub(crate) ram: AtomicU64,
}

/// Why a room cannot be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full {
    pub max_rooms: usize,
}

impl Budget {
    pub(crate) fn new(limits: Budgets) -> Budget {
        Budget {
            limits,
            rooms: Mutex::new(HashMap::new()),
            retained: AtomicU64::new(0),
            temp: AtomicU64::new(0),
            enforcing: Mutex::new(()),
            ram: AtomicU64::new(0),
        }
    }

    /// Counts a room that exists (found on disk, or being created) with `bytes`
    /// retained. A new room past `max_rooms` is refused.
    pub(crate) fn admit(&self, room: &str, bytes: u64, new: bool) -> Result<(), Full> {
        let mut rooms = lock(&self.rooms);
        if new && !rooms.contains_key(room) && rooms.len() >= self.limits.max_rooms {
            return Err(Full {
                max_rooms: self.limits.max_rooms,
            });
        }
        let old = rooms.insert(room.to_owned(), bytes).unwrap_or(0);
        self.adjust(old, bytes);
        Ok(())
    }

    /// A loaded room's RAM went from `before` to `now` bytes.
    pub(crate) fn ram_moved(&self, before: u64, now: u64) {
        // Add first, so the total never dips below what is really held.
        self.ram.fetch_add(now, Relaxed);
        self.ram.fetch_sub(before, Relaxed);
    }

    /// Whether `room` is counted (exists on disk or in memory).
    pub(crate) fn contains(&self, room: &str) -> bool {
        lock(&self.rooms).contains_key(room)
    }

    /// The room now retains `bytes`.
    pub(crate) fn set(&self, room: &str, bytes: u64) {
        let mut rooms = lock(&self.rooms);
        if let Some(entry) = rooms.get_mut(room) {
            let old = std::mem::replace(entry, bytes);
            self.adjust(old, bytes);
        }
    }

    /// The room no longer exists.
    pub(crate) fn forget(&self, room: &str) {
        if let Some(old) = lock(&self.rooms).remove(room) {
            self.adjust(old, 0);
        }
    }

    fn adjust(&self, old: u64, new: u64) {
        if new >= old {
            self.retained.fetch_add(new - old, Relaxed);
        } else {
            self.retained.fetch_sub(old - new, Relaxed);
        }
    }

    /// Retained plus temp bytes.
    pub(crate) fn used(&self) -> u64 {
        self.retained
            .load(Relaxed)
            .saturating_add(self.temp.load(Relaxed))
    }

    /// Bytes over the budget (0 when within).
    pub(crate) fn excess(&self) -> u64 {
        self.used().saturating_sub(self.limits.max_bytes)
    }

    /// The room with the most retained bytes (skipping `skip`), its bytes, and
    /// those of the next largest (0 if none).
    pub(crate) fn largest_two(&self, skip: &[String]) -> Option<(String, u64, u64)> {
        let rooms = lock(&self.rooms);
        let mut first: Option<(&String, u64)> = None;
        let mut second = 0;
        for (name, &bytes) in rooms.iter() {
            if bytes == 0 || skip.contains(name) {
                continue;
            }
            match first {
                Some((_, top)) if bytes <= top => second = second.max(bytes),
                Some((_, top)) => {
                    second = top;
                    first = Some((name, bytes));
                }
                None => first = Some((name, bytes)),
            }
        }
        first.map(|(name, bytes)| (name.clone(), bytes, second))
    }

    /// Rooms that exist.
    pub(crate) fn room_count(&self) -> usize {
        lock(&self.rooms).len()
    }
}

/// Bytes written to temp files, released when the file goes (removed or made an item).
#[derive(Debug, Default)]
pub(crate) struct TempBytes {
    counted: u64,
}

impl TempBytes {
    pub(crate) fn add(&mut self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
        self.counted += n;
    }

    pub(crate) fn release(&mut self, counter: &AtomicU64) {
        counter.fetch_sub(std::mem::take(&mut self.counted), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rooms_and_bytes_and_finds_the_largest() {
        let budget = Budget::new(Budgets {
            max_bytes: 100,
            max_rooms: 2,
        });
        budget.admit("a", 10, true).expect("first room");
        budget.admit("b", 70, true).expect("second room");
        assert_eq!(
            budget.admit("c", 0, true),
            Err(Full { max_rooms: 2 }),
            "a third room is refused"
        );
        budget
            .admit("a", 40, true)
            .expect("an existing room is not new");
        assert_eq!(budget.used(), 110);
        assert_eq!(budget.excess(), 10);
        assert_eq!(budget.largest_two(&[]), Some(("b".to_owned(), 70, 40)));
        assert_eq!(
            budget.largest_two(&["b".to_owned()]),
            Some(("a".to_owned(), 40, 0))
        );
        budget.set("b", 20);
        assert_eq!(budget.excess(), 0);
        budget.forget("a");
        assert_eq!(budget.used(), 20);
        assert_eq!(budget.room_count(), 1);
        budget.admit("c", 0, true).expect("room for a new one");

        let mut temp = TempBytes::default();
        temp.add(&budget.temp, 90);
        assert_eq!(budget.excess(), 10);
        temp.release(&budget.temp);
        assert_eq!(budget.used(), 20);
    }
}

#[cfg(test)]
mod store_tests {
    use bytes::Bytes;

    use crate::config::{Retention, Storage};
    use crate::protocol::User;
    use crate::store::{Budgets, Content, NewItem, Store, StoreError};

    fn text(id: &str) -> NewItem {
        NewItem {
            from: User {
                id: "3f9a1c0b7d2e".to_owned(),
                name: "Ana".to_owned(),
            },
            client_key: "k".to_owned(),
            item_id: id.to_owned(),
            content: Content::Text(Bytes::from_static(b"hello")),
        }
    }

    #[test]
    fn uploads_count_until_they_go_and_unused_rooms_leave() {
        let dir = std::env::temp_dir().join(format!(
            "snapwire-budget-test-{}-{}",
            std::process::id(),
            super::super::random_hex(4)
        ));
        let budgets = Budgets {
            max_bytes: 1 << 20,
            max_rooms: 2,
        };
        let store = Store::open_with(&Storage::Disk(dir.clone()), Retention::default(), budgets)
            .expect("opens");
        let room = store.room("a").expect("room a");
        let mut upload = room.begin_upload().expect("upload");
        upload.write(&Bytes::from(vec![1u8; 1000])).expect("write");
        assert_eq!(store.history_bytes(), 1000, "temp bytes count");
        drop(upload);
        assert_eq!(
            store.history_bytes(),
            0,
            "and stop counting when the file goes"
        );

        // Held rooms stay; an unused room that never held an item goes, files too.
        store.unload_if_unused("a");
        assert!(store.is_loaded("a"));
        drop(room);
        store.unload_if_unused("a");
        assert!(!store.is_loaded("a"));
        assert_eq!(store.room_count(), 0);
        assert_eq!(
            std::fs::read_dir(dir.join("rooms")).map_or(0, |d| d.count()),
            0
        );

        // A room with history leaves RAM but stays, and comes back whole.
        let b = store.room("b").expect("room b");
        b.commit(text("t1"), None).expect("commit");
        drop(b);
        store.unload_if_unused("b");
        assert!(!store.is_loaded("b"));
        assert_eq!(store.room_count(), 1);
        let _c = store.room("c").expect("room c");
        assert!(matches!(store.room("d"), Err(StoreError::TooManyRooms(2))));
        let b = store.room("b").expect("b again, not a new room");
        assert_eq!(b.count_after(0), 1);
        drop((b, store));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn in_memory_a_room_with_history_stays() {
        let store = Store::open(&Storage::Memory, Retention::default()).expect("opens");
        let room = store.room("a").expect("room");
        room.commit(text("t1"), None).expect("commit");
        drop(room);
        store.unload_if_unused("a");
        assert!(store.is_loaded("a"), "its history lives only here");
        let empty = store.room("b").expect("room");
        drop(empty);
        store.unload_if_unused("b");
        assert!(!store.is_loaded("b"));
    }
}
