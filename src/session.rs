//! One room session: the connection worker's handle, the model it feeds,
//! the backlog of media jobs the worker had no room for yet, files waiting
//! for the room to show ("Open with Snapwire"), and the memory policy for
//! received images. The app owns one; it knows nothing of views.

use std::collections::VecDeque;
use std::path::PathBuf;

use snapwire_relay::protocol::validate;

use crate::media::{self, Job, MediaWorker, SendOptions, Source};
use crate::net::{Command, NetHandle, SendError};
use crate::outbox::{self, Outbox, Waiting};
use crate::repaint::Repaint;
use crate::settings::{self, Target};
use crate::spill::SpillPolicy;
use crate::state::{Body, ConnState, EntryKey, Event, ImageState, Model, PreparedImage, now_ms};
use crate::t;

/// Relay events taken per frame, so a flood never stalls drawing.
const EVENTS_PER_FRAME: usize = 2000;
/// The relay's text limit until `welcome` tells us its own.
const DEFAULT_MAX_TEXT_BYTES: u64 = 16 * 1024;

/// What one drain of the connection changed, for the app's title, attention and textures.
#[derive(Debug, Default)]
pub struct Drained {
    /// Images from someone else, live (not history), that are now complete.
    pub arrived: Vec<EntryKey>,
    /// Texts from someone else, live (not history).
    pub texts: Vec<EntryKey>,
    /// Entries that left the timeline (their textures go with them).
    pub gone: Vec<EntryKey>,
    /// The per-frame budget ran out: more events wait.
    pub more: bool,
}

pub struct RoomSession {
    pub model: Model,
    /// What we are connected to (`None` in the connect view).
    pub target: Option<Target>,
    pub spill: SpillPolicy,
    net: Option<NetHandle>,
    /// Jobs the media queue had no room for yet, in order.
    backlog: VecDeque<Job>,
    /// Files given on the command line, sent once the room shows (`true`: without asking).
    pending_open: Option<(Vec<PathBuf>, bool)>,
    check_memory: bool,
    /// Where unacknowledged items are kept across runs (`None`: in memory only).
    outbox_root: Option<(PathBuf, Repaint)>,
    /// This room's persisted outbox, while connected.
    pub outbox: Option<Outbox>,
}

impl RoomSession {
    pub fn new(my_id: String) -> Self {
        Self {
            model: Model::new(my_id),
            target: None,
            spill: SpillPolicy::default(),
            net: None,
            backlog: VecDeque::new(),
            pending_open: None,
            check_memory: false,
            outbox_root: None,
            outbox: None,
        }
    }

    /// Keeps items waiting to be sent below `root` (one directory per relay
    /// and room) and sends what an earlier run left there.
    pub fn keep_outbox(&mut self, root: PathBuf, repaint: Repaint) {
        self.outbox_root = Some((root, repaint));
    }

    /// A new connection: a fresh model for it (the old room's entries mean nothing there).
    pub fn start(&mut self, secret: &str, target: Target, net: NetHandle) {
        self.model = Model::new(validate::user_id(secret));
        self.model.conn = ConnState::Connecting { attempt: 0 };
        self.outbox = self.outbox_root.as_ref().and_then(|(root, repaint)| {
            let dir = outbox::room_dir(root, &target.url, &target.room);
            Outbox::open(dir, std::sync::Arc::clone(repaint))
                .map_err(|e| tracing::warn!(error = %e, "no outbox thread; waiting items live in memory only"))
                .ok()
        });
        self.net = Some(net);
        self.target = Some(target);
    }

    /// Drops the connection (the worker stops with its handle); what waits stays on disk.
    pub fn stop(&mut self) {
        self.net = None;
        self.target = None;
        // Written out before a new session of the same room reads the directory.
        if let Some(outbox) = self.outbox.take() {
            outbox.close(std::time::Duration::from_secs(2));
        }
    }

    /// The app is closing: what waits is written out before it goes.
    pub fn close_outbox(&mut self) {
        if let Some(outbox) = self.outbox.take() {
            outbox.close(std::time::Duration::from_secs(10));
        }
    }

