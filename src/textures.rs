//! Textures of timeline images: decoded off the UI thread to the size they are
//! shown at, uploaded once, cached by key, and evicted when their row is far
//! from what is on screen, so memory stays bounded with thousands of images.
//! The timeline, the gallery and the viewer's fallback share it: same keys,
//! same sizes, one texture each.

use std::collections::HashMap;
use std::time::Duration;

use crate::media::animation::{self, Frame};
use crate::media::{Data, Decoded, Job, MediaWorker, TexKey};

/// Rows this far from the visible ones keep their textures (smooth scrolling back).
pub const KEEP_ROWS: usize = 40;
/// Bytes of animation frames the cache keeps in all; an animation arriving
/// beyond it shows as a still (its first frame) until others are evicted.
pub const ANIMATION_BUDGET: usize = 256 * 1024 * 1024;

pub enum Slot {
    /// A decode job is queued or running.
    Loading,
    Ready {
        texture: egui::TextureHandle,
        /// Full image size, for the aspect ratio.
        full: [u32; 2],
        /// An animated GIF's frames (`texture` is the first).
        animated: Option<Animated>,
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

/// An animation's frames, each uploaded once, and when it started playing.
pub struct Animated {
    textures: Vec<egui::TextureHandle>,
    delays: Vec<Duration>,
    /// `egui::InputState::time` when it was uploaded.
    started: f64,
}

impl Animated {
    /// Uploads every frame; `None` for fewer than two.
    pub fn upload(ctx: &egui::Context, name: &str, frames: Vec<Frame>, now: f64) -> Option<Self> {
        if frames.len() < 2 {
            return None;
        }
        let (textures, delays) = frames
            .into_iter()
            .enumerate()
            .map(|(n, f)| {
                let texture =
                    ctx.load_texture(format!("{name}#{n}"), f.image, egui::TextureOptions::LINEAR);
                (texture, f.delay)
            })
            .unzip();
        Some(Self {
            textures,
            delays,
            started: now,
        })
    }

    /// The frame showing at `now`, and how long until the next one.
    pub fn at(&self, now: f64) -> (&egui::TextureHandle, Duration) {
        let elapsed = Duration::from_secs_f64((now - self.started).max(0.0));
        let (n, next) = animation::frame_at(&self.delays, elapsed);
        (&self.textures[n.min(self.textures.len() - 1)], next)
    }

    pub fn frames(&self) -> usize {
        self.textures.len()
    }

    fn bytes(&self) -> usize {
        self.textures
            .iter()
            .map(|t| t.size()[0] * t.size()[1] * 4)
            .sum()
    }
}

pub struct TextureCache {
    slots: HashMap<TexKey, (Slot, usize)>,
    /// [`ANIMATION_BUDGET`] (smaller in tests).
    animation_budget: usize,
    /// This frame's time (`egui::InputState::time`), for animations.
    now: f64,
    /// The soonest an animation drawn this frame shows its next frame.
    wake: Option<Duration>,
}

impl Default for TextureCache {
    fn default() -> Self {
        Self {
            slots: HashMap::new(),
            animation_budget: ANIMATION_BUDGET,
            now: 0.0,
            wake: None,
        }
    }
}

impl TextureCache {
    /// A cache whose animations may take `bytes` in all.
    pub fn with_animation_budget(bytes: usize) -> Self {
        Self {
            animation_budget: bytes,
            ..Self::default()
        }
    }

    /// Sets this frame's time; animations show the frame for it.
    pub fn set_time(&mut self, now: f64) {
        self.now = now;
    }

    /// When the next frame of an animation drawn since the last call is due.
    pub fn take_wake(&mut self) -> Option<Duration> {
        self.wake.take()
    }

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
        let now = self.now;
        match self.get(key, row) {
            Some(Slot::Ready {
                texture,
                full,
                animated,
            }) => {
                let full = *full;
                let Some(animated) = animated else {
                    return Look::Texture(texture.id(), full);
                };
                let (frame, next) = animated.at(now);
                let id = frame.id();
                self.wake = Some(self.wake.map_or(next, |w| w.min(next)));
                return Look::Texture(id, full);
            }
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
        let animation_room = self.animation_budget.saturating_sub(self.animated_bytes());
        let Some((slot, _)) = self.slots.get_mut(&key) else {
            return;
        };
        *slot = match result {
            Ok(mut decoded) => {
                let wanted: usize = decoded
                    .frames
                    .iter()
                    .map(|f| f.image.size[0] * f.image.size[1] * 4)
                    .sum();
                if wanted > animation_room {
                    tracing::debug!(?key, wanted, "animation over the budget; shown still");
                    decoded.frames.clear();
                }
                Slot::Ready {
                    texture: ctx.load_texture(
                        format!("{key:?}"),
                        decoded.image,
                        egui::TextureOptions::LINEAR,
                    ),
                    full: decoded.full,
                    animated: Animated::upload(ctx, &format!("{key:?}"), decoded.frames, self.now),
                }
            }
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

    fn animated_bytes(&self) -> usize {
        self.slots
            .values()
            .map(|(s, _)| match s {
                Slot::Ready {
                    animated: Some(a), ..
                } => a.bytes(),
                _ => 0,
            })
            .sum()
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
                Slot::Ready {
                    texture, animated, ..
                } => {
                    let [w, h] = texture.size();
                    w * h * 4 + animated.as_ref().map_or(0, Animated::bytes)
                }
                _ => 0,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::media::animation::Frame;

    fn animation(frames: usize) -> Decoded {
        let image = egui::ColorImage::filled([10, 10], egui::Color32::RED);
        Decoded {
            image: image.clone(),
            full: [10, 10],
            frames: (0..frames)
                .map(|_| Frame {
                    image: image.clone(),
                    delay: Duration::from_millis(50),
                })
                .collect(),
        }
    }

    #[test]
    fn animations_beyond_the_budget_show_still() {
        let ctx = egui::Context::default();
        // Room for 5 frames of 10×10.
        let mut cache = TextureCache::with_animation_budget(5 * 400);
        for entry in [1, 2] {
            cache.slots.insert(TexKey::Full(entry), (Slot::Loading, 0));
            cache.finish(&ctx, TexKey::Full(entry), Ok(animation(3)));
        }
        let frames = |cache: &TextureCache, entry| match cache.slots.get(&TexKey::Full(entry)) {
            Some((Slot::Ready { animated, .. }, _)) => animated.as_ref().map(Animated::frames),
            _ => panic!("not ready"),
        };
        assert_eq!(frames(&cache, 1), Some(3));
        assert_eq!(frames(&cache, 2), None, "over the budget: a still");
        cache.forget(TexKey::Full(1));
        cache.slots.insert(TexKey::Full(3), (Slot::Loading, 0));
        cache.finish(&ctx, TexKey::Full(3), Ok(animation(3)));
        assert_eq!(frames(&cache, 3), Some(3), "room again once one left");
    }
}
