//! `hostile`: issue 9's attacks by one host on the LAN, at full scale, against a real
//! relay process with its default limits (docs/SECURITY.md has the figures).
//!
//! ```text
//! cargo bench -p snapwire-relay --bench hostile [-- sockets|tokens|rooms|presence|memory]
//! ```
//!
//! Loopback only: the "attacker" is 127.0.0.1, other hosts are 127.0.0.2 and up.
//! Every relay runs with `--no-mdns` and its own temp data dir.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{ErrorCode, RelayHeader, encode_frame, parse_relay};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

struct Relay {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Relay {
    fn start(label: &str, extra: &[&str]) -> Relay {
        let dir =
            std::env::temp_dir().join(format!("snapwire-hostile-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_snapwire-relay"))
            .args(["--listen", "127.0.0.1:0", "--no-mdns", "--data-dir"])
            .arg(&dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the relay binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the relay says where it listens")
                .expect("read");
            if let Some(rest) = line.split("ws://").nth(1) {
                let addr = rest.split('/').next().expect("address");
                break addr.parse().expect("socket address");
            }
        };
        // Keep reading so the relay never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Relay { child, addr, dir }
    }

    /// Resident memory of the relay process, in MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn host(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x7f00_0000 + n))
}

async fn tcp_from(addr: SocketAddr, from: IpAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(addr).await
}

async fn ws_from(addr: SocketAddr, from: IpAddr) -> Option<Ws> {
    let tcp = tcp_from(addr, from).await.ok()?;
    let url = format!("ws://{addr}/ws");
    let handshake = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp));
    match tokio::time::timeout(WAIT, handshake).await {
        Ok(Ok((ws, _))) => Some(ws),
        _ => None,
    }
}

fn secret(n: u32) -> String {
    format!("{n:032x}")
}

async fn send(ws: &mut Ws, header: serde_json::Value, body: &[u8]) -> bool {
    ws.send(Message::Binary(encode_frame(&header, body)))
        .await
        .is_ok()
}

/// The next protocol message, if one comes in time.
async fn recv(ws: &mut Ws) -> Option<(RelayHeader, bytes::Bytes)> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => {
                let m = parse_relay(b).ok()?;
                return Some((m.header, m.body));
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            _ => return None,
        }
    }
}

/// Says hello; the first answer's header.
async fn hello(ws: &mut Ws, room: &str, who: u32, token: Option<&str>) -> Option<RelayHeader> {
    let hello = serde_json::json!({
        "type": "hello", "v": 1, "name": format!("u{who}"), "room": room,
        "client": secret(who), "token": token,
    });
    if !send(ws, hello, b"").await {
        return None;
    }
    recv(ws).await.map(|(h, _)| h)
}

async fn join(addr: SocketAddr, from: IpAddr, room: &str, who: u32) -> Option<Ws> {
    let mut ws = ws_from(addr, from).await?;
    match hello(&mut ws, room, who, None).await? {
        RelayHeader::Welcome(_) => Some(ws),
        _ => None,
    }
}

/// Row 2: 1,500 silent sockets from one host, then 100 newcomers from others.
async fn sockets() {
    let relay = Relay::start("sockets", &[]);
    let addr = relay.addr;
    let mut silent = Vec::new();
    for _ in 0..1500 {
        if let Ok(tcp) = tcp_from(addr, host(1)).await {
            silent.push(tcp);
        }
    }
    // Those still open after a moment are the ones the relay holds for the host.
    let mut held = 0;
    for tcp in &mut silent {
        let mut byte = [0u8; 1];
        // Nothing to read: admitted, waiting for a request (else a 429 or a close).
        if tokio::time::timeout(Duration::from_millis(5), tcp.read(&mut byte))
            .await
            .is_err()
        {
            held += 1;
        }
    }
    let mut got_in = 0;
    for n in 0..100u32 {
        if join(addr, host(2 + n), "lobby", n + 1).await.is_some() {
            got_in += 1;
        }
    }
    println!(
        "{{\"attack\":\"silent sockets\",\"opened\":{},\"held_by_the_host\":{held},\"newcomers_in\":\"{got_in}/100\"}}",
        silent.len()
    );
}

