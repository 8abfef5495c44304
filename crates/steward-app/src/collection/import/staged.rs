//! Imports started from the console: the uploaded file is held in memory until the staff
//! member has mapped its columns, then run by the same import as the command line, with its
//! progress and its reject file kept for the page that watches it.
//!
//! An upload holds personal values in clear, so it never touches a disk: it lives in an
//! anonymous memory file (`memfd`), which the import opens again by its `/proc/self/fd` path
//! as it opens any other file. It is held by the instance that received it, for an hour.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use steward_core::catalog::FieldDef;
use steward_core::role::FieldAccess;
use uuid::Uuid;

use super::layout::IGNORE_COLUMN;
use super::{ImportOptions, ImportProgress, ImportReport, RESIDENCY_COLUMN, TAGS_COLUMN};
use crate::services::Customers;
use crate::{Actor, AppError, FieldError};

/// The largest upload held, and all uploads of an instance together.
pub const MAX_UPLOAD: usize = 32 << 20;
const MAX_HELD: u64 = 256 << 20;
/// How long an upload and its outcome are kept.
const KEPT_FOR: Duration = Duration::from_secs(3600);
/// Rows shown to check the mapping.
const SAMPLE_ROWS: usize = 5;
/// A sample cell is cut to this many characters.
const SAMPLE_CHARS: usize = 60;

/// The uploads this instance holds.
#[derive(Default)]
pub(crate) struct Uploads(Mutex<HashMap<Uuid, Arc<Upload>>>);

struct Upload {
    owner: String,
    file: File,
    size: u64,
    received: Instant,
    run: Mutex<Option<Arc<Run>>>,
}

struct Run {
    rejects: File,
    progress: Mutex<ImportProgress>,
    outcome: Mutex<Option<Result<ImportReport, String>>>,
}

/// An upload's columns with the field each would go to, and its first rows as the staff
/// member's role may see them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StagedImport {
    pub id: Uuid,
    pub size: u64,
    pub columns: Vec<StagedColumn>,
    /// Cells of the first rows, column by column; `None` where the role may not see the
    /// field's values.
    pub sample: Vec<Vec<Option<String>>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StagedColumn {
    pub header: String,
    /// The catalog key, `residency` or `tags` the column goes to; empty when left out.
    pub suggested: String,
}

/// An upload's import, claimed and not yet run: the page that watches it finds it from the
/// moment it is claimed, so a page asked for at once never sees the upload as not started.
pub struct StagedRun {
    actor: Actor,
    upload: Arc<Upload>,
    run: Arc<Run>,
    opts: ImportOptions,
}

/// Where an import started from the console stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportRunView {
    pub id: Uuid,
    pub progress: ImportProgress,
    pub finished: bool,
    pub report: Option<ImportReport>,
    /// Why the import stopped, when it failed as a whole.
    pub error: Option<String>,
}

fn memory_file(name: &str) -> Result<File, AppError> {
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| AppError::Io(e.into()))?;
    Ok(File::from(fd))
}

