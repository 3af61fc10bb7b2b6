//! The network worker: a tokio runtime on its own thread that keeps one
//! WebSocket connection to the relay, reconnects with jittered backoff
//! (1 s → 30 s) and resumes with `since`, sends what the UI asks in order, and
//! turns relay messages into model [`Event`]s.
//!
//! Channels, both bounded: commands from the UI (256; when full the UI says
//! "busy" and drops the action) and events to the UI (1024; when full the
//! worker waits, which slows reading from the relay: the relay's per-receiver
//! queue absorbs it). Items sent while offline wait in the worker's queue and
//! go out after reconnecting with the same ids, so the relay's dedup makes
//! every item arrive once even if an ack was lost.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{
    ClientHeader, ClientMessage, ErrorCode, Hello, ImageBegin, Limits, PROTOCOL_VERSION,
    RelayHeader, RelayMessage, User, parse_relay, validate,
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::settings::Target;
use crate::state::{Event, ImageMeta, PreparedImage};

/// Called after each event so the UI wakes up and drains it.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

/// What the UI asks the worker to do.
#[derive(Debug)]
pub enum Command {
    SendText {
        id: String,
        text: String,
    },
    SendImage {
        id: String,
        image: PreparedImage,
    },
    /// Stops an image that is queued or uploading; too late once all bytes are out.
    Cancel {
        id: String,
    },
}

/// The UI's end of the worker: send commands, drain events.
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
}

impl NetHandle {
    /// Both ends given (tests play the worker's part with the other ends).
    pub fn from_parts(commands: mpsc::Sender<Command>, events: mpsc::Receiver<Event>) -> Self {
        Self { commands, events }
    }

    /// Starts the worker thread. Dropping the handle stops it.
    pub fn spawn(target: Target, secret: String, repaint: Repaint) -> anyhow::Result<Self> {
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (ev_tx, ev_rx) = mpsc::channel(1024);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("snapwire-net")
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("snapwire-net-main".into())
            .spawn(move || {
                runtime.block_on(run(target, secret, cmd_rx, ev_tx, repaint));
                // The runtime drops here, off the UI thread.
            })?;
        Ok(Self::from_parts(cmd_tx, ev_rx))
    }

    /// Queues a command without waiting; an error says why it was not taken.
    pub fn send(&self, command: Command) -> Result<(), String> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => "Too much at once; try again in a moment".into(),
            mpsc::error::TrySendError::Closed(_) => "The connection worker has stopped".into(),
        })
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// Waits for the next event (tests, from a tokio context).
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await
    }
}

