//! Behaviour of every context through the GraphQL surface, over the in-memory fakes: the
//! rules and refusals a client sees, in milliseconds and with no services.
