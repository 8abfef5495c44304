//! How a file's columns map to the catalog: headers to fields, and each row read into
//! checked values, its address digest, residency and tags.

use std::borrow::Cow;
use std::collections::HashMap;

use steward_core::CountryCode;
use steward_core::catalog::{FieldDef, FieldKind};
use steward_store::IndexDigest;

use super::{RESIDENCY_COLUMN, TAGS_COLUMN};
use crate::collection::customers::{MATCH_FIELD, parse_residency, parse_tags};
use crate::collection::minimisation::{GivenConsents, check_values};
use crate::{Access, AppError, Steward};

pub(super) enum Column<'c> {
    Field(&'c FieldDef),
    Residency,
    Tags,
    /// Mapped to nothing: read past, never stored, never repeated in the reject file.
    Ignored,
}

/// What a header map names for a column the file has but the import should leave out.
pub const IGNORE_COLUMN: &str = "";

/// The file's columns in order, and where the ones the import treats apart are.
pub(super) struct Layout<'c> {
    pub(super) columns: Vec<Column<'c>>,
    /// The column customers are matched by.
    pub(super) address: usize,
    pub(super) address_field: &'c FieldDef,
    /// Columns that hold no personal data (residency, tags), repeated in the reject file so
    /// that a refused row can be told apart without its personal values.
    pub(super) kept: Vec<usize>,
}

/// Where a record starts, as the csv reader counts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    pub(super) byte: u64,
    pub(super) line: u64,
}

impl Place {
    pub(super) fn of(record: &csv::ByteRecord) -> Place {
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
pub(super) struct Source {
    pub(super) at: Place,
    pub(super) kept: csv::ByteRecord,
}

impl Source {
    pub(super) fn of(record: &csv::ByteRecord, layout: &Layout<'_>) -> Source {
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

pub(super) struct Row<'c> {
    pub(super) source: Source,
    pub(super) values: Vec<(&'c FieldDef, String)>,
    pub(super) email: IndexDigest,
    pub(super) residency: Option<CountryCode>,
    pub(super) tags: Option<Vec<String>>,
}

/// Maps headers to columns; a header that is neither a catalog key, a label, a mapped name
/// nor a known column is refused, as is a repeated one. A header mapped to
/// [`IGNORE_COLUMN`] is left out.
pub(super) fn map_headers<'c>(
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
        if key == IGNORE_COLUMN {
            columns.push(Column::Ignored);
            continue;
        }
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
            Column::Ignored => {}
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

impl Steward {
    pub(super) fn parse_row<'c>(
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
                Column::Residency | Column::Ignored => {}
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
        let values = check_values(self.catalog(), access, raw_values, GivenConsents::NONE)
            .map_err(|mut e| {
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
}
