//! The read half of a connection, reading only what the memory budget allows.
//!
//! tungstenite buffers each incoming message whole (fragments included), and it
//! reserves a frame's announced length as soon as it parses the frame's header. So
//! this reader hands tungstenite a frame header only once the whole frame is
//! reserved in the budget: it reads the header itself (6 to 14 bytes), charges
//! header + payload, then passes the frame through. When the budget has no room,
//! it stops reading the socket: TCP backpressure towards that peer, no error.
//!
//! The frames' sizes are queued as *units*, in the order tungstenite yields them (a
//! data message when its last fragment is in, a control frame at once), so the
//! connection can move each message's charge onto the message itself
//! ([`ReadMeter::take_unit`]), where it stays until the message is dropped.
//!
//! What tungstenite would write (pongs, close replies) is discarded: the
//! connection's writer sends those (`socket.rs`).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::budget::{Budget, Class, Reservation, WaitGuard};

/// A message whose bytes so far stay under this may use the budget's reserve
/// (short texts, acks of the protocol, control frames): a room full of pictures
/// never stops them. Larger ones are bulk.
const SMALL_UNIT: usize = 8 * 1024;
/// The largest WebSocket frame header: 2 + 8 (length) + 4 (mask).
const MAX_FRAME_HEADER: usize = 14;
/// Every client frame is masked: its header is at least 6 bytes.
const MIN_CLIENT_HEADER: usize = 6;

/// What the connection shares with its reader.
#[derive(Debug, Default)]
pub struct ReadMeter {
    state: Mutex<MeterState>,
}

#[derive(Debug, Default)]
struct MeterState {
    /// Covers every byte passed to tungstenite and not yet taken as a unit, and
    /// the rest of the frame being passed.
    held: Reservation,
    /// Sizes of the units tungstenite has all the bytes of, oldest first.
    units: VecDeque<usize>,
    waiting: bool,
}

impl ReadMeter {
    fn lock(&self) -> std::sync::MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The charge of the message tungstenite has just yielded.
    pub fn take_unit(&self) -> Reservation {
        let mut state = self.lock();
        let size = state.units.pop_front().unwrap_or(0);
        state.held.split(size)
    }

    /// Whether the reader is stopped for want of budget (so the peer is not idle).
    pub fn is_waiting(&self) -> bool {
        self.lock().waiting
    }

    /// Bytes charged for what tungstenite holds.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.lock().held.bytes()
    }
}

enum Phase {
    /// Collecting the next frame header in `head`.
    Header,
    /// Passing a reserved frame: `left` bytes of it, the first from `head`.
    Pass {
        left: usize,
        total: usize,
        control: bool,
        fin: bool,
    },
}

/// The read half: an `AsyncRead` for tungstenite that meters what it lets through.
pub struct MeteredRead<R> {
    io: R,
    /// Bytes read before the upgrade completed (hyper's leftover), served first.
    prefix: Bytes,
    budget: Arc<Budget>,
    meter: Arc<ReadMeter>,
    /// Frames larger than this are refused by tungstenite at their header: not charged.
    max_frame: usize,
    head: [u8; MAX_FRAME_HEADER],
    head_len: usize,
    /// Bytes of `head` already given to tungstenite (while passing).
    head_given: usize,
    phase: Phase,
    /// Bytes of the data message in progress, all its frames so far.
    data_unit: usize,
    wait: Option<(Pin<Box<tokio::sync::futures::OwnedNotified>>, WaitGuard)>,
}

impl<R> MeteredRead<R> {
    pub fn new(io: R, prefix: Vec<u8>, budget: Arc<Budget>, max_frame: usize) -> Self {
        Self {
            io,
            prefix: Bytes::from(prefix),
            budget,
            meter: Arc::new(ReadMeter::default()),
            max_frame,
            head: [0; MAX_FRAME_HEADER],
            head_len: 0,
            head_given: 0,
            phase: Phase::Header,
            data_unit: 0,
            wait: None,
        }
    }

    pub fn meter(&self) -> Arc<ReadMeter> {
        self.meter.clone()
    }
}

