//! The worker's handling of relayed messages with no socket, for the app's
//! fuzz target (`server/fuzz/fuzz_targets/app_relayed.rs`) and the stable test
//! that runs its corpus (`tests/fuzz_app_corpus.rs`). Not an API: hidden, and
//! it may change with the worker.
//!
//! A [`Driver`] is one worker [`Session`] stepped by hand: relay frames go
//! through the very function a live connection uses, the UI's commands
//! through the same paths, "the writer has room" asks [`Outgoing`] for its
//! next frame, and a lost connection requeues as the reconnect loop does.
//! Everything the worker would tell the UI, or write to the relay, is kept.

use bytes::Bytes;
use snapwire_relay::protocol::{Limits, Welcome};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::Command;
use super::connection::{self, End, Session};
use super::incoming::Streams;
use crate::settings::Target;
use crate::state::Event;

/// Room for what one step emits (a step emits a few events at most; drained after each).
const EVENTS: usize = 4096;

/// One worker session, stepped by hand.
pub struct Driver {
    runtime: tokio::runtime::Runtime,
    session: Session,
    /// The current connection's streams and limits; `None` while offline.
    link: Option<(Streams, Limits)>,
    events: mpsc::Receiver<Event>,
    out_tx: mpsc::Sender<Message>,
    out_rx: mpsc::Receiver<Message>,
    /// What the worker wrote to the relay, in order.
    pub sent: Vec<Bytes>,
    /// What the worker told the UI, in order.
    pub emitted: Vec<Event>,
}

impl Driver {
    /// A worker for the client `secret`, offline until [`Driver::welcome`].
    pub fn new(secret: &str) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (ev_tx, events) = mpsc::channel(EVENTS);
        let (out_tx, out_rx) = mpsc::channel(EVENTS);
        let target = Target {
            url: "ws://127.0.0.1:9/ws".into(),
            name: "Ana".into(),
            room: "lobby".into(),
            token: None,
        };
        let session = Session::new(target, secret.to_owned(), ev_tx, crate::repaint::nothing());
        Ok(Self {
            runtime,
            session,
            link: None,
            events,
            out_tx,
            out_rx,
            sent: Vec::new(),
            emitted: Vec::new(),
        })
    }

    /// True while a connection is up (welcomed, not lost since).
    pub fn connected(&self) -> bool {
        self.link.is_some()
    }

    /// A new connection's welcome, as after `hello`. False when the worker
    /// would reconnect at once (the room's history was replaced).
    pub fn welcome(&mut self, welcome: Welcome) -> bool {
        self.lost();
        let result = self.runtime.block_on(self.session.welcomed(welcome));
        let welcomed = match result {
            Ok(limits) => {
                let streams = Streams::new(&limits, self.session.stream_dir());
                self.link = Some((streams, limits));
                true
            }
            Err(End::Restart) => false,
            Err(_) => false,
        };
        self.drain();
        welcomed
    }

    /// The connection is lost: its streams go, and what was not acked waits to go again.
    pub fn lost(&mut self) {
        if self.link.take().is_some() {
            self.session.out.requeue();
            let event = Event::Reconnecting {
                retry_at: std::time::Instant::now(),
                reason: "cut".into(),
            };
            let _ = self.runtime.block_on(self.session.emit(event));
        }
        self.drain();
    }

    /// One frame from the relay (ignored while offline, as no socket would bring it).
    pub fn relay(&mut self, frame: Bytes) {
        let Some((incoming, _)) = self.link.as_mut() else {
            return;
        };
        let session = &mut self.session;
        let out = &self.out_tx;
        let _ = self
            .runtime
            .block_on(connection::handle(session, frame, incoming, out));
        self.drain();
    }

    /// One of the UI's commands, connected or not.
    pub fn command(&mut self, command: Command) {
        let session = &mut self.session;
        if self.link.is_some() {
            let _ = self
                .runtime
                .block_on(connection::take_command(session, command));
        } else {
            let _ = self.runtime.block_on(session.command(command));
        }
        self.drain();
    }

    /// The writer has room for one frame: what the worker writes, if anything.
    pub fn write(&mut self) -> Option<Bytes> {
        let (_, limits) = self.link.as_ref()?;
        let (frame, progress) = self.session.out.next_frame(limits)?;
        if let Some(event) = progress {
            let _ = self.runtime.block_on(self.session.emit(event));
        }
        self.sent.push(frame.clone());
        self.drain();
        Some(frame)
    }

    /// Takes what the worker emitted and wrote (receipts) since the last step.
    fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.emitted.push(event);
        }
        while let Ok(message) = self.out_rx.try_recv() {
            if let Message::Binary(frame) = message {
                self.sent.push(frame);
            }
        }
    }
}
