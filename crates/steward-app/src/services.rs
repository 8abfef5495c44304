//! The use cases, grouped into services by mechanism: `steward.consent().record(...)`.
//! Each service is a borrowed view of the application; its methods live beside the mechanism
//! they belong to (named on each type), so this file is the map from a service to its folder.

use std::sync::Arc;

use crate::Steward;

/// Customers: create, read, correct, list, count, import and export, each value through the catalog and sealed with the customer's key.
///
/// Lives in `collection/customers, collection/import, collection/export`.
#[derive(Clone, Copy)]
pub struct Customers<'a> {
    pub(crate) app: &'a Steward,
}

/// A customer's interaction history: add and list.
///
/// Lives in `collection/interactions.rs`.
#[derive(Clone, Copy)]
pub struct Interactions<'a> {
    pub(crate) app: &'a Steward,
}

/// Companies, kept in clear, with an owner among the staff and the customers that belong
/// to them.
///
/// Lives in `collection/companies.rs`.
#[derive(Clone, Copy)]
pub struct Companies<'a> {
    pub(crate) app: &'a Steward,
}

/// Tasks and reminders on a customer, and each staff member's open ones.
///
/// Lives in `collection/tasks.rs`.
#[derive(Clone, Copy)]
pub struct Tasks<'a> {
    pub(crate) app: &'a Steward,
}

/// A customer's timeline: interactions, consent changes, requests, tasks and accesses in
/// one list, newest first.
///
/// Lives in `collection/timeline.rs`.
#[derive(Clone, Copy)]
pub struct Timeline<'a> {
    pub(crate) app: &'a Steward,
}

/// Staff as others see them: display names, and who a task can be for.
///
/// Lives in `security/staff.rs`.
#[derive(Clone, Copy)]
pub struct Staff<'a> {
    pub(crate) app: &'a Steward,
}

/// The consent ledger: record decisions and their receipts, read current and past consents, honour GPC and objections, expire lapsed consents.
///
/// Lives in `consent/`.
#[derive(Clone, Copy)]
pub struct Consents<'a> {
    pub(crate) app: &'a Steward,
}

/// Versioned privacy notices: draft, publish, and read the one in force.
///
/// Lives in `consent/notices.rs`.
#[derive(Clone, Copy)]
pub struct Notices<'a> {
    pub(crate) app: &'a Steward,
}

/// Emailed links: confirm a consent (double opt-in) and unsubscribe.
///
/// Lives in `consent/double_opt_in.rs, consent/unsubscribe.rs`.
#[derive(Clone, Copy)]
pub struct Links<'a> {
    pub(crate) app: &'a Steward,
}

/// Public sign-up forms and the sealed sign-ups they leave until confirmed.
///
/// Lives in `consent/forms.rs, consent/signups.rs`.
#[derive(Clone, Copy)]
pub struct Forms<'a> {
    pub(crate) app: &'a Steward,
}

/// The privacy portal's sign-in and what a signed-in customer reads about themselves.
///
/// Lives in `rights/portal.rs`.
#[derive(Clone, Copy)]
pub struct Portal<'a> {
    pub(crate) app: &'a Steward,
}

/// The rights a signed-in customer exercises themselves: correct, change address, object, restrict, withdraw, erase.
///
/// Lives in `rights/portal_rights.rs`.
#[derive(Clone, Copy)]
pub struct OwnRights<'a> {
    pub(crate) app: &'a Steward,
}

/// The request desk: staff take in, verify, extend, deny and complete data-subject requests.
///
/// Lives in `rights/requests/`.
#[derive(Clone, Copy)]
pub struct Requests<'a> {
    pub(crate) app: &'a Steward,
}

/// Erasure and the subject's export, as carried out by staff.
///
/// Lives in `rights/erasure.rs, rights/subject_export.rs`.
#[derive(Clone, Copy)]
pub struct Rights<'a> {
    pub(crate) app: &'a Steward,
}

/// Retention rules, what falls due, and the sweeper's runs.
///
/// Lives in `retention/`.
#[derive(Clone, Copy)]
pub struct Retention<'a> {
    pub(crate) app: &'a Steward,
}

