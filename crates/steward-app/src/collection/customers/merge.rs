//! Duplicate customers merged into one. The survivor keeps its own values and takes the
//! merged-away customer's where it has none; tags are joined; interactions move, sealed again
//! under the survivor's key; on each consent-based purpose the most restrictive choice of the
//! two wins, recorded as the survivor's event; a restriction, an upheld objection and the
//! lower personalization level carry over. The merged-away customer is then erased, its id
//! left pointing at the survivor. A dry run answers what the survivor would hold and writes
//! nothing but the audit entry of what it read.

use std::collections::BTreeSet;

use steward_core::consent::{self, ConsentMethod, ConsentState, MergedChoice};
use steward_core::customer::{CustomerStatus, MAX_TAGS};
use steward_core::personalization::{Level, PROFILED, drop_after_consent};
use steward_core::sealed_fields::SealedFields;
use steward_store::{
    ChangeSet, ConsentEvent, CustomerRow, CustomerUpdate, CustomerWrite, Erasure, InteractionRow,
    Merge, ProfileChange, RequestFilter, TaskRow,
};
use steward_vault::DataKey;
use uuid::Uuid;

use super::CustomerView;
use crate::collection::minimisation::{GivenConsents, drop_without_basis, has_basis};
use crate::services::Customers;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, AppError, Steward};

/// The rule for fields, as the dry run states it.
pub const FIELD_RULE: &str = "the survivor's value wins where it has one; the merged-away \
    customer's fills the survivor's blanks; a field that no purpose has a lawful basis for \
    after the consents are merged is dropped";

/// The rule for consents, as the dry run states it.
pub const CONSENT_RULE: &str = "on each purpose the most restrictive choice wins: a refusal \
    or withdrawal on either side beats a grant; a grant stands against no answer";

/// The merged-away customer's requests read to count its upheld objections.
const MAX_REQUESTS_READ: usize = 10_000;

/// Interactions read per page while they are moved.
const INTERACTION_PAGE: usize = 500;
/// The most tasks a merge moves: one with more fails with a conflict rather than erase any.
const MAX_TASKS_MOVED: usize = 10_000;

/// Why two customers cannot be merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeRefusal {
    /// A customer cannot be merged into itself.
    SameCustomer,
    /// A legal hold covers one of them: the merged-away customer would be erased.
    LegalHold,
    /// One of them has a rights request still open, which must be answered for the person
    /// who made it first.
    OpenRequest,
}

impl MergeRefusal {
    pub fn message(self) -> &'static str {
        match self {
            MergeRefusal::SameCustomer => "a customer cannot be merged into itself",
            MergeRefusal::LegalHold => {
                "a legal hold covers one of the customers; release it before merging"
            }
            MergeRefusal::OpenRequest => {
                "one of the customers has an open rights request; close it before merging"
            }
        }
    }
}

/// Where one consent-based purpose stands for each side, and for the survivor afterwards.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergedConsent {
    pub purpose: String,
    pub survivor: Option<ConsentState>,
    pub merged: Option<ConsentState>,
    pub result: Option<ConsentState>,
    /// `survivor`, `merged` or `neither`: whose choice the result is.
    pub kept_from: &'static str,
}

/// What the survivor holds after the merge, or would hold after a dry run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeView {
    pub survivor: Uuid,
    pub merged: Uuid,
    pub dry_run: bool,
    /// The survivor as the access may see it afterwards.
    pub customer: CustomerView,
    /// Fields the merged-away customer's values fill.
    pub fields_filled: Vec<String>,
    /// Fields that lose their lawful basis with the merged consents, and go.
    pub fields_dropped: Vec<String>,
    pub tags_added: Vec<String>,
    pub consents: Vec<MergedConsent>,
    pub interactions_moved: usize,
    /// Objections the privacy officer upheld for the merged-away customer, which bind the
    /// survivor now.
    pub objections_moved: usize,
    /// The survivor's personalization level afterwards, when either chose one.
    pub personalization_level: Option<String>,
    pub field_rule: &'static str,
    pub consent_rule: &'static str,
}

/// Everything the merge decided, before it is committed or answered.
struct Plan {
    row: CustomerRow,
    index: Vec<steward_store::IndexEntry>,
    replaced: Vec<String>,
    filled: Vec<String>,
    dropped: Vec<String>,
    tags_added: Vec<String>,
    consents: Vec<MergedConsent>,
    events: Vec<ConsentEvent>,
    guards: Vec<(Uuid, String, Uuid)>,
    level: Option<Level>,
    profile: Vec<ProfileChange>,
    moved: Vec<InteractionRow>,
    moved_tasks: Vec<TaskRow>,
    objections: usize,
}

