//! Relay-style paging shared by every connection.

use async_graphql::{Result, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{ApiError, Rejected, StoreError, error::into_gql};

/// Largest page a client may ask for.
pub const MAX_PAGE: usize = 100;

/// A connection's `first`, checked: 1 to [`MAX_PAGE`], else `BAD_USER_INPUT` on `first`.
pub fn page_size(first: i32) -> Result<usize> {
    match usize::try_from(first) {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(into_gql(ApiError::bad_input(
            "first",
            format!("must be between 1 and {MAX_PAGE}"),
        ))),
    }
}

/// Where a page sits in its listing.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    /// True when more items follow this page (pass `endCursor` as `after`).
    pub has_next_page: bool,
    /// True when this page was read after a cursor.
    pub has_previous_page: bool,
    /// Cursor of the first item on this page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item on this page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    pub fn new(cursors: &[&str], has_previous_page: bool, has_next_page: bool) -> Self {
        Self {
            has_next_page,
            has_previous_page,
            start_cursor: cursors.first().map(|c| (*c).to_string()),
            end_cursor: cursors.last().map(|c| (*c).to_string()),
        }
    }
}

/// The opaque cursor of an item in a listing ordered by (time, id), as order listings are.
pub fn time_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

/// The (time, id) a [`time_cursor`] holds; anything else is [`Rejected::Cursor`].
pub fn parse_time_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid), StoreError> {
    let invalid = || StoreError::Rejected {
        what: Rejected::Cursor,
        message: "is not a cursor from this API".into(),
    };
    let text = URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let (micros, id) = text.split_once('|').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}
