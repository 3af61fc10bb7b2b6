//! What a connection's messages mean once it is past `hello`: texts, image uploads
//! (validated, streamed to the room as they arrive, written to retention, verified),
//! cancels and receipts. Every client mistake becomes an error value, never a panic.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::budget::{Class, charge};
use crate::feeder;
use crate::group_commit;
use crate::guard::Rate;
use crate::outbox::Outbox;
use crate::protocol::{
    CancelReason, ClientHeader, ClientMessage, ErrorCode, Hello, ImageBegin, ImageFormat,
    ProtocolError, RelayHeader, RelayImageBegin, User, decode_frame, encode_frame, validate,
};
use crate::room::{ConnId, Joining, Room, Sid, error_frame};
use crate::rooms::RoomLease;
use crate::shared::Shared;
use crate::store::{Committed, Content, ImageMeta, NewItem, StoreError, Upload};

/// What the connection does after a message.
#[derive(Debug)]
pub enum Step {
    Continue,
    Fatal(ProtocolError),
}

/// Room for a relayed chunk's header (prefix and JSON) beside its body, reserved
/// before the frame is built.
const CHUNK_HEADER_ROOM: usize = 128;

/// How many failed or deduplicated item ids a connection remembers, so that their
/// later chunks are dropped silently (an older one would get `unknown_item`).
const DROPPED_IDS: usize = 1024;

struct InFlight {
    sid: Sid,
    /// When the latest chunk (or the begin) arrived: an upload that makes no
    /// progress for `upload_timeout` is cancelled.
    progress: Instant,
    begin: ImageBegin,
    format: ImageFormat,
    name: String,
    preview: Bytes,
    ts: u64,
    received: u64,
    started: bool,
    upload: Pending,
}

/// An upload's sink, or the write of its latest chunk still under way on a blocking
/// thread. One write at a time keeps the bytes in order; not waiting for it lets the
/// next chunk be read and forwarded while this one is hashed and stored.
enum Pending {
    Ready(Upload),
    Writing(tokio::task::JoinHandle<Result<Upload, StoreError>>),
    /// Only transiently, or after a blocking task was lost.
    Lost,
}

impl Pending {
    /// Waits for the write under way, if any, and hands back the upload.
    async fn settle(&mut self) -> Result<Upload, String> {
        match std::mem::replace(self, Pending::Lost) {
            Pending::Ready(upload) => Ok(upload),
            Pending::Writing(write) => match write.await {
                Ok(Ok(upload)) => Ok(upload),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Pending::Lost => Err("the upload was lost".to_owned()),
        }
    }
}

pub struct Session {
    conn: ConnId,
    user: User,
    client_key: String,
    room: Arc<Room>,
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    uploads: HashMap<String, InFlight>,
    dropped: DroppedIds,
    bucket: TokenBucket,
    /// Receipts this connection may still send; past it they are dropped.
    receipts: TokenBucket,
    /// The source address, for the per-host limits.
    host: IpAddr,
    feeder_stop: CancellationToken,
    /// Awaited when the session ends, so that a stopped relay holds nothing
    /// (its data directory's lock included) once its connections are gone.
    feeder: Option<tokio::task::JoinHandle<()>>,
    /// Last: dropped after `room` and the feeder, it lets the room leave RAM.
    _lease: RoomLease,
}

impl Session {
    /// Joins the room named in `hello`: queues `welcome`, starts the history feeder.
    pub async fn start(
        conn: ConnId,
        peer: SocketAddr,
        hello: Hello,
        outbox: Arc<Outbox>,
        shared: Arc<Shared>,
    ) -> Result<Session, ProtocolError> {
        // Every join is a `joined` and a `left` to everyone in the room.
        if !shared.guard.join(peer.ip()) {
            return Err(ProtocolError::new(
                ErrorCode::RateLimited,
                "this host joins rooms too often; retry in a few seconds",
            ));
        }
        // Taken before the room is, so that a room loaded here is let go even if
        // the join fails below.
        let lease = RoomLease::new(hello.room.clone(), shared.clone());
        let room = {
            let shared = shared.clone();
            let name = hello.room.clone();
            tokio::task::spawn_blocking(move || shared.room(&name))
                .await
                .map_err(|e| storage_error(&e.to_string()))?
                .map_err(|e| match e {
                    StoreError::TooManyRooms(_) => {
                        ProtocolError::new(ErrorCode::BadRoom, format!("{e}: join one of them"))
                    }
                    e => storage_error(&e.to_string()),
                })?
        };
        let user = User {
            id: validate::user_id(&hello.client),
            name: hello.name,
        };
        let client_key = hex::encode(Sha256::digest(hello.client.as_bytes()));
        let feeder_wake = Arc::new(Notify::new());
        room.join(Joining {
            conn,
            user: user.clone(),
            client_key: client_key.clone(),
            outbox: outbox.clone(),
            feeder: feeder_wake.clone(),
            since: hello.since,
        });
        let feeder_stop = CancellationToken::new();
        let feeder = tokio::spawn(
            feeder::run(
                room.clone(),
                conn,
                outbox.clone(),
                feeder_wake,
                shared.clone(),
                feeder_stop.clone(),
            )
            .in_current_span(),
        );
        let rate = shared.config.max_items_per_sec;
        let receipts = TokenBucket::of(shared.config.receipts);
        Ok(Session {
            conn,
            user,
            client_key,
            room,
            outbox,
            shared,
            uploads: HashMap::new(),
            dropped: DroppedIds::default(),
            bucket: TokenBucket::new(rate),
            receipts,
            host: peer.ip(),
            feeder_stop,
            feeder: Some(feeder),
            _lease: lease,
        })
    }

