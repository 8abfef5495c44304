//! Consent receipts: a record of one consent decision that the customer and staff can keep,
//! in the Kantara Initiative Consent Receipt v1.1 shape with the mandatory fields of ISO/IEC
//! TS 27560, signed as a compact JWS (EdDSA, Ed25519) with the installation's receipt key.
//!
//! Ed25519 signatures are deterministic and the payload is built only from the ledger event,
//! so a receipt is rebuilt on demand, byte for byte, instead of being stored; and checking a
//! receipt means checking its signature and rebuilding it from the ledger.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use steward_core::Catalog;
use steward_core::consent::{self, ConsentState};
use steward_store::{ConsentEvent, ConsentProof};
use uuid::Uuid;

use crate::security::access::Subject;
use crate::services::Consents;
use crate::services::Portal;
use crate::{Access, AppError, Steward};

const HEADER: &str = r#"{"alg":"EdDSA","kid":"steward-receipts","typ":"JWT"}"#;

/// Who the receipts name as the controller of the personal data.
#[derive(Debug, Clone)]
pub struct Controller {
    pub name: String,
    pub email: String,
    pub address: String,
    /// Where the controller is established, e.g. `EU` or `DE`.
    pub jurisdiction: String,
}

impl Default for Controller {
    fn default() -> Self {
        Controller {
            name: "Steward operator (set controller_name)".into(),
            email: "privacy@localhost".into(),
            address: String::new(),
            jurisdiction: "EU".into(),
        }
    }
}

/// A signed receipt.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub id: Uuid,
    /// The compact JWS: header, payload and signature, base64url, joined by dots.
    pub jws: String,
    /// The decoded payload, for reading: the very JSON text that was signed, not built again.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Box<RawValue>,
}

impl PartialEq for Receipt {
    fn eq(&self, other: &Receipt) -> bool {
        self.id == other.id && self.jws == other.jws && self.payload.get() == other.payload.get()
    }
}

impl Eq for Receipt {}

/// What checking a receipt found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptCheck {
    /// Signed by this installation's receipt key, unaltered.
    pub signature_valid: bool,
    /// Identical to the receipt rebuilt from the consent ledger now.
    pub matches_ledger: bool,
    /// The customer was erased, and the receipt is the very one whose hash was kept as the
    /// proof of their consent.
    pub matches_proof: bool,
    pub receipt_id: Option<Uuid>,
    /// What the proof kept after the erasure says was decided, when the receipt matches it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<ProofView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A consent proof as shown: the decision, without the pseudonym or the hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofView {
    pub event_id: Uuid,
    pub purpose: String,
    pub state: String,
    pub method: String,
    pub notice_version: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub at: jiff::Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub expires_at: Option<jiff::Timestamp>,
    /// When the customer was erased and this proof made in place of the ledger event.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub erased_at: jiff::Timestamp,
}

impl From<&ConsentProof> for ProofView {
    fn from(p: &ConsentProof) -> ProofView {
        ProofView {
            event_id: p.event_id,
            purpose: p.purpose.clone(),
            state: p.state.clone(),
            method: p.method.clone(),
            notice_version: p.notice_version.clone(),
            at: steward_core::clock::from_micros(p.at),
            expires_at: p.expires_at.map(steward_core::clock::from_micros),
            erased_at: steward_core::clock::from_micros(p.erased_at),
        }
    }
}

impl ReceiptCheck {
    /// Signed here and unaltered, and either the ledger or, once the customer is erased, the
    /// proof kept of it holds exactly this receipt.
    pub fn valid(&self) -> bool {
        self.signature_valid && (self.matches_ledger || self.matches_proof)
    }

    fn failed(problem: &str) -> ReceiptCheck {
        ReceiptCheck {
            signature_valid: false,
            matches_ledger: false,
            matches_proof: false,
            receipt_id: None,
            proof: None,
            problem: Some(problem.into()),
        }
    }
}

fn rfc3339(us: i64) -> String {
    steward_core::clock::from_micros(us).to_string()
}

