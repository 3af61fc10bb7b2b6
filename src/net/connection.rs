//! One connection to the relay: connect (with a time limit), `hello`, wait for
//! `welcome`, then one loop that reads relay messages, takes the UI's
//! commands and feeds the bounded writer from [`Outgoing`]. What the worker
//! remembers across connections (last seq, epoch, what is unacked) is the
//! [`Session`]; how a connection ended is an [`End`] the reconnect loop acts on.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use snapwire_relay::protocol::{
    ClientHeader, ClientMessage, ErrorCode, Hello, Limits, PROTOCOL_VERSION, RelayHeader,
    RelayMessage, User, Welcome, parse_relay, validate,
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::Command;
use super::incoming::{Body, Chunk, Finished, Streams};
use super::outgoing::{OutItem, OutKind, Outgoing};
use super::words::{close_words, connect_error_words};
use crate::repaint::Repaint;
use crate::settings::Target;
use crate::state::{Event, ImageMeta};
use crate::t;

/// Frames waiting for the socket writer; small so cancel and texts stay prompt.
const OUTBOX_FRAMES: usize = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the worker remembers across connections.
pub(super) struct Session {
    target: Target,
    secret: String,
    my_id: String,
    /// Highest seq received; the next `hello` asks for what came after it.
    last_seq: Option<u64>,
    epoch: Option<String>,
    /// Seqs of our own items, from their acks: their replays are not shown again.
    acked: HashSet<u64>,
    pub(super) out: Outgoing,
    events: mpsc::Sender<Event>,
    repaint: Repaint,
    /// Large incoming images are written here as they arrive; removed with the worker.
    streams_dir: Option<tempfile::TempDir>,
}

/// Why a connection ended.
pub(super) enum End {
    /// The UI is gone.
    Shutdown,
    /// Trying again would fail the same way.
    Fatal(String),
    /// Lost; try again after a delay. `welcomed` resets the backoff.
    Lost { reason: String, welcomed: bool },
    /// The room's history was replaced (new epoch): reconnect at once without `since`.
    Restart,
}

pub(super) struct UiGone;

impl Session {
    pub(super) fn new(
        target: Target,
        secret: String,
        events: mpsc::Sender<Event>,
        repaint: Repaint,
    ) -> Self {
        Self {
            my_id: validate::user_id(&secret),
            target,
            secret,
            last_seq: None,
            epoch: None,
            acked: HashSet::new(),
            out: Outgoing::default(),
            events,
            repaint,
            streams_dir: tempfile::Builder::new()
                .prefix("snapwire-incoming-")
                .tempdir()
                .map_err(|e| tracing::warn!(error = %e, "large images will stay in memory"))
                .ok(),
        }
    }

    pub(super) fn stream_dir(&self) -> Option<std::path::PathBuf> {
        self.streams_dir.as_ref().map(|d| d.path().to_path_buf())
    }

    pub(super) async fn emit(&self, event: Event) -> Result<(), UiGone> {
        self.events.send(event).await.map_err(|_| UiGone)?;
        (self.repaint)();
        Ok(())
    }

    /// The relay welcomed a new connection: its limits, or how the connection
    /// ends at once (the room's history was replaced, or the UI is gone).
    pub(super) async fn welcomed(&mut self, welcome: Welcome) -> Result<Limits, End> {
        if self.last_seq.is_some() && self.epoch.as_ref().is_some_and(|e| *e != welcome.epoch) {
            // Our `since` counted in a history that no longer exists.
            self.last_seq = None;
            self.acked.clear();
            self.epoch = Some(welcome.epoch);
            return Err(End::Restart);
        }
        if self.epoch.as_ref() != Some(&welcome.epoch) {
            self.acked.clear();
        }
        self.epoch = Some(welcome.epoch.clone());
        self.my_id = welcome.user.id.clone();
        let limits = welcome.limits;
        self.emit(Event::Welcome(welcome))
            .await
            .map_err(|UiGone| End::Shutdown)?;
        Ok(limits)
    }

    /// Takes a command while offline or between frames.
    pub(super) async fn command(&mut self, command: Command) -> Result<(), UiGone> {
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
                } else {
                    // Every byte is out already: say so rather than nothing.
                    self.emit(Event::CancelTooLate { id }).await?;
                }
            }
        }
        Ok(())
    }
}

