//! GraphQL over WebSocket (graphql-transport-ws) on `/graphql`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use crate::common::{Stack, ws_connect, ws_next, ws_subscribed};
use futures::SinkExt;
use mercado::app::config::BusKind;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn transport_ws_handshake_and_a_subscription_to_completion() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let mut socket = ws_subscribed(
        &app.base,
        None,
        "subscription { heartbeat(intervalMs: 100, count: 2) { seq } }",
    )
    .await;
    let first = ws_next(&mut socket).await;
    assert_eq!(first["type"], "next");
    assert_eq!(first["payload"]["data"]["heartbeat"]["seq"], 1);
    let second = ws_next(&mut socket).await;
    assert_eq!(second["payload"]["data"]["heartbeat"]["seq"], 2);
    assert_eq!(
        ws_next(&mut socket).await,
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
    let reply = ws_next(&mut socket).await;
    assert!(
        reply.get("closed").is_some(),
        "expected a close, got {reply}"
    );
    app.stop().await;
    stack.cleanup().await;
}
