//! An app client without a window: the app's own network worker and the
//! model it feeds, as the app wires them ([`snapwire::session::RoomSession`]
//! minus the media worker and the views). Every event is applied to the model
//! before the test looks at it, so a test can check what a person would see.

use std::net::SocketAddr;

use snapwire::net::{Command, NetHandle};
use snapwire::state::{ConnState, Event, Model, PreparedImage};
use snapwire_relay::protocol::validate;

use super::net::{WAIT, connect, summarize};

pub struct Member {
    pub name: String,
    pub net: NetHandle,
    pub model: Model,
    /// What the worker reported, in order (image bytes included: they are shared `Bytes`).
    pub log: Vec<Event>,
}

impl Member {
    /// The worker connected to `relay` (a relay, or a proxy in front of one) as `name`.
    pub fn spawn(relay: SocketAddr, name: &str, n: u8) -> Self {
        Self {
            name: name.to_owned(),
            net: connect(relay, name, n),
            model: Model::new(validate::user_id(&super::net::secret(n))),
            log: Vec::new(),
        }
    }

    /// Applies events to the model until `want` (seeing each event after the
    /// model took it) picks one; each wait is bounded by [`WAIT`].
    pub async fn until<T>(
        &mut self,
        what: &str,
        mut want: impl FnMut(&Event, &Model) -> Option<T>,
    ) -> T {
        loop {
            let next = tokio::time::timeout(WAIT, self.net.recv()).await;
            let event = match next {
                Ok(Some(event)) => event,
                Ok(None) => panic!("{}: the worker stopped while waiting for {what}", self.name),
                Err(_) => {
                    let tail: Vec<String> =
                        summarize(&self.log).into_iter().rev().take(40).collect();
                    panic!(
                        "{}: no {what} within {WAIT:?}; last events, newest first: {tail:#?}",
                        self.name
                    )
                }
            };
            self.model.apply(event.clone());
            let hit = want(&event, &self.model);
            self.log.push(event);
            if let Some(hit) = hit {
                return hit;
            }
        }
    }

    /// Until `holds` is true of the model (checked first: it may be already).
    pub async fn until_model(&mut self, what: &str, mut holds: impl FnMut(&Model) -> bool) {
        if holds(&self.model) {
            return;
        }
        self.until(what, |_, model| holds(model).then_some(()))
            .await;
    }

    /// Until the next welcome (a new connection is in the room).
    pub async fn welcomed(&mut self) {
        self.until("a welcome", |e, _| {
            matches!(e, Event::Welcome(_)).then_some(())
        })
        .await;
    }

    /// True when the model says connected.
    pub fn connected(&self) -> bool {
        self.model.conn == ConnState::Connected
    }

    /// Our own text, in the timeline as pending and handed to the worker (as the app does).
    pub fn send_text(&mut self, id: &str, text: &str) {
        self.model.add_own_text(id, text, 1);
        self.net
            .send(Command::SendText {
                id: id.to_owned(),
                text: text.to_owned(),
            })
            .expect("the worker takes the text");
    }

    /// Our own prepared image, in the timeline as queued and handed to the worker.
    pub fn send_image(&mut self, id: &str, image: PreparedImage) {
        self.model.add_own_image(id, &image.meta.name, 1);
        self.model.apply(Event::Prepared {
            id: id.to_owned(),
            result: Ok(image.clone()),
        });
        self.net
            .send(Command::SendImage {
                id: id.to_owned(),
                image,
            })
            .expect("the worker takes the image");
    }

    /// Until the ack of `id`; its seq.
    pub async fn acked(&mut self, id: &str) -> u64 {
        let what = format!("the ack of {id}");
        self.until(&what, |e, _| match e {
            Event::Ack { id: got, seq, .. } if got == id => Some(*seq),
            _ => None,
        })
        .await
    }
}
