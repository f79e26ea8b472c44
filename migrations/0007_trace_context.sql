-- W3C trace context: the `traceparent` of the request that wrote an event or placed an order,
-- so the relay, the projector and every saga step continue that request's trace. NULL when
-- tracing is off.
ALTER TABLE outbox ADD COLUMN traceparent text;
ALTER TABLE orders ADD COLUMN traceparent text;
