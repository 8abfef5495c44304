//! The consent ledger's use cases: record what a customer said about a consent-based purpose,
//! read the state of every such purpose, and the history behind it.
//!
//! Opt-in everywhere: a purpose with no event is not consented to. A given consent expires
//! after its purpose's validity and then counts as not given. Withdrawing (or refusing) is
//! one call, exactly like giving; when it leaves a stored field with no lawful basis at all,
//! that field is erased in the same transaction (minimisation, I2/I3).

use jiff::Timestamp;
use steward_core::consent::{self, ConsentMethod, ConsentState, Moment};
use steward_core::sealed_fields::SealedFields;
use steward_store::{ChangeSet, ConsentEvent, CustomerRow, CustomerUpdate, CustomerWrite};
use uuid::Uuid;

use crate::collection::minimisation::{GivenConsents, check_values, drop_without_basis};
use crate::services::Consents;
use crate::{Access, AppError, FieldError, Receipt, Steward};

const MAX_NOTICE_VERSION: usize = 64;
/// Keys under which evidence is hashed: keyed, so a stored hash cannot be reversed by trying
/// every address, yet the same address always gives the same hash.
pub(crate) const EVIDENCE_CLIENT: &str = "consent.evidence.client";
pub(crate) const EVIDENCE_AGENT: &str = "consent.evidence.agent";

/// What a customer said, as staff or an integration records it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentInput {
    /// A consent-based purpose of the catalog.
    pub purpose: String,
    /// `given`, `refused` or `withdrawn`.
    pub state: String,
    /// The version of the privacy notice the customer was shown.
    pub notice_version: Option<String>,
    /// How it was expressed; `api` when left out.
    pub method: Option<String>,
    /// With a given consent: values of fields this purpose needs, stored with it (as a
    /// sign-up or preference form does).
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Where a consent decision came from; only keyed hashes of it are stored.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// One ledger event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentEventView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub purpose: String,
    pub state: ConsentState,
    pub notice_version: Option<String>,
    pub method: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
    /// The event's signed receipt, in the answer to recording it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// The state of one consent-based purpose for a customer, now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentStatus {
    pub purpose: String,
    /// `null` when the customer was never asked: not given.
    pub state: Option<ConsentState>,
    /// Whether the purpose may be used for this customer now.
    pub given: bool,
    pub notice_version: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub given_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
}

fn at(us: i64) -> Timestamp {
    steward_core::clock::from_micros(us)
}

pub(crate) fn event_view(e: ConsentEvent, moment: Moment) -> Result<ConsentEventView, AppError> {
    let recorded: ConsentState = e
        .state
        .parse()
        .map_err(|_| AppError::corrupt(format!("consent event {} has an unknown state", e.id)))?;
    Ok(ConsentEventView {
        id: e.id,
        customer_id: e.customer_id,
        purpose: e.purpose,
        state: consent::effective(recorded, e.at, e.expires_at, moment),
        notice_version: e.notice_version,
        method: e.method,
        at: at(e.at),
        expires_at: e.expires_at.map(at),
        receipt: None,
    })
}

impl Steward {
    /// The consent-based purposes the customer has given, and not let expire, at this moment.
    pub(crate) async fn given_purposes(&self, customer: Uuid) -> Result<Vec<String>, AppError> {
        let consents = self.store.consents(customer).await?;
        self.given_among(consents).await
    }

    /// The purposes among these current consents that are given, and not expired, now.
    pub(super) async fn given_among(
        &self,
        consents: Vec<ConsentEvent>,
    ) -> Result<Vec<String>, AppError> {
        let moment = self.consent_moment().await?;
        Ok(consents
            .into_iter()
            .filter(|e| {
                e.state
                    .parse::<ConsentState>()
                    .ok()
                    .map(|s| consent::effective(s, e.at, e.expires_at, moment))
                    == Some(ConsentState::Given)
            })
            .map(|e| e.purpose)
            .collect())
    }

