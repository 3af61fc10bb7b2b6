//! Rooms: who is in them, fan-out of live traffic, and the bookkeeping that lets every
//! receiver go at its own pace (PROTOCOL.md, "Flow control").
//!
//! Each member is either *live* (caught up: it gets streamed images and texts as they
//! happen) or *catching up* (history replay after `welcome`, or after its queue
//! filled up): then its feeder task (`feeder.rs`) sends completed items from
//! retention, in seq order, as its queue has room. `cursor` is the highest seq the
//! member has been given (or authored), so every completed item reaches it once.
//!
//! The room lock guards plain bookkeeping only: no I/O and no waiting under it.
//! Frames are serialized once and the same `Bytes` go to every receiver, charged
//! once to the relay's memory budget (`budget.rs`).
//!
//! Pacing (PROTOCOL.md, "Flow control"): a sender's next chunk is forwarded only
//! while the live receivers of its image, all but the quarter furthest behind (at
//! least one), have less than the room window queued ([`Room::pace`]): the room
//! goes as fast as most of it drains, and no one slow receiver sets its pace. Within
//! that, a receiver with a whole window queued is waited for while it has hold
//! allowance (`hold.rs`: 200 ms, refilled at 5% of the time), so a receiver that
//! stalls for a moment is never left behind, and one that is slower for good costs
//! the others at most 5% of their time. A live receiver is *lagging* when a live
//! message does not fit its queue (it is then a whole queue behind the fastest), or,
//! when the memory budget is exhausted, when it is the member furthest behind and
//! its queue holds more than half a queue bound beyond the least-loaded live
//! member's ([`Relief::relieve`]). A lagging receiver's queued live data is
//! dropped at once and it is fed from retention instead.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::budget::{Budget, Relief};
use crate::catchup::CatchUp;
use crate::group_commit::CommitQueue;
use crate::hold::{self, Hold};
use crate::metrics::Metrics;
use crate::outbox::{Closing, Outbox, PushError, Tag};
use crate::protocol::{
    CancelReason, ErrorCode, Limits, PROTOCOL_VERSION, ProtocolError, RelayHeader, RelayMessage,
    User, Welcome, encode_frame,
};
use crate::store::{Content, Item, RoomStore};

/// A connection's number, unique for the relay's life.
pub type ConnId = u64;
/// A stream id (`sid`), unique for the relay's life, so unique on every connection.
pub type Sid = u64;

/// What a new member brings.
pub struct Joining {
    pub conn: ConnId,
    pub user: User,
    pub client_key: String,
    pub outbox: Arc<Outbox>,
    pub feeder: Arc<Notify>,
    /// `since` from hello: `None` replays the latest `replay_latest` items.
    pub since: Option<u64>,
}

/// The feeder's next step.
#[derive(Debug)]
pub enum FeedStep {
    /// Send this item in full; `history` marks items of the initial replay.
    Deliver { item: Arc<Item>, history: bool },
    /// Nothing to send: the member is live now.
    CaughtUp,
    /// Retention has pruned items this member has not received.
    Behind,
    /// The member has left.
    Gone,
}

struct Member {
    user: User,
    client_key: String,
    outbox: Arc<Outbox>,
    feeder: Arc<Notify>,
    live: bool,
    cursor: u64,
    /// Items up to here belong to the replay that follows `welcome` (`"history":true`).
    history_until: u64,
    /// Items this connection authored that its cursor has not passed yet: skipped.
    own: BTreeSet<u64>,
    /// How much longer its senders wait for it while it holds the room (`hold.rs`).
    hold: Hold,
}

/// What [`Room::can_take`] decided.
enum Pace {
    Go,
    /// Wait until a queue drains, or until `look_again` when someone holds the room.
    Wait {
        look_again: Option<std::time::Instant>,
    },
}

struct LiveStream {
    receivers: HashSet<ConnId>,
}

struct State {
    members: HashMap<ConnId, Member>,
    streams: HashMap<Sid, LiveStream>,
    /// The highest seq that has been through [`Room::complete`]. The store may already
    /// hold a newer item that is not fanned out yet; feeders stop below it, so that
    /// item reaches every member through `complete` (and its author as an ack).
    completed: u64,
    /// The relay is stopping: its streams were cancelled and no new one starts.
    stopped: bool,
}

