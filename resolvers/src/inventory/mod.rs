//! Inventory: the seller's side. Products with variants, prices and stock, a stock ledger,
//! holds for the purchase saga, and presigned image uploads. Writes go to the source of truth
//! through [`InventoryStore`]; each write commits its outbox event in the same transaction.

mod model;
mod mutation;
mod ports;

pub use model::*;
pub use mutation::{
    CreateProductInput, IMAGE_CONTENT_TYPES, ImageUpload, InventoryMutation, MoneyInput,
    UpdateProductInput, UpdateVariantInput, VariantInput, parse_image_key,
};
pub use ports::{HoldOutcome, ImageStorage, InventoryStore, PresignedUpload, StockHolds};
