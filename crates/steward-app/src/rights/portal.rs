//! The privacy portal: customers sign in with a one-time code mailed to their address and
//! see everything held about them, who at the company used it and why.
//!
//! A code is bound to the address it went to (kept only as the address's keyed hash), lives
//! ten minutes, works once, and allows three attempts; signing in spends the address's other
//! codes, and an address that collected ten wrong guesses in a day gets no new code. Asking for a code gives the same
//! answer whether or not the address belongs to a customer; the HTTP edge sends the code in
//! the background so that the answer's timing says nothing either.

use jiff::Timestamp;
use rand::Rng;
use sha2::{Digest, Sha256};
use steward_core::Role;
use steward_core::audit::AuditEntry;
use steward_core::contact::Email;
use steward_core::sealed_fields::SealedFields;
use steward_store::{ChangeSet, CodeCheck, NewPortalCode, PortalCode, PortalSession};
use uuid::Uuid;

use crate::collection::customers::MATCH_FIELD;
use crate::collection::interactions::InteractionView;
use crate::consent::ledger::{ConsentEventView, ConsentStatus};
use crate::infra::mail::{Letter, LinkToken, hash_token};
use crate::security::access::Subject;
use crate::services::OwnRights;
use crate::services::Portal;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, Actor, AppError, Steward};

const CODE_LIFETIME_MICROS: i64 = 10 * 60 * 1_000_000;
const MAX_ATTEMPTS: i64 = 3;
/// Codes per address per code lifetime; more requests are answered alike but send nothing.
const CODES_PER_LIFETIME: i64 = 3;
/// Wrong codes per address per day, across all its codes; past it no new code is sent, so
/// guessing an account's way in takes more than chance allows.
const FAILURES_PER_WINDOW: i64 = 10;
const FAILURE_WINDOW_MICROS: i64 = 24 * 60 * 60 * 1_000_000;
/// A session lasts this long at most, however active.
const SESSION_MICROS: i64 = 12 * 60 * 60 * 1_000_000;
const IDLE_MICROS: i64 = 30 * 60 * 1_000_000;
const PORTAL_PURPOSE: &str = "essential.legal_obligation";
/// Said alike of a wrong, spent and expired code, and of an address that was sent none.
const WRONG: &str = "this code does not sign in with this address";

/// Where a sign-in code stands, as the sign-in page tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStanding {
    /// The same code may be entered this many more times, until `until`.
    Usable { tries_left: u32, until: Timestamp },
    /// Wrong too often: a new code is needed.
    UsedUp,
    /// Its ten minutes are over: a new code is needed.
    Expired,
}

/// A signed-in portal session: its token goes into a cookie, only its hash is kept.
#[derive(Debug, Clone)]
pub struct PortalSignIn {
    pub token: String,
    pub subject: Subject,
}

/// One value held about the customer, with why it is held.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeldValue {
    pub field: String,
    pub label: String,
    pub value: String,
    /// The fideslang data category.
    pub category: String,
    /// The purposes that need it, by name.
    pub purposes: Vec<String>,
    /// How long it is kept, from the retention rules in force.
    pub kept: String,
}

/// What a correction made in the portal came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    Applied,
    /// The field needs proof: staff review it and answer by `due`.
    AwaitingReview {
        due: Timestamp,
    },
}

/// Someone's use of the customer's data, as the customer sees it: staff appear by role only.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessView {
    pub at: Timestamp,
    pub who: String,
    pub action: String,
    pub purpose: Option<String>,
    pub fields: Vec<String>,
}

/// Everything the portal shows a signed-in customer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PortalOverview {
    pub customer_id: Uuid,
    pub residency: String,
    pub status: String,
    pub created_at: Timestamp,
    /// Where the data came from: a public form, an import, or staff.
    pub source: Option<String>,
    pub values: Vec<HeldValue>,
    pub consents: Vec<ConsentStatus>,
    pub consent_history: Vec<ConsentEventView>,
    pub interactions: Vec<InteractionView>,
    pub access_history: Vec<AccessView>,
    /// The privacy requests they made, in the portal or otherwise.
    pub requests: Vec<crate::RequestView>,
    /// Who received their data, from which country, for what and when (Art. 15(1)(c)).
    pub disclosures: Vec<crate::DisclosureView>,
    /// The recipients told, or still to be told, of the erasure, rectification or restriction
    /// of their data (Art. 19), oldest first.
    pub recipients_told: Vec<crate::RecipientNoticeView>,
    /// Their personalization level, its history, and every profile attribute kept.
    pub personalization: crate::PersonalizationHeld,
}

