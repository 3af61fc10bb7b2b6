//! Textures of timeline images: decoded off the UI thread to the size they are
//! shown at, uploaded once, cached by key, and evicted when their row is far
//! from what is on screen, so memory stays bounded with thousands of images.
//! The timeline, the gallery and the viewer's fallback share it: same keys,
//! same sizes, one texture each.

use std::collections::HashMap;

use crate::media::{Data, Decoded, Job, MediaWorker, TexKey};

/// Rows this far from the visible ones keep their textures (smooth scrolling back).
pub const KEEP_ROWS: usize = 40;

pub enum Slot {
    /// A decode job is queued or running.
    Loading,
    Ready {
        texture: egui::TextureHandle,
        /// Full image size, for the aspect ratio.
        full: [u32; 2],
    },
    /// Shown inline as "could not show this image (reason)"; kept, so it is not retried.
    Failed(String),
}

/// What a view draws for one texture, copied out of the cache.
#[derive(Debug, Clone, PartialEq)]
pub enum Look {
    /// The texture, and the full image's size (for the aspect ratio).
    Texture(egui::TextureId, [u32; 2]),
    Failed(String),
    Loading,
    /// No bytes to decode (yet).
    Missing,
}

#[derive(Default)]
pub struct TextureCache {
    slots: HashMap<TexKey, (Slot, usize)>,
}

impl TextureCache {
    /// The slot for `key`, noting that row `row` uses it.
    pub fn get(&mut self, key: TexKey, row: usize) -> Option<&Slot> {
        let (slot, last_row) = self.slots.get_mut(&key)?;
        *last_row = row;
        Some(slot)
    }

    /// What to draw for `key`: the texture, why it failed, or that it is on
    /// its way. Asks for a decode of `data` the first time (nothing to decode:
    /// [`Look::Missing`]). The one get-or-request of every view.
    pub fn look(
        &mut self,
        key: TexKey,
        row: usize,
        data: Option<Data>,
        max_side: u32,
        media: &MediaWorker,
    ) -> Look {
        match self.get(key, row) {
            Some(Slot::Ready { texture, full }) => return Look::Texture(texture.id(), *full),
            Some(Slot::Failed(reason)) => return Look::Failed(reason.clone()),
            Some(Slot::Loading) => return Look::Loading,
            None => {}
        }
        match data {
            Some(data) => {
                self.request(key, row, data, max_side, media);
                Look::Loading
            }
            None => Look::Missing,
        }
    }

    /// Asks for a decode unless one is cached or running. A full job queue
    /// leaves nothing behind, so the next frame asks again.
    fn request(&mut self, key: TexKey, row: usize, data: Data, max_side: u32, media: &MediaWorker) {
        if self.slots.contains_key(&key) {
            return;
        }
        let job = Job::Decode {
            key,
            data,
            max_side,
        };
        if media.submit(job).is_ok() {
            self.slots.insert(key, (Slot::Loading, row));
        }
    }

    /// A decode finished: upload it once, unless the row was evicted meanwhile.
    pub fn finish(&mut self, ctx: &egui::Context, key: TexKey, result: Result<Decoded, String>) {
        let Some((slot, _)) = self.slots.get_mut(&key) else {
            return;
        };
        if !matches!(slot, Slot::Loading) {
            return;
        }
        *slot = match result {
            Ok(decoded) => Slot::Ready {
                texture: ctx.load_texture(
                    format!("{key:?}"),
                    decoded.image,
                    egui::TextureOptions::LINEAR,
                ),
                full: decoded.full,
            },
            Err(reason) => Slot::Failed(reason),
        };
        if let TexKey::Full(entry) = key {
            self.slots.remove(&TexKey::Preview(entry));
        }
    }

    /// Drops textures whose rows are more than [`KEEP_ROWS`] away from `first..=last`.
    /// Decodes still queued for those rows are dropped too, so fast scrolling
    /// does not leave the workers busy with rows long gone.
    pub fn evict(&mut self, first: usize, last: usize, media: &MediaWorker) {
        let lo = first.saturating_sub(KEEP_ROWS);
        let hi = last.saturating_add(KEEP_ROWS);
        self.slots.retain(|key, (slot, row)| {
            let keep = matches!(slot, Slot::Failed(_)) || (lo..=hi).contains(row);
            if !keep && matches!(slot, Slot::Loading) {
                media.drop_decode(*key);
            }
            keep
        });
    }

    /// Forgets one entry's textures (it left the timeline).
    pub fn forget(&mut self, key: TexKey) {
        self.slots.remove(&key);
    }

    /// Textures currently uploaded.
    pub fn uploaded(&self) -> usize {
        self.slots
            .values()
            .filter(|(s, _)| matches!(s, Slot::Ready { .. }))
            .count()
    }

    /// Bytes of uploaded pixels (for the memory figures).
    pub fn uploaded_bytes(&self) -> usize {
        self.slots
            .values()
            .map(|(s, _)| match s {
                Slot::Ready { texture, .. } => {
                    let [w, h] = texture.size();
                    w * h * 4
                }
                _ => 0,
            })
            .sum()
    }
}
