//! Snapwire relay: the wire protocol shared with the app, and the relay itself.
//!
//! # Layout
//! - [`protocol`]: frames, typed messages, field rules, error codes (the one codec).
//! - [`config`]: every setting with its default.
//! - [`server`]: [`server::start`] on a bound listener; accept loop, graceful stop.
//! - `http`: `/ws` upgrade, `/healthz`, `/metrics`, and the web client's files.
//! - [`web`]: the browser client embedded from `web/`, with its security headers.
//! - [`join_link`]: `http://HOST:PORT/?room=R` links and their QR codes.
//! - `connection`: one task per client: hello, read loop, writer, timeouts.
//! - `session`: what a client's messages mean: texts, streamed uploads, receipts.
//! - `room`: members, live fan-out, who is live and who catches up.
//! - `feeder`: replay and catch-up from retention at each receiver's pace.
//! - `outbox`: each connection's queue, bounded in bytes, and its policy.
//! - `socket`: the upgraded socket split in two: tungstenite reads, our frame writer
//!   writes the shared bytes with no copy per receiver.
//! - [`store`]: retention on disk (crash-safe) or in memory.
//! - [`discovery`], [`lan`]: mDNS advertisement and the addresses people can type.

pub mod config;
mod connection;
pub mod discovery;
mod feeder;
mod http;
pub mod join_link;
pub mod lan;
pub mod metrics;
pub mod outbox;
pub mod protocol;
mod room;
pub mod server;
mod session;
mod shared;
mod socket;
pub mod store;
pub mod web;

pub use config::{Config, Retention, Storage};
pub use server::{RelayHandle, start};