    pub fn room_name(&self) -> &str {
        &self.room.name
    }

    pub fn user_name(&self) -> &str {
        &self.user.name
    }

    /// Handles one message. Non-fatal errors are answered here.
    pub async fn handle(&mut self, bytes: Bytes) -> Step {
        let frame = match decode_frame(bytes) {
            Ok(frame) => frame,
            Err(err) => return Step::Fatal(err),
        };
        if frame.kind == "hello" {
            let err = ProtocolError::new(
                ErrorCode::BadHeader,
                "hello was already received on this connection",
            );
            self.reply_error(&err);
            return Step::Continue;
        }
        let message = match ClientMessage::parse(frame) {
            Ok(message) => message,
            Err(err) if err.code.is_fatal() => return Step::Fatal(err),
            Err(err) => {
                if let Some(id) = &err.id {
                    self.fail_upload(id, None);
                }
                self.reply_error(&err);
                return Step::Continue;
            }
        };
        let result = match message.header {
            ClientHeader::Hello(_) => Ok(()), // answered above
            ClientHeader::Text { id } => self.text(id, message.body).await,
            ClientHeader::ImageBegin(begin) => self.image_begin(begin, message.body).await,
            ClientHeader::ImageChunk { id, offset } => {
                self.image_chunk(id, offset, message.body).await
            }
            ClientHeader::ImageEnd { id } => self.image_end(id).await,
            ClientHeader::Cancel { id } => self.cancel(id),
            ClientHeader::Receipt { seq } => {
                // Best effort by contract: past the rate they are dropped.
                if self.receipts.take() {
                    self.room.receipt(&self.user, seq);
                }
                Ok(())
            }
        };
        if let Err(err) = result {
            self.reply_error(&err);
        }
        Step::Continue
    }

    fn reply_error(&self, err: &ProtocolError) {
        self.shared.metrics.error(err.code);
        if self.outbox.push_control(error_frame(err)).is_err() {
            crate::room::close_slow(&self.outbox, &self.shared.metrics, "the queue is full");
        }
    }

    /// Answers a re-sent item with its original ack; true when it was a duplicate.
    fn ack_if_retained(&self, id: &str) -> bool {
        let Some((seq, ts)) = self.room.store.find(&self.client_key, id) else {
            return false;
        };
        let ack = encode_frame(
            &RelayHeader::Ack {
                id: id.to_owned(),
                seq,
                ts,
            },
            &[],
        );
        let _ = self.outbox.push_control(ack);
        true
    }

