//! Adapters: everything that talks to something outside the process. Each implements ports
//! declared by the resolvers (`mercado_resolvers::*::ports`) or by the workers; nothing else in
//! the server uses sqlx or the AWS SDK.

pub mod auth;
pub mod aws;
pub mod bus;
pub mod dynamo;
pub mod postgres;
pub mod provision;
pub mod s3;
pub mod search;
pub mod stepfunctions;
