//! GraphiQL, served from assets compiled into the binary: it works with no network beyond the
//! server itself.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

const INDEX: &str = include_str!("../../web-client/graphiql/index.html");

/// (file name, content type, bytes) of every vendored asset.
const VENDOR: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web-client/graphiql/vendor/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web-client/graphiql/vendor/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web-client/graphiql/vendor/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web-client/graphiql/vendor/react-dom.production.min.js"),
    ),
];

pub async fn graphiql() -> Html<&'static str> {
    Html(INDEX)
}

pub async fn vendor(Path(file): Path<String>) -> Response {
    match VENDOR.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                // The bytes change only with the binary.
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
