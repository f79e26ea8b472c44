//! Inventory: the seller's side. Writes go to the source of truth through [`InventoryStore`];
//! each write commits its outbox event in the same transaction.

mod model;
mod mutation;
mod ports;

pub use model::{NewProduct, Product, validate_new_product};
pub use mutation::{CreateProductInput, InventoryMutation};
pub use ports::InventoryStore;
