//! The media worker: two threads that run every piece of image work for the
//! app and answer through a bounded channel the UI drains each frame.
//!
//! - A bounded job queue (64 jobs). When it is full, [`MediaWorker::submit`]
//!   gives the job back: the texture cache asks again next frame, the app
//!   keeps prepare, spill and copy jobs in its own backlog.
//! - One slot for the viewer's full-resolution decode, served before the
//!   queue: a newer request replaces a waiting one (latest wins), so holding
//!   → skips the images in between.
//! - A queued thumbnail decode whose row scrolled far away is taken out of
//!   the queue ([`MediaWorker::drop_decode`]), so fast scrolling does not
//!   leave the threads busy with rows long gone.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, mpsc};

use bytes::Bytes;

use super::codec::{self, Data, Decoded};
use super::prepare::{SendOptions, prepare_file_with, prepare_with};
use super::privacy::MetadataOutcome;
use super::{Source, TexKey};
use crate::clipboard::{ClipImage, Clipboard};
use crate::repaint::Repaint;
use crate::state::{EntryKey, PreparedImage};
use crate::t;

/// Jobs waiting for a thread.
const QUEUE_JOBS: usize = 64;
/// Results waiting for the UI (a thread waits when it is full).
const DONE_RESULTS: usize = 64;
const THREADS: usize = 2;

/// What to put on the clipboard.
pub enum Copy {
    Text(String),
    Image { name: String, data: Data },
}

pub enum Job {
    Prepare {
        id: String,
        source: Source,
        max_bytes: u64,
        options: SendOptions,
    },
    /// A texture for the timeline or the gallery, `max_side` pixels at most.
    Decode {
        key: TexKey,
        data: Data,
        max_side: u32,
    },
    /// Writes a received image to `path` so memory holds only what is on screen.
    Spill {
        key: EntryKey,
        bytes: Bytes,
        path: PathBuf,
    },
    /// Decodes (for an image) and hands it to the clipboard, which may encode it again.
    Copy {
        clipboard: Arc<dyn Clipboard>,
        what: Copy,
    },
}

/// The viewer's full-resolution decode; `generation` tells a stale answer from the wanted one.
pub struct FullRequest {
    pub generation: u64,
    pub key: EntryKey,
    pub data: Data,
    /// The GPU's largest texture side.
    pub max_side: u32,
}

pub enum Done {
    Prepared {
        id: String,
        result: Result<PreparedImage, String>,
        /// What happened to its metadata (when it could be prepared).
        metadata: Option<MetadataOutcome>,
    },
    Decoded {
        key: TexKey,
        result: Result<Decoded, String>,
    },
    Full {
        generation: u64,
        key: EntryKey,
        result: Result<Decoded, String>,
    },
    Spilled {
        key: EntryKey,
        result: Result<PathBuf, String>,
    },
    /// A sentence for the window: what was copied, or why not.
    Copied(Result<String, String>),
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    full: Option<FullRequest>,
    closed: bool,
}

enum Work {
    Job(Job),
    Full(FullRequest),
}

type Shared = Arc<(Mutex<Queue>, Condvar)>;

/// The threads for image work; dropping it lets them finish the job in hand and exit.
pub struct MediaWorker {
    shared: Shared,
    done: mpsc::Receiver<Done>,
}

