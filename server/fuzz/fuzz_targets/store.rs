//! Fuzz target `store`: a data directory written from the input, then opened
//! (see `harness::store`). Each run gets a fresh directory under the temp dir.
#![no_main]

#[path = "../harness.rs"]
mod harness;

use std::sync::atomic::{AtomicU64, Ordering};

static RUN: AtomicU64 = AtomicU64::new(0);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("snapwire-fuzz-store-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    harness::store(&dir, data);
    let _ = std::fs::remove_dir_all(&dir);
});
