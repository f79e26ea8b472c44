//! The web client (storefront, seller console, order tracking), served from its built files:
//! hashed assets under `/assets/` are immutable and cached for a year, everything else is
//! revalidated; any other path that is not an API route answers `index.html`, so the
//! client's own routes (`/products/…`, `/orders/…`) survive a reload. Vite's build writes
//! `.br` and `.gz` beside each file, served to browsers that accept them.

use std::path::Path;

use axum::{
    Router,
    http::{HeaderValue, header},
};
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeader,
};

/// Routes serving the client built into `root`, to merge as the router's fallback.
pub fn client<S: Clone + Send + Sync + 'static>(root: &Path) -> Router<S> {
    if !root.join("index.html").is_file() {
        tracing::warn!(
            root = %root.display(),
            "web client not built: `/` answers 404 (build it with `npm --prefix web-client/app run build`)"
        );
    }
    let assets = ServeDir::new(root.join("assets"))
        .precompressed_br()
        .precompressed_gzip();
    let pages = ServeDir::new(root)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(root.join("index.html")));
    Router::new()
        .nest_service(
            "/assets",
            SetResponseHeader::overriding(
                assets,
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        )
        .fallback_service(SetResponseHeader::overriding(
            pages,
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}