    /// What an earlier run left unsent: back in the timeline as waiting, and
    /// handed to the worker first, with the same ids.
    fn restore(&mut self) {
        let Some(waiting) = self.outbox.as_mut().and_then(Outbox::take_loaded) else {
            return;
        };
        for item in waiting {
            if self.model.by_local_id(item.id()).is_some() {
                continue;
            }
            match item {
                Waiting::Text { id, ts, text } => {
                    self.model.add_own_text(&id, &text, ts);
                    let _ = self.command(Command::SendText { id, text });
                }
                Waiting::Image { id, ts, image } => {
                    self.model.add_own_image(&id, &image.meta.name, ts);
                    self.model.apply(Event::Prepared {
                        id: id.clone(),
                        result: Ok(image.clone()),
                    });
                    let _ = self.command(Command::SendImage { id, image });
                }
            }
        }
    }

    /// Forgets `id` in the outbox once it no longer waits: acknowledged,
    /// failed for good, cancelled, or gone.
    fn settle(&mut self, id: &str) {
        let Some(outbox) = self.outbox.as_mut() else {
            return;
        };
        let waiting = self.model.by_local_id(id).is_some_and(|e| {
            e.pending()
                && match &e.body {
                    Body::Image(i) => i.state.in_flight(),
                    Body::Text { failed, .. } => failed.is_none(),
                    Body::Notice(_) => false,
                }
        });
        if !waiting {
            outbox.remove(id);
        }
    }

    pub fn max_image_bytes(&self) -> u64 {
        self.model
            .limits
            .map_or(media::DEFAULT_MAX_IMAGE_BYTES, |l| l.max_image_bytes)
    }

    /// Hands a command to the worker. A refusal is a local failure and lands
    /// on the item in those words; a refused cancel comes back to the caller.
    fn command(&mut self, command: Command) -> Result<(), SendError> {
        let id = match &command {
            Command::SendText { id, .. } | Command::SendImage { id, .. } => Some(id.clone()),
            Command::Cancel { .. } => None,
        };
        let result = match &self.net {
            Some(net) => net.send(command),
            None => Err(SendError::NotConnected),
        };
        match (result, id) {
            (Err(why), Some(id)) => {
                self.model.apply(Event::SendFailed {
                    id: id.clone(),
                    reason: why.to_string(),
                });
                self.settle(&id);
                Ok(())
            }
            (result, _) => result,
        }
    }

    /// Sends a text; the error is a hint for under the composer.
    pub fn send_text(&mut self, text: &str) -> Result<(), String> {
        let limit = self
            .model
            .limits
            .map_or(DEFAULT_MAX_TEXT_BYTES, |l| l.max_text_bytes);
        if text.len() as u64 > limit {
            return Err(t!(
                "session-text-too-long",
                bytes = text.len(),
                limit = limit
            ));
        }
        let id = settings::random_hex16().map_err(|_| t!("session-no-id"))?;
        let ts = now_ms();
        self.model.add_own_text(&id, text, ts);
        if let Some(outbox) = self.outbox.as_mut() {
            outbox.put_text(&id, ts, text);
        }
        let _ = self.command(Command::SendText {
            id,
            text: text.to_owned(),
        });
        Ok(())
    }

    /// An image to send: its entry shows at once, the media worker reads and prepares it.
    pub fn send_source(
        &mut self,
        name: &str,
        source: Source,
        options: SendOptions,
    ) -> Result<(), String> {
        let id = settings::random_hex16().map_err(|_| t!("session-no-id"))?;
        self.model.add_own_image(&id, name, now_ms());
        self.backlog.push_back(Job::Prepare {
            id,
            source,
            max_bytes: self.max_image_bytes(),
            options,
        });
        Ok(())
    }