    pub(super) fn check_consent_input(
        &self,
        input: &ConsentInput,
    ) -> Result<(ConsentState, ConsentMethod, Option<u32>), AppError> {
        let mut errors = Vec::new();
        let validity = match self.catalog.purpose(&input.purpose) {
            Some(p) if p.requires_consent => p.consent_valid_days,
            Some(_) => {
                errors.push(FieldError::new(
                    "purpose",
                    "is not based on consent; there is nothing to give or withdraw",
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "purpose",
                    "is not a purpose of the catalog",
                ));
                None
            }
        };
        let state = input
            .state
            .parse::<ConsentState>()
            .map_err(|m| errors.push(FieldError::new("state", m)))
            .ok()
            .filter(|s| {
                s.is_expressed() || {
                    errors.push(FieldError::new(
                        "state",
                        "must be given, refused or withdrawn",
                    ));
                    false
                }
            });
        let method = input
            .method
            .as_deref()
            .unwrap_or("api")
            .parse::<ConsentMethod>()
            .map_err(|m| errors.push(FieldError::new("method", m)))
            .ok();
        if let Some(v) = &input.notice_version
            && (v.trim().is_empty()
                || v.len() > MAX_NOTICE_VERSION
                || v.chars().any(char::is_control))
        {
            errors.push(FieldError::new(
                "notice_version",
                format!("must be 1 to {MAX_NOTICE_VERSION} characters without control characters"),
            ));
        }
        match (state, method, errors.is_empty()) {
            (Some(s), Some(m), true) => Ok((s, m, validity)),
            _ => Err(AppError::Invalid(errors)),
        }
    }

    pub(crate) fn hash_evidence(&self, evidence: &Evidence) -> Result<Option<String>, AppError> {
        let mut parts = serde_json::Map::new();
        for (name, key, value) in [
            ("client", EVIDENCE_CLIENT, &evidence.client_address),
            ("agent", EVIDENCE_AGENT, &evidence.user_agent),
        ] {
            if let Some(v) = value {
                let digest = self.vault.blind_index(key, v)?;
                parts.insert(name.into(), hex::encode(digest).into());
            }
        }
        Ok((!parts.is_empty()).then(|| serde_json::Value::Object(parts).to_string()))
    }

    /// Whether taking `purpose` away can leave a field without a lawful basis: only a field
    /// that needs it and rests on consent alone can lose its basis. Fields whose consent
    /// expired earlier are the expiry sweep's to erase.
    pub(crate) fn may_minimise(&self, purpose: &str) -> bool {
        self.catalog.fields().iter().any(|f| {
            f.purposes.iter().any(|p| p == purpose)
                && f.purposes.iter().all(|p| {
                    self.catalog
                        .purpose(p)
                        .is_none_or(|def| def.requires_consent)
                })
        })
    }

    /// When a consent for `purpose` ends, the customer's fields that no other purpose gives a
    /// lawful basis for, and the update that erases them.
    pub(crate) async fn withdrawal_minimises(
        &self,
        row: &CustomerRow,
        purpose: &str,
        now: i64,
    ) -> Result<Option<(CustomerUpdate, Vec<String>)>, AppError> {
        if !self.may_minimise(purpose) {
            return Ok(None);
        }
        let given = self.given_purposes(row.id).await?;
        self.minimise_without(row, given, purpose, now)
    }

    /// The row without the fields that lose their basis once `purpose` leaves `given`.
    fn minimise_without(
        &self,
        row: &CustomerRow,
        mut given: Vec<String>,
        purpose: &str,
        now: i64,
    ) -> Result<Option<(CustomerUpdate, Vec<String>)>, AppError> {
        given.retain(|p| p != purpose);
        self.without_basis(row, &given, now)
    }

    /// An objection to direct marketing, committed with what `with` holds.
    pub(crate) async fn object_with(
        &self,
        access: &Access,
        customer: Uuid,
        evidence: &Evidence,
        with: ChangeSet,
    ) -> Result<Vec<ConsentEventView>, AppError> {
        let mut objections = Vec::new();
        for status in self.consent().current(access, customer).await? {
            if !consent::ended_by_marketing_objection(&status.purpose) {
                continue;
            }
            let state = match status.state {
                Some(ConsentState::Given | ConsentState::Requested) => ConsentState::Withdrawn,
                None => ConsentState::Refused,
                Some(_) => continue,
            };
            let input = ConsentInput {
                purpose: status.purpose,
                state: state.as_str().into(),
                notice_version: None,
                method: Some(ConsentMethod::Objection.as_str().into()),
                fields: Default::default(),
            };
            objections.push((input, false));
        }
        if objections.is_empty() {
            let queued = !with.mail.is_empty();
            self.store.apply(with).await?;
            if queued {
                self.mail_queued();
            }
            return Ok(Vec::new());
        }
        self.record_decisions(access, customer, objections, evidence, with)
            .await
    }