/// A receipt's payload. Fields are declared in the order serde_json sorts object keys, the
/// order receipts have always been signed in: a receipt rebuilt from the ledger must come out
/// byte for byte as the one the customer holds.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    collection_method: &'a str,
    #[serde(rename = "consentReceiptID")]
    consent_receipt_id: Uuid,
    consent_timestamp: i64,
    iso27560: Iso27560<'a>,
    jurisdiction: &'a str,
    language: &'static str,
    pii_controllers: [PiiController<'a>; 1],
    pii_principal_id: Uuid,
    policy_url: String,
    sensitive: bool,
    services: [Service<'a>; 1],
    spi_cat: [&'static str; 0],
    version: &'static str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PiiController<'a> {
    address: &'a str,
    contact: &'a str,
    email: &'a str,
    phone: &'static str,
    pii_controller: &'a str,
}

#[derive(serde::Serialize)]
struct Service<'a> {
    purposes: [ServicePurpose<'a>; 1],
    service: &'static str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ServicePurpose<'a> {
    consent_type: &'static str,
    pii_category: Vec<&'a str>,
    primary_purpose: bool,
    purpose: &'a str,
    purpose_category: [&'a str; 1],
    termination: String,
    third_party_disclosure: bool,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Iso27560<'a> {
    controller: &'a str,
    data_subject: Uuid,
    expiry: Option<String>,
    method: &'a str,
    notice: Option<&'a str>,
    purposes: [&'a str; 1],
    record_id: Uuid,
    schema_version: &'static str,
    status: &'a str,
    status_timestamp: String,
    status_type: &'static str,
}

fn receipt_payload<'a>(
    catalog: &'a Catalog,
    controller: &'a Controller,
    e: &'a ConsentEvent,
) -> Payload<'a> {
    let description = catalog.purpose(&e.purpose).map(|p| p.description.as_str());
    let categories = catalog
        .fields()
        .iter()
        .filter(|f| f.needed_for(&e.purpose))
        .map(|f| f.category.as_str())
        .collect();
    let c = controller;
    let dpv = e
        .state
        .parse::<ConsentState>()
        .map(|s| s.dpv())
        .unwrap_or("dpv:ConsentStatus");
    Payload {
        collection_method: &e.method,
        consent_receipt_id: e.id,
        consent_timestamp: e.at.div_euclid(1_000_000),
        iso27560: Iso27560 {
            controller: &c.name,
            data_subject: e.customer_id,
            expiry: e.expires_at.map(rfc3339),
            method: &e.method,
            notice: e.notice_version.as_deref(),
            purposes: [&e.purpose],
            record_id: e.id,
            schema_version: "ISO/IEC TS 27560:2023",
            status: &e.state,
            status_timestamp: rfc3339(e.at),
            status_type: dpv,
        },
        jurisdiction: &c.jurisdiction,
        language: "en",
        pii_controllers: [PiiController {
            address: &c.address,
            contact: &c.email,
            email: &c.email,
            phone: "",
            pii_controller: &c.name,
        }],
        pii_principal_id: e.customer_id,
        policy_url: match e.notice_version.as_deref() {
            Some(v) => format!("/privacy/{v}"),
            None => "/privacy".into(),
        },
        sensitive: false,
        services: [Service {
            purposes: [ServicePurpose {
                consent_type: "EXPLICIT",
                pii_category: categories,
                primary_purpose: false,
                purpose: description.unwrap_or(&e.purpose),
                purpose_category: [&e.purpose],
                termination: e
                    .expires_at
                    .map(rfc3339)
                    .unwrap_or_else(|| "on withdrawal".into()),
                third_party_disclosure: consent::covered_by_gpc(&e.purpose),
            }],
            service: "Steward",
        }],
        spi_cat: [],
        version: "KI-CR-v1.1.0",
    }
}

impl Steward {
    fn receipt_payload<'a>(&'a self, e: &'a ConsentEvent) -> Payload<'a> {
        receipt_payload(&self.catalog, &self.controller, e)
    }

    pub(crate) fn sign_receipt(&self, e: &ConsentEvent) -> Result<Receipt, AppError> {
        let payload = serde_json::value::to_raw_value(&self.receipt_payload(e))
            .map_err(|_| AppError::Integrity(format!("receipt of consent event {}", e.id)))?;
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload.get())
        );
        let signature = self.vault.receipt_signer().sign(input.as_bytes());
        Ok(Receipt {
            id: e.id,
            jws: format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)),
            payload,
        })
    }
}

