//! A WebSocket connection's two halves after the upgrade: tungstenite parses what the
//! client sends (masking, fragments, control frames, the size cap) through the
//! budget-metered read half (`metered.rs`), and [`FrameWriter`] writes what the relay sends.
//!
//! Why not tungstenite for writing too: it copies every frame into a per-connection
//! buffer before the socket write, so each receiver of a chunk costs a memcpy of it
//! and each connection keeps a buffer as large as the largest frame it ever sent
//! (1 MiB after one image chunk; 50 MB of RSS at 50 receivers). Server frames are
//! unmasked, so their framing is a 2–10 byte header: [`FrameWriter`] writes those
//! headers and the shared `Bytes` bodies with vectored writes, straight from the one
//! copy every receiver shares (RFC 6455 §5.2).

use std::io::IoSlice;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;

const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Bodies up to this size are copied next to their header (one slice instead of two);
/// larger ones are written from the shared buffer.
const INLINE_BYTES: usize = 8 * 1024;
/// Slices per `writev` call, well under the kernel's IOV_MAX (1024).
const MAX_SLICES: usize = 64;

/// Appends the header of an unmasked, final frame with `opcode` and a `len`-byte payload.
fn put_header(out: &mut BytesMut, opcode: u8, len: usize) {
    out.put_u8(0x80 | opcode);
    if len < 126 {
        out.put_u8(len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.put_u8(126);
        out.put_u16(len as u16);
    } else {
        out.put_u8(127);
        out.put_u64(len as u64);
    }
}

/// Writes server frames to the write half.
pub struct FrameWriter<W> {
    io: W,
    /// A write that makes no progress for this long fails with `TimedOut`: the
    /// peer has read nothing while data waited. A slow reader that keeps reading
    /// never trips it, however long a whole batch takes.
    stall: Option<Duration>,
}

impl FrameWriter<OwnedWriteHalf> {
    pub fn new(io: OwnedWriteHalf, stall: Duration) -> Self {
        Self {
            io,
            stall: Some(stall),
        }
    }
}

/// Whether a write failed because the peer stopped reading.
pub fn is_stall(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    /// A writer over any stream, without the stall timeout (tests, and the
    /// in-process connections of `fuzzing`).
    pub(crate) fn over(io: W) -> Self {
        Self { io, stall: None }
    }

    /// Runs one socket operation under the stall timeout.
    async fn progress<T>(
        stall: Option<Duration>,
        op: impl std::future::Future<Output = std::io::Result<T>>,
    ) -> std::io::Result<T> {
        match stall {
            None => op.await,
            Some(stall) => tokio::time::timeout(stall, op).await.map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the peer read nothing while data waited",
                )
            })?,
        }
    }

    /// Writes each message as one binary frame.
    pub async fn binary(&mut self, messages: &[Bytes]) -> std::io::Result<()> {
        let mut segments = Vec::with_capacity(2 * messages.len() + 1);
        let mut small = BytesMut::new();
        for message in messages {
            put_header(&mut small, OP_BINARY, message.len());
            if message.len() <= INLINE_BYTES {
                small.extend_from_slice(message);
            } else {
                segments.push(small.split().freeze());
                segments.push(message.clone());
            }
        }
        if !small.is_empty() {
            segments.push(small.freeze());
        }
        self.write_all(&segments).await
    }

    pub async fn ping(&mut self) -> std::io::Result<()> {
        self.control(OP_PING, &[]).await
    }

    /// Answers a ping with its payload (at most 125 bytes, as tungstenite enforces).
    pub async fn pong(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.control(OP_PONG, payload).await
    }

    /// Sends a close frame and shuts the write side down.
    pub async fn close(&mut self, code: u16, reason: &str) -> std::io::Result<()> {
        // A control frame's payload is at most 125 bytes: the code and up to 123 of reason.
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        self.control(OP_CLOSE, &payload).await?;
        Self::progress(self.stall, self.io.shutdown()).await
    }

    async fn control(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let payload = &payload[..payload.len().min(125)];
        let mut frame = BytesMut::with_capacity(2 + payload.len());
        put_header(&mut frame, opcode, payload.len());
        frame.extend_from_slice(payload);
        self.write_all(&[frame.freeze()]).await
    }

    /// Writes every segment, in order, with as few system calls as the socket allows.
    async fn write_all(&mut self, segments: &[Bytes]) -> std::io::Result<()> {
        let mut index = 0;
        let mut offset = 0;
        while index < segments.len() {
            let slices: Vec<IoSlice<'_>> = segments[index..]
                .iter()
                .take(MAX_SLICES)
                .enumerate()
                .map(|(i, s)| IoSlice::new(if i == 0 { &s[offset..] } else { s }))
                .collect();
            let mut written = Self::progress(self.stall, self.io.write_vectored(&slices)).await?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            while written > 0 && index < segments.len() {
                let left = segments[index].len() - offset;
                if written >= left {
                    written -= left;
                    index += 1;
                    offset = 0;
                } else {
                    offset += written;
                    written = 0;
                }
            }
        }
        Self::progress(self.stall, self.io.flush()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::AsyncReadExt;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// A writer whose socket takes at most `step` bytes per call, so every partial
    /// write path runs.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let mut n = 0;
            for buf in bufs {
                let take = buf.len().min(self.step - n);
                self.out.extend_from_slice(&buf[..take]);
                n += take;
                if n == self.step {
                    break;
                }
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn body(len: usize, seed: u8) -> Bytes {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<u8>>()
            .into()
    }

    #[tokio::test]
    async fn tungstenite_reads_back_what_we_write_whatever_the_partial_writes() {
        let sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000, 1 << 20];
        let messages: Vec<Bytes> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| body(len, i as u8))
            .collect();
        for step in [1usize, 7, 4096, 1 << 22] {
            let mut writer = FrameWriter::over(Trickle {
                out: Vec::new(),
                step,
            });
            if step == 1 {
                // Byte by byte is slow for a megabyte: the small ones are enough.
                writer.binary(&messages[..6]).await.expect("write");
            } else {
                writer.binary(&messages).await.expect("write");
            }
            writer.ping().await.expect("ping");
            writer.pong(b"hi").await.expect("pong");
            writer.close(1008, "slow_consumer").await.expect("close");
            let bytes = writer.io.out;
            // The client's own writes (its automatic pong) go nowhere.
            let stream = tokio::io::join(std::io::Cursor::new(bytes), tokio::io::sink());
            let mut client = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
            let expected = if step == 1 { 6 } else { messages.len() };
            for message in &messages[..expected] {
                match client.next().await {
                    Some(Ok(Message::Binary(got))) => assert_eq!(&got, message, "step {step}"),
                    other => panic!("expected a binary message, got {other:?}"),
                }
            }
            assert!(matches!(client.next().await, Some(Ok(Message::Ping(_)))));
            match client.next().await {
                Some(Ok(Message::Pong(p))) => assert_eq!(&p[..], b"hi"),
                other => panic!("expected a pong, got {other:?}"),
            }
            match client.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(u16::from(frame.code), 1008);
                    assert_eq!(frame.reason.as_str(), "slow_consumer");
                }
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }

    /// Through a real relay: a client's ping gets its pong (tungstenite no longer
    /// writes on the relay's side), a big message arrives whole, and a client's close
    /// is answered with a close.
    #[tokio::test]
    async fn a_relay_answers_pings_and_closes_through_the_frame_writer() {
        use futures_util::SinkExt;
        use std::time::Duration;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let relay = crate::server::start(listener, crate::Config::default())
            .await
            .expect("relay");
        let url = format!("ws://{}/ws", relay.local_addr());
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let wait = Duration::from_secs(5);
        ws.send(Message::Ping(Bytes::from_static(b"are you there")))
            .await
            .expect("ping");
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Pong(p)))) => assert_eq!(&p[..], b"are you there"),
            other => panic!("expected a pong, got {other:?}"),
        }
        // And after hello, from the read loop.
        let hello = serde_json::json!({
            "type": "hello", "v": 1, "name": "Ana", "client": "0123456789abcdef0123456789abcdef",
        });
        let hello = crate::protocol::encode_frame(&hello, b"");
        ws.send(Message::Binary(hello)).await.expect("hello");
        ws.send(Message::Ping(Bytes::from_static(b"still?")))
            .await
            .expect("ping");
        loop {
            match tokio::time::timeout(wait, ws.next()).await {
                Ok(Some(Ok(Message::Pong(p)))) => {
                    assert_eq!(&p[..], b"still?");
                    break;
                }
                Ok(Some(Ok(Message::Binary(_)))) => continue, // welcome
                other => panic!("expected a pong, got {other:?}"),
            }
        }
        ws.send(Message::Close(None)).await.expect("close");
        loop {
            match tokio::time::timeout(wait, ws.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) => break,
                Ok(Some(Ok(_))) => continue,
                other => panic!("expected a close, got {other:?}"),
            }
        }
        relay.shutdown().await.expect("shutdown");
    }

    #[test]
    fn headers_use_the_shortest_length_form() {
        let mut out = BytesMut::new();
        put_header(&mut out, OP_BINARY, 125);
        assert_eq!(&out[..], &[0x82, 125]);
        out.clear();
        put_header(&mut out, OP_BINARY, 126);
        assert_eq!(&out[..], &[0x82, 126, 0, 126]);
        out.clear();
        put_header(&mut out, OP_BINARY, 65_536);
        assert_eq!(&out[..], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[tokio::test]
    async fn close_reasons_are_cut_on_a_character_boundary() {
        let (a, mut b) = tokio::io::duplex(4096);
        let mut writer = FrameWriter::over(a);
        let reason = "é".repeat(100); // 200 bytes
        writer.close(1000, &reason).await.expect("close");
        drop(writer);
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.expect("read");
        assert_eq!(got[1] as usize, got.len() - 2);
        assert!(got.len() - 2 <= 125);
        assert!(std::str::from_utf8(&got[4..]).is_ok());
    }
}
