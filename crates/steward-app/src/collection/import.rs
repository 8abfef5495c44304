//! Bulk import of customers from CSV: headers mapped to catalog fields, upsert by email,
//! batches committed with their progress so an interrupted import resumes exactly where it
//! stopped, and every refused row written to a reject file with its file line, its reason and
//! the cells of its columns that hold no personal data (never a catalog field's value).
//! An address counts once per file: a later row with an address seen before is refused,
//! naming the line it was first seen on, rather than silently overwriting that row.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use steward_core::CountryCode;
use steward_core::audit::AuditEntry;
use steward_core::catalog::{FieldDef, FieldKind};
use steward_core::contact::Email;
use steward_core::field_value;
use steward_core::sealed_fields::SealedFields;
use steward_store::{
    ChangeSet, CustomerRow, CustomerUpdate, CustomerWrite, ImportJob, IndexDigest, KeyStore,
    PendingBatch, Store, StoredKey,
};
use uuid::Uuid;

use crate::collection::customers::{MATCH_FIELD, parse_residency, parse_tags, unwrap_stored};
use crate::collection::minimisation::{Consents, check_values};
use crate::security::orphan_keys::{JobLock, sweep_batch};
use crate::{Access, Actor, AppError, Steward};

const RESIDENCY_COLUMN: &str = "residency";
const TAGS_COLUMN: &str = "tags";

pub struct ImportOptions {
    pub purpose: String,
    /// Used for rows without a residency column or value.
    pub default_residency: Option<String>,
    /// CSV header → catalog key, for headers that are neither a key nor a label.
    pub header_map: HashMap<String, String>,
    pub reject_path: PathBuf,
    pub batch_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImportProgress {
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub created: u64,
    pub updated: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub progress: ImportProgress,
    /// The last line done before this run, when an earlier run was interrupted.
    pub resumed_at_line: Option<u64>,
    /// True when the file had been imported completely before.
    pub already_done: bool,
    /// False when the caller stopped the import; it resumes on the next run.
    pub finished: bool,
}

enum Column<'c> {
    Field(&'c FieldDef),
    Residency,
    Tags,
}

/// The file's columns in order, and where the ones the import treats apart are.
struct Layout<'c> {
    columns: Vec<Column<'c>>,
    /// The column customers are matched by.
    address: usize,
    address_field: &'c FieldDef,
    /// Columns that hold no personal data (residency, tags), repeated in the reject file so
    /// that a refused row can be told apart without its personal values.
    kept: Vec<usize>,
}

/// Where a record starts, as the csv reader counts.
#[derive(Debug, Clone, Copy)]
struct Place {
    byte: u64,
    line: u64,
}

impl Place {
    fn of(record: &csv::ByteRecord) -> Place {
        record
            .position()
            .map(|p| Place {
                byte: p.byte(),
                line: p.line(),
            })
            .unwrap_or(Place { byte: 0, line: 0 })
    }
}

/// A row as its reject names it: its place in the file and its cells that hold no personal
/// data.
struct Source {
    at: Place,
    kept: csv::ByteRecord,
}

impl Source {
    fn of(record: &csv::ByteRecord, layout: &Layout<'_>) -> Source {
        // A row with the wrong number of cells has them in unknown places: repeat none.
        let aligned = record.len() == layout.columns.len();
        let kept = layout
            .kept
            .iter()
            .map(|&i| match record.get(i) {
                Some(cell) if aligned => cell,
                _ => b"",
            })
            .collect();
        Source {
            at: Place::of(record),
            kept,
        }
    }
}

struct Row<'c> {
    source: Source,
    values: Vec<(&'c FieldDef, String)>,
    email: IndexDigest,
    residency: Option<CountryCode>,
    tags: Option<Vec<String>>,
}