    /// The customer's row with the values a given consent brought along; each must be a
    /// field that purpose needs.
    pub(super) async fn with_consented_fields(
        &self,
        access: &Access,
        row: &CustomerRow,
        input: &ConsentInput,
        state: ConsentState,
        now: i64,
    ) -> Result<CustomerUpdate, AppError> {
        if state != ConsentState::Given {
            return Err(AppError::invalid(
                "fields",
                "values come only with a given consent",
            ));
        }
        let purpose = self
            .catalog
            .purpose(&input.purpose)
            .cloned()
            .ok_or_else(|| AppError::invalid("purpose", "is not a purpose of the catalog"))?;
        let for_purpose = Access {
            actor: access.actor.clone(),
            purpose,
        };
        let mut given = self.given_purposes(row.id).await?;
        given.push(input.purpose.clone());
        let given: Vec<&str> = given.iter().map(String::as_str).collect();
        let values = check_values(
            &self.catalog,
            &for_purpose,
            input.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            GivenConsents(&given),
        )
        .map_err(AppError::Invalid)?;
        let dek = self.data_key(row.id).await?;
        let mut sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        let mut index = Vec::new();
        let mut replaced = Vec::new();
        for (field, value) in &values {
            sealed.insert(&field.key, dek.seal(&field.key, value.as_bytes()));
            if let Some(entries) = self.index_entries(field, value)? {
                replaced.push(field.key.clone());
                index.extend(entries);
            }
        }
        Ok(CustomerUpdate {
            write: CustomerWrite {
                row: CustomerRow {
                    fields: sealed.encode(),
                    version: row.version + 1,
                    updated_at: now,
                    ..row.clone()
                },
                index,
            },
            expected_version: row.version,
            replaced_index_fields: replaced,
        })
    }

    /// The customer's row without the fields no purpose has a lawful basis for any more,
    /// when there are such fields.
    pub(crate) fn without_basis(
        &self,
        row: &CustomerRow,
        given: &[String],
        now: i64,
    ) -> Result<Option<(CustomerUpdate, Vec<String>)>, AppError> {
        let given: Vec<&str> = given.iter().map(String::as_str).collect();
        let mut sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        let dropped = drop_without_basis(&self.catalog, &mut sealed, GivenConsents(&given));
        if dropped.fields.is_empty() {
            return Ok(None);
        }
        let new_row = CustomerRow {
            fields: sealed.encode(),
            version: row.version + 1,
            updated_at: now,
            ..row.clone()
        };
        Ok(Some((
            CustomerUpdate {
                write: CustomerWrite {
                    row: new_row,
                    index: Vec::new(),
                },
                expected_version: row.version,
                replaced_index_fields: dropped.indexed,
            },
            dropped.fields,
        )))
    }
}

impl Consents<'_> {
    /// Records an objection to direct marketing (GDPR Art. 21(2)): absolute and immediate.
    /// Every marketing consent in force is withdrawn and every marketing purpose never asked
    /// about is marked refused, all with method `objection` and in one transaction, so no
    /// audience reaches the customer until they give a consent again themselves.
    pub async fn object_to_direct_marketing(
        &self,
        access: &Access,
        customer: Uuid,
        evidence: &Evidence,
    ) -> Result<Vec<ConsentEventView>, AppError> {
        self.app
            .object_with(access, customer, evidence, ChangeSet::default())
            .await
    }

    /// Every consent-based purpose of the catalog and where the customer stands on it.
    pub async fn current(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<ConsentStatus>, AppError> {
        access.require_record_access()?;
        if self.app.store.get_customer(customer).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let moment = self.app.consent_moment().await?;
        let current = self.app.store.consents(customer).await?;
        self.app
            .catalog
            .purposes()
            .iter()
            .filter(|p| p.requires_consent)
            .map(|p| {
                let latest = current.iter().find(|e| e.purpose == p.key);
                let state = latest
                    .map(|e| event_view(e.clone(), moment).map(|v| v.state))
                    .transpose()?;
                let given = state == Some(ConsentState::Given);
                Ok(ConsentStatus {
                    purpose: p.key.clone(),
                    state,
                    given,
                    notice_version: latest.and_then(|e| e.notice_version.clone()),
                    given_at: latest.filter(|_| given).map(|e| at(e.at)),
                    expires_at: latest.and_then(|e| e.expires_at).map(at),
                })
            })
            .collect()
    }

    /// The customer's consent events, oldest first.
    pub async fn history(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<ConsentEventView>, AppError> {
        access.require_record_access()?;
        if self.app.store.get_customer(customer).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let moment = self.app.consent_moment().await?;
        self.app
            .store
            .consent_history(customer)
            .await?
            .into_iter()
            .map(|e| event_view(e, moment))
            .collect()
    }
}
