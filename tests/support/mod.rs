//! The one harness of the app's tests: a real relay on 127.0.0.1:0 and
//! network-worker helpers ([`net`]), the worker feeding a model with no
//! window ([`member`]) and what a person sees in it ([`timeline`]), test
//! images and people ([`fixtures`]),
//! and the app in an egui_kittest harness with the network, the file
//! dialogs and the clipboard played by the test ([`ui`]). Every wait is
//! bounded in time and waits for an event.

#![allow(dead_code, unused_imports)]

pub mod fixtures;
pub mod member;
pub mod net;
pub mod timeline;
pub mod ui;

pub use fixtures::*;
