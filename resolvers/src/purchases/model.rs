use async_graphql::{ComplexObject, Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{address::Address, money::Money};

/// Where an order is in its saga.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Placed; stock not yet reserved.
    Pending,
    /// Stock reserved for every line.
    StockHeld,
    /// Payment taken.
    Paid,
    /// Done: stock sold, payment kept. Terminal.
    Confirmed,
    /// Not enough stock. Terminal.
    Rejected,
    /// The payment was declined or could not be taken; holds released. Terminal.
    PaymentFailed,
    /// Cancelled by the buyer; holds released, payment refunded. Terminal.
    Cancelled,
    /// Its stock holds expired before it completed. Terminal.
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        Self::Pending,
        Self::StockHeld,
        Self::Paid,
        Self::Confirmed,
        Self::Rejected,
        Self::PaymentFailed,
        Self::Cancelled,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::StockHeld => "STOCK_HELD",
            Self::Paid => "PAID",
            Self::Confirmed => "CONFIRMED",
            Self::Rejected => "REJECTED",
            Self::PaymentFailed => "PAYMENT_FAILED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// No step follows a terminal status.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::StockHeld | Self::Paid)
    }
}

/// One status change of an order.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The status entered.
    pub status: OrderStatus,
    /// Why, for failures and cancellations.
    pub reason: Option<String>,
    /// When it was committed.
    pub at: DateTime<Utc>,
}

/// One line of an order, priced when the order was placed.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
#[graphql(complex)]
pub struct OrderLine {
    #[graphql(skip)]
    pub variant_id: Uuid,
    #[graphql(skip)]
    pub product_id: Uuid,
    /// The selling seller.
    pub seller_id: String,
    /// The variant's SKU at the time of the order.
    pub sku: String,
    /// Units ordered.
    pub quantity: i32,
    /// Price of one unit at the time of the order.
    pub unit_price: Money,
}

#[ComplexObject]
impl OrderLine {
    /// The ordered variant.
    async fn variant_id(&self) -> ID {
        ID(self.variant_id.to_string())
    }
    /// The variant's product.
    async fn product_id(&self) -> ID {
        ID(self.product_id.to_string())
    }
}

/// An order.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
#[graphql(complex)]
pub struct Order {
    #[graphql(skip)]
    pub id: Uuid,
    /// The buyer's user id.
    pub buyer_id: String,
    /// Current status.
    pub status: OrderStatus,
    /// Why the order failed or was cancelled.
    pub reason: Option<String>,
    /// The lines (a seller sees only their own).
    pub lines: Vec<OrderLine>,
    /// Sum of the lines.
    pub total: Money,
    /// Where the order ships: shown to its buyer and to the sellers of its lines. Null only
    /// on orders placed before addresses were taken.
    pub shipping_address: Option<Address>,
    /// Every status so far, oldest first.
    pub transitions: Vec<Transition>,
    /// When the order was placed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[ComplexObject]
impl Order {
    /// Stable identifier (a UUID).
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
}
