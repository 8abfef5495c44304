//! What a profile may be derived from in an interaction, apart from its free text: the
//! product categories of an order or a visit, and the channel and engagement of a message.
//! Facets are sealed with the customer's key like the rest of the interaction, in a column of
//! their own so that deriving a profile never opens the body.

use serde::{Deserialize, Serialize};

use super::Book;
use crate::customer::InteractionKind;

/// At most this many categories on one interaction.
pub const MAX_CATEGORIES: usize = 8;

vocabulary!(
    /// How a message reached the customer.
    Channel {
        Email => "email",
        Sms => "sms",
        Push => "push",
        Web => "web",
        Phone => "phone",
        Post => "post",
    }
);

vocabulary!(
    /// How far the customer engaged with a message.
    Engagement {
        Delivered => "delivered",
        Opened => "opened",
        Clicked => "clicked",
    }
);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facets {
    /// Product category slugs of the catalog.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<Engagement>,
}

/// A facet refused, with the field it concerns (`facets.categories[1]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FacetError {
    pub field: String,
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> FacetError {
    FacetError {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Facets {
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.channel.is_none() && self.engagement.is_none()
    }

    /// Categories belong to orders and web visits, channel and engagement to emails and
    /// messages; each category must be one of the catalog's, named once.
    pub fn check(&self, kind: InteractionKind, book: &Book) -> Result<(), FacetError> {
        let takes_categories = matches!(kind, InteractionKind::Order | InteractionKind::WebVisit);
        let takes_channel = matches!(kind, InteractionKind::Email | InteractionKind::Message);
        if !self.categories.is_empty() && !takes_categories {
            return Err(refuse(
                "facets.categories",
                "only orders and web visits have product categories",
            ));
        }
        if self.categories.len() > MAX_CATEGORIES {
            return Err(refuse(
                "facets.categories",
                format!("at most {MAX_CATEGORIES} categories"),
            ));
        }
        for (i, c) in self.categories.iter().enumerate() {
            if !book.product_categories.iter().any(|p| &p.key == c) {
                return Err(refuse(
                    format!("facets.categories[{i}]"),
                    "must be a product category of the catalog",
                ));
            }
            if self.categories[..i].contains(c) {
                return Err(refuse(format!("facets.categories[{i}]"), "is named twice"));
            }
        }
        if self.channel.is_some() && !takes_channel {
            return Err(refuse(
                "facets.channel",
                "only emails and messages have a channel",
            ));
        }
        if self.engagement.is_some() && !takes_channel {
            return Err(refuse(
                "facets.engagement",
                "only emails and messages have an engagement",
            ));
        }
        Ok(())
    }
}