impl Plan {
    /// What the survivor `before` changes in, by name: the `customer.updated` event's fields.
    fn changed(&self, before: &CustomerRow) -> Vec<String> {
        let mut changed: Vec<String> = self.filled.iter().chain(&self.dropped).cloned().collect();
        let row = &self.row;
        for (name, differs) in [
            ("tags", !self.tags_added.is_empty()),
            ("status", row.status != before.status),
            ("owner", row.owner_id != before.owner_id),
        ] {
            if differs {
                changed.push(name.into());
            }
        }
        changed
    }
}

fn state_of(e: &ConsentEvent, moment: consent::Moment) -> Option<ConsentState> {
    e.state
        .parse::<ConsentState>()
        .ok()
        .map(|s| consent::effective(s, e.at, e.expires_at, moment))
}

impl Steward {
    /// What answers for an id with no customer: the pointer to the customer it was merged
    /// into, or not found.
    pub(crate) async fn missing(&self, id: Uuid) -> AppError {
        match self.store.survivor_of(id).await {
            Ok(Some(survivor)) => AppError::Merged { survivor },
            Ok(None) => AppError::NotFound,
            Err(e) => e.into(),
        }
    }

    async fn merge_side(&self, access: &Access, id: Uuid) -> Result<CustomerRow, AppError> {
        let Some(row) = self.store.get_customer(id).await? else {
            return Err(self.missing(id).await);
        };
        self.ensure_processable(access, &row).await?;
        Ok(row)
    }

    async fn refuse_unmergeable(&self, ids: [Uuid; 2], now: i64) -> Result<(), AppError> {
        if self.customer_held(&ids, now).await? {
            return Err(AppError::MergeRefused(MergeRefusal::LegalHold));
        }
        for id in ids {
            let open = self
                .store
                .requests(&RequestFilter {
                    open_only: true,
                    customer: Some(id),
                    limit: 1,
                    ..Default::default()
                })
                .await?;
            if !open.is_empty() {
                return Err(AppError::MergeRefused(MergeRefusal::OpenRequest));
            }
        }
        Ok(())
    }

    /// Each consent-based purpose merged: the states, and the survivor's new events where the
    /// merged-away customer's choice wins.
    async fn merge_consents(
        &self,
        survivor: Uuid,
        merged: Uuid,
        now: i64,
    ) -> Result<
        (
            Vec<MergedConsent>,
            Vec<ConsentEvent>,
            Vec<(Uuid, String, Uuid)>,
        ),
        AppError,
    > {
        let moment = self.consent_moment().await?;
        let ours = self.store.consents(survivor).await?;
        let theirs = self.store.consents(merged).await?;
        let evidence = serde_json::json!({ "merged_from": merged.to_string() }).to_string();
        let mut states = Vec::new();
        let mut events = Vec::new();
        for purpose in self
            .catalog
            .purposes()
            .iter()
            .filter(|p| p.requires_consent)
        {
            let a = ours.iter().find(|e| e.purpose == purpose.key);
            let b = theirs.iter().find(|e| e.purpose == purpose.key);
            let (sa, sb) = (
                a.and_then(|e| state_of(e, moment)),
                b.and_then(|e| state_of(e, moment)),
            );
            let choice = consent::merged_choice(sa, sb);
            let (result, kept_from) = match choice {
                MergedChoice::Survivor => (sa, "survivor"),
                MergedChoice::Merged => (sb, "merged"),
                MergedChoice::Neither => (sa, "neither"),
            };
            if choice == MergedChoice::Merged
                && let (Some(from), Some(state)) = (b, sb)
                && sa != sb
            {
                events.push(ConsentEvent {
                    id: Uuid::now_v7(),
                    customer_id: survivor,
                    purpose: purpose.key.clone(),
                    state: state.as_str().to_string(),
                    notice_version: from.notice_version.clone(),
                    method: ConsentMethod::Merge.as_str().to_string(),
                    evidence: Some(evidence.clone()),
                    at: now,
                    // A grant carried over runs out when it would have: a merge gives no
                    // consent a longer life.
                    expires_at: from.expires_at,
                });
            }
            states.push(MergedConsent {
                purpose: purpose.key.clone(),
                survivor: sa,
                merged: sb,
                result,
                kept_from,
            });
        }
        // Decided on the survivor's ledger as read: a consent recorded meanwhile fails the merge.
        let guards = ours
            .iter()
            .map(|e| (survivor, e.purpose.clone(), e.id))
            .collect();
        Ok((states, events, guards))
    }