pub struct Room {
    pub name: String,
    pub store: Arc<RoomStore>,
    state: Mutex<State>,
    /// Completed items waiting to be made durable together (`group_commit.rs`),
    /// which also keeps completions in seq order for every connection.
    pub commits: CommitQueue,
    /// Retention reads shared by the members catching up.
    pub catchup: Arc<CatchUp>,
    ctx: Ctx,
    limits: Limits,
    replay_latest: usize,
}

/// What fan-out needs besides the members: counters, the budget, the pacing signal.
struct Ctx {
    metrics: Arc<Metrics>,
    budget: Arc<Budget>,
    /// Told when any member's queue drains or a receiver stops counting for pacing.
    drained: Arc<Notify>,
    window: usize,
    hold_allowance: std::time::Duration,
    /// How far behind the least-loaded member (bytes queued beyond its) a member
    /// must be to lag when the budget is exhausted.
    behind: usize,
}

impl Ctx {
    /// A frame, serialized once and charged to the budget.
    fn frame(&self, header: RelayHeader, body: &[u8]) -> Bytes {
        self.budget.charge_now(encode_frame(&header, body))
    }
}

fn frame(header: RelayHeader, body: &[u8]) -> Bytes {
    encode_frame(&header, body)
}

/// How a room paces and charges its traffic.
pub struct RoomSettings {
    pub metrics: Arc<Metrics>,
    pub budget: Arc<Budget>,
    pub limits: Limits,
    pub replay_latest: usize,
    pub window: usize,
    /// How long in all the room waits for one receiver (`hold.rs`).
    pub hold_allowance: std::time::Duration,
    /// Each connection's queue bound.
    pub outbox_bytes: usize,
    pub linger: std::time::Duration,
}

/// The frame of an error message.
pub fn error_frame(err: &ProtocolError) -> Bytes {
    RelayMessage::error(err).encode()
}

impl Room {
    pub fn new(name: String, store: Arc<RoomStore>, settings: RoomSettings) -> Self {
        let completed = store.last_seq();
        let catchup = Arc::new(CatchUp::new(
            store.clone(),
            settings.budget.clone(),
            settings.linger,
        ));
        Self {
            name,
            store,
            state: Mutex::new(State {
                members: HashMap::new(),
                streams: HashMap::new(),
                completed,
                stopped: false,
            }),
            commits: CommitQueue::default(),
            catchup,
            ctx: Ctx {
                metrics: settings.metrics,
                budget: settings.budget,
                drained: Arc::new(Notify::new()),
                window: settings.window,
                hold_allowance: settings.hold_allowance,
                behind: settings.window.max(settings.outbox_bytes / 2),
            },
            limits: settings.limits,
            replay_latest: settings.replay_latest,
        }
    }

    /// The room window (bytes), for the feeders.
    pub fn window(&self) -> usize {
        self.ctx.window
    }

