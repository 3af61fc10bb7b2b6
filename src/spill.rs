//! The memory policy for received images: beyond the budget (128 MiB by
//! default), the oldest ready images are written to a cache directory on the
//! media worker and read back only to decode what is on screen. The
//! directory is removed when the app ends. If it cannot be written, the
//! images stay in memory (and a log line says why).

use std::collections::HashMap;

use bytes::Bytes;

use crate::media::Job;
use crate::state::{EntryKey, ImageState, Model};

/// Received images held in memory beyond this are written to the cache directory.
pub const MEMORY_BUDGET: usize = 128 * 1024 * 1024;

pub struct SpillPolicy {
    /// Bytes of received images kept in memory (default [`MEMORY_BUDGET`]).
    pub budget: usize,
    dir: Option<tempfile::TempDir>,
    /// Images being written, with their sizes (still in memory until done).
    spilling: HashMap<EntryKey, usize>,
    /// Set when the cache cannot be written: then everything stays in memory.
    broken: bool,
}

impl Default for SpillPolicy {
    fn default() -> Self {
        Self {
            budget: MEMORY_BUDGET,
            dir: None,
            spilling: HashMap::new(),
            broken: false,
        }
    }
}

impl SpillPolicy {
    /// The writes that bring what stays in memory under the budget, oldest images first.
    pub fn plan(&mut self, model: &Model) -> Vec<Job> {
        if self.broken {
            return Vec::new();
        }
        let leaving: usize = self.spilling.values().sum();
        let mut excess = model
            .bytes_in_memory()
            .saturating_sub(leaving)
            .saturating_sub(self.budget);
        if excess == 0 {
            return Vec::new();
        }
        if self.dir.is_none() {
            match tempfile::Builder::new()
                .prefix("snapwire-images-")
                .tempdir()
            {
                Ok(dir) => self.dir = Some(dir),
                Err(e) => {
                    tracing::warn!(error = %e, "no cache directory; keeping images in memory");
                    self.broken = true;
                    return Vec::new();
                }
            }
        }
        let Some(dir) = self.dir.as_ref().map(|d| d.path().to_path_buf()) else {
            return Vec::new();
        };
        let candidates: Vec<(EntryKey, Bytes)> = model
            .entries
            .iter()
            .filter(|e| !self.spilling.contains_key(&e.key))
            .filter_map(|e| {
                let image = e.image()?;
                (image.state == ImageState::Ready).then_some(())?;
                Some((e.key, image.bytes.clone()?))
            })
            .collect();
        let mut jobs = Vec::new();
        for (key, bytes) in candidates {
            if excess == 0 {
                break;
            }
            excess = excess.saturating_sub(bytes.len());
            self.spilling.insert(key, bytes.len());
            jobs.push(Job::Spill {
                key,
                bytes,
                path: dir.join(format!("{key}.img")),
            });
        }
        jobs
    }

    /// A write finished: the image's bytes leave memory, or spilling stops for good.
    pub fn done(
        &mut self,
        model: &mut Model,
        key: EntryKey,
        result: Result<std::path::PathBuf, String>,
    ) {
        self.spilling.remove(&key);
        match result {
            Ok(path) => model.spilled(key, path),
            Err(e) => {
                tracing::warn!(error = %e, "cannot write the image cache; keeping images in memory");
                self.broken = true;
            }
        }
    }
}
