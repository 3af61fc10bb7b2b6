//! Each connection's outbound queue, bounded in bytes.
//!
//! Policy (PROTOCOL.md, "Flow control"):
//! - *Live data* (streamed images, texts) is offered with [`Outbox::try_push`]: when it
//!   does not fit, the caller marks the connection lagging and it is fed from
//!   retention instead. Senders never wait for a receiver.
//! - The *feeder* (history replay and catch-up) waits for room with [`Outbox::push_wait`].
//! - *Control* messages (ack, cancel, presence, errors) must not be lost and are small:
//!   they may exceed the bound by [`CONTROL_SLACK`]; a connection past even that has
//!   stopped reading and is closed as `slow_consumer`.
//! - *Best effort* messages (receipts) are dropped when the queue is full.
//! - Live image messages are tagged with their stream, so that when the connection
//!   turns lagging what it has not been sent yet of those streams is dropped
//!   ([`Outbox::purge_live`]): that memory goes back to the budget at once.
//!
//! Bytes count until the writer has handed a message to the socket, so the bound
//! covers everything this connection holds.

use std::collections::VecDeque;
use std::sync::Mutex;

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;

/// Message slots an empty queue keeps allocated.
const IDLE_QUEUE_SLOTS: usize = 8;

/// How far control messages may exceed the bound before the connection is given up.
pub const CONTROL_SLACK: usize = 1024 * 1024;

/// How the writer should end the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub code: u16,
    pub reason: String,
}

/// What a queued message is, for [`Outbox::purge_live`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Other,
    /// The `image_begin` of live stream `sid`.
    LiveBegin(u64),
    /// A chunk of live stream `sid`.
    LiveChunk(u64),
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<(Bytes, Tag)>,
    /// Bytes queued or being written.
    bytes: usize,
    closing: Option<Closing>,
    /// The payload of the latest ping to answer (RFC 6455 lets a pong answer only the
    /// most recent one).
    pong: Option<Bytes>,
    /// Told whenever bytes leave the queue: the room paces its senders by it.
    drained: Option<Arc<Notify>>,
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// No room now (only from `try_push`).
    Full,
    /// The connection is closing; nothing more is sent.
    Closed,
}

#[derive(Debug)]
pub struct Outbox {
    limit: usize,
    state: Mutex<State>,
    /// Wakes the writer: a message or a close is waiting.
    readable: Notify,
    /// Wakes the feeder: bytes have left the queue.
    writable: Notify,
}

impl Outbox {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            state: Mutex::new(State::default()),
            readable: Notify::new(),
            writable: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push_locked(&self, state: &mut State, message: Bytes, tag: Tag) {
        state.bytes += message.len();
        state.queue.push_back((message, tag));
        self.readable.notify_one();
    }

    /// Queues live data if it fits (an empty queue always takes one message).
    pub fn try_push(&self, message: Bytes) -> Result<(), PushError> {
        self.try_push_tagged(message, Tag::Other, self.limit)
    }

    /// [`try_push`](Self::try_push) for a message of a live stream.
    pub fn try_push_live(&self, message: Bytes, tag: Tag) -> Result<(), PushError> {
        self.try_push_tagged(message, tag, self.limit)
    }

    fn try_push_tagged(&self, message: Bytes, tag: Tag, bound: usize) -> Result<(), PushError> {
        let mut state = self.lock();
        if state.closing.is_some() {
            return Err(PushError::Closed);
        }
        if state.bytes > 0 && state.bytes + message.len() > bound {
            return Err(PushError::Full);
        }
        self.push_locked(&mut state, message, tag);
        Ok(())
    }