/// Maps headers to columns; a header that is neither a catalog key, a label, a mapped name
/// nor a known column is refused, as is a repeated one.
fn map_headers<'c>(
    steward: &'c Steward,
    headers: &csv::ByteRecord,
    map: &HashMap<String, String>,
) -> Result<Layout<'c>, AppError> {
    let catalog = steward.catalog();
    let address_field = catalog.field(MATCH_FIELD).ok_or_else(|| {
        AppError::Setup(format!(
            "the catalog has no {MATCH_FIELD} field to match by"
        ))
    })?;
    let mut names = Vec::with_capacity(headers.len());
    for (i, raw) in headers.iter().enumerate() {
        let name = std::str::from_utf8(raw).map_err(|_| {
            AppError::invalid(
                "headers",
                format!("column {} header is not valid UTF-8", i + 1),
            )
        })?;
        names.push(name.trim().trim_start_matches('\u{feff}').trim());
    }
    // Without a header row the first customer would be read as headers, and naming them
    // would print personal data. Every customer has an address, so something like one among
    // the headers gives such a file away.
    if names.iter().any(|n| n.contains('@')) {
        return Err(AppError::invalid(
            "headers",
            format!(
                "the first line holds an email address, so it is a customer rather than a \
                 header row: the file must start with a line naming its columns \
                 (for example {MATCH_FIELD},given_name,{RESIDENCY_COLUMN})"
            ),
        ));
    }
    let mut columns = Vec::with_capacity(names.len());
    let mut kept = Vec::new();
    let mut address = None;
    let mut seen = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let lower = name.to_lowercase();
        let key = map
            .get(*name)
            .or_else(|| map.get(&lower))
            .cloned()
            .unwrap_or_else(|| {
                catalog
                    .fields()
                    .iter()
                    .find(|f| f.label.to_lowercase() == lower)
                    .map(|f| f.key.clone())
                    .unwrap_or(lower)
            });
        if let Some(first) = seen.insert(key.clone(), i) {
            return Err(AppError::invalid(
                "headers",
                format!(
                    "columns {} ({:?}) and {} ({name:?}) both map to {key:?}",
                    first + 1,
                    names[first],
                    i + 1
                ),
            ));
        }
        let column = match key.as_str() {
            RESIDENCY_COLUMN => Column::Residency,
            TAGS_COLUMN => Column::Tags,
            k => Column::Field(catalog.field(k).ok_or_else(|| {
                let keys: Vec<&str> = catalog.fields().iter().map(|f| f.key.as_str()).collect();
                AppError::invalid(
                    "headers",
                    format!(
                        "column {} ({name:?}) is not a field of the catalog, and the header \
                         map names no field for it; the catalog's fields are {}, besides the \
                         columns {RESIDENCY_COLUMN} and {TAGS_COLUMN}",
                        i + 1,
                        keys.join(", ")
                    ),
                )
            })?),
        };
        match column {
            Column::Field(f) if f.key == MATCH_FIELD => address = Some(i),
            Column::Field(_) => {}
            Column::Residency | Column::Tags => kept.push(i),
        }
        columns.push(column);
    }
    let address = address.ok_or_else(|| {
        AppError::invalid(
            "headers",
            format!("no {MATCH_FIELD} column: customers are matched by it"),
        )
    })?;
    Ok(Layout {
        columns,
        address,
        address_field,
        kept,
    })
}

fn fingerprint(file: &mut File) -> Result<String, AppError> {
    let len = file.metadata()?.len();
    let mut head = vec![0u8; 1 << 20];
    let mut filled = 0;
    loop {
        let n = file.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
        if filled == head.len() {
            break;
        }
    }
    file.seek(SeekFrom::Start(0))?;
    let mut h = Sha256::new();
    h.update(len.to_be_bytes());
    h.update(&head[..filled]);
    Ok(hex::encode(h.finalize()))
}

/// The reject file, and the input read a second time to name the lines its rows are on.
struct Rejects {
    out: BufWriter<File>,
    input: File,
}

