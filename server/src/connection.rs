//! One task per client: the `hello` handshake, the read loop, the writer that drains
//! the bounded outbox, pings and timeouts. What messages *mean* is in `session.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use std::panic::AssertUnwindSafe;

use futures_util::{FutureExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span};

use crate::budget::charge;
use crate::metered::ReadMeter;
use crate::outbox::{Batch, Closing, Outbox};
use crate::protocol::{ErrorCode, Hello, ProtocolError, decode_frame, validate};
use crate::room::error_frame;
use crate::session::{Session, Step};
use crate::shared::Shared;
use crate::socket::{FrameWriter, is_stall};

/// Largest batch the writer hands to the socket before flushing.
const WRITE_BATCH_BYTES: usize = 512 * 1024;
/// Time allowed for the last words (an error and a close frame) to a closing peer.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Runs one client connection to its end: `ws` reads what the client sends (its
/// bytes metered by `meter`, see `metered.rs`), `sink` writes what the relay sends
/// (see `socket.rs`).
pub async fn run<S, W>(
    mut stream: WebSocketStream<S>,
    meter: Arc<ReadMeter>,
    sink: FrameWriter<W>,
    peer: SocketAddr,
    shared: Arc<Shared>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let conn = shared.next_conn();
    let span = info_span!("conn", id = conn, %peer, room = tracing::field::Empty, user = tracing::field::Empty);
    async move {
        let outbox = Arc::new(Outbox::new(shared.config.outbox_bytes));
        // Ends the read loop when the writer gives up (stalled or broken socket).
        let writer_done = CancellationToken::new();
        let writer = tokio::spawn(
            write_loop(sink, outbox.clone(), shared.clone(), writer_done.clone()).in_current_span(),
        );

        let reason = match read_hello(&mut stream, &meter, &outbox, &shared, peer).await {
            Ok((hello, since_error)) => {
                let start = Session::start(conn, peer, hello, outbox.clone(), shared.clone());
                let mut session = match Box::pin(start).await {
                    Ok(session) => session,
                    Err(err) => {
                        fatal(&outbox, &shared, &err);
                        finish(writer, &outbox).await;
                        info!(reason = %err.code, "refused");
                        return;
                    }
                };
                tracing::Span::current().record("room", session.room_name());
                tracing::Span::current().record("user", session.user_name());
                if let Some(err) = since_error {
                    shared.metrics.error(err.code);
                    let _ = outbox.push_control(error_frame(&err));
                }
                info!("joined");
                shared.session_started();
                let reason = read_loop(
                    &mut stream,
                    &meter,
                    &mut session,
                    &outbox,
                    &shared,
                    &writer_done,
                )
                .await;
                session.end(reason == EndReason::Shutdown).await;
                shared.session_ended();
                reason
            }
            Err(_) if outbox.is_closing() => EndReason::TooLarge,
            Err(err) => {
                fatal(&outbox, &shared, &err);
                EndReason::Fatal(err.code)
            }
        };
        if reason == EndReason::Shutdown {
            // After what is queued (the `image_cancel`s of `Shared::stop_streams`
            // and of the feeder), not instead of it; `finish` bounds the wait.
            let err = ProtocolError::new(ErrorCode::ServerShutdown, "the relay is stopping");
            shared.metrics.error(err.code);
            outbox.close_after(
                error_frame(&err),
                Closing {
                    code: 1001,
                    reason: err.code.as_str().to_owned(),
                },
            );
        }
        finish(writer, &outbox).await;
        info!(%reason, "disconnected");
    }
    .instrument(span)
    .await
}

/// Why a connection ended, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    PeerClosed,
    Fatal(ErrorCode),
    Idle,
    TooLarge,
    SocketError,
    WriterStopped,
    Shutdown,
    Bug,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::PeerClosed => f.write_str("peer closed"),
            EndReason::Fatal(code) => write!(f, "{code}"),
            EndReason::Idle => f.write_str("idle timeout"),
            EndReason::TooLarge => f.write_str("message too large"),
            EndReason::SocketError => f.write_str("socket error"),
            EndReason::WriterStopped => f.write_str("writer stopped"),
            EndReason::Shutdown => f.write_str("server shutdown"),
            EndReason::Bug => f.write_str("internal error"),
        }
    }
}

/// Queues a fatal error and the close that follows it.
fn fatal(outbox: &Outbox, shared: &Shared, err: &ProtocolError) {
    shared.metrics.error(err.code);
    // Only a host throttled at `hello` (1008, policy) and the relay's own failure
    // (a room whose history cannot be loaded at `hello`: 1011) end a connection
    // with a code the table calls non-fatal.
    let code = err.code.close_code().unwrap_or(match err.code {
        ErrorCode::RateLimited => 1008,
        _ => 1011,
    });
    outbox.close_with(
        Some(error_frame(err)),
        Closing {
            code,
            reason: err.code.as_str().to_owned(),
        },
    );
}

