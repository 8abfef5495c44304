//! Streaming export of the customers a purpose may see. Pages are read, decrypted, written
//! and audited one at a time, so memory stays flat however large the database is.

use std::collections::BTreeSet;
use std::io::Write;

use steward_core::role::FieldAccess;
use steward_store::{CustomerFilter, CustomerRow};
use uuid::Uuid;

use crate::collection::customers::{MAX_LIMIT, unwrap_stored};
use crate::services::Customers;
use crate::{Access, Actor, AppError, CustomerView};

const PAGE: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            _ => Err("must be csv or jsonl".into()),
        }
    }
}

/// Spreadsheets run a cell that starts with `=`, `+`, `-`, `@` (or a tab or carriage return
/// before one) as a formula. Such cells get a leading apostrophe, except signed plain
/// numbers such as an E.164 phone number, which cannot carry a formula.
pub fn neutralise_cell(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = match value.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !value[1..].chars().all(|c| c.is_ascii_digit()) || value.len() == 1,
        _ => false,
    };
    if risky {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

impl Customers<'_> {
    /// Writes every customer the purpose may see; returns how many were written.
    pub async fn export(
        &self,
        actor: &Actor,
        purpose: &str,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
        mut progress: impl FnMut(u64),
    ) -> Result<u64, AppError> {
        let (access, columns) = self.export_access(actor, purpose, format, out)?;
        let mut written = 0u64;
        let mut after = None;
        loop {
            let rows = self
                .app
                .store
                .list_customers(&CustomerFilter {
                    after,
                    limit: PAGE,
                    ..Default::default()
                })
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            written += self
                .export_page(&access, &rows, &columns, format, out)
                .await?;
            progress(written);
        }
        out.flush()?;
        Ok(written)
    }

    /// Writes the selected customers the purpose may see, as [`Customers::export`] writes
    /// every one; a selection naming a customer who is not there writes nothing.
    pub async fn export_selected(
        &self,
        actor: &Actor,
        purpose: &str,
        ids: &[Uuid],
        format: ExportFormat,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, AppError> {
        let ids: Vec<Uuid> = ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() || ids.len() > MAX_LIMIT {
            return Err(AppError::invalid(
                "ids",
                format!("select between 1 and {MAX_LIMIT} customers"),
            ));
        }
        let rows = self.app.store.get_customers(&ids).await?;
        if rows.len() != ids.len() {
            return Err(AppError::NotFound);
        }
        let (access, columns) = self.export_access(actor, purpose, format, out)?;
        let written = self
            .export_page(&access, &rows, &columns, format, out)
            .await?;
        out.flush()?;
        Ok(written)
    }

    /// The access an export works under and the columns it writes (after the header row,
    /// for CSV).
    fn export_access(
        &self,
        actor: &Actor,
        purpose: &str,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
    ) -> Result<(Access, Vec<String>), AppError> {
        let access = self.app.access(actor, Some(purpose))?;
        access.require_record_access()?;
        if !actor.role.may_export() {
            return Err(AppError::Forbidden(format!(
                "role {} may not export customer data",
                actor.role
            )));
        }
        let columns: Vec<String> = self
            .app
            .catalog
            .fields()
            .iter()
            .filter(|f| {
                f.needed_for(purpose)
                    && actor.role.field_access(f.sensitivity) == FieldAccess::Clear
            })
            .map(|f| f.key.clone())
            .collect();
        if format == ExportFormat::Csv {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header = vec![
                "id",
                "residency",
                "status",
                "tags",
                "created_at",
                "updated_at",
            ];
            header.extend(columns.iter().map(String::as_str));
            w.write_record(&header).map_err(AppError::Csv)?;
            out.write_all(&w.into_inner().map_err(|e| e.into_error())?)?;
        }
        Ok((access, columns))
    }

    /// Writes one page of customers, audited before it is written; how many were written.
    async fn export_page(
        &self,
        access: &Access,
        rows: &[CustomerRow],
        columns: &[String],
        format: ExportFormat,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, AppError> {
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        let mut keys = self.app.keys.data_keys(&ids).await?;
        let objected = self.app.objected_among(access, &ids).await?;
        let mut views: Vec<CustomerView> = Vec::with_capacity(rows.len());
        let mut opened = BTreeSet::new();
        for row in rows {
            // Art. 18: a restricted customer is kept, not exported; Art. 21: nor is one
            // whose objection to the purpose was upheld.
            if crate::security::access::ensure_unrestricted(access, row).is_err()
                || objected.contains(&row.id)
            {
                continue;
            }
            let Some(stored) = keys.remove(&row.id) else {
                tracing::warn!(customer = %row.id, "skipped a customer whose key is destroyed: erasure in progress");
                continue;
            };
            let dek = self
                .app
                .vault
                .open_data_key(&row.id, &unwrap_stored(stored))?;
            let (view, fields) = self.app.view(access, row, &dek)?;
            opened.extend(fields);
            views.push(view);
        }
        // Audited before the page is written out.
        self.app
            .append(vec![self.app.access_record(
                access,
                "customer.export",
                views.iter().map(|v| v.id.to_string()).collect(),
                opened.into_iter().collect(),
            )])
            .await?;
        let mut buf = Vec::with_capacity(views.len() * 256);
        for v in &views {
            match format {
                ExportFormat::Csv => {
                    let mut w = csv::Writer::from_writer(&mut buf);
                    let mut record: Vec<String> = vec![
                        v.id.to_string(),
                        v.residency.clone(),
                        v.status.clone(),
                        v.tags.join(";"),
                        v.created_at.to_string(),
                        v.updated_at.to_string(),
                    ];
                    record.extend(columns.iter().map(|c| {
                        v.fields
                            .get(c)
                            .map(|val| neutralise_cell(val).into_owned())
                            .unwrap_or_default()
                    }));
                    w.write_record(&record).map_err(AppError::Csv)?;
                    w.flush()?;
                }
                ExportFormat::Jsonl => {
                    serde_json::to_writer(&mut buf, v).map_err(AppError::Encode)?;
                    buf.push(b'\n');
                }
            }
        }
        out.write_all(&buf)?;
        Ok(views.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise_cell;

    #[test]
    fn formulas_are_neutralised_and_phone_numbers_kept() {
        assert_eq!(neutralise_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            neutralise_cell("+1+cmd|' /C calc'!A0"),
            "'+1+cmd|' /C calc'!A0"
        );
        assert_eq!(neutralise_cell("-2+3"), "'-2+3");
        assert_eq!(neutralise_cell("\t=1"), "'\t=1");
        assert_eq!(neutralise_cell("+493012345678"), "+493012345678");
        assert_eq!(neutralise_cell("Ada"), "Ada");
    }
}
