//! Fuzz target `session`: one whole relay connection in-process, fed a message
//! sequence (see `harness::session`).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::session(data));