impl Consents<'_> {
    /// The receipt of one consent event, for staff who may open the customer's record.
    pub async fn receipt(&self, access: &Access, id: Uuid) -> Result<Receipt, AppError> {
        access.require_record_access()?;
        let event = self
            .app
            .store
            .consent_event(id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.sign_receipt(&event)
    }

    /// Checks a receipt: its signature, and that the ledger still holds exactly what it says,
    /// or, once the customer is erased, that it is the receipt whose proof was kept. Reveals
    /// nothing but the verdict and the decision the receipt itself states, so any staff
    /// member or the operator may ask.
    pub async fn verify_receipt(&self, jws: &str) -> Result<ReceiptCheck, AppError> {
        let parts: Vec<&str> = jws.trim().split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Ok(ReceiptCheck::failed(
                "not a compact JWS (three dot-separated parts)",
            ));
        };
        let signed = format!("{header}.{payload}");
        let signature_valid = URL_SAFE_NO_PAD.decode(signature).is_ok_and(|sig| {
            self.app
                .vault
                .receipt_signer()
                .verify(signed.as_bytes(), &sig)
        }) && URL_SAFE_NO_PAD
            .decode(header)
            .is_ok_and(|h| h == HEADER.as_bytes());
        let claims: Option<Value> = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok());
        let receipt_id = claims
            .as_ref()
            .and_then(|c| c["consentReceiptID"].as_str())
            .and_then(|id| Uuid::parse_str(id).ok());
        let event = match receipt_id {
            Some(id) => self.app.store.consent_event(id).await?,
            None => None,
        };
        let matches_ledger = match (&event, &claims) {
            (Some(e), Some(c)) => {
                serde_json::to_value(self.app.receipt_payload(e)).is_ok_and(|rebuilt| rebuilt == *c)
            }
            _ => false,
        };
        // Only a customer's erasure removes an event from the ledger, and it leaves a proof.
        let proof = match (receipt_id, &event) {
            (Some(id), None) => self.app.store.consent_proof(id).await?,
            _ => None,
        };
        let matches_proof = proof.as_ref().is_some_and(|p| {
            p.receipt_hash.as_slice() == Sha256::digest(jws.trim().as_bytes()).as_slice()
        });
        let problem = match (signature_valid, matches_ledger || matches_proof) {
            (true, true) => None,
            (false, _) => Some(
                "the signature does not verify: the receipt was altered or not issued here".into(),
            ),
            (true, false) if event.is_some() => {
                Some("the receipt differs from the consent ledger".into())
            }
            (true, false) if proof.is_some() => {
                Some("the receipt differs from the proof kept when the customer was erased".into())
            }
            (true, false) => Some(
                "neither the consent ledger nor the proofs kept after erasures hold such an event"
                    .into(),
            ),
        };
        Ok(ReceiptCheck {
            signature_valid,
            matches_ledger,
            matches_proof,
            receipt_id,
            // Shown only to whoever holds the very receipt, which says as much already.
            proof: proof
                .as_ref()
                .filter(|_| matches_proof)
                .map(ProofView::from),
            problem,
        })
    }
}