/// Delay before reconnect attempt `attempt` (0-based): 1 s doubling to 30 s,
/// each scaled by `jitter` in 0..=1 into 50-100 % so many clients that lost the
/// same relay do not come back in lockstep.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let base = 2f64.powi(attempt.min(5) as i32).min(30.0);
    let scaled = base * (0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    Duration::from_secs_f64(scaled.clamp(1.0, 30.0))
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// Bytes per `image_chunk`: the relay's limit, but small enough for smooth progress.
const CHUNK_BYTES: u64 = 256 * 1024;
/// Frames waiting for the socket writer; small so cancel and texts stay prompt.
const OUTBOX_FRAMES: usize = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest incoming buffer reserved up front, whatever `size` claims.
const MAX_PREALLOC: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
enum OutKind {
    Text(String),
    Image(PreparedImage),
}

#[derive(Debug, Clone)]
struct OutItem {
    id: String,
    kind: OutKind,
}

/// An image whose chunks are going out on this connection.
struct Upload {
    item: OutItem,
    offset: u64,
}

/// Everything to send, across connections.
#[derive(Default)]
struct Outgoing {
    /// Not yet sent on the current connection, in order.
    queue: VecDeque<OutItem>,
    /// Sent in full, waiting for the ack.
    unacked: Vec<OutItem>,
    current: Option<Upload>,
}

impl Outgoing {
    /// After a disconnect everything not acked goes out again, oldest first.
    fn requeue(&mut self) {
        let mut again: VecDeque<OutItem> = self.unacked.drain(..).collect();
        if let Some(upload) = self.current.take() {
            again.push_back(upload.item);
        }
        again.append(&mut self.queue);
        self.queue = again;
    }

    fn has_work(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    fn remove_queued(&mut self, id: &str) -> bool {
        let before = self.queue.len();
        self.queue.retain(|i| i.id != id);
        before != self.queue.len()
    }

    /// The item with this id is done (acked or failed): forget it everywhere.
    fn forget(&mut self, id: &str) {
        self.unacked.retain(|i| i.id != id);
        self.queue.retain(|i| i.id != id);
        if self.current.as_ref().is_some_and(|u| u.item.id == id) {
            self.current = None;
        }
    }

    /// The next frame to write, with the progress event it makes, if any.
    fn next_frame(&mut self, limits: &Limits) -> Option<(Bytes, Option<Event>)> {
        if self.current.is_none() {
            // Texts jump ahead of queued images: they are small and people wait for them.
            let pos = self
                .queue
                .iter()
                .position(|i| matches!(i.kind, OutKind::Text(_)))
                .unwrap_or(0);
            let item = self.queue.remove(pos)?;
            return Some(match &item.kind {
                OutKind::Text(text) => {
                    let frame = ClientMessage::new(
                        ClientHeader::Text {
                            id: item.id.clone(),
                        },
                        Bytes::copy_from_slice(text.as_bytes()),
                    )
                    .encode();
                    self.unacked.push(item);
                    (frame, None)
                }
                OutKind::Image(image) => {
                    let meta = &image.meta;
                    let header = ClientHeader::ImageBegin(ImageBegin {
                        id: item.id.clone(),
                        name: meta.name.clone(),
                        mime: meta.mime.clone(),
                        size: meta.size,
                        sha256: meta.sha256.clone(),
                        width: meta.width,
                        height: meta.height,
                    });
                    let body = image.preview.clone().unwrap_or_default();
                    let frame = ClientMessage::new(header, body).encode();
                    let progress = Event::UploadProgress {
                        id: item.id.clone(),
                        sent: 0,
                    };
                    self.current = Some(Upload { item, offset: 0 });
                    (frame, Some(progress))
                }
            });
        }
        let upload = self.current.as_mut()?;
        let OutKind::Image(image) = &upload.item.kind else {
            self.current = None;
            return None;
        };
        let size = image.bytes.len() as u64;
        if upload.offset >= size {
            let frame = ClientMessage::new(
                ClientHeader::ImageEnd {
                    id: upload.item.id.clone(),
                },
                Bytes::new(),
            )
            .encode();
            if let Some(done) = self.current.take() {
                self.unacked.push(done.item);
            }
            return Some((frame, None));
        }
        let chunk = CHUNK_BYTES.min(limits.max_chunk_bytes.max(1));
        let end = (upload.offset + chunk).min(size);
        let body = image.bytes.slice(upload.offset as usize..end as usize);
        let frame = ClientMessage::new(
            ClientHeader::ImageChunk {
                id: upload.item.id.clone(),
                offset: upload.offset,
            },
            body,
        )
        .encode();
        upload.offset = end;
        let progress = Event::UploadProgress {
            id: upload.item.id.clone(),
            sent: end,
        };
        Some((frame, Some(progress)))
    }
}

/// What the worker remembers across connections.
struct Session {
    target: Target,
    secret: String,
    my_id: String,
    /// Highest seq received; the next `hello` asks for what came after it.
    last_seq: Option<u64>,
    epoch: Option<String>,
    /// Seqs of our own items, from their acks: their replays are not shown again.
    acked: std::collections::HashSet<u64>,
    out: Outgoing,
    events: mpsc::Sender<Event>,
    repaint: Repaint,
}

/// Why a connection ended.
enum End {
    /// The UI is gone.
    Shutdown,
    /// Trying again would fail the same way.
    Fatal(String),
    /// Lost; try again after a delay. `welcomed` resets the backoff.
    Lost { reason: String, welcomed: bool },
    /// The room's history was replaced (new epoch): reconnect at once without `since`.
    Restart,
}

struct UiGone;

impl Session {
    async fn emit(&self, event: Event) -> Result<(), UiGone> {
        self.events.send(event).await.map_err(|_| UiGone)?;
        (self.repaint)();
        Ok(())
    }

    /// Takes a command while offline or between frames.
    async fn command(&mut self, command: Command) -> Result<(), UiGone> {
        match command {
            Command::SendText { id, text } => self.out.queue.push_back(OutItem {
                id,
                kind: OutKind::Text(text),
            }),
            Command::SendImage { id, image } => self.out.queue.push_back(OutItem {
                id,
                kind: OutKind::Image(image),
            }),
            Command::Cancel { id } => {
                if self.out.remove_queued(&id) {
                    self.emit(Event::UploadCancelled { id }).await?;
                }
            }
        }
        Ok(())
    }
}

async fn run(
    target: Target,
    secret: String,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    repaint: Repaint,
) {
    let mut session = Session {
        my_id: validate::user_id(&secret),
        target,
        secret,
        last_seq: None,
        epoch: None,
        acked: std::collections::HashSet::new(),
        out: Outgoing::default(),
        events,
        repaint,
    };
    let mut attempt: u32 = 0;
    loop {
        if session.emit(Event::Connecting { attempt }).await.is_err() {
            return;
        }
        let end = connect_once(&mut session, &mut commands).await;
        session.out.requeue();
        let delay = match end {
            End::Shutdown => return,
            End::Restart => continue,
            End::Fatal(reason) => {
                if session.emit(Event::Stopped { reason }).await.is_err() {
                    return;
                }
                // Keep taking commands (queued items stay queued) until the UI lets go.
                while let Some(command) = commands.recv().await {
                    if session.command(command).await.is_err() {
                        return;
                    }
                }
                return;
            }
            End::Lost { reason, welcomed } => {
                if welcomed {
                    attempt = 0;
                }
                let delay = backoff(attempt, jitter());
                attempt = attempt.saturating_add(1);
                let retry_at = Instant::now() + delay;
                if session
                    .emit(Event::Reconnecting { retry_at, reason })
                    .await
                    .is_err()
                {
                    return;
                }
                delay
            }
        };
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                command = commands.recv() => match command {
                    Some(command) => {
                        if session.command(command).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
            }
        }
    }
}

/// One incoming image on this connection.
struct Incoming {
    size: u64,
    sha256: String,
    buf: Vec<u8>,
    own: bool,
    /// Our own images (replayed after a reconnect, or from another window of
    /// ours) are announced only once complete, and not at all when an ack
    /// already told us their seq: no flash of a duplicate while they stream.
    deferred: Option<Event>,
}

async fn connect_once(session: &mut Session, commands: &mut mpsc::Receiver<Command>) -> End {
    let lost = |reason: String| End::Lost {
        reason,
        welcomed: false,
    };
    let url = session.target.url.clone();
    // No Nagle: acks, receipts and image_end are small and should not wait ~40 ms.
    let connect = tokio_tungstenite::connect_async_with_config(url.as_str(), None, true);
    let ws = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => return lost(format!("no answer from {url} within 10 s")),
        Ok(Err(e)) => return lost(connect_error_words(&url, &e)),
        Ok(Ok((ws, _response))) => ws,
    };
    let (mut sink, mut stream) = ws.split();

    let hello = ClientMessage::new(
        ClientHeader::Hello(Hello {
            v: PROTOCOL_VERSION,
            name: session.target.name.clone(),
            room: session.target.room.clone(),
            client: session.secret.clone(),
            token: session.target.token.clone(),
            since: session.last_seq,
        }),
        Bytes::new(),
    );
    if let Err(e) = sink.send(Message::Binary(hello.encode())).await {
        return lost(format!("connection lost while saying hello: {e}"));
    }

    // Wait for `welcome` (or the error that refuses us).
    let welcome = loop {
        let next = tokio::time::timeout(CONNECT_TIMEOUT, stream.next()).await;
        let message = match next {
            Err(_) => return lost("the relay did not answer hello within 10 s".into()),
            Ok(None) => return lost("the relay closed the connection".into()),
            Ok(Some(Err(e))) => return lost(format!("connection lost: {e}")),
            Ok(Some(Ok(m))) => m,
        };
        match message {
            Message::Binary(bytes) => match parse_relay(bytes) {
                Ok(RelayMessage {
                    header: RelayHeader::Welcome(w),
                    ..
                }) => break w,
                Ok(RelayMessage {
                    header: RelayHeader::Error { code, message, .. },
                    ..
                }) => {
                    let words = crate::state::error_words(code, &message);
                    return if retry_helps(code) {
                        lost(words)
                    } else {
                        End::Fatal(words)
                    };
                }
                Ok(_) | Err(_) => {
                    return lost("the relay answered hello with something else".into());
                }
            },
            Message::Close(frame) => {
                return lost(close_words(frame.as_ref()));
            }
            _ => {}
        }
    };

    if session.last_seq.is_some() && session.epoch.as_ref().is_some_and(|e| *e != welcome.epoch) {
        // Our `since` counted in a history that no longer exists.
        session.last_seq = None;
        session.acked.clear();
        session.epoch = Some(welcome.epoch);
        return End::Restart;
    }
    if session.epoch.as_ref() != Some(&welcome.epoch) {
        session.acked.clear();
    }
    session.epoch = Some(welcome.epoch.clone());
    session.my_id = welcome.user.id.clone();
    let limits = welcome.limits;
    if session.emit(Event::Welcome(welcome)).await.is_err() {
        return End::Shutdown;
    }

    // The writer owns the sink; we hand it frames through a small bounded queue.
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(OUTBOX_FRAMES);
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            if let Err(e) = sink.send(message).await {
                return format!("connection lost while sending: {e}");
            }
        }
        let _ = sink.close().await;
        String::new()
    });
    let end = connected(session, commands, &mut stream, &out_tx, &limits).await;
    drop(out_tx);
    if matches!(end, End::Shutdown) {
        writer.abort();
    } else {
        // Give the writer a moment to flush a cancel or close; never hang on it.
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    }
    end
}

