//! One room's in-memory view of its retained items: the items by seq, the
//! dedup records, the byte total, and the retention policy that prunes them.
//!
//! Pure data, no I/O: both backends keep one behind a mutex that readers take
//! only briefly, so reading never waits on a disk.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use super::Item;
use crate::config::Retention;

#[derive(Debug, Default)]
pub(crate) struct Index {
    items: BTreeMap<u64, Arc<Item>>,
    /// client_key -> item_id -> (seq, ts). Nested so lookups by `&str` need no allocation.
    dedup: HashMap<String, HashMap<String, (u64, u64)>>,
    /// Sum of `retained_bytes` over `items`.
    bytes: u64,
    /// Sum of `ram_bytes` over `items`, plus `images`' bytes: what the room holds in RAM.
    ram: u64,
    /// Highest seq ever assigned (0 = none).
    pub(crate) last_seq: u64,
    /// Highest seq ever pruned (0 = none).
    pub(crate) pruned_through: u64,
    /// ts of the latest item, so ts never goes backwards.
    pub(crate) last_ts: u64,
    /// Memory backend only: the images' bytes by seq.
    pub(crate) images: HashMap<u64, Bytes>,
}

impl Index {
    /// Adds a committed (or reloaded) item. Raises `last_seq` and `last_ts`.
    pub(crate) fn insert(&mut self, item: Arc<Item>) {
        self.last_seq = self.last_seq.max(item.seq);
        self.last_ts = self.last_ts.max(item.ts);
        self.bytes += item.retained_bytes();
        self.ram += item.ram_bytes();
        self.dedup
            .entry(item.client_key.clone())
            .or_default()
            .insert(item.item_id.clone(), (item.seq, item.ts));
        if let Some(old) = self.items.insert(item.seq, item) {
            // Cannot happen (seqs are never reused); keep the totals right anyway.
            self.bytes -= old.retained_bytes();
            self.ram -= old.ram_bytes();
        }
    }

    /// Drops the oldest items until the room fits `retention`, always keeping
    /// the newest one. Returns the seqs dropped, ascending.
    pub(crate) fn prune(&mut self, retention: Retention) -> Vec<u64> {
        let max_items = retention.max_items.max(1);
        let mut pruned = Vec::new();
        while self.items.len() > max_items
            || (self.bytes > retention.max_bytes && self.items.len() > 1)
        {
            let Some((seq, item)) = self.items.pop_first() else {
                break;
            };
            self.bytes -= item.retained_bytes();
            self.ram -= item.ram_bytes();
            if let Some(image) = self.images.remove(&seq) {
                self.ram -= image.len() as u64;
            }
            if let Some(ids) = self.dedup.get_mut(&item.client_key) {
                // Only forget the record if it still points at this item.
                if ids.get(&item.item_id).is_some_and(|&(s, _)| s == seq) {
                    ids.remove(&item.item_id);
                }
                if ids.is_empty() {
                    self.dedup.remove(&item.client_key);
                }
            }
            self.pruned_through = self.pruned_through.max(seq);
            pruned.push(seq);
        }
        pruned
    }

    /// Memory backend only: keeps an image's bytes (after its item is inserted).
    pub(crate) fn keep_image(&mut self, seq: u64, bytes: Bytes) {
        self.ram += bytes.len() as u64;
        if let Some(old) = self.images.insert(seq, bytes) {
            self.ram -= old.len() as u64;
        }
    }

    /// Bytes the room holds in RAM: its items (texts and previews included) and,
    /// in memory mode, its images. An estimate of the live heap, without the
    /// maps' own overhead, for accounting (`Store::ram_bytes`).
    pub(crate) fn ram_bytes(&self) -> u64 {
        self.ram
    }

