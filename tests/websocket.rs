//! GraphQL over WebSocket (graphql-transport-ws) on `/graphql`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

mod common;

use common::{Socket, Stack, ws_connect};
use futures::{SinkExt, StreamExt};
use mercado::config::BusKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("socket open")
            .expect("valid frame");
        match msg {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => return json!({"closed": frame.map(|f| u16::from(f.code))}),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn transport_ws_handshake_and_a_subscription_to_completion() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let mut socket = ws_connect(&app.base).await;
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {}}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { heartbeat(intervalMs: 100, count: 2) { seq } }"}})
                .to_string(),
        ))
        .await
        .unwrap();
    let first = next_json(&mut socket).await;
    assert_eq!(first["type"], "next");
    assert_eq!(first["payload"]["data"]["heartbeat"]["seq"], 1);
    let second = next_json(&mut socket).await;
    assert_eq!(second["payload"]["data"]["heartbeat"]["seq"], 2);
    assert_eq!(
        next_json(&mut socket).await,
        json!({"id": "1", "type": "complete"})
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn a_bad_token_in_connection_init_closes_the_socket() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let mut socket = ws_connect(&app.base).await;
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})
                .to_string(),
        ))
        .await
        .unwrap();
    let reply = next_json(&mut socket).await;
    assert!(
        reply.get("closed").is_some(),
        "expected a close, got {reply}"
    );
    app.stop().await;
    stack.cleanup().await;
}