    async fn plan_merge(
        &self,
        access: &Access,
        a: &CustomerRow,
        b: &CustomerRow,
        dek_a: &DataKey,
        dek_b: &DataKey,
        now: i64,
    ) -> Result<Plan, AppError> {
        let (consents, events, guards) = self.merge_consents(a.id, b.id, now).await?;
        let given: Vec<&str> = consents
            .iter()
            .filter(|c| c.result == Some(ConsentState::Given))
            .map(|c| c.purpose.as_str())
            .collect();
        let integrity = |id: Uuid| AppError::Integrity(format!("customer {id}"));
        let mut sealed = SealedFields::decode(&a.fields).map_err(|_| integrity(a.id))?;
        let theirs = SealedFields::decode(&b.fields).map_err(|_| integrity(b.id))?;
        let mut index = Vec::new();
        let mut replaced = Vec::new();
        let mut filled = Vec::new();
        for (key, bytes) in theirs.iter() {
            let Some(def) = self.catalog.field(key) else {
                continue;
            };
            if sealed.get(key).is_some() || !has_basis(&self.catalog, def, GivenConsents(&given)) {
                continue;
            }
            let value = dek_b.open_string(key, bytes).map_err(|_| integrity(b.id))?;
            sealed.insert(key, dek_a.seal(key, value.as_bytes()));
            if let Some(entries) = self.index_entries(def, &value)? {
                replaced.push(key.to_string());
                index.extend(entries);
            }
            filled.push(key.to_string());
        }
        let dropped = drop_without_basis(&self.catalog, &mut sealed, GivenConsents(&given));
        replaced.extend(dropped.indexed);
        let tags: BTreeSet<String> = a.tags.iter().chain(&b.tags).cloned().collect();
        if tags.len() > MAX_TAGS {
            return Err(AppError::invalid(
                "merge",
                format!("the merged customer would have more than {MAX_TAGS} tags"),
            ));
        }
        let tags_added = b
            .tags
            .iter()
            .filter(|t| !a.tags.contains(t))
            .cloned()
            .collect();
        let restricted = CustomerStatus::Restricted.as_str();
        let status = if b.status == restricted {
            b.status.clone()
        } else {
            a.status.clone()
        };
        let row = CustomerRow {
            id: a.id,
            residency: a.residency.clone(),
            status,
            tags: tags.into_iter().collect(),
            fields: sealed.encode(),
            version: a.version + 1,
            created_at: a.created_at,
            updated_at: now,
            last_interaction_at: a.last_interaction_at.max(b.last_interaction_at),
            owner_id: a.owner_id.or(b.owner_id),
        };
        let (level, profile) = self
            .merge_levels(access, a.id, b.id, &consents, &given, now)
            .await?;
        let moved = self.moved_interactions(b.id, a.id, dek_b, dek_a).await?;
        let moved_tasks = (self.store.customer_tasks(b.id, MAX_TASKS_MOVED).await?)
            .iter()
            .map(|t| self.reseal_task(t, dek_b, dek_a, a.id))
            .collect::<Result<Vec<_>, _>>()?;
        let objections = self
            .store
            .requests(&RequestFilter {
                customer: Some(b.id),
                limit: MAX_REQUESTS_READ,
                ..Default::default()
            })
            .await?
            .iter()
            .filter(|r| r.kind == "objection" && r.state == "completed")
            .count();
        Ok(Plan {
            row,
            index,
            replaced,
            filled,
            dropped: dropped.fields,
            tags_added,
            consents,
            events,
            guards,
            level,
            profile,
            moved,
            moved_tasks,
            objections,
        })
    }

    /// The lower of the two chosen personalization levels (a level chosen on one side only
    /// stands, as no choice is not a choice), and full only while the merged profiling
    /// consent is given; with what the consent events end (full and the derived profile).
    async fn merge_levels(
        &self,
        access: &Access,
        survivor: Uuid,
        merged: Uuid,
        consents: &[MergedConsent],
        given: &[&str],
        now: i64,
    ) -> Result<(Option<Level>, Vec<ProfileChange>), AppError> {
        let ours = self.store.level(survivor).await?.map(|l| l.level);
        let theirs = self.store.level(merged).await?.map(|l| l.level);
        let mut level = match (ours, theirs) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if level == Some(Level::Full) && !given.contains(&PROFILED) {
            level = Some(Level::Basic);
        }
        let mut changes = Vec::new();
        let carried = consents
            .iter()
            .filter(|c| c.kept_from == "merged")
            .filter_map(|c| Some((c.purpose.as_str(), c.result?)));
        for (purpose, said) in carried {
            if let Some(drop) = drop_after_consent(purpose, said) {
                changes.push(ProfileChange::DropLevel {
                    customer: survivor,
                    at_most: drop.at_most,
                    delete_profiled: drop.delete_profiled,
                    reason: drop.reason.into(),
                    actor: access.actor.id.clone(),
                    at: now,
                    event: Uuid::now_v7(),
                });
            }
        }
        match (ours, level) {
            (Some(a), Some(l)) if l < a => changes.push(ProfileChange::DropLevel {
                customer: survivor,
                at_most: l,
                delete_profiled: a == Level::Full,
                reason: "merge".into(),
                actor: access.actor.id.clone(),
                at: now,
                event: Uuid::now_v7(),
            }),
            (None, Some(l)) => changes.push(ProfileChange::SetLevel {
                customer: survivor,
                level: l,
                reason: "merge".into(),
                actor: access.actor.id.clone(),
                at: now,
                event: Uuid::now_v7(),
            }),
            _ => {}
        }
        Ok((level, changes))
    }

