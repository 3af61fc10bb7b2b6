//! Snapwire relay: the wire protocol shared with the app, and the relay itself.
//!
//! # Layout
//! - [`protocol`]: frames, typed messages, field rules, error codes (the one codec).
//! - [`config`]: every setting with its default.
//! - [`server`]: [`server::start`] on a bound listener; accept loop, graceful stop.
//! - `http`: `/ws` upgrade, `/healthz`, `/metrics`, and the web client's files.
//! - [`web`]: the browser client embedded from `web/`, with its security headers.
//! - [`join_link`]: `http://HOST:PORT/?room=R` links and their QR codes.
//! - `access`: which browser origins may upgrade, the `/metrics` bearer token.
//! - `connection`: one task per client: hello, read loop, writer, timeouts.
//! - `session`: what a client's messages mean: texts, streamed uploads, receipts.
//! - `room`: members, live fan-out, who is live and who catches up.
//! - `rooms`: a session's hold on its room; rooms nobody is in leave RAM.
//! - `feeder`: replay and catch-up from retention at each receiver's pace.
//! - `outbox`: each connection's queue, bounded in bytes, and its policy.
//! - [`budget`]: the relay-wide memory budget every queued frame, catch-up read and
//!   partly received message is charged to; `metered`: the read half that reads
//!   only what the budget allows; `catchup`: retention reads shared by the
//!   members catching up, verified against each item's SHA-256.
//! - `socket`: the upgraded socket split in two: tungstenite reads, our frame writer
//!   writes the shared bytes with no copy per receiver.
//! - [`store`]: retention on disk (crash-safe) or in memory.
//! - [`guard`]: per source host limits (connections, joins, failed tokens, items).
//! - `fdlimit`: the open-file limit `max_connections` needs, raised at start.
//! - [`discovery`], [`lan`]: mDNS advertisement and the addresses people can type.
//! - `fuzzing` (hidden): one connection in-process, for the fuzz targets in `server/fuzz/`.

mod access;
pub mod budget;
mod catchup;
pub mod config;
mod connection;
pub mod discovery;
mod fdlimit;
mod feeder;
#[doc(hidden)]
pub mod fuzzing;
mod group_commit;
pub mod guard;
mod hold;
mod http;
pub mod join_link;
pub mod lan;
mod metered;
pub mod metrics;
pub mod outbox;
pub mod protocol;
mod room;
mod rooms;
pub mod server;
mod session;
mod shared;
mod socket;
pub mod store;
pub mod web;

pub use config::{Config, Retention, Storage};
pub use server::{RelayHandle, start};