type WsStream = futures_util::stream::SplitStream<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
>;

async fn connected(
    session: &mut Session,
    commands: &mut mpsc::Receiver<Command>,
    stream: &mut WsStream,
    out: &mpsc::Sender<Message>,
    limits: &Limits,
) -> End {
    let lost = |reason: String| End::Lost {
        reason,
        welcomed: true,
    };
    let mut incoming: HashMap<u64, Incoming> = HashMap::new();
    // A fatal error's words, to show when the close that follows it arrives.
    let mut fatal: Option<(ErrorCode, String)> = None;
    loop {
        let has_work = session.out.has_work();
        tokio::select! {
            message = stream.next() => {
                let message = match message {
                    None => return ended(fatal, "the relay closed the connection".into()),
                    Some(Err(e)) => return ended(fatal, format!("connection lost: {e}")),
                    Some(Ok(m)) => m,
                };
                match message {
                    Message::Binary(bytes) => {
                        match handle(session, bytes, &mut incoming, out).await {
                            Ok(Some(f)) => fatal = Some(f),
                            Ok(None) => {}
                            Err(UiGone) => return End::Shutdown,
                        }
                    }
                    Message::Close(frame) => {
                        return ended(fatal, close_words(frame.as_ref()));
                    }
                    // Pings are answered by tungstenite; text frames are not in the contract.
                    _ => {}
                }
            }
            command = commands.recv() => {
                let Some(command) = command else { return End::Shutdown };
                if let Command::Cancel { id } = &command
                    && session.out.current.as_ref().is_some_and(|u| &u.item.id == id)
                {
                    session.out.current = None;
                    let frame = ClientMessage::new(ClientHeader::Cancel { id: id.clone() }, Bytes::new());
                    if out.send(Message::Binary(frame.encode())).await.is_err() {
                        return lost("connection lost while cancelling".into());
                    }
                    if session.emit(Event::UploadCancelled { id: id.clone() }).await.is_err() {
                        return End::Shutdown;
                    }
                    continue;
                }
                if session.command(command).await.is_err() {
                    return End::Shutdown;
                }
            }
            permit = out.reserve(), if has_work => {
                let Ok(permit) = permit else {
                    return lost("connection lost while sending".into());
                };
                if let Some((frame, progress)) = session.out.next_frame(limits) {
                    permit.send(Message::Binary(frame));
                    if let Some(event) = progress
                        && session.emit(event).await.is_err()
                    {
                        return End::Shutdown;
                    }
                }
            }
        }
    }
}