    /// The connection's own rate, then its host's (items and bytes a minute across
    /// all rooms, so one host cannot push a room's history out in seconds).
    fn check_rate(&mut self, id: &str, bytes: u64) -> Result<(), ProtocolError> {
        if !self.bucket.take() {
            return Err(ProtocolError::new(
                ErrorCode::RateLimited,
                format!(
                    "more than {} items per second; retry later",
                    self.shared.config.max_items_per_sec
                ),
            )
            .with_id(id));
        }
        if let Err(wait) = self.shared.guard.item(self.host, bytes) {
            return Err(ProtocolError::new(
                ErrorCode::RateLimited,
                format!(
                    "this host sends more than the relay allows a minute; retry in {} s",
                    wait.as_secs().max(1)
                ),
            )
            .with_id(id));
        }
        Ok(())
    }

    async fn text(&mut self, id: String, body: Bytes) -> Result<(), ProtocolError> {
        if self.uploads.contains_key(&id) {
            // The error names an image in flight, so that image has failed too.
            self.fail_upload(&id, Some(CancelReason::Cancelled));
            return Err(in_flight(&id));
        }
        if self.ack_if_retained(&id) {
            return Ok(());
        }
        let max = self.shared.config.max_text_bytes;
        if body.len() > max {
            return Err(ProtocolError::new(
                ErrorCode::TooLarge,
                format!("the text is {} bytes, the limit is {max}", body.len()),
            )
            .with_id(id));
        }
        self.check_rate(&id, body.len() as u64)?;
        match std::str::from_utf8(&body) {
            Ok(text) if !text.trim().is_empty() => {}
            Ok(_) => {
                return Err(ProtocolError::new(ErrorCode::BadText, "the text is empty").with_id(id));
            }
            Err(_) => {
                return Err(
                    ProtocolError::new(ErrorCode::BadText, "the text is not valid UTF-8")
                        .with_id(id),
                );
            }
        }
        // Retention keeps its own copy: the message's bytes are charged to the
        // memory budget (`metered.rs`) until they are dropped.
        let new = self.new_item(id.clone(), Content::Text(Bytes::copy_from_slice(&body)));
        self.commit(new, None, None)
            .await
            .map_err(|e| e.with_id(id))?;
        self.shared.metrics.texts_completed.fetch_add(1, Relaxed);
        Ok(())
    }

    fn new_item(&self, item_id: String, content: Content) -> NewItem {
        NewItem {
            from: self.user.clone(),
            client_key: self.client_key.clone(),
            item_id,
            content,
        }
    }

    /// Makes an item durable, then fans it out, with the other items of the room
    /// completing now (group commit; completions reach every connection in seq order).
    async fn commit(
        &self,
        new: NewItem,
        upload: Option<Upload>,
        sid: Option<Sid>,
    ) -> Result<(), ProtocolError> {
        let item_id = new.item_id.clone();
        let all = self.shared.store.clone();
        let metrics = self.shared.metrics.clone();
        // All rooms together stay within the history budget: the oldest items of
        // the largest rooms go (never this item: a room keeps its newest).
        let after_batch = Arc::new(move || {
            let pruned = all.enforce_budget();
            metrics.budget_prunes.fetch_add(pruned as u64, Relaxed);
        });
        let committed = group_commit::commit(&self.room, new, upload, self.conn, sid, after_batch)
            .await
            .map_err(|e| storage_error(&e.to_string()));
        match committed {
            Ok(Committed::New(_)) => Ok(()),
            Ok(Committed::Existing(_)) => {
                // Another connection of this client completed the same item meanwhile.
                self.ack_if_retained(&item_id);
                if let Some(sid) = sid {
                    self.room.cancel_stream(sid, CancelReason::Cancelled);
                }
                Ok(())
            }
            Err(err) => {
                tracing::error!(error = %err.message, "could not retain an item");
                if let Some(sid) = sid {
                    self.room.cancel_stream(sid, CancelReason::Storage);
                }
                Err(err)
            }
        }
    }

