//! Recomputing what is derived from behaviour. Only customers at full have anything derived:
//! their interactions' facets (never the text) are opened with their key, each rule of the
//! catalog is evaluated, and the results replace their observed and inferred attributes,
//! leaving out the keys they deleted. The store applies a batch only to customers still at
//! full when it commits, so a withdrawal committed meanwhile is never undone.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use steward_core::Role;
use steward_core::customer::InteractionKind;
use steward_core::personalization::{Compute, Fact, Level, PROFILED, Rule, evaluate};
use steward_store::{AttributeRow, ChangeSet, FactRow, PersonalizationRun, ProfileChange};
use uuid::Uuid;

use crate::collection::customers::unwrap_stored;
use crate::services::{Jobs, Personalization};
use crate::{Actor, AppError, Steward};

/// Customers recomputed per change set.
pub const RECOMPUTE_BATCH: usize = 1_000;
/// How often the server recomputes every profile.
const EVERY: Duration = Duration::from_secs(6 * 60 * 60);
/// How many months before its window a `none_since` rule looks for the earlier interaction
/// it needs.
const NONE_SINCE_LOOKBACK_MONTHS: i64 = 12;

/// What a recompute did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecomputeReport {
    /// The run's record, for a full recompute.
    pub run: Option<Uuid>,
    /// Customers at full whose attributes were derived.
    pub customers: u64,
    /// Attributes derived for them.
    pub attributes: u64,
    /// Customers passed over because their key is gone (an erasure under way).
    pub skipped: u64,
}

fn shift_back(now: Timestamp, span: &Span) -> i64 {
    now.to_zoned(TimeZone::UTC)
        .checked_sub(*span)
        .map(|z| z.timestamp().as_microsecond())
        .unwrap_or(i64::MIN)
}

/// The earliest interaction any rule can need.
fn since(rules: &[Rule], now: Timestamp) -> i64 {
    let lookback = Span::new().months(NONE_SINCE_LOOKBACK_MONTHS);
    rules
        .iter()
        .map(|r| {
            let start = now
                .to_zoned(TimeZone::UTC)
                .checked_sub(r.window_span)
                .unwrap_or_else(|_| now.to_zoned(TimeZone::UTC));
            match r.compute {
                Compute::NoneSince => shift_back(start.timestamp(), &lookback),
                _ => start.timestamp().as_microsecond(),
            }
        })
        .min()
        .unwrap_or(now.as_microsecond())
}

/// One batch, derived and sealed, ready to commit.
struct Derivation {
    customers: Vec<Uuid>,
    rows: Vec<AttributeRow>,
    skipped: u64,
}