/// The end of a connection: a fatal error we were told about wins over the transport's words.
fn ended(fatal: Option<(ErrorCode, String)>, transport: String) -> End {
    match fatal {
        Some((code, words)) if !retry_helps(code) => End::Fatal(words),
        Some((_, words)) => End::Lost {
            reason: words,
            welcomed: true,
        },
        None => End::Lost {
            reason: transport,
            welcomed: true,
        },
    }
}

/// Fatal codes after which a new attempt can succeed (the relay restarts, we read faster).
fn retry_helps(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::SlowConsumer | ErrorCode::ServerShutdown | ErrorCode::HelloTimeout
    ) || !code.is_fatal()
}

/// One relay message. Returns a fatal error's code and words if it was one.
async fn handle(
    session: &mut Session,
    bytes: Bytes,
    incoming: &mut HashMap<u64, Incoming>,
    out: &mpsc::Sender<Message>,
) -> Result<Option<(ErrorCode, String)>, UiGone> {
    let message = match parse_relay(bytes) {
        Ok(m) => m,
        Err(e) if e.code == ErrorCode::UnknownType => {
            tracing::debug!(error = %e, "ignoring a message type this version does not know");
            return Ok(None);
        }
        Err(e) => {
            // Shown, not fatal: one bad message does not cost the room.
            tracing::warn!(error = %e, "unreadable message from the relay");
            session
                .emit(Event::RelayError {
                    code: e.code,
                    message: format!(
                        "the relay sent a message this app cannot read ({})",
                        e.message
                    ),
                    id: None,
                })
                .await?;
            return Ok(None);
        }
    };
    let body = message.body;
    match message.header {
        RelayHeader::Welcome(_) => {}
        RelayHeader::Joined { user } => session.emit(Event::Joined(user)).await?,
        RelayHeader::Left { user } => session.emit(Event::Left(user)).await?,
        RelayHeader::Ack { id, seq, ts } => {
            session.out.forget(&id);
            session.acked.insert(seq);
            session.emit(Event::Ack { id, seq, ts }).await?;
        }
        RelayHeader::Text {
            seq,
            ts,
            from,
            history,
        } => {
            bump(&mut session.last_seq, seq);
            let own = from.id == session.my_id;
            if own && session.acked.contains(&seq) {
                return Ok(None);
            }
            let text = String::from_utf8_lossy(&body).into_owned();
            session
                .emit(Event::Text {
                    seq,
                    ts,
                    from,
                    text,
                    history,
                })
                .await?;
            if !own {
                receipt(out, seq).await;
            }
        }
        RelayHeader::ImageBegin(begin) => {
            let preview = (!body.is_empty() && validate::preview(&body).is_ok()).then_some(body);
            let own = begin.from.id == session.my_id;
            let cap = usize::try_from(begin.size)
                .unwrap_or(MAX_PREALLOC)
                .min(MAX_PREALLOC);
            let event = Event::ImageBegin {
                sid: begin.sid,
                ts: begin.ts,
                from: clean_user(begin.from),
                meta: ImageMeta {
                    name: begin.name,
                    mime: begin.mime,
                    size: begin.size,
                    sha256: begin.sha256.clone(),
                    width: begin.width,
                    height: begin.height,
                },
                preview,
                history: begin.history,
            };
            let deferred = if own {
                Some(event)
            } else {
                session.emit(event).await?;
                None
            };
            incoming.insert(
                begin.sid,
                Incoming {
                    size: begin.size,
                    sha256: begin.sha256,
                    buf: Vec::with_capacity(cap),
                    own,
                    deferred,
                },
            );
        }
        RelayHeader::ImageChunk { sid, offset } => {
            let Some(image) = incoming.get_mut(&sid) else {
                return Ok(None);
            };
            let fits = offset == image.buf.len() as u64
                && image.buf.len() as u64 + body.len() as u64 <= image.size;
            if !fits {
                // The relay broke its own contract; drop this image rather than show garbage.
                tracing::warn!(
                    sid,
                    offset,
                    "chunk out of order or past the size; dropping the image"
                );
                let announced = incoming.remove(&sid).is_some_and(|i| i.deferred.is_none());
                if announced {
                    session
                        .emit(Event::ImageCancel {
                            sid,
                            reason: snapwire_relay::protocol::CancelReason::BadChunk,
                        })
                        .await?;
                }
                return Ok(None);
            }
            image.buf.extend_from_slice(&body);
            let received = image.buf.len() as u64;
            if image.deferred.is_none() {
                session.emit(Event::ImageProgress { sid, received }).await?;
            }
        }
        RelayHeader::ImageEnd { sid, seq, ts } => {
            let Some(image) = incoming.remove(&sid) else {
                return Ok(None);
            };
            bump(&mut session.last_seq, seq);
            let Incoming {
                size,
                sha256,
                buf,
                own,
                deferred,
            } = image;
            if own && session.acked.contains(&seq) {
                return Ok(None); // ours, and the ack already placed it
            }
            if let Some(begin) = deferred {
                session.emit(begin).await?;
            }
            let bytes = Bytes::from(buf);
            let check = bytes.clone();
            // Hashing 50 MB takes a moment: not on an async worker.
            let verified = tokio::task::spawn_blocking(move || {
                check.len() as u64 == size && hex::encode(Sha256::digest(&check)) == sha256
            })
            .await
            .unwrap_or(false);
            session
                .emit(Event::ImageComplete {
                    sid,
                    seq,
                    ts,
                    bytes,
                    verified,
                })
                .await?;
            if verified && !own {
                receipt(out, seq).await;
            }
        }
        RelayHeader::ImageCancel { sid, reason } => {
            if incoming.remove(&sid).is_some_and(|i| i.deferred.is_none()) {
                session.emit(Event::ImageCancel { sid, reason }).await?;
            }
        }
        RelayHeader::Receipt { seq, user } => session.emit(Event::Receipt { seq, user }).await?,
        RelayHeader::Error { code, message, id } => {
            if let Some(id) = &id {
                session.out.forget(id);
            }
            let words = crate::state::error_words(code, &message);
            session
                .emit(Event::RelayError { code, message, id })
                .await?;
            if code.is_fatal() {
                return Ok(Some((code, words)));
            }
        }
    }
    Ok(None)
}