    /// Drops the queued messages of these live streams (the connection is lagging:
    /// it gets those images from retention instead). Returns the streams whose
    /// `image_begin` was dropped too: the peer never heard of them, so they need no
    /// `image_cancel`.
    pub fn purge_live(&self, sids: &[u64]) -> Vec<u64> {
        if sids.is_empty() {
            return Vec::new();
        }
        let mut state = self.lock();
        let mut unseen = Vec::new();
        let mut freed = 0;
        state.queue.retain(|(message, tag)| match tag {
            Tag::LiveBegin(sid) if sids.contains(sid) => {
                unseen.push(*sid);
                freed += message.len();
                false
            }
            Tag::LiveChunk(sid) if sids.contains(sid) => {
                freed += message.len();
                false
            }
            _ => true,
        });
        state.bytes -= freed;
        drop(state);
        if freed > 0 {
            self.writable.notify_waiters();
        }
        unseen
    }

    /// Sets who to tell when bytes leave the queue.
    pub fn set_drained(&self, notify: Arc<Notify>) {
        self.lock().drained = Some(notify);
    }

    /// Queues a control message; `Full` means the reader is hopelessly behind.
    pub fn push_control(&self, message: Bytes) -> Result<(), PushError> {
        let mut state = self.lock();
        if state.closing.is_some() {
            return Err(PushError::Closed);
        }
        if state.bytes + message.len() > self.limit + CONTROL_SLACK {
            return Err(PushError::Full);
        }
        self.push_locked(&mut state, message, Tag::Other);
        Ok(())
    }

    /// Waits until the message fits, then queues it. Errs only when closing.
    pub async fn push_wait(&self, message: Bytes) -> Result<(), PushError> {
        self.push_wait_below(message, self.limit).await
    }

    /// Waits until the queue holds at most `window` bytes with the message in (or
    /// is empty), then queues it. Errs only when closing. The feeder keeps a
    /// catching-up connection's queue this short: enough to keep its socket busy,
    /// little to pin if it stops reading.
    pub async fn push_wait_below(&self, message: Bytes, window: usize) -> Result<(), PushError> {
        let bound = window.min(self.limit);
        loop {
            let notified = self.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_push_tagged(message.clone(), Tag::Other, bound) {
                Err(PushError::Full) => notified.await,
                other => return other,
            }
        }
    }

    /// Whether a message of `len` bytes would fit now.
    pub fn has_room(&self, len: usize) -> bool {
        let state = self.lock();
        state.bytes == 0 || state.bytes + len <= self.limit
    }

    /// Bytes queued or being written.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Drops everything queued, queues `last` (an error message) and asks the writer
    /// to close with `closing`. Only the first close wins.
    pub fn close_with(&self, last: Option<Bytes>, closing: Closing) {
        let mut state = self.lock();
        if state.closing.is_some() {
            return;
        }
        state.queue.clear();
        state.pong = None;
        state.bytes = 0;
        if let Some(last) = last {
            state.bytes += last.len();
            state.queue.push_back((last, Tag::Other));
        }
        state.closing = Some(closing);
        self.readable.notify_one();
        self.writable.notify_waiters();
    }

    /// Queues `last` after everything already queued and asks the writer to close
    /// with `closing` once it is sent: the relay's goodbye at shutdown, which must
    /// not overtake the `image_cancel`s queued before it. Only the first close wins.
    pub fn close_after(&self, last: Bytes, closing: Closing) {
        let mut state = self.lock();
        if state.closing.is_some() {
            return;
        }
        state.bytes += last.len();
        state.queue.push_back((last, Tag::Other));
        state.closing = Some(closing);
        self.readable.notify_one();
        self.writable.notify_waiters();
    }

    /// Asks the writer to answer a ping (not counted against the bound: at most one waits).
    pub fn push_pong(&self, payload: Bytes) {
        let mut state = self.lock();
        if state.closing.is_none() {
            state.pong = Some(payload);
            self.readable.notify_one();
        }
    }

    pub fn is_closing(&self) -> bool {
        self.lock().closing.is_some()
    }

