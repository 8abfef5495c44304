//! A customer's personalization on their record page: the level they chose, the one in force
//! and its history, and, for the privacy officer working under the legal obligation, every
//! attribute kept about them. The level is the customer's choice: staff read it here and
//! cannot choose it for them. Attribute values come only from the use case that audits
//! their reading; a purpose it refuses sees that they are kept elsewhere, not what they say.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::personalization::Level;
use steward_app::{Access, AppError, AttributeView, Basis, LevelView};
use uuid::Uuid;

use crate::AppState;
use crate::console::{ConsoleError, ConsoleForm, Staff, parse_id, readable as when};
use crate::web::see_other;

pub(super) struct LevelShown {
    pub chosen: String,
    pub effective: String,
    /// Whether what is used now is less than what was chosen, and why.
    pub held_back: Option<&'static str>,
    pub basis: String,
    /// The profiling consent's receipt, when full rests on one.
    pub receipt: Option<Uuid>,
    pub changed: String,
    pub history: Vec<LevelChange>,
}

pub(super) struct LevelChange {
    pub at: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub actor: String,
}

pub(super) struct AttributeShown {
    pub key: String,
    pub label: String,
    pub value: String,
    pub source: String,
    pub explanation: String,
    pub rule: String,
    pub confidence: String,
    pub expires: String,
    pub min_level: String,
}

/// What the record page shows of the customer's personalization.
pub(super) struct Shown {
    /// `None` when the chosen purpose does not open the level.
    pub level: Option<LevelShown>,
    /// `None` when the chosen purpose may not read attributes.
    pub attributes: Option<Vec<AttributeShown>>,
}

fn level_shown(view: LevelView) -> LevelShown {
    let (basis, receipt) = match &view.basis {
        Some(Basis::Consent { event_id, .. }) => {
            ("their consent to profiling".to_string(), Some(*event_id))
        }
        Some(Basis::LegitimateInterests { .. }) => (
            "legitimate interests, using only what they told us".to_string(),
            None,
        ),
        None => ("nothing is personalized".to_string(), None),
    };
    let held_back = (view.effective < view.chosen).then_some(
        "less than chosen: full needs their profiling consent in force, and nothing is used \
         while processing is restricted or the account closed",
    );
    LevelShown {
        chosen: view.chosen.to_string(),
        effective: view.effective.to_string(),
        held_back,
        basis,
        receipt,
        changed: view
            .changed_at
            .map(when)
            .unwrap_or_else(|| "never chosen (off)".into()),
        history: view
            .history
            .into_iter()
            .rev()
            .map(|e| LevelChange {
                at: when(e.at),
                from: e.previous.to_string(),
                to: e.level.to_string(),
                reason: e.reason.replace('_', " "),
                actor: e.actor,
            })
            .collect(),
    }
}

fn attribute_shown(a: AttributeView) -> AttributeShown {
    let rule = match (&a.rule_key, a.rule_version) {
        (Some(key), Some(v)) => format!("{key}, version {v}"),
        (Some(key), None) => key.clone(),
        _ => String::new(),
    };
    AttributeShown {
        value: a.value.as_text(),
        source: a.source.to_string(),
        rule,
        confidence: format!("{:.0}%", a.confidence * 100.0),
        expires: a
            .expires_at
            .map(when)
            .unwrap_or_else(|| "does not expire".into()),
        min_level: a.min_level.to_string(),
        explanation: a.explanation,
        label: a.label,
        key: a.key,
    }
}

pub(super) async fn shown(
    state: &AppState,
    access: &Access,
    customer: Uuid,
) -> Result<Shown, ConsoleError> {
    let personalization = state.app.personalization();
    let level = match personalization.level(access, customer).await {
        Ok(view) => Some(level_shown(view)),
        Err(AppError::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let attributes = match personalization.attributes(access, customer).await {
        Ok(list) => Some(list.into_iter().map(attribute_shown).collect()),
        Err(AppError::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Shown { level, attributes })
}

/// The levels in the order the page explains them.
pub(super) fn levels() -> Vec<(String, &'static str)> {
    Level::ALL
        .iter()
        .map(|l| (l.to_string(), l.describe().what))
        .collect()
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: Option<String>,
}

/// Deletes an attribute on the customer's word (a letter, a call to the privacy officer); one
/// Steward derived is then not derived again until the customer allows it.
pub async fn delete_attribute(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(String, String)>,
    ConsoleForm(f): ConsoleForm<DeleteForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    state
        .app
        .personalization()
        .delete_attribute(&access, id, &key)
        .await?;
    Ok(see_other(&format!(
        "/console/customers/{id}#personalization"
    )))
}