    /// Stops our own image; the error is a hint (the worker refused the cancel).
    pub fn cancel(&mut self, id: &str) -> Result<(), SendError> {
        let preparing = self
            .model
            .by_local_id(id)
            .and_then(|e| e.image())
            .is_some_and(|i| i.state == ImageState::Preparing);
        if preparing {
            // Still on a worker: its result will be ignored.
            self.model
                .apply(Event::UploadCancelled { id: id.to_owned() });
            Ok(())
        } else {
            self.command(Command::Cancel { id: id.to_owned() })
        }
    }

    /// The media worker prepared our image: it goes to the connection unless cancelled meanwhile.
    pub fn prepared(
        &mut self,
        id: String,
        result: Result<PreparedImage, String>,
        metadata: Option<media::privacy::MetadataOutcome>,
    ) {
        let image = result.as_ref().ok().cloned();
        self.model.apply(Event::Prepared {
            id: id.clone(),
            result,
        });
        if let Some(outcome) = metadata {
            self.model.set_note(&id, outcome.words());
        }
        let accepted = self
            .model
            .by_local_id(&id)
            .and_then(|e| e.image())
            .is_some_and(|i| i.state == ImageState::Queued);
        if let (Some(image), true) = (image, accepted) {
            if let Some(outbox) = self.outbox.as_mut() {
                let ts = self.model.by_local_id(&id).map_or_else(now_ms, |e| e.ts);
                outbox.put_image(&id, ts, &image);
            }
            let _ = self.command(Command::SendImage { id, image });
        }
    }

    /// A cache write finished.
    pub fn spilled(&mut self, key: EntryKey, result: Result<PathBuf, String>) {
        self.spill.done(&mut self.model, key, result);
    }

    /// A job for the media worker, after those already waiting.
    pub fn queue(&mut self, job: Job) {
        self.backlog.push_back(job);
    }

    /// Moves waiting jobs to the worker while it has room; spills first if memory is over budget.
    pub fn flush(&mut self, media: &MediaWorker) {
        if std::mem::take(&mut self.check_memory) {
            let jobs = self.spill.plan(&self.model);
            self.backlog.extend(jobs);
        }
        while let Some(job) = self.backlog.pop_front() {
            if let Err(job) = media.submit(job) {
                self.backlog.push_front(job);
                break;
            }
        }
    }

    /// Takes what the connection worker reported, up to the per-frame budget.
    pub fn drain(&mut self) -> Drained {
        self.restore();
        let mut drained = Drained::default();
        for _ in 0..EVENTS_PER_FRAME {
            let Some(event) = self.net.as_mut().and_then(NetHandle::try_recv) else {
                return drained;
            };
            self.apply(event, &mut drained);
        }
        drained.more = true;
        drained
    }

    fn apply(&mut self, event: Event, drained: &mut Drained) {
        // An image from someone else, live (not history): counted while the window is away.
        let arriving = match &event {
            Event::ImageComplete { sid, .. } | Event::ImageStored { sid, .. } => self
                .model
                .entries
                .iter()
                .find(|e| e.sid == Some(*sid) && !e.own && !e.history)
                .map(|e| e.key),
            _ => None,
        };
        if matches!(event, Event::ImageComplete { .. }) {
            self.check_memory = true;
        }
        let live_text = match &event {
            Event::Text {
                seq,
                from,
                history: false,
                ..
            } if from.id != self.model.my_id => Some(*seq),
            _ => None,
        };
        let removes = matches!(
            event,
            Event::Reconnecting { .. }
                | Event::Stopped { .. }
                | Event::Welcome(_)
                | Event::ImageComplete { .. }
                | Event::ImageStored { .. }
                | Event::ImageCancel { .. }
                | Event::Ack { .. }
        );
        let before: Vec<EntryKey> = if removes {
            self.model.entries.iter().map(|e| e.key).collect()
        } else {
            Vec::new()
        };
        let settles = match &event {
            Event::Ack { id, .. }
            | Event::SendFailed { id, .. }
            | Event::UploadCancelled { id }
            | Event::RelayError { id: Some(id), .. } => Some(id.clone()),
            _ => None,
        };
        self.model.apply(event);
        if let Some(id) = settles {
            self.settle(&id);
        }
        if let Some(entry) = live_text.and_then(|seq| self.model.by_seq(seq)) {
            drained.texts.push(entry.key);
        }
        if let Some(key) = arriving
            && self
                .model
                .entry(key)
                .and_then(|e| e.image())
                .is_some_and(|i| i.state == ImageState::Ready)
        {
            drained.arrived.push(key);
        }
        if !before.is_empty() {
            let now: std::collections::HashSet<_> =
                self.model.entries.iter().map(|e| e.key).collect();
            drained
                .gone
                .extend(before.into_iter().filter(|k| !now.contains(k)));
        }
    }

