//! The disk fills up while the relay retains: the relay binary runs in a private
//! mount namespace (`unshare -m`) with its data directory on a small tmpfs, and the
//! test fills that tmpfs through `/proc/<pid>/root`. The sender of an image that
//! no longer fits gets `storage`, its receivers `image_cancel` (`storage`), nothing
//! of it is retained or left behind, texts are still served, and once space returns
//! the same image goes through, with no restart.
//!
//! Needs root (to mount); elsewhere the test says loudly that it did not run.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Client, TempDir, begin_for, fake_png};
use snapwire_relay::protocol::{CancelReason, ClientHeader, ErrorCode, RelayHeader};

/// Size of the relay's whole filesystem.
const TMPFS_BYTES: usize = 16 * 1024 * 1024;
/// Free space left while "full": room for texts, not for an image.
const LEFT_FREE: usize = 256 * 1024;

/// The relay, inside its own mount namespace.
struct Relay {
    child: Child,
    addr: std::net::SocketAddr,
    /// The tmpfs's mount point as the relay sees it, reached from outside.
    mount: PathBuf,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Starts the relay on a fresh tmpfs mounted at `mount` in a private namespace;
/// `None` (said loudly) where that cannot be done.
fn start_on_tmpfs(mount: &Path) -> Option<Relay> {
    if !is_root() {
        eprintln!("!!! fault_disk_full NOT RUN: mounting a tmpfs needs root");
        return None;
    }
    let script = format!(
        "mount -t tmpfs -o size={TMPFS_BYTES} snapwire-test \"$0\" && exec \"$1\" \
         --listen 127.0.0.1:0 --no-mdns --data-dir \"$0/data\""
    );
    let spawned = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(mount)
        .arg(env!("CARGO_BIN_EXE_snapwire-relay"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            eprintln!("!!! fault_disk_full NOT RUN: cannot run unshare: {e}");
            return None;
        }
    };
    let stdout = child.stdout.take()?;
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let Some(addr) = line
        .split("listening on ws://")
        .nth(1)
        .and_then(|rest| rest.split("/ws").next())
        .and_then(|addr| addr.parse().ok())
    else {
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("!!! fault_disk_full NOT RUN: no private tmpfs here (relay said {line:?})");
        return None;
    };
    // `unshare` and `sh` exec in place: the child is the relay itself.
    let mount = PathBuf::from(format!("/proc/{}/root", child.id())).join(
        mount
            .strip_prefix("/")
            .expect("the temp dir is an absolute path"),
    );
    Some(Relay { child, addr, mount })
}

/// Fills the tmpfs with 64 KiB files until it is full, then frees `keep` bytes.
fn fill(mount: &Path, keep: usize) -> Vec<PathBuf> {
    let block = vec![0xa5u8; 64 * 1024];
    let mut files = Vec::new();
    for n in 0..(TMPFS_BYTES / block.len() + 16) {
        let path = mount.join(format!("filler-{n}"));
        let mut file = std::fs::File::create(&path).expect("create a filler file");
        files.push(path);
        if file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_err()
        {
            break; // full
        }
    }
    let mut freed = 0;
    while freed < keep {
        let path = files.pop().expect("more filler than free space");
        std::fs::remove_file(&path).expect("remove a filler file");
        freed += block.len();
    }
    files
}

/// Files left in the room's `tmp/` directories (uploads in progress).
fn temp_files(mount: &Path) -> usize {
    let Ok(rooms) = std::fs::read_dir(mount.join("data/rooms")) else {
        return 0;
    };
    rooms
        .filter_map(Result::ok)
        .filter_map(|room| std::fs::read_dir(room.path().join("tmp")).ok())
        .map(Iterator::count)
        .sum()
}

#[tokio::test]
async fn a_full_disk_fails_the_upload_cleanly_and_the_relay_recovers_by_itself() {
    let dir = TempDir::new("tmpfs");
    let Some(relay) = start_on_tmpfs(dir.path()) else {
        return;
    };
    let mut ana = Client::join(relay.addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(relay.addr, "Ben", "lobby", 2).await;
    ana.joined().await;
    ana.text("before", "the disk still has room").await;
    let before = ana.expect_ack("before").await;
    assert!(matches!(ben.recv().await.header, RelayHeader::Text { seq, .. } if seq == before));

    let filler = fill(&relay.mount, LEFT_FREE);
    // 2 MiB cannot fit in what is left: the writes fail part way.
    let image = fake_png(2 * 1024 * 1024, 3);
    ana.send(ClientHeader::ImageBegin(begin_for("big", &image)), b"")
        .await;
    ana.send_chunks("big", &image, 128 * 1024).await;
    ana.send(ClientHeader::ImageEnd { id: "big".into() }, b"")
        .await;
    let id = ana.expect_error(ErrorCode::Storage).await;
    assert_eq!(id.as_deref(), Some("big"));
    let begun = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageBegin(_)))
        .await;
    let RelayHeader::ImageBegin(begin) = begun.header else {
        unreachable!()
    };
    let cancel = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageCancel { .. }))
        .await;
    assert_eq!(
        cancel.header,
        RelayHeader::ImageCancel {
            sid: begin.sid,
            reason: CancelReason::Storage
        }
    );

    // Texts are still served while the disk is (nearly) full.
    ana.text("during", "a short text still fits").await;
    let during = ana.expect_ack("during").await;
    let text = ben
        .recv_until(|h| matches!(h, RelayHeader::Text { .. }))
        .await;
    assert!(matches!(text.header, RelayHeader::Text { seq, .. } if seq == during));
    assert_eq!(&text.body[..], b"a short text still fits");
    // Nothing of the failed image is retained or left in tmp/.
    let carol = Client::join_since(relay.addr, "Carol", "lobby", 3, Some(0)).await;
    assert_eq!(carol.welcome.as_ref().expect("welcome").history, 2);
    assert_eq!(temp_files(&relay.mount), 0, "the failed upload left a file");

    // Space returns: the same image, the same id, goes through without a restart.
    for path in filler {
        std::fs::remove_file(path).expect("free the disk");
    }
    ana.send_image("big", &image, 128 * 1024).await;
    let seq = ana
        .recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
        .await;
    let RelayHeader::Ack { id, seq, .. } = seq.header else {
        unreachable!()
    };
    assert_eq!(id, "big");
    assert!(seq > during);
    let received = ben.recv_image().await;
    assert_eq!(received.seq, seq);
    assert_eq!(received.bytes, image);
    let mut dave = Client::join_since(relay.addr, "Dave", "lobby", 4, Some(during)).await;
    assert_eq!(dave.welcome.as_ref().expect("welcome").history, 1);
    assert_eq!(dave.recv_image().await.bytes, image);
    drop(carol);
}
