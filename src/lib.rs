//! Snapwire, the desktop app: join a room on a relay (or host one) and share
//! pictures in a chat-style timeline.
//!
//! # Layout
//! - [`state`]: the pure model, driven by [`state::Event`]s (no I/O).
//! - [`net`]: the network worker on its own tokio thread: connect, reconnect, send queue.
//! - [`media`]: image work off the UI thread (prepare to send, decode with limits).
//! - [`textures`]: decoded images as textures, cached by entry and evicted off-screen.
//! - [`app`]: the eframe app tying them together; [`ui`]: one file per view.
//! - [`settings`], [`cli`], [`picker`], [`host`]: settings and secret, flags,
//!   the file dialog behind a trait, the in-process relay.
//! - [`discovery`], [`privacy`], [`attention`]: relays found on the LAN,
//!   metadata and size before sending, the unseen-images count in the title.
//!
//! Data flows one way: socket → protocol → [`state::Event`] → model → UI, and
//! UI → [`net::Command`] → socket.

pub mod app;
pub mod attention;
pub mod cli;
pub mod clipboard;
pub mod discovery;
pub mod export;
pub mod host;
pub mod icon;
pub mod keep;
pub mod media;
pub mod net;
pub mod picker;
pub mod privacy;
pub mod settings;
pub mod state;
pub mod textures;
pub mod ui;

pub use app::{AppOptions, SnapwireApp};
