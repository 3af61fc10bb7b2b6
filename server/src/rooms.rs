//! A session's hold on its room, so that rooms nobody is in leave RAM.
//!
//! A room is loaded at the first `hello` that names it and unloaded once its last
//! member's session is over: its texts, previews and index go, its history stays on
//! disk and loads again at the next `hello` (`Store::unload_if_unused`); a room that
//! never held an item is removed altogether, so a flood of made-up room names leaves
//! nothing behind. The registry itself is [`Shared::room`] / [`Shared::release_room`].

use std::sync::Arc;

use crate::shared::Shared;

/// Held by a session for its whole life; dropping it (after every other handle the
/// session had on the room) lets the room go if nobody else is in it.
pub struct RoomLease {
    name: String,
    shared: Arc<Shared>,
}

impl RoomLease {
    pub fn new(name: String, shared: Arc<Shared>) -> RoomLease {
        RoomLease { name, shared }
    }
}

impl Drop for RoomLease {
    fn drop(&mut self) {
        // Inline, not on a blocking thread: once a session is over its room is let
        // go, so a stopped relay holds nothing (its data directory's lock included)
        // when its connections are gone. The only I/O is deleting a never-used
        // room's three entries.
        self.shared.release_room(&self.name);
    }
}
