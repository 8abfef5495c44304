//! Double opt-in. Giving a purpose that the catalog marks `confirm_by_email` records
//! `requested` and emails a single-use link; following the link records `given`, as the
//! customer, with the notice version and method of the original request.

use steward_core::PurposeDef;
use steward_core::audit::AuditRecord;
use steward_core::consent::{ConsentMethod, ConsentState, Moment};
use steward_core::sealed_fields::SealedFields;
use steward_store::{ChangeSet, ConsentEvent, CustomerRow, MailLink, OutboxRow, SpentLink};
use steward_vault::DataKey;
use uuid::Uuid;

use crate::consent::ledger::{ConsentEventView, ConsentInput, Evidence};
use crate::infra::mail::{Letter, LinkToken, hash_token};
use crate::services::Links;
use crate::{AppError, Steward};

/// How long a confirmation link works.
const CONFIRM_WITHIN_DAYS: i64 = 7;
pub(crate) const CONFIRM: &str = "confirm";

/// When confirmation links made at `now` stop working.
pub(crate) fn confirm_by(now: i64) -> i64 {
    now.saturating_add(steward_store::days_in_micros(CONFIRM_WITHIN_DAYS))
}

/// What an emailed link is for, as its page shows it before the customer acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub purpose: String,
    pub purpose_name: String,
    pub description: String,
    /// False once used (for single-use links) or expired.
    pub usable: bool,
}

impl Steward {
    /// Where to send the confirmation of `input`: the address it brings, or the one stored.
    pub(crate) async fn confirmation_address(
        &self,
        row: &CustomerRow,
        input: &ConsentInput,
    ) -> Result<(DataKey, String), AppError> {
        let field = self
            .catalog
            .email_field(&input.purpose)
            .ok_or_else(|| AppError::Setup(format!("{} has no email field", input.purpose)))?;
        let dek = self.data_key(row.id).await?;
        if let Some(given) = input.fields.get(&field.key) {
            return Ok((dek, given.trim().to_string()));
        }
        let sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        let stored = sealed.get(&field.key).ok_or_else(|| {
            AppError::invalid(
                format!("fields.{}", field.key),
                "is needed: this consent is confirmed through a link sent by email",
            )
        })?;
        let address = dek
            .open_string(&field.key, stored)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        Ok((dek, address))
    }