impl Rejects {
    /// The line of the file a record starts on. The csv reader counts lines up to where it
    /// began reading the record, which is before the line end of the line above when lines
    /// end in CRLF, and before any blank lines: those are skipped here in the file itself.
    fn line(&mut self, at: Place) -> Result<u64, AppError> {
        self.input.seek(SeekFrom::Start(at.byte))?;
        let mut line = at.line;
        let mut buf = [0u8; 256];
        loop {
            let n = self.input.read(&mut buf)?;
            if n == 0 {
                return Ok(line);
            }
            for &b in &buf[..n] {
                match b {
                    b'\n' => line += 1,
                    b'\r' => {}
                    _ => return Ok(line),
                }
            }
        }
    }

    fn write(&mut self, source: &Source, reason: &str) -> Result<(), AppError> {
        let line = self.line(source.at)?.to_string();
        let mut record = csv::ByteRecord::new();
        record.push_field(line.as_bytes());
        record.push_field(reason.as_bytes());
        record.extend(source.kept.iter());
        self.write_record(&record)
    }

    fn write_record(&mut self, record: &csv::ByteRecord) -> Result<(), AppError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_byte_record(record)
            .map_err(|e| AppError::Io(e.to_string()))?;
        self.out
            .write_all(&w.into_inner().map_err(|e| AppError::Io(e.to_string()))?)?;
        Ok(())
    }
}

