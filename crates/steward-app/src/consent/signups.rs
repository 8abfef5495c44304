//! Sign-ups from public forms, held until the address is confirmed. Anyone can type any
//! address into a public form, so nothing sent through one becomes, or changes, a customer
//! record before a link mailed to that address is followed. Until then the sign-up is kept
//! sealed under a key of its own, beside the message that carries its links.
//!
//! Every valid sign-up does the same work, whoever the address belongs to (no one yet, a
//! customer, someone erased at their own request), so that neither the answer nor the time
//! it takes tells the sender which it was.
//!
//! Following a link finds the customer by the address, or makes them from what was sent, and
//! records the consent. A sign-up goes, with its key, once all its links are followed or when
//! they expire.

use std::collections::BTreeMap;

use steward_core::consent::{ConsentMethod, ConsentState, Moment};
use steward_core::contact::Email;
use steward_core::country::CountryCode;
use steward_core::{FieldDef, FormDef, PurposeDef};
use steward_store::{
    ChangeSet, ConsentEvent, IndexDigest, MailLink, SignupRow, SpentLink, StoredKey,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::collection::customers::{Sealed, parse_residency};
use crate::collection::minimisation::{GivenConsents, has_basis};
use crate::consent::double_opt_in::confirm_by;
use crate::consent::ledger::{ConsentEventView, Evidence};
use crate::services::Forms;
use crate::services::Jobs;
use crate::sharing::webhooks::{EventType, note};
use crate::{Actor, AppError, Steward};

const SEALED_AS: &str = "signup";
/// The state of a message made but never to be sent.
const WITHHELD: &str = "withheld";
/// Expired sign-ups dropped per round.
const BATCH: usize = 500;
/// How often the server looks for expired sign-ups.
const EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// What a sign-up holds, sealed.
#[derive(serde::Serialize, serde::Deserialize)]
struct Held {
    /// The field the address was typed into.
    address_field: String,
    /// The values kept: the address and what the ticked purposes need, by field.
    values: BTreeMap<String, String>,
    purposes: Vec<String>,
    residency: String,
    /// The notice in force when the form was sent.
    notice_version: Option<String>,
    /// The submission's evidence, as `hash_evidence` keeps it.
    evidence: Option<String>,
    sign_up_again: bool,
}

/// A valid submission of a form, as the form's checks leave it.
pub(crate) struct NewSignup<'a> {
    pub form: &'a FormDef,
    pub ticked: &'a [&'a PurposeDef],
    pub values: &'a [(&'a FieldDef, String)],
    pub address_field: &'a FieldDef,
    pub address: &'a str,
    pub residency: CountryCode,
    pub sign_up_again: bool,
}

/// A sign-up's link being followed: what it settles and with what.
#[derive(Clone, Copy)]
struct Followed<'a> {
    link: &'a MailLink,
    signup: &'a SignupRow,
    held: &'a Held,
    address: &'a str,
    suppression: Option<IndexDigest>,
    evidence: &'a Evidence,
    /// A Global Privacy Control signal came with it.
    gpc: bool,
}

impl Steward {
    /// Holds a sign-up and mails its links, in one commit with its sealed row; its key is in
    /// the key store before.
    pub(crate) async fn hold_signup(
        &self,
        new: NewSignup<'_>,
        evidence: &Evidence,
    ) -> Result<(), AppError> {
        let now = self.clock.now().as_microsecond();
        let notice = self.notices().current().await?.map(|n| n.version);
        let parsed = Email::parse(new.address).ok();
        let suppressed = !self
            .suppressed_among(parsed.iter().map(|a| ((), a)))
            .await?
            .is_empty();
        let id = Uuid::now_v7();
        let (dek, wrapped) = self.vault.new_data_key(&id)?;
        let held = Held {
            address_field: new.address_field.key.clone(),
            values: new
                .values
                .iter()
                .map(|(f, v)| (f.key.clone(), v.clone()))
                .collect(),
            purposes: new.ticked.iter().map(|p| p.key.clone()).collect(),
            residency: new.residency.to_string(),
            notice_version: notice.clone(),
            evidence: self.hash_evidence(evidence)?,
            sign_up_again: new.sign_up_again,
        };
        let plain = Zeroizing::new(serde_json::to_vec(&held).map_err(AppError::Encode)?);
        let (mut message, mut links) = self.confirmation_mail(
            &dek,
            new.address.to_string(),
            new.ticked,
            notice.as_deref(),
            ConsentMethod::Form,
            now,
        )?;
        // Someone erased at their own request is not written to unless they ask to come
        // back. Their sign-up is still sealed, keyed and written exactly as any other, and
        // so are its message and links, lest fewer rows make a quicker commit that tells the
        // sender the address was erased: but the message is withheld (the sender takes only
        // pending ones) and the links are spent from the start, so nothing reaches them and
        // nothing could act for them. All go with the sign-up when it expires.
        let mail = !suppressed || new.sign_up_again;
        if !mail {
            message.state = WITHHELD.into();
            for link in &mut links {
                link.used_at = Some(now);
            }
        }
        let changes = ChangeSet {
            signups: vec![SignupRow {
                id,
                form: new.form.key.clone(),
                created_at: now,
                expires_at: confirm_by(now),
                sealed: dek.seal(SEALED_AS, &plain),
            }],
            mail: vec![message],
            links,
            audit: vec![self.record(
                &Actor::system("forms", &[]),
                "signup.hold",
                new.ticked.first().map(|p| p.key.as_str()),
                vec![format!("signup:{id}")],
                new.values.iter().map(|(f, _)| f.key.clone()).collect(),
                Some(format!(
                    "form={} purposes={} {}",
                    new.form.key,
                    held.purposes.join(","),
                    if mail {
                        "confirmation=mailed"
                    } else {
                        "confirmation=withheld (the address was erased at its owner's request)"
                    }
                )),
            )],
            ..Default::default()
        };
        self.key_writer
            .submit(vec![(
                id,
                StoredKey {
                    kek_version: wrapped.kek_version,
                    bytes: wrapped.bytes,
                },
            )])
            .await?;
        if let Err(e) = self.store.apply(changes).await {
            // The row never landed; its key must not outlive it.
            let _ = self.destroy_key(id).await;
            return Err(e.into());
        }
        if mail {
            self.mail_queued();
        }
        Ok(())
    }