impl PortalOverview {
    /// The audit fields of what was opened: each value's field, each attribute's `attr:`.
    pub(crate) fn fields_read(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|v| v.field.clone())
            .chain(self.personalization.fields())
            .collect()
    }
}

fn code_hash(id: Uuid, code: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"steward-portal-code-v1\0")
        .chain_update(id.as_bytes())
        .chain_update(code.as_bytes())
        .finalize()
        .into()
}

/// Equal or not, in time that does not depend on where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The customer at the keyboard, acting on their own data under the purpose that covers
/// answering privacy requests.
fn subject(customer: Uuid) -> Actor {
    Actor {
        id: format!("customer:{customer}"),
        role: Role::System,
        purposes: vec![PORTAL_PURPOSE.into()],
    }
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// How a customer record came to be, from the entry that created it; a form by its title.
fn source_of(catalog: &steward_core::Catalog, entry: &AuditEntry) -> String {
    let detail = entry.record.detail.as_deref().unwrap_or_default();
    match (entry.record.action.as_str(), detail.strip_prefix("form=")) {
        (_, Some(key)) => match catalog.form(key) {
            Some(form) => format!("you signed up on our form “{}”", form.title),
            None => "you signed up on one of our forms".into(),
        },
        ("customer.import", _) => format!("imported by staff ({})", entry.record.role),
        _ => format!("entered by staff ({})", entry.record.role),
    }
}

impl Steward {
    /// Who did something, as the customer is shown it: themselves, Steward's own jobs, or
    /// staff by role (and, if so configured, by a pseudonym that stays the same per person).
    fn who(&self, entry: &AuditEntry) -> String {
        match entry.record.actor.split_once(':') {
            Some(("customer", _)) => "you".into(),
            Some(("system", job)) => format!("Steward ({job})"),
            _ => match self.staff_shown_as {
                crate::StaffShownAs::Role => format!("staff ({})", entry.record.role),
                crate::StaffShownAs::Pseudonym => {
                    let tag = self
                        .vault
                        .blind_index(
                            crate::rights::requests::SUBJECT,
                            &format!("staff:{}", entry.record.actor),
                        )
                        .map(|d| hex_prefix(&d))
                        .unwrap_or_default();
                    format!("staff member {tag} ({})", entry.record.role)
                }
            },
        }
    }

    fn address_hash(&self, email: &Email) -> Result<Vec<u8>, AppError> {
        Ok(self
            .vault
            .blind_index(MATCH_FIELD, email.as_str())?
            .to_vec())
    }

    pub(crate) fn subject_access(&self, customer: Uuid) -> Result<Access, AppError> {
        Ok(Access {
            actor: subject(customer),
            purpose: self
                .catalog
                .purpose(PORTAL_PURPOSE)
                .cloned()
                .ok_or_else(|| AppError::Setup(format!("the catalog lacks {PORTAL_PURPOSE}")))?,
        })
    }

    /// One field of the customer set to a checked value, as a guarded update, with what its
    /// recipients (Art. 19) and the webhook subscriptions are to be told, into `changes`.
    pub(crate) async fn correct(
        &self,
        changes: &mut ChangeSet,
        row: &steward_store::CustomerRow,
        def: &steward_core::FieldDef,
        value: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let mut sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        let dek = self.data_key(row.id).await?;
        sealed.insert(&def.key, dek.seal(&def.key, value.as_bytes()));
        let index = self.index_entries(def, value)?;
        let fields = vec![def.key.clone()];
        changes.recipient_updates.push(self.recipient_update(
            row.id,
            "rectification",
            fields.clone(),
            now,
        )?);
        changes
            .events
            .push(note(EventType::CustomerUpdated, row.id, &fields, now));
        changes.updates.push(steward_store::CustomerUpdate {
            replaced_index_fields: if index.is_some() {
                vec![def.key.clone()]
            } else {
                Vec::new()
            },
            write: steward_store::CustomerWrite {
                row: steward_store::CustomerRow {
                    fields: sealed.encode(),
                    version: row.version + 1,
                    updated_at: now,
                    ..row.clone()
                },
                index: index.unwrap_or_default(),
            },
            expected_version: row.version,
        });
        Ok(())
    }

    /// What is held about the customer but their interactions, read for them, and their
    /// data key for the rest. Unaudited: callers record the use they make of it.
    pub(crate) async fn subject_profile(
        &self,
        customer: Uuid,
    ) -> Result<(PortalOverview, steward_vault::DataKey), AppError> {
        let row = self
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        let dek = self.data_key(customer).await?;
        let sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {customer}")))?;
        let rules = self.retention().published().await?;
        let period_of = |record: &str| {
            let periods: Vec<String> = rules
                .iter()
                .filter(|r| r.record == record)
                .map(|r| r.period.clone())
                .collect();
            (!periods.is_empty()).then(|| periods.join("; or "))
        };
        let whole = period_of("customer").unwrap_or_else(|| "until you ask us to erase it".into());
        let consent_only = period_of("fields");
        let mut values = Vec::new();
        for (key, bytes) in sealed.iter() {
            let Some(def) = self.catalog.field(key) else {
                continue;
            };
            let only_by_consent = def
                .purposes
                .iter()
                .filter_map(|p| self.catalog.purpose(p))
                .all(|p| p.requires_consent);
            let kept = match (&consent_only, only_by_consent) {
                (Some(p), true) => p.clone(),
                _ => whole.clone(),
            };
            let value = dek
                .open_string(key, bytes)
                .map_err(|_| AppError::Integrity(format!("customer {customer} field {key}")))?;
            values.push(HeldValue {
                field: def.key.clone(),
                label: def.label.clone(),
                value,
                category: def.category.clone(),
                purposes: def
                    .purposes
                    .iter()
                    .filter_map(|p| self.catalog.purpose(p))
                    .map(|p| p.name.clone())
                    .collect(),
                kept,
            });
        }
        let access = self.subject_access(customer)?;
        // Read before this visit is written, so the history shows what others did.
        let history = self.audit().access_history(&access, customer).await?;
        let source = history
            .iter()
            .find(|e| e.record.action == "customer.create" || e.record.action == "customer.import")
            .map(|e| source_of(&self.catalog, e));
        let access_history = history
            .iter()
            .rev()
            .map(|e| AccessView {
                at: steward_core::clock::from_micros(e.record.at),
                who: self.who(e),
                action: e.record.action.clone(),
                purpose: e.record.purpose.clone(),
                fields: e.record.fields.clone(),
            })
            .collect();
        let consents = self.consent().current(&access, customer).await?;
        let consent_history = self.consent().history(&access, customer).await?;
        Ok((
            PortalOverview {
                customer_id: customer,
                residency: row.residency,
                status: row.status,
                created_at: steward_core::clock::from_micros(row.created_at),
                source,
                values,
                consents,
                consent_history,
                interactions: Vec::new(),
                access_history,
                requests: self.own_requests(customer).await?,
                disclosures: self.disclosure_views(customer).await?,
                recipients_told: self.recipient_notice_views(customer).await?,
                personalization: self.held_personalization(customer).await?,
            },
            dek,
        ))
    }
}

impl Portal<'_> {
    /// Checks an address typed into the portal.
    pub fn address(&self, raw: &str) -> Result<Email, AppError> {
        Email::parse(raw).map_err(|e| AppError::invalid("email", e.to_string()))
    }

    /// Mails a sign-in code to the address if it belongs to a customer; does nothing
    /// otherwise, or when the address had its share of codes lately.
    pub async fn send_code(&self, email: &Email) -> Result<(), AppError> {
        let digest = self.app.vault.blind_index(MATCH_FIELD, email.as_str())?;
        let address = digest.to_vec();
        let Some((_, customer)) = self
            .app
            .store
            .lookup_index("email", &[digest])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        let now = self.app.clock.now().as_microsecond();
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let id = Uuid::now_v7();
        let dek = self.app.data_key(customer).await?;
        let letter = Letter {
            to: email.as_str().to_string(),
            subject: "Your sign-in code".into(),
            text: format!(
                "Your code to see and manage your data: {code}\n\n\
                 It works once, for ten minutes. If you did not ask for it, ignore this message.\n"
            ),
            unsubscribe: None,
        };
        let changes = ChangeSet {
            portal_code: Some(NewPortalCode {
                code: PortalCode {
                    id,
                    customer_id: customer,
                    address,
                    code_hash: code_hash(id, &code),
                    created_at: now,
                    expires_at: now + CODE_LIFETIME_MICROS,
                    attempts: 0,
                    used_at: None,
                },
                since: now - CODE_LIFETIME_MICROS,
                max_since: CODES_PER_LIFETIME,
                failures_since: now - FAILURE_WINDOW_MICROS,
                max_failures: FAILURES_PER_WINDOW,
            }),
            mail: vec![
                self.app
                    .outbox_row(&dek, "portal_code", None, &letter, now)?,
            ],
            audit: vec![self.app.subject_record(
                customer,
                "portal.code",
                PORTAL_PURPOSE,
                vec![customer.to_string()],
                vec![],
                None,
            )],
            ..Default::default()
        };
        match self.app.store.apply(changes).await {
            Ok(_) => {
                self.app.mail_queued();
                Ok(())
            }
            // The address had its share of codes, or of wrong guesses: nothing is sent.
            Err(steward_store::StoreError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Signs in with a code sent to this address.
    pub async fn sign_in(&self, email: &str, code: &str) -> Result<PortalSignIn, AppError> {
        let email = self.address(email)?;
        let now = self.app.clock.now().as_microsecond();
        let Some(sent) = self
            .app
            .store
            .portal_code(&self.app.address_hash(&email)?, now)
            .await?
        else {
            return Err(AppError::Unauthenticated(WRONG.into()));
        };
        let matched = same(&code_hash(sent.id, code.trim()), &sent.code_hash);
        let token = LinkToken::new();
        let session = PortalSession {
            token_hash: token.hash,
            customer_id: sent.customer_id,
            created_at: now,
            last_used_at: now,
            ended_at: None,
        };
        let audit = self.app.subject_record(
            sent.customer_id,
            if matched {
                "portal.sign_in"
            } else {
                "portal.wrong_code"
            },
            PORTAL_PURPOSE,
            vec![sent.customer_id.to_string()],
            vec![],
            None,
        );
        match self
            .app
            .store
            .check_portal_code(sent.id, now, matched, MAX_ATTEMPTS, &session, audit)
            .await?
        {
            CodeCheck::SignedIn => Ok(PortalSignIn {
                token: token.token,
                subject: Subject::new(sent.customer_id),
            }),
            CodeCheck::Wrong | CodeCheck::Void => Err(AppError::Unauthenticated(WRONG.into())),
        }
    }

    /// Where a code asked for at `asked_at` stands after `wrong` wrong entries. Worked out
    /// from what the visitor's own browser holds (when they asked, how often they missed),
    /// never from the store: it reads the same whether or not the address is a customer's,
    /// so it tells no one who is one. Whether a code works is the store's to decide alone.
    pub fn code_standing(&self, asked_at: Timestamp, wrong: u32) -> CodeStanding {
        let now = self.app.clock.now();
        let until = steward_core::clock::from_micros(
            asked_at
                .min(now)
                .as_microsecond()
                .saturating_add(CODE_LIFETIME_MICROS),
        );
        let tries_left = u32::try_from(MAX_ATTEMPTS)
            .unwrap_or(0)
            .saturating_sub(wrong);
        if now >= until {
            CodeStanding::Expired
        } else if tries_left == 0 {
            CodeStanding::UsedUp
        } else {
            CodeStanding::Usable { tries_left, until }
        }
    }

    /// The customer a portal session belongs to; sessions end after 30 idle minutes.
    pub async fn customer(&self, token: &str) -> Result<Subject, AppError> {
        let hash = hash_token(token);
        let now = self.app.clock.now().as_microsecond();
        let session = self
            .app
            .store
            .portal_session(&hash)
            .await?
            .filter(|s| {
                s.ended_at.is_none()
                    && s.last_used_at + IDLE_MICROS > now
                    && s.created_at + SESSION_MICROS > now
            })
            .ok_or_else(|| AppError::Unauthenticated("sign in again".into()))?;
        self.app
            .store
            .touch_portal_session(&hash, now, false)
            .await?;
        Ok(Subject::new(session.customer_id))
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        let now = self.app.clock.now().as_microsecond();
        Ok(self
            .app
            .store
            .touch_portal_session(&hash_token(token), now, true)
            .await?)
    }

    /// Everything held about the customer, for the customer: every value in the clear with
    /// why it is held, consents and their history, interactions, and who used the data.
    pub async fn overview(&self, subject: &Subject) -> Result<PortalOverview, AppError> {
        let customer = subject.customer();
        let (mut overview, dek) = self.app.subject_profile(customer).await?;
        let mut after = None;
        loop {
            let page = self
                .app
                .store
                .list_interactions(customer, after, 500)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.occurred_at, last.id));
            for row in &page {
                overview
                    .interactions
                    .push(self.app.open_interaction(&dek, row)?);
            }
        }
        let fields = overview.fields_read();
        self.app
            .append(vec![self.app.subject_record(
                customer,
                "portal.view",
                PORTAL_PURPOSE,
                vec![customer.to_string()],
                fields,
                None,
            )])
            .await?;
        Ok(overview)
    }
}

impl OwnRights<'_> {
    /// Honours a Global Privacy Control signal for a customer who has shown the address is
    /// theirs (a confirmation link, a portal session): sale, sharing and third-party
    /// advertising are withdrawn.
    pub async fn honour_gpc(
        &self,
        subject: &Subject,
        evidence: &crate::Evidence,
    ) -> Result<Vec<ConsentEventView>, AppError> {
        let customer = subject.customer();
        let access = self.app.subject_access(customer)?;
        self.app
            .consent()
            .honour_gpc(&access, customer, evidence)
            .await
    }

    /// Corrects one value the customer holds with us (GDPR Art. 16). The address they sign in
    /// with is not changed here: a new address needs proof that it is theirs first. A field
    /// the catalog marks `reviewed` waits for staff: the proposal goes to the request desk.
    pub async fn correct(
        &self,
        subject: &Subject,
        field: &str,
        value: &str,
    ) -> Result<Correction, AppError> {
        let customer = subject.customer();
        let row = self
            .app
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        let sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {customer}")))?;
        let def = self
            .app
            .catalog
            .field(field)
            .filter(|_| sealed.get(field).is_some())
            .cloned()
            .ok_or_else(|| AppError::invalid("field", "is not a value we hold about you"))?;
        if def.key == "email" {
            return Err(AppError::invalid(
                "field",
                "your sign-in address changes only once the new one is confirmed: use the address form",
            ));
        }
        let value = steward_core::field_value::normalise(&def, value)
            .map_err(|m| AppError::invalid(format!("fields.{field}"), m))?;
        let now = self.app.clock.now().as_microsecond();
        if def.reviewed {
            let mut proposal = SealedFields::new();
            proposal.insert(
                &def.key,
                self.app
                    .data_key(customer)
                    .await?
                    .seal(&def.key, value.as_bytes()),
            );
            let mut request = self
                .app
                .portal_request(
                    &row,
                    steward_core::request::RequestKind::Rectification,
                    None,
                )
                .await?;
            request.proposal = Some(proposal.encode());
            let due = steward_core::clock::from_micros(request.due_at);
            let audit = self.app.subject_record(
                customer,
                "request.create",
                PORTAL_PURPOSE,
                vec![request.id.to_string(), customer.to_string()],
                vec![def.key.clone()],
                Some("a correction for staff to review".into()),
            );
            self.app
                .commit_request(ChangeSet {
                    requests: vec![request],
                    audit: vec![audit],
                    ..Default::default()
                })
                .await?;
            return Ok(Correction::AwaitingReview { due });
        }
        let mut changes = ChangeSet {
            audit: vec![self.app.subject_record(
                customer,
                "customer.rectify",
                PORTAL_PURPOSE,
                vec![customer.to_string()],
                vec![def.key.clone()],
                Some("by the customer in the portal".into()),
            )],
            ..Default::default()
        };
        self.app
            .correct(&mut changes, &row, &def, &value, now)
            .await?;
        self.app.store.apply(changes).await?;
        Ok(Correction::Applied)
    }
}