impl Steward {
    /// The blind index of a record's address, when it has a valid one.
    fn address_of(
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
    fn addresses_before(
        &self,
        path: &Path,
        layout: &Layout<'_>,
        until: u64,
    ) -> Result<HashMap<IndexDigest, Place>, AppError> {
        let file =
            File::open(path).map_err(|e| AppError::Io(format!("{}: {e}", path.display())))?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(file);
        let mut seen = HashMap::new();
        let mut record = csv::ByteRecord::new();
        while reader
            .read_byte_record(&mut record)
            .map_err(|e| AppError::Io(e.to_string()))?
        {
            let at = Place::of(&record);
            if at.byte >= until {
                break;
            }
            if let Some(address) = self.address_of(layout, &record)? {
                seen.entry(address).or_insert(at);
            }
        }
        Ok(seen)
    }

    fn parse_row<'c>(
        &'c self,
        access: &Access,
        layout: &Layout<'c>,
        record: &csv::ByteRecord,
        default_residency: Option<CountryCode>,
        address: Option<IndexDigest>,
    ) -> Result<Row<'c>, String> {
        let columns = &layout.columns;
        if record.len() != columns.len() {
            return Err(format!(
                "expected {} columns, found {}",
                columns.len(),
                record.len()
            ));
        }
        let mut raw_values = Vec::with_capacity(columns.len());
        let mut residency = default_residency;
        let mut tags = None;
        let mut errors = Vec::new();
        for (i, (column, cell)) in columns.iter().zip(record.iter()).enumerate() {
            let text = std::str::from_utf8(cell)
                .map_err(|_| format!("column {} is not valid UTF-8", i + 1))?;
            match column {
                Column::Field(f) if !text.trim().is_empty() => {
                    // Files written on Windows end the lines inside a quoted cell with CRLF
                    // as well; a multi-line value keeps plain line feeds.
                    let text = match f.kind {
                        FieldKind::Multiline if text.contains('\r') => {
                            Cow::Owned(text.replace("\r\n", "\n"))
                        }
                        _ => Cow::Borrowed(text),
                    };
                    raw_values.push((f.key.as_str(), text))
                }
                Column::Field(_) => {}
                Column::Residency if !text.trim().is_empty() => {
                    residency = parse_residency(text, &mut errors)
                }
                Column::Residency => {}
                // An empty cell means "nothing to say", as for fields, not "remove".
                Column::Tags if text.trim().is_empty() => {}
                Column::Tags => {
                    let list: Vec<String> = text
                        .split([';', '|'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect();
                    tags = Some(parse_tags(&list, &mut errors));
                }
            }
        }
        let raw_values = raw_values.iter().map(|(k, v)| (*k, v.as_ref()));
        let values =
            check_values(self.catalog(), access, raw_values, Consents::NONE).map_err(|mut e| {
                e.append(&mut errors);
                e.iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
        if let Some(e) = errors.first() {
            return Err(format!("{}: {}", e.field, e.message));
        }
        let email = address
            .ok_or_else(|| format!("fields.{MATCH_FIELD}: missing; customers are matched by it"))?;
        Ok(Row {
            source: Source::of(record, layout),
            values,
            email,
            residency,
            tags,
        })
    }

    /// Imports (or resumes importing) a CSV file. `progress` is called after every committed
    /// batch; returning `Break` stops after that batch, leaving the import resumable.
    pub async fn import_customers(
        &self,
        actor: &Actor,
        path: &Path,
        opts: &ImportOptions,
        mut progress: impl FnMut(ImportProgress) -> ControlFlow<()>,
    ) -> Result<ImportReport, AppError> {
        let access = self.access(actor, Some(&opts.purpose))?;
        access.require_record_access()?;
        if !actor.role.may_import() {
            return Err(AppError::Forbidden(format!(
                "role {} may not import customers",
                actor.role
            )));
        }
        let mut default_residency_errors = Vec::new();
        let default_residency = opts
            .default_residency
            .as_deref()
            .and_then(|r| parse_residency(r, &mut default_residency_errors));
        if !default_residency_errors.is_empty() {
            return Err(AppError::invalid(
                "default_residency",
                "is not an ISO 3166-1 alpha-2 country code",
            ));
        }
        let mut file =
            File::open(path).map_err(|e| AppError::Io(format!("{}: {e}", path.display())))?;
        let bytes_total = file.metadata()?.len();
        let fp = fingerprint(&mut file)?;
        let _running = JobLock::try_take(&self.key_dir, &fp)?.ok_or_else(|| {
            AppError::Conflict("this file is being imported by another run right now".into())
        })?;
        // Keys an earlier run of this import left pending, for customers whose rows it never
        // committed, go before this run writes any.
        self.sweep_orphan_keys_of(Some(&fp)).await?;
        let job = self.store.import_job(&fp).await?;
        let mut state = ImportProgress {
            bytes_total,
            ..Default::default()
        };
        if let Some(j) = &job
            && j.finished
        {
            state.bytes_read = j.byte_offset;
            state.created = j.imported;
            state.rejected = j.rejected;
            return Ok(ImportReport {
                progress: state,
                resumed_at_line: None,
                already_done: true,
                finished: true,
            });
        }
        let input =
            File::open(path).map_err(|e| AppError::Io(format!("{}: {e}", path.display())))?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(file);
        let headers = reader
            .byte_headers()
            .map_err(|e| AppError::invalid("headers", e.to_string()))?
            .clone();
        if headers.is_empty() {
            return Err(AppError::invalid("headers", "the file has no header row"));
        }
        let layout = map_headers(self, &headers, &opts.header_map)?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&opts.reject_path)?;
        let mut rejects = Rejects {
            out: BufWriter::new(out),
            input,
        };
        let job = job.unwrap_or(ImportJob {
            fingerprint: fp,
            ..Default::default()
        });
        let (resumed_at_line, mut seen) = if job.byte_offset > 0 {
            let mut pos = csv::Position::new();
            pos.set_byte(job.byte_offset).set_line(job.line);
            reader.seek(pos).map_err(|e| AppError::Io(e.to_string()))?;
            rejects.out.get_ref().set_len(job.reject_len)?;
            state.bytes_read = job.byte_offset;
            state.created = job.imported;
            state.rejected = job.rejected;
            let next = rejects.line(Place {
                byte: job.byte_offset,
                line: job.line,
            })?;
            let seen = self.addresses_before(path, &layout, job.byte_offset)?;
            (Some(next.saturating_sub(1)), seen)
        } else {
            rejects.out.get_ref().set_len(0)?;
            let mut header = csv::ByteRecord::from(vec!["line", "reason"]);
            header.extend(layout.kept.iter().map(|&i| &headers[i]));
            rejects.write_record(&header)?;
            (None, HashMap::new())
        };
        rejects.out.flush()?;
        rejects.out.get_mut().seek(SeekFrom::End(0))?;
        let batch_size = opts.batch_size.clamp(1, 50_000);
        let mut sizes = BatchSizes::new(batch_size, reader.position().byte());
        let mut batch: Vec<Row<'_>> = Vec::with_capacity(batch_size);
        let mut record = csv::ByteRecord::new();
        let mut stopped = false;
        let mut inflight: Option<InFlight> = None;
        let mut pending_rejected = 0;
        loop {
            let more = match reader.read_byte_record(&mut record) {
                Ok(more) => more,
                Err(e) => {
                    // The csv reader only fails on I/O or unrecoverable framing; name the line.
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Err(AppError::Io(format!("reading line {line}: {e}")));
                }
            };
            if more {
                let address = self.address_of(&layout, &record)?;
                let first = match address.map(|a| seen.entry(a)) {
                    Some(Entry::Occupied(first)) => Some(*first.get()),
                    Some(Entry::Vacant(slot)) => {
                        slot.insert(Place::of(&record));
                        None
                    }
                    None => None,
                };
                let parsed = match first {
                    Some(first) => Err(format!(
                        "{MATCH_FIELD}: same email as line {}",
                        rejects.line(first)?
                    )),
                    None => self.parse_row(&access, &layout, &record, default_residency, address),
                };
                match parsed {
                    Ok(row) => batch.push(row),
                    Err(reason) => {
                        // Counted when the batch these rows belong to is committed.
                        pending_rejected += 1;
                        rejects.write(&Source::of(&record, &layout), &reason)?;
                    }
                }
            }
            let position = reader.position().byte();
            if batch.len() >= sizes.next(position, bytes_total) || sizes.full(position) || !more {
                sizes.taken(batch.len(), position);
                let plan = self
                    .plan_batch(&access, std::mem::take(&mut batch), &mut rejects)
                    .await?;
                if let Some(prev) = inflight.take()
                    && self
                        .finish(prev, &mut state, &mut progress)
                        .await?
                        .is_break()
                {
                    stopped = true;
                    break;
                }
                let pos = reader.position().clone();
                state.rejected += std::mem::take(&mut pending_rejected) + plan.rejected;
                rejects.out.flush()?;
                // The length recorded with the batch must survive a power cut.
                rejects.out.get_ref().sync_data()?;
                let mut changes = plan.changes;
                changes.import_job = Some(ImportJob {
                    byte_offset: pos.byte(),
                    line: pos.line(),
                    imported: state.created + plan.created,
                    rejected: state.rejected,
                    reject_len: rejects.out.get_mut().stream_position()?,
                    finished: !more,
                    updated_at: self.clock.now().as_microsecond(),
                    ..job.clone()
                });
                inflight = Some(InFlight {
                    commit: tokio::spawn(commit_plan(
                        self.store.clone(),
                        self.keys.clone(),
                        job.fingerprint.clone(),
                        changes,
                        plan.new_keys,
                    )),
                    created: plan.created,
                    updated: plan.updated,
                    bytes_read: pos.byte(),
                });
            }
            if !more {
                break;
            }
        }
        if let Some(last) = inflight.take() {
            // The last batch is committed whatever the caller answers now.
            let _ = self.finish(last, &mut state, &mut progress).await?;
        }
        Ok(ImportReport {
            progress: state,
            resumed_at_line,
            already_done: false,
            finished: !stopped,
        })
    }

    /// Looks up and seals one batch, whose rows all have different addresses; writes rows it
    /// must refuse to `rejects`.
    async fn plan_batch(
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
        let mut stored_keys = self.keys.data_keys(&existing_ids)?;
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
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        let mut new_keys = Vec::new();
        let mut targets = Vec::with_capacity(order.len());
        let mut fields = std::collections::BTreeSet::new();
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
                    fields.extend(row.values.iter().map(|(f, _)| f.key.clone()));
                    let sealed =
                        self.seal_new(&row.values, residency, row.tags.unwrap_or_default(), now)?;
                    let (write, key) = (sealed.write, sealed.key);
                    targets.push(write.row.id.to_string());
                    new_keys.push(key);
                    inserts.push(write);
                }
                Some(old) => {
                    fields.extend(row.values.iter().map(|(f, _)| f.key.clone()));
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
                        if let Some(e) = self.index_entry(f, v)? {
                            replaced.push(f.key.clone());
                            index.push(e);
                        }
                    }
                    targets.push(old.id.to_string());
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
                fields.into_iter().collect(),
            );
            r.detail = Some(format!("created={created} updated={updated}"));
            audit.push(r);
        }
        Ok(Plan {
            changes: ChangeSet {
                inserts,
                updates,
                audit,
                ..Default::default()
            },
            new_keys,
            created,
            updated,
            rejected,
        })
    }

    /// Waits for a batch's commit and reports progress.
    async fn finish(
        &self,
        batch: InFlight,
        state: &mut ImportProgress,
        progress: &mut impl FnMut(ImportProgress) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, AppError> {
        batch
            .commit
            .await
            .map_err(|e| AppError::Storage(format!("the import writer stopped: {e}")))??;
        state.created += batch.created;
        state.updated += batch.updated;
        state.bytes_read = batch.bytes_read;
        Ok(progress(*state))
    }
}

