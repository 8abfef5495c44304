//! Bulk import of customers from CSV: headers mapped to catalog fields, upsert by email,
//! batches committed with their progress so an interrupted import resumes exactly where it
//! stopped, and every refused row written to a reject file with its file line, its reason and
//! the cells of its columns that hold no personal data (never a catalog field's value).
//! An address counts once per file: a later row with an address seen before is refused,
//! naming the line it was first seen on, rather than silently overwriting that row.

mod batches;
mod layout;
mod rejects;
mod seen;
pub(crate) mod staged;

pub use layout::IGNORE_COLUMN;
pub use staged::{ImportRunView, MAX_UPLOAD, StagedColumn, StagedImport, StagedRun};

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use steward_store::ImportJob;

use crate::collection::customers::{MATCH_FIELD, parse_residency};
use crate::services::Customers;
use crate::{Actor, AppError, Steward};
use batches::{BatchSizes, InFlight, commit_plan};
use layout::{Place, Row, Source, map_headers};
use rejects::Rejects;
use seen::Seen;

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

impl Steward {
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
            .map_err(|e| AppError::Internal(format!("the import writer stopped: {e}")))??;
        state.created += batch.created;
        state.updated += batch.updated;
        state.bytes_read = batch.bytes_read;
        Ok(progress(*state))
    }
}

impl Customers<'_> {
    /// Imports (or resumes importing) a CSV file. `progress` is called after every committed
    /// batch; returning `Break` stops after that batch, leaving the import resumable.
    pub async fn import(
        &self,
        actor: &Actor,
        path: &Path,
        opts: &ImportOptions,
        mut progress: impl FnMut(ImportProgress) -> ControlFlow<()>,
    ) -> Result<ImportReport, AppError> {
        let access = self.app.access(actor, Some(&opts.purpose))?;
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
        let mut file = File::open(path).map_err(|source| AppError::File {
            path: path.to_path_buf(),
            source,
        })?;
        let bytes_total = file.metadata()?.len();
        let fp = fingerprint(&mut file)?;
        let _running = self.app.try_job_lock(&fp).await?.ok_or_else(|| {
            AppError::Conflict("this file is being imported by another run right now".into())
        })?;
        // Keys an earlier run of this import left pending, for customers whose rows it never
        // committed, go before this run writes any.
        self.app.sweep_orphan_keys_of(Some(&fp)).await?;
        let job = self.app.store.import_job(&fp).await?;
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
        let input = File::open(path).map_err(|source| AppError::File {
            path: path.to_path_buf(),
            source,
        })?;
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
        let layout = map_headers(self.app, &headers, &opts.header_map)?;
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
            reader.seek(pos).map_err(AppError::Csv)?;
            rejects.out.get_ref().set_len(job.reject_len)?;
            state.bytes_read = job.byte_offset;
            state.created = job.imported;
            state.rejected = job.rejected;
            let next = rejects.line(Place {
                byte: job.byte_offset,
                line: job.line,
            })?;
            let seen = self.app.addresses_before(path, &layout, job.byte_offset)?;
            (Some(next.saturating_sub(1)), seen)
        } else {
            rejects.out.get_ref().set_len(0)?;
            let mut header = csv::ByteRecord::from(vec!["line", "reason"]);
            header.extend(layout.kept.iter().map(|&i| &headers[i]));
            rejects.write_record(&header)?;
            (None, Seen::new())
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
                    // The csv reader only fails on I/O or unrecoverable framing; the error
                    // names its line.
                    return Err(AppError::Csv(e));
                }
            };
            if more {
                let address = self.app.address_of(&layout, &record)?;
                let first = address.and_then(|a| seen.first_or_note(a, Place::of(&record)));
                let parsed = match first {
                    Some(first) => Err(format!(
                        "{MATCH_FIELD}: same email as line {}",
                        rejects.line(first)?
                    )),
                    None => {
                        self.app
                            .parse_row(&access, &layout, &record, default_residency, address)
                    }
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
                if sizes.rows == 0 {
                    seen.expect(sizes.rows_in(batch.len(), position, bytes_total));
                }
                sizes.taken(batch.len(), position);
                let plan = self
                    .app
                    .plan_batch(&access, std::mem::take(&mut batch), &mut rejects)
                    .await?;
                if let Some(prev) = inflight.take()
                    && self
                        .app
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
                    updated_at: self.app.clock.now().as_microsecond(),
                    ..job.clone()
                });
                inflight = Some(InFlight {
                    commit: tokio::spawn(commit_plan(
                        self.app.store.clone(),
                        self.app.keys.clone(),
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
            let _ = self.app.finish(last, &mut state, &mut progress).await?;
        }
        Ok(ImportReport {
            progress: state,
            resumed_at_line,
            already_done: false,
            finished: !stopped,
        })
    }
}
