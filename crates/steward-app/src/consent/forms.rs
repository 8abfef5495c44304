//! Public sign-up and preference forms (`/forms/{key}`). The operator's catalog says which
//! consent-based purposes a form offers and which fields it asks for. Every box starts
//! unticked, and only fields a ticked purpose needs are kept. Since anyone can type any
//! address into a public form, a sign-up is held sealed (see `signups`) and changes nothing
//! until the link sent to that address is followed; then it counts.
//!
//! The answer, and the work behind it, is the same whether or not the address belongs to a
//! customer, so a form cannot be used to find out who is one; and a form never changes an
//! existing customer's data. (A Global Privacy Control signal therefore takes effect where
//! the customer proves the address is theirs: on following a confirmation link, or in the
//! portal.)

use std::collections::BTreeMap;

use steward_core::field_value;
use steward_core::{FieldKind, FormDef, PurposeDef};

use crate::collection::customers::parse_residency;
use crate::consent::ledger::Evidence;
use crate::consent::notices::PurposeSummary;
use crate::consent::signups::NewSignup;
use crate::services::Forms;
use crate::{AppError, FieldError, Steward};

/// A form as its page shows it.
#[derive(Debug, Clone)]
pub struct FormView {
    pub key: String,
    pub title: String,
    pub purposes: Vec<FormPurpose>,
    pub fields: Vec<FormField>,
    /// The notice version in force, linked from the page.
    pub notice_version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FormPurpose {
    pub key: String,
    pub name: String,
    pub description: String,
    /// The plain-language summary from the notice in force, when it has one.
    pub summary: Option<PurposeSummary>,
}

#[derive(Debug, Clone)]
pub struct FormField {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// Names of the offered purposes that need it.
    pub needed_for: Vec<String>,
}

/// What someone sent: field values by key, the purposes they ticked, where they live.
#[derive(Debug, Clone, Default)]
pub struct FormSubmission {
    pub values: BTreeMap<String, String>,
    pub purposes: Vec<String>,
    pub residency: String,
    /// The person had us erase their data before and now signs up again of their own
    /// accord; without it, an address erased at its owner's request is not taken back.
    pub sign_up_again: bool,
}

impl Steward {
    /// A ticked purpose reaches the person through the contact fields it needs (text
    /// messages through a phone number): ticked without them, it would be a consent nothing
    /// can act on, so it is refused beside the empty field. Checked here rather than in the
    /// page so that every way of posting a form is held to it.
    fn check_contact_fields(
        &self,
        form: &FormDef,
        ticked: &[&PurposeDef],
        submission: &FormSubmission,
        errors: &mut Vec<FieldError>,
    ) {
        // The address the links go to is needed whatever is ticked, and says so itself.
        let address = form
            .fields
            .iter()
            .filter_map(|k| self.catalog.field(k))
            .find(|f| f.kind == FieldKind::Email)
            .map(|f| f.key.as_str());
        for p in ticked {
            let contacts = self.catalog.fields().iter().filter(|f| {
                matches!(f.kind, FieldKind::Email | FieldKind::Phone)
                    && f.needed_for(&p.key)
                    && Some(f.key.as_str()) != address
            });
            for f in contacts {
                let field = format!("fields.{}", f.key);
                if errors.iter().any(|e| e.field == field) {
                    continue;
                }
                if !form.fields.contains(&f.key) {
                    errors.push(FieldError::new(
                        "purposes",
                        format!(
                            "{} needs your {}, which this form does not ask for",
                            p.name,
                            f.label.to_lowercase()
                        ),
                    ));
                } else if submission
                    .values
                    .get(&f.key)
                    .is_none_or(|v| v.trim().is_empty())
                {
                    errors.push(FieldError::new(
                        field,
                        format!("is needed for {}: fill it in or untick it", p.name),
                    ));
                }
            }
        }
    }