/// How many rows the next batch takes. Sealing a batch overlaps with writing the one before,
/// so the first batches are small for the writer to start early, and the last ones shrink
/// with what is left of the file so the final write, which nothing overlaps, is short.
/// In between, batches are as large as allowed: each commit rewrites the blind-index pages
/// its random digests touch, so fewer commits write less.
struct BatchSizes {
    max: usize,
    current: usize,
    rows: u64,
    started_at: u64,
    batch_started_at: u64,
}

impl BatchSizes {
    const FIRST: usize = 1_000;
    /// CSV text per batch at most. A batch is held twice over, read and sealed, while the
    /// one before it is written; rows of long notes would otherwise take memory by the
    /// hundred megabytes at the row limit.
    const MAX_BYTES: u64 = 8 * 1024 * 1024;

    /// Batches of at most `max` rows, read from `start`, the reader's position in the file.
    fn new(max: usize, start: u64) -> BatchSizes {
        BatchSizes {
            max,
            current: Self::FIRST.min(max),
            rows: 0,
            started_at: start,
            batch_started_at: start,
        }
    }

    /// Whether the batch being filled holds as much text as a batch may.
    fn full(&self, position: u64) -> bool {
        position.saturating_sub(self.batch_started_at) >= Self::MAX_BYTES
    }