    /// Waits until live stream `sid` may take another chunk (see [`Room::can_take`];
    /// at once when it has no live receiver left).
    /// Returns early when `stop` is cancelled.
    pub async fn pace(&self, sid: Sid, stop: &CancellationToken) {
        loop {
            let notified = self.ctx.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let look_again = match self.can_take(sid) {
                Pace::Go => return,
                Pace::Wait { look_again } => look_again,
            };
            // A receiver holding the room is looked at again soon, drained or not,
            // so its allowance runs out even if it never reads again.
            let timer = async {
                match look_again {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = notified => {}
                () = timer => {}
                () = stop.cancelled() => return,
            }
        }
    }

    /// Whether stream `sid` may take another chunk: its live receivers, all but
    /// the quarter furthest behind (at least one of two or more), have less than
    /// the room window queued, and none that still has hold allowance
    /// (`hold.rs`) has a whole window queued.
    fn can_take(&self, sid: Sid) -> Pace {
        let now = std::time::Instant::now();
        let mut state = self.lock();
        let State {
            members, streams, ..
        } = &mut *state;
        let Some(stream) = streams.get(&sid) else {
            return Pace::Go;
        };
        let mut queued = Vec::with_capacity(stream.receivers.len());
        let mut held = false;
        for conn in &stream.receivers {
            let Some(member) = members.get_mut(conn) else {
                continue;
            };
            if !member.live || member.outbox.is_closing() {
                continue;
            }
            let bytes = member.outbox.queued_bytes();
            queued.push(bytes);
            let holding = bytes >= self.ctx.window;
            held |= !member.hold.look(now, holding).is_zero() && holding;
        }
        if queued.is_empty() {
            return Pace::Go;
        }
        queued.sort_unstable();
        let behind = if queued.len() >= 2 {
            (queued.len() / 4).max(1)
        } else {
            0
        };
        if queued[queued.len() - 1 - behind] >= self.ctx.window {
            // The room as a whole is full: it goes on as it drains.
            return Pace::Wait { look_again: None };
        }
        if held {
            return Pace::Wait {
                look_again: Some(now + hold::LOOK_EVERY),
            };
        }
        Pace::Go
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn member_count(&self) -> usize {
        self.lock().members.len()
    }

    /// Bytes waiting in the members' outboxes.
    pub fn queued_bytes(&self) -> usize {
        self.lock()
            .members
            .values()
            .map(|m| m.outbox.queued_bytes())
            .sum()
    }

    /// Adds a member: queues its `welcome` (peers, history count), tells the others,
    /// and leaves it catching up so its feeder replays history.
    pub fn join(&self, joining: Joining) {
        let mut state = self.lock();
        let pruned = self.store.pruned_through();
        let history_until = state.completed;
        // A `since` past the room's history (a relay that lost its data, another
        // epoch) means "everything from now on", not "nothing until seq passes it".
        let start = match joining.since {
            Some(since) => since.max(pruned).min(history_until),
            None => self
                .store
                .seq_before_latest(self.replay_latest)
                .min(history_until),
        };
        let history = self
            .store
            .count_after(start)
            .saturating_sub(self.store.count_after(history_until)) as u64;
        let peers = peers_that_fit(state.members.values().map(|m| &m.user));
        let welcome = self.ctx.frame(
            RelayHeader::Welcome(Welcome {
                v: PROTOCOL_VERSION,
                user: joining.user.clone(),
                room: self.name.clone(),
                epoch: self.store.epoch(),
                peers,
                history,
                limits: self.limits,
            }),
            &[],
        );
        let joined = self.ctx.frame(
            RelayHeader::Joined {
                user: joining.user.clone(),
            },
            &[],
        );
        // A fresh outbox always takes the welcome.
        let _ = joining.outbox.push_control(welcome);
        joining.outbox.set_drained(self.ctx.drained.clone());
        for member in state.members.values() {
            control(member, joined.clone(), &self.ctx.metrics);
        }
        joining.feeder.notify_one();
        state.members.insert(
            joining.conn,
            Member {
                user: joining.user,
                client_key: joining.client_key,
                outbox: joining.outbox,
                feeder: joining.feeder,
                live: false,
                cursor: start,
                history_until,
                own: BTreeSet::new(),
                hold: Hold::new(std::time::Instant::now(), self.ctx.hold_allowance),
            },
        );
    }

    /// Removes a member and tells the others. Its own streams are cancelled by the caller.
    pub fn leave(&self, conn: ConnId) {
        let mut state = self.lock();
        let Some(member) = state.members.remove(&conn) else {
            return;
        };
        for stream in state.streams.values_mut() {
            stream.receivers.remove(&conn);
        }
        let left = self.ctx.frame(RelayHeader::Left { user: member.user }, &[]);
        for other in state.members.values() {
            control(other, left.clone(), &self.ctx.metrics);
        }
        drop(state);
        self.ctx.drained.notify_waiters();
    }

    /// Starts streaming an image to every live member but the sender: its
    /// `image_begin` and first chunk, already serialized.
    pub fn start_stream(&self, sender: ConnId, sid: Sid, begin: Bytes, first_chunk: Bytes) {
        let mut state = self.lock();
        if state.stopped {
            return; // its receivers are being told `server_shutdown`
        }
        let State {
            members, streams, ..
        } = &mut *state;
        let mut receivers = HashSet::new();
        let mut lagging = Vec::new();
        for (conn, member) in members.iter() {
            if *conn == sender || !member.live {
                continue;
            }
            match member
                .outbox
                .try_push_live(begin.clone(), Tag::LiveBegin(sid))
            {
                Ok(()) => {
                    receivers.insert(*conn);
                    let chunk = first_chunk.clone();
                    if member.outbox.try_push_live(chunk, Tag::LiveChunk(sid))
                        == Err(PushError::Full)
                    {
                        lagging.push(*conn);
                    }
                }
                Err(PushError::Full) => lagging.push(*conn),
                Err(PushError::Closed) => {}
            }
        }
        streams.insert(sid, LiveStream { receivers });
        for conn in lagging {
            lag(members, streams, conn, &self.ctx);
        }
    }

    /// Forwards one more chunk of a live stream.
    pub fn stream_chunk(&self, sid: Sid, chunk: Bytes) {
        let mut state = self.lock();
        let State {
            members, streams, ..
        } = &mut *state;
        let Some(stream) = streams.get(&sid) else {
            return;
        };
        let mut lagging = Vec::new();
        for conn in &stream.receivers {
            let Some(member) = members.get(conn) else {
                continue;
            };
            match member
                .outbox
                .try_push_live(chunk.clone(), Tag::LiveChunk(sid))
            {
                Ok(()) => {}
                Err(PushError::Full) => lagging.push(*conn),
                Err(PushError::Closed) => {}
            }
        }
        for conn in lagging {
            lag(members, streams, conn, &self.ctx);
        }
    }

    /// Ends a stream that failed: every receiver gets `image_cancel`.
    pub fn cancel_stream(&self, sid: Sid, reason: CancelReason) {
        let mut state = self.lock();
        let Some(stream) = state.streams.remove(&sid) else {
            return;
        };
        let cancel = self
            .ctx
            .frame(RelayHeader::ImageCancel { sid, reason }, &[]);
        for conn in stream.receivers {
            if let Some(member) = state.members.get(&conn) {
                control(member, cancel.clone(), &self.ctx.metrics);
            }
        }
        drop(state);
        self.ctx.drained.notify_waiters();
    }

    /// The relay is stopping: every stream in flight is cancelled to its receivers
    /// (`server_shutdown`) now, before any connection is told goodbye, and none
    /// starts from here on. Per connection, the cancel is queued ahead of the error.
    pub fn stop_streams(&self) {
        let mut state = self.lock();
        state.stopped = true;
        let streams = std::mem::take(&mut state.streams);
        for (sid, stream) in streams {
            let cancel = frame(
                RelayHeader::ImageCancel {
                    sid,
                    reason: CancelReason::ServerShutdown,
                },
                &[],
            );
            for conn in stream.receivers {
                if let Some(member) = state.members.get(&conn) {
                    control(member, cancel.clone(), &self.ctx.metrics);
                }
            }
        }
    }

    /// An item is durable: ack the author, finish or send it to every live member,
    /// and let catching-up members' feeders find it in retention.
    /// Called by the room's committer, in seq order, right after the store's commit.
    pub fn complete(&self, item: &Arc<Item>, origin: ConnId, sid: Option<Sid>) {
        let ack = self.ctx.budget.charge_now(ack_frame(item));
        let mut state = self.lock();
        state.completed = state.completed.max(item.seq);
        let State {
            members, streams, ..
        } = &mut *state;
        let receivers = sid
            .and_then(|sid| streams.remove(&sid))
            .map(|s| s.receivers)
            .unwrap_or_default();
        let live_text = match &item.content {
            Content::Text(body) => Some(self.ctx.frame(
                RelayHeader::Text {
                    seq: item.seq,
                    ts: item.ts,
                    from: item.from.clone(),
                    history: false,
                },
                body,
            )),
            Content::Image(_) => None,
        };
        let image_end = sid.map(|sid| {
            self.ctx.frame(
                RelayHeader::ImageEnd {
                    sid,
                    seq: item.seq,
                    ts: item.ts,
                },
                &[],
            )
        });
        let mut lagging = Vec::new();
        let mut catching_up = Vec::new();
        for (conn, member) in members.iter_mut() {
            if *conn == origin {
                control(member, ack.clone(), &self.ctx.metrics);
                if member.cursor >= item.seq {
                    continue;
                }
                if member.live {
                    member.cursor = item.seq;
                } else {
                    member.own.insert(item.seq);
                }
                continue;
            }
            if member.cursor >= item.seq || !member.live {
                continue; // already had it, or its feeder will send it
            }
            match (&live_text, &image_end) {
                (Some(text), _) => match member.outbox.try_push(text.clone()) {
                    Ok(()) => member.cursor = item.seq,
                    Err(PushError::Full) => lagging.push(*conn),
                    Err(PushError::Closed) => {}
                },
                (None, Some(end)) if receivers.contains(conn) => {
                    control(member, end.clone(), &self.ctx.metrics);
                    member.cursor = item.seq;
                }
                // Joined after the image began (or lagged while it streamed): it gets
                // the image in full, from retention, after what else streams to it
                // now is cancelled so no stream is left open.
                _ => catching_up.push(*conn),
            }
        }
        for conn in lagging {
            lag(members, streams, conn, &self.ctx);
        }
        for conn in catching_up {
            catch_up(members, streams, conn, &self.ctx);
        }
    }

    /// What the feeder of `conn` should do next.
    pub fn next_for(&self, conn: ConnId) -> FeedStep {
        let mut state = self.lock();
        let completed = state.completed;
        let Some(member) = state.members.get_mut(&conn) else {
            return FeedStep::Gone;
        };
        if member.live {
            return FeedStep::CaughtUp;
        }
        if member.cursor < self.store.pruned_through() {
            return FeedStep::Behind;
        }
        'scan: loop {
            let batch = self.store.items_after(member.cursor, 16);
            let full = batch.len() == 16;
            for item in batch {
                if item.seq > completed {
                    break 'scan; // stored but not fanned out yet: `complete` will deliver it
                }
                if member.own.remove(&item.seq) {
                    member.cursor = item.seq;
                    continue;
                }
                let history = item.seq <= member.history_until;
                return FeedStep::Deliver { item, history };
            }
            if !full {
                break;
            }
        }
        member.own.retain(|seq| *seq > member.cursor);
        member.live = true;
        FeedStep::CaughtUp
    }

    /// The feeder has queued item `seq` in full.
    pub fn delivered(&self, conn: ConnId, seq: u64) {
        if let Some(member) = self.lock().members.get_mut(&conn) {
            member.cursor = member.cursor.max(seq);
        }
    }

    /// Passes a receipt to the author's connections, best effort.
    pub fn receipt(&self, from: &User, seq: u64) {
        let Some(item) = self
            .store
            .items_after(seq.saturating_sub(1), 1)
            .into_iter()
            .find(|item| item.seq == seq)
        else {
            return;
        };
        if item.from.id == from.id {
            return;
        }
        let receipt = self.ctx.frame(
            RelayHeader::Receipt {
                seq,
                user: from.clone(),
            },
            &[],
        );
        let state = self.lock();
        for member in state.members.values() {
            if member.client_key == item.client_key {
                // Best effort: a full queue drops it.
                let _ = member.outbox.try_push(receipt.clone());
            }
        }
    }
}

/// Bytes of a `welcome` header the peer list may take: the header's limit is 16 KiB,
/// and the rest of a welcome (user, room, epoch, limits) takes under 1 KiB.
const PEERS_BUDGET: usize = crate::protocol::MAX_HEADER_BYTES - 2048;

/// The peers for a `welcome`: every other connection while the list fits the
/// header, which it does up to a few hundred people in one room (100 at worst, with
/// 32-character names that all need escaping). Past that the list is cut: a header
/// may not exceed 16 KiB, and `joined`/`left` keep the client current from then on.
fn peers_that_fit<'a>(users: impl Iterator<Item = &'a User>) -> Vec<User> {
    let mut budget = PEERS_BUDGET;
    let mut peers = Vec::new();
    for user in users {
        // `{"id":"…","name":"…"},`: the name as JSON, escapes included.
        let name = serde_json::to_string(&user.name).map_or(usize::MAX, |n| n.len());
        let cost = name.saturating_add(user.id.len() + 16);
        if cost > budget {
            break;
        }
        budget -= cost;
        peers.push(user.clone());
    }
    peers
}

