//! Snapwire relay: the wire protocol shared with the app, and the relay itself.
//!
//! # Layout
//! - [`protocol`]: frames, typed messages, field rules, error codes (the one codec).
//! - [`config`]: every setting with its default.
//! - [`server`]: [`server::start`] on a bound listener; accept loop, graceful stop.
//! - `http`: `/ws` upgrade, `/healthz`, `/metrics`.
//! - `connection`: one task per client: hello, read loop, writer, timeouts.
//! - `session`: what a client's messages mean: texts, streamed uploads, receipts.
//! - `room`: members, live fan-out, who is live and who catches up.
//! - `feeder`: replay and catch-up from retention at each receiver's pace.
//! - `outbox`: each connection's queue, bounded in bytes, and its policy.
//! - [`budget`]: the relay-wide memory budget every queued frame, catch-up read and
//!   partly received message is charged to; `metered`: the read half that reads
//!   only what the budget allows; `catchup`: retention reads shared by the
//!   members catching up, verified against each item's SHA-256.
//! - `socket`: the upgraded socket split in two: tungstenite reads, our frame writer
//!   writes the shared bytes with no copy per receiver.
//! - [`store`]: retention on disk (crash-safe) or in memory.
//! - [`discovery`], [`lan`]: mDNS advertisement and the addresses people can type.

pub mod budget;
mod catchup;
pub mod config;
mod connection;
pub mod discovery;
mod feeder;
mod group_commit;
mod http;
pub mod lan;
mod metered;
pub mod metrics;
pub mod outbox;
pub mod protocol;
mod room;
pub mod server;
mod session;
mod shared;
mod socket;
pub mod store;

pub use config::{Config, Retention, Storage};
pub use server::{RelayHandle, start};