    async fn image_begin(
        &mut self,
        begin: ImageBegin,
        preview: Bytes,
    ) -> Result<(), ProtocolError> {
        let id = begin.id.clone();
        if self.uploads.contains_key(&id) {
            // The error names an image in flight, so that image has failed too.
            self.fail_upload(&id, Some(CancelReason::Cancelled));
            return Err(in_flight(&id));
        }
        if self.ack_if_retained(&id) {
            self.dropped.insert(id);
            return Ok(());
        }
        let result = self.check_image_begin(&begin, &preview);
        if let Err(err) = result {
            self.dropped.insert(id);
            return Err(err);
        }
        let format = ImageFormat::from_mime(&begin.mime).unwrap_or(ImageFormat::Png);
        let store = self.room.store.clone();
        let upload = tokio::task::spawn_blocking(move || store.begin_upload())
            .await
            .map_err(|e| storage_error(&e.to_string()))
            .and_then(|r| r.map_err(|e| storage_error(&e.to_string())));
        let upload = match upload {
            Ok(upload) => upload,
            Err(err) => {
                self.dropped.insert(id.clone());
                return Err(err.with_id(id));
            }
        };
        let name = validate::file_display_name(&begin.name, format);
        // A retry of an id that failed earlier on this connection is a new attempt.
        self.dropped.remove(&id);
        self.uploads.insert(
            id,
            InFlight {
                sid: self.shared.next_sid(),
                progress: Instant::now(),
                begin,
                format,
                name,
                preview,
                ts: now_ms(),
                received: 0,
                started: false,
                upload: Pending::Ready(upload),
            },
        );
        Ok(())
    }

    fn check_image_begin(
        &mut self,
        begin: &ImageBegin,
        preview: &[u8],
    ) -> Result<(), ProtocolError> {
        let id = &begin.id;
        let max = self.shared.config.max_image_bytes;
        if begin.size > max {
            return Err(ProtocolError::new(
                ErrorCode::TooLarge,
                format!(
                    "the image is {}, the limit is {}",
                    megabytes(begin.size),
                    megabytes(max)
                ),
            )
            .with_id(id));
        }
        let max_uploads = self.shared.config.max_uploads;
        if self.uploads.len() >= max_uploads {
            return Err(ProtocolError::new(
                ErrorCode::TooManyUploads,
                format!("at most {max_uploads} images may be in flight at once"),
            )
            .with_id(id));
        }
        if !self.shared.store.upload_fits(begin.size) {
            return Err(storage_error(
                "its uploads in progress already fill the relay's history budget; retry later",
            )
            .with_id(id));
        }
        self.check_rate(id, begin.size)?;
        if !preview.is_empty() {
            validate::preview(preview).map_err(|e| e.with_id(id))?;
        }
        Ok(())
    }

    /// Drops a failed upload: receivers get `image_cancel`, later chunks are ignored.
    fn fail_upload(&mut self, id: &str, reason: Option<CancelReason>) {
        if let Some(flight) = self.uploads.remove(id)
            && flight.started
        {
            self.room
                .cancel_stream(flight.sid, reason.unwrap_or(CancelReason::Cancelled));
        }
        self.dropped.insert(id.to_owned());
    }

    /// Whether `id` names an upload in flight; `Ok(false)` means "failed earlier:
    /// drop silently", an id never begun is `unknown_item`.
    fn known_upload(&self, id: &str) -> Result<bool, ProtocolError> {
        if self.uploads.contains_key(id) {
            return Ok(true);
        }
        if self.dropped.contains(id) {
            return Ok(false);
        }
        Err(ProtocolError::new(
            ErrorCode::UnknownItem,
            "no image with this id was begun on this connection",
        )
        .with_id(id))
    }

    /// What is wrong with this chunk, if anything.
    fn check_chunk(
        &self,
        flight: &InFlight,
        id: &str,
        offset: u64,
        body: &[u8],
    ) -> Option<ProtocolError> {
        let max_chunk = self.shared.config.max_chunk_bytes;
        let bad_chunk =
            |why: String| Some(ProtocolError::new(ErrorCode::BadChunk, why).with_id(id));
        if offset != flight.received {
            return bad_chunk(format!("expected offset {}, got {offset}", flight.received));
        }
        if body.is_empty() || body.len() > max_chunk {
            return bad_chunk(format!(
                "a chunk carries 1 to {max_chunk} bytes, this one {}",
                body.len()
            ));
        }
        if flight.received + body.len() as u64 > flight.begin.size {
            return bad_chunk(format!(
                "the image runs past its size of {} bytes",
                flight.begin.size
            ));
        }
        let needed = flight.begin.size.min(12) as usize;
        if flight.received == 0 && (body.len() < needed || !flight.format.matches_signature(body)) {
            return Some(
                ProtocolError::new(
                    ErrorCode::BadImage,
                    format!("the data is not a {} image", flight.format.mime()),
                )
                .with_id(id),
            );
        }
        None
    }