pub(super) async fn connect_once(
    session: &mut Session,
    commands: &mut mpsc::Receiver<Command>,
) -> End {
    let lost = |reason: String| End::Lost {
        reason,
        welcomed: false,
    };
    let url = session.target.url.clone();
    // No Nagle: acks, receipts and image_end are small and should not wait ~40 ms.
    let connect = tokio_tungstenite::connect_async_with_config(url.as_str(), None, true);
    let ws = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => {
            return lost(t!(
                "net-no-answer",
                url = url.as_str(),
                secs = CONNECT_TIMEOUT.as_secs()
            ));
        }
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
        return lost(t!("net-lost-in-hello", error = e.to_string()));
    }

    // Wait for `welcome` (or the error that refuses us).
    let welcome = loop {
        let next = tokio::time::timeout(CONNECT_TIMEOUT, stream.next()).await;
        let message = match next {
            Err(_) => return lost(t!("net-no-welcome", secs = CONNECT_TIMEOUT.as_secs())),
            Ok(None) => return lost(t!("net-closed")),
            Ok(Some(Err(e))) => return lost(t!("net-lost", error = e.to_string())),
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
                    return lost(t!("net-bad-welcome"));
                }
            },
            Message::Close(frame) => {
                return lost(close_words(frame.as_ref()));
            }
            _ => {}
        }
    };

    let limits = match session.welcomed(welcome).await {
        Ok(limits) => limits,
        Err(end) => return end,
    };

    // The writer owns the sink; we hand it frames through a small bounded queue.
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(OUTBOX_FRAMES);
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            if let Err(e) = sink.send(message).await {
                return t!("net-lost-sending-because", error = e.to_string());
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
    let mut incoming = Streams::new(limits, session.stream_dir());
    // A fatal error's words, to show when the close that follows it arrives.
    let mut fatal: Option<(ErrorCode, String)> = None;
    loop {
        let has_work = session.out.has_work();
        tokio::select! {
            message = stream.next() => {
                let message = match message {
                    None => return ended(fatal, t!("net-closed")),
                    Some(Err(e)) => return ended(fatal, t!("net-lost", error = e.to_string())),
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
                if let Some(end) = take_command(session, command).await {
                    return end;
                }
            }
            permit = out.reserve(), if has_work => {
                let Ok(permit) = permit else {
                    return lost(t!("net-lost-sending"));
                };
                // A command that came meanwhile goes first: a Cancel stops the
                // upload between two chunks, whatever the scheduler did.
                if let Ok(command) = commands.try_recv() {
                    drop(permit);
                    if let Some(end) = take_command(session, command).await {
                        return end;
                    }
                    continue;
                }
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

/// Takes one of the UI's commands while connected; `Some` ends the connection.
pub(super) async fn take_command(session: &mut Session, command: Command) -> Option<End> {
    if let Command::Cancel { id } = &command
        && session.out.cancel_current(id)
    {
        // Its `cancel` frame goes out first when the writer has room; the
        // person hears at once, never waiting on a relay that reads slowly.
        if session
            .emit(Event::UploadCancelled { id: id.clone() })
            .await
            .is_err()
        {
            return Some(End::Shutdown);
        }
        return None;
    }
    session
        .command(command)
        .await
        .err()
        .map(|UiGone| End::Shutdown)
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
pub(super) async fn handle(
    session: &mut Session,
    bytes: Bytes,
    incoming: &mut Streams,
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
                    message: t!("net-unreadable", error = e.message.as_str()),
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
            if incoming.cancel(begin.sid) {
                // A second begin for a stream still open breaks the contract (a
                // sid is unique on a connection): the first one ends here, said
                // so, rather than stay half forever beside the new one.
                let reason = snapwire_relay::protocol::CancelReason::Other;
                let sid = begin.sid;
                session.emit(Event::ImageCancel { sid, reason }).await?;
            }
            let preview = (!body.is_empty() && validate::preview(&body).is_ok()).then_some(body);
            let own = begin.from.id == session.my_id;
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
            let place = match incoming.reserve(begin.size) {
                Ok(place) => place,
                Err(reason) => {
                    // Shown with its name and why, never buffered.
                    tracing::warn!(sid = begin.sid, size = begin.size, "refusing an image");
                    let sid = begin.sid;
                    session.emit(event).await?;
                    session.emit(Event::StreamRefused { sid, reason }).await?;
                    return Ok(None);
                }
            };
            let (sid, size) = (begin.sid, begin.size);
            if let Some(now) = incoming.begin(sid, place, size, begin.sha256, own, event) {
                session.emit(now).await?;
            }
        }
        RelayHeader::ImageChunk { sid, offset } => match incoming.chunk(sid, offset, &body) {
            Chunk::Unknown | Chunk::Progress(None) => {}
            Chunk::Progress(Some(progress)) => session.emit(progress).await?,
            Chunk::Dropped { announced } => {
                // The relay broke its own contract; drop this image rather than show garbage.
                tracing::warn!(
                    sid,
                    offset,
                    "chunk out of order or past the size; dropping the image"
                );
                if announced {
                    session
                        .emit(Event::ImageCancel {
                            sid,
                            reason: snapwire_relay::protocol::CancelReason::BadChunk,
                        })
                        .await?;
                }
            }
        },
        RelayHeader::ImageEnd { sid, seq, ts } => {
            let Some(image) = incoming.end(sid) else {
                return Ok(None);
            };
            bump(&mut session.last_seq, seq);
            let Finished {
                body,
                size,
                sha256,
                own,
                deferred,
            } = image;
            if own && session.acked.contains(&seq) {
                return Ok(None); // ours, and the ack already placed it
            }
            if let Some(begin) = deferred {
                session.emit(begin).await?;
            }
            // Hashing 50 MB takes a moment: not on an async worker.
            let event = match body {
                Body::Memory(bytes) => {
                    let check = bytes.clone();
                    let verified = tokio::task::spawn_blocking(move || {
                        Finished::verify(&check, size, &sha256)
                    })
                    .await
                    .unwrap_or(false);
                    Event::ImageComplete {
                        sid,
                        seq,
                        ts,
                        bytes,
                        verified,
                    }
                }
                Body::File(file) => {
                    let checked = tokio::task::spawn_blocking(move || {
                        let verified = Finished::verify_file(file.path(), size, &sha256);
                        // Kept only when it is the image; else removed with the handle.
                        let path = if verified {
                            file.into_temp_path().keep().ok()
                        } else {
                            None
                        };
                        (verified && path.is_some(), path)
                    })
                    .await
                    .unwrap_or((false, None));
                    let (verified, path) = checked;
                    Event::ImageStored {
                        sid,
                        seq,
                        ts,
                        path: path.unwrap_or_default(),
                        verified,
                    }
                }
            };
            let verified = matches!(
                event,
                Event::ImageComplete { verified: true, .. }
                    | Event::ImageStored { verified: true, .. }
            );
            session.emit(event).await?;
            if verified && !own {
                receipt(out, seq).await;
            }
        }
        RelayHeader::ImageCancel { sid, reason } => {
            if incoming.cancel(sid) {
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
