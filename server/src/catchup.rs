//! Shared catch-up: the members of a room that replay history or catch up after
//! lagging read retention through one [`CatchUp`], so each chunk is read once and
//! its frame shared by every member that needs it while any still holds it, and
//! kept a moment longer (`catchup_linger`) for members a little further behind.
//! Relay memory does not grow with the number of receivers behind.
//!
//! Catch-up deliveries of an item share one `sid` (fresh, never used live; each
//! connection gets an item once, so it stays unique on every connection), which is
//! what makes their chunk frames identical.
//!
//! Every read-back is checked against the item's SHA-256: the first in-order read
//! of an item hashes it as it goes; a delivery whose chunks all came from that
//! chain ends with its verdict, any other is verified by a full re-read. A damaged
//! item is cancelled (`storage`), never ended as if whole.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::budget::{Budget, Class, Relief, Reservation};
use crate::protocol::{RelayHeader, encode_frame};
use crate::room::Sid;
use crate::store::{Content, Item, RoomStore, StoreError};

/// One room's shared reads.
pub struct CatchUp {
    store: Arc<RoomStore>,
    budget: Arc<Budget>,
    linger: Duration,
    inner: Mutex<Inner>,
    /// Items found damaged on read-back.
    pub damaged: AtomicU64,
    /// A task sweeps `recent` while it holds anything.
    sweeping: AtomicBool,
}

#[derive(Default)]
struct Inner {
    items: HashMap<u64, (Arc<ItemRead>, Instant)>,
    /// Frames kept after their last use, oldest first, and their bytes.
    recent: VecDeque<(Instant, Arc<FrameOwner>)>,
    recent_bytes: usize,
}

/// A chunk frame, charged to the budget for as long as it lives.
struct FrameOwner {
    frame: Bytes,
    /// Hashed into its item's chain when read.
    chained: bool,
    _reservation: Reservation,
}

struct OwnerRef(Arc<FrameOwner>);

impl AsRef<[u8]> for OwnerRef {
    fn as_ref(&self) -> &[u8] {
        &self.0.frame
    }
}

/// The catch-up deliveries of one item.
pub struct ItemRead {
    pub item: Arc<Item>,
    pub sid: Sid,
    size: u64,
    chunk_bytes: u64,
    slots: Vec<tokio::sync::Mutex<Weak<FrameOwner>>>,
    chain: Mutex<Chain>,
}

struct Chain {
    hasher: Sha256,
    upto: u64,
    verdict: Option<bool>,
}

/// One chunk frame, and whether it came from the item's hash chain.
pub struct Chunk {
    pub frame: Bytes,
    pub chained: bool,
}

