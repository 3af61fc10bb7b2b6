//! Snapwire, the desktop app: join a room on a relay (or host one) and share
//! pictures in a chat-style timeline.
//!
//! # Layout
//! - [`app`]: the eframe app: drains the workers, calls the views, dispatches
//!   what they return ([`intent::Intent`]). The room it shows is a
//!   [`session::RoomSession`] (model, connection, send backlog, [`spill`]
//!   policy, the persisted [`outbox`]); [`hosting`] runs a relay here
//!   ([`host`]); [`keep`] saves and copies ([`export`], [`clipboard`]).
//! - [`ui`]: one file per view; each is a function of what it shows and its
//!   own state, and returns intents. No view knows the app.
//! - [`state`]: the pure model, driven by [`state::Event`]s (no I/O).
//! - [`net`]: the network worker on its own tokio thread.
//! - [`media`]: every decode and encode ([`media::codec`], a leaf), metadata
//!   removal and "Smaller" ([`media::privacy`]), preparing what we send, and
//!   the one worker that runs them; [`textures`] caches what they decode.
//! - Leaves everyone may use: [`look`] (colours, words for sizes and times),
//!   [`repaint`], [`settings`], [`cli`], [`picker`], [`discovery`], [`options`],
//!   [`attention`], [`icon`], [`identity`], [`single_instance`], [`notify`],
//!   [`i18n`] (every word shown, in English and Spanish: [`t!`]).
//!
//! Without the default `gui` feature the library is only the model, the
//! network worker and the leaves they use (no window, no decoders): what the
//! fuzz target for the app's handling of relayed messages builds
//! (`server/fuzz/`, see [`net::fuzzing`]).
//!
//! Data flows one way: socket → protocol → [`state::Event`] → model → views,
//! and views → [`intent::Intent`] → app → [`net::Command`] → socket.
//! docs/ARCHITECTURE.md tells where each behaviour lives.

#[cfg(feature = "gui")]
pub mod app;
#[cfg(feature = "gui")]
pub mod attention;
#[cfg(feature = "gui")]
pub mod cli;
#[cfg(feature = "gui")]
pub mod clipboard;
#[cfg(feature = "gui")]
pub mod discovery;
#[cfg(feature = "gui")]
pub mod export;
#[cfg(feature = "gui")]
pub mod host;
#[cfg(feature = "gui")]
pub mod hosting;
pub mod i18n;
#[cfg(feature = "gui")]
pub mod icon;
#[cfg(feature = "gui")]
pub mod identity;
#[cfg(feature = "gui")]
pub mod intent;
#[cfg(feature = "gui")]
pub mod keep;
pub mod look;
#[cfg(feature = "gui")]
pub mod media;
pub mod net;
#[cfg(feature = "gui")]
pub mod notify;
#[cfg(feature = "gui")]
pub mod options;
#[cfg(feature = "gui")]
pub mod outbox;
#[cfg(feature = "gui")]
pub mod picker;
pub mod repaint;
#[cfg(feature = "gui")]
pub mod session;
pub mod settings;
#[cfg(feature = "gui")]
pub mod single_instance;
#[cfg(feature = "gui")]
pub mod spill;
pub mod state;
#[cfg(feature = "gui")]
pub mod textures;
#[cfg(feature = "gui")]
pub mod ui;

#[cfg(feature = "gui")]
pub use app::{AppOptions, SnapwireApp};
#[cfg(feature = "gui")]
pub use media::privacy;