    async fn moved_interactions(
        &self,
        from: Uuid,
        to: Uuid,
        dek_from: &DataKey,
        dek_to: &DataKey,
    ) -> Result<Vec<InteractionRow>, AppError> {
        let mut moved = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_interactions(from, after, INTERACTION_PAGE)
                .await?;
            let full = page.len() == INTERACTION_PAGE;
            after = page.last().map(|r| (r.occurred_at, r.id));
            for row in &page {
                moved.push(self.reseal_interaction(row, dek_from, dek_to, to)?);
            }
            if !full {
                return Ok(moved);
            }
        }
    }
}

impl Customers<'_> {
    /// Merges customer `merged` into `survivor`, or with `dry_run` only answers what the
    /// survivor would hold. Both must be reachable for the access's purpose, neither under a
    /// legal hold nor with an open rights request.
    pub async fn merge(
        &self,
        access: &Access,
        survivor: Uuid,
        merged: Uuid,
        dry_run: bool,
    ) -> Result<MergeView, AppError> {
        access.require_record_access()?;
        if survivor == merged {
            return Err(AppError::MergeRefused(MergeRefusal::SameCustomer));
        }
        let app = self.app;
        let a = app.merge_side(access, survivor).await?;
        let b = app.merge_side(access, merged).await?;
        let now = app.clock.now().as_microsecond();
        app.refuse_unmergeable([survivor, merged], now).await?;
        let dek_a = app.row_key(&a).await?;
        let dek_b = app.row_key(&b).await?;
        let plan = app.plan_merge(access, &a, &b, &dek_a, &dek_b, now).await?;
        let (mut customer, opened) = app.view(access, &plan.row, &dek_a)?;
        app.name_owners(std::slice::from_mut(&mut customer)).await?;
        let targets = vec![survivor.to_string(), merged.to_string()];
        let view = MergeView {
            survivor,
            merged,
            dry_run,
            customer,
            fields_filled: plan.filled.clone(),
            fields_dropped: plan.dropped.clone(),
            tags_added: plan.tags_added.clone(),
            consents: plan.consents.clone(),
            interactions_moved: plan.moved.len(),
            objections_moved: plan.objections,
            personalization_level: plan.level.map(|l| l.to_string()),
            field_rule: FIELD_RULE,
            consent_rule: CONSENT_RULE,
        };
        if dry_run {
            app.append(vec![app.access_record(
                access,
                "customer.merge.dry_run",
                targets,
                opened,
            )])
            .await?;
            return Ok(view);
        }
        let detail = format!(
            "merged={merged} survivor={survivor} filled={} dropped={} interactions={} tasks={} consent_events={}",
            plan.filled.join(","),
            plan.dropped.join(","),
            plan.moved.len(),
            plan.moved_tasks.len(),
            plan.events.len()
        );
        let mut audit = vec![app.record(
            &access.actor,
            "customer.merge",
            Some(&access.purpose.key),
            targets,
            plan.filled.clone(),
            Some(detail),
        )];
        if !opened.is_empty() {
            audit.push(app.access_record(
                access,
                "customer.read",
                vec![survivor.to_string()],
                opened,
            ));
        }
        let events = vec![
            note(EventType::CustomerUpdated, survivor, &plan.changed(&a), now),
            note(EventType::CustomerErased, merged, &[], now),
        ];
        let proofs = app.consent_proofs(&[merged], now).await?;
        let merge = Merge {
            survivor,
            merged_version: b.version,
            moved: plan.moved,
            moved_tasks: plan.moved_tasks,
            erasure: Erasure {
                id: merged,
                at: now,
                suppress: None,
                proofs,
                with: ChangeSet {
                    updates: vec![CustomerUpdate {
                        write: CustomerWrite {
                            row: plan.row,
                            index: plan.index,
                        },
                        expected_version: a.version,
                        replaced_index_fields: plan.replaced,
                    }],
                    consents: plan.events,
                    events,
                    consent_guards: plan.guards,
                    personalization: plan.profile,
                    audit,
                    ..Default::default()
                },
            },
        };
        if !app.store.merge_customers(merge).await? {
            return Err(app.missing(merged).await);
        }
        // The key goes only once the merge is committed: destroyed first, a merge refused at
        // its commit (the survivor changed meanwhile) would leave the duplicate unreadable
        // and its data in neither record. Its rows are gone by now, so a key that outlives
        // them opens nothing in the database as it stands.
        app.destroy_key(merged).await?;
        Ok(view)
    }
}