impl MediaWorker {
    pub fn spawn(repaint: Repaint) -> Self {
        let shared: Shared = Arc::default();
        let (done_tx, done) = mpsc::sync_channel::<Done>(DONE_RESULTS);
        for n in 0..THREADS {
            let shared = Arc::clone(&shared);
            let done_tx = done_tx.clone();
            let repaint = Arc::clone(&repaint);
            let spawned = std::thread::Builder::new()
                .name(format!("snapwire-media-{n}"))
                .spawn(move || {
                    while let Some(work) = next_work(&shared) {
                        if done_tx.send(run(work)).is_err() {
                            return;
                        }
                        repaint();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start an image worker");
            }
        }
        Self { shared, done }
    }

    /// Queues a job; gives it back when the queue is full (or the threads are gone).
    pub fn submit(&self, job: Job) -> Result<(), Job> {
        let (lock, wake) = &*self.shared;
        let Ok(mut queue) = lock.lock() else {
            return Err(job);
        };
        if queue.closed || queue.jobs.len() >= QUEUE_JOBS {
            return Err(job);
        }
        queue.jobs.push_back(job);
        wake.notify_one();
        Ok(())
    }

    /// Asks for the viewer's image; replaces a request still waiting (latest wins).
    pub fn request_full(&self, request: FullRequest) {
        let (lock, wake) = &*self.shared;
        if let Ok(mut queue) = lock.lock() {
            queue.full = Some(request);
            wake.notify_one();
        }
    }

    /// A queued decode is no longer needed: it leaves the queue unrun.
    pub fn drop_decode(&self, key: TexKey) {
        let (lock, _) = &*self.shared;
        if let Ok(mut queue) = lock.lock() {
            queue
                .jobs
                .retain(|job| !matches!(job, Job::Decode { key: k, .. } if *k == key));
        }
    }

    pub fn try_recv(&self) -> Option<Done> {
        self.done.try_recv().ok()
    }
}

impl Drop for MediaWorker {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        if let Ok(mut queue) = lock.lock() {
            queue.closed = true;
            queue.jobs.clear();
            queue.full = None;
        }
        wake.notify_all();
    }
}

/// Waits for work: the viewer's request first (a person is looking at it), then the queue.
fn next_work(shared: &Shared) -> Option<Work> {
    let (lock, wake) = &**shared;
    let mut queue = lock.lock().ok()?;
    loop {
        if queue.closed {
            return None;
        }
        if let Some(full) = queue.full.take() {
            return Some(Work::Full(full));
        }
        if let Some(job) = queue.jobs.pop_front() {
            return Some(Work::Job(job));
        }
        queue = wake.wait(queue).ok()?;
    }
}

fn display(data: &Data, max_side: u32) -> Result<Decoded, String> {
    data.load()
        .and_then(|bytes| codec::decode_for_display(&bytes, max_side))
        .map_err(|e| e.to_string())
}

fn run(work: Work) -> Done {
    let job = match work {
        Work::Full(request) => {
            return Done::Full {
                generation: request.generation,
                key: request.key,
                result: display(&request.data, request.max_side),
            };
        }
        Work::Job(job) => job,
    };
    match job {
        Job::Prepare {
            id,
            source,
            max_bytes,
            options,
        } => {
            let result = match source {
                Source::File(path) => prepare_file_with(&path, max_bytes, options),
                Source::Bytes { name, bytes } => prepare_with(&name, bytes, max_bytes, options),
                Source::Pasted(image) => codec::encode_png(&image)
                    .and_then(|png| prepare_with("pasted image.png", png, max_bytes, options)),
            };
            let (result, metadata) = match result {
                Ok((prepared, outcome)) => (Ok(prepared), Some(outcome)),
                Err(e) => (Err(e), None),
            };
            Done::Prepared {
                id,
                result,
                metadata,
            }
        }
        Job::Decode {
            key,
            data,
            max_side,
        } => Done::Decoded {
            key,
            result: display(&data, max_side),
        },
        Job::Spill { key, bytes, path } => Done::Spilled {
            key,
            result: std::fs::write(&path, &bytes)
                .map(|()| path)
                .map_err(|e| e.to_string()),
        },
        Job::Copy { clipboard, what } => Done::Copied(copy(clipboard.as_ref(), what)),
    }
}

fn copy(clipboard: &dyn Clipboard, what: Copy) -> Result<String, String> {
    match what {
        Copy::Text(text) => clipboard
            .set_text(&text)
            .map(|()| t!("copy-text-done"))
            .map_err(|e| t!("copy-text-failed", error = e)),
        Copy::Image { name, data } => data
            .load()
            .and_then(|bytes| codec::rgba_pixels(&bytes))
            .map_err(|e| e.to_string())
            .and_then(|(width, height, rgba)| {
                clipboard
                    .set_image(ClipImage {
                        width,
                        height,
                        rgba,
                    })
                    .map(|()| (width, height))
            })
            .map(|(w, h)| t!("copy-image-done", name = &name, size = format!("{w}×{h}")))
            .map_err(|e| t!("copy-image-failed", name = &name, error = e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Bytes {
        let img = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        Bytes::from(out)
    }

    fn wait(worker: &MediaWorker) -> Done {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(done) = worker.try_recv() {
                return done;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the worker answered nothing"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn the_viewer_gets_only_the_newest_of_the_requests_waiting() {
        // No threads: requests only pile up, so which one survives is deterministic.
        let (_tx, done) = mpsc::sync_channel(1);
        let worker = MediaWorker {
            shared: Arc::default(),
            done,
        };
        for generation in 1..=3 {
            worker.request_full(FullRequest {
                generation,
                key: generation,
                data: Data::Memory(png(4, 4)),
                max_side: 64,
            });
        }
        match next_work(&worker.shared) {
            Some(Work::Full(request)) => assert_eq!(request.generation, 3),
            _ => panic!("the viewer's request comes first"),
        }
    }

    #[test]
    fn a_dropped_decode_never_runs_and_a_full_queue_gives_the_job_back() {
        let (_tx, done) = mpsc::sync_channel(1);
        let worker = MediaWorker {
            shared: Arc::default(),
            done,
        };
        for n in 0..QUEUE_JOBS as u64 {
            let job = Job::Decode {
                key: TexKey::Full(n),
                data: Data::Memory(Bytes::new()),
                max_side: 8,
            };
            assert!(worker.submit(job).is_ok());
        }
        let extra = Job::Decode {
            key: TexKey::Full(999),
            data: Data::Memory(Bytes::new()),
            max_side: 8,
        };
        assert!(worker.submit(extra).is_err(), "the queue is bounded");
        worker.drop_decode(TexKey::Full(0));
        match next_work(&worker.shared) {
            Some(Work::Job(Job::Decode { key, .. })) => assert_eq!(key, TexKey::Full(1)),
            _ => panic!("a decode"),
        }
    }

    #[test]
    fn decodes_run_on_the_threads_and_report_back() {
        let worker = MediaWorker::spawn(crate::repaint::nothing());
        worker.request_full(FullRequest {
            generation: 7,
            key: 1,
            data: Data::Memory(png(300, 200)),
            max_side: 100,
        });
        match wait(&worker) {
            Done::Full {
                generation, result, ..
            } => {
                assert_eq!(generation, 7);
                let decoded = result.expect("decoded");
                assert_eq!(decoded.full, [300, 200]);
                assert_eq!(decoded.image.size[0], 100, "fits the largest texture");
            }
            _ => panic!("the full decode"),
        }
    }
}
