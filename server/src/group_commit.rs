//! The room's queue of completed items waiting to be made durable (group commit).
//!
//! Whoever finds no commit under way becomes the room's committer: it takes every
//! item queued so far, has the store make them durable together
//! (`RoomStore::commit_batch`, off the async workers), fans each out in seq order
//! ([`Room::complete`]: the ack, then the relay to the room), answers each waiting
//! session, and goes on while more arrived meanwhile. An item is acked and relayed
//! only once it is durable, exactly as with one commit at a time; what is shared
//! is the wait for the disk.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::room::{ConnId, Room, Sid};
use crate::store::{Committed, NewItem, StoreError, Upload};

/// Items queued for the next batch of one room.
#[derive(Default)]
pub struct CommitQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    jobs: Vec<Job>,
    /// A committer task is running.
    leading: bool,
}

struct Job {
    new: NewItem,
    upload: Option<Upload>,
    origin: ConnId,
    sid: Option<Sid>,
    after_batch: AfterBatch,
    done: oneshot::Sender<Result<Committed, StoreError>>,
}

/// Run on the blocking thread after each batch is durable (the relay-wide history
/// budget is enforced there).
pub type AfterBatch = Arc<dyn Fn() + Send + Sync>;

impl CommitQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Makes `new` durable in `room` with whatever else completes now, then fans it
/// out: `origin` gets the ack, live stream `sid` (if any) its `image_end`.
pub async fn commit(
    room: &Arc<Room>,
    new: NewItem,
    upload: Option<Upload>,
    origin: ConnId,
    sid: Option<Sid>,
    after_batch: AfterBatch,
) -> Result<Committed, StoreError> {
    let (done, result) = oneshot::channel();
    let lead = {
        let mut queue = room.commits.lock();
        queue.jobs.push(Job {
            new,
            upload,
            origin,
            sid,
            after_batch,
            done,
        });
        !std::mem::replace(&mut queue.leading, true)
    };
    if lead {
        // Its own task: a session that goes away mid-commit never strands the room.
        tokio::spawn(run_committer(room.clone()));
    }
    result
        .await
        .unwrap_or_else(|_| Err(StoreError::Corrupt("the commit was lost".to_owned())))
}

async fn run_committer(room: Arc<Room>) {
    loop {
        let jobs = {
            let mut queue = room.commits.lock();
            if queue.jobs.is_empty() {
                queue.leading = false;
                return;
            }
            std::mem::take(&mut queue.jobs)
        };
        let mut work = Vec::with_capacity(jobs.len());
        let mut waiting = Vec::with_capacity(jobs.len());
        let after_batch = jobs.first().map(|job| job.after_batch.clone());
        for job in jobs {
            work.push((job.new, job.upload));
            waiting.push((job.origin, job.sid, job.done));
        }
        let store = room.store.clone();
        let count = work.len();
        let commit = move || {
            let results = store.commit_batch(work);
            if let Some(after_batch) = after_batch {
                after_batch();
            }
            results
        };
        let results = match tokio::task::spawn_blocking(commit).await {
            Ok(results) => results,
            Err(e) => (0..count)
                .map(|_| Err(StoreError::Corrupt(format!("the commit failed: {e}"))))
                .collect(),
        };
        for (result, (origin, sid, done)) in results.into_iter().zip(waiting) {
            if let Ok(Committed::New(item)) = &result {
                room.complete(item, origin, sid);
            }
            let _ = done.send(result);
        }
    }
}