    /// For the writer: waits for queued messages and takes up to `max_bytes` of them
    /// (at least one). Returns the close request once the queue is empty.
    pub async fn next_batch(&self, max_bytes: usize) -> Batch {
        loop {
            let notified = self.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(payload) = state.pong.take() {
                    return Batch::Pong(payload);
                }
                if !state.queue.is_empty() {
                    let mut batch = Vec::new();
                    let mut taken = 0;
                    while let Some((front, _)) = state.queue.front() {
                        if !batch.is_empty() && taken + front.len() > max_bytes {
                            break;
                        }
                        taken += front.len();
                        if let Some((message, _)) = state.queue.pop_front() {
                            batch.push(message);
                        }
                    }
                    // A burst (the presence of a whole room, a backlog) leaves a large
                    // ring behind; an idle connection should not keep it.
                    if state.queue.is_empty() && state.queue.capacity() > IDLE_QUEUE_SLOTS {
                        state.queue.shrink_to(IDLE_QUEUE_SLOTS);
                    }
                    return Batch::Messages(batch);
                }
                if let Some(closing) = &state.closing {
                    return Batch::Close(closing.clone());
                }
            }
            notified.await;
        }
    }

    /// For the writer: `bytes` have been handed to the socket.
    pub fn sent(&self, bytes: usize) {
        let mut state = self.lock();
        state.bytes = state.bytes.saturating_sub(bytes);
        let drained = state.drained.clone();
        drop(state);
        self.writable.notify_waiters();
        if let Some(drained) = drained {
            drained.notify_waiters();
        }
    }
}

/// What the writer gets from [`Outbox::next_batch`].
#[derive(Debug)]
pub enum Batch {
    Messages(Vec<Bytes>),
    /// Answer a ping with this payload.
    Pong(Bytes),
    Close(Closing),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn msg(len: usize) -> Bytes {
        Bytes::from(vec![0u8; len])
    }

    #[test]
    fn live_data_respects_the_bound() {
        let outbox = Outbox::new(100);
        assert_eq!(outbox.try_push(msg(60)), Ok(()));
        assert_eq!(outbox.try_push(msg(40)), Ok(()));
        assert_eq!(outbox.try_push(msg(1)), Err(PushError::Full));
        assert_eq!(outbox.queued_bytes(), 100);
    }

    #[test]
    fn purging_a_stream_drops_its_queued_live_data_only() {
        let outbox = Outbox::new(1000);
        outbox
            .try_push_live(msg(10), Tag::LiveBegin(1))
            .expect("fits");
        outbox
            .try_push_live(msg(100), Tag::LiveChunk(1))
            .expect("fits");
        outbox.try_push(msg(5)).expect("fits");
        outbox
            .try_push_live(msg(100), Tag::LiveChunk(2))
            .expect("fits");
        assert_eq!(outbox.purge_live(&[1, 2]), vec![1]);
        assert_eq!(outbox.queued_bytes(), 5);
    }

    #[tokio::test]
    async fn a_feeder_window_is_shorter_than_the_bound() {
        let outbox = Outbox::new(1000);
        outbox.push_wait_below(msg(60), 100).await.expect("fits");
        let blocked = tokio::time::timeout(
            Duration::from_millis(50),
            outbox.push_wait_below(msg(60), 100),
        )
        .await;
        assert!(blocked.is_err(), "the window is full");
        assert_eq!(
            outbox.try_push(msg(60)),
            Ok(()),
            "live data still has the bound"
        );
    }

    #[test]
    fn an_empty_queue_takes_one_oversized_message() {
        let outbox = Outbox::new(10);
        assert_eq!(outbox.try_push(msg(50)), Ok(()));
        assert_eq!(outbox.try_push(msg(1)), Err(PushError::Full));
    }

    #[test]
    fn control_gets_slack_then_fails() {
        let outbox = Outbox::new(100);
        outbox.try_push(msg(100)).expect("fits");
        assert_eq!(outbox.push_control(msg(CONTROL_SLACK)), Ok(()));
        assert_eq!(outbox.push_control(msg(1)), Err(PushError::Full));
    }

