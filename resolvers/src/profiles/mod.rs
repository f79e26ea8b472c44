//! Profiles: what a user prefers and shows (display name, shipping address, favourite
//! categories, merchant info), kept apart from identity (auth) and served from the read store
//! (DynamoDB in the server). Each user writes only their own profile.

mod loader;
mod model;
mod ports;
mod resolvers;

pub use loader::SellerLoader;
pub use model::{MerchantInfo, Profile, ProfileUpdate};
pub use ports::ProfileStore;
pub use resolvers::{
    Me, MerchantInfoInput, PreferencesInput, ProfilesMutation, ProfilesQuery, Seller,
    UpdateProfileInput, load_seller,
};
