//! A person's own data, complete and machine-readable (GDPR Art. 15 and 20), as JSON or CSV,
//! produced in chunks: the profile first, then the interactions a page at a time, so memory
//! stays flat however long their history is. Its scope says which of their profile
//! attributes it carries: all of them for access, not what we inferred for portability.

use std::str::FromStr;

use serde::Serialize;
use steward_core::personalization::Source;
use steward_vault::DataKey;
use uuid::Uuid;

use crate::collection::export::neutralise_cell;
use crate::security::access::LEGAL_OBLIGATION;
use crate::security::access::Subject;
use crate::services::Portal;
use crate::services::Rights;
use crate::{Access, AppError, InteractionView, PortalOverview, Steward};

const PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectFormat {
    Json,
    Csv,
}

impl FromStr for SubjectFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(SubjectFormat::Json),
            "csv" => Ok(SubjectFormat::Csv),
            _ => Err("must be json or csv".into()),
        }
    }
}

impl SubjectFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            SubjectFormat::Json => "application/json",
            SubjectFormat::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            SubjectFormat::Json => "json",
            SubjectFormat::Csv => "csv",
        }
    }
}

/// Which right an export answers. Access (Art. 15) carries everything held, each profile
/// attribute labelled with its source; portability (Art. 20) carries what the person gave us
/// and what we observed of them, not what we inferred, which is ours rather than theirs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportScope {
    #[default]
    Access,
    Portability,
}

impl FromStr for ExportScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "access" => Ok(ExportScope::Access),
            "portability" => Ok(ExportScope::Portability),
            _ => Err("must be access or portability".into()),
        }
    }
}

impl ExportScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportScope::Access => "access",
            ExportScope::Portability => "portability",
        }
    }

    /// Whether an attribute of this source goes into the export.
    fn carries(self, source: Source) -> bool {
        self == ExportScope::Access || source != Source::Inferred
    }

    /// The head of an export in this scope: attributes outside it are left out before
    /// anything is read out, so the audit entry names only what left.
    fn narrow(self, head: &mut PortalOverview) {
        head.personalization
            .attributes
            .retain(|a| self.carries(a.source));
    }
}

/// An export under way: call `Rights::export_chunk` until it yields `None`.
pub struct SubjectExport {
    customer: Uuid,
    dek: DataKey,
    format: SubjectFormat,
    scope: ExportScope,
    head: Option<PortalOverview>,
    after: Option<(i64, Uuid)>,
    written_any: bool,
    done: bool,
}

/// The JSON document's opening: everything but the interactions, which follow it.
#[derive(Serialize)]
struct Head<'a> {
    format: &'static str,
    scope: &'static str,
    #[serde(flatten)]
    profile: &'a PortalOverview,
}

const CSV_HEADER: [&str; 6] = ["section", "id", "name", "value", "detail", "at"];

fn csv_rows(rows: &[[String; 6]]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 96));
    for r in rows {
        w.write_record(r.iter().map(|c| neutralise_cell(c).into_owned()))
            .map_err(AppError::Csv)?;
    }
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