    #[test]
    fn close_drops_the_queue_and_keeps_the_last_word() {
        let outbox = Outbox::new(100);
        outbox.try_push(msg(100)).expect("fits");
        let closing = Closing {
            code: 1008,
            reason: "slow".into(),
        };
        outbox.close_with(Some(msg(7)), closing.clone());
        assert_eq!(outbox.queued_bytes(), 7);
        assert_eq!(outbox.try_push(msg(1)), Err(PushError::Closed));
        // A second close does not replace the first.
        outbox.close_with(
            None,
            Closing {
                code: 1001,
                reason: "other".into(),
            },
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            match outbox.next_batch(1 << 20).await {
                Batch::Messages(m) => assert_eq!(m.len(), 1),
                other => panic!("error message first, got {other:?}"),
            }
            outbox.sent(7);
            match outbox.next_batch(1 << 20).await {
                Batch::Close(c) => assert_eq!(c, closing),
                other => panic!("nothing left, got {other:?}"),
            }
        });
    }

    #[test]
    fn batches_are_capped_but_never_empty() {
        let outbox = Outbox::new(1000);
        for _ in 0..5 {
            outbox.try_push(msg(100)).expect("fits");
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let Batch::Messages(first) = outbox.next_batch(250).await else {
                panic!("messages")
            };
            assert_eq!(first.len(), 2);
            let Batch::Messages(one) = outbox.next_batch(10).await else {
                panic!("messages")
            };
            assert_eq!(one.len(), 1);
        });
    }

    #[tokio::test]
    async fn push_wait_resumes_when_bytes_are_sent() {
        let outbox = Arc::new(Outbox::new(100));
        outbox.try_push(msg(100)).expect("fits");
        let waiter = {
            let outbox = outbox.clone();
            tokio::spawn(async move { outbox.push_wait(msg(50)).await })
        };
        tokio::task::yield_now().await;
        assert_eq!(outbox.queued_bytes(), 100, "still waiting");
        let Batch::Messages(batch) = outbox.next_batch(1 << 20).await else {
            panic!("messages")
        };
        outbox.sent(batch.iter().map(Bytes::len).sum());
        let pushed = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woke up")
            .expect("task");
        assert_eq!(pushed, Ok(()));
        assert_eq!(outbox.queued_bytes(), 50);
    }

    #[tokio::test]
    async fn a_pong_goes_first_and_a_close_drops_it() {
        let outbox = Outbox::new(100);
        outbox.try_push(msg(10)).expect("fits");
        outbox.push_pong(Bytes::from_static(b"old"));
        outbox.push_pong(Bytes::from_static(b"new"));
        match outbox.next_batch(1 << 20).await {
            Batch::Pong(p) => assert_eq!(&p[..], b"new", "only the latest ping is answered"),
            other => panic!("pong first, got {other:?}"),
        }
        assert!(matches!(
            outbox.next_batch(1 << 20).await,
            Batch::Messages(_)
        ));
        outbox.push_pong(Bytes::from_static(b"late"));
        outbox.close_with(
            None,
            Closing {
                code: 1000,
                reason: String::new(),
            },
        );
        assert!(matches!(outbox.next_batch(1 << 20).await, Batch::Close(_)));
    }

    #[tokio::test]
    async fn push_wait_ends_when_closing() {
        let outbox = Arc::new(Outbox::new(10));
        outbox.try_push(msg(10)).expect("fits");
        let waiter = {
            let outbox = outbox.clone();
            tokio::spawn(async move { outbox.push_wait(msg(5)).await })
        };
        tokio::task::yield_now().await;
        outbox.close_with(
            None,
            Closing {
                code: 1001,
                reason: String::new(),
            },
        );
        let result = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woke up")
            .expect("task");
        assert_eq!(result, Err(PushError::Closed));
    }
}
