//! Joining a room: hello rules, welcome, presence, HTTP endpoints, timeouts.

mod common;

use std::time::Duration;

use common::{Client, WAIT, http_get, memory_config, secret, start_relay};
use serde_json::json;
use snapwire_relay::Config;
use snapwire_relay::protocol::{ErrorCode, RelayHeader};
use tokio_tungstenite::tungstenite::Message;

fn hello(name: &str, room: &str, who: u32) -> serde_json::Value {
    json!({"type":"hello","v":1,"name":name,"room":room,"client":secret(who)})
}

#[tokio::test]
async fn welcome_lists_peers_and_limits_and_others_see_joined_and_left() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    let welcome = ana.welcome.clone().expect("welcome");
    assert_eq!(welcome.user.name, "Ana");
    assert_eq!(
        welcome.user.id,
        snapwire_relay::protocol::validate::user_id(&secret(1))
    );
    assert_eq!(welcome.room, "lobby");
    assert!(welcome.peers.is_empty());
    assert_eq!(welcome.history, 0);
    assert_eq!(welcome.limits.max_image_bytes, 50 * 1024 * 1024);
    assert_eq!(welcome.limits.max_chunk_bytes, 1024 * 1024);
    assert_eq!(welcome.limits.max_text_bytes, 16384);
    assert_eq!(welcome.limits.max_uploads, 4);
    assert!(welcome.epoch.len() >= 8);

    let ben = Client::join(relay.local_addr(), "  Ben ", "lobby", 2).await;
    let ben_welcome = ben.welcome.clone().expect("welcome");
    assert_eq!(ben_welcome.user.name, "Ben", "names are trimmed");
    assert_eq!(ben_welcome.peers, vec![welcome.user.clone()]);
    assert_eq!(ben_welcome.epoch, welcome.epoch, "one epoch per room");
    match ana.recv().await.header {
        RelayHeader::Joined { user } => assert_eq!(user, ben_welcome.user),
        other => panic!("expected joined, got {other:?}"),
    }
    drop(ben);
    match ana.recv().await.header {
        RelayHeader::Left { user } => assert_eq!(user, ben_welcome.user),
        other => panic!("expected left, got {other:?}"),
    }
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_same_user_in_two_windows_is_listed_twice() {
    let relay = start_relay(memory_config()).await;
    let _one = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    let _two = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    let three = Client::join(relay.local_addr(), "Ben", "lobby", 2).await;
    let peers = three.welcome.expect("welcome").peers;
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0], peers[1]);
}

#[tokio::test]
async fn rooms_are_separate() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    let mut ben = Client::join(relay.local_addr(), "Ben", "Lobby", 2).await;
    assert!(
        ben.welcome.as_ref().expect("welcome").peers.is_empty(),
        "room names are case-sensitive"
    );
    ben.text("b-1", "hi").await;
    ben.expect_ack("b-1").await;
    ana.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn hello_errors_are_fatal_with_their_close_codes() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let cases = [
        (json!({"type":"text","id":"x"}), ErrorCode::NotHello, 1002),
        (
            json!({"type":"hello","v":2,"name":"A","client":secret(1)}),
            ErrorCode::Version,
            1002,
        ),
        (
            json!({"type":"hello","name":"A","client":secret(1)}),
            ErrorCode::Version,
            1002,
        ),
        (hello("", "lobby", 1), ErrorCode::BadName, 1008),
        (hello(&"n".repeat(33), "lobby", 1), ErrorCode::BadName, 1008),
        (hello("A\u{1b}", "lobby", 1), ErrorCode::BadName, 1008),
        (hello("A", ".hidden", 1), ErrorCode::BadRoom, 1008),
        (hello("A", "../etc", 1), ErrorCode::BadRoom, 1008),
        (
            json!({"type":"hello","v":1,"name":"A","client":"ABC"}),
            ErrorCode::BadClient,
            1008,
        ),
    ];
    for (message, code, close) in cases {
        let mut client = Client::connect(addr).await;
        client.send_json(message.clone(), b"").await;
        client.expect_error(code).await;
        client.expect_close(close).await;
    }
    // Framing problems come first.
    let mut client = Client::connect(addr).await;
    client.send_raw(Message::Binary(vec![0, 0].into())).await;
    client.expect_error(ErrorCode::BadFrame).await;
    client.expect_close(1002).await;
    let mut client = Client::connect(addr).await;
    client
        .send_raw(Message::Text("{\"type\":\"hello\"}".into()))
        .await;
    client.expect_error(ErrorCode::BadFrame).await;
    client.expect_close(1002).await;
}

