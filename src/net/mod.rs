//! The network worker: a tokio runtime on its own thread that keeps one
//! WebSocket connection to the relay, reconnects with jittered backoff
//! (1 s → 30 s) and resumes with `since`, sends what the UI asks in order, and
//! turns relay messages into model [`Event`]s.
//!
//! - [`outgoing`]: what we send, in order, cut into frames (pure).
//! - [`incoming`]: images arriving in chunks, reassembled and hash-checked.
//! - [`connection`]: one connection: hello, welcome, the read/write loop.
//! - here: the UI's handle and the reconnect loop.
//! - [`fuzzing`] (hidden): a session stepped by hand with no socket, for the fuzz target.
//!
//! Channels, both bounded: commands from the UI (256; when full the UI gets
//! [`SendError::Full`] and says so on the item) and events to the UI (1024;
//! when full the worker waits, which slows reading from the relay: the
//! relay's per-receiver queue absorbs it). Items sent while offline wait in
//! the worker's queue and go out after reconnecting with the same ids, so the
//! relay's dedup makes every item arrive once even if an ack was lost.

mod connection;
#[doc(hidden)]
pub mod fuzzing;
mod incoming;
mod outgoing;
mod words;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::settings::Target;
use crate::state::{Event, PreparedImage};
use crate::t;
use connection::{End, Session};

pub use crate::repaint::Repaint;

/// Why the worker did not take a command. A local failure: shown as what it
/// is, never as one of the relay's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("{}", t!("send-error-full"))]
    Full,
    #[error("{}", t!("send-error-stopped"))]
    Stopped,
    #[error("{}", t!("send-error-not-connected"))]
    NotConnected,
}

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

    /// Queues a command without waiting; the error says why it was not taken.
    pub fn send(&self, command: Command) -> Result<(), SendError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Stopped,
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

/// A connection that lasted this long was a real one: the next loss retries quickly again.
const STABLE_AFTER: Duration = Duration::from_secs(10);

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

async fn run(
    target: Target,
    secret: String,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    repaint: Repaint,
) {
    let mut session = Session::new(target, secret, events, repaint);
    let mut attempt: u32 = 0;
    loop {
        if session.emit(Event::Connecting { attempt }).await.is_err() {
            return;
        }
        let started = Instant::now();
        let end = connection::connect_once(&mut session, &mut commands).await;
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
                // Only a connection that held resets the backoff: a relay that
                // welcomes and drops us at once is retried ever more slowly.
                if welcomed && started.elapsed() >= STABLE_AFTER {
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
}
