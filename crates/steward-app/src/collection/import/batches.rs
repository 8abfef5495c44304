//! Batches of an import: sized so sealing one overlaps writing the one before, planned
//! against the customers already on file, and written keys first.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use steward_core::audit::AuditEntry;
use steward_core::contact::Email;
use steward_core::field_value;
use steward_core::sealed_fields::SealedFields;
use steward_store::{
    ChangeSet, CustomerRow, CustomerUpdate, CustomerWrite, IndexDigest, KeyStore, PendingBatch,
    Store, StoredKey,
};
use uuid::Uuid;

use super::layout::{Layout, Place, Row};
use super::rejects::Rejects;
use super::seen::Seen;
use crate::collection::customers::{MATCH_FIELD, unwrap_stored};
use crate::security::keys::orphans::sweep_batch;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, AppError, Steward};

/// How many rows the next batch takes. Sealing a batch overlaps with writing the one before,
/// so the first batches are small for the writer to start early, and the last ones shrink
/// with what is left of the file so the final write, which nothing overlaps, is short.
/// In between, batches are as large as allowed: each commit rewrites the blind-index pages
/// its random digests touch, so fewer commits write less.
pub(super) struct BatchSizes {
    pub(super) max: usize,
    pub(super) current: usize,
    pub(super) rows: u64,
    pub(super) started_at: u64,
    pub(super) batch_started_at: u64,
}

impl BatchSizes {
    const FIRST: usize = 1_000;
    /// CSV text per batch at most. A batch is held twice over, read and sealed, while the
    /// one before it is written; rows of long notes would otherwise take memory by the
    /// hundred megabytes at the row limit.
    const MAX_BYTES: u64 = 8 * 1024 * 1024;

    /// Batches of at most `max` rows, read from `start`, the reader's position in the file.
    pub(super) fn new(max: usize, start: u64) -> BatchSizes {
        BatchSizes {
            max,
            current: Self::FIRST.min(max),
            rows: 0,
            started_at: start,
            batch_started_at: start,
        }
    }

    /// Whether the batch being filled holds as much text as a batch may.
    pub(super) fn full(&self, position: u64) -> bool {
        position.saturating_sub(self.batch_started_at) >= Self::MAX_BYTES
    }

    /// The size for the batch being filled, given the reader's position in the file.
    pub(super) fn next(&self, position: u64, total: u64) -> usize {
        let read = position.saturating_sub(self.started_at);
        let left = total.saturating_sub(position);
        let rows_left = match (self.rows, read) {
            (0, _) | (_, 0) => u64::MAX,
            (rows, read) => left.saturating_mul(rows) / read,
        };
        let tail = usize::try_from(rows_left / 2).unwrap_or(usize::MAX);
        self.current.min(tail.max(Self::FIRST))
    }

    /// How many rows a file of `total` bytes holds, judging by the first `rows` of them,
    /// which end at `position`.
    pub(super) fn rows_in(&self, rows: usize, position: u64, total: u64) -> u64 {
        let read = position.saturating_sub(self.started_at).max(1);
        let whole = total.saturating_sub(self.started_at);
        u64::try_from(u128::from(whole) * rows as u128 / u128::from(read)).unwrap_or(u64::MAX)
    }

    /// Counts a batch taken, ending at `position`, and lets the next one grow.
    pub(super) fn taken(&mut self, rows: usize, position: u64) {
        self.batch_started_at = position;
        self.rows += rows as u64;
        self.current = (self.current * 2).min(self.max);
    }
}

/// One batch, sealed and ready to be written.
pub(super) struct Plan {
    pub(super) changes: ChangeSet,
    pub(super) new_keys: Vec<(Uuid, StoredKey)>,
    pub(super) created: u64,
    pub(super) updated: u64,
    pub(super) rejected: u64,
}

/// A batch being written while the next one is read and sealed.
pub(super) struct InFlight {
    pub(super) commit: tokio::task::JoinHandle<Result<Vec<AuditEntry>, AppError>>,
    pub(super) created: u64,
    pub(super) updated: u64,
    pub(super) bytes_read: u64,
}

/// Writes a planned batch: keys first, marked pending, so that a crash between the two
/// commits leaves keys that the next run sweeps, never rows without a key; then rows, audit
/// entry and import progress together; then the keys are settled.
pub(super) async fn commit_plan(
    store: Arc<dyn Store>,
    keys: Arc<KeyStore>,
    job: String,
    changes: ChangeSet,
    new_keys: Vec<(Uuid, StoredKey)>,
) -> Result<Vec<AuditEntry>, AppError> {
    if new_keys.is_empty() {
        return Ok(store.apply(changes).await?);
    }
    let pending = PendingBatch {
        batch: Uuid::now_v7(),
        job,
        customers: new_keys.iter().map(|(id, _)| *id).collect(),
    };
    keys.put_pending_data_keys(pending.batch, &pending.job, &new_keys)
        .await?;
    match store.apply(changes).await {
        Ok(entries) => {
            keys.settle(pending.batch).await?;
            Ok(entries)
        }
        Err(e) => {
            // A failed commit may still have landed (a lost answer): keep the keys of rows
            // that are there.
            if let Err(sweep) = sweep_batch(store.as_ref(), &keys, &pending).await {
                tracing::warn!(error = %sweep, "pending import keys left for the next sweep");
            }
            Err(e.into())
        }
    }
}

