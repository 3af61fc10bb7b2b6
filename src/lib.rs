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
//! Data flows one way: socket → protocol → [`state::Event`] → model → views,
//! and views → [`intent::Intent`] → app → [`net::Command`] → socket.
//! docs/ARCHITECTURE.md tells where each behaviour lives.

pub mod app;
pub mod attention;
pub mod cli;
pub mod clipboard;
pub mod discovery;
pub mod export;
pub mod host;
pub mod hosting;
pub mod i18n;
pub mod icon;
pub mod identity;
pub mod intent;
pub mod keep;
pub mod look;
pub mod media;
pub mod net;
pub mod notify;
pub mod options;
pub mod outbox;
pub mod picker;
pub mod repaint;
pub mod session;
pub mod settings;
pub mod single_instance;
pub mod spill;
pub mod state;
pub mod textures;
pub mod ui;

pub use app::{AppOptions, SnapwireApp};
pub use media::privacy;