impl Steward {
    /// Derives every rule's attributes for `ids` (customers read at full) from their facts.
    async fn derive(&self, ids: &[Uuid], now: Timestamp) -> Result<Derivation, AppError> {
        let book = self.catalog.personalization();
        let kinds: Vec<String> = book
            .rules
            .iter()
            .flat_map(|r| r.kinds.iter().map(|k| k.as_str().to_string()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let facts = self
            .store
            .profile_facts(ids, since(&book.rules, now), &kinds)
            .await?;
        let mut by_customer: HashMap<Uuid, Vec<FactRow>> = HashMap::new();
        for f in facts {
            by_customer.entry(f.customer_id).or_default().push(f);
        }
        let suppressed: HashSet<(Uuid, String)> = self
            .store
            .suppressed_keys(ids)
            .await?
            .into_iter()
            .map(|s| (s.customer_id, s.key))
            .collect();
        let mut keys = self.keys.data_keys(ids).await?;
        let at = now.as_microsecond();
        let mut out = Derivation {
            customers: Vec::with_capacity(ids.len()),
            rows: Vec::new(),
            skipped: 0,
        };
        for &customer in ids {
            let Some(stored) = keys.remove(&customer) else {
                tracing::warn!(%customer, "skipped a customer whose key is destroyed: erasure in progress");
                out.skipped += 1;
                continue;
            };
            let dek = self
                .vault
                .open_data_key(&customer, &unwrap_stored(stored))?;
            let mut facts = Vec::new();
            for row in by_customer.remove(&customer).unwrap_or_default() {
                let Ok(kind) = row.kind.parse::<InteractionKind>() else {
                    continue;
                };
                let facets = match &row.facets {
                    Some(sealed) => self.open_facets(&dek, row.id, sealed)?,
                    None => Default::default(),
                };
                facts.push(Fact {
                    kind,
                    occurred_at: row.occurred_at,
                    facets,
                });
            }
            for rule in &book.rules {
                if suppressed.contains(&(customer, rule.key.clone())) {
                    continue;
                }
                let Some(derived) = evaluate(rule, &facts, now) else {
                    continue;
                };
                let expires_at = now
                    .to_zoned(TimeZone::UTC)
                    .checked_add(rule.expires_span)
                    .map(|z| z.timestamp().as_microsecond())
                    .ok();
                out.rows.push(AttributeRow {
                    customer_id: customer,
                    key: rule.key.clone(),
                    source: rule.source,
                    min_level: rule.min_level,
                    value: super::values::seal(&dek, &rule.key, &derived)?,
                    derived_from: serde_json::json!({
                        "kinds": rule.kinds,
                        "window": rule.window,
                    })
                    .to_string(),
                    rule_key: Some(rule.key.clone()),
                    rule_version: Some(rule.version),
                    computed_at: at,
                    expires_at,
                });
            }
            out.customers.push(customer);
        }
        Ok(out)
    }

    fn recompute_record(
        &self,
        actor: &Actor,
        d: &Derivation,
        run: Option<Uuid>,
    ) -> steward_core::audit::AuditRecord {
        let keys: BTreeSet<&str> = d.rows.iter().map(|r| r.key.as_str()).collect();
        self.record(
            actor,
            "personalization.recompute",
            Some(PROFILED),
            d.customers.iter().map(Uuid::to_string).collect(),
            keys.into_iter().map(str::to_string).collect(),
            run.map(|r| format!("run={r}")),
        )
    }

    async fn recompute_all(
        &self,
        actor: &Actor,
        run: &mut PersonalizationRun,
        progress: &mut impl FnMut(&RecomputeReport),
        go_on: &impl Fn() -> bool,
    ) -> Result<RecomputeReport, AppError> {
        let mut report = RecomputeReport {
            run: Some(run.id),
            ..Default::default()
        };
        let mut cursor = None;
        loop {
            if !go_on() {
                // The next run starts from the beginning; this one stays as it stopped.
                return Ok(report);
            }
            let ids = self.store.profiled_after(cursor, RECOMPUTE_BATCH).await?;
            let Some(&last) = ids.last() else {
                break;
            };
            cursor = Some(last);
            let now = self.clock.now();
            let d = self.derive(&ids, now).await?;
            report.customers += d.customers.len() as u64;
            report.attributes += d.rows.len() as u64;
            report.skipped += d.skipped;
            run.cursor = cursor;
            run.heartbeat_at = now.as_microsecond();
            run.customers = i64::try_from(report.customers).unwrap_or(i64::MAX);
            run.attributes = i64::try_from(report.attributes).unwrap_or(i64::MAX);
            progress(&report);
            let audit = vec![self.recompute_record(actor, &d, Some(run.id))];
            self.store
                .apply(ChangeSet {
                    personalization: vec![
                        ProfileChange::Recomputed {
                            customers: d.customers,
                            rows: d.rows,
                            at: now.as_microsecond(),
                        },
                        ProfileChange::SaveRun(run.clone()),
                    ],
                    audit,
                    ..Default::default()
                })
                .await?;
        }
        let now = self.clock.now().as_microsecond();
        run.state = "finished".into();
        run.finished_at = Some(now);
        run.heartbeat_at = now;
        self.store
            .apply(ChangeSet {
                personalization: vec![
                    ProfileChange::PurgeExpired { now },
                    ProfileChange::SaveRun(run.clone()),
                ],
                ..Default::default()
            })
            .await?;
        Ok(report)
    }
}

/// Recomputing touches behavioural data under the profiling purpose: Steward's own job, or an
/// actor who holds that purpose.
fn may_recompute(actor: &Actor) -> Result<(), AppError> {
    if actor.role() == Role::System || actor.holds(PROFILED) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "recomputing profiles needs the purpose {PROFILED}"
        )))
    }
}

