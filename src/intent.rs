//! What a person asked for, as the views return it. The views only draw and
//! say what was clicked; the app's `dispatch` is the one
//! place that turns an intent into work.

use std::path::PathBuf;

use crate::discovery::FoundRelay;
use crate::state::EntryKey;

#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// "Connect" on the form (it is checked when dispatched).
    Connect,
    /// "Host a room on this computer".
    Host,
    /// One click on a relay found on the LAN.
    JoinFound(FoundRelay),
    /// "Leave" or "Stop hosting".
    Leave,
    /// The × on the status line's error.
    DismissError,
    /// "Send images…": the file dialog.
    PickFiles,
    /// The composer's text (Enter or "Send").
    SendText(String),
    /// Files dropped on the window or pasted as paths: they go to the send sheet.
    OfferFiles(Vec<PathBuf>),
    /// An image pasted from the clipboard.
    SendPasted(std::sync::Arc<egui::ColorImage>),
    /// "Send to the room" on the send sheet.
    SendSheet,
    CloseSheet,
    /// Stop our own image that is being prepared, queued or uploading.
    Cancel(String),
    /// Show this image in the viewer.
    Open(EntryKey),
    CloseViewer,
    Save(EntryKey),
    /// Several images into one folder.
    SaveMany(Vec<EntryKey>),
    StopSaving,
    CopyImage(EntryKey),
    CopyText(String),
    DismissNotice,
    /// The room's tabs: the gallery (true) or the timeline.
    ShowGallery(bool),
    /// The status line's "Notify" switch: desktop notifications on or off.
    Notifications(bool),
    /// The language menu: `None` follows the system, `Some` is always that one.
    Language(Option<crate::i18n::Language>),
}
