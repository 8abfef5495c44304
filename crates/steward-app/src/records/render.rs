//! The record of processing written out: Markdown for people, CSV for spreadsheets (one row
//! per fact, every cell neutralised against formulas), JSON for machines. All three are
//! written from the one [`Ropa`], so none can hold what the others lack.

use std::fmt::Write;

use super::Ropa;
use crate::AppError;
use crate::collection::export::neutralise_cell;

/// How the record is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopaFormat {
    Markdown,
    Csv,
    Json,
}

impl std::str::FromStr for RopaFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "md" | "markdown" => Ok(RopaFormat::Markdown),
            "csv" => Ok(RopaFormat::Csv),
            "json" => Ok(RopaFormat::Json),
            _ => Err("must be md, csv or json".into()),
        }
    }
}

impl RopaFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            RopaFormat::Markdown => "text/markdown; charset=utf-8",
            RopaFormat::Csv => "text/csv; charset=utf-8",
            RopaFormat::Json => "application/json",
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Ropa {
    pub fn render(&self, format: RopaFormat) -> Result<String, AppError> {
        match format {
            RopaFormat::Markdown => Ok(self.markdown()),
            RopaFormat::Csv => self.csv(),
            RopaFormat::Json => serde_json::to_string_pretty(self).map_err(AppError::Encode),
        }
    }

    /// Every fact of the record as (section, key, name, attribute, value), in the order the
    /// Markdown shows them.
    fn facts(&self) -> Vec<[String; 5]> {
        let mut rows = Vec::new();
        let mut fact = |section: &str, key: &str, name: &str, attribute: &str, value: String| {
            rows.push([
                section.to_string(),
                key.to_string(),
                name.to_string(),
                attribute.to_string(),
                value,
            ]);
        };
        let c = &self.controller;
        fact("controller", "", &c.name, "email", c.email.clone());
        fact("controller", "", &c.name, "address", c.address.clone());
        fact(
            "controller",
            "",
            &c.name,
            "jurisdiction",
            c.jurisdiction.clone(),
        );
        for s in &self.data_subjects {
            fact("data_subjects", "", s, "", String::new());
        }
        for p in &self.purposes {
            fact(
                "purpose",
                &p.key,
                &p.name,
                "description",
                p.description.clone(),
            );
            fact(
                "purpose",
                &p.key,
                &p.name,
                "lawful_basis",
                p.lawful_basis.to_string(),
            );
            fact(
                "purpose",
                &p.key,
                &p.name,
                "requires_consent",
                yes_no(p.requires_consent).into(),
            );
            fact(
                "purpose",
                &p.key,
                &p.name,
                "categories",
                list(&p.categories),
            );
            fact(
                "purpose",
                &p.key,
                &p.name,
                "recipients",
                list(&p.recipients),
            );
        }
        for k in &self.categories {
            fact(
                "category",
                &k.key,
                &k.name,
                "special",
                yes_no(k.special).into(),
            );
            fact("category", &k.key, &k.name, "fields", list(&k.fields));
            fact("category", &k.key, &k.name, "purposes", list(&k.purposes));
        }
        for r in &self.recipients {
            let key = r.vendor_id.to_string();
            fact(
                "recipient",
                &key,
                &r.legal_name,
                "role",
                r.role.as_str().into(),
            );
            fact(
                "recipient",
                &key,
                &r.legal_name,
                "status",
                r.status.as_str().into(),
            );
            if let Some(by) = &r.engaged_by {
                fact("recipient", &key, &r.legal_name, "engaged_by", by.clone());
            }
            fact(
                "recipient",
                &key,
                &r.legal_name,
                "established_in",
                list(&r.established_in),
            );
            fact(
                "recipient",
                &key,
                &r.legal_name,
                "purposes",
                list(&r.purposes),
            );
            fact(
                "recipient",
                &key,
                &r.legal_name,
                "categories",
                list(&r.categories),
            );
        }
        for d in self.destinations.iter().filter(|d| d.third_country) {
            fact(
                "third_country",
                d.country.as_str(),
                &d.country_name,
                &d.vendor,
                d.mechanism.clone(),
            );
        }
        for r in &self.retention {
            fact(
                "retention",
                &r.key,
                &r.description,
                "period",
                r.period.clone(),
            );
            fact(
                "retention",
                &r.key,
                &r.description,
                "action",
                r.action.clone(),
            );
        }
        for m in &self.security_measures {
            fact(
                "security_measure",
                "",
                m.name,
                "",
                m.description.to_string(),
            );
        }
        rows
    }

    fn csv(&self) -> Result<String, AppError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| AppError::Internal(format!("writing the record as CSV: {e}"));
        w.write_record(["section", "key", "name", "attribute", "value"])
            .map_err(io)?;
        for row in self.facts() {
            w.write_record(row.iter().map(|cell| neutralise_cell(cell).into_owned()))
                .map_err(io)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        let c = &self.controller;
        let _ = writeln!(
            out,
            "# Record of processing activities (GDPR Art. 30(1))\n\nGenerated {} from Steward's catalog, vendor register, agreements in force and retention rules. Transfer rules: {}.\n",
            self.generated_at,
            cell(&self.transfer_rules_version)
        );
        let _ = writeln!(
            out,
            "## Controller\n\n- Name: {}\n- Contact: {}\n- Address: {}\n- Established in: {}\n",
            cell(&c.name),
            cell(&c.email),
            cell(&c.address),
            cell(&c.jurisdiction)
        );
        out.push_str("## Categories of data subjects\n\n");
        for s in &self.data_subjects {
            let _ = writeln!(out, "- {}", cell(s));
        }
        out.push_str("\n## Purposes of the processing\n\n");
        table(
            &mut out,
            &[
                "Purpose",
                "Key",
                "Lawful basis",
                "Consent",
                "Categories of data",
                "Recipients",
            ],
            self.purposes.iter().map(|p| {
                vec![
                    p.name.clone(),
                    p.key.clone(),
                    p.lawful_basis.to_string(),
                    yes_no(p.requires_consent).into(),
                    list(&p.categories),
                    list(&p.recipients),
                ]
            }),
        );
        out.push_str("## Categories of personal data\n\n");
        table(
            &mut out,
            &["Category", "Key", "Special", "Fields", "Purposes"],
            self.categories.iter().map(|k| {
                vec![
                    k.name.clone(),
                    k.key.clone(),
                    yes_no(k.special).into(),
                    list(&k.fields),
                    list(&k.purposes),
                ]
            }),
        );
        out.push_str("## Recipients\n\n");
        table(
            &mut out,
            &[
                "Recipient",
                "Role",
                "Status",
                "Engaged by",
                "Established in",
                "Purposes",
                "Categories",
            ],
            self.recipients.iter().map(|r| {
                vec![
                    r.legal_name.clone(),
                    r.role.as_str().into(),
                    r.status.as_str().into(),
                    r.engaged_by.clone().unwrap_or_default(),
                    list(&r.established_in),
                    list(&r.purposes),
                    list(&r.categories),
                ]
            }),
        );
        out.push_str("## Transfers to third countries\n\n");
        table(
            &mut out,
            &["Recipient", "Country", "Code", "Mechanism"],
            self.destinations
                .iter()
                .filter(|d| d.third_country)
                .map(|d| {
                    vec![
                        d.vendor.clone(),
                        d.country_name.clone(),
                        d.country.to_string(),
                        d.mechanism.clone(),
                    ]
                }),
        );
        out.push_str("## Retention periods\n\n");
        table(
            &mut out,
            &["Rule", "What", "Period", "Then"],
            self.retention.iter().map(|r| {
                vec![
                    r.key.clone(),
                    r.description.clone(),
                    r.period.clone(),
                    r.action.clone(),
                ]
            }),
        );
        out.push_str("## Technical and organisational security measures\n\n");
        for m in &self.security_measures {
            let _ = writeln!(out, "- **{}**: {}", m.name, cell(m.description));
        }
        out
    }
}

/// A value inside a Markdown table or list: on one line, with nothing a renderer would take
/// for table syntax or markup.
fn cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' | '\n' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn table(out: &mut String, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        out.push_str("None.\n\n");
        return;
    }
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}