/// The `ack` for an item, to its author.
pub fn ack_frame(item: &Item) -> Bytes {
    frame(
        RelayHeader::Ack {
            id: item.item_id.clone(),
            seq: item.seq,
            ts: item.ts,
        },
        &[],
    )
}

/// Queues a control message; a member that cannot take even that is closed.
fn control(member: &Member, message: Bytes, metrics: &Metrics) {
    if member.outbox.push_control(message) == Err(PushError::Full) {
        close_slow(
            &member.outbox,
            metrics,
            "the queue of messages for this connection is full",
        );
    }
}

/// Closes a connection as `slow_consumer`.
pub fn close_slow(outbox: &Outbox, metrics: &Metrics, why: &str) {
    if outbox.is_closing() {
        return;
    }
    metrics.slow_consumer_disconnects.fetch_add(1, Relaxed);
    metrics.error(ErrorCode::SlowConsumer);
    let err = ProtocolError::new(ErrorCode::SlowConsumer, why);
    outbox.close_with(
        Some(error_frame(&err)),
        Closing {
            code: 1008,
            reason: "slow_consumer".into(),
        },
    );
}

/// A live member is behind the rest of the room: cancel what streams to it, feed
/// it from retention.
fn lag(
    members: &mut HashMap<ConnId, Member>,
    streams: &mut HashMap<Sid, LiveStream>,
    conn: ConnId,
    ctx: &Ctx,
) {
    ctx.metrics.lagging.fetch_add(1, Relaxed);
    catch_up(members, streams, conn, ctx);
}

