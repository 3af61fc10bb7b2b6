//! One hostile host on the LAN, at small scale: each attack of issue 9's table, and
//! what stops it (docs/SECURITY.md). "Other hosts" are client sockets bound to
//! 127.0.0.2, 127.0.0.3 … (all of 127/8 is loopback).

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::*;
use snapwire_relay::guard::{HostLimits, Rate};
use snapwire_relay::protocol::{CancelReason, ErrorCode, RelayHeader};
use snapwire_relay::{Config, Storage};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A rate that never refills within a test: exactly `burst` are allowed.
fn only(burst: f64) -> Rate {
    Rate {
        per_sec: 1e-9,
        burst,
    }
}

/// Lifted limits, except the ones a test sets.
fn limits() -> HostLimits {
    HostLimits::unlimited()
}

fn host(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A TCP connection to the relay from `from`.
async fn tcp_from(addr: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind a loopback address");
    tokio::time::timeout(WAIT, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// A WebSocket from `from`, or the HTTP status the relay refused it with.
async fn ws_from(addr: SocketAddr, from: IpAddr, origin: Option<&str>) -> Result<Client, u16> {
    let tcp = tcp_from(addr, from).await;
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("request");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).expect("header"));
    }
    let handshake = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp));
    match tokio::time::timeout(WAIT, handshake)
        .await
        .expect("handshake in time")
    {
        Ok((ws, _)) => Ok(Client { ws, welcome: None }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        // A refused socket may be closed before the client has read the 429.
        Err(_) => Err(0),
    }
}

fn hello(name: &str, room: &str, who: u32, token: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "type": "hello", "v": 1, "name": name, "room": room,
        "client": secret(who), "token": token,
    })
}

/// Joins `room` from `from`.
async fn join_from(addr: SocketAddr, from: IpAddr, name: &str, room: &str, who: u32) -> Client {
    let mut client = ws_from(addr, from, None).await.expect("upgrade");
    client.send_json(hello(name, room, who, None), b"").await;
    match client.recv().await.header {
        RelayHeader::Welcome(welcome) => client.welcome = Some(welcome),
        other => panic!("expected welcome, got {other:?}"),
    }
    client
}

/// Reads a raw socket to its end (bounded) and says whether it was a 429.
async fn refused_with_429(mut tcp: TcpStream) -> bool {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut got)).await;
    got.starts_with(b"HTTP/1.1 429")
}