impl CatchUp {
    pub fn new(store: Arc<RoomStore>, budget: Arc<Budget>, linger: Duration) -> Self {
        Self {
            store,
            budget,
            linger,
            inner: Mutex::new(Inner::default()),
            damaged: AtomicU64::new(0),
            sweeping: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frames kept after use: at most an eighth of the budget.
    fn recent_cap(&self) -> usize {
        self.budget.limit() / 8
    }

    /// The shared reads of image `item`, with chunks of `chunk_bytes`; `sid` names
    /// its deliveries the first time.
    pub fn item(
        &self,
        item: &Arc<Item>,
        chunk_bytes: usize,
        sid: impl FnOnce() -> Sid,
    ) -> Arc<ItemRead> {
        let now = Instant::now();
        let mut inner = self.lock();
        self.sweep(&mut inner, now);
        let entry = inner.items.entry(item.seq).or_insert_with(|| {
            let size = match &item.content {
                Content::Image(image) => image.size,
                Content::Text(_) => 0,
            };
            let chunk_bytes = chunk_bytes.max(1) as u64;
            let count = size.div_ceil(chunk_bytes) as usize;
            let read = ItemRead {
                item: item.clone(),
                sid: sid(),
                size,
                chunk_bytes,
                slots: (0..count)
                    .map(|_| tokio::sync::Mutex::new(Weak::new()))
                    .collect(),
                chain: Mutex::new(Chain {
                    hasher: Sha256::new(),
                    upto: 0,
                    verdict: None,
                }),
            };
            (Arc::new(read), now)
        });
        entry.1 = now;
        entry.0.clone()
    }

    /// Drops what has lingered long enough, what exceeds the cap, and the items
    /// nobody delivers any more.
    fn sweep(&self, inner: &mut Inner, now: Instant) {
        let cap = self.recent_cap();
        while let Some((at, owner)) = inner.recent.front() {
            if now.duration_since(*at) < self.linger && inner.recent_bytes <= cap {
                break;
            }
            inner.recent_bytes -= owner.frame.len();
            inner.recent.pop_front();
        }
        let pruned = self.store.pruned_through();
        let linger = self.linger;
        inner.items.retain(|seq, (read, used)| {
            *seq > pruned && (Arc::strong_count(read) > 1 || now.duration_since(*used) < linger)
        });
    }

    /// Chunk `index` of `read`: shared if someone holds it, read from retention
    /// otherwise (off the async workers, charged to the budget before reading).
    pub async fn chunk(
        self: &Arc<Self>,
        read: &ItemRead,
        index: usize,
    ) -> Result<Chunk, StoreError> {
        let slot = read.slots.get(index).ok_or_else(|| {
            StoreError::Corrupt(format!("chunk {index} of item {}", read.item.seq))
        })?;
        let mut held = slot.lock().await;
        if let Some(owner) = held.upgrade() {
            let chained = owner.chained;
            return Ok(Chunk {
                frame: Bytes::from_owner(OwnerRef(owner)),
                chained,
            });
        }
        let offset = index as u64 * read.chunk_bytes;
        let len = read.chunk_bytes.min(read.size - offset) as usize;
        let head = encode_frame(
            &RelayHeader::ImageChunk {
                sid: read.sid,
                offset,
            },
            &[],
        );
        let mut reservation = self.budget.reserve(head.len() + len, Class::Bulk).await;
        let store = self.store.clone();
        let item = read.item.clone();
        let frame = tokio::task::spawn_blocking(move || {
            let mut frame = Vec::with_capacity(head.len() + len);
            frame.extend_from_slice(&head);
            frame.resize(head.len() + len, 0);
            store
                .read_image_into(&item, offset, &mut frame[head.len()..])
                .map(|()| (frame, head.len()))
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("reading retention: {e}")))??;
        let (frame, head_len) = frame;
        reservation.shrink_to(frame.len());
        let chained = read.hash(offset, &frame[head_len..]);
        let owner = Arc::new(FrameOwner {
            frame: Bytes::from(frame),
            chained,
            _reservation: reservation,
        });
        *held = Arc::downgrade(&owner);
        self.keep(owner.clone());
        Ok(Chunk {
            frame: Bytes::from_owner(OwnerRef(owner)),
            chained,
        })
    }

    /// Keeps a frame for `linger` after it was read.
    fn keep(self: &Arc<Self>, owner: Arc<FrameOwner>) {
        let now = Instant::now();
        {
            let mut inner = self.lock();
            inner.recent_bytes += owner.frame.len();
            inner.recent.push_back((now, owner));
            self.sweep(&mut inner, now);
        }
        if !self.sweeping.swap(true, SeqCst) {
            tokio::spawn(sweeper(Arc::downgrade(self)));
        }
    }

    /// Whether the item delivered from `read` is whole: the chain's verdict when
    /// every chunk came from it, else a full re-read (off the async workers).
    pub async fn verify(&self, read: &ItemRead, all_chained: bool) -> Result<bool, StoreError> {
        if all_chained && let Some(verdict) = read.verdict() {
            return Ok(verdict);
        }
        let store = self.store.clone();
        let item = read.item.clone();
        tokio::task::spawn_blocking(move || store.verify_image(&item))
            .await
            .map_err(|e| StoreError::Corrupt(format!("verifying retention: {e}")))?
    }
}

/// Lets go of lingering frames once their time is up, so an idle room holds
/// nothing; ends when nothing lingers (the next read starts another).
async fn sweeper(cache: Weak<CatchUp>) {
    loop {
        let Some(linger) = cache.upgrade().map(|c| c.linger) else {
            return;
        };
        tokio::time::sleep(linger.min(Duration::from_secs(1))).await;
        let Some(cache) = cache.upgrade() else {
            return;
        };
        let mut inner = cache.lock();
        cache.sweep(&mut inner, Instant::now());
        if inner.recent.is_empty() {
            cache.sweeping.store(false, SeqCst);
            return;
        }
    }
}

impl ItemRead {
    /// Chunks of this item.
    pub fn chunks(&self) -> usize {
        self.slots.len()
    }

    /// Hashes bytes read at `offset` if they extend the chain; true if they did.
    fn hash(&self, offset: u64, bytes: &[u8]) -> bool {
        let mut chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
        if chain.upto != offset || chain.verdict.is_some() {
            return false;
        }
        chain.hasher.update(bytes);
        chain.upto += bytes.len() as u64;
        if chain.upto == self.size {
            let sha = hex::encode(chain.hasher.clone().finalize());
            let expected = match &self.item.content {
                Content::Image(image) => image.sha256.as_str(),
                Content::Text(_) => "",
            };
            chain.verdict = Some(sha.eq_ignore_ascii_case(expected));
        }
        true
    }

    fn verdict(&self) -> Option<bool> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner()).verdict
    }
}

impl Relief for CatchUp {
    /// The budget is exhausted: let go of every frame kept only for later readers.
    fn relieve(&self) {
        let mut inner = self.lock();
        inner.recent.clear();
        inner.recent_bytes = 0;
    }
}