    /// The size for the batch being filled, given the reader's position in the file.
    fn next(&self, position: u64, total: u64) -> usize {
        let read = position.saturating_sub(self.started_at);
        let left = total.saturating_sub(position);
        let rows_left = match (self.rows, read) {
            (0, _) | (_, 0) => u64::MAX,
            (rows, read) => left.saturating_mul(rows) / read,
        };
        let tail = usize::try_from(rows_left / 2).unwrap_or(usize::MAX);
        self.current.min(tail.max(Self::FIRST))
    }

    /// Counts a batch taken, ending at `position`, and lets the next one grow.
    fn taken(&mut self, rows: usize, position: u64) {
        self.batch_started_at = position;
        self.rows += rows as u64;
        self.current = (self.current * 2).min(self.max);
    }
}

/// One batch, sealed and ready to be written.
struct Plan {
    changes: ChangeSet,
    new_keys: Vec<(Uuid, StoredKey)>,
    created: u64,
    updated: u64,
    rejected: u64,
}

/// A batch being written while the next one is read and sealed.
struct InFlight {
    commit: tokio::task::JoinHandle<Result<Vec<AuditEntry>, AppError>>,
    created: u64,
    updated: u64,
    bytes_read: u64,
}

/// Writes a planned batch: keys first, marked pending, so that a crash between the two
/// commits leaves keys that the next run sweeps, never rows without a key; then rows, audit
/// entry and import progress together; then the keys are settled.
async fn commit_plan(
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
    keys.put_pending_data_keys(pending.batch, &pending.job, &new_keys)?;
    match store.apply(changes).await {
        Ok(entries) => {
            keys.settle(pending.batch)?;
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
