//! Who a breach reached, from the audit log: the customers whose data the entries of a time
//! window read, exported, changed, shared or erased, narrowed by who acted, what they did,
//! which fields and which vendor. Entries are read by time through the indexes on `at` and
//! on `(actor, at)`, one actor at a time, a page at a time, so the answer costs the window's
//! entries, not the log's.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use steward_core::Role;
use steward_core::breach::{ScopeQuery, ScopeResult};
use steward_core::catalog::Sensitivity;
use steward_core::country::CountryCode;
use steward_store::{AuditWindow, WindowEntry};
use uuid::Uuid;

use crate::services::Audit;
use crate::{Actor, AppError, FieldError};

/// Entries read per page of a window.
const PAGE: usize = 5_000;

/// How an audit action reaches customer data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    Read,
    Export,
    Change,
    Share,
    Erase,
}

/// Every action the audit log is written with, and how it reaches customer data; `None` for
/// one that reaches none (an account, a vendor, a rule, a sign-in code). An action missing
/// here is not counted in any scope, so a new one must be added: a test writes every kind
/// of entry and fails on any action not listed.
const ACTIONS: &[(&str, Option<Touch>)] = &[
    ("customer.read", Some(Touch::Read)),
    ("customer.list", Some(Touch::Read)),
    ("customer.disclosures", Some(Touch::Read)),
    ("customer.recipient_notices", Some(Touch::Read)),
    ("customer.recipient_updates", Some(Touch::Read)),
    ("interaction.read", Some(Touch::Read)),
    ("interaction.list", Some(Touch::Read)),
    // Shows a correction's proposed value.
    ("request.read", Some(Touch::Read)),
    ("request.list", Some(Touch::Read)),
    ("portal.view", Some(Touch::Read)),
    // Opens the profile attributes a recommendation used.
    ("personalization.read", Some(Touch::Read)),
    // Mail is addressed from the customer's opened email address.
    ("campaign.send", Some(Touch::Read)),
    ("mail.queue", Some(Touch::Read)),
    ("customer.export", Some(Touch::Export)),
    ("portal.export", Some(Touch::Export)),
    ("audience.export", Some(Touch::Export)),
    ("customer.create", Some(Touch::Change)),
    ("customer.update", Some(Touch::Change)),
    ("customer.rectify", Some(Touch::Change)),
    ("customer.restrict", Some(Touch::Change)),
    ("objection.upheld", Some(Touch::Change)),
    ("customer.import", Some(Touch::Change)),
    ("customer.minimise", Some(Touch::Change)),
    ("interaction.create", Some(Touch::Change)),
    ("interaction.anonymise", Some(Touch::Change)),
    ("consent.record", Some(Touch::Change)),
    ("consent.confirm", Some(Touch::Change)),
    ("consent.unsubscribe", Some(Touch::Change)),
    ("consent.expire", Some(Touch::Change)),
    // Lowers or raises a level, and may delete the derived profile with it.
    ("personalization.level", Some(Touch::Change)),
    ("personalization.attribute.put", Some(Touch::Change)),
    ("personalization.attribute.delete", Some(Touch::Change)),
    ("personalization.attribute.allow", Some(Touch::Change)),
    // Opens the facets of interactions and writes the attributes derived from them.
    ("personalization.recompute", Some(Touch::Change)),
    // Keeps a proposed correction or a new address.
    ("request.create", Some(Touch::Change)),
    ("request.completed", Some(Touch::Change)),
    ("share.read", Some(Touch::Share)),
    ("share.deliver", Some(Touch::Share)),
    ("share.download", Some(Touch::Share)),
    ("recipient_notice.deliver", Some(Touch::Share)),
    // Opens each affected customer's address to tell them of a breach.
    ("breach.notify_customers", Some(Touch::Read)),
    ("customer.erase", Some(Touch::Erase)),
    ("interaction.delete", Some(Touch::Erase)),
    ("request.delete", Some(Touch::Erase)),
    // A count, the share's own record and a refusal: the customers are in `share.read`.
    ("audience.evaluate", None),
    ("share.create", None),
    ("share.document", None),
    ("share.refused", None),
    ("request.report", None),
    ("campaign.create", None),
    // Offers hold no personal data.
    ("offer.create", None),
    ("offer.retire", None),
    ("campaign.start", None),
    ("campaign.sent", None),
    ("segment.create", None),
    ("portal.code", None),
    ("portal.sign_in", None),
    ("portal.wrong_code", None),
    ("signup.hold", None),
    ("signup.expire", None),
    ("login.success", None),
    ("login.failed", None),
    ("logout.idle", None),
    ("user.create", None),
    ("user.update", None),
    ("user.password_reset", None),
    ("token.create", None),
    ("token.revoke", None),
    ("vendor.create", None),
    ("vendor.update", None),
    ("vendor.review", None),
    ("vendor.webhook.set", None),
    ("vendor.webhook.remove", None),
    ("agreement.create", None),
    ("agreement.update", None),
    ("notice.create", None),
    ("notice.publish", None),
    ("retention.rule.create", None),
    ("retention.rule.update", None),
    ("retention.run", None),
    // Proofs of consent are kept without the customer's id, and named only by their event.
    ("consent_proof.delete", None),
    ("retention.hold", None),
    ("retention.release", None),
    ("user.totp_enrol", None),
    ("security.audit.run", None),
    ("breach.open", None),
    ("breach.update", None),
    ("breach.step", None),
    ("breach.phase", None),
    ("breach.alert", None),
    ("breach.authority_notice", None),
    ("breach.scope", None),
];

