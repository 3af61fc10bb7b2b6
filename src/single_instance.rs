//! One window per home: a second `snapwire FILE…` ("Open with Snapwire")
//! hands its files to the window already running and exits, instead of
//! opening another.
//!
//! The first launch listens on a Unix socket in its home
//! ([`crate::settings::Paths::instance_socket`]); a later launch connects,
//! writes one JSON line (the files, absolute, and `--yes`), waits for
//! `ok`, and exits. A socket nobody answers on is stale (the first window
//! crashed) and is replaced. Two homes (`SNAPWIRE_HOME`) are two sockets,
//! so two windows acting as two people still work. Where there are no Unix
//! sockets (Windows), every launch opens its own window.
//!
//! What a peer writes is bounded ([`MAX_REQUEST_BYTES`], a read timeout)
//! and parsed into [`Handoff`]; anything else is answered with an error
//! line and dropped. The socket lives in the user's own data directory.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use crate::repaint::Repaint;

/// A request larger than this is not a list of files.
pub const MAX_REQUEST_BYTES: u64 = 256 * 1024;
/// Files handed over in one request, at most.
pub const MAX_FILES: usize = 1000;
/// Handoffs waiting for the window to take them; more wait in the sender's connect.
const QUEUE: usize = 16;

/// Files a later launch handed to this window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub files: Vec<PathBuf>,
    /// `--yes`: send without the send sheet.
    pub yes: bool,
}

/// What this launch is.
pub enum Claim {
    /// The first window: handoffs from later launches arrive here.
    First(mpsc::Receiver<Handoff>),
    /// Another window took the files; this launch should exit.
    HandedOver,
    /// No single-instance support here (or the socket could not be made): open a window.
    Alone,
}

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("no window is listening")]
    NoWindow,
    #[error("the running window did not answer: {0}")]
    NoAnswer(#[source] std::io::Error),
    #[error("the running window refused the files: {0}")]
    Refused(String),
}

#[cfg(unix)]
mod imp {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::time::Duration;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Sends `handoff` to the window listening on `socket`.
    pub fn hand_over(socket: &Path, handoff: &Handoff) -> Result<(), HandoffError> {
        let mut stream = UnixStream::connect(socket).map_err(|_| HandoffError::NoWindow)?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(HandoffError::NoAnswer)?;
        let mut line = serde_json::to_vec(handoff)
            .map_err(|e| HandoffError::Refused(format!("the file names cannot be written: {e}")))?;
        line.push(b'\n');
        stream.write_all(&line).map_err(HandoffError::NoAnswer)?;
        let mut answer = String::new();
        BufReader::new(stream.take(1024))
            .read_line(&mut answer)
            .map_err(HandoffError::NoAnswer)?;
        match answer.trim() {
            "ok" => Ok(()),
            other => Err(HandoffError::Refused(other.to_owned())),
        }
    }

    /// Becomes the first window on `socket`, or hands `handoff` to the one there.
    pub fn claim(socket: &Path, handoff: &Handoff, repaint: Repaint) -> Claim {
        for _ in 0..3 {
            match hand_over(socket, handoff) {
                Ok(()) => return Claim::HandedOver,
                Err(HandoffError::NoWindow) => {}
                Err(e) => {
                    // A window is there but did not take them: better a second window than nothing.
                    tracing::warn!(error = %e, "could not hand the files over; opening a window");
                    return Claim::Alone;
                }
            }
            if let Some(dir) = socket.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // Nobody answers: a file left by a window that crashed.
            let _ = std::fs::remove_file(socket);
            match UnixListener::bind(socket) {
                Ok(listener) => return Claim::First(listen(listener, repaint)),
                // Another launch bound it between our two steps: hand over to it.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => {
                    tracing::warn!(socket = %socket.display(), error = %e, "no single-instance socket");
                    return Claim::Alone;
                }
            }
        }
        Claim::Alone
    }

    fn listen(listener: UnixListener, repaint: Repaint) -> mpsc::Receiver<Handoff> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("snapwire-instance".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    if !serve(stream, &tx) {
                        return; // The window is gone.
                    }
                    repaint();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no single-instance thread");
        }
        rx
    }

    /// Reads one request and answers it; false once the window stopped taking handoffs.
    fn serve(stream: UnixStream, tx: &mpsc::SyncSender<Handoff>) -> bool {
        let _ = stream.set_read_timeout(Some(TIMEOUT));
        let _ = stream.set_write_timeout(Some(TIMEOUT));
        let mut line = Vec::new();
        let read = BufReader::new(&stream)
            .take(MAX_REQUEST_BYTES)
            .read_until(b'\n', &mut line);
        let answer = match read.map_err(|e| e.to_string()).and_then(|_| parse(&line)) {
            Ok(handoff) => match tx.send(handoff) {
                Ok(()) => "ok".to_owned(),
                Err(_) => return false,
            },
            Err(why) => format!("error: {why}"),
        };
        let _ = (&stream).write_all(format!("{answer}\n").as_bytes());
        true
    }
}

/// Checks a request line: JSON, a bounded list of absolute paths.
fn parse(line: &[u8]) -> Result<Handoff, String> {
    if !line.ends_with(b"\n") {
        return Err("the request is cut off or too long".into());
    }
    let handoff: Handoff = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    if handoff.files.len() > MAX_FILES {
        return Err(format!("at most {MAX_FILES} files at once"));
    }
    if let Some(relative) = handoff.files.iter().find(|p| !p.is_absolute()) {
        return Err(format!("{} is not an absolute path", relative.display()));
    }
    Ok(handoff)
}

#[cfg(unix)]
pub use imp::{claim, hand_over};

/// Without Unix sockets every launch opens its own window.
#[cfg(not(unix))]
pub fn claim(_socket: &Path, _handoff: &Handoff, _repaint: Repaint) -> Claim {
    Claim::Alone
}

/// The files as the running window should see them: absolute, from this
/// launch's working directory.
pub fn absolute(files: &[PathBuf]) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().ok();
    files
        .iter()
        .map(|f| match &cwd {
            Some(cwd) if f.is_relative() => cwd.join(f),
            _ => f.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked() {
        let ok = br#"{"files":["/tmp/a.png"],"yes":true}
"#;
        assert_eq!(
            parse(ok),
            Ok(Handoff {
                files: vec!["/tmp/a.png".into()],
                yes: true
            })
        );
        assert!(parse(br#"{"files":["/tmp/a.png"],"yes":true}"#).is_err());
        assert!(parse(b"{\"files\":[\"a.png\"],\"yes\":false}\n").is_err());
        assert!(parse(b"not json\n").is_err());
        let many = serde_json::to_string(&Handoff {
            files: vec!["/x".into(); MAX_FILES + 1],
            yes: false,
        })
        .expect("json");
        assert!(parse(format!("{many}\n").as_bytes()).is_err());
    }
}
