//! What the app is built from: where it keeps its files, how it was launched,
//! and the two things tests replace (the file dialog and the connection maker).

use std::sync::Arc;

use crate::cli::Launch;
use crate::net::NetHandle;
use crate::picker::{self, FilePicker};
use crate::repaint::Repaint;
use crate::settings::{Paths, Target};

/// Makes the connection for a target (the real worker, or a test's fake).
pub type Connector = Box<dyn FnMut(Target, String, Repaint) -> anyhow::Result<NetHandle>>;

pub struct AppOptions {
    pub paths: Paths,
    pub launch: Launch,
    pub picker: Arc<dyn FilePicker>,
    pub connector: Connector,
}

impl AppOptions {
    /// The real thing: rfd dialogs and the network worker.
    pub fn native(paths: Paths, launch: Launch) -> Self {
        Self {
            paths,
            launch,
            picker: Arc::new(picker::RfdPicker),
            connector: Box::new(NetHandle::spawn),
        }
    }
}
