use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject,
    dataloader::DataLoader,
};

use super::{MerchantInfo, Profile, ProfileStore, ProfileUpdate, SellerLoader};
use crate::{
    ApiError, Role,
    address::Address,
    checks::Checks,
    error::{into_gql, violations_into_gql},
    guard,
};

pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
pub const FAVORITE_CATEGORIES_MAX: usize = 20;
pub const STORE_NAME_MAX_CHARS: usize = 100;
pub const STORE_DESCRIPTION_MAX_CHARS: usize = 2000;

/// The signed-in user: identity from the token, profile from the profiles store.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Me {
    /// User id (the token's subject).
    pub id: ID,
    /// Email, when the token carries it.
    pub email: Option<String>,
    /// Commercial roles the token grants.
    pub roles: Vec<Role>,
}

#[ComplexObject]
impl Me {
    /// The caller's own profile (empty until first updated).
    async fn profile(&self, ctx: &Context<'_>) -> Result<ProfileView> {
        let profile = store(ctx)?
            .get(&self.id)
            .await
            .map_err(|e| into_gql(e.into()))?
            .unwrap_or_else(|| Profile {
                user_id: self.id.to_string(),
                ..Profile::default()
            });
        Ok(ProfileView(profile))
    }
}

/// A user's private profile: visible only to that user.
pub struct ProfileView(Profile);

/// Preferences that personalise the catalog.
#[derive(SimpleObject)]
pub struct Preferences {
    /// Categories shown first in recommendations.
    pub favorite_categories: Vec<String>,
}

/// A user's private profile: visible only to that user.
#[Object(name = "Profile")]
impl ProfileView {
    /// Name shown on orders and reviews.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// Default shipping address.
    async fn shipping_address(&self) -> Option<&Address> {
        self.0.shipping_address.as_ref()
    }
    /// Buyer preferences.
    async fn preferences(&self) -> Preferences {
        Preferences {
            favorite_categories: self.0.favorite_categories.clone(),
        }
    }
    /// Merchant information (sellers).
    async fn merchant(&self) -> Option<&MerchantInfo> {
        self.0.merchant.as_ref()
    }
}

/// A seller's public view.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Seller {
    /// The seller's user id.
    pub id: ID,
    /// Store name, once the seller has set it.
    pub store_name: Option<String>,
    /// Store description, once the seller has set it.
    pub description: Option<String>,
}

impl Seller {
    pub fn from_profile(p: &Profile) -> Self {
        Self {
            id: ID(p.user_id.clone()),
            store_name: p.merchant.as_ref().map(|m| m.store_name.clone()),
            description: p.merchant.as_ref().and_then(|m| m.description.clone()),
        }
    }

    /// A seller with no profile yet.
    pub fn bare(id: &str) -> Self {
        Self {
            id: ID(id.to_string()),
            store_name: None,
            description: None,
        }
    }
}

/// Loads a seller's public view through the request-wide batcher.
pub async fn load_seller(ctx: &Context<'_>, seller_id: &str) -> Result<Seller> {
    let loader = ctx.data::<DataLoader<SellerLoader>>()?;
    let found = loader.load_one(seller_id.to_string()).await.map_err(|e| {
        into_gql(ApiError::from(crate::StoreError::Unavailable(
            e.to_string(),
        )))
    })?;
    Ok(found.unwrap_or_else(|| Seller::bare(seller_id)))
}

/// A partial profile change: an omitted field is kept, an explicit null clears it.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// Display name, 1 to 100 characters.
    pub display_name: MaybeUndefined<String>,
    /// Default shipping address.
    pub shipping_address: MaybeUndefined<Address>,
}

/// Buyer preferences (replaces the previous ones).
#[derive(InputObject)]
pub struct PreferencesInput {
    /// At most 20 categories, each 1 to 100 characters.
    pub favorite_categories: Vec<String>,
}

/// Public merchant information.
#[derive(InputObject)]
pub struct MerchantInfoInput {
    /// Store name, 1 to 100 characters.
    pub store_name: String,
    /// Store description, at most 2000 characters.
    pub description: Option<String>,
}

fn store<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<dyn ProfileStore>> {
    ctx.data::<Arc<dyn ProfileStore>>()
}