fn profile_rows(p: &PortalOverview) -> Vec<[String; 6]> {
    let id = p.customer_id.to_string();
    let mut rows = vec![
        CSV_HEADER.map(str::to_string),
        [
            "customer".into(),
            id.clone(),
            "residency".into(),
            p.residency.clone(),
            String::new(),
            p.created_at.to_string(),
        ],
        [
            "customer".into(),
            id.clone(),
            "status".into(),
            p.status.clone(),
            p.source.clone().unwrap_or_default(),
            p.created_at.to_string(),
        ],
    ];
    for v in &p.values {
        rows.push([
            "value".into(),
            id.clone(),
            v.field.clone(),
            v.value.clone(),
            format!("{}; for: {}", v.category, v.purposes.join(", ")),
            String::new(),
        ]);
    }
    let level = &p.personalization.level;
    rows.push([
        "personalization_level".into(),
        id.clone(),
        "chosen".into(),
        level.chosen.as_str().into(),
        format!("in force: {}", level.effective),
        level.changed_at.map(|t| t.to_string()).unwrap_or_default(),
    ]);
    for a in &p.personalization.attributes {
        rows.push([
            "attribute".into(),
            id.clone(),
            a.key.clone(),
            a.value.as_text(),
            format!(
                "{}; source: {}; from: {}; {}",
                a.label, a.source, a.derived_from, a.explanation
            ),
            a.computed_at.to_string(),
        ]);
    }
    for c in &p.consents {
        rows.push([
            "consent".into(),
            id.clone(),
            c.purpose.clone(),
            c.state.map(|s| s.as_str().to_string()).unwrap_or_default(),
            if c.given { "in force" } else { "not in force" }.into(),
            c.given_at.map(|t| t.to_string()).unwrap_or_default(),
        ]);
    }
    for e in &p.consent_history {
        rows.push([
            "consent_event".into(),
            e.id.to_string(),
            e.purpose.clone(),
            e.state.as_str().into(),
            format!(
                "method {}; notice {}",
                e.method,
                e.notice_version.as_deref().unwrap_or("none")
            ),
            e.at.to_string(),
        ]);
    }
    for r in &p.requests {
        rows.push([
            "request".into(),
            r.id.to_string(),
            r.kind.clone(),
            r.state.clone(),
            format!("by {}; due {}", r.channel, r.due_at),
            r.received_at.to_string(),
        ]);
    }
    for d in &p.disclosures {
        let countries: Vec<&str> = d
            .destinations
            .iter()
            .filter_map(|x| x["country"].as_str())
            .collect();
        rows.push([
            "disclosure".into(),
            d.share_id.to_string(),
            d.vendor.clone(),
            d.purpose.clone(),
            format!(
                "categories {}; countries {}",
                d.categories.join(", "),
                countries.join(", ")
            ),
            d.at.to_string(),
        ]);
    }
    for n in &p.recipients_told {
        rows.push([
            "recipient_notice".into(),
            n.id.to_string(),
            n.vendor.clone(),
            n.status.as_str().into(),
            format!(
                "{}; fields {}; due {}{}",
                n.kind,
                n.fields.join(", "),
                n.due,
                n.reason
                    .as_deref()
                    .map(|r| format!("; reason {r}"))
                    .unwrap_or_default()
            ),
            n.created_at.to_string(),
        ]);
    }
    for a in &p.access_history {
        rows.push([
            "access".into(),
            String::new(),
            a.action.clone(),
            a.who.clone(),
            format!(
                "purpose {}; fields {}",
                a.purpose.as_deref().unwrap_or("none"),
                a.fields.join(", ")
            ),
            a.at.to_string(),
        ]);
    }
    rows
}

fn interaction_row(i: &InteractionView) -> [String; 6] {
    [
        "interaction".into(),
        i.id.to_string(),
        i.kind.clone(),
        i.summary.clone(),
        i.body.clone().unwrap_or_default(),
        i.occurred_at.to_string(),
    ]
}

impl Steward {
    fn subject_export(
        &self,
        customer: Uuid,
        dek: DataKey,
        format: SubjectFormat,
        scope: ExportScope,
        head: PortalOverview,
    ) -> SubjectExport {
        SubjectExport {
            customer,
            dek,
            format,
            scope,
            head: Some(head),
            after: None,
            written_any: false,
            done: false,
        }
    }
}