/// How `action` reaches customer data: `Some(None)` for an action known to reach none,
/// `None` for one the scope of a breach does not know.
pub fn customer_touch(action: &str) -> Option<Option<Touch>> {
    ACTIONS.iter().find(|(a, _)| *a == action).map(|(_, t)| *t)
}

/// What the entries counted so far add up to.
#[derive(Default)]
struct Tally {
    records: u64,
    fields: BTreeSet<String>,
    /// Each record id met so far, with the customer's residency when it names one (`None`
    /// inside when the customer was erased since).
    known: HashMap<Uuid, Option<Option<String>>>,
}

impl Audit<'_> {
    /// Who a breach reached: the customers whose data the entries of the query's window
    /// read, exported, changed, shared or erased, with the fields and categories named and
    /// where those customers live. For the privacy officer, or the operator.
    ///
    /// `compromised_keys` says whether any key-encryption key version is marked compromised:
    /// the Art. 34(3)(a) exemption is offered only when none is. The key store marks them;
    /// the caller asks it, so that this answer stays a pure reading of the log.
    pub async fn scope(
        &self,
        actor: &Actor,
        query: &ScopeQuery,
        compromised_keys: bool,
    ) -> Result<ScopeResult, AppError> {
        if !matches!(actor.role, Role::Dpo | Role::System) {
            return Err(AppError::Forbidden(format!(
                "role {} may not work out who a breach reached",
                actor.role
            )));
        }
        let problems = query.problems();
        if !problems.is_empty() {
            return Err(AppError::Invalid(
                problems
                    .into_iter()
                    .map(|p| FieldError::new(p.field, p.message))
                    .collect(),
            ));
        }
        let counted: Vec<String> = ACTIONS
            .iter()
            .filter(|(action, touch)| {
                touch.is_some_and(|t| query.vendor_id.is_none() || t == Touch::Share)
                    && query.selects_action(action)
            })
            .map(|(action, _)| action.to_string())
            .collect();
        let (from, to) = (query.from.as_microsecond(), query.to.as_microsecond());
        // Sharing entries name the customers, not the vendor: a vendor's customers are those
        // any of its shares disclosed before the window ends. A customer shared with it
        // earlier and with another vendor in the window is counted too, erring on the side
        // of telling.
        let vendor: Option<HashSet<Uuid>> = match query.vendor_id {
            Some(v) => Some(
                self.app
                    .store
                    .disclosed_to(v, to)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            None => None,
        };
        let actors: Vec<Option<String>> = if query.actors.is_empty() {
            vec![None]
        } else {
            let distinct: BTreeSet<&String> = query.actors.iter().collect();
            distinct.into_iter().map(|a| Some(a.clone())).collect()
        };
        let mut tally = Tally::default();
        if !counted.is_empty() {
            for actor in actors {
                let window = AuditWindow {
                    from,
                    to,
                    actor,
                    actions: counted.clone(),
                };
                let mut after = (from, 0);
                loop {
                    let page = self.app.store.audit_window(&window, after, PAGE).await?;
                    let Some(last) = page.last() else { break };
                    after = (last.at, last.seq);
                    let full = page.len() == PAGE;
                    self.count(query, vendor.as_ref(), &page, &mut tally)
                        .await?;
                    if !full {
                        break;
                    }
                }
            }
        }
        self.result(tally, compromised_keys)
    }

    /// Adds the entries of one page that name a customer and a selected field.
    async fn count(
        &self,
        query: &ScopeQuery,
        vendor: Option<&HashSet<Uuid>>,
        page: &[WindowEntry],
        tally: &mut Tally,
    ) -> Result<(), AppError> {
        let catalog = self.app.catalog();
        let narrowed = !query.fields.is_empty() || !query.categories.is_empty();
        let mut kept: Vec<(Vec<Uuid>, Vec<&String>)> = Vec::with_capacity(page.len());
        for entry in page {
            let fields: Vec<&String> = entry
                .fields
                .iter()
                .filter(|f| query.selects_field(f, catalog.field(f).map(|d| d.category.as_str())))
                .collect();
            if narrowed && fields.is_empty() {
                continue;
            }
            // Targets name other records too (an interaction, a request, a consent event):
            // only those that turn out to be customers count.
            let ids: Vec<Uuid> = entry
                .targets
                .iter()
                .filter_map(|t| Uuid::try_parse(t).ok())
                .filter(|id| vendor.is_none_or(|v| v.contains(id)))
                .collect();
            if !ids.is_empty() {
                kept.push((ids, fields));
            }
        }
        let unseen: BTreeSet<Uuid> = kept
            .iter()
            .flat_map(|(ids, _)| ids)
            .filter(|id| !tally.known.contains_key(id))
            .copied()
            .collect();
        if !unseen.is_empty() {
            let unseen: Vec<Uuid> = unseen.into_iter().collect();
            let found: HashMap<Uuid, Option<String>> = self
                .app
                .store
                .residencies(&unseen)
                .await?
                .into_iter()
                .collect();
            for id in unseen {
                tally.known.insert(id, found.get(&id).cloned());
            }
        }
        for (ids, fields) in kept {
            if ids
                .iter()
                .any(|id| matches!(tally.known.get(id), Some(Some(_))))
            {
                tally.records += 1;
                tally.fields.extend(fields.into_iter().cloned());
            }
        }
        Ok(())
    }

    fn result(&self, tally: Tally, compromised_keys: bool) -> Result<ScopeResult, AppError> {
        let catalog = self.app.catalog();
        let mut affected = Vec::new();
        let mut by_country: BTreeMap<Option<CountryCode>, u64> = BTreeMap::new();
        for (id, found) in tally.known {
            let Some(residency) = found else { continue };
            let country = residency
                .map(|r| {
                    CountryCode::parse(&r)
                        .map_err(|_| AppError::corrupt(format!("customer {id}'s residency")))
                })
                .transpose()?;
            *by_country.entry(country).or_default() += 1;
            affected.push(id);
        }
        affected.sort_unstable();
        let mut residencies: Vec<(Option<CountryCode>, u64)> = by_country.into_iter().collect();
        residencies.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let defs: Vec<_> = tally
            .fields
            .iter()
            .filter_map(|f| catalog.field(f))
            .collect();
        let categories: BTreeSet<String> = defs.iter().map(|d| d.category.clone()).collect();
        Ok(ScopeResult {
            customers: affected.len() as u64,
            records: tally.records,
            fields: tally.fields.into_iter().collect(),
            categories: categories.into_iter().collect(),
            special: defs.iter().any(|d| d.sensitivity == Sensitivity::Special),
            residencies,
            affected,
            encrypted_exemption_possible: !compromised_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_classified_once() {
        let mut seen = BTreeSet::new();
        for (action, _) in ACTIONS {
            assert!(seen.insert(*action), "{action} is listed twice");
        }
        assert_eq!(customer_touch("customer.read"), Some(Some(Touch::Read)));
        assert_eq!(customer_touch("login.success"), Some(None));
        assert_eq!(customer_touch("no.such.action"), None);
    }
}
