//! Consent receipts: a record of one consent decision that the customer and staff can keep,
//! in the Kantara Initiative Consent Receipt v1.1 shape with the mandatory fields of ISO/IEC
//! TS 27560, signed as a compact JWS (EdDSA, Ed25519) with the installation's receipt key.
//!
//! Ed25519 signatures are deterministic and the payload is built only from the ledger event,
//! so a receipt is rebuilt on demand, byte for byte, instead of being stored; and checking a
//! receipt means checking its signature and rebuilding it from the ledger.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use steward_core::consent::{self, ConsentState};
use steward_store::ConsentEvent;
use uuid::Uuid;

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
    pub receipt_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl ReceiptCheck {
    pub fn valid(&self) -> bool {
        self.signature_valid && self.matches_ledger
    }

    fn failed(problem: &str) -> ReceiptCheck {
        ReceiptCheck {
            signature_valid: false,
            matches_ledger: false,
            receipt_id: None,
            problem: Some(problem.into()),
        }
    }
}

fn rfc3339(us: i64) -> String {
    steward_core::clock::from_micros(us).to_string()
}

impl Steward {
    fn receipt_payload(&self, e: &ConsentEvent) -> Value {
        let purpose = self.catalog.purpose(&e.purpose);
        let categories: Vec<&str> = self
            .catalog
            .fields()
            .iter()
            .filter(|f| f.needed_for(&e.purpose))
            .map(|f| f.category.as_str())
            .collect();
        let c = &self.controller;
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
                    "purpose": purpose.map(|p| p.description.as_str()).unwrap_or(&e.purpose),
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

    /// The receipt of one consent event, for staff who may open the customer's record.
    pub async fn consent_receipt(&self, access: &Access, id: Uuid) -> Result<Receipt, AppError> {
        access.require_record_access()?;
        let event = self
            .store
            .consent_event(id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.sign_receipt(&event)
    }

    /// A receipt of one of the customer's own consent events, for the portal.
    pub async fn own_consent_receipt(&self, customer: Uuid, id: Uuid) -> Result<Receipt, AppError> {
        let event = self
            .store
            .consent_event(id)
            .await?
            .filter(|e| e.customer_id == customer)
            .ok_or(AppError::NotFound)?;
        self.sign_receipt(&event)
    }

    /// Checks a receipt: its signature, and that the ledger still holds exactly what it says.
    /// Reveals nothing but the verdict, so any staff member or the operator may ask.
    pub async fn verify_receipt(&self, jws: &str) -> Result<ReceiptCheck, AppError> {
        let parts: Vec<&str> = jws.trim().split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Ok(ReceiptCheck::failed(
                "not a compact JWS (three dot-separated parts)",
            ));
        };
        let signed = format!("{header}.{payload}");
        let signature_valid = URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|sig| self.vault.receipt_signer().verify(signed.as_bytes(), &sig))
            && URL_SAFE_NO_PAD
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
            Some(id) => self.store.consent_event(id).await?,
            None => None,
        };
        let matches_ledger = match (&event, &claims) {
            (Some(e), Some(c)) => self.receipt_payload(e) == *c,
            _ => false,
        };
        let problem = match (signature_valid, matches_ledger, event.is_some()) {
            (true, true, _) => None,
            (false, _, _) => Some(
                "the signature does not verify: the receipt was altered or not issued here".into(),
            ),
            (true, false, false) => {
                Some("the consent ledger holds no such event (it may have been erased)".into())
            }
            (true, false, true) => Some("the receipt differs from the consent ledger".into()),
        };
        Ok(ReceiptCheck {
            signature_valid,
            matches_ledger,
            receipt_id,
            problem,
        })
    }
}