impl Portal<'_> {
    /// A receipt of one of the customer's own consent events, for the portal.
    pub async fn receipt(&self, subject: &Subject, id: Uuid) -> Result<Receipt, AppError> {
        let customer = subject.customer();
        let event = self
            .app
            .store
            .consent_event(id)
            .await?
            .filter(|e| e.customer_id == customer)
            .ok_or(AppError::NotFound)?;
        self.app.sign_receipt(&event)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The payload as receipts were first built, key by key: issued receipts must keep
    /// matching the ledger, so the typed payload has to serialise to exactly these bytes.
    fn as_first_issued(catalog: &Catalog, c: &Controller, e: &ConsentEvent) -> Value {
        let categories: Vec<&str> = catalog
            .fields()
            .iter()
            .filter(|f| f.needed_for(&e.purpose))
            .map(|f| f.category.as_str())
            .collect();
        let dpv = e
            .state
            .parse::<ConsentState>()
            .map(|s| s.dpv())
            .unwrap_or("dpv:ConsentStatus");
        json!({
            "version": "KI-CR-v1.1.0",
            "jurisdiction": c.jurisdiction,
            "consentTimestamp": e.at.div_euclid(1_000_000),
            "collectionMethod": e.method,
            "consentReceiptID": e.id,
            "language": "en",
            "piiPrincipalId": e.customer_id,
            "piiControllers": [{
                "piiController": c.name,
                "contact": c.email,
                "address": c.address,
                "email": c.email,
                "phone": "",
            }],
            "policyUrl": format!("/privacy{}", e.notice_version.as_deref().map(|v| format!("/{v}")).unwrap_or_default()),
            "services": [{
                "service": "Steward",
                "purposes": [{
                    "purpose": catalog.purpose(&e.purpose).map(|p| p.description.as_str()).unwrap_or(&e.purpose),
                    "purposeCategory": [e.purpose],
                    "consentType": "EXPLICIT",
                    "piiCategory": categories,
                    "primaryPurpose": false,
                    "termination": e.expires_at.map(rfc3339).unwrap_or_else(|| "on withdrawal".into()),
                    "thirdPartyDisclosure": consent::covered_by_gpc(&e.purpose),
                }],
            }],
            "sensitive": false,
            "spiCat": [],
            "iso27560": {
                "schemaVersion": "ISO/IEC TS 27560:2023",
                "recordId": e.id,
                "dataSubject": e.customer_id,
                "controller": c.name,
                "purposes": [e.purpose],
                "notice": e.notice_version,
                "status": e.state,
                "statusType": dpv,
                "statusTimestamp": rfc3339(e.at),
                "method": e.method,
                "expiry": e.expires_at.map(rfc3339),
            },
        })
    }

    fn event(
        purpose: &str,
        state: &str,
        notice: Option<&str>,
        expires: Option<i64>,
    ) -> ConsentEvent {
        ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: Uuid::now_v7(),
            purpose: purpose.into(),
            state: state.into(),
            notice_version: notice.map(str::to_string),
            method: "api".into(),
            evidence: None,
            at: 1_767_225_600_123_456,
            expires_at: expires,
        }
    }

    #[test]
    fn the_typed_payload_serialises_to_the_bytes_receipts_were_first_signed_in() {
        let catalog = Catalog::default_catalog().expect("the default catalog loads");
        let controller = Controller {
            name: "Example \"Shop\" GmbH".into(),
            email: "privacy@shop.example".into(),
            address: "Hauptstraße 1\nBerlin".into(),
            jurisdiction: "DE".into(),
        };
        let events = [
            event(
                "marketing.communications.email",
                "given",
                Some("2026-03"),
                Some(1_800_000_000_000_000),
            ),
            event("marketing.communications.sms", "withdrawn", None, None),
            event(
                "marketing.advertising.third_party.targeted",
                "refused",
                Some("v2"),
                None,
            ),
            event("no.such.purpose", "no-such-state", None, Some(-5)),
        ];
        for e in &events {
            let typed = serde_json::to_string(&receipt_payload(&catalog, &controller, e))
                .expect("a payload serialises");
            let first = as_first_issued(&catalog, &controller, e).to_string();
            assert_eq!(typed, first, "payload of a {} {} event", e.state, e.purpose);
        }
    }
}