fn path_of(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

impl Uploads {
    fn get(&self, actor: &Actor, id: Uuid) -> Result<Arc<Upload>, AppError> {
        let held = self
            .0
            .lock()
            .map_err(|_| AppError::Internal("uploads".into()))?;
        match held.get(&id) {
            // Another staff member's upload is as unknown as one never made.
            Some(u) if u.owner == actor.id => Ok(u.clone()),
            _ => Err(AppError::NotFound),
        }
    }
}

impl Customers<'_> {
    fn require_importer(actor: &Actor) -> Result<(), AppError> {
        if actor.role.may_import() {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "role {} may not import customers",
                actor.role
            )))
        }
    }

    /// Holds an uploaded CSV file for its staff member to map; what the first rows hold is
    /// read with [`Customers::staged_import`].
    pub fn stage_import(&self, actor: &Actor, bytes: &[u8]) -> Result<Uuid, AppError> {
        Self::require_importer(actor)?;
        if bytes.is_empty() {
            return Err(AppError::invalid("file", "the file is empty"));
        }
        if bytes.len() > MAX_UPLOAD {
            return Err(AppError::invalid(
                "file",
                format!(
                    "a file uploaded here holds at most {} MiB; import larger ones with `steward import customers`",
                    MAX_UPLOAD >> 20
                ),
            ));
        }
        let id = Uuid::now_v7();
        let mut file = memory_file("steward-upload")?;
        file.write_all(bytes)?;
        let mut held = self
            .app
            .uploads
            .0
            .lock()
            .map_err(|_| AppError::Internal("uploads".into()))?;
        held.retain(|_, u| u.received.elapsed() < KEPT_FOR || u.running());
        let total: u64 = held.values().map(|u| u.size).sum();
        if total + bytes.len() as u64 > MAX_HELD {
            return Err(AppError::Conflict(
                "this server holds as many uploads as it may; try again when an import has finished".into(),
            ));
        }
        held.insert(
            id,
            Arc::new(Upload {
                owner: actor.id.clone(),
                file,
                size: bytes.len() as u64,
                received: Instant::now(),
                run: Mutex::new(None),
            }),
        );
        Ok(id)
    }

    /// An upload's columns, each with the field it would go to (as `mapping` chooses, or
    /// as its header names one), and its first rows, each cell shown only where the role may
    /// read that field for `purpose`: a column going nowhere is not shown.
    pub fn staged_import(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: &str,
        mapping: &HashMap<String, String>,
    ) -> Result<StagedImport, AppError> {
        Self::require_importer(actor)?;
        let access = self.app.access(actor, Some(purpose))?;
        let upload = self.app.uploads.get(actor, id)?;
        let file = File::open(path_of(&upload.file))?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(file.take(upload.size));
        let headers = reader
            .headers()
            .map_err(|e| AppError::invalid("file", e.to_string()))?
            .clone();
        let catalog = self.app.catalog();
        let columns: Vec<StagedColumn> = headers
            .iter()
            .map(|h| {
                let header = h.trim().trim_start_matches('\u{feff}').trim().to_string();
                let lower = header.to_lowercase();
                let suggested = if let Some(key) = mapping.get(&header) {
                    key.clone()
                } else if lower == RESIDENCY_COLUMN || lower == TAGS_COLUMN {
                    lower
                } else {
                    catalog
                        .fields()
                        .iter()
                        .find(|f| f.key == lower || f.label.to_lowercase() == lower)
                        .map(|f| f.key.clone())
                        .unwrap_or_else(|| IGNORE_COLUMN.to_string())
                };
                StagedColumn { header, suggested }
            })
            .collect();
        let shown = |def: Option<&FieldDef>| match def {
            Some(f) => {
                f.needed_for(&access.purpose.key)
                    && actor.role.field_access(f.sensitivity) == FieldAccess::Clear
            }
            None => false,
        };
        let mut sample = Vec::new();
        for record in reader.records().take(SAMPLE_ROWS) {
            let record = record.map_err(|e| AppError::invalid("file", e.to_string()))?;
            let row = columns
                .iter()
                .zip(record.iter())
                .map(|(c, cell)| {
                    let plain = c.suggested == RESIDENCY_COLUMN || c.suggested == TAGS_COLUMN;
                    (plain || shown(catalog.field(&c.suggested)))
                        .then(|| cell.chars().take(SAMPLE_CHARS).collect())
                })
                .collect();
            sample.push(row);
        }
        Ok(StagedImport {
            id,
            size: upload.size,
            columns,
            sample,
        })
    }

    /// Claims the import of an upload with the mapping chosen for its columns (header →
    /// catalog key, `residency`, `tags`, or empty to leave it out); from now on
    /// [`Customers::import_run`] answers for it, and [`Customers::run_staged_import`] runs it.
    pub fn claim_staged_import(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: String,
        default_residency: Option<String>,
        mapping: HashMap<String, String>,
    ) -> Result<StagedRun, AppError> {
        Self::require_importer(actor)?;
        self.app.access(actor, Some(&purpose))?;
        let upload = self.app.uploads.get(actor, id)?;
        let run = {
            let mut slot = upload
                .run
                .lock()
                .map_err(|_| AppError::Internal("uploads".into()))?;
            if slot.is_some() {
                return Err(AppError::invalid(
                    "file",
                    "this upload was imported already",
                ));
            }
            let run = Arc::new(Run {
                rejects: memory_file("steward-rejects")?,
                progress: Mutex::new(ImportProgress::default()),
                outcome: Mutex::new(None),
            });
            *slot = Some(run.clone());
            run
        };
        let opts = ImportOptions {
            purpose,
            default_residency,
            header_map: mapping,
            reject_path: path_of(&run.rejects),
            batch_size: 2_000,
        };
        Ok(StagedRun {
            actor: actor.clone(),
            upload,
            run,
            opts,
        })
    }

    /// Runs a claimed import to its end; the page that watches it reads
    /// [`Customers::import_run`] meanwhile.
    pub async fn run_staged_import(&self, staged: StagedRun) -> Result<(), AppError> {
        let StagedRun {
            actor,
            upload,
            run,
            opts,
        } = staged;
        let result = self
            .import(&actor, &path_of(&upload.file), &opts, |p| {
                if let Ok(mut shown) = run.progress.lock() {
                    *shown = p;
                }
                ControlFlow::Continue(())
            })
            .await;
        let outcome = match &result {
            Ok(report) => Ok(report.clone()),
            Err(AppError::Invalid(errors)) => Err(errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")),
            Err(e) => Err(e.to_string()),
        };
        if let Ok(mut slot) = run.outcome.lock() {
            *slot = Some(outcome);
        }
        result.map(|_| ())
    }

    /// Checks what a run of an upload would be refused for before the page starts it in the
    /// background: the purpose, the default residency and the mapping's targets.
    pub fn check_staged_import(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: &str,
        mapping: &HashMap<String, String>,
    ) -> Result<(), AppError> {
        Self::require_importer(actor)?;
        self.app.access(actor, Some(purpose))?;
        let upload = self.app.uploads.get(actor, id)?;
        if upload.ran() {
            return Err(AppError::invalid(
                "file",
                "this upload was imported already",
            ));
        }
        let catalog = self.app.catalog();
        let errors: Vec<FieldError> = mapping
            .iter()
            .filter(|(_, key)| {
                let key = key.as_str();
                key != IGNORE_COLUMN
                    && key != RESIDENCY_COLUMN
                    && key != TAGS_COLUMN
                    && catalog.field(key).is_none()
            })
            .map(|(header, key)| {
                FieldError::new(
                    format!("map.{header}"),
                    format!("{key:?} is not a field of the catalog"),
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(errors))
        }
    }

    /// Where an import started from the console stands.
    pub fn import_run(&self, actor: &Actor, id: Uuid) -> Result<ImportRunView, AppError> {
        Self::require_importer(actor)?;
        let upload = self.app.uploads.get(actor, id)?;
        let run = upload.current().ok_or(AppError::NotFound)?;
        let progress = run.progress.lock().map(|p| *p).unwrap_or_default();
        let outcome = run.outcome.lock().map(|o| o.clone()).unwrap_or_default();
        let (report, error) = match outcome {
            Some(Ok(report)) => (Some(report), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        Ok(ImportRunView {
            id,
            progress: report.as_ref().map(|r| r.progress).unwrap_or(progress),
            finished: report.is_some() || error.is_some(),
            report,
            error,
        })
    }

    /// The reject file of a finished import: lines, reasons and the cells that hold no
    /// personal data.
    pub fn import_rejects(&self, actor: &Actor, id: Uuid) -> Result<Vec<u8>, AppError> {
        let view = self.import_run(actor, id)?;
        if !view.finished {
            return Err(AppError::Conflict("the import is still running".into()));
        }
        let upload = self.app.uploads.get(actor, id)?;
        let run = upload.current().ok_or(AppError::NotFound)?;
        let mut out = Vec::new();
        File::open(path_of(&run.rejects))?.read_to_end(&mut out)?;
        Ok(out)
    }
}

impl Upload {
    fn current(&self) -> Option<Arc<Run>> {
        self.run.lock().ok().and_then(|r| r.clone())
    }

    fn ran(&self) -> bool {
        self.current().is_some()
    }

    fn running(&self) -> bool {
        self.current()
            .is_some_and(|r| r.outcome.lock().map(|o| o.is_none()).unwrap_or(false))
    }
}