    async fn image_chunk(
        &mut self,
        id: String,
        offset: u64,
        body: Bytes,
    ) -> Result<(), ProtocolError> {
        if !self.known_upload(&id)? {
            return Ok(());
        }
        let problem = self
            .uploads
            .get(&id)
            .and_then(|flight| self.check_chunk(flight, &id, offset, &body));
        if let Some(err) = problem {
            let reason = (err.code == ErrorCode::BadChunk).then_some(CancelReason::BadChunk);
            self.fail_upload(&id, reason);
            return Err(err);
        }
        let Some(flight) = self.uploads.get_mut(&id) else {
            return Ok(());
        };
        // Pacing and the memory budget: this sender's next message is not read
        // until the room's fastest receivers have drained and the relayed copy fits
        // (PROTOCOL.md, "Flow control").
        if flight.started {
            self.room.pace(flight.sid, &self.shared.shutdown).await;
        }
        let reservation = self
            .shared
            .budget
            .reserve(body.len() + CHUNK_HEADER_ROOM, Class::Bulk)
            .await;
        let mut chunk = encode_frame(
            &RelayHeader::ImageChunk {
                sid: flight.sid,
                offset,
            },
            &body,
        );
        let mut reservation = reservation;
        reservation.shrink_to(chunk.len());
        chunk = charge(chunk, reservation);
        if flight.started {
            self.room.stream_chunk(flight.sid, chunk);
        } else {
            let begin = self.shared.budget.charge_now(encode_frame(
                &RelayHeader::ImageBegin(RelayImageBegin {
                    sid: flight.sid,
                    ts: flight.ts,
                    from: self.user.clone(),
                    name: flight.name.clone(),
                    mime: flight.begin.mime.clone(),
                    size: flight.begin.size,
                    sha256: flight.begin.sha256.clone(),
                    width: flight.begin.width,
                    height: flight.begin.height,
                    history: false,
                }),
                &flight.preview,
            ));
            self.room.start_stream(self.conn, flight.sid, begin, chunk);
            flight.started = true;
        }
        flight.received += body.len() as u64;
        flight.progress = Instant::now();
        self.shared
            .metrics
            .image_bytes_received
            .fetch_add(body.len() as u64, Relaxed);

        // The previous chunk's write ends before this one's starts; this one runs on
        // while the connection reads the next chunk.
        match flight.upload.settle().await {
            Ok(mut upload) => {
                flight.upload = Pending::Writing(tokio::task::spawn_blocking(move || {
                    upload.write(&body).map(|()| upload)
                }));
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "could not write an upload");
                self.fail_upload(&id, Some(CancelReason::Storage));
                Err(storage_error(&e).with_id(id))
            }
        }
    }

    async fn image_end(&mut self, id: String) -> Result<(), ProtocolError> {
        if !self.known_upload(&id)? {
            return Ok(());
        }
        let Some(flight) = self.uploads.get(&id) else {
            return Ok(());
        };
        if flight.received != flight.begin.size {
            let err = ProtocolError::new(
                ErrorCode::BadChunk,
                format!(
                    "received {} of {} bytes",
                    flight.received, flight.begin.size
                ),
            )
            .with_id(id.clone());
            self.fail_upload(&id, Some(CancelReason::BadChunk));
            return Err(err);
        }
        let Some(mut flight) = self.uploads.remove(&id) else {
            return Ok(());
        };
        let upload = match flight.upload.settle().await {
            Ok(upload) => upload,
            Err(e) => {
                tracing::error!(error = %e, "could not write an upload");
                if flight.started {
                    self.room.cancel_stream(flight.sid, CancelReason::Storage);
                }
                self.dropped.insert(id.clone());
                return Err(storage_error(&e).with_id(id));
            }
        };
        if upload.sha256_hex() != flight.begin.sha256 {
            if flight.started {
                self.room.cancel_stream(flight.sid, CancelReason::BadHash);
            }
            self.dropped.insert(id.clone());
            return Err(ProtocolError::new(
                ErrorCode::BadHash,
                "the bytes do not match the announced SHA-256",
            )
            .with_id(id));
        }
        let size = flight.begin.size;
        let content = Content::Image(ImageMeta {
            name: flight.name,
            mime: flight.begin.mime,
            size,
            sha256: flight.begin.sha256,
            width: flight.begin.width,
            height: flight.begin.height,
            preview: Bytes::copy_from_slice(&flight.preview),
        });
        let new = self.new_item(id.clone(), content);
        if let Err(err) = self.commit(new, Some(upload), Some(flight.sid)).await {
            self.dropped.insert(id.clone());
            return Err(err.with_id(id));
        }
        self.shared.metrics.images_completed.fetch_add(1, Relaxed);
        Ok(())
    }

