//! The pure model of one room: connection status, who is online, and the
//! timeline. Everything that happens (a relay message, a local action, a
//! worker's result) is an [`Event`] given to [`Model::apply`]; there is no I/O
//! here, so tests drive the model directly with event sequences.

mod entry;
mod event;
mod presence;
mod words;

use bytes::Bytes;
use snapwire_relay::protocol::{CancelReason, Limits, User, Welcome};

pub use entry::{
    Body, ConnState, Entry, EntryKey, ImageItem, ImageMeta, ImageState, PreparedImage,
};
pub use event::Event;
pub use words::{cancel_words, error_words, now_ms};

/// Where a completed image's bytes are.
enum Stored {
    Memory(Bytes),
    File(std::path::PathBuf),
}

/// Said on our image when Cancel came after its last byte.
pub fn too_late() -> String {
    crate::t!("cancel-too-late")
}

/// One room as this client knows it.
#[derive(Debug)]
pub struct Model {
    /// Our public id, derived from the client secret, known before `welcome`.
    pub my_id: String,
    pub me: Option<User>,
    pub room: Option<String>,
    pub epoch: Option<String>,
    pub peers: Vec<User>,
    pub limits: Option<Limits>,
    pub conn: ConnState,
    pub entries: Vec<Entry>,
    /// The latest error that concerns no item, in words.
    pub last_error: Option<String>,
    /// Counts entries ever appended; the timeline compares it to know what is new.
    pub appended: u64,
    next_key: EntryKey,
    /// The timeline's last entry, while it is the line joins and leaves update.
    presence: Option<presence::PresenceLine>,
    /// Which entry holds each seq.
    seqs: std::collections::HashMap<u64, EntryKey>,
}

impl Model {
    pub fn new(my_id: impl Into<String>) -> Self {
        Self {
            my_id: my_id.into(),
            me: None,
            room: None,
            epoch: None,
            peers: Vec::new(),
            limits: None,
            conn: ConnState::Idle,
            entries: Vec::new(),
            last_error: None,
            appended: 0,
            next_key: 1,
            presence: None,
            seqs: std::collections::HashMap::new(),
        }
    }

    /// Entries stay in the order of their keys (appended with growing keys,
    /// never reordered), so a key is found by binary search.
    fn index_of_key(&self, key: EntryKey) -> Option<usize> {
        self.entries.binary_search_by_key(&key, |e| e.key).ok()
    }

    pub fn entry(&self, key: EntryKey) -> Option<&Entry> {
        self.entries.get(self.index_of_key(key)?)
    }

    fn index_of_seq(&self, seq: u64) -> Option<usize> {
        let i = self.index_of_key(*self.seqs.get(&seq)?)?;
        // The map may remember an entry that left: trust only a match.
        (self.entries[i].seq == Some(seq)).then_some(i)
    }

    /// The entry holding `seq`, looked up (receipts arrive for every item).
    pub fn by_seq(&self, seq: u64) -> Option<&Entry> {
        self.entries.get(self.index_of_seq(seq)?)
    }

    fn set_seq(&mut self, index: usize, seq: u64) {
        if let Some(entry) = self.entries.get_mut(index) {
            entry.seq = Some(seq);
            self.seqs.insert(seq, entry.key);
        }
    }