/// Reads of one's own profile and of public seller views.
#[derive(Default)]
pub struct ProfilesQuery;

#[Object]
impl ProfilesQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let viewer = guard::viewer(ctx).map_err(into_gql)?;
        Ok(Me {
            id: ID(viewer.subject.clone()),
            email: viewer.email.clone(),
            roles: viewer.roles.clone(),
        })
    }

    /// A seller's public merchant view.
    async fn seller(&self, ctx: &Context<'_>, id: ID) -> Result<Seller> {
        if id.is_empty() || id.len() > 200 {
            return Err(into_gql(ApiError::bad_input("id", "is not a user id")));
        }
        load_seller(ctx, &id).await
    }
}

/// Writes to the caller's own profile.
#[derive(Default)]
pub struct ProfilesMutation;

impl ProfilesMutation {
    async fn apply(ctx: &Context<'_>, update: ProfileUpdate) -> Result<Me> {
        let viewer = guard::viewer(ctx).map_err(into_gql)?;
        store(ctx)?
            .update(&viewer.subject, update)
            .await
            .map_err(|e| into_gql(e.into()))?;
        Ok(Me {
            id: ID(viewer.subject.clone()),
            email: viewer.email.clone(),
            roles: viewer.roles.clone(),
        })
    }
}

#[Object]
impl ProfilesMutation {
    /// Changes the caller's display name and shipping address.
    async fn update_my_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<Me> {
        guard::viewer(ctx).map_err(into_gql)?;
        let mut checks = Checks::new("input");
        let mut update = ProfileUpdate::default();
        match input.display_name {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => update.display_name = Some(None),
            MaybeUndefined::Value(v) => {
                update.display_name = Some(Some(checks.text(
                    "displayName",
                    &v,
                    1,
                    DISPLAY_NAME_MAX_CHARS,
                )));
            }
        }
        match input.shipping_address {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => update.shipping_address = Some(None),
            MaybeUndefined::Value(a) => {
                update.shipping_address = Some(Some(a.checked(&mut checks, "shippingAddress")));
            }
        }
        let update = checks.finish(update).map_err(violations_into_gql)?;
        Self::apply(ctx, update).await
    }

    /// Replaces the caller's buyer preferences.
    async fn update_my_preferences(
        &self,
        ctx: &Context<'_>,
        input: PreferencesInput,
    ) -> Result<Me> {
        guard::viewer(ctx).map_err(into_gql)?;
        let mut checks = Checks::new("input");
        if input.favorite_categories.len() > FAVORITE_CATEGORIES_MAX {
            checks.fail(
                "favoriteCategories",
                format!("must hold at most {FAVORITE_CATEGORIES_MAX} categories"),
            );
        }
        let mut categories: Vec<String> = input
            .favorite_categories
            .iter()
            .enumerate()
            .map(|(i, c)| checks.text(&format!("favoriteCategories.{i}"), c, 1, 100))
            .collect();
        let mut seen = std::collections::HashSet::new();
        categories.retain(|c| seen.insert(c.clone()));
        let categories = checks.finish(categories).map_err(violations_into_gql)?;
        Self::apply(
            ctx,
            ProfileUpdate {
                favorite_categories: Some(categories),
                ..ProfileUpdate::default()
            },
        )
        .await
    }

    /// Sets the caller's public merchant information (seller role).
    async fn update_merchant_info(
        &self,
        ctx: &Context<'_>,
        input: MerchantInfoInput,
    ) -> Result<Me> {
        guard::require_role(ctx, Role::Seller).map_err(into_gql)?;
        let mut checks = Checks::new("input");
        let merchant = MerchantInfo {
            store_name: checks.text("storeName", &input.store_name, 1, STORE_NAME_MAX_CHARS),
            description: input
                .description
                .map(|d| checks.text("description", &d, 0, STORE_DESCRIPTION_MAX_CHARS))
                .filter(|d| !d.is_empty()),
        };
        let merchant = checks.finish(merchant).map_err(violations_into_gql)?;
        Self::apply(
            ctx,
            ProfileUpdate {
                merchant: Some(merchant),
                ..ProfileUpdate::default()
            },
        )
        .await
    }
}