#[tokio::test]
async fn a_second_hello_is_bad_header_and_not_fatal() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    ana.send_json(hello("Ana", "lobby", 1), b"").await;
    ana.expect_error(ErrorCode::BadHeader).await;
    ana.text("a-1", "still here").await;
    ana.expect_ack("a-1").await;
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let relay = start_relay(Config {
        token: Some("s3cret".into()),
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    for token in [json!(null), json!("wrong"), json!(""), json!(5)] {
        let mut client = Client::connect(addr).await;
        let mut message = hello("Ana", "lobby", 1);
        message["token"] = token;
        client.send_json(message, b"").await;
        client.expect_error(ErrorCode::Unauthorized).await;
        client.expect_close(1008).await;
    }
    let mut client = Client::connect(addr).await;
    let mut message = hello("Ana", "lobby", 1);
    message["token"] = json!("s3cret");
    client.send_json(message, b"").await;
    assert!(matches!(
        client.recv().await.header,
        RelayHeader::Welcome(_)
    ));
}

#[tokio::test]
async fn no_hello_in_time_is_hello_timeout() {
    let relay = start_relay(Config {
        hello_timeout: Duration::from_millis(300),
        ..memory_config()
    })
    .await;
    let mut client = Client::connect(relay.local_addr()).await;
    client.expect_error(ErrorCode::HelloTimeout).await;
    client.expect_close(1008).await;
}

#[tokio::test]
async fn silent_connections_are_closed_and_pings_keep_them_alive() {
    let config = Config {
        idle_timeout: Duration::from_millis(600),
        ping_interval: Duration::from_millis(100),
        ..memory_config()
    };
    let relay = start_relay(config).await;
    let mut client = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    // Reading answers the relay's pings (tungstenite replies with pongs), so it stays.
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout_at(deadline, futures_util::StreamExt::next(&mut client.ws)).await
    {
        if matches!(message, Message::Ping(_)) {
            pings += 1;
        }
    }
    assert!(pings >= 3, "the relay pings every interval, got {pings}");
    // A peer that reads nothing also answers no pings: silent for the idle timeout, it is closed.
    let silent = Client::join(relay.local_addr(), "Ben", "lobby", 2).await;
    assert_eq!(common::raw_close_code(silent).await, Some(1001));
}

#[tokio::test]
async fn healthz_counts_rooms_and_connections() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let _a = Client::join(addr, "Ana", "one", 1).await;
    let _b = Client::join(addr, "Ben", "one", 2).await;
    let _c = Client::join(addr, "Cy", "two", 3).await;
    let _pending = Client::connect(addr).await; // not past hello: not counted
    let response = http_get(addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).expect("body");
    let health: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["rooms"], 2);
    assert_eq!(health["connections"], 3);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let mut ana = Client::join(addr, "Ana", "lobby", 1).await;
    ana.text("a-1", "hello").await;
    ana.expect_ack("a-1").await;
    ana.send_json(json!({"type":"dance"}), b"").await;
    ana.expect_error(ErrorCode::UnknownType).await;
    let response = http_get(addr, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("snapwire_connections 1\n"), "{response}");
    assert!(response.contains("snapwire_texts_total 1\n"));
    assert!(response.contains("snapwire_errors_total{code=\"unknown_type\"} 1\n"));
    let missing = http_get(addr, "/nope").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    let plain = http_get(addr, "/ws").await;
    assert!(
        plain.starts_with("HTTP/1.1 400"),
        "a plain GET /ws is not an upgrade: {plain}"
    );
}

#[tokio::test]
async fn shutdown_tells_clients_server_shutdown() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    let stopping = tokio::spawn(relay.shutdown());
    ana.expect_error(ErrorCode::ServerShutdown).await;
    ana.expect_close(1001).await;
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("clean");
}

#[tokio::test]
async fn a_mistyped_since_gets_bad_header_after_welcome_and_the_default_replay() {
    let relay = start_relay(memory_config()).await;
    let mut ana = Client::join(relay.local_addr(), "Ana", "lobby", 1).await;
    ana.text("t", "one").await;
    ana.expect_ack("t").await;
    let mut ben = Client::connect(relay.local_addr()).await;
    let mut message = hello("Ben", "lobby", 2);
    message["since"] = json!("yesterday");
    ben.send_json(message, b"").await;
    match ben.recv().await.header {
        RelayHeader::Welcome(welcome) => assert_eq!(welcome.history, 1),
        other => panic!("expected welcome, got {other:?}"),
    }
    ben.expect_error(ErrorCode::BadHeader).await;
    assert!(matches!(
        ben.recv().await.header,
        RelayHeader::Text { history: true, .. }
    ));
}