/// Row 1: token guesses from one host for 5 s.
async fn tokens() {
    let relay = Relay::start("tokens", &["--token", "4711"]);
    let addr = relay.addr;
    let start = Instant::now();
    let (mut unauthorized, mut limited, mut other) = (0u32, 0u32, 0u32);
    let mut guess = 0u32;
    while start.elapsed() < Duration::from_secs(5) {
        let Some(mut ws) = ws_from(addr, host(1)).await else {
            other += 1;
            continue;
        };
        match hello(&mut ws, "lobby", 9, Some(&format!("{guess:04}"))).await {
            Some(RelayHeader::Error {
                code: ErrorCode::Unauthorized,
                ..
            }) => unauthorized += 1,
            Some(RelayHeader::Error {
                code: ErrorCode::RateLimited,
                ..
            }) => limited += 1,
            _ => other += 1,
        }
        guess += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"attack\":\"token guessing\",\"seconds\":{secs:.1},\"hellos\":{guess},\"tokens_checked\":{unauthorized},\"rate_limited\":{limited},\"other\":{other}}}"
    );
}

/// Row 3: new room names from one host for 10 s.
async fn rooms() {
    let relay = Relay::start("rooms", &[]);
    let addr = relay.addr;
    let start = Instant::now();
    let (mut joined, mut refused) = (0u32, 0u32);
    let mut i = 0u32;
    while start.elapsed() < Duration::from_secs(10) {
        i += 1;
        match join(addr, host(1), &format!("flood-{i}"), 9).await {
            Some(ws) => {
                joined += 1;
                drop(ws);
            }
            None => refused += 1,
        }
    }
    // Let the last sessions end, then count what is left on disk.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let on_disk = std::fs::read_dir(relay.dir.join("rooms")).map_or(0, |d| d.count());
    println!(
        "{{\"attack\":\"room names\",\"seconds\":10,\"tried\":{i},\"joined\":{joined},\"refused\":{refused},\"rooms_left_on_disk\":{on_disk},\"rss_mib\":{:.1}}}",
        relay.rss_mib()
    );
}

/// Row 5: join/leave cycles from one host for 10 s, seen by a bystander.
async fn presence() {
    let relay = Relay::start("presence", &[]);
    let addr = relay.addr;
    let Some(mut ben) = join(addr, host(2), "lobby", 2).await else {
        println!("{{\"attack\":\"presence\",\"error\":\"bystander could not join\"}}");
        return;
    };
    let counter = tokio::spawn(async move {
        let mut seen = 0u32;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(11);
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, ben.next()).await {
            if let Message::Binary(b) = message
                && let Ok(m) = parse_relay(b)
                && matches!(
                    m.header,
                    RelayHeader::Joined { .. } | RelayHeader::Left { .. }
                )
            {
                seen += 1;
            }
        }
        seen
    });
    let start = Instant::now();
    let mut cycles = 0u32;
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(ws) = join(addr, host(1), "lobby", 9).await {
            cycles += 1;
            drop(ws);
        }
    }
    let seen = counter.await.unwrap_or(0);
    println!(
        "{{\"attack\":\"join/leave\",\"seconds\":10,\"cycles\":{cycles},\"presence_to_bystander\":{seen},\"per_sec\":{:.1}}}",
        f64::from(seen) / 10.0
    );
}

/// One value of the relay's `/metrics` page (0 if missing).
async fn gauge(addr: SocketAddr, name: &str) -> u64 {
    use tokio::io::AsyncWriteExt;
    let Ok(mut tcp) = TcpStream::connect(addr).await else {
        return 0;
    };
    let request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if tcp.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut page = String::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_string(&mut page)).await;
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

/// A PNG of 1x1 px padded to `len` bytes: a valid preview header, preview-sized.
fn padded_preview(len: usize) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82".to_vec();
    png.resize(len, 0);
    png
}

