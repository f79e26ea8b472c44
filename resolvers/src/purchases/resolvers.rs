use std::{collections::HashSet, sync::Arc};

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject, Subscription};
use futures::Stream;
use uuid::Uuid;

use super::{
    NewOrder, NewOrderLine, Order, OrderFeed, OrderPage, OrderStore, PlaceOutcome, Transition,
    Transitions,
};
use crate::{
    ApiError, Role, Viewer,
    address::Address,
    checks::{Checks, uuid},
    error::{into_gql, violations_into_gql},
    guard,
    page::PageInfo,
    page::page_size,
    profiles::ProfileStore,
};

pub const LINES_MAX: usize = 50;
pub const QUANTITY_MAX: i32 = 1000;

/// One line of a new order.
#[derive(InputObject)]
pub struct OrderLineInput {
    /// The variant to buy.
    pub variant_id: ID,
    /// Units, 1 to 1000.
    pub quantity: i32,
}

/// A new order.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// 1 to 50 lines, each variant at most once.
    pub items: Vec<OrderLineInput>,
    /// The payment method's token (test gateway: `tok_approve`, `tok_decline`,
    /// `tok_transient`).
    pub payment_token: String,
    /// Client-chosen key, 1 to 200 characters: a retry with the same key and body returns the
    /// same order; the same key with another body is `CONFLICT`.
    pub idempotency_key: String,
    /// Where to ship; by default the buyer's profile address (one of the two is required).
    pub shipping_address: Option<Address>,
}

/// A page of orders.
#[derive(SimpleObject)]
pub struct OrderConnection {
    /// The orders on this page, each with its cursor.
    pub edges: Vec<OrderEdge>,
    /// Where this page sits in the listing.
    pub page_info: PageInfo,
}

/// An order and the cursor that resumes the listing right after it.
#[derive(SimpleObject)]
pub struct OrderEdge {
    /// The order.
    pub node: Order,
    /// Opaque; pass as `after` to read the orders that follow.
    pub cursor: String,
}

fn store<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<dyn OrderStore>> {
    ctx.data::<Arc<dyn OrderStore>>()
}

fn stored<T>(result: Result<T, crate::StoreError>) -> Result<T> {
    result.map_err(|e| into_gql(e.into()))
}

/// The order as `viewer` may see it: whole for its buyer; for a seller with lines in it, only
/// those lines and what they add up to (never what the buyer spent with other sellers); for
/// anyone else nothing.
fn as_seen_by(mut order: Order, viewer: &Viewer) -> Option<Order> {
    if order.buyer_id == viewer.subject {
        return Some(order);
    }
    if !viewer.has_role(Role::Seller) || !order.lines.iter().any(|l| l.seller_id == viewer.subject)
    {
        return None;
    }
    order.lines.retain(|l| l.seller_id == viewer.subject);
    order.total.amount = order
        .lines
        .iter()
        .map(|l| l.unit_price.amount * i64::from(l.quantity))
        .sum();
    Some(order)
}

fn connection(page: OrderPage, after: Option<&str>, viewer: &Viewer) -> OrderConnection {
    let cursors: Vec<&str> = page.items.iter().map(|(c, _)| c.as_str()).collect();
    let page_info = PageInfo::new(&cursors, after.is_some(), page.has_next_page);
    OrderConnection {
        edges: page
            .items
            .into_iter()
            .filter_map(|(cursor, node)| {
                as_seen_by(node, viewer).map(|node| OrderEdge { node, cursor })
            })
            .collect(),
        page_info,
    }
}

/// Reads of orders.
#[derive(Default)]
pub struct PurchasesQuery;

#[Object]
impl PurchasesQuery {
    /// An order: its buyer sees all of it; a seller sees only their own lines; anyone else
    /// gets `NOT_FOUND`.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Order> {
        let viewer = guard::viewer(ctx).map_err(into_gql)?;
        let id = uuid("id", &id)?;
        stored(store(ctx)?.get(id).await)?
            .and_then(|order| as_seen_by(order, viewer))
            .ok_or_else(|| into_gql(ApiError::NotFound("no such order".into())))
    }

    /// The caller's orders, newest first. `first` is 1 to 100 (default 20).
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<OrderConnection> {
        let viewer = guard::viewer(ctx).map_err(into_gql)?;
        let first = page_size(first)?;
        let page = stored(
            store(ctx)?
                .list_for_buyer(&viewer.subject, first, after.as_deref())
                .await,
        )?;
        Ok(connection(page, after.as_deref(), viewer))
    }

    /// Orders holding the caller's products (seller role), newest first, each showing only
    /// the caller's lines, what they add up to, and where the order ships. `first` is 1 to
    /// 100 (default 20). Follow one live with `orderStatus`.
    async fn my_sales(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<OrderConnection> {
        let seller = guard::require_role(ctx, Role::Seller).map_err(into_gql)?;
        let first = page_size(first)?;
        let page = stored(
            store(ctx)?
                .list_for_seller(&seller.subject, first, after.as_deref())
                .await,
        )?;
        Ok(connection(page, after.as_deref(), seller))
    }
}

/// Placing and cancelling orders.
#[derive(Default)]
pub struct PurchasesMutation;

