//! Retention across restarts: in-process restarts on the same data dir, and the real
//! binary killed with SIGKILL in the middle of an upload.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Client, TempDir, begin_for, fake_png, start_relay};
use snapwire_relay::protocol::{ClientHeader, RelayHeader};
use snapwire_relay::{Config, Storage};

fn disk(dir: &TempDir) -> Config {
    Config {
        storage: Storage::Disk(dir.path().to_path_buf()),
        ..Config::default()
    }
}

#[tokio::test]
async fn history_epoch_seq_and_dedup_survive_a_restart() {
    let dir = TempDir::new("restart");
    let relay = start_relay(disk(&dir)).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    let epoch = ana.welcome.as_ref().expect("welcome").epoch.clone();
    ana.text("t-1", "before the restart").await;
    let text_seq = ana.expect_ack("t-1").await;
    let bytes = fake_png(700_000, 1);
    ana.send_image("i-1", &bytes, 256 * 1024).await;
    let image_seq = ana.expect_ack("i-1").await;
    drop(ana);
    relay.shutdown().await.expect("shutdown");

    let relay = start_relay(disk(&dir)).await;
    let mut ben = Client::join(relay.local_addr(), "Ben", "lobby", 2).await;
    let welcome = ben.welcome.clone().expect("welcome");
    assert_eq!(welcome.epoch, epoch, "same history, same epoch");
    assert_eq!(welcome.history, 2);
    let text = ben.recv().await;
    assert!(matches!(text.header, RelayHeader::Text { seq, history: true, .. } if seq == text_seq));
    assert_eq!(&text.body[..], b"before the restart");
    let image = ben.recv_image().await;
    assert_eq!(image.seq, image_seq);
    assert_eq!(image.bytes, bytes);
    assert_eq!(image.begin.name, "cat.png");

    // The (client, id) record survived: a re-send gets the original ack.
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    ana.recv_until(|h| matches!(h, RelayHeader::ImageEnd { .. }))
        .await;
    ana.text("t-1", "before the restart").await;
    assert_eq!(ana.expect_ack("t-1").await, text_seq);
    // seq continues.
    ana.text("t-2", "after").await;
    assert!(ana.expect_ack("t-2").await > image_seq);
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_unusable_data_dir_is_an_error_not_a_panic() {
    let dir = TempDir::new("unusable");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let config = Config {
        storage: Storage::Disk(file.join("data")),
        ..Config::default()
    };
    let err = snapwire_relay::start(listener, config)
        .await
        .err()
        .expect("an error");
    assert!(format!("{err:#}").contains("data directory"), "{err:#}");
}

/// The relay binary on 127.0.0.1:0, and the address it printed.
struct RelayProcess {
    child: Child,
    addr: SocketAddr,
}

impl RelayProcess {
    fn start(args: &[&str]) -> RelayProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snapwire-relay"))
            .args(["--listen", "127.0.0.1:0", "--no-mdns"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the relay");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let addr = line
            .split("listening on ws://")
            .nth(1)
            .and_then(|rest| rest.split("/ws").next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        RelayProcess { child, addr }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sigkill_mid_upload_loses_no_acked_item_and_shows_no_partial_one() {
    let dir = TempDir::new("sigkill");
    let data = dir.path().to_str().expect("utf-8 path").to_owned();
    let relay = RelayProcess::start(&["--data-dir", &data]);
    let mut ana = Client::join(relay.addr, "Ana", "lobby", 1).await;
    let mut acked = Vec::new();
    for i in 0..3u8 {
        let bytes = fake_png(300_000 + usize::from(i), i);
        ana.send_image(&format!("k-{i}"), &bytes, 100_000).await;
        acked.push((ana.expect_ack(&format!("k-{i}")).await, bytes));
    }
    // Half an upload, then the relay dies.
    let partial = fake_png(2_000_000, 9);
    ana.send(
        ClientHeader::ImageBegin(begin_for("k-partial", &partial)),
        b"",
    )
    .await;
    ana.send_chunks("k-partial", &partial[..1_000_000], 250_000)
        .await;
    ana.text("sync", "all chunks above were read").await;
    let last = ana.expect_ack("sync").await;
    relay.kill();

    let relay = RelayProcess::start(&["--data-dir", &data]);
    let mut ben = Client::join(relay.addr, "Ben", "lobby", 2).await;
    assert_eq!(ben.welcome.as_ref().expect("welcome").history, 4);
    for (seq, bytes) in &acked {
        let image = ben.recv_image().await;
        assert_eq!(image.seq, *seq);
        assert_eq!(&image.bytes, bytes);
    }
    assert!(matches!(ben.recv().await.header, RelayHeader::Text { seq, .. } if seq == last));
    ben.expect_silence(Duration::from_millis(300)).await;
    // The partial image can be sent again and takes a new seq after the old ones.
    let mut ana = Client::join_since(relay.addr, "Ana", "lobby", 1, Some(last)).await;
    ana.send_image("k-partial", &partial, 500_000).await;
    assert!(ana.expect_ack("k-partial").await > last);
    relay.kill();
}

#[tokio::test]
async fn sigkill_after_concurrent_uploads_loses_no_acked_item() {
    let dir = TempDir::new("sigkill-group");
    let data = dir.path().to_str().expect("utf-8 path").to_owned();
    let relay = RelayProcess::start(&["--data-dir", &data]);
    let addr = relay.addr;
    // Four uploaders at once: their commits share syncs (group commit).
    let uploads: Vec<_> = (0..4u8)
        .map(|who| {
            tokio::spawn(async move {
                let mut client = Client::join(addr, "Up", "lobby", 10 + u32::from(who)).await;
                let mut acked = Vec::new();
                for i in 0..3u8 {
                    let bytes = fake_png(
                        200_000 + usize::from(who) * 10 + usize::from(i),
                        who * 16 + i,
                    );
                    let id = format!("g-{who}-{i}");
                    client.send_image(&id, &bytes, 64 * 1024).await;
                    client.text(&format!("{id}-t"), "and a word").await;
                    acked.push((id, bytes));
                }
                let mut seqs = std::collections::BTreeMap::new();
                while seqs.len() < 6 {
                    if let RelayHeader::Ack { id, seq, .. } = client.recv().await.header {
                        seqs.insert(id, seq);
                    }
                }
                acked
                    .into_iter()
                    .map(|(id, bytes)| (seqs[&id], bytes))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acked = Vec::new();
    for task in uploads {
        acked.extend(task.await.expect("uploader"));
    }
    relay.kill();

    let relay = RelayProcess::start(&["--data-dir", &data]);
    let mut ben = Client::join_since(relay.addr, "Ben", "lobby", 2, Some(0)).await;
    assert_eq!(ben.welcome.as_ref().expect("welcome").history, 24);
    acked.sort_by_key(|(seq, _)| *seq);
    for (seq, bytes) in &acked {
        let image = ben.recv_image().await;
        assert_eq!(image.seq, *seq);
        assert_eq!(&image.bytes, bytes);
    }
    relay.kill();
}

#[tokio::test]
async fn sigterm_tells_clients_and_exits_zero() {
    let dir = TempDir::new("sigterm");
    let data = dir.path().to_str().expect("utf-8 path").to_owned();
    let mut relay = RelayProcess::start(&["--data-dir", &data]);
    let mut ana = Client::join(relay.addr, "Ana", "lobby", 1).await;
    let status = Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    ana.expect_error(snapwire_relay::protocol::ErrorCode::ServerShutdown)
        .await;
    ana.expect_close(1001).await;
    let deadline = std::time::Instant::now() + common::WAIT;
    let code = loop {
        if let Some(status) = relay.child.try_wait().expect("wait") {
            break status.code();
        }
        assert!(std::time::Instant::now() < deadline, "exits in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_second_relay_on_the_same_data_dir_is_refused_until_the_first_stops() {
    let dir = TempDir::new("lock");
    let first = start_relay(disk(&dir)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let err = snapwire_relay::start(listener, disk(&dir))
        .await
        .err()
        .expect("refused");
    assert!(
        format!("{err:#}").contains("in use by another relay"),
        "{err:#}"
    );
    let _ana = Client::join(first.local_addr(), "Ana", "lobby", 1).await;
    first.shutdown().await.expect("shutdown");
    let second = start_relay(disk(&dir)).await;
    second.shutdown().await.expect("shutdown");
}