impl Rights<'_> {
    /// Starts a customer's export for staff answering an access request; only the
    /// legal-obligation purpose reaches it.
    pub async fn start_export(
        &self,
        access: &Access,
        customer: Uuid,
        format: SubjectFormat,
    ) -> Result<SubjectExport, AppError> {
        self.start_scoped_export(access, customer, format, ExportScope::Access)
            .await
    }

    /// Starts a customer's export for staff answering an access or a portability request.
    pub async fn start_scoped_export(
        &self,
        access: &Access,
        customer: Uuid,
        format: SubjectFormat,
        scope: ExportScope,
    ) -> Result<SubjectExport, AppError> {
        if access.purpose.key != LEGAL_OBLIGATION {
            return Err(AppError::Forbidden(format!(
                "a person's full export answers a request, under the purpose {LEGAL_OBLIGATION}"
            )));
        }
        let (mut head, dek) = self.app.subject_profile(customer).await?;
        scope.narrow(&mut head);
        let fields = head.fields_read();
        let mut record = self.app.access_record(
            access,
            "customer.export",
            vec![customer.to_string()],
            fields,
        );
        record.detail = Some(format!(
            "subject export for {} as {}",
            scope.as_str(),
            format.extension()
        ));
        self.app.append(vec![record]).await?;
        Ok(self.app.subject_export(customer, dek, format, scope, head))
    }

    /// The next piece of the export, or `None` once it is complete.
    pub async fn export_chunk(
        &self,
        export: &mut SubjectExport,
    ) -> Result<Option<Vec<u8>>, AppError> {
        if export.done {
            return Ok(None);
        }
        if let Some(head) = export.head.take() {
            return Ok(Some(match export.format {
                SubjectFormat::Csv => csv_rows(&profile_rows(&head))?,
                SubjectFormat::Json => {
                    let mut doc = serde_json::to_value(Head {
                        format: "steward-subject-export/1",
                        scope: export.scope.as_str(),
                        profile: &head,
                    })
                    .map_err(AppError::Encode)?;
                    // The interactions follow the profile, a page at a time.
                    if let Some(map) = doc.as_object_mut() {
                        map.remove("interactions");
                    }
                    let mut buf = serde_json::to_vec(&doc).map_err(AppError::Encode)?;
                    buf.pop();
                    buf.extend_from_slice(b",\"interactions\":[");
                    buf
                }
            }));
        }
        let page = self
            .app
            .store
            .list_interactions(export.customer, export.after, PAGE)
            .await?;
        let Some(last) = page.last() else {
            export.done = true;
            return Ok(match export.format {
                SubjectFormat::Json => Some(b"]}".to_vec()),
                SubjectFormat::Csv => None,
            });
        };
        export.after = Some((last.occurred_at, last.id));
        let views = page
            .iter()
            .map(|row| self.app.open_interaction(&export.dek, row))
            .collect::<Result<Vec<_>, _>>()?;
        match export.format {
            SubjectFormat::Csv => {
                let rows: Vec<[String; 6]> = views.iter().map(interaction_row).collect();
                Ok(Some(csv_rows(&rows)?))
            }
            SubjectFormat::Json => {
                let mut buf = Vec::with_capacity(views.len() * 160);
                for v in &views {
                    if export.written_any {
                        buf.push(b',');
                    }
                    export.written_any = true;
                    serde_json::to_writer(&mut buf, v).map_err(AppError::Encode)?;
                }
                Ok(Some(buf))
            }
        }
    }
}

impl Portal<'_> {
    /// Starts the signed-in customer's download of everything held about them.
    pub async fn start_export(
        &self,
        subject: &Subject,
        format: SubjectFormat,
    ) -> Result<SubjectExport, AppError> {
        self.start_scoped_export(subject, format, ExportScope::Access)
            .await
    }

    /// Starts the signed-in customer's download of their own data, for access or to take
    /// elsewhere.
    pub async fn start_scoped_export(
        &self,
        subject: &Subject,
        format: SubjectFormat,
        scope: ExportScope,
    ) -> Result<SubjectExport, AppError> {
        let customer = subject.customer();
        let (mut head, dek) = self.app.subject_profile(customer).await?;
        scope.narrow(&mut head);
        let fields = head.fields_read();
        self.app
            .append(vec![self.app.subject_record(
                customer,
                "portal.export",
                LEGAL_OBLIGATION,
                vec![customer.to_string()],
                fields,
                Some(format!("for {} as {}", scope.as_str(), format.extension())),
            )])
            .await?;
        Ok(self.app.subject_export(customer, dek, format, scope, head))
    }
}