#[Object]
impl PurchasesMutation {
    /// Places an order (buyer role) in `PENDING` and starts its saga. Follow it with
    /// `orderStatus`.
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<Order> {
        let buyer = guard::require_role(ctx, Role::Buyer).map_err(into_gql)?;
        let mut checks = Checks::new("input");
        if input.items.is_empty() || input.items.len() > LINES_MAX {
            checks.fail("items", format!("must hold 1 to {LINES_MAX} lines"));
        }
        let mut seen = HashSet::new();
        let mut lines = Vec::with_capacity(input.items.len());
        for (i, item) in input.items.iter().enumerate() {
            let variant_id = match Uuid::parse_str(&item.variant_id) {
                Ok(id) => id,
                Err(_) => {
                    checks.fail(&format!("items.{i}.variantId"), "must be a UUID");
                    continue;
                }
            };
            if !seen.insert(variant_id) {
                checks.fail(&format!("items.{i}.variantId"), "appears on another line");
            }
            if !(1..=QUANTITY_MAX).contains(&item.quantity) {
                checks.fail(
                    &format!("items.{i}.quantity"),
                    format!("must be 1 to {QUANTITY_MAX}"),
                );
            }
            lines.push(NewOrderLine {
                variant_id,
                quantity: item.quantity,
            });
        }
        let payment_token = checks.text("paymentToken", &input.payment_token, 1, 200);
        let idempotency_key = checks.text("idempotencyKey", &input.idempotency_key, 1, 200);
        let shipping_address = match input.shipping_address {
            Some(address) => Some(address.checked(&mut checks, "shippingAddress")),
            None => {
                let profiles = ctx.data::<Arc<dyn ProfileStore>>()?;
                let profile = stored(profiles.get(&buyer.subject).await)?;
                let address = profile.and_then(|p| p.shipping_address);
                if address.is_none() {
                    checks.fail(
                        "shippingAddress",
                        "is required: the buyer's profile has no shipping address",
                    );
                }
                address
            }
        };
        let order = checks
            .finish(NewOrder {
                lines,
                payment_token,
                idempotency_key,
                shipping_address: shipping_address.unwrap_or_default(),
            })
            .map_err(violations_into_gql)?;
        let placed = store(ctx)?.place(&buyer.subject, order).await;
        let placed = placed.map_err(|e| {
            into_gql(e.naming(|what| match what {
                crate::Rejected::OrderLine(i) => format!("input.items.{i}.variantId"),
                _ => "input.items".into(),
            }))
        })?;
        match placed {
            PlaceOutcome::Created(order) | PlaceOutcome::Existing(order) => Ok(order),
        }
    }

    /// Cancels one of the caller's orders before it is `CONFIRMED`: holds are released and any
    /// payment refunded; the order ends `CANCELLED`.
    async fn cancel_order(&self, ctx: &Context<'_>, id: ID) -> Result<Order> {
        let viewer = guard::viewer(ctx).map_err(into_gql)?;
        let id = uuid("id", &id)?;
        stored(store(ctx)?.request_cancel(&viewer.subject, id).await)
    }
}

/// Live order tracking.
#[derive(Default)]
pub struct PurchasesSubscription;

struct Follow {
    store: Arc<dyn OrderStore>,
    changes: tokio::sync::broadcast::Receiver<Transitions>,
    id: Uuid,
    last_seq: i32,
    queued: std::collections::VecDeque<Transition>,
    done: bool,
}

#[Subscription]
impl PurchasesSubscription {
    /// The order's current status first, then every transition as it commits (on any server
    /// instance), completing at a terminal status. The order's buyer may subscribe, and so may
    /// a seller with lines in it.
    async fn order_status(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
    ) -> Result<impl Stream<Item = Result<Transition>> + use<>> {
        let viewer = guard::viewer(ctx).map_err(into_gql)?;
        let id = self::uuid("orderId", &order_id)?;
        let store = store(ctx)?.clone();
        // Follow before reading, so nothing committed in between is missed.
        let changes = ctx
            .data::<Arc<OrderFeed>>()?
            .follow(id)
            .map_err(|e| into_gql(e.into()))?;
        let order = stored(store.get(id).await)?
            .and_then(|o| as_seen_by(o, viewer))
            .ok_or_else(|| into_gql(ApiError::NotFound("no such order".into())))?;
        let history = stored(store.transitions_after(id, 0).await)?;
        let (last_seq, current) = history.last().cloned().unwrap_or((
            0,
            order.transitions.last().cloned().unwrap_or(Transition {
                status: order.status,
                reason: order.reason.clone(),
                at: order.updated_at,
            }),
        ));
        let state = Follow {
            store,
            changes,
            id,
            last_seq,
            queued: std::collections::VecDeque::from([current]),
            done: false,
        };
        Ok(futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(next) = s.queued.pop_front() {
                    if next.status.is_terminal() {
                        s.done = true;
                        s.queued.clear();
                    }
                    return Some((Ok(next), s));
                }
                if s.done {
                    return None;
                }
                let fresh = match s.changes.recv().await {
                    Ok(batch) if !batch.is_empty() => batch.to_vec(),
                    // The feed could not read, or this follower fell behind: read for itself.
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        match s.store.transitions_after(s.id, s.last_seq).await {
                            Ok(fresh) => fresh,
                            // Say why the stream stops: a failure is not the order's end.
                            Err(e) => {
                                s.done = true;
                                return Some((Err(into_gql(e.into())), s));
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
                // A batch may repeat what this follower read in its history.
                for (seq, t) in fresh {
                    if seq > s.last_seq {
                        s.last_seq = seq;
                        s.queued.push_back(t);
                    }
                }
            }
        }))
    }
}