    /// When the upload that has gone longest without progress times out, if any.
    pub fn upload_deadline(&self) -> Option<tokio::time::Instant> {
        let oldest = self.uploads.values().map(|f| f.progress).min()?;
        Some(tokio::time::Instant::from_std(
            oldest + self.shared.config.upload_timeout,
        ))
    }

    /// Cancels every upload that made no progress for `upload_timeout`: receivers
    /// get `image_cancel`, the sender an error naming it, the temp file goes (with
    /// the upload), later chunks are dropped silently.
    pub fn expire_uploads(&mut self) {
        let timeout = self.shared.config.upload_timeout;
        let now = Instant::now();
        let stalled: Vec<String> = self
            .uploads
            .iter()
            .filter(|(_, f)| now.duration_since(f.progress) >= timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in stalled {
            tracing::info!(id, "upload made no progress: cancelled");
            self.shared.metrics.uploads_timed_out.fetch_add(1, Relaxed);
            self.fail_upload(&id, Some(CancelReason::Cancelled));
            let err = ProtocolError::new(
                ErrorCode::BadChunk,
                format!(
                    "no data for {} s: the upload is cancelled",
                    timeout.as_secs()
                ),
            )
            .with_id(id);
            self.reply_error(&err);
        }
    }

    fn cancel(&mut self, id: String) -> Result<(), ProtocolError> {
        if !self.known_upload(&id)? {
            return Ok(());
        }
        self.fail_upload(&id, Some(CancelReason::Cancelled));
        Ok(())
    }

    /// The connection is over: cancel its uploads to receivers, leave the room.
    pub async fn end(&mut self, shutdown: bool) {
        let reason = if shutdown {
            CancelReason::ServerShutdown
        } else {
            CancelReason::SenderLeft
        };
        for (_, flight) in self.uploads.drain() {
            if flight.started {
                self.room.cancel_stream(flight.sid, reason);
            }
        }
        self.feeder_stop.cancel();
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.await;
        }
        self.room.leave(self.conn);
    }
}

fn in_flight(id: &str) -> ProtocolError {
    ProtocolError::new(ErrorCode::BadHeader, "an item with this id is in flight").with_id(id)
}

fn storage_error(why: &str) -> ProtocolError {
    ProtocolError::new(
        ErrorCode::Storage,
        format!("the relay could not store the item: {why}"),
    )
}

/// Sizes in the unit the limits are set in (`--max-image-mb` counts MiB).
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Ids whose later chunks are dropped silently, the oldest forgotten first.
#[derive(Default)]
struct DroppedIds {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl DroppedIds {
    fn insert(&mut self, id: String) {
        if self.set.insert(id.clone()) {
            self.order.push_back(id);
            if self.order.len() > DROPPED_IDS
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    fn remove(&mut self, id: &str) {
        if self.set.remove(id) {
            self.order.retain(|old| old != id);
        }
    }
}

/// A rate with bursts (items: per second, bursts of twice that).
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(per_sec: u32) -> Self {
        let rate = f64::from(per_sec.max(1));
        Self::of(Rate {
            per_sec: rate,
            burst: rate * 2.0,
        })
    }

    fn of(rate: Rate) -> Self {
        Self {
            rate: rate.per_sec,
            burst: rate.burst,
            tokens: rate.burst,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
