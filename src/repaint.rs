//! The one way a background thread wakes the UI: call the [`Repaint`] it was
//! given after sending its result, and the next frame drains it.

use std::sync::Arc;

/// Called after each result so the UI wakes up and drains it.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

/// A repaint that does nothing (tests, and work whose result nobody waits for).
pub fn nothing() -> Repaint {
    Arc::new(|| {})
}

#[cfg(feature = "gui")]
/// Repaints the window's context once it is known (the app learns it at its
/// first frame; work started before that has nothing to wake yet).
pub fn of_context(ctx: Arc<std::sync::OnceLock<egui::Context>>) -> Repaint {
    Arc::new(move || {
        if let Some(ctx) = ctx.get() {
            ctx.request_repaint();
        }
    })
}
