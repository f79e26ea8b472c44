#!/usr/bin/env node
// Follows one order with a real graphql-transport-ws client (the `graphql-ws` package):
//
//   node tests/browser/order-status.mjs ws://127.0.0.1:PORT/graphql <token> <orderId>
//
// Prints one JSON line per `orderStatus` event ({status, reason, at, receivedAt}) and exits 0
// when the subscription completes, 1 on any error or after 30 s.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, orderId] = process.argv.slice(2);
if (!url || !token || !orderId) {
  console.error('usage: node order-status.mjs <ws-url> <token> <orderId>');
  process.exit(1);
}

const timer = setTimeout(() => {
  console.error('FAIL: no completion within 30 s');
  process.exit(1);
}, 30_000);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});

client.subscribe(
  { query: 'subscription($id: ID!) { orderStatus(orderId: $id) { status reason at } }', variables: { id: orderId } },
  {
    next: (result) => {
      if (result.errors) {
        console.error(`FAIL: ${JSON.stringify(result.errors)}`);
        process.exit(1);
      }
      console.log(JSON.stringify({ ...result.data.orderStatus, receivedAt: Date.now() }));
    },
    error: (err) => {
      console.error(`FAIL: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
      process.exit(1);
    },
    complete: async () => {
      clearTimeout(timer);
      await client.dispose();
      process.exit(0);
    },
  },
);