    pub(crate) fn get(&self, seq: u64) -> Option<&Arc<Item>> {
        self.items.get(&seq)
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Sum of `retained_bytes` over the retained items.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn items_after(&self, after: u64, limit: usize) -> Vec<Arc<Item>> {
        self.items
            .range((Bound::Excluded(after), Bound::Unbounded))
            .take(limit)
            .map(|(_, item)| Arc::clone(item))
            .collect()
    }

    pub(crate) fn count_after(&self, after: u64) -> usize {
        self.items
            .range((Bound::Excluded(after), Bound::Unbounded))
            .count()
    }

    /// The seq of the (n+1)-th newest retained item, so that the items after
    /// it are exactly the n newest; `pruned_through` when there are n or fewer.
    pub(crate) fn seq_before_latest(&self, n: usize) -> u64 {
        if n == 0 {
            return self.last_seq;
        }
        self.items
            .keys()
            .rev()
            .nth(n)
            .copied()
            .unwrap_or(self.pruned_through)
    }

    pub(crate) fn find(&self, client_key: &str, item_id: &str) -> Option<(u64, u64)> {
        self.dedup.get(client_key)?.get(item_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::User;
    use crate::store::Content;

    fn item(seq: u64, len: usize, id: &str) -> Arc<Item> {
        Arc::new(Item {
            seq,
            ts: seq * 10,
            from: User {
                id: "u".to_owned(),
                name: "U".to_owned(),
            },
            client_key: "k".to_owned(),
            item_id: id.to_owned(),
            content: Content::Text(Bytes::from(vec![b'x'; len])),
        })
    }

    #[test]
    fn prunes_by_count_and_bytes_keeping_the_newest() {
        let mut index = Index::default();
        for seq in 1..=5 {
            index.insert(item(seq, 10, &format!("c-{seq}")));
        }
        let retention = Retention {
            max_items: 3,
            max_bytes: 1000,
        };
        assert_eq!(index.prune(retention), vec![1, 2]);
        assert_eq!(index.pruned_through, 2);
        assert_eq!(index.find("k", "c-2"), None);
        assert_eq!(index.find("k", "c-3"), Some((3, 30)));

        index.insert(item(6, 5000, "c-6"));
        let pruned = index.prune(retention);
        assert_eq!(pruned, vec![3, 4, 5]);
        assert_eq!(index.len(), 1);
        assert_eq!(index.bytes(), 5000);
        assert_eq!(index.seq_before_latest(50), 5);
        assert_eq!(index.seq_before_latest(0), 6);
    }

    #[test]
    fn windows_over_the_items() {
        let mut index = Index::default();
        for seq in [2, 4, 6, 8] {
            index.insert(item(seq, 1, &format!("c-{seq}")));
        }
        let seqs = |v: Vec<Arc<Item>>| v.iter().map(|i| i.seq).collect::<Vec<_>>();
        assert_eq!(seqs(index.items_after(0, 10)), vec![2, 4, 6, 8]);
        assert_eq!(seqs(index.items_after(4, 1)), vec![6]);
        assert_eq!(seqs(index.items_after(u64::MAX, 10)), Vec::<u64>::new());
        assert_eq!(index.count_after(5), 2);
        assert_eq!(index.seq_before_latest(2), 4);
        assert_eq!(
            seqs(index.items_after(index.seq_before_latest(2), 10)),
            vec![6, 8]
        );
        assert_eq!(index.seq_before_latest(4), 0);
        assert_eq!(index.seq_before_latest(9), 0);
    }

    proptest::proptest! {
        #[test]
        fn retention_invariants(
            sizes in proptest::collection::vec(0usize..300, 1..40),
            max_items in 0usize..10,
            max_bytes in 0u64..1000,
        ) {
            let retention = Retention { max_items, max_bytes };
            let mut index = Index::default();
            for (i, len) in sizes.iter().enumerate() {
                let seq = i as u64 + 1;
                index.insert(item(seq, *len, &format!("c-{seq}")));
                index.prune(retention);
                // The newest is always kept, and the limits hold otherwise.
                proptest::prop_assert!(index.get(seq).is_some());
                proptest::prop_assert!(index.len() <= max_items.max(1));
                proptest::prop_assert!(index.len() == 1 || index.bytes() <= max_bytes);
                let total: u64 = index.items_after(0, usize::MAX).iter().map(|i| i.retained_bytes()).sum();
                proptest::prop_assert_eq!(total, index.bytes());
                let oldest = index.items_after(0, 1)[0].seq;
                proptest::prop_assert_eq!(index.pruned_through, oldest - 1);
                proptest::prop_assert_eq!(index.find("k", &format!("c-{}", oldest - 1)).is_some(), false);
            }
        }
    }
}