    /// Files from "Open with Snapwire", kept until the room shows.
    /// (Added to any still waiting; asked about unless every batch said `yes`.)
    pub fn open_later(&mut self, paths: Vec<PathBuf>, yes: bool) {
        if paths.is_empty() {
            return;
        }
        match self.pending_open.as_mut() {
            Some((waiting, all_yes)) => {
                waiting.extend(paths);
                *all_yes &= yes;
            }
            None => self.pending_open = Some((paths, yes)),
        }
    }

    pub fn take_pending_open(&mut self) -> Option<(Vec<PathBuf>, bool)> {
        self.pending_open.take()
    }

    /// Our own entries not yet acked (shown in the status line while offline).
    pub fn pending_count(&self) -> usize {
        self.model
            .entries
            .iter()
            .filter(|e| {
                e.pending()
                    && match &e.body {
                        Body::Image(i) => i.state.in_flight(),
                        Body::Text { failed, .. } => failed.is_none(),
                        Body::Notice(_) => false,
                    }
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Command;

    fn target() -> Target {
        Target {
            url: "ws://127.0.0.1:9/ws".into(),
            name: "Ana".into(),
            room: "lobby".into(),
            token: None,
        }
    }

    fn failed_text(session: &RoomSession) -> Option<String> {
        session.model.entries.iter().find_map(|e| match &e.body {
            Body::Text { failed, .. } => failed.clone(),
            _ => None,
        })
    }

    #[test]
    fn a_full_worker_queue_is_a_local_failure_in_its_own_words() {
        let (tx, _rx) = tokio::sync::mpsc::channel::<Command>(1);
        let (_ev_tx, ev_rx) = tokio::sync::mpsc::channel(1);
        let mut session = RoomSession::new("aaaaaaaaaaaa".into());
        session.start(&"00".repeat(16), target(), NetHandle::from_parts(tx, ev_rx));
        session.send_text("first").expect("taken");
        assert_eq!(failed_text(&session), None);
        session.send_text("second").expect("the entry is added");
        let failed: Vec<_> = session
            .model
            .entries
            .iter()
            .filter_map(|e| match &e.body {
                Body::Text { failed, .. } => failed.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(failed, ["too much at once; try again in a moment"]);
        assert!(
            session.model.last_error.is_none(),
            "not shown as the relay's error"
        );
    }

    #[test]
    fn a_stopped_worker_says_so_on_the_item() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Command>(4);
        drop(rx);
        let (_ev_tx, ev_rx) = tokio::sync::mpsc::channel(1);
        let mut session = RoomSession::new("aaaaaaaaaaaa".into());
        session.start(&"00".repeat(16), target(), NetHandle::from_parts(tx, ev_rx));
        session.send_text("hello").expect("the entry is added");
        assert_eq!(
            failed_text(&session).as_deref(),
            Some("the connection worker has stopped")
        );
        assert!(!format!("{:?}", session.model.entries).contains("Sending too fast"));
    }

    #[test]
    fn a_cancel_the_worker_cannot_take_comes_back_to_the_caller() {
        let mut session = RoomSession::new("aaaaaaaaaaaa".into());
        session.model.add_own_text("t1", "x", 1);
        assert_eq!(session.cancel("t1"), Err(SendError::NotConnected));
    }
}