    /// Follows a link of a held sign-up: the address is shown to be the follower's, so the
    /// customer is found by it or made from what was sent, and the link's purpose is given.
    pub(crate) async fn confirm_signup(
        &self,
        link: &MailLink,
        signup: &SignupRow,
        evidence: &Evidence,
        gpc: bool,
        now: i64,
    ) -> Result<ConsentEventView, AppError> {
        let held = match self.open_signup(signup).await {
            // Its links ran out and it is being dropped.
            Err(AppError::NotFound) => return Err(AppError::LinkSpent),
            other => other?,
        };
        let address = held
            .values
            .get(&held.address_field)
            .ok_or_else(|| AppError::Integrity(format!("sign-up {}", signup.id)))?;
        let suppression = match Email::parse(address) {
            Ok(email) => {
                let digest = self.suppression_digest(&email)?;
                (!self.store.suppressed(&[digest]).await?.is_empty()).then_some(digest)
            }
            Err(_) => None,
        };
        if suppression.is_some() && !held.sign_up_again {
            // Erased at their request after this was sent, and it does not ask to bring
            // them back: it is no longer theirs to finish.
            return Err(AppError::LinkSpent);
        }
        let followed = Followed {
            link,
            signup,
            held: &held,
            address,
            suppression,
            evidence,
            gpc,
        };
        let view = match self.settle_signup(&followed, now).await {
            // Another of its links made the customer meanwhile: now they are found.
            Err(AppError::Duplicate { .. }) => self.settle_signup(&followed, now).await?,
            other => other?,
        };
        if self.store.signup(signup.id).await?.is_none() {
            // Its last link was followed: what it held has gone with it.
            self.destroy_key(signup.id).await?;
        }
        Ok(view)
    }

    async fn open_signup(&self, signup: &SignupRow) -> Result<Held, AppError> {
        let dek = self.data_key(signup.id).await?;
        let plain = dek
            .open(SEALED_AS, &signup.sealed)
            .map_err(|_| AppError::Integrity(format!("sign-up {}", signup.id)))?;
        serde_json::from_slice(&plain)
            .map_err(|_| AppError::Integrity(format!("sign-up {}", signup.id)))
    }

