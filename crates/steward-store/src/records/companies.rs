use uuid::Uuid;

/// A company: an organisation, kept in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyRow {
    pub id: Uuid,
    pub name: String,
    /// Lower-cased, without a scheme or a path.
    pub domain: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Sorted slugs.
    pub tags: Vec<String>,
    /// The staff account that looks after it.
    pub owner_id: Option<Uuid>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// How many customers belong to it, as read; ignored when written.
    pub members: i64,
}

/// What a company list is sorted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompanyOrder {
    #[default]
    Name,
    Created,
    Updated,
    /// The owner's display name; companies without an owner last.
    Owner,
}

#[derive(Debug, Clone, Default)]
pub struct CompanyFilter {
    pub tag: Option<String>,
    /// Companies whose lower-cased name starts with this, already lower-cased.
    pub name_prefix: Option<String>,
    pub order: CompanyOrder,
    pub descending: bool,
    pub offset: u64,
    pub limit: usize,
}

/// What adding a customer to a company found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    Added,
    /// The customer belongs to this company already; nothing written.
    Already,
    /// The customer belongs to another company; nothing written.
    Elsewhere(Uuid),
}