/// Names come from other people's clients: never let one break a line of the UI.
fn clean_user(user: User) -> User {
    User {
        id: user.id,
        name: user.name.chars().filter(|c| !c.is_control()).collect(),
    }
}

fn bump(last: &mut Option<u64>, seq: u64) {
    *last = Some(last.map_or(seq, |l| l.max(seq)));
}

/// Best effort, like the relay's handling of receipts.
async fn receipt(out: &mpsc::Sender<Message>, seq: u64) {
    let frame = ClientMessage::new(ClientHeader::Receipt { seq }, Bytes::new());
    let _ = out.send(Message::Binary(frame.encode())).await;
}

fn close_words(frame: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(f) if !f.reason.is_empty() => format!("the relay closed the connection: {}", f.reason),
        Some(f) => format!(
            "the relay closed the connection (code {})",
            u16::from(f.code)
        ),
        None => "the relay closed the connection".into(),
    }
}

fn connect_error_words(url: &str, e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("nothing is listening at {url} (is the relay running?)")
        }
        Error::Io(io) => format!("cannot reach {url}: {io}"),
        Error::Url(u) => format!("{url} cannot be used: {u}"),
        Error::Http(response) => {
            format!("{url} is not a Snapwire relay (HTTP {})", response.status())
        }
        other => format!("cannot connect to {url}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_30_seconds_with_jitter() {
        assert_eq!(backoff(0, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(0, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(1, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(3, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(4, 1.0), Duration::from_secs(16));
        assert_eq!(backoff(5, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(50, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(50, 0.0), Duration::from_secs(15));
        for attempt in 0..10 {
            for j in [0.0, 0.3, 0.9, 1.0] {
                let d = backoff(attempt, j);
                assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(30));
            }
        }
    }

    fn image(id: &str, len: usize) -> OutItem {
        OutItem {
            id: id.into(),
            kind: OutKind::Image(PreparedImage {
                meta: ImageMeta {
                    name: "a.png".into(),
                    mime: "image/png".into(),
                    size: len as u64,
                    sha256: "0".repeat(64),
                    width: None,
                    height: None,
                },
                preview: None,
                bytes: Bytes::from(vec![7u8; len]),
            }),
        }
    }

    fn limits() -> Limits {
        Limits {
            max_image_bytes: 1 << 30,
            max_chunk_bytes: 100,
            max_text_bytes: 100,
            max_uploads: 4,
        }
    }

    fn kinds(frames: &[Bytes]) -> Vec<String> {
        frames
            .iter()
            .map(|f| {
                snapwire_relay::protocol::decode_frame(f.clone())
                    .expect("frame")
                    .kind
            })
            .collect()
    }

    #[test]
    fn images_go_out_in_chunks_and_texts_jump_ahead() {
        let mut out = Outgoing::default();
        out.queue.push_back(image("i1", 250));
        out.queue.push_back(OutItem {
            id: "t1".into(),
            kind: OutKind::Text("hi".into()),
        });
        let mut frames = Vec::new();
        while let Some((frame, _)) = out.next_frame(&limits()) {
            frames.push(frame);
        }
        assert_eq!(
            kinds(&frames),
            [
                "text",
                "image_begin",
                "image_chunk",
                "image_chunk",
                "image_chunk",
                "image_end"
            ]
        );
        assert_eq!(out.unacked.len(), 2);
        out.forget("t1");
        out.requeue();
        assert_eq!(out.queue.len(), 1);
        assert_eq!(out.queue[0].id, "i1");
    }

    #[test]
    fn requeue_keeps_order_and_restarts_the_current_upload() {
        let mut out = Outgoing::default();
        out.queue.push_back(image("a", 10));
        out.queue.push_back(image("b", 10));
        // a: begin, chunk, end → unacked; b: begin → current.
        for _ in 0..4 {
            out.next_frame(&limits());
        }
        assert_eq!(out.unacked.len(), 1);
        assert!(out.current.is_some());
        out.requeue();
        let ids: Vec<_> = out.queue.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(out.current.is_none() && out.unacked.is_empty());
    }
}