    /// Adds to `changes` a confirmation link for each purpose and one message that carries
    /// them all.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ask_for_confirmation(
        &self,
        dek: &DataKey,
        address: String,
        purposes: &[&PurposeDef],
        notice_version: Option<&str>,
        method: ConsentMethod,
        now: i64,
        changes: &mut ChangeSet,
    ) -> Result<(), AppError> {
        let customer = dek.customer();
        let (message, mut links) =
            self.confirmation_mail(dek, address, purposes, notice_version, method, now)?;
        changes.mail.push(message);
        changes.links.append(&mut links);
        changes.audit.push(AuditRecord {
            at: now,
            actor: format!("customer:{customer}"),
            role: "customer".into(),
            action: "mail.queue".into(),
            purpose: purposes.first().map(|p| p.key.clone()),
            targets: vec![customer.to_string()],
            fields: vec![],
            detail: Some(format!(
                "consent confirmation for {}",
                purposes
                    .iter()
                    .map(|p| p.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        });
        Ok(())
    }

    /// A confirmation link for each purpose, acting for the owner of `dek`, and one message
    /// sealed under it that carries them all.
    pub(crate) fn confirmation_mail(
        &self,
        dek: &DataKey,
        address: String,
        purposes: &[&PurposeDef],
        notice_version: Option<&str>,
        method: ConsentMethod,
        now: i64,
    ) -> Result<(OutboxRow, Vec<MailLink>), AppError> {
        let mut links = Vec::new();
        let mut lines = String::new();
        for purpose in purposes {
            let token = LinkToken::new();
            links.push(MailLink {
                token_hash: token.hash,
                kind: CONFIRM.into(),
                customer_id: dek.customer(),
                purpose: purpose.key.clone(),
                notice_version: notice_version.map(str::to_string),
                method: method.as_str().into(),
                campaign_id: None,
                created_at: now,
                expires_at: confirm_by(now),
                used_at: None,
            });
            let link = self
                .mailer
                .url(&format!("/consent/confirm/{}", token.token));
            lines.push_str(&format!(
                "{name}\n{description}\nTo confirm, open this link: {link}\n\n",
                name = purpose.name,
                description = purpose.description,
            ));
        }
        let subject = match purposes {
            [one] => format!("Please confirm: {}", one.name),
            _ => "Please confirm your choices".to_string(),
        };
        let letter = Letter {
            to: address,
            subject,
            text: format!(
                "You asked us for this:\n\n{lines}\
                 The links work for {CONFIRM_WITHIN_DAYS} days. If it was not you, ignore this \
                 message: without your confirmation nothing changes.\n"
            ),
            unsubscribe: None,
        };
        Ok((self.outbox_row(dek, CONFIRM, None, &letter, now)?, links))
    }

    /// A link of `kind` by its token; `NotFound` when there is none.
    pub(crate) async fn mail_link(&self, token: &str, kind: &str) -> Result<MailLink, AppError> {
        let link = self
            .store
            .find_link(&hash_token(token))
            .await?
            .filter(|l| l.kind == kind)
            .ok_or(AppError::NotFound)?;
        Ok(link)
    }

    pub(crate) fn link_view(&self, link: &MailLink, usable: bool) -> Result<LinkView, AppError> {
        let purpose = self.catalog.purpose(&link.purpose).ok_or_else(|| {
            AppError::corrupt(format!("link for unknown purpose {}", link.purpose))
        })?;
        Ok(LinkView {
            purpose: purpose.key.clone(),
            purpose_name: purpose.name.clone(),
            description: purpose.description.clone(),
            usable,
        })
    }

    async fn confirm_link(
        &self,
        token: &str,
        evidence: &Evidence,
        gpc: bool,
    ) -> Result<ConsentEventView, AppError> {
        let link = self.mail_link(token, CONFIRM).await?;
        let now = self.clock.now().as_microsecond();
        if link.used_at.is_some() || link.expires_at <= now {
            return Err(AppError::LinkSpent);
        }
        // Asked under a notice that a material change has since replaced: the customer must
        // be asked again under the one in force.
        if self
            .consent_moment()
            .await?
            .given_since
            .is_some_and(|since| link.created_at < since)
        {
            return Err(AppError::LinkSpent);
        }
        // A link mailed for a sign-up from a public form acts for the sign-up, not (yet) for
        // a customer.
        if let Some(signup) = self.store.signup(link.customer_id).await? {
            return self
                .confirm_signup(&link, &signup, evidence, gpc, now)
                .await;
        }
        let validity = self
            .catalog
            .purpose(&link.purpose)
            .and_then(|p| p.consent_valid_days);
        let event = ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: link.customer_id,
            purpose: link.purpose.clone(),
            state: ConsentState::Given.as_str().into(),
            notice_version: link.notice_version.clone(),
            method: link.method.clone(),
            evidence: self.hash_evidence(evidence)?,
            at: now,
            expires_at: validity
                .map(|days| now.saturating_add(steward_store::days_in_micros(i64::from(days)))),
        };
        let lifted = self
            .suppression_lifted_by_confirming(link.customer_id)
            .await?;
        let audit = self.subject_record(
            link.customer_id,
            "consent.confirm",
            &link.purpose,
            vec![
                link.customer_id.to_string(),
                format!("consent:{}", event.id),
            ],
            vec![],
            Some(format!(
                "purpose={} state=given method={}{}",
                link.purpose,
                link.method,
                if lifted.is_some() {
                    " suppression=lifted"
                } else {
                    ""
                }
            )),
        );
        let view = crate::consent::ledger::event_view(event.clone(), Moment::at(now))?;
        let changes = ChangeSet {
            spend_link: Some(SpentLink {
                token_hash: link.token_hash,
                at: now,
            }),
            consents: vec![event],
            audit: vec![audit],
            unsuppress: lifted.into_iter().collect(),
            ..Default::default()
        };
        self.commit_confirmation(link.customer_id, changes, evidence, gpc)
            .await
            // Spent by a second click that won the race.
            .map_err(|e| match e {
                AppError::NotFound => AppError::LinkSpent,
                other => other,
            })?;
        Ok(view)
    }

    /// Commits a followed link's changes. Following it shows the address is the customer's,
    /// so a Global Privacy Control signal sent with it counts for them too: what it withdraws
    /// commits with the confirmation, never one without the other.
    pub(crate) async fn commit_confirmation(
        &self,
        customer: Uuid,
        changes: ChangeSet,
        evidence: &Evidence,
        gpc: bool,
    ) -> Result<(), AppError> {
        if !gpc {
            self.store.apply(changes).await?;
            return Ok(());
        }
        let access = self.subject_access(customer)?;
        let withdrawals = if changes.inserts.iter().any(|w| w.row.id == customer) {
            self.gpc_withdrawals_for_new()
        } else {
            self.gpc_withdrawals(&access, customer).await?
        };
        self.record_decisions(
            &access,
            customer,
            withdrawals.into_iter().map(|w| (w, false)).collect(),
            evidence,
            changes,
        )
        .await?;
        Ok(())
    }
}

impl Links<'_> {
    /// The confirmation a link offers, for its page.
    pub async fn confirmation(&self, token: &str) -> Result<LinkView, AppError> {
        let link = self.app.mail_link(token, CONFIRM).await?;
        let now = self.app.clock.now().as_microsecond();
        self.app
            .link_view(&link, link.used_at.is_none() && link.expires_at > now)
    }

    /// Follows a confirmation link: the consent is given now. A link works once. Following it
    /// shows the address is the customer's, so a Global Privacy Control signal sent with it
    /// counts for them too, withdrawn in the same commit as the consent is given.
    pub async fn confirm(
        &self,
        token: &str,
        evidence: &Evidence,
        gpc: bool,
    ) -> Result<ConsentEventView, AppError> {
        self.app.confirm_link(token, evidence, gpc).await
    }
}
