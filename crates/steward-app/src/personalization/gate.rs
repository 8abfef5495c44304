//! The gate (I8): the only code that reads `profile_attributes`. A read names its customers,
//! the keys it wants and what it reads for; the gate works out each customer's level in
//! force and the ceiling of the reading purpose, asks the database only for the rows that
//! level and ceiling permit, opens only those, and audits output reads before any value
//! leaves.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use steward_core::consent::{ConsentState, effective};
use steward_core::customer::CustomerStatus;
use steward_core::personalization::{AttrValue, LIMITED, Level, PROFILED, Source, permits};
use steward_store::{AttributeQuery, AttributeRow, LevelRow};
use uuid::Uuid;

use super::Basis;
use crate::collection::customers::unwrap_stored;
use crate::{Access, AppError, Steward, Subject};

/// What a read of attributes is for; it decides the ceiling and the audit.
pub(crate) enum ReadFor<'a> {
    /// Staff working for a personalization purpose: capped by that purpose's ceiling.
    Output(&'a Access),
    /// The customer themselves, seeing what we use for them.
    OutputFor(&'a Subject),
    /// Staff choosing or writing to a campaign's recipients (a segment's attribute values,
    /// merge fields): whatever each recipient's level allows, audited as the read it is.
    Campaign(&'a Access),
    /// The customer's own copy of what is held (Art. 15): every stored attribute whatever
    /// the level, since they are entitled to see what is kept even when it is not used. The
    /// caller names the fields in its own audit entry.
    Disclosure,
}

/// Which attribute keys a read asks for.
#[derive(Clone, Copy)]
pub(crate) enum Wanted<'a> {
    Keys(&'a [String]),
    All,
}

/// An attribute the gate let through, opened.
#[derive(Debug, Clone)]
pub(crate) struct ReadAttribute {
    pub key: String,
    pub source: Source,
    pub min_level: Level,
    pub value: AttrValue,
    pub confidence: f64,
    pub count: u32,
    pub total: u32,
    pub days: Option<u32>,
    pub rule_key: Option<String>,
    pub rule_version: Option<u32>,
    /// What it was derived from, in clear and without values: `{"kinds":["order"],...}`.
    pub derived_from: String,
    pub computed_at: i64,
    pub expires_at: Option<i64>,
}

/// What the gate returned for one customer.
#[derive(Debug, Clone)]
pub(crate) struct AttributesRead {
    pub customer: Uuid,
    /// The level in force for this customer.
    pub level: Level,
    /// The most the reading purpose allows.
    pub ceiling: Level,
    pub basis: Option<Basis>,
    attributes: Vec<ReadAttribute>,
}

impl AttributesRead {
    pub fn attributes(&self) -> &[ReadAttribute] {
        &self.attributes
    }

    /// The audit entry's fields: one `attr:<key>` per attribute returned, in order.
    pub fn audit_fields(&self) -> Vec<String> {
        self.attributes
            .iter()
            .map(|a| format!("attr:{}", a.key))
            .collect()
    }

    /// Whether anything about the customer could be used: a level above off within the
    /// purpose's ceiling.
    pub fn personalized(&self) -> bool {
        self.level.min(self.ceiling) != Level::Off
    }
}

/// The sealed JSON of an attribute's value. A declared value carries only `value`.
#[derive(Deserialize)]
struct SealedValue {
    value: AttrValue,
    #[serde(default = "certain")]
    confidence: f64,
    #[serde(default)]
    count: u32,
    #[serde(default)]
    total: u32,
    #[serde(default)]
    days: Option<u32>,
}

fn certain() -> f64 {
    1.0
}

/// The field a value is sealed under, so it cannot be moved to another key.
pub(crate) fn sealed_field(key: &str) -> String {
    format!("profile/{key}")
}

/// A customer's level as it stands: what they chose, what is in force, and on what basis.
pub(crate) struct Standing {
    pub chosen: Option<LevelRow>,
    pub effective: Level,
    pub basis: Option<Basis>,
}

impl Steward {
    /// The level in force for each of `ids` that exists, by id. Full counts only while
    /// profiling consent is given and not expired (else basic); nothing counts while the
    /// customer's processing is restricted, their account closed, or their objection to
    /// the limited purpose upheld.
    pub(crate) async fn standings(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Standing>, AppError> {
        let moment = self.consent_moment().await?;
        let rows = self.store.get_customers(ids).await?;
        let mut levels: HashMap<Uuid, LevelRow> = self
            .store
            .levels(ids)
            .await?
            .into_iter()
            .map(|l| (l.customer_id, l))
            .collect();
        let profiled: HashMap<Uuid, Uuid> = self
            .store
            .consents_for(PROFILED, ids)
            .await?
            .into_iter()
            .filter(|e| {
                e.state
                    .parse::<ConsentState>()
                    .is_ok_and(|s| effective(s, e.at, e.expires_at, moment) == ConsentState::Given)
            })
            .map(|e| (e.customer_id, e.id))
            .collect();
        let objected: HashSet<Uuid> = self
            .store
            .objected_among(LIMITED, ids)
            .await?
            .into_iter()
            .collect();
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let chosen = levels.remove(&row.id);
            let stopped = row.status == CustomerStatus::Restricted.as_str()
                || row.status == CustomerStatus::Closed.as_str()
                || objected.contains(&row.id);
            let consent = profiled.get(&row.id).copied();
            let effective = match chosen.as_ref().map_or(Level::Off, |l| l.level) {
                _ if stopped => Level::Off,
                Level::Full if consent.is_none() => Level::Basic,
                l => l,
            };
            let basis = match (effective, consent) {
                (Level::Full, Some(event)) => Some(Basis::consent(PROFILED, event)),
                (Level::Basic | Level::Full, _) => Some(Basis::LegitimateInterests {
                    purpose: LIMITED.to_string(),
                }),
                (Level::Off, _) => None,
            };
            out.insert(
                row.id,
                Standing {
                    chosen,
                    effective,
                    basis,
                },
            );
        }
        Ok(out)
    }

    /// Reads the attributes of `ids` that I8 lets `why` see, in the order of `ids`; an
    /// unknown customer is left out. Output reads are audited before this returns.
    pub(crate) async fn read_attributes_many(
        &self,
        ids: &[Uuid],
        wanted: Wanted<'_>,
        why: ReadFor<'_>,
    ) -> Result<Vec<AttributesRead>, AppError> {
        let ceiling = match &why {
            ReadFor::Output(access) => Level::ceiling_of(&access.purpose.key).ok_or_else(|| {
                AppError::Forbidden(format!(
                    "purpose {} does not use profile attributes",
                    access.purpose.key
                ))
            })?,
            ReadFor::OutputFor(_) | ReadFor::Campaign(_) | ReadFor::Disclosure => Level::Full,
        };
        let mut standings = self.standings(ids).await?;
        let mut reads: Vec<AttributesRead> = ids
            .iter()
            .filter_map(|id| {
                standings.remove(id).map(|s| AttributesRead {
                    customer: *id,
                    level: s.effective,
                    ceiling,
                    basis: s.basis,
                    attributes: Vec::new(),
                })
            })
            .collect();
        // An empty list of keys asks the store for every key: asking for none reads nothing.
        let (keys, asks_nothing) = match wanted {
            Wanted::Keys(keys) => (keys.to_vec(), keys.is_empty()),
            Wanted::All => (Vec::new(), false),
        };
        // Customers grouped by the minimum levels their read permits: at most two queries
        // (basic rows; basic and full rows), and rows above a customer's level are never
        // asked for.
        let mut groups: BTreeMap<Vec<Level>, Vec<Uuid>> = BTreeMap::new();
        for r in &reads {
            let mins: Vec<Level> = [Level::Basic, Level::Full]
                .into_iter()
                .filter(|min| {
                    matches!(why, ReadFor::Disclosure) || permits(r.level, r.ceiling, *min)
                })
                .collect();
            if !mins.is_empty() && !asks_nothing {
                groups.entry(mins).or_default().push(r.customer);
            }
        }
        let book = self.catalog.personalization();
        let rule_versions: Vec<(String, u32)> = book
            .rules
            .iter()
            .map(|r| (r.key.clone(), r.version))
            .collect();
        let now = self.clock.now().as_microsecond();
        let mut rows: Vec<AttributeRow> = Vec::new();
        for (min_levels, customers) in groups {
            rows.extend(
                self.store
                    .attributes(&AttributeQuery {
                        customers,
                        keys: keys.clone(),
                        min_levels,
                        now,
                        rule_versions: rule_versions.clone(),
                    })
                    .await?,
            );
        }
        let owners: Vec<Uuid> = {
            let mut o: Vec<Uuid> = rows.iter().map(|r| r.customer_id).collect();
            o.dedup();
            o
        };
        let mut stored = self.keys.data_keys(&owners).await?;
        let mut opened: HashMap<Uuid, Vec<ReadAttribute>> = HashMap::new();
        for owner in owners {
            let Some(key) = stored.remove(&owner) else {
                tracing::warn!(customer = %owner, "skipped a customer whose key is destroyed: erasure in progress");
                continue;
            };
            let dek = self.vault.open_data_key(&owner, &unwrap_stored(key))?;
            for row in rows.iter().filter(|r| r.customer_id == owner) {
                let plain = dek
                    .open(&sealed_field(&row.key), &row.value)
                    .map_err(AppError::Sealed)?;
                let v: SealedValue = serde_json::from_slice(&plain)
                    .map_err(|_| AppError::Integrity(format!("profile attribute of {owner}")))?;
                opened.entry(owner).or_default().push(ReadAttribute {
                    key: row.key.clone(),
                    source: row.source,
                    min_level: row.min_level,
                    value: v.value,
                    confidence: v.confidence,
                    count: v.count,
                    total: v.total,
                    days: v.days,
                    rule_key: row.rule_key.clone(),
                    rule_version: row.rule_version,
                    derived_from: row.derived_from.clone(),
                    computed_at: row.computed_at,
                    expires_at: row.expires_at,
                });
            }
        }
        for r in &mut reads {
            r.attributes = opened.remove(&r.customer).unwrap_or_default();
            // The wanted order, so that an explanation lists attributes as ranking met them.
            if let Wanted::Keys(order) = wanted {
                r.attributes
                    .sort_by_key(|a| order.iter().position(|k| *k == a.key));
            }
        }
        self.audit_read(&why, &reads).await?;
        Ok(reads)
    }

    /// One read's entry, written before any value leaves: for staff, one entry naming
    /// every customer read; for the customer, their own.
    async fn audit_read(
        &self,
        why: &ReadFor<'_>,
        reads: &[AttributesRead],
    ) -> Result<(), AppError> {
        let fields = || {
            let mut f: Vec<String> = Vec::new();
            for r in reads {
                for k in r.audit_fields() {
                    if !f.contains(&k) {
                        f.push(k);
                    }
                }
            }
            f
        };
        let detail = |r: &AttributesRead| format!("level={} ceiling={}", r.level, r.ceiling);
        let record = match why {
            ReadFor::Output(access) | ReadFor::Campaign(access) => {
                let mut rec = self.access_record(
                    access,
                    "personalization.read",
                    reads.iter().map(|r| r.customer.to_string()).collect(),
                    fields(),
                );
                if let [one] = reads {
                    rec.detail = Some(detail(one));
                }
                rec
            }
            ReadFor::Disclosure => return Ok(()),
            ReadFor::OutputFor(subject) => {
                let Some(one) = reads.first() else {
                    return Ok(());
                };
                let purpose = one.level.purpose().unwrap_or(LIMITED);
                self.subject_record(
                    subject.customer(),
                    "personalization.read",
                    purpose,
                    vec![subject.customer().to_string()],
                    fields(),
                    Some(detail(one)),
                )
            }
        };
        self.append(vec![record]).await
    }
}