/// The close for a message over the size cap: 1009, no error message (the contract).
fn too_big() -> Closing {
    Closing {
        code: 1009,
        reason: "message too big".into(),
    }
}

/// Lets the writer say its last words, then stops it.
async fn finish(writer: tokio::task::JoinHandle<()>, outbox: &Outbox) {
    outbox.close_with(
        None,
        Closing {
            code: 1000,
            reason: String::new(),
        },
    );
    let abort = writer.abort_handle();
    if timeout(CLOSE_GRACE, writer).await.is_err() {
        abort.abort();
    }
}

type Reader<S> = WebSocketStream<S>;

/// The next message, carrying the budget charge of its bytes until it is dropped.
async fn next_message<S>(
    stream: &mut Reader<S>,
    meter: &ReadMeter,
) -> Option<Result<Message, WsError>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let next = stream.next().await;
    if let Some(Ok(message)) = &next {
        let unit = meter.take_unit();
        if let Message::Binary(bytes) = message {
            return Some(Ok(Message::Binary(charge(bytes.clone(), unit))));
        }
    }
    next
}

/// Waits for `hello` and checks it in the contract's order (framing, type, fields, token).
/// Returns the hello and, when its `since` was mistyped, the non-fatal error to send after `welcome`.
async fn read_hello<S>(
    stream: &mut Reader<S>,
    meter: &ReadMeter,
    outbox: &Outbox,
    shared: &Shared,
    peer: SocketAddr,
) -> Result<(Hello, Option<ProtocolError>), ProtocolError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + shared.config.hello_timeout;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, next_message(stream, meter)) => next,
            () = shared.shutdown.cancelled() => {
                return Err(ProtocolError::new(ErrorCode::ServerShutdown, "the relay is stopping"));
            }
        };
        let bytes = match next {
            Err(_) => {
                return Err(ProtocolError::new(
                    ErrorCode::HelloTimeout,
                    format!(
                        "no hello within {} s",
                        shared.config.hello_timeout.as_secs()
                    ),
                ));
            }
            Ok(Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. })))) => {
                // Close 1009 without an error message, as after hello.
                outbox.close_with(None, too_big());
                return Err(ProtocolError::new(ErrorCode::BadFrame, "message too big"));
            }
            Ok(None) | Ok(Some(Err(_))) => {
                return Err(ProtocolError::new(
                    ErrorCode::BadFrame,
                    "connection ended before hello",
                ));
            }
            Ok(Some(Ok(Message::Binary(bytes)))) => bytes,
            Ok(Some(Ok(Message::Text(_)))) => {
                return Err(ProtocolError::new(
                    ErrorCode::BadFrame,
                    "text messages are not part of the protocol",
                ));
            }
            Ok(Some(Ok(Message::Ping(payload)))) => {
                outbox.push_pong(payload);
                continue;
            }
            Ok(Some(Ok(_))) => continue, // pong
        };
        let frame = decode_frame(bytes)?;
        if frame.kind != "hello" {
            return Err(ProtocolError::new(
                ErrorCode::NotHello,
                "the first message must be hello",
            ));
        }
        let hello = Hello::from_header(&frame.header)?;
        if let Some(expected) = &shared.config.token {
            // A host that has failed too often lately gets no further guesses.
            if !shared.guard.may_try_token(peer.ip()) {
                return Err(ProtocolError::new(
                    ErrorCode::RateLimited,
                    "too many wrong tokens from this host; retry in a minute",
                ));
            }
            let given = hello.token.as_deref().unwrap_or_default();
            if !validate::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
                shared.guard.bad_token(peer.ip());
                return Err(ProtocolError::new(
                    ErrorCode::Unauthorized,
                    "wrong or missing token",
                ));
            }
        }
        return Ok((hello, Hello::since_error(&frame.header)));
    }
}

