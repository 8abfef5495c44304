//! Versioned privacy notices: the full text, and for each purpose a plain-language summary of
//! what is collected, why, for how long and who else receives it. The privacy officer drafts
//! and publishes; a published version never changes, and every past version stays readable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use steward_core::Role;
use steward_core::consent::Moment;
use steward_core::readability::flesch_reading_ease;
use steward_store::NoticeRow;
use uuid::Uuid;

use crate::services::Notices;
use crate::{Actor, AppError, FieldError, Steward};

/// The default line below which a summary's Flesch reading ease is flagged as hard to read.
pub const READABLE_AT_LEAST: f64 = 50.0;
const MAX_SUMMARY: usize = 2_000;
const MAX_BODY: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurposeSummary {
    pub collected: String,
    pub why: String,
    pub how_long: String,
    pub recipients: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeInput {
    /// Letters, digits, `.`, `-` and `_`, e.g. `2026-02`.
    pub version: String,
    pub language: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub effective_at: Option<Timestamp>,
    /// A material change: consent given under earlier versions must be asked for again.
    #[serde(default)]
    pub material: bool,
    /// The full text, Markdown.
    pub body: String,
    /// A summary for each purpose of the catalog; a draft may lack some, but it is published
    /// only once every purpose has one.
    pub summaries: BTreeMap<String, PurposeSummary>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryView {
    pub collected: String,
    pub why: String,
    pub how_long: String,
    pub recipients: String,
    /// Flesch reading ease of the summary as a whole.
    pub readability: f64,
    pub hard_to_read: bool,
}

impl SummaryView {
    pub fn summary(&self) -> PurposeSummary {
        PurposeSummary {
            collected: self.collected.clone(),
            why: self.why.clone(),
            how_long: self.how_long.clone(),
            recipients: self.recipients.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeView {
    pub id: Uuid,
    pub version: String,
    pub language: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub effective_at: Timestamp,
    pub material: bool,
    pub body: String,
    pub summaries: BTreeMap<String, SummaryView>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub published_at: Option<Timestamp>,
}

fn may_edit(actor: &Actor) -> Result<(), AppError> {
    if matches!(actor.role, Role::Dpo | Role::Admin | Role::System) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not write privacy notices",
            actor.role
        )))
    }
}

fn view(row: NoticeRow, readable_at_least: f64) -> Result<NoticeView, AppError> {
    let summaries: BTreeMap<String, PurposeSummary> = serde_json::from_str(&row.summaries)
        .map_err(|_| AppError::corrupt(format!("notice {} has malformed summaries", row.id)))?;
    Ok(NoticeView {
        id: row.id,
        version: row.version,
        language: row.language,
        effective_at: steward_core::clock::from_micros(row.effective_at),
        material: row.material,
        body: row.body,
        summaries: summaries
            .into_iter()
            .map(|(purpose, summary)| {
                let text = [
                    &summary.collected,
                    &summary.why,
                    &summary.how_long,
                    &summary.recipients,
                ]
                .map(|s| s.trim().trim_end_matches('.'))
                .join(". ");
                let readability = (flesch_reading_ease(&text) * 10.0).round() / 10.0;
                let PurposeSummary {
                    collected,
                    why,
                    how_long,
                    recipients,
                } = summary;
                let view = SummaryView {
                    collected,
                    why,
                    how_long,
                    recipients,
                    readability,
                    hard_to_read: readability < readable_at_least,
                };
                (purpose, view)
            })
            .collect(),
        published_at: row.published_at.map(steward_core::clock::from_micros),
    })
}

impl Steward {
    /// The published versions, as consent checks need them: briefly cached, since consent
    /// is checked on every use and notices change rarely. Another instance's publication is
    /// seen within the cache's lifetime.
    pub(crate) async fn published_versions(&self) -> Result<Arc<Vec<Published>>, AppError> {
        if let Some(cached) = self.published.fresh() {
            return Ok(cached);
        }
        let list: Vec<Published> = self
            .store
            .notices()
            .await?
            .into_iter()
            .filter_map(|n| {
                n.published_at.map(|published_at| Published {
                    version: n.version,
                    // A change counts from when customers could see it, not before.
                    in_force_from: n.effective_at.max(published_at),
                    material: n.material,
                })
            })
            .collect();
        Ok(self.published.keep(list))
    }

    /// Now, and since when consent must have been given: since the latest material change
    /// to the notice that is in force.
    pub(crate) async fn consent_moment(&self) -> Result<Moment, AppError> {
        let now = self.clock.now().as_microsecond();
        let given_since = self
            .published_versions()
            .await?
            .iter()
            .filter(|p| p.material && p.in_force_from <= now)
            .map(|p| p.in_force_from)
            .max();
        Ok(Moment { now, given_since })
    }
}

impl Notices<'_> {
    pub async fn create(&self, actor: &Actor, input: NoticeInput) -> Result<NoticeView, AppError> {
        may_edit(actor)?;
        let mut errors = Vec::new();
        let version_ok = !input.version.is_empty()
            && input.version.len() <= 32
            && input
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !version_ok {
            errors.push(FieldError::new(
                "version",
                "must be 1 to 32 letters, digits, dots, dashes or underscores",
            ));
        }
        let language_ok = (2..=8).contains(&input.language.len())
            && input
                .language
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-');
        if !language_ok {
            errors.push(FieldError::new(
                "language",
                "must be a language tag such as en or de-AT",
            ));
        }
        if input.body.trim().is_empty() || input.body.len() > MAX_BODY {
            errors.push(FieldError::new(
                "body",
                format!("must be 1 to {MAX_BODY} bytes"),
            ));
        }
        if input.summaries.is_empty() {
            errors.push(FieldError::new(
                "summaries",
                "summarise at least one purpose",
            ));
        }
        for (purpose, s) in &input.summaries {
            if self.app.catalog.purpose(purpose).is_none() {
                errors.push(FieldError::new(
                    format!("summaries.{purpose}"),
                    "is not a purpose of the catalog",
                ));
            }
            for (part, text) in [
                ("collected", &s.collected),
                ("why", &s.why),
                ("how_long", &s.how_long),
                ("recipients", &s.recipients),
            ] {
                if text.trim().is_empty() || text.chars().count() > MAX_SUMMARY {
                    errors.push(FieldError::new(
                        format!("summaries.{purpose}.{part}"),
                        format!("must be 1 to {MAX_SUMMARY} characters"),
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let now = self.app.clock.now().as_microsecond();
        let row = NoticeRow {
            id: Uuid::now_v7(),
            version: input.version.clone(),
            language: input.language.to_ascii_lowercase(),
            effective_at: input
                .effective_at
                .map(|t| t.as_microsecond())
                .unwrap_or(now),
            material: input.material,
            body: input.body,
            summaries: serde_json::to_string(&input.summaries).map_err(AppError::Encode)?,
            created_at: now,
            published_at: None,
        };
        let audit = self.app.record(
            actor,
            "notice.create",
            None,
            vec![format!("notice:{}", row.id)],
            vec![],
            Some(format!("version={}", row.version)),
        );
        self.app.store.create_notice(&row, audit).await?;
        view(row, self.app.readable_at_least)
    }

    /// Publishes a draft. From then on it cannot change. A notice covers every purpose of
    /// the catalog: the public reads it as the whole account of what is done with their data
    /// (GDPR Art. 13 asks for every purpose, not only those resting on consent), and consent
    /// given under it is informed only if its purpose is summarised there. A draft lacking a
    /// summary for any of them is refused, naming each.
    pub async fn publish(&self, actor: &Actor, id: Uuid) -> Result<NoticeView, AppError> {
        may_edit(actor)?;
        let draft = self
            .app
            .store
            .notices()
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .ok_or(AppError::NotFound)?;
        if draft.published_at.is_none() {
            let summaries: BTreeMap<String, PurposeSummary> =
                serde_json::from_str(&draft.summaries).map_err(|_| {
                    AppError::corrupt(format!("notice {id} has malformed summaries"))
                })?;
            let missing: Vec<String> = self
                .app
                .catalog
                .purposes()
                .iter()
                .filter(|p| !summaries.contains_key(&p.key))
                .map(|p| p.key.clone())
                .collect();
            if !missing.is_empty() {
                return Err(AppError::NoticeIncomplete(missing));
            }
        }
        let audit = self.app.record(
            actor,
            "notice.publish",
            None,
            vec![format!("notice:{id}")],
            vec![],
            None,
        );
        let now = self.app.clock.now().as_microsecond();
        let published = self.app.store.publish_notice(id, now, audit).await?;
        self.app.published.forget();
        // One read answers both: the version as published, or why it could not be.
        let row = self
            .app
            .store
            .notices()
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .ok_or(AppError::NotFound)?;
        if !published {
            return Err(AppError::Forbidden(
                "this version is already published and cannot change".into(),
            ));
        }
        view(row, self.app.readable_at_least)
    }

    /// Summaries scoring below this on the Flesch reading ease scale are flagged.
    pub fn readability_threshold(&self) -> f64 {
        self.app.readable_at_least
    }

    /// Every version, drafts included, newest first: for staff.
    pub async fn list(&self) -> Result<Vec<NoticeView>, AppError> {
        self.app
            .store
            .notices()
            .await?
            .into_iter()
            .map(|row| view(row, self.app.readable_at_least))
            .collect()
    }

    /// The notice in force now: the newest published version already effective.
    pub async fn current(&self) -> Result<Option<NoticeView>, AppError> {
        let now = self.app.clock.now().as_microsecond();
        let in_force: Vec<NoticeRow> = self
            .app
            .store
            .notices()
            .await?
            .into_iter()
            .filter(|n| n.published_at.is_some() && n.effective_at <= now)
            .collect();
        // Newest first: of the versions with the latest effective date, the newest wins.
        let latest = in_force.iter().map(|n| n.effective_at).max();
        in_force
            .into_iter()
            .find(|n| Some(n.effective_at) == latest)
            .map(|row| view(row, self.app.readable_at_least))
            .transpose()
    }

    /// A published version by its name, for anyone.
    pub async fn published(&self, version: &str) -> Result<Option<NoticeView>, AppError> {
        self.app
            .store
            .notices()
            .await?
            .into_iter()
            .find(|n| n.version == version && n.published_at.is_some())
            .map(|row| view(row, self.app.readable_at_least))
            .transpose()
    }
}

/// A published version, as far as consent checks are concerned.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub version: String,
    pub in_force_from: i64,
    pub material: bool,
}

const PUBLISHED_TTL: Duration = Duration::from_secs(5);

/// The published versions, kept for a few seconds.
#[derive(Default)]
pub(crate) struct PublishedCache(Mutex<Option<(Instant, Arc<Vec<Published>>)>>);

impl PublishedCache {
    fn fresh(&self) -> Option<Arc<Vec<Published>>> {
        let cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < PUBLISHED_TTL)
            .map(|(_, list)| list.clone())
    }

    fn keep(&self, list: Vec<Published>) -> Arc<Vec<Published>> {
        let list = Arc::new(list);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), list.clone()));
        list
    }

    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