/// Legal holds that keep records past their rule.
///
/// Lives in `retention/holds.rs`.
#[derive(Clone, Copy)]
pub struct Holds<'a> {
    pub(crate) app: &'a Steward,
}

/// Campaigns sent to consenting audiences: made, previewed, test-sent to the staff
/// member's own address, scheduled, sent, and counted over time.
///
/// Lives in `campaigns/campaign.rs, campaigns/preview.rs, campaigns/test_send.rs,
/// campaigns/schedule.rs, campaigns/results.rs`.
#[derive(Clone, Copy)]
pub struct Campaigns<'a> {
    pub(crate) app: &'a Steward,
}

/// Saved segments and the audiences they resolve to.
///
/// Lives in `campaigns/segments.rs, campaigns/audience.rs`.
#[derive(Clone, Copy)]
pub struct Segments<'a> {
    pub(crate) app: &'a Steward,
}

/// Staff accounts and API tokens.
///
/// Lives in `security/accounts.rs`.
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    pub(crate) app: &'a Steward,
}

/// Staff sign-in, console sessions and token checks.
///
/// Lives in `security/sign_in.rs, security/accounts.rs`.
#[derive(Clone, Copy)]
pub struct Sessions<'a> {
    pub(crate) app: &'a Steward,
}

/// The tamper-evident audit log: read, search, verify, witness, and who a breach reached.
///
/// Lives in `security/audit_log.rs, security/audit_witness.rs, security/breaches/scope.rs`.
#[derive(Clone, Copy)]
pub struct Audit<'a> {
    pub(crate) app: &'a Steward,
}

/// The security self-audit: run every check over the installation and report the findings.
///
/// Lives in `security/self_audit/`.
#[derive(Clone, Copy)]
pub struct SelfAudit<'a> {
    pub(crate) app: &'a Steward,
}

/// The mail outbox: deliver what is due.
///
/// Lives in `infra/mail/outbox.rs`.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    pub(crate) app: &'a Steward,
}

/// Keys: rotate the key-encryption key and rewrap every key onto the new version, retire
/// old versions, mark versions compromised, report their state, and sweep the customer keys
/// no customer row owns.
///
/// Lives in `security/keys/`.
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    pub(crate) app: &'a Steward,
}

/// The breach register: breaches opened from the response plan, their phases and
/// checklist, who they affected, and the notices owed to the authority and to customers.
///
/// Lives in `security/breaches/`.
#[derive(Clone, Copy)]
pub struct Breaches<'a> {
    pub(crate) app: &'a Steward,
}

/// The vendor register: vendors, their reviews, what needs the privacy officer's attention,
/// and each vendor's webhook endpoint.
///
/// Lives in `sharing/vendors.rs` and `sharing/webhooks/endpoint.rs`.
#[derive(Clone, Copy)]
pub struct Vendors<'a> {
    pub(crate) app: &'a Steward,
}

/// Data-sharing agreements with vendors.
///
/// Lives in `sharing/agreements.rs`.
#[derive(Clone, Copy)]
pub struct Agreements<'a> {
    pub(crate) app: &'a Steward,
}

/// Shares with vendors: the one way personal data leaves for a third party, its signed
/// document, its webhook deliveries, and who received a customer's data.
///
/// Lives in `sharing/shares.rs`, `sharing/disclosures.rs` and `sharing/webhooks/outbox.rs`.
#[derive(Clone, Copy)]
pub struct Shares<'a> {
    pub(crate) app: &'a Steward,
}

/// Recipients told of changes (Art. 19): the notices to the vendors that received a
/// customer's data, read and moved on as they are sent, acknowledged, fail or prove impossible.
///
/// Lives in `sharing/recipient_notices.rs`.
#[derive(Clone, Copy)]
pub struct RecipientNotices<'a> {
    pub(crate) app: &'a Steward,
}

/// The webhook outbox: deliver what is due to vendors' endpoints.
///
/// Lives in `sharing/webhooks/outbox.rs`.
#[derive(Clone, Copy)]
pub struct Webhooks<'a> {
    pub(crate) app: &'a Steward,
}

/// Cross-border transfers: the adequacy findings applied, and where a vendor's data may go.
///
/// Lives in `transfers/`.
#[derive(Clone, Copy)]
pub struct Transfers<'a> {
    pub(crate) app: &'a Steward,
}