async fn read_loop<S>(
    stream: &mut Reader<S>,
    meter: &ReadMeter,
    session: &mut Session,
    outbox: &Outbox,
    shared: &Shared,
    writer_done: &CancellationToken,
) -> EndReason
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let idle = shared.config.idle_timeout;
    let mut idle_since = Instant::now();
    loop {
        // Uploads that stop making progress are cancelled even while nothing arrives.
        let stalled_upload = session.upload_deadline();
        let next = tokio::select! {
            next = tokio::time::timeout_at(idle_since + idle, next_message(stream, meter)) => next,
            () = sleep_until(stalled_upload) => {
                session.expire_uploads();
                continue;
            }
            () = shared.shutdown.cancelled() => return EndReason::Shutdown,
            () = writer_done.cancelled() => return EndReason::WriterStopped,
        };
        idle_since = Instant::now();
        let bytes = match next {
            // Not idle: the relay stopped reading it, for want of memory budget.
            Err(_) if meter.is_waiting() => continue,
            Err(_) => {
                outbox.close_with(
                    None,
                    Closing {
                        code: 1001,
                        reason: "idle".into(),
                    },
                );
                return EndReason::Idle;
            }
            Ok(None) => return EndReason::PeerClosed,
            Ok(Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. })))) => {
                outbox.close_with(None, too_big());
                return EndReason::TooLarge;
            }
            Ok(Some(Err(e))) => {
                debug!(error = %e, "read failed");
                return EndReason::SocketError;
            }
            Ok(Some(Ok(Message::Binary(bytes)))) => bytes,
            Ok(Some(Ok(Message::Text(_)))) => {
                let err = ProtocolError::new(
                    ErrorCode::BadFrame,
                    "text messages are not part of the protocol",
                );
                fatal(outbox, shared, &err);
                return EndReason::Fatal(err.code);
            }
            Ok(Some(Ok(Message::Close(_)))) => return EndReason::PeerClosed,
            Ok(Some(Ok(Message::Ping(payload)))) => {
                outbox.push_pong(payload);
                continue;
            }
            Ok(Some(Ok(_))) => continue, // pong: it counts as activity
        };
        // Boxed: an idle connection's task should not carry the largest message
        // handler's state (a few KiB) for its whole life.
        // A panic here is a bug in the relay, never the peer's fault to pay for with
        // a ghost member: it ends this connection (1011) and the session still ends.
        let handled = AssertUnwindSafe(Box::pin(session.handle(bytes)))
            .catch_unwind()
            .await;
        match handled {
            Ok(Step::Continue) => {}
            Ok(Step::Fatal(err)) => {
                fatal(outbox, shared, &err);
                return EndReason::Fatal(err.code);
            }
            Err(_) => {
                tracing::error!("handling a message panicked: closing the connection");
                outbox.close_with(
                    None,
                    Closing {
                        code: 1011,
                        reason: "internal error".into(),
                    },
                );
                return EndReason::Bug;
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Drains the outbox into the socket, pings, and detects a reader that stopped reading.
async fn write_loop<W>(
    mut sink: FrameWriter<W>,
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    done: CancellationToken,
) where
    W: AsyncWrite + Unpin,
{
    let _done = done.drop_guard();
    let mut ping = tokio::time::interval(shared.config.ping_interval);
    ping.tick().await; // the first tick is immediate
    // Every write below fails with a stall error once the peer has accepted no byte
    // for `stalled_timeout` (see `FrameWriter`): that is `slow_consumer`.
    let ended = |e: std::io::Error, outbox: &Outbox| {
        if is_stall(&e) {
            stalled_out(outbox, &shared);
        } else {
            debug!(error = %e, "write failed");
        }
    };
    loop {
        let batch = tokio::select! {
            batch = outbox.next_batch(WRITE_BATCH_BYTES) => batch,
            _ = ping.tick() => {
                if let Err(e) = sink.ping().await {
                    ended(e, &outbox);
                    return;
                }
                continue;
            }
        };
        match batch {
            Batch::Messages(messages) => {
                let count = messages.len() as u64;
                let bytes: usize = messages.iter().map(Bytes::len).sum();
                if let Err(e) = sink.binary(&messages).await {
                    ended(e, &outbox);
                    return;
                }
                outbox.sent(bytes);
                shared
                    .metrics
                    .messages_sent
                    .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
                shared
                    .metrics
                    .bytes_sent
                    .fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
            }
            Batch::Pong(payload) => {
                if let Err(e) = sink.pong(&payload).await {
                    ended(e, &outbox);
                    return;
                }
            }
            Batch::Close(closing) => {
                let _ = timeout(CLOSE_GRACE, sink.close(closing.code, &closing.reason)).await;
                return;
            }
        }
    }
}

/// The peer read nothing for `stalled_timeout` while data waited: `slow_consumer`.
/// The error cannot be written to a socket that does not drain; the connection just ends.
fn stalled_out(outbox: &Outbox, shared: &Shared) {
    info!("reader stalled: slow_consumer");
    crate::room::close_slow(outbox, &shared.metrics, "read nothing while data waited");
}
