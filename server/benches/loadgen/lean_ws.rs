//! Lean WebSocket framing for the load generator's fan-out clients: a reader of
//! the relay's frames and a writer of the senders'.
//!
//! The receivers share the machine's two cores with the server they measure, so
//! every cycle they spend is one the server does not get. tungstenite zero-fills
//! its read buffer before every read (`FrameCodec::read_in` resizes it with zeros),
//! which came to 12% of all CPU samples of a 4 × 20 MB → 50 run, a cost the
//! raw-TCP baseline's receivers do not pay. This reader reads into spare capacity
//! without zeroing it and hands each payload on without a copy, so both kinds of
//! receivers do the same work per byte and the ratio measures the servers.
//!
//! The writer likewise sends each message as one frame written straight from the
//! caller's bytes, masked with the all-zero key: a valid key (RFC 6455 asks the
//! server to unmask whatever the key, and the relay does, so its work is the
//! same), which spares the client tungstenite's copy-and-XOR of every byte sent.
//!
//! The reader reads what a relay sends: whole, unmasked frames (the relay never
//! fragments). Pings are answered; a close or the end of the stream ends it.
//! The handshake and `hello` go through tungstenite, before anything is read.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;
use tokio_tungstenite::MaybeTlsStream;

use super::Ws;

/// Spare room each read may fill.
const READ_AT_LEAST: usize = 256 * 1024;
/// Messages up to this size are copied behind their header and written at once.
const SMALL: usize = 64 * 1024;
/// No frame of the relay comes near this (chunks are 1 MiB).
const MAX_FRAME: u64 = 64 * 1024 * 1024;

pub struct FrameReader {
    read: OwnedReadHalf,
    write: FrameWriter,
    buf: BytesMut,
}

/// Sends binary messages (and the reader's pongs) on one connection.
#[derive(Clone)]
pub struct FrameWriter(Arc<Mutex<OwnedWriteHalf>>);

/// Takes over a connection that has not read anything since its handshake (the
/// relay sends nothing before `hello`, so tungstenite holds no bytes) and whose
/// writes are all flushed.
pub fn lean(ws: Ws) -> Result<(FrameReader, FrameWriter), String> {
    let MaybeTlsStream::Plain(tcp) = ws.into_inner() else {
        return Err("the load generator speaks plain ws:// only".to_owned());
    };
    let (read, write) = tcp.into_split();
    let write = FrameWriter(Arc::new(Mutex::new(write)));
    let reader = FrameReader {
        read,
        write: write.clone(),
        buf: BytesMut::with_capacity(READ_AT_LEAST),
    };
    Ok((reader, write))
}

impl FrameWriter {
    /// One binary message as one frame.
    pub async fn send(&self, message: &[u8]) -> Result<(), String> {
        self.frame(0x82, message).await
    }

    async fn frame(&self, first: u8, payload: &[u8]) -> Result<(), String> {
        let mut head = Vec::with_capacity(14 + payload.len().min(SMALL));
        head.push(first);
        match payload.len() {
            n @ 0..=125 => head.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                head.push(0x80 | 126);
                head.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                head.push(0x80 | 127);
                head.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        head.extend_from_slice(&[0; 4]); // the masking key
        let mut write = self.0.lock().await;
        if payload.len() <= SMALL {
            // One write, so a small message is one segment (Nagle is off).
            head.extend_from_slice(payload);
            return write
                .write_all(&head)
                .await
                .map_err(|e| format!("write: {e}"));
        }
        write
            .write_all(&head)
            .await
            .map_err(|e| format!("write: {e}"))?;
        write
            .write_all(payload)
            .await
            .map_err(|e| format!("write: {e}"))
    }
}

impl FrameReader {
    /// The next binary message; `None` once the relay closes the connection.
    pub async fn next(&mut self) -> Result<Option<Bytes>, String> {
        loop {
            let Some((header, len, opcode)) = self.header().await? else {
                return Ok(None);
            };
            if !self.fill(header + len).await? {
                return Ok(None);
            }
            self.buf.advance(header);
            let payload = self.buf.split_to(len).freeze();
            match opcode {
                0x2 => return Ok(Some(payload)),
                0x8 => return Ok(None),
                0x9 => self.pong(&payload).await?,
                0x1 | 0xA => {} // no text is expected; a pong answers nothing we sent
                other => return Err(format!("unexpected frame opcode {other:#x}")),
            }
        }
    }

    /// Header length, payload length and opcode of the frame at the front.
    async fn header(&mut self) -> Result<Option<(usize, usize, u8)>, String> {
        if !self.fill(2).await? {
            return Ok(None);
        }
        let (b0, b1) = (self.buf[0], self.buf[1]);
        if b0 & 0x80 == 0 {
            return Err("a fragmented message (the relay sends whole ones)".to_owned());
        }
        if b1 & 0x80 != 0 {
            return Err("a masked frame from the relay".to_owned());
        }
        let (header, len) = match b1 & 0x7f {
            126 => (4, None),
            127 => (10, None),
            short => (2, Some(u64::from(short))),
        };
        if !self.fill(header).await? {
            return Ok(None);
        }
        let len = len.unwrap_or_else(|| {
            self.buf[2..header]
                .iter()
                .fold(0u64, |n, b| (n << 8) | u64::from(*b))
        });
        if len > MAX_FRAME {
            return Err(format!("a frame of {len} bytes"));
        }
        // Bounded above, so it fits.
        Ok(Some((header, len as usize, b0 & 0x0f)))
    }

    /// Reads until `n` bytes are buffered; false if the stream ended first.
    async fn fill(&mut self, n: usize) -> Result<bool, String> {
        while self.buf.len() < n {
            let spare = self.buf.capacity() - self.buf.len();
            if spare < READ_AT_LEAST.min(n - self.buf.len()) {
                self.buf.reserve((n - self.buf.len()).max(READ_AT_LEAST));
            }
            match self.read.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        Ok(true)
    }

    /// Answers a ping (control payloads are at most 125 bytes).
    async fn pong(&mut self, payload: &[u8]) -> Result<(), String> {
        self.write
            .frame(0x8A, &payload[..payload.len().min(125)])
            .await
    }
}