/// Turns a member to catching up: what it was not sent yet of the images streaming
/// to it is dropped from its queue, those it has begun are cancelled (`lagging`: it
/// will get them in full from retention), and its feeder takes over.
fn catch_up(
    members: &mut HashMap<ConnId, Member>,
    streams: &mut HashMap<Sid, LiveStream>,
    conn: ConnId,
    ctx: &Ctx,
) {
    let Some(member) = members.get_mut(&conn) else {
        return;
    };
    let sids: Vec<Sid> = streams
        .iter_mut()
        .filter_map(|(sid, stream)| stream.receivers.remove(&conn).then_some(*sid))
        .collect();
    let unseen = member.outbox.purge_live(&sids);
    for sid in sids.into_iter().filter(|sid| !unseen.contains(sid)) {
        let cancel = ctx.frame(
            RelayHeader::ImageCancel {
                sid,
                reason: CancelReason::Lagging,
            },
            &[],
        );
        control(member, cancel, &ctx.metrics);
    }
    member.live = false;
    member.feeder.notify_one();
    ctx.drained.notify_waiters();
}

impl Relief for Room {
    /// The memory budget is exhausted: the live member furthest behind the rest of
    /// the room — whose queue holds more than half a queue bound (and at least a
    /// room window) beyond the least-loaded live member's — is lagging, so the
    /// chunks only it still holds go back to the budget. One per call: the budget
    /// asks again (every 20 ms at most) while it stays exhausted.
    fn relieve(&self) {
        let mut state = self.lock();
        let queued: Vec<(ConnId, usize)> = state
            .members
            .iter()
            .filter(|(_, m)| m.live && !m.outbox.is_closing())
            .map(|(conn, m)| (*conn, m.outbox.queued_bytes()))
            .collect();
        let Some(least) = queued.iter().map(|(_, q)| *q).min() else {
            return;
        };
        let Some(&(furthest, most)) = queued.iter().max_by_key(|(_, q)| *q) else {
            return;
        };
        if most > least + self.ctx.behind {
            let State {
                members, streams, ..
            } = &mut *state;
            lag(members, streams, furthest, &self.ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MAX_HEADER_BYTES, decode_frame};

    fn welcome_with(peers: Vec<User>) -> Bytes {
        frame(
            RelayHeader::Welcome(Welcome {
                v: PROTOCOL_VERSION,
                user: User {
                    id: "0".repeat(12),
                    name: "\"".repeat(32),
                },
                room: "r".repeat(64),
                epoch: "e".repeat(16),
                peers,
                history: u64::MAX,
                limits: Limits {
                    max_image_bytes: u64::MAX,
                    max_chunk_bytes: u64::MAX,
                    max_text_bytes: u64::MAX,
                    max_uploads: u64::MAX,
                },
            }),
            &[],
        )
    }

    #[test]
    fn a_crowded_room_still_gets_a_welcome_within_the_header_limit() {
        // Worst case: every name is 32 characters that JSON must escape.
        let crowd: Vec<User> = (0..1000)
            .map(|i| User {
                id: format!("{i:012x}"),
                name: "\\\\".repeat(16) + &"\"".repeat(16),
            })
            .collect();
        let peers = peers_that_fit(crowd.iter());
        assert!(peers.len() >= 80, "{} peers fit", peers.len());
        assert!(peers.len() < 1000);
        let bytes = welcome_with(peers);
        let header_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        assert!(header_len <= MAX_HEADER_BYTES, "{header_len}");
        assert!(decode_frame(bytes).is_ok());
    }

    #[test]
    fn an_ordinary_room_lists_everyone() {
        let room: Vec<User> = (0..300)
            .map(|i| User {
                id: format!("{i:012x}"),
                name: format!("Person {i}"),
            })
            .collect();
        assert_eq!(peers_that_fit(room.iter()).len(), 300);
    }
}
