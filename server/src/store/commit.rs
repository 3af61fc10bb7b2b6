//! Group commit: items completed at about the same time in one room are made
//! durable together, so a burst of photos from several senders shares the cost of
//! durability instead of paying two fsyncs per picture in turn.
//!
//! [`RoomStore::commit_batch`] gives the batch consecutive seqs in its order,
//! writes each item's footer and syncs the files on parallel threads (the
//! filesystem's journal merges concurrent syncs), renames them into `items/`, and
//! syncs the directory once. Only when that returns is any of them durable, and
//! only then are they acked and relayed: the promise of [`RoomStore::commit`] is
//! unchanged. An item whose own file fails is refused alone; a failed directory
//! sync refuses the whole batch (and its files are taken back).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::disk::TempFile;
use super::{
    Body, Committed, Content, Item, NewItem, RoomStore, Sink, StoreError, Upload, lock, now_ms,
    record,
};

/// Files synced by one thread of a batch.
const FILES_PER_THREAD: usize = 4;

/// Where an item of the batch stands.
enum Entry {
    Done(Result<Committed, StoreError>),
    /// Same `(client, id)` as the staged item at this position: shares its fate.
    SameAs(usize),
    Staged(Arc<Item>, Body),
    /// Being written.
    Taken,
}

impl RoomStore {
    /// Retains a batch of completed items, in order; see the module doc. Each
    /// result is what [`commit_or_existing`](Self::commit_or_existing) would give.
    pub fn commit_batch(
        &self,
        batch: Vec<(NewItem, Option<Upload>)>,
    ) -> Vec<Result<Committed, StoreError>> {
        let mut state = lock(&self.commit);
        let mut entries = self.stage(batch);

        let staged: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| matches!(e, Entry::Staged(..)).then_some(i))
            .collect();
        let highest = staged
            .iter()
            .filter_map(|&i| match &entries[i] {
                Entry::Staged(item, _) => Some(item.seq),
                _ => None,
            })
            .max();
        let mut durable: Vec<(usize, Arc<Item>, Option<bytes::Bytes>)> = Vec::new();
        let mut failed: Vec<(usize, StoreError)> = Vec::new();
        let taken: Vec<(usize, Arc<Item>, Body)> = staged
            .iter()
            .filter_map(
                |&i| match std::mem::replace(&mut entries[i], Entry::Taken) {
                    Entry::Staged(item, body) => Some((i, item, body)),
                    _ => None,
                },
            )
            .collect();
        match &self.disk {
            None => {
                for (i, item, body) in taken {
                    match self.write(body) {
                        Ok(bytes) => durable.push((i, item, bytes)),
                        Err(e) => failed.push((i, e)),
                    }
                }
            }
            Some(disk) => {
                // Seal every file (footer + sync), several at once.
                let mut sealed: Vec<(usize, Arc<Item>, Result<TempFile, StoreError>)> = taken
                    .into_iter()
                    .map(|(i, item, body)| (i, item.clone(), self.temp_with_body(&item, body)))
                    .collect();
                std::thread::scope(|scope| {
                    for group in sealed.chunks_mut(FILES_PER_THREAD) {
                        scope.spawn(move || {
                            for (_, item, temp) in group.iter_mut() {
                                let sealed = match temp {
                                    Ok(file) => record::footer(item)
                                        .map_err(StoreError::Corrupt)
                                        .and_then(|footer| disk.seal(file, &footer)),
                                    Err(_) => Ok(()),
                                };
                                if let Err(e) = sealed {
                                    *temp = Err(e);
                                }
                            }
                        });
                    }
                });
                self.file_syncs.fetch_add(sealed.len() as u64, Relaxed);
                let mut placed = Vec::new();
                for (i, item, temp) in sealed {
                    match temp.and_then(|file| disk.place(file, item.seq)) {
                        Ok(()) => placed.push((i, item)),
                        Err(e) => failed.push((i, e)),
                    }
                }
                if !placed.is_empty() {
                    self.dir_syncs.fetch_add(1, Relaxed);
                    match disk.sync_items() {
                        Ok(()) => {
                            durable.extend(placed.into_iter().map(|(i, item)| (i, item, None)))
                        }
                        Err(e) => {
                            // Not known durable, so not acked: take them back rather
                            // than let them resurface after a restart.
                            for (i, item) in placed {
                                disk.unplace(item.seq);
                                failed.push((i, StoreError::Corrupt(e.to_string())));
                            }
                        }
                    }
                }
            }
        }