/// `(header length, payload length)` once `head` holds enough to tell.
fn parse_header(head: &[u8]) -> Option<(usize, u64)> {
    if head.len() < 2 {
        return None;
    }
    let masked = head[1] & 0x80 != 0;
    let len7 = head[1] & 0x7f;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let header = 2 + ext + if masked { 4 } else { 0 };
    if head.len() < 2 + ext {
        return None;
    }
    let payload = match ext {
        0 => u64::from(len7),
        2 => u64::from(u16::from_be_bytes([head[2], head[3]])),
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[2..10]);
            u64::from_be_bytes(b)
        }
    };
    Some((header, payload))
}

/// How many header bytes to read next, given what `head` holds.
fn header_needs(head: &[u8]) -> usize {
    if head.len() < 2 {
        return MIN_CLIENT_HEADER - head.len();
    }
    let masked = head[1] & 0x80 != 0;
    let ext = match head[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    (2usize + ext + if masked { 4 } else { 0 }).saturating_sub(head.len())
}

impl<R: AsyncRead + Unpin> MeteredRead<R> {
    /// Reads from the prefix, then the socket.
    fn poll_io(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }

    /// A frame has been passed whole: record the unit it completes, if any.
    fn frame_done(&mut self, total: usize, control: bool, fin: bool) {
        let mut state = self.meter.lock();
        if control {
            state.units.push_back(total);
        } else {
            self.data_unit += total;
            if fin {
                state.units.push_back(std::mem::take(&mut self.data_unit));
            }
        }
    }

    /// Reserves a frame of `total` bytes, or registers for a wake-up.
    fn poll_reserve(&mut self, cx: &mut Context<'_>, total: usize) -> Poll<()> {
        let class = if self.data_unit + total <= SMALL_UNIT {
            Class::Small
        } else {
            Class::Bulk
        };
        loop {
            if let Some(r) = self.budget.try_reserve(total, class) {
                self.wait = None;
                let mut state = self.meter.lock();
                state.held.absorb(r);
                state.waiting = false;
                return Poll::Ready(());
            }
            match &mut self.wait {
                None => {
                    self.budget.note_reached();
                    self.meter.lock().waiting = true;
                    let mut notified = Box::pin(self.budget.notified());
                    notified.as_mut().enable();
                    self.wait = Some((notified, self.budget.waiting()));
                    self.budget.ask_relief();
                    // Retry once now that a wake-up cannot be missed.
                }
                Some((notified, _)) => match notified.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => {
                        let mut next = Box::pin(self.budget.notified());
                        next.as_mut().enable();
                        *notified = next;
                        self.budget.ask_relief();
                    }
                },
            }
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for MeteredRead<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            match this.phase {
                Phase::Pass {
                    left,
                    total,
                    control,
                    fin,
                } => {
                    if buf.remaining() == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    let n = if this.head_given < this.head_len {
                        let n = (this.head_len - this.head_given).min(buf.remaining());
                        buf.put_slice(&this.head[this.head_given..this.head_given + n]);
                        this.head_given += n;
                        n
                    } else {
                        let limit = left.min(buf.remaining());
                        let mut sub = ReadBuf::new(buf.initialize_unfilled_to(limit));
                        match this.poll_io(cx, &mut sub) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                            Poll::Ready(Ok(())) => {}
                        }
                        let n = sub.filled().len();
                        if n == 0 {
                            return Poll::Ready(Ok(())); // end of stream mid-frame
                        }
                        buf.advance(n);
                        n
                    };
                    let left = left - n;
                    if left == 0 {
                        this.phase = Phase::Header;
                        this.head_len = 0;
                        this.head_given = 0;
                        this.frame_done(total, control, fin);
                    } else {
                        this.phase = Phase::Pass {
                            left,
                            total,
                            control,
                            fin,
                        };
                    }
                    return Poll::Ready(Ok(()));
                }
                Phase::Header => {
                    let needs = header_needs(&this.head[..this.head_len]);
                    if needs > 0 {
                        let end = this.head_len + needs;
                        let mut head = this.head;
                        let mut sub = ReadBuf::new(&mut head[this.head_len..end]);
                        match this.poll_io(cx, &mut sub) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                            Poll::Ready(Ok(())) => {}
                        }
                        let n = sub.filled().len();
                        this.head = head;
                        if n == 0 {
                            // End of stream: give tungstenite what there is, then EOF.
                            let given = this.head_len;
                            this.head_len = 0;
                            buf.put_slice(&this.head[..given.min(buf.remaining())]);
                            return Poll::Ready(Ok(()));
                        }
                        this.head_len += n;
                        continue;
                    }
                    let Some((header, payload)) = parse_header(&this.head[..this.head_len]) else {
                        continue;
                    };
                    let opcode = this.head[0] & 0x0f;
                    let fin = this.head[0] & 0x80 != 0;
                    let control = opcode & 0x08 != 0;
                    // Bytes of the payload already in `head` (only an unmasked
                    // frame, which tungstenite refuses, can cause that).
                    let in_head = this.head_len.saturating_sub(header) as u64;
                    let payload = payload.max(in_head);
                    if payload > this.max_frame as u64 {
                        // tungstenite refuses it at its header, before buffering
                        // anything: nothing to charge, the connection ends (1009).
                        let total = this.head_len;
                        this.phase = Phase::Pass {
                            left: total,
                            total: 0,
                            control: true,
                            fin: true,
                        };
                        continue;
                    }
                    let total = header + payload as usize;
                    if this.poll_reserve(cx, total).is_pending() {
                        return Poll::Pending;
                    }
                    this.phase = Phase::Pass {
                        left: total,
                        total,
                        control,
                        fin,
                    };
                }
            }
        }
    }
}

