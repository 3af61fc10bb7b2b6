//! Desktop notifications for pictures and texts from others that arrive
//! while the window is in the background. The app decides *when* (not
//! focused, the setting on, live items only, at most [`MAX_PER_BATCH`] at
//! once with the rest summed up); a [`Notifier`] shows them. Tests use a
//! fake; the desktop one talks to the freedesktop notification service over
//! D-Bus on its own thread (zbus, already part of the window's accessibility
//! stack, so it costs no new crate), with a small thumbnail decoded there.
//! Elsewhere nothing is shown: the window title keeps counting.

use std::sync::Arc;

use bytes::Bytes;

use crate::state::{Body, EntryKey, Model};
use crate::t;

/// Notes shown for one batch of arrivals; more become one "and N more".
pub const MAX_PER_BATCH: usize = 3;
/// Notes waiting for the desktop thread; more are dropped (the title still counts).
#[cfg(target_os = "linux")]
const QUEUE: usize = 8;
/// Thumbnail side in the notification.
#[cfg(target_os = "linux")]
const THUMB_SIDE: u32 = 96;

/// One notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Who sent it ("Ben"), or "Snapwire" for a summary.
    pub title: String,
    /// The text, or "sent a picture: name.png".
    pub body: String,
    /// The picture, for a thumbnail where the platform shows one.
    pub image: Option<Bytes>,
}

/// The notes for these entries of the room (texts and pictures of others;
/// notices and our own items have no sender and give none), in `keys` order.
pub fn notes_for(model: &Model, keys: &[EntryKey]) -> Vec<Note> {
    keys.iter()
        .filter_map(|key| model.entry(*key))
        .filter_map(|entry| {
            let title = entry.from.as_ref()?.name.clone();
            match &entry.body {
                Body::Text { text, .. } => Some(Note {
                    title,
                    body: text.chars().take(200).collect(),
                    image: None,
                }),
                Body::Image(image) => Some(Note {
                    title,
                    body: t!("notify-picture", name = image.name()),
                    image: image.bytes.clone(),
                }),
                Body::Notice(_) => None,
            }
        })
        .collect()
}

/// Shows notes. Must not block: the app calls it on the UI thread.
pub trait Notifier: Send + Sync {
    fn notify(&self, note: Note);
}

/// Shows nothing (platforms without a notification service, and the default).
pub struct Silent;

impl Notifier for Silent {
    fn notify(&self, _note: Note) {}
}

/// The platform's notifier.
pub fn desktop() -> Arc<dyn Notifier> {
    #[cfg(target_os = "linux")]
    {
        match dbus::DbusNotifier::spawn() {
            Ok(n) => return Arc::new(n),
            Err(e) => tracing::warn!(error = %e, "no notification thread"),
        }
    }
    Arc::new(Silent)
}

/// What arrived in one drain, as notes: one per item up to
/// [`MAX_PER_BATCH`], then one summary of the rest.
pub fn batch(items: Vec<Note>) -> Vec<Note> {
    if items.len() <= MAX_PER_BATCH {
        return items;
    }
    let rest = items.len() - (MAX_PER_BATCH - 1);
    let mut notes: Vec<Note> = items.into_iter().take(MAX_PER_BATCH - 1).collect();
    notes.push(Note {
        title: "Snapwire".into(),
        body: t!("notify-more", count = rest),
        image: None,
    });
    notes
}

#[cfg(target_os = "linux")]
mod dbus {
    use std::collections::HashMap;
    use std::sync::mpsc;

    use super::{Note, Notifier, QUEUE, THUMB_SIDE};

    pub struct DbusNotifier {
        tx: mpsc::SyncSender<Note>,
    }

    impl DbusNotifier {
        /// The thread connects on the first note, so a desktop without a session bus costs nothing.
        pub fn spawn() -> std::io::Result<Self> {
            let (tx, rx) = mpsc::sync_channel::<Note>(QUEUE);
            std::thread::Builder::new()
                .name("snapwire-notify".into())
                .spawn(move || {
                    let mut connection: Option<zbus::Connection> = None;
                    while let Ok(note) = rx.recv() {
                        if connection.is_none() {
                            match pollster::block_on(zbus::Connection::session()) {
                                Ok(c) => connection = Some(c),
                                Err(e) => {
                                    tracing::info!(error = %e, "no session bus; notifications off");
                                    return;
                                }
                            }
                        }
                        if let Some(c) = &connection
                            && let Err(e) = pollster::block_on(show(c, &note))
                        {
                            tracing::warn!(error = %e, "notification not shown");
                        }
                    }
                })?;
            Ok(Self { tx })
        }
    }

    impl Notifier for DbusNotifier {
        fn notify(&self, note: Note) {
            // Full: the title still counts; a backlog of stale notes helps nobody.
            let _ = self.tx.try_send(note);
        }
    }

    async fn show(connection: &zbus::Connection, note: &Note) -> zbus::Result<()> {
        let mut hints: HashMap<&str, zbus::zvariant::Value<'_>> = HashMap::new();
        if let Some(thumb) = note.image.as_deref().and_then(thumbnail) {
            hints.insert("image-data", thumb.into());
        }
        let actions: Vec<&str> = Vec::new();
        connection
            .call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.Notifications"),
                "Notify",
                &(
                    "Snapwire",
                    0u32,
                    "snapwire",
                    note.title.as_str(),
                    note.body.as_str(),
                    actions,
                    hints,
                    -1i32,
                ),
            )
            .await?;
        Ok(())
    }

    /// The freedesktop `image-data` structure: (width, height, rowstride, alpha, bits, channels, bytes).
    type ImageData = (i32, i32, i32, bool, i32, i32, Vec<u8>);

    fn thumbnail(bytes: &[u8]) -> Option<zbus::zvariant::Structure<'static>> {
        let image = crate::media::decode(bytes).ok()?;
        let thumb = image.thumbnail(THUMB_SIDE, THUMB_SIDE).into_rgba8();
        let (w, h) = (thumb.width() as i32, thumb.height() as i32);
        let data: ImageData = (w, h, w * 4, true, 8, 4, thumb.into_raw());
        Some(data.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(n: usize) -> Note {
        Note {
            title: "Ben".into(),
            body: format!("text {n}"),
            image: None,
        }
    }

    #[test]
    fn a_burst_is_summed_up() {
        assert_eq!(batch((0..3).map(note).collect()).len(), 3);
        let notes = batch((0..10).map(note).collect());
        assert_eq!(notes.len(), MAX_PER_BATCH);
        assert_eq!(notes[2].body, "and 8 more new items");
        assert!(batch(Vec::new()).is_empty());
    }
}