        let (pruned, pruned_through, bytes) = {
            let mut index = lock(&self.index);
            if let Some(highest) = highest {
                // A failed item's file may exist: never hand its seq out again.
                index.last_seq = index.last_seq.max(highest);
            }
            for (_, item, bytes) in &durable {
                index.insert(Arc::clone(item));
                if let Some(bytes) = bytes {
                    index.keep_image(item.seq, bytes.clone());
                }
            }
            let pruned = index.prune(self.retention);
            self.account_ram(index.ram_bytes());
            (pruned, index.pruned_through, index.bytes())
        };
        self.budget.set(&self.name, bytes);
        if let Some(highest) = highest {
            self.record_prunes(&mut state, pruned, highest + 1, pruned_through);
        }
        drop(state);

        for (i, item, _) in durable {
            entries[i] = Entry::Done(Ok(Committed::New(item)));
        }
        for (i, e) in failed {
            entries[i] = Entry::Done(Err(e));
        }
        resolve(entries)
    }

    /// Checks each item and gives the new ones their seq and ts, in batch order.
    fn stage(&self, batch: Vec<(NewItem, Option<Upload>)>) -> Vec<Entry> {
        let index = lock(&self.index);
        let mut next_seq = index.last_seq + 1;
        let mut last_ts = index.last_ts;
        let mut keys: HashMap<(String, String), usize> = HashMap::new();
        let mut entries = Vec::with_capacity(batch.len());
        for (new, upload) in batch {
            let body = match Body::check(&new.content, upload) {
                Ok(body) => body,
                Err(e) => {
                    entries.push(Entry::Done(Err(e)));
                    continue;
                }
            };
            if let Some((seq, _)) = index.find(&new.client_key, &new.item_id)
                && let Some(original) = index.get(seq)
            {
                entries.push(Entry::Done(Ok(Committed::Existing(Arc::clone(original)))));
                continue;
            }
            let key = (new.client_key.clone(), new.item_id.clone());
            if let Some(&first) = keys.get(&key) {
                entries.push(Entry::SameAs(first));
                continue;
            }
            keys.insert(key, entries.len());
            let ts = now_ms().max(last_ts);
            last_ts = ts;
            let item = Arc::new(Item {
                seq: next_seq,
                ts,
                from: new.from,
                client_key: new.client_key,
                item_id: new.item_id,
                content: new.content,
            });
            next_seq += 1;
            entries.push(Entry::Staged(item, body));
        }
        entries
    }

    /// The temp file holding an item's body, ready for its footer.
    fn temp_with_body(&self, item: &Item, body: Body) -> Result<TempFile, StoreError> {
        let Some(disk) = &self.disk else {
            return Err(StoreError::Corrupt("no disk".to_owned()));
        };
        match (body, &item.content) {
            (Body::Text, Content::Text(text)) => {
                let mut temp = disk.temp_file()?;
                temp.write_all(text)?;
                Ok(temp)
            }
            (Body::Upload(Sink::Disk(temp)), _) => Ok(temp),
            (Body::Upload(Sink::Memory(bytes)), _) => {
                let mut temp = disk.temp_file()?;
                temp.write_all(&bytes)?;
                Ok(temp)
            }
            (Body::Text, Content::Image(_)) => {
                Err(StoreError::Corrupt("an image without its bytes".to_owned()))
            }
        }
    }

    /// Files synced by commits so far.
    pub fn file_syncs(&self) -> u64 {
        self.file_syncs.load(Relaxed)
    }

    /// Directory syncs by commits so far: one per batch (two items committed
    /// one at a time take two).
    pub fn dir_syncs(&self) -> u64 {
        self.dir_syncs.load(Relaxed)
    }
}

/// The batch's results, in its order; duplicates share their original's fate.
fn resolve(entries: Vec<Entry>) -> Vec<Result<Committed, StoreError>> {
    let lost = || StoreError::Corrupt("an item of the batch was left unwritten".to_owned());
    let mut results: Vec<Option<Result<Committed, StoreError>>> = Vec::with_capacity(entries.len());
    let mut same = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        match entry {
            Entry::Done(result) => results.push(Some(result)),
            Entry::SameAs(first) => {
                same.push((i, first));
                results.push(None);
            }
            Entry::Staged(..) | Entry::Taken => results.push(Some(Err(lost()))),
        }
    }
    for (i, first) in same {
        let result = match results.get(first) {
            Some(Some(Ok(done))) => Ok(Committed::Existing(done.item().clone())),
            _ => Err(StoreError::Corrupt(
                "the same item, sent twice at the same moment, could not be retained".to_owned(),
            )),
        };
        results[i] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(lost())))
        .collect()
}