    fn form_def(&self, key: &str) -> Result<&FormDef, AppError> {
        self.catalog.form(key).ok_or(AppError::NotFound)
    }
}

impl Forms<'_> {
    pub async fn get(&self, key: &str) -> Result<FormView, AppError> {
        let form = self.app.form_def(key)?;
        let notice = self.app.notices().current().await?;
        let purposes: Vec<&PurposeDef> = form
            .purposes
            .iter()
            .filter_map(|p| self.app.catalog.purpose(p))
            .collect();
        Ok(FormView {
            key: form.key.clone(),
            title: form.title.clone(),
            purposes: purposes
                .iter()
                .map(|p| FormPurpose {
                    key: p.key.clone(),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    summary: notice
                        .as_ref()
                        .and_then(|n| n.summaries.get(&p.key))
                        .map(|s| s.summary()),
                })
                .collect(),
            fields: form
                .fields
                .iter()
                .filter_map(|k| self.app.catalog.field(k))
                .map(|f| FormField {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    kind: f.kind,
                    needed_for: purposes
                        .iter()
                        .filter(|p| f.needed_for(&p.key))
                        .map(|p| p.name.clone())
                        .collect(),
                })
                .collect(),
            notice_version: notice.map(|n| n.version),
        })
    }

    /// Takes a submission: holds it, sealed, and mails a link for each ticked purpose to the
    /// address typed in. Nothing reaches a customer record before one is followed.
    pub async fn submit(
        &self,
        key: &str,
        submission: FormSubmission,
        evidence: &Evidence,
    ) -> Result<(), AppError> {
        let form = self.app.form_def(key)?.clone();
        let mut errors = Vec::new();
        let ticked: Vec<&PurposeDef> = form
            .purposes
            .iter()
            .filter(|p| submission.purposes.contains(p))
            .filter_map(|p| self.app.catalog.purpose(p))
            .collect();
        if let Some(unknown) = submission
            .purposes
            .iter()
            .find(|p| !form.purposes.contains(p))
        {
            errors.push(FieldError::new(
                "purposes",
                format!("{unknown} is not offered by this form"),
            ));
        }
        if ticked.is_empty() {
            errors.push(FieldError::new("purposes", "tick at least one box"));
        }
        let residency = parse_residency(&submission.residency, &mut errors);
        // Only what a ticked purpose needs is kept; the rest is dropped unread.
        let mut values = Vec::new();
        let mut address = None;
        for key in &form.fields {
            let Some(field) = self.app.catalog.field(key) else {
                continue;
            };
            let raw = submission.values.get(key).map(|v| v.trim()).unwrap_or("");
            let is_address = field.kind == FieldKind::Email && address.is_none();
            let wanted = ticked.iter().any(|p| field.needed_for(&p.key));
            if raw.is_empty() || !(wanted || is_address) {
                continue;
            }
            match field_value::normalise(field, raw) {
                Ok(v) => {
                    // The address is kept whatever was ticked: it is how the person is found
                    // again (a second sign-up must not make a second customer), and the email
                    // field has a lawful basis of its own in the catalog.
                    if is_address {
                        address = Some((field, v.clone()));
                    }
                    if wanted || is_address {
                        values.push((field, v));
                    }
                }
                Err(m) => errors.push(FieldError::new(format!("fields.{key}"), m)),
            }
        }
        if let Some(extra) = submission.values.keys().find(|k| !form.fields.contains(k)) {
            errors.push(FieldError::new(
                format!("fields.{extra}"),
                "is not asked for by this form",
            ));
        }
        self.app
            .check_contact_fields(&form, &ticked, &submission, &mut errors);
        let Some((email_field, email)) = address else {
            // An address that did not parse is already named.
            if !errors.iter().any(|e| e.field == "fields.email") {
                errors.push(FieldError::new(
                    "fields.email",
                    "is needed: your choices are confirmed through a link sent to it",
                ));
            }
            return Err(AppError::Invalid(errors));
        };
        let (Some(residency), true) = (residency, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        self.app
            .hold_signup(
                NewSignup {
                    form: &form,
                    ticked: &ticked,
                    values: &values,
                    address_field: email_field,
                    address: &email,
                    residency,
                    sign_up_again: submission.sign_up_again,
                },
                evidence,
            )
            .await
    }
}