impl<R> AsyncWrite for MeteredRead<R>
where
    R: Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// Client frames of every header form, fragments and a ping in between, read
    /// back whole through the meter; each unit's charge is exactly its frames.
    #[tokio::test]
    async fn units_match_what_tungstenite_yields_and_charges_are_exact() {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let budget = Budget::new(8 << 20);
        let reader = MeteredRead::new(server_io, Vec::new(), budget.clone(), 1 << 20);
        let meter = reader.meter();
        let mut server = WebSocketStream::from_raw_socket(reader, Role::Server, None).await;
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let sizes = [0usize, 5, 125, 126, 65_535, 65_536, 300_000];
        for &n in &sizes {
            client
                .send(Message::Binary(vec![n as u8; n].into()))
                .await
                .expect("send");
        }
        client
            .send(Message::Ping(Bytes::from_static(b"p")))
            .await
            .expect("ping");
        for &n in &sizes {
            let message = server.next().await.expect("open").expect("read");
            let unit = meter.take_unit();
            let Message::Binary(bytes) = message else {
                panic!("binary expected")
            };
            assert_eq!(bytes.len(), n);
            let header = 2
                + 4
                + if n < 126 {
                    0
                } else if n < 65_536 {
                    2
                } else {
                    8
                };
            assert_eq!(unit.bytes(), n + header, "message of {n} bytes");
        }
        assert!(matches!(server.next().await, Some(Ok(Message::Ping(_)))));
        assert_eq!(meter.take_unit().bytes(), 2 + 4 + 1);
        assert_eq!(meter.held_bytes(), 0);
        assert_eq!(budget.used(), 0);
    }

    /// A frame that does not fit the budget is not read until room is freed.
    #[tokio::test]
    async fn a_frame_waits_for_budget_then_goes_through() {
        let (client_io, server_io) = tokio::io::duplex(4 << 20);
        let budget = Budget::new(8 << 20);
        let hog = budget.try_reserve(7 << 20, Class::Bulk).expect("fits");
        let reader = MeteredRead::new(server_io, Vec::new(), budget.clone(), 2 << 20);
        let meter = reader.meter();
        let mut server = WebSocketStream::from_raw_socket(reader, Role::Server, None).await;
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        client
            .send(Message::Binary(vec![1u8; 1 << 20].into()))
            .await
            .expect("send");
        let next = tokio::time::timeout(std::time::Duration::from_millis(100), server.next()).await;
        assert!(next.is_err(), "nothing read while the budget is full");
        assert!(meter.is_waiting());
        assert!(budget.used() <= budget.limit());
        drop(hog);
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), server.next())
            .await
            .expect("read once room is freed")
            .expect("open")
            .expect("read");
        assert!(matches!(message, Message::Binary(b) if b.len() == 1 << 20));
        drop(meter.take_unit());
        assert_eq!(budget.used(), 0);
    }
}