    /// One attempt at what following a sign-up's link does, in one commit with the link
    /// spent: the customer made if the address is new, the suppression lifted if it was
    /// erased, the purpose given unless it is already.
    async fn settle_signup(
        &self,
        followed: &Followed<'_>,
        now: i64,
    ) -> Result<ConsentEventView, AppError> {
        let Followed {
            link,
            signup,
            held,
            address,
            suppression,
            evidence,
            gpc,
        } = *followed;
        let digest = self.vault.blind_index(&held.address_field, address)?;
        let known = self
            .store
            .lookup_index(&held.address_field, &[digest])
            .await?
            .into_iter()
            .map(|(_, id)| id)
            .next();
        let mut changes = ChangeSet {
            spend_link: Some(SpentLink {
                token_hash: link.token_hash,
                at: now,
            }),
            settle_signup: Some(signup.id),
            unsuppress: suppression.into_iter().collect(),
            ..Default::default()
        };
        let made = format!("signup:{}", signup.id);
        // An existing customer's data is never changed by a sign-up: only a new one is made
        // from what was sent.
        let (customer, new_key) = match known {
            Some(id) => (id, None),
            None => {
                let residency = parse_residency(&held.residency, &mut Vec::new())
                    .ok_or_else(|| AppError::Integrity(format!("sign-up {}", signup.id)))?;
                // A GPC signal withdraws what it covers in this same commit, so a value only
                // such a purpose gave a basis for is never stored.
                let withdrawn = if gpc {
                    self.gpc_withdrawals_for_new()
                } else {
                    Vec::new()
                };
                let given: Vec<&str> = [link.purpose.as_str()]
                    .into_iter()
                    .filter(|p| withdrawn.iter().all(|w| w.purpose != *p))
                    .collect();
                let values: Vec<(&FieldDef, String)> = held
                    .values
                    .iter()
                    .filter_map(|(k, v)| self.catalog.field(k).map(|f| (f, v.clone())))
                    .filter(|(f, _)| !gpc || has_basis(&self.catalog, f, GivenConsents(&given)))
                    .collect();
                let Sealed { write, key, .. } =
                    self.seal_new(&values, residency, Vec::new(), now)?;
                let id = write.row.id;
                let keys: Vec<String> = values.iter().map(|(f, _)| f.key.clone()).collect();
                changes
                    .events
                    .push(note(EventType::CustomerCreated, id, &keys, now));
                changes.audit.push(self.subject_record(
                    id,
                    "customer.create",
                    &link.purpose,
                    vec![id.to_string(), made.clone()],
                    keys,
                    Some(format!("form={}", signup.form)),
                ));
                changes.inserts.push(write);
                (id, Some(key))
            }
        };
        let already = match known {
            Some(id) if self.given_purposes(id).await?.contains(&link.purpose) => self
                .store
                .consents(id)
                .await?
                .into_iter()
                .find(|e| e.purpose == link.purpose),
            _ => None,
        };
        let event = match already {
            Some(event) => event,
            None => {
                let validity = self
                    .catalog
                    .purpose(&link.purpose)
                    .and_then(|p| p.consent_valid_days);
                let event = ConsentEvent {
                    id: Uuid::now_v7(),
                    customer_id: customer,
                    purpose: link.purpose.clone(),
                    state: ConsentState::Given.as_str().into(),
                    notice_version: held.notice_version.clone(),
                    method: ConsentMethod::Form.as_str().into(),
                    evidence: held.evidence.clone(),
                    at: now,
                    expires_at: validity.map(|days| {
                        now.saturating_add(steward_store::days_in_micros(i64::from(days)))
                    }),
                };
                changes.audit.push(self.subject_record(
                    customer,
                    "consent.confirm",
                    &link.purpose,
                    vec![customer.to_string(), format!("consent:{}", event.id), made],
                    vec![],
                    Some(format!(
                        "purpose={} state=given method={} form={}{}",
                        link.purpose,
                        event.method,
                        signup.form,
                        if suppression.is_some() {
                            " suppression=lifted"
                        } else {
                            ""
                        }
                    )),
                ));
                changes.consents.push(event.clone());
                event
            }
        };
        if let Some(key) = new_key {
            self.key_writer.submit(vec![key]).await?;
        }
        if let Err(e) = self
            .commit_confirmation(customer, changes, evidence, gpc)
            .await
        {
            if known.is_none() {
                // The customer never landed; their key must not outlive them.
                let _ = self.destroy_key(customer).await;
            }
            return Err(match e {
                // Spent by a second click that won the race.
                AppError::NotFound => AppError::LinkSpent,
                other => other,
            });
        }
        crate::consent::ledger::event_view(event, Moment::at(now))
    }
}

impl Forms<'_> {
    /// Drops every sign-up whose links ran out, with its message, links and key; returns how
    /// many. Safe with several instances at once: each sign-up is dropped by one.
    pub async fn sweep_expired_signups(&self) -> Result<u64, AppError> {
        let now = self.app.clock.now().as_microsecond();
        let mut dropped = 0;
        loop {
            let expired = self.app.store.expired_signups(now, BATCH).await?;
            if expired.is_empty() {
                break;
            }
            // Keys first, as an erasure does: a row left by a crash between the two can no
            // longer be read, and the next round deletes it.
            self.app.destroy_keys(&expired).await?;
            let gone = self.app.store.drop_signups(&expired).await?;
            if !gone.is_empty() {
                self.app
                    .store
                    .append_audit(vec![self.app.record(
                        &Actor::system("signups", &[]),
                        "signup.expire",
                        None,
                        gone.iter().map(|id| format!("signup:{id}")).collect(),
                        vec![],
                        Some(format!("{} unconfirmed sign-ups dropped", gone.len())),
                    )])
                    .await?;
            }
            dropped += gone.len() as u64;
        }
        Ok(dropped)
    }
}

impl Jobs {
    /// Drops expired sign-ups now and then every few minutes until `stop` completes, and
    /// with them the sign-in failures old enough to be forgotten.
    pub async fn signup_sweeper(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let app = &self.app;
            let round = app.leased("signup-sweep", EVERY, false, |_| async move {
                app.forms().sweep_expired_signups().await
            });
            match round.await {
                Ok(None | Some(0)) => {}
                Ok(Some(n)) => tracing::info!(signups = n, "expired sign-ups dropped"),
                Err(e) => tracing::warn!(error = %e, "dropping expired sign-ups failed"),
            }
            match self.app.forget_stale_sign_in_failures().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sources = n, "old sign-in failures forgotten"),
                Err(e) => tracing::warn!(error = %e, "forgetting old sign-in failures failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = &mut stop => break,
            }
        }
    }
}
