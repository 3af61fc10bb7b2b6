//! Fuzz target `app_relayed`: the app's network worker and model fed an
//! arbitrary sequence of relay messages, commands and reconnects in-process
//! (see `app_harness::relayed`). Builds the app's library without its window
//! (`default-features = false`).
#![no_main]

#[path = "../app_harness.rs"]
mod app_harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| app_harness::relayed(data));
