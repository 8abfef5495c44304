//! Append-only migrations, one folder per engine. A migration, once released, is never edited:
//! a change is a new file.

pub(crate) const SQLITE: &[(u32, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_login_state.sql")),
    (3, include_str!("../migrations/sqlite/0003_idempotency.sql")),
    (
        4,
        include_str!("../migrations/sqlite/0004_session_activity.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_consent_ledger.sql"),
    ),
    (6, include_str!("../migrations/sqlite/0006_notices.sql")),
    (7, include_str!("../migrations/sqlite/0007_mail.sql")),
    (8, include_str!("../migrations/sqlite/0008_campaigns.sql")),
    (
        9,
        include_str!("../migrations/sqlite/0009_audience_indexes.sql"),
    ),
    (10, include_str!("../migrations/sqlite/0010_portal.sql")),
    (11, include_str!("../migrations/sqlite/0011_quotas.sql")),
    (12, include_str!("../migrations/sqlite/0012_requests.sql")),
    (13, include_str!("../migrations/sqlite/0013_retention.sql")),
    (
        14,
        include_str!("../migrations/sqlite/0014_audit_targets.sql"),
    ),
    (
        15,
        include_str!("../migrations/sqlite/0015_signed_heads.sql"),
    ),
    (16, include_str!("../migrations/sqlite/0016_no_lockout.sql")),
    (17, include_str!("../migrations/sqlite/0017_signups.sql")),
    (18, include_str!("../migrations/sqlite/0018_vendors.sql")),
    (19, include_str!("../migrations/sqlite/0019_shares.sql")),
    (20, include_str!("../migrations/sqlite/0020_webhooks.sql")),
    (
        21,
        include_str!("../migrations/sqlite/0021_recipient_notices.sql"),
    ),
    (
        22,
        include_str!("../migrations/sqlite/0022_notice_webhooks.sql"),
    ),
    (23, include_str!("../migrations/sqlite/0023_breaches.sql")),
    (
        24,
        include_str!("../migrations/sqlite/0024_audit_window.sql"),
    ),
    (
        25,
        include_str!("../migrations/sqlite/0025_personalization.sql"),
    ),
    (
        26,
        include_str!("../migrations/sqlite/0026_interaction_facets.sql"),
    ),
    (
        27,
        include_str!("../migrations/sqlite/0027_objection_index.sql"),
    ),
    (
        28,
        include_str!("../migrations/sqlite/0028_consent_proofs.sql"),
    ),
    (29, include_str!("../migrations/sqlite/0029_job_leases.sql")),
    (
        30,
        include_str!("../migrations/sqlite/0030_login_throttle.sql"),
    ),
    (
        31,
        include_str!("../migrations/sqlite/0031_customer_merges.sql"),
    ),
    (32, include_str!("../migrations/sqlite/0032_list_order.sql")),
    (33, include_str!("../migrations/sqlite/0033_tasks.sql")),
    (
        34,
        include_str!("../migrations/sqlite/0034_campaign_schedule.sql"),
    ),
    (
        35,
        include_str!("../migrations/sqlite/0035_saved_views.sql"),
    ),
    (
        36,
        include_str!("../migrations/sqlite/0036_customer_owner.sql"),
    ),
    (37, include_str!("../migrations/sqlite/0037_companies.sql")),
    (
        38,
        include_str!("../migrations/sqlite/0038_webhook_subscriptions.sql"),
    ),
    (
        39,
        include_str!("../migrations/sqlite/0039_campaign_lease.sql"),
    ),
];
pub(crate) const POSTGRES: &[(u32, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_login_state.sql"),
    ),
    (
        3,
        include_str!("../migrations/postgres/0003_idempotency.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_session_activity.sql"),
    ),
    (
        5,
        include_str!("../migrations/postgres/0005_consent_ledger.sql"),
    ),
    (6, include_str!("../migrations/postgres/0006_notices.sql")),
    (7, include_str!("../migrations/postgres/0007_mail.sql")),
    (8, include_str!("../migrations/postgres/0008_campaigns.sql")),
    (
        9,
        include_str!("../migrations/postgres/0009_audience_indexes.sql"),
    ),
    (10, include_str!("../migrations/postgres/0010_portal.sql")),
    (11, include_str!("../migrations/postgres/0011_quotas.sql")),
    (12, include_str!("../migrations/postgres/0012_requests.sql")),
    (
        13,
        include_str!("../migrations/postgres/0013_retention.sql"),
    ),
    (
        14,
        include_str!("../migrations/postgres/0014_audit_targets.sql"),
    ),
    (
        15,
        include_str!("../migrations/postgres/0015_signed_heads.sql"),
    ),
    (
        16,
        include_str!("../migrations/postgres/0016_no_lockout.sql"),
    ),
    (17, include_str!("../migrations/postgres/0017_signups.sql")),
    (18, include_str!("../migrations/postgres/0018_vendors.sql")),
    (19, include_str!("../migrations/postgres/0019_shares.sql")),
    (20, include_str!("../migrations/postgres/0020_webhooks.sql")),
    (
        21,
        include_str!("../migrations/postgres/0021_recipient_notices.sql"),
    ),
    (
        22,
        include_str!("../migrations/postgres/0022_notice_webhooks.sql"),
    ),
    (23, include_str!("../migrations/postgres/0023_breaches.sql")),
    (
        24,
        include_str!("../migrations/postgres/0024_audit_window.sql"),
    ),
    (
        25,
        include_str!("../migrations/postgres/0025_personalization.sql"),
    ),
    (
        26,
        include_str!("../migrations/postgres/0026_interaction_facets.sql"),
    ),
    (
        27,
        include_str!("../migrations/postgres/0027_objection_index.sql"),
    ),
    (
        28,
        include_str!("../migrations/postgres/0028_consent_proofs.sql"),
    ),
    (
        29,
        include_str!("../migrations/postgres/0029_job_leases.sql"),
    ),
    (
        30,
        include_str!("../migrations/postgres/0030_login_throttle.sql"),
    ),
    (
        31,
        include_str!("../migrations/postgres/0031_customer_merges.sql"),
    ),
    (
        32,
        include_str!("../migrations/postgres/0032_list_order.sql"),
    ),
    (33, include_str!("../migrations/postgres/0033_tasks.sql")),
    (
        34,
        include_str!("../migrations/postgres/0034_campaign_schedule.sql"),
    ),
    (
        35,
        include_str!("../migrations/postgres/0035_saved_views.sql"),
    ),
    (
        36,
        include_str!("../migrations/postgres/0036_customer_owner.sql"),
    ),
    (
        37,
        include_str!("../migrations/postgres/0037_companies.sql"),
    ),
    (
        38,
        include_str!("../migrations/postgres/0038_webhook_subscriptions.sql"),
    ),
    (
        39,
        include_str!("../migrations/postgres/0039_campaign_lease.sql"),
    ),
];

/// The key store's own database, when it is in PostgreSQL; numbered apart from the data's.
pub(crate) const KEYSTORE_POSTGRES: &[(u32, &str)] = &[(
    1,
    include_str!("../migrations/keystore-postgres/0001_keystore.sql"),
)];