/// The record of processing activities (Art. 30), built from the catalog, the register, its
/// agreements and the retention rules.
///
/// Lives in `records/`.
#[derive(Clone, Copy)]
pub struct Records<'a> {
    pub(crate) app: &'a Steward,
}

/// Personalization the customer controls: the level they choose, the profile attributes
/// read only through the gate (I8), recommendations that say why, the offer book, and the
/// recompute of what is derived from behaviour for customers at full.
///
/// Lives in `personalization/`.
#[derive(Clone, Copy)]
pub struct Personalization<'a> {
    pub(crate) app: &'a Steward,
}

/// The background loops `steward serve` runs until it stops. Each owns the application, so
/// it can be spawned.
///
/// Lives beside its mechanism: mail (`infra/mail/outbox.rs`), webhooks
/// (`sharing/webhooks/outbox.rs`), consent expiry, sign-up sweeping,
/// retention sweeps, the audit indexer, the audit witness, the breach clock
/// (`security/breaches/alerts.rs`), the recompute of profiles
/// (`personalization/recompute.rs`) and scheduled campaigns (`campaigns/schedule.rs`).
pub struct Jobs {
    pub(crate) app: Arc<Steward>,
}

impl Steward {
    pub fn customers(&self) -> Customers<'_> {
        Customers { app: self }
    }

    pub fn interactions(&self) -> Interactions<'_> {
        Interactions { app: self }
    }

    pub fn companies(&self) -> Companies<'_> {
        Companies { app: self }
    }

    pub fn tasks(&self) -> Tasks<'_> {
        Tasks { app: self }
    }

    pub fn timeline(&self) -> Timeline<'_> {
        Timeline { app: self }
    }

    pub fn staff(&self) -> Staff<'_> {
        Staff { app: self }
    }

    pub fn consent(&self) -> Consents<'_> {
        Consents { app: self }
    }

    pub fn notices(&self) -> Notices<'_> {
        Notices { app: self }
    }

    pub fn links(&self) -> Links<'_> {
        Links { app: self }
    }

    pub fn forms(&self) -> Forms<'_> {
        Forms { app: self }
    }

    pub fn portal(&self) -> Portal<'_> {
        Portal { app: self }
    }

    pub fn own_rights(&self) -> OwnRights<'_> {
        OwnRights { app: self }
    }

    pub fn requests(&self) -> Requests<'_> {
        Requests { app: self }
    }

    pub fn rights(&self) -> Rights<'_> {
        Rights { app: self }
    }

    pub fn retention(&self) -> Retention<'_> {
        Retention { app: self }
    }

    pub fn holds(&self) -> Holds<'_> {
        Holds { app: self }
    }

    pub fn campaigns(&self) -> Campaigns<'_> {
        Campaigns { app: self }
    }

    pub fn segments(&self) -> Segments<'_> {
        Segments { app: self }
    }

    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { app: self }
    }

    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { app: self }
    }

    pub fn audit(&self) -> Audit<'_> {
        Audit { app: self }
    }

    pub fn self_audit(&self) -> SelfAudit<'_> {
        SelfAudit { app: self }
    }

    pub fn outbox(&self) -> Outbox<'_> {
        Outbox { app: self }
    }

    pub fn keys(&self) -> Keys<'_> {
        Keys { app: self }
    }

    pub fn breaches(&self) -> Breaches<'_> {
        Breaches { app: self }
    }

    pub fn vendors(&self) -> Vendors<'_> {
        Vendors { app: self }
    }

    pub fn agreements(&self) -> Agreements<'_> {
        Agreements { app: self }
    }

    pub fn shares(&self) -> Shares<'_> {
        Shares { app: self }
    }

    pub fn recipient_notices(&self) -> RecipientNotices<'_> {
        RecipientNotices { app: self }
    }

    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { app: self }
    }

    pub fn transfers(&self) -> Transfers<'_> {
        Transfers { app: self }
    }

    pub fn records(&self) -> Records<'_> {
        Records { app: self }
    }

    pub fn personalization(&self) -> Personalization<'_> {
        Personalization { app: self }
    }

    pub fn jobs(self: &Arc<Self>) -> Jobs {
        Jobs {
            app: Arc::clone(self),
        }
    }
}