/// Fills 100 rooms with 100 items each (texts of 4 KB, images with 30 KB previews),
/// each room from its own host; returns the connections, still in their rooms.
async fn fill_rooms(addr: SocketAddr, round: u32) -> Vec<Ws> {
    let preview = padded_preview(30 * 1024);
    let mut tasks = tokio::task::JoinSet::new();
    for r in 0..100u32 {
        let preview = preview.clone();
        tasks.spawn(async move {
            // Each room from its own host, within the per-host rates.
            let who = round * 100 + r;
            let mut ws = join(addr, host(2 + who), &format!("room-{who}"), who + 1).await?;
            for i in 0..100u32 {
                let id = format!("i{i}");
                if i % 5 == 0 {
                    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
                    bytes.resize(8 * 1024, (i % 251) as u8);
                    let sha = hex::encode(Sha256::digest(&bytes));
                    let begin = serde_json::json!({"type":"image_begin","id":id,"name":"p.png",
                        "mime":"image/png","size":bytes.len(),"sha256":sha});
                    send(&mut ws, begin, &preview).await;
                    let chunk = serde_json::json!({"type":"image_chunk","id":id,"offset":0});
                    send(&mut ws, chunk, &bytes).await;
                    send(
                        &mut ws,
                        serde_json::json!({"type":"image_end","id":id}),
                        b"",
                    )
                    .await;
                } else {
                    let text = format!("{i:04} {}", "x".repeat(4000));
                    send(
                        &mut ws,
                        serde_json::json!({"type":"text","id":id}),
                        text.as_bytes(),
                    )
                    .await;
                }
                loop {
                    match recv(&mut ws).await? {
                        (RelayHeader::Ack { .. }, _) => break,
                        (RelayHeader::Error { .. }, _) => break,
                        _ => {}
                    }
                }
            }
            Some(ws)
        });
    }
    let mut held = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(ws)) = done {
            held.push(ws);
        }
    }
    held
}

/// Waits until no room is in RAM (at most 10 s).
async fn rooms_unloaded(addr: SocketAddr) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let loaded = gauge(addr, "snapwire_rooms_loaded").await;
        if loaded == 0 || Instant::now() > deadline {
            return loaded;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Row 4: 10,000 items across 100 rooms, then everyone leaves; twice, with new
/// rooms the second time. RSS idle, full, after each round.
async fn memory() {
    let relay = Relay::start("memory", &[]);
    let addr = relay.addr;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = relay.rss_mib();
    let mut rounds = Vec::new();
    for round in 0..2 {
        let held = fill_rooms(addr, round).await;
        let rooms = held.len();
        let full = relay.rss_mib();
        let ram_full = gauge(addr, "snapwire_history_ram_bytes").await as f64 / (1024.0 * 1024.0);
        drop(held);
        let loaded = rooms_unloaded(addr).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = relay.rss_mib();
        // The allocator gives freed pages back over seconds, not at once.
        tokio::time::sleep(Duration::from_secs(14)).await;
        let later = relay.rss_mib();
        // What the rooms still hold by the relay's own count (0 once all are unloaded):
        // the rest of the RSS is the allocator's.
        let ram = gauge(addr, "snapwire_history_ram_bytes").await as f64 / (1024.0 * 1024.0);
        rounds.push(format!(
            "{{\"rooms\":{rooms},\"items\":{},\"rss_connected_mib\":{full:.1},\"history_ram_connected_mib\":{ram_full:.1},\"rss_1s_after_everyone_left_mib\":{after:.1},\"rss_15s_after_mib\":{later:.1},\"rooms_loaded_after\":{loaded},\"history_ram_after_mib\":{ram:.1}}}",
            rooms * 100
        ));
    }
    let history = gauge(addr, "snapwire_history_bytes").await;
    println!(
        "{{\"attack\":\"full rooms\",\"rss_idle_mib\":{idle:.1},\"history_mib\":{:.1},\"rounds\":[{}]}}",
        history as f64 / (1024.0 * 1024.0),
        rounds.join(",")
    );
}

#[cfg(unix)]
fn raise_fd_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
}

#[cfg(not(unix))]
fn raise_fd_limit() {}

fn main() {
    raise_fd_limit();
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let all = ["sockets", "tokens", "rooms", "presence", "memory"];
    for name in all {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        runtime.block_on(async {
            match name {
                "sockets" => sockets().await,
                "tokens" => tokens().await,
                "rooms" => rooms().await,
                "presence" => presence().await,
                _ => memory().await,
            }
        });
    }
}