    pub fn by_local_id(&self, id: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.local_id.as_deref() == Some(id))
    }

    /// The full image of `key` now lives in the file at `path`: its bytes leave memory.
    pub fn spilled(&mut self, key: EntryKey, path: std::path::PathBuf) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.key == key)
            && let Body::Image(image) = &mut entry.body
            && image.state == ImageState::Ready
        {
            image.bytes = None;
            image.spilled = Some(path);
        }
    }

    /// Puts a short note on our own image `id` (what happened to its metadata).
    pub fn set_note(&mut self, id: &str, note: impl Into<String>) {
        if let Some(i) = self.index_of_local(id)
            && let Some(image) = self.image_mut(i)
        {
            image.note = Some(note.into());
        }
    }

    /// Bytes of full images held in memory.
    pub fn bytes_in_memory(&self) -> usize {
        self.entries
            .iter()
            .filter_map(|e| e.image()?.bytes.as_ref().map(Bytes::len))
            .sum()
    }

    /// Highest seq in the timeline.
    pub fn max_seq(&self) -> Option<u64> {
        self.entries.iter().filter_map(|e| e.seq).max()
    }

    /// Adds our own text, pending until the relay acks `id`.
    pub fn add_own_text(&mut self, id: &str, text: &str, now_ms: u64) -> EntryKey {
        let from = self.me_or_placeholder();
        self.push(Entry {
            key: 0,
            seq: None,
            ts: now_ms,
            from: Some(from),
            own: true,
            local_id: Some(id.to_owned()),
            sid: None,
            history: false,
            receipts: Vec::new(),
            body: Body::Text {
                text: text.to_owned(),
                failed: None,
            },
        })
    }

    /// Adds our own image while its file is being read.
    pub fn add_own_image(&mut self, id: &str, name: &str, now_ms: u64) -> EntryKey {
        let from = self.me_or_placeholder();
        self.push(Entry {
            key: 0,
            seq: None,
            ts: now_ms,
            from: Some(from),
            own: true,
            local_id: Some(id.to_owned()),
            sid: None,
            history: false,
            receipts: Vec::new(),
            body: Body::Image(ImageItem {
                meta: Some(ImageMeta {
                    name: name.to_owned(),
                    mime: String::new(),
                    size: 0,
                    sha256: String::new(),
                    width: None,
                    height: None,
                }),
                preview: None,
                bytes: None,
                spilled: None,
                state: ImageState::Preparing,
                note: None,
            }),
        })
    }

    /// A line in the timeline that concerns no item (a failure before an item exists).
    pub fn add_notice(&mut self, text: impl Into<String>, now_ms: u64) -> EntryKey {
        self.push(Entry {
            key: 0,
            seq: None,
            ts: now_ms,
            from: None,
            own: false,
            local_id: None,
            sid: None,
            history: false,
            receipts: Vec::new(),
            body: Body::Notice(text.into()),
        })
    }

    /// The presence line to update: the last entry if it is one, else a new one.
    fn presence_line(&mut self) -> &mut presence::PresenceLine {
        let last = self.entries.last().map(|e| e.key);
        if self.presence.as_ref().map(|p| p.key) != last || last.is_none() {
            let key = self.add_notice(String::new(), now_ms());
            self.presence = Some(presence::PresenceLine::new(key));
        }
        self.presence
            .get_or_insert_with(|| presence::PresenceLine::new(0))
    }

    fn write_presence(&mut self) {
        let Some(line) = &self.presence else {
            return;
        };
        let text = line.text();
        if let Some(entry) = self.entries.last_mut()
            && entry.key == line.key
        {
            entry.body = Body::Notice(text);
            entry.ts = now_ms();
        }
    }

    fn me_or_placeholder(&self) -> User {
        self.me.clone().unwrap_or_else(|| User {
            id: self.my_id.clone(),
            name: "me".to_owned(),
        })
    }

    fn push(&mut self, mut entry: Entry) -> EntryKey {
        entry.key = self.next_key;
        self.next_key += 1;
        self.appended += 1;
        let key = entry.key;
        if let Some(seq) = entry.seq {
            self.seqs.insert(seq, key);
        }
        self.entries.push(entry);
        key
    }

    fn index_of_sid(&self, sid: u64) -> Option<usize> {
        self.entries.iter().position(|e| e.sid == Some(sid))
    }

    fn index_of_local(&self, id: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.local_id.as_deref() == Some(id))
    }

    fn image_mut(&mut self, index: usize) -> Option<&mut ImageItem> {
        match &mut self.entries.get_mut(index)?.body {
            Body::Image(image) => Some(image),
            _ => None,
        }
    }

    /// What the connection lost: streams of this connection end with it (their
    /// `sid`s mean nothing on the next one, and `since` brings them back in
    /// full); our uploads start over after reconnecting.
    fn connection_lost(&mut self) {
        self.entries.retain(|e| {
            !(e.sid.is_some()
                && e.seq.is_none()
                && matches!(&e.body, Body::Image(i) if matches!(i.state, ImageState::Streaming { .. })))
        });
        for entry in &mut self.entries {
            if let Body::Image(image) = &mut entry.body
                && matches!(image.state, ImageState::Uploading { .. })
            {
                image.state = ImageState::Queued;
            }
        }
        self.peers.clear();
    }

    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Connecting { attempt } => self.conn = ConnState::Connecting { attempt },
            Event::Reconnecting { retry_at, reason } => {
                self.connection_lost();
                self.conn = ConnState::Reconnecting { retry_at, reason };
            }
            Event::Stopped { reason } => {
                self.connection_lost();
                self.conn = ConnState::Stopped { reason };
            }
            Event::Welcome(welcome) => self.welcome(welcome),
            Event::Joined(user) => {
                self.presence_line().joined(&user.name);
                self.peers.push(user);
                self.write_presence();
            }
            Event::Left(user) => {
                if let Some(i) = self.peers.iter().position(|p| p.id == user.id) {
                    self.peers.remove(i);
                }
                self.presence_line().left(&user.name);
                self.write_presence();
            }
            Event::Text {
                seq,
                ts,
                from,
                text,
                history,
            } => {
                if self.by_seq(seq).is_some() {
                    return;
                }
                let own = from.id == self.my_id;
                self.push(Entry {
                    key: 0,
                    seq: Some(seq),
                    ts,
                    from: Some(from),
                    own,
                    local_id: None,
                    sid: None,
                    history,
                    receipts: Vec::new(),
                    body: Body::Text { text, failed: None },
                });
            }
            Event::ImageBegin {
                sid,
                ts,
                from,
                meta,
                preview,
                history,
            } => {
                let own = from.id == self.my_id;
                self.push(Entry {
                    key: 0,
                    seq: None,
                    ts,
                    from: Some(from),
                    own,
                    local_id: None,
                    sid: Some(sid),
                    history,
                    receipts: Vec::new(),
                    body: Body::Image(ImageItem {
                        meta: Some(meta),
                        preview,
                        bytes: None,
                        spilled: None,
                        state: ImageState::Streaming { received: 0 },
                        note: None,
                    }),
                });
            }
            Event::ImageProgress { sid, received } => {
                if let Some(i) = self.index_of_sid(sid)
                    && let Some(image) = self.image_mut(i)
                    && matches!(image.state, ImageState::Streaming { .. })
                {
                    image.state = ImageState::Streaming { received };
                }
            }
            Event::ImageComplete {
                sid,
                seq,
                ts,
                bytes,
                verified,
            } => self.complete(sid, seq, ts, Stored::Memory(bytes), verified),
            Event::ImageStored {
                sid,
                seq,
                ts,
                path,
                verified,
            } => self.complete(sid, seq, ts, Stored::File(path), verified),
            Event::ImageCancel { sid, reason } => {
                let Some(i) = self.index_of_sid(sid) else {
                    return;
                };
                if reason == CancelReason::Lagging {
                    // Not a failure: the relay sends it again in full once we catch up.
                    self.entries.remove(i);
                    return;
                }
                self.entries[i].sid = None;
                if let Some(image) = self.image_mut(i) {
                    image.state = ImageState::Cancelled(cancel_words(reason));
                }
            }
            Event::StreamRefused { sid, reason } => {
                let Some(i) = self.index_of_sid(sid) else {
                    return;
                };
                self.entries[i].sid = None;
                if let Some(image) = self.image_mut(i) {
                    image.state = ImageState::Failed(reason);
                }
            }
            Event::Ack { id, seq, ts } => self.ack(&id, seq, ts),
            Event::Receipt { seq, user } => {
                if let Some(i) = self.index_of_seq(seq)
                    && let Some(entry) = self.entries.get_mut(i)
                    && entry.own
                    && user.id != self.my_id
                    && !entry.receipts.iter().any(|u| u.id == user.id)
                {
                    entry.receipts.push(user);
                }
            }
            Event::RelayError { code, message, id } => {
                let words = error_words(code, &message);
                match id.as_deref().and_then(|id| self.index_of_local(id)) {
                    Some(i) if self.entries[i].seq.is_none() => match &mut self.entries[i].body {
                        Body::Image(image) => image.state = ImageState::Failed(words),
                        Body::Text { failed, .. } => *failed = Some(words),
                        Body::Notice(_) => {}
                    },
                    _ => self.last_error = Some(words),
                }
            }
            Event::Prepared { id, result } => {
                let Some(i) = self.index_of_local(&id) else {
                    return;
                };
                if let Some(image) = self.image_mut(i) {
                    if !matches!(image.state, ImageState::Preparing) {
                        return;
                    }
                    match result {
                        Ok(prepared) => {
                            image.meta = Some(prepared.meta);
                            image.preview = prepared.preview;
                            image.bytes = Some(prepared.bytes);
                            image.state = ImageState::Queued;
                        }
                        Err(why) => image.state = ImageState::Failed(why),
                    }
                }
            }
            Event::UploadProgress { id, sent } => {
                if let Some(i) = self.index_of_local(&id)
                    && let Some(image) = self.image_mut(i)
                    && matches!(
                        image.state,
                        ImageState::Queued | ImageState::Uploading { .. }
                    )
                {
                    image.state = ImageState::Uploading { sent };
                }
            }
            Event::SendFailed { id, reason } => match self.index_of_local(&id) {
                Some(i) if self.entries[i].seq.is_none() => match &mut self.entries[i].body {
                    Body::Image(image) => image.state = ImageState::Failed(reason),
                    Body::Text { failed, .. } => *failed = Some(reason),
                    Body::Notice(_) => {}
                },
                _ => self.last_error = Some(reason),
            },
            Event::CancelTooLate { id } => {
                if let Some(i) = self.index_of_local(&id)
                    && let Some(image) = self.image_mut(i)
                    && image.state.viewable()
                {
                    image.note = Some(match image.note.take() {
                        Some(note) => format!("{note} · {}", too_late()),
                        None => too_late(),
                    });
                }
            }
            Event::UploadCancelled { id } => {
                if let Some(i) = self.index_of_local(&id)
                    && let Some(image) = self.image_mut(i)
                    && image.state.in_flight()
                {
                    image.state = ImageState::Cancelled(crate::t!("cancel-by-you"));
                    image.bytes = None;
                }
            }
        }
    }

    fn welcome(&mut self, welcome: Welcome) {
        if self.epoch.as_ref().is_some_and(|e| *e != welcome.epoch)
            || self.room.as_ref().is_some_and(|r| *r != welcome.room)
        {
            // New history (relay data wiped) or another room: what we cached is not this room's.
            self.entries.retain(Entry::pending);
            self.seqs.clear();
        }
        self.my_id = welcome.user.id.clone();
        self.me = Some(welcome.user.clone());
        for entry in self.entries.iter_mut().filter(|e| e.own) {
            entry.from = Some(welcome.user.clone());
        }
        self.room = Some(welcome.room);
        self.epoch = Some(welcome.epoch);
        self.peers = welcome.peers;
        self.limits = Some(welcome.limits);
        self.last_error = None;
        self.conn = ConnState::Connected;
    }

    /// `image_end` arrived and the bytes were checked: in memory, or in a file.
    fn complete(&mut self, sid: u64, seq: u64, ts: u64, stored: Stored, verified: bool) {
        let Some(i) = self.index_of_sid(sid) else {
            return;
        };
        if self.by_seq(seq).is_some() {
            // Already here (our own, acked; or a replay of what we had).
            self.entries.remove(i);
            return;
        }
        self.set_seq(i, seq);
        let entry = &mut self.entries[i];
        entry.sid = None;
        entry.ts = ts;
        if let Some(image) = self.image_mut(i) {
            if verified {
                match stored {
                    Stored::Memory(bytes) => image.bytes = Some(bytes),
                    Stored::File(path) => image.spilled = Some(path),
                }
                image.state = ImageState::Ready;
                self.drop_broken_tries(i);
            } else {
                image.state = ImageState::Failed(crate::t!("image-damaged"));
            }
        }
    }

    /// The image at `index` arrived whole: earlier tries of the same picture
    /// from the same person that broke off (the sender's link was cut, the
    /// relay restarted, and its app sent it again under the same id) are that
    /// picture too, so they leave rather than show it a second time, cancelled.
    fn drop_broken_tries(&mut self, index: usize) {
        let Some(done) = self.entries.get(index) else {
            return;
        };
        let key = done.key;
        let from = done.from.as_ref().map(|u| u.id.clone());
        // The same bytes under the same name: the sending app's retry of one item.
        let Some(meta) = done.image().and_then(|i| i.meta.clone()) else {
            return;
        };
        self.entries.retain(|e| {
            let broken_try = e.key != key
                && e.seq.is_none()
                && e.local_id.is_none()
                && e.from.as_ref().map(|u| &u.id) == from.as_ref()
                && e.image().is_some_and(|i| {
                    matches!(i.state, ImageState::Cancelled(_) | ImageState::Failed(_))
                        && i.meta.as_ref().is_some_and(|m| {
                            m.sha256 == meta.sha256 && m.size == meta.size && m.name == meta.name
                        })
                });
            !broken_try
        });
    }

    fn ack(&mut self, id: &str, seq: u64, ts: u64) {
        let Some(i) = self.index_of_local(id) else {
            return;
        };
        if self.entries[i].seq.is_some() {
            return;
        }
        // The relay may have replayed this very item to us before the ack (the
        // first ack was lost in a disconnect): keep ours, drop the copy.
        if let Some(dup) = self
            .entries
            .iter()
            .position(|e| e.seq == Some(seq) && e.local_id.is_none())
        {
            self.entries.remove(dup);
        }
        let Some(i) = self.index_of_local(id) else {
            return;
        };
        self.set_seq(i, seq);
        let entry = &mut self.entries[i];
        entry.ts = ts;
        if let Body::Image(image) = &mut entry.body {
            image.state = ImageState::Ready;
        }
        if let Body::Text { failed, .. } = &mut entry.body {
            *failed = None;
        }
    }
}

#[cfg(test)]
mod tests;