impl Steward {
    /// The blind index of a record's address, when it has a valid one.
    pub(super) fn address_of(
        &self,
        layout: &Layout<'_>,
        record: &csv::ByteRecord,
    ) -> Result<Option<IndexDigest>, AppError> {
        if record.len() != layout.columns.len() {
            return Ok(None);
        }
        let text = record
            .get(layout.address)
            .and_then(|cell| std::str::from_utf8(cell).ok())
            .filter(|t| !t.trim().is_empty());
        let Some(Ok(address)) = text.map(|t| field_value::normalise(layout.address_field, t))
        else {
            return Ok(None);
        };
        Ok(Some(self.vault.blind_index(MATCH_FIELD, &address)?))
    }

    /// The addresses of the records that start before `until`, each with where it was first
    /// seen: a resumed import refuses the same repeats one uninterrupted run would.
    pub(super) fn addresses_before(
        &self,
        path: &Path,
        layout: &Layout<'_>,
        until: u64,
    ) -> Result<Seen, AppError> {
        let file = File::open(path).map_err(|source| AppError::File {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(file);
        let mut seen = Seen::new();
        let mut record = csv::ByteRecord::new();
        while reader
            .read_byte_record(&mut record)
            .map_err(AppError::Csv)?
        {
            let at = Place::of(&record);
            if at.byte >= until {
                break;
            }
            if let Some(address) = self.address_of(layout, &record)? {
                seen.first_or_note(address, at);
            }
        }
        Ok(seen)
    }

    /// Looks up and seals one batch, whose rows all have different addresses; writes rows it
    /// must refuse to `rejects`.
    pub(super) async fn plan_batch(
        &self,
        access: &Access,
        rows: Vec<Row<'_>>,
        rejects: &mut Rejects,
    ) -> Result<Plan, AppError> {
        let order: Vec<IndexDigest> = rows.iter().map(|r| r.email).collect();
        let existing: HashMap<IndexDigest, Uuid> = self
            .store
            .lookup_index(MATCH_FIELD, &order)
            .await?
            .into_iter()
            .collect();
        let existing_ids: Vec<Uuid> = existing.values().copied().collect();
        let mut current: HashMap<Uuid, CustomerRow> = self
            .store
            .get_customers(&existing_ids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let mut stored_keys = self.keys.data_keys(&existing_ids).await?;
        // People erased at their request come back only by signing up themselves.
        let addresses: Vec<(IndexDigest, Email)> = rows
            .iter()
            .filter(|r| !existing.contains_key(&r.email))
            .filter_map(|row| {
                row.values
                    .iter()
                    .find(|(f, _)| f.key == MATCH_FIELD)
                    .and_then(|(_, v)| Email::parse(v).ok())
                    .map(|address| (row.email, address))
            })
            .collect();
        let suppressed = self
            .suppressed_among(addresses.iter().map(|(d, a)| (*d, a)))
            .await?;
        let now = self.clock.now().as_microsecond();
        // Sized for the batch up front: these hold thousands of large entries, and growing
        // them would copy each several times over.
        let mut inserts = Vec::with_capacity(order.len().saturating_sub(existing.len()));
        let mut updates = Vec::with_capacity(existing.len());
        let mut new_keys = Vec::with_capacity(order.len().saturating_sub(existing.len()));
        let mut targets = Vec::with_capacity(order.len());
        let mut fields = std::collections::BTreeSet::new();
        // One event per customer created or updated: bounded by the batch, and committed with
        // it, so an integration hears of each customer exactly as the import wrote them.
        let mut events = Vec::new();
        let mut rejected = 0;
        for row in rows {
            let digest = row.email;
            match existing.get(&digest).and_then(|id| current.remove(id)) {
                None if suppressed.contains(&digest) => {
                    rejected += 1;
                    rejects.write(
                        &row.source,
                        "email: this person had their data erased and can only sign up again themselves",
                    )?;
                }
                None => {
                    // Only a new customer needs a residency; an update keeps the one on record.
                    let Some(residency) = row.residency else {
                        rejected += 1;
                        rejects.write(
                            &row.source,
                            "residency: missing, and no default residency was given",
                        )?;
                        continue;
                    };
                    fields.extend(row.values.iter().map(|(f, _)| f.key.as_str()));
                    let sealed =
                        self.seal_new(&row.values, residency, row.tags.unwrap_or_default(), now)?;
                    let (write, key) = (sealed.write, sealed.key);
                    events.push(note(
                        EventType::CustomerCreated,
                        write.row.id,
                        &row.values
                            .iter()
                            .map(|(f, _)| f.key.clone())
                            .collect::<Vec<_>>(),
                        now,
                    ));
                    targets.push(write.row.id.to_string());
                    new_keys.push(key);
                    inserts.push(write);
                }
                Some(old) => {
                    fields.extend(row.values.iter().map(|(f, _)| f.key.as_str()));
                    let stored = stored_keys.remove(&old.id).ok_or_else(|| {
                        AppError::Integrity(format!("customer {} (no data key)", old.id))
                    })?;
                    let dek = self.vault.open_data_key(&old.id, &unwrap_stored(stored))?;
                    let mut sealed = SealedFields::decode(&old.fields)
                        .map_err(|_| AppError::Integrity(format!("customer {}", old.id)))?;
                    let mut index = Vec::new();
                    let mut replaced = Vec::new();
                    for (f, v) in &row.values {
                        sealed.insert(&f.key, dek.seal(&f.key, v.as_bytes()));
                        if let Some(entries) = self.index_entries(f, v)? {
                            replaced.push(f.key.clone());
                            index.extend(entries);
                        }
                    }
                    targets.push(old.id.to_string());
                    events.push(note(
                        EventType::CustomerUpdated,
                        old.id,
                        &row.values
                            .iter()
                            .map(|(f, _)| f.key.clone())
                            .collect::<Vec<_>>(),
                        now,
                    ));
                    let new_row = CustomerRow {
                        id: old.id,
                        residency: row
                            .residency
                            .map(|r| r.to_string())
                            .unwrap_or(old.residency),
                        status: old.status,
                        tags: row.tags.unwrap_or(old.tags),
                        fields: sealed.encode(),
                        version: old.version + 1,
                        created_at: old.created_at,
                        updated_at: now,
                        last_interaction_at: old.last_interaction_at,
                        owner_id: old.owner_id,
                    };
                    updates.push(CustomerUpdate {
                        write: CustomerWrite {
                            row: new_row,
                            index,
                        },
                        expected_version: old.version,
                        replaced_index_fields: replaced,
                    });
                }
            }
        }
        let (created, updated) = (inserts.len() as u64, updates.len() as u64);
        let mut audit = Vec::new();
        if !targets.is_empty() {
            let mut r = self.access_record(
                access,
                "customer.import",
                targets,
                fields.into_iter().map(str::to_string).collect(),
            );
            r.detail = Some(format!("created={created} updated={updated}"));
            audit.push(r);
        }
        Ok(Plan {
            changes: ChangeSet {
                inserts,
                updates,
                audit,
                events,
                ..Default::default()
            },
            new_keys,
            created,
            updated,
            rejected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::BatchSizes;

    /// Takes batches from a file of `rows` rows of `width` bytes each, as the import loop
    /// does, and returns their sizes.
    fn batches(max: usize, rows: u64, width: u64) -> Vec<usize> {
        let mut sizes = BatchSizes::new(max, 0);
        let (total, mut line, mut batch, mut out) = (rows * width, 0, 0, Vec::new());
        while line < rows {
            line += 1;
            batch += 1;
            let position = line * width;
            if batch >= sizes.next(position, total) || sizes.full(position) || line == rows {
                sizes.taken(batch, position);
                out.push(batch);
                batch = 0;
            }
        }
        out
    }

    #[test]
    fn batches_start_small_grow_to_the_limit_and_shrink_at_the_end() {
        let sizes = batches(20_000, 200_000, 100);
        assert_eq!(sizes.iter().sum::<usize>(), 200_000);
        assert_eq!(&sizes[..5], &[1_000, 2_000, 4_000, 8_000, 16_000]);
        assert!(sizes.contains(&20_000), "{sizes:?}");
        assert!(sizes.iter().all(|s| *s <= 20_000), "{sizes:?}");
        let last = sizes[sizes.len() - 1];
        assert!(
            last <= 1_000,
            "the write nothing overlaps is short: {sizes:?}"
        );
    }

    #[test]
    fn wide_rows_make_batches_of_fewer_rows() {
        let width = 4_000;
        let sizes = batches(20_000, 100_000, width);
        assert_eq!(sizes.iter().sum::<usize>(), 100_000);
        let most = BatchSizes::MAX_BYTES.div_ceil(width) as usize;
        assert!(sizes.iter().all(|s| *s <= most), "{sizes:?}");
        assert!(sizes.contains(&most), "{sizes:?}");
    }

    #[test]
    fn a_limit_below_the_first_size_is_kept_throughout() {
        let sizes = batches(500, 5_000, 40);
        assert!(sizes.iter().all(|s| *s == 500), "{sizes:?}");
    }
}