impl Personalization<'_> {
    /// Recomputes the derived attributes of every customer at full, a batch at a time, then
    /// deletes expired attributes. `progress` hears the totals with each batch just before
    /// it commits.
    pub async fn recompute(
        &self,
        actor: &Actor,
        progress: impl FnMut(&RecomputeReport),
    ) -> Result<RecomputeReport, AppError> {
        self.recompute_while(actor, progress, || true).await
    }

    /// As [`Self::recompute`], stopping between batches once `go_on` says so; the run is then
    /// left as it stopped, like one cut short by a crash.
    async fn recompute_while(
        &self,
        actor: &Actor,
        mut progress: impl FnMut(&RecomputeReport),
        go_on: impl Fn() -> bool,
    ) -> Result<RecomputeReport, AppError> {
        may_recompute(actor)?;
        let started = self.app.clock.now().as_microsecond();
        let mut run = PersonalizationRun {
            id: Uuid::now_v7(),
            started_at: started,
            heartbeat_at: started,
            finished_at: None,
            cursor: None,
            customers: 0,
            attributes: 0,
            state: "running".into(),
        };
        self.app
            .store
            .apply(ChangeSet {
                personalization: vec![ProfileChange::SaveRun(run.clone())],
                ..Default::default()
            })
            .await?;
        let outcome = self
            .app
            .recompute_all(actor, &mut run, &mut progress, &go_on)
            .await;
        if let Err(e) = &outcome {
            // What was committed stays; the run says it did not finish.
            tracing::error!(run = %run.id, error = %e, "personalization recompute failed");
            run.state = "failed".into();
            run.finished_at = Some(self.app.clock.now().as_microsecond());
            let marked = self
                .app
                .store
                .apply(ChangeSet {
                    personalization: vec![ProfileChange::SaveRun(run.clone())],
                    ..Default::default()
                })
                .await;
            if let Err(e) = marked {
                tracing::error!(run = %run.id, error = %e, "personalization run not marked failed");
            }
        }
        outcome
    }

    /// Recomputes the customers among `ids` who are at full, at once: after a customer
    /// chooses full, their suggestions need not wait for the next run.
    pub async fn for_customers(
        &self,
        actor: &Actor,
        ids: &[Uuid],
    ) -> Result<RecomputeReport, AppError> {
        may_recompute(actor)?;
        let full: Vec<Uuid> = self
            .app
            .store
            .levels(ids)
            .await?
            .into_iter()
            .filter(|l| l.level == Level::Full)
            .map(|l| l.customer_id)
            .collect();
        let mut report = RecomputeReport::default();
        if full.is_empty() {
            return Ok(report);
        }
        let now = self.app.clock.now();
        let d = self.app.derive(&full, now).await?;
        report.customers = d.customers.len() as u64;
        report.attributes = d.rows.len() as u64;
        report.skipped = d.skipped;
        let audit = vec![self.app.recompute_record(actor, &d, None)];
        self.app
            .store
            .apply(ChangeSet {
                personalization: vec![ProfileChange::Recomputed {
                    customers: d.customers,
                    rows: d.rows,
                    at: now.as_microsecond(),
                }],
                audit,
                ..Default::default()
            })
            .await?;
        Ok(report)
    }
}

impl Jobs {
    /// Recomputes every profile now and then every six hours until `stop` completes.
    pub async fn personalization_recompute(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let actor = Actor::system("personalization", &[PROFILED]);
        loop {
            let (app, actor) = (&self.app, &actor);
            let round = app.leased(
                "personalization-recompute",
                EVERY,
                false,
                |held| async move {
                    app.personalization()
                        .recompute_while(actor, |_| {}, || held.still())
                        .await
                },
            );
            match round.await {
                Ok(None) => {}
                Ok(Some(r)) if r.customers == 0 => {}
                Ok(Some(r)) => tracing::info!(
                    customers = r.customers,
                    attributes = r.attributes,
                    "profiles recomputed"
                ),
                Err(e) => tracing::warn!(error = %e, "personalization recompute failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = &mut stop => break,
            }
        }
    }
}
