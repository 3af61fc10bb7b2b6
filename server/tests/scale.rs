//! Many connections at once.

mod common;

use common::{Client, memory_config, metric, start_relay};
use snapwire_relay::Config;
use snapwire_relay::protocol::RelayHeader;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_connections_all_receive_a_message() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    // Spread over 10 rooms so presence traffic stays modest; 50 per room.
    let mut joins = tokio::task::JoinSet::new();
    for i in 0..500u32 {
        joins.spawn(async move {
            (
                i,
                Client::join(addr, &format!("u{i}"), &format!("room-{}", i % 10), i + 1).await,
            )
        });
    }
    let mut clients = Vec::new();
    while let Some(joined) = joins.join_next().await {
        clients.push(joined.expect("join task"));
    }
    assert_eq!(clients.len(), 500);
    assert_eq!(metric(addr, "snapwire_connections").await, 500);

    // One sender per room; everyone else in the room receives the text.
    clients.sort_by_key(|(i, _)| *i);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut client) in clients {
        tasks.spawn(async move {
            if i < 10 {
                client.text("hello", "to everyone in my room").await;
                client
                    .recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
                    .await;
            } else {
                let text = client
                    .recv_until(|h| matches!(h, RelayHeader::Text { .. }))
                    .await;
                assert_eq!(&text.body[..], b"to everyone in my room");
            }
            client
        });
    }
    let mut done = Vec::new();
    while let Some(client) = tasks.join_next().await {
        done.push(client.expect("client task"));
    }
    assert_eq!(done.len(), 500);
}

#[tokio::test]
async fn connections_past_the_limit_are_refused_with_503() {
    let relay = start_relay(Config {
        max_connections: 2,
        ..memory_config()
    })
    .await;
    let addr = relay.local_addr();
    let _a = Client::join(addr, "A", "lobby", 1).await;
    let _b = Client::join(addr, "B", "lobby", 2).await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("expected 503, got {other:?}"),
    }
    assert_eq!(metric(addr, "snapwire_connections_rejected_total").await, 1);
}