/// Row 1: a 4-digit token guessed at 6,000 hellos/s. Now a host gets 5 wrong
/// tokens, then `rate_limited` and a close for every hello, right token or not;
/// other hosts are not affected.
#[tokio::test]
async fn a_host_guessing_the_token_is_locked_out_after_five_failures() {
    let relay = start_relay(Config {
        token: Some("4711".into()),
        host_limits: HostLimits {
            bad_tokens: only(5.0),
            ..limits()
        },
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let attacker = host(1);
    for guess in 0..5u32 {
        let mut c = ws_from(addr, attacker, None).await.expect("upgrade");
        c.send_json(hello("Eve", "lobby", 9, Some(&format!("{guess:04}"))), b"")
            .await;
        c.expect_error(ErrorCode::Unauthorized).await;
        c.expect_close(1008).await;
    }
    for token in ["0005", "4711"] {
        let mut c = ws_from(addr, attacker, None).await.expect("upgrade");
        c.send_json(hello("Eve", "lobby", 9, Some(token)), b"")
            .await;
        c.expect_error(ErrorCode::RateLimited).await;
        c.expect_close(1008).await;
    }
    let mut ana = ws_from(addr, host(2), None).await.expect("upgrade");
    ana.send_json(hello("Ana", "lobby", 1, Some("4711")), b"")
        .await;
    assert!(matches!(ana.recv().await.header, RelayHeader::Welcome(_)));
    relay.shutdown().await.expect("shutdown");
}

/// Row 2: silent sockets and upgrades without hello held every slot. Now one host
/// holds at most its cap (4 here, tried with 20); other hosts still get in.
#[tokio::test]
async fn a_host_holds_at_most_its_cap_of_connections_and_others_still_get_in() {
    let relay = start_relay(Config {
        host_limits: HostLimits {
            max_connections: 4,
            ..limits()
        },
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let attacker = host(1);
    // 20 silent sockets: the relay accepts them in order, admits the first 4.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tcp_from(addr, attacker).await);
    }
    let refused = silent.split_off(4);
    for tcp in refused {
        assert!(refused_with_429(tcp).await, "past the cap: 429 and closed");
    }
    // Upgrades without hello from the same host: refused while the 4 are held.
    for _ in 0..16 {
        assert!(ws_from(addr, attacker, None).await.is_err());
    }
    // Everyone else is unaffected.
    for n in 2..6u8 {
        let mut c = join_from(addr, host(n), "Ana", &format!("room-{n}"), u32::from(n)).await;
        c.text("t", "still here").await;
        c.expect_ack("t").await;
    }
    // The host's slots come back when its sockets close.
    drop(silent);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match ws_from(addr, attacker, None).await {
            Ok(_) => break,
            Err(_) => assert!(
                tokio::time::Instant::now() < deadline,
                "the host's slots were never released"
            ),
        }
        // The relay notices the closed sockets on its own time: retry, bounded.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(metric(addr, "snapwire_host_refusals_total").await >= 32);
    relay.shutdown().await.expect("shutdown");
}

/// Row 2, the other half: new connections per host are rate-limited too.
#[tokio::test]
async fn a_host_opening_connections_too_fast_is_refused() {
    let relay = start_relay(Config {
        host_limits: HostLimits {
            new_connections: only(5.0),
            ..limits()
        },
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    for _ in 0..5 {
        let c = ws_from(addr, host(1), None)
            .await
            .expect("within the burst");
        drop(c);
    }
    assert!(ws_from(addr, host(1), None).await.is_err(), "past the rate");
    assert!(ws_from(addr, host(2), None).await.is_ok(), "another host");
    relay.shutdown().await.expect("shutdown");
}

/// Row 3: made-up room names were kept in RAM and on disk forever. Now a room that
/// never held an item is gone once its last member leaves, and rooms that exist
/// at once are capped.
#[tokio::test]
async fn room_names_nobody_uses_leave_nothing_behind_and_rooms_are_capped() {
    let dir = TempDir::new("hostile-rooms");
    let relay = start_relay(Config {
        storage: Storage::Disk(dir.path().to_owned()),
        max_rooms: 3,
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    for i in 0..20u32 {
        let c = Client::join(addr, "Eve", &format!("flood-{i}"), 9).await;
        drop(c);
        assert!(relay.wait_rooms_in_memory(0, WAIT).await);
    }
    assert_eq!(relay.rooms_existing(), 0);
    let on_disk = std::fs::read_dir(dir.path().join("rooms"))
        .expect("rooms dir")
        .count();
    assert_eq!(
        on_disk, 0,
        "no directory left for rooms that never held an item"
    );

    // Three rooms in use; a fourth is refused, the three stay usable.
    let mut held = Vec::new();
    for i in 0..3u32 {
        held.push(Client::join(addr, "Ana", &format!("room-{i}"), i + 1).await);
    }
    let mut eve = Client::connect(addr).await;
    eve.send_json(hello("Eve", "one-too-many", 9, None), b"")
        .await;
    eve.expect_error(ErrorCode::BadRoom).await;
    eve.expect_close(1008).await;
    let mut ben = Client::join(addr, "Ben", "room-1", 5).await;
    ben.text("t", "hi").await;
    ben.expect_ack("t").await;
    relay.shutdown().await.expect("shutdown");
}

/// Row 4: full rooms stayed in RAM after everyone left. Now they are unloaded
/// (history on disk), and load again, whole, at the next hello.
#[tokio::test]
async fn empty_rooms_leave_ram_and_load_again_at_the_next_hello() {
    let dir = TempDir::new("hostile-unload");
    let relay = start_relay(Config {
        storage: Storage::Disk(dir.path().to_owned()),
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    for r in 0..4u32 {
        let room = format!("full-{r}");
        let mut c = Client::join(addr, "Ana", &room, 1).await;
        for i in 0..5 {
            let id = format!("{room}-{i}");
            c.text(&id, &format!("text {i} of {room}")).await;
            c.expect_ack(&id).await;
        }
        let png = fake_png(3000, r as u8);
        c.send_image("img", &png, 1000).await;
        c.expect_ack("img").await;
        assert!(relay.room_is_loaded(&room));
        assert!(relay.history_ram_bytes() > 0, "a loaded room's items count");
    }
    assert!(relay.wait_rooms_in_memory(0, WAIT).await);
    for r in 0..4u32 {
        assert!(
            !relay.room_is_loaded(&format!("full-{r}")),
            "room {r} unloaded"
        );
    }
    assert_eq!(relay.rooms_existing(), 4, "their history is still there");
    assert_eq!(
        relay.history_ram_bytes(),
        0,
        "nothing of them is left in RAM"
    );
    assert_eq!(metric(addr, "snapwire_history_ram_bytes").await, 0);

    let mut ben = Client::join_since(addr, "Ben", "full-2", 2, Some(0)).await;
    assert_eq!(ben.welcome.as_ref().map(|w| w.history), Some(6));
    for i in 0..5 {
        let text = ben
            .recv_until(|h| matches!(h, RelayHeader::Text { .. }))
            .await;
        assert_eq!(&text.body[..], format!("text {i} of full-2").as_bytes());
    }
    let image = ben.recv_image().await;
    assert_eq!(image.bytes, fake_png(3000, 2));
    // Loaded again: its six items (five texts, one preview) count again.
    assert!(relay.history_ram_bytes() > 0);
    relay.shutdown().await.expect("shutdown");
}

/// Row 4, disk: retention was per room, so disk use had no bound. Now all rooms
/// together keep at most `max_history_bytes`, the largest room losing its oldest first.
#[tokio::test]
async fn history_across_rooms_stays_within_the_budget_largest_room_first() {
    let dir = TempDir::new("hostile-budget");
    let config = Config {
        storage: Storage::Disk(dir.path().to_owned()),
        max_history_bytes: 10_000,
        ..memory_config()
    };
    let relay = start_relay(config.clone()).await;
    let addr = relay.local_addr();
    let kilo = |i: usize| format!("{i:04}{}", "x".repeat(996));
    let mut ana = Client::join(addr, "Ana", "big", 1).await;
    for i in 0..8 {
        ana.text(&format!("a{i}"), &kilo(i)).await;
        ana.expect_ack(&format!("a{i}")).await;
    }
    let mut ben = Client::join(addr, "Ben", "small", 2).await;
    for i in 0..4 {
        ben.text(&format!("b{i}"), &kilo(i)).await;
        ben.expect_ack(&format!("b{i}")).await;
    }
    assert!(relay.history_bytes() <= 10_000, "{}", relay.history_bytes());
    drop((ana, ben));

    // "big" lost its two oldest; "small" lost nothing.
    let mut carl = Client::join_since(addr, "Carl", "big", 3, Some(0)).await;
    assert_eq!(carl.welcome.as_ref().map(|w| w.history), Some(6));
    let first = carl
        .recv_until(|h| matches!(h, RelayHeader::Text { .. }))
        .await;
    assert!(first.body.starts_with(b"0002"));
    let dana = Client::join_since(addr, "Dana", "small", 4, Some(0)).await;
    assert_eq!(dana.welcome.as_ref().map(|w| w.history), Some(4));

    // An upload larger than the whole budget is refused at its begin.
    let png = fake_png(12_000, 1);
    carl.send(
        snapwire_relay::protocol::ClientHeader::ImageBegin(begin_for("huge", &png)),
        b"",
    )
    .await;
    carl.recv_until(|h| {
        matches!(
            h,
            RelayHeader::Error {
                code: ErrorCode::Storage,
                ..
            }
        )
    })
    .await;
    drop((carl, dana));
    relay.shutdown().await.expect("shutdown");

    // A lower budget at the next start prunes at once.
    let relay = start_relay(Config {
        max_history_bytes: 5_000,
        ..config
    })
    .await;
    assert!(relay.history_bytes() <= 5_000, "{}", relay.history_bytes());
    relay.shutdown().await.expect("shutdown");
}

/// Row 5: join/leave cycles flooded bystanders with presence. Now joins per host
/// are rate-limited (`rate_limited` and a close), so presence is too.
#[tokio::test]
async fn joins_per_host_are_rate_limited_so_presence_floods_are_bounded() {
    let relay = start_relay(Config {
        host_limits: HostLimits {
            joins: only(5.0),
            ..limits()
        },
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let mut bystander = join_from(addr, host(2), "Ben", "lobby", 2).await;
    for _ in 0..5 {
        let c = join_from(addr, host(1), "Eve", "lobby", 9).await;
        drop(c);
    }
    let mut eve = ws_from(addr, host(1), None).await.expect("upgrade");
    eve.send_json(hello("Eve", "lobby", 9, None), b"").await;
    eve.expect_error(ErrorCode::RateLimited).await;
    eve.expect_close(1008).await;
    // Ben saw 5 joins and 5 leaves, then Carl (another host) joining.
    let _carl = join_from(addr, host(3), "Carl", "lobby", 3).await;
    // (Eve's last `left` may come after Carl's `joined`.)
    let mut presence = 0;
    let mut carl = false;
    while !(carl && presence >= 10) {
        match bystander.recv().await.header {
            RelayHeader::Joined { user } if user.name == "Carl" => carl = true,
            RelayHeader::Joined { .. } | RelayHeader::Left { .. } => presence += 1,
            _ => {}
        }
    }
    assert_eq!(presence, 10);
    relay.shutdown().await.expect("shutdown");
}

/// Row 6: uploads begun and never finished kept their temp files forever. Now an
/// upload without progress is cancelled to receivers, the sender is told, and its
/// temp file is removed.
#[tokio::test]
async fn an_upload_without_progress_is_cancelled_and_its_temp_file_removed() {
    let dir = TempDir::new("hostile-upload");
    let relay = start_relay(Config {
        storage: Storage::Disk(dir.path().to_owned()),
        // Long enough that the begin and its first chunk are never parted by it.
        upload_timeout: Duration::from_secs(1),
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    ben.joined().await;
    let png = fake_png(50_000, 3);
    ana.begin_partial("stuck", &png, 10_000).await;
    let begin = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageBegin(_)))
        .await;
    let RelayHeader::ImageBegin(begin) = begin.header else {
        unreachable!()
    };
    let cancel = ben
        .recv_until(|h| matches!(h, RelayHeader::ImageCancel { .. }))
        .await;
    assert!(matches!(
        cancel.header,
        RelayHeader::ImageCancel { sid, reason: CancelReason::Cancelled } if sid == begin.sid
    ));
    let id = ana
        .recv_until(|h| matches!(h, RelayHeader::Error { .. }))
        .await;
    assert!(matches!(
        id.header,
        RelayHeader::Error { code: ErrorCode::BadChunk, id: Some(ref id), .. } if id == "stuck"
    ));
    // Its later chunks are dropped silently; the connection goes on.
    ana.send_chunks("stuck", &png[10_000..], 10_000).await;
    ana.text("after", "still connected").await;
    ana.expect_ack("after").await;
    // The temp file goes with the upload (its last write may still be finishing).
    let rooms = dir.path().join("rooms");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let temp_files: usize = std::fs::read_dir(&rooms)
            .expect("rooms")
            .flatten()
            .map(|room| std::fs::read_dir(room.path().join("tmp")).map_or(0, |files| files.count()))
            .sum();
        if temp_files == 0 && relay.history_bytes() < 1000 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "temp file left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(addr, "snapwire_uploads_timed_out_total").await, 1);
    relay.shutdown().await.expect("shutdown");
}

/// Row 7: a page with `Origin: https://evil.example` joined the lobby. Now a browser
/// upgrade from another origin is refused with 403 unless `--allow-origin` allows
/// it; the relay's own page and native clients (no Origin) get in.
#[tokio::test]
async fn browser_upgrades_from_other_origins_are_refused() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    assert_eq!(
        ws_from(addr, host(1), Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(ws_from(addr, host(1), Some("null")).await.err(), Some(403));
    let own = format!("http://{addr}");
    assert!(ws_from(addr, host(1), Some(&own)).await.is_ok());
    assert!(ws_from(addr, host(1), None).await.is_ok());
    assert_eq!(metric(addr, "snapwire_origin_refusals_total").await, 2);
    relay.shutdown().await.expect("shutdown");

    let relay = start_relay(Config {
        allowed_origins: vec!["https://evil.example".into()],
        ..memory_config()
    })
    .await;
    assert!(
        ws_from(relay.local_addr(), host(1), Some("https://evil.example"))
            .await
            .is_ok()
    );
    relay.shutdown().await.expect("shutdown");
}

/// A host cannot push a room's history out in seconds: items (and bytes) per host
/// and minute are limited across all its connections and rooms.
#[tokio::test]
async fn one_host_cannot_flush_a_rooms_history_in_seconds() {
    let relay = start_relay(Config {
        host_limits: HostLimits {
            items: only(5.0),
            ..limits()
        },
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let mut a = join_from(addr, host(1), "Eve", "lobby", 9).await;
    let mut b = join_from(addr, host(1), "Eve", "other", 10).await;
    for i in 0..3 {
        a.text(&format!("a{i}"), "flush").await;
        a.expect_ack(&format!("a{i}")).await;
    }
    for i in 0..2 {
        b.text(&format!("b{i}"), "flush").await;
        b.expect_ack(&format!("b{i}")).await;
    }
    a.text("a3", "flush").await;
    a.expect_error(ErrorCode::RateLimited).await;
    let mut ana = join_from(addr, host(2), "Ana", "lobby", 1).await;
    ana.text("mine", "mine").await;
    ana.recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
        .await;
    relay.shutdown().await.expect("shutdown");
}

/// Receipts per connection are rate-limited (dropped past it: they are best effort).
#[tokio::test]
async fn receipts_past_the_rate_are_dropped() {
    let relay = start_relay(Config {
        receipts: only(3.0),
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    ana.joined().await;
    ana.text("t", "read me").await;
    let seq = ana.expect_ack("t").await;
    for _ in 0..10 {
        ben.send(snapwire_relay::protocol::ClientHeader::Receipt { seq }, b"")
            .await;
    }
    ben.text("done", "done").await;
    let mut receipts = 0;
    loop {
        match ana.recv().await.header {
            RelayHeader::Receipt { .. } => receipts += 1,
            RelayHeader::Text { .. } => break,
            _ => {}
        }
    }
    assert_eq!(receipts, 3);
    relay.shutdown().await.expect("shutdown");
}

/// Names lose bidi controls and zero-width characters: nobody poses as "Ana".
#[tokio::test]
async fn names_lose_invisible_characters() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    let eve = Client::join(addr, "A\u{200B}n\u{202E}a\u{2066}", "lobby", 9).await;
    assert_eq!(
        eve.welcome.as_ref().map(|w| w.user.name.as_str()),
        Some("Ana")
    );
    match ana.recv().await.header {
        RelayHeader::Joined { user } => {
            assert_eq!(user.name, "Ana");
            assert_ne!(user.id, ana.user_id(), "same name, another id");
        }
        other => panic!("expected joined, got {other:?}"),
    }
    relay.shutdown().await.expect("shutdown");
}

/// `/metrics` may need its own bearer token; `/healthz` stays open.
#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let relay = start_relay(Config {
        metrics_token: Some("m3trics".into()),
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    assert!(http_get(addr, "/metrics").await.starts_with("HTTP/1.1 401"));
    assert!(http_get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    use tokio::io::AsyncWriteExt;
    tcp.write_all(
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer m3trics\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("write");
    let mut page = String::new();
    tokio::time::timeout(WAIT, tcp.read_to_string(&mut page))
        .await
        .expect("in time")
        .expect("read");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("snapwire_connections "));
    relay.shutdown().await.expect("shutdown");
}
