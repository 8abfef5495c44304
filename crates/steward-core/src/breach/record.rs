//! A breach as the privacy officer writes it, and the checks that make it a coherent record.

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::DEADLINE_HOURS;
use crate::sharing::invalid::{optional_text, text};
use crate::sharing::{InvalidCode, InvalidInput};

vocabulary!(
    /// What the breach took from the data: its secrecy, its correctness or its availability.
    Nature {
        Confidentiality => "confidentiality",
        Integrity => "integrity",
        Availability => "availability",
    }
);

vocabulary!(
    /// The risk to people's rights and freedoms the breach is likely to bring.
    Risk {
        None => "none",
        Risk => "risk",
        High => "high",
    }
);

vocabulary!(
    /// Why customers need not be told of a high-risk breach (Art. 34(3)): (a) the data was
    /// unintelligible to whoever reached it, (b) later measures removed the high risk, (c)
    /// telling each would take disproportionate effort and a public communication is made.
    Exemption {
        A => "a",
        B => "b",
        C => "c",
    }
);

const TITLE_MAX: usize = 200;
const TEXT_MAX: usize = 10_000;
const ITEM_MAX: usize = 200;

/// Approximate numbers, the confirmed apart from the possible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible: Option<u64>,
}

/// When the breach ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Window {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
}

/// The decision on notifying the supervisory authority (Art. 33).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorityDecision {
    pub notify: bool,
    /// When the notification was made; required when notifying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub notified_at: Option<Timestamp>,
    /// The authorities notified, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<String>,
    /// The authority's reference for the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Why a notification came later than 72 hours after awareness (Art. 33(1)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_reason: Option<String>,
    /// Why the authority is not notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The decision on telling the customers affected (Art. 34).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerDecision {
    pub notify: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<Exemption>,
    /// What shows the exemption holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// A breach as written, in the API or a form; what is not known yet is left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreachInput {
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub detected_at: Timestamp,
    /// When the company became aware of the breach: the 72-hour clock starts here.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub aware_at: Timestamp,
    /// How it was found.
    pub found_by: String,
    /// The vendor that reported it, when a processor did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_by_vendor: Option<Uuid>,
    /// When the processor's notice came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub processor_notice_at: Option<Timestamp>,
    pub nature: Vec<Nature>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Categories of data concerned, from the catalog.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Whether special categories of data (Art. 9) are concerned.
    #[serde(default)]
    pub special_categories: bool,
    #[serde(default)]
    pub customers: Counts,
    #[serde(default)]
    pub records: Counts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consequences: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measures_taken: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measures_proposed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<AuthorityDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_decision: Option<CustomerDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
}

/// A checked breach.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breach {
    pub id: Uuid,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub detected_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub aware_at: Timestamp,
    pub found_by: String,
    pub reported_by_vendor: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub processor_notice_at: Option<Timestamp>,
    pub nature: Vec<Nature>,
    pub systems: Vec<String>,
    pub window: Option<Window>,
    pub categories: Vec<String>,
    pub special_categories: bool,
    pub customers: Counts,
    pub records: Counts,
    pub consequences: Option<String>,
    pub measures_taken: Option<String>,
    pub measures_proposed: Option<String>,
    pub risk: Option<Risk>,
    pub risk_reasoning: Option<String>,
    pub authority: Option<AuthorityDecision>,
    pub customer_decision: Option<CustomerDecision>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
}

fn refuse(field: &str, code: InvalidCode, message: &str) -> InvalidInput {
    InvalidInput {
        field: field.into(),
        code,
        message: message.into(),
    }
}

fn happened(field: &str, at: Timestamp, now: Timestamp) -> Result<Timestamp, InvalidInput> {
    if at > now {
        return Err(refuse(
            field,
            InvalidCode::InFuture,
            "must not be in the future",
        ));
    }
    Ok(at)
}

fn items(field: &str, raws: &[String]) -> Result<Vec<String>, InvalidInput> {
    let mut out = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| text(&format!("{field}[{i}]"), raw, ITEM_MAX, false))
        .collect::<Result<Vec<_>, _>>()?;
    out.dedup();
    Ok(out)
}

fn counts(field: &str, c: Counts) -> Result<Counts, InvalidInput> {
    if let (Some(confirmed), Some(possible)) = (c.confirmed, c.possible)
        && possible < confirmed
    {
        return Err(refuse(
            &format!("{field}.possible"),
            InvalidCode::OutOfRange,
            "must not be fewer than those confirmed",
        ));
    }
    Ok(c)
}

impl Breach {
    /// Checks a breach as written. `now` dates what must already have happened;
    /// `known_category` says whether the catalog has a category.
    pub fn parse(
        id: Uuid,
        input: &BreachInput,
        now: Timestamp,
        known_category: &dyn Fn(&str) -> bool,
    ) -> Result<Breach, InvalidInput> {
        let detected_at = happened("detected_at", input.detected_at, now)?;
        let aware_at = happened("aware_at", input.aware_at, now)?;
        if aware_at < detected_at {
            return Err(refuse(
                "aware_at",
                InvalidCode::EndsBeforeStart,
                "must not be before the breach was detected",
            ));
        }
        let processor_notice_at = input
            .processor_notice_at
            .map(|at| happened("processor_notice_at", at, now))
            .transpose()?;
        if processor_notice_at.is_some() && input.reported_by_vendor.is_none() {
            return Err(refuse(
                "reported_by_vendor",
                InvalidCode::Required,
                "names the vendor whose notice this was",
            ));
        }
        let mut nature = input.nature.clone();
        nature.sort_unstable_by_key(|n| n.as_str());
        nature.dedup();
        if nature.is_empty() {
            return Err(refuse(
                "nature",
                InvalidCode::Required,
                "names at least one of confidentiality, integrity, availability",
            ));
        }
        if let Some(w) = input.window
            && w.to <= w.from
        {
            return Err(refuse(
                "window.to",
                InvalidCode::EndsBeforeStart,
                "must be after the window's start",
            ));
        }
        let categories = items("categories", &input.categories)?;
        if let Some(i) = categories.iter().position(|c| !known_category(c)) {
            return Err(refuse(
                &format!("categories[{i}]"),
                InvalidCode::UnknownCategory,
                "is not a category of the catalog",
            ));
        }
        let risk_reasoning = optional_text(
            "risk_reasoning",
            input.risk_reasoning.as_deref(),
            TEXT_MAX,
            true,
        )?;
        if input.risk.is_some() && risk_reasoning.is_none() {
            return Err(refuse(
                "risk_reasoning",
                InvalidCode::Required,
                "says why the risk is judged so",
            ));
        }
        let authority = input
            .authority
            .as_ref()
            .map(|a| authority(a, input.risk, aware_at, now))
            .transpose()?;
        let customer_decision = input
            .customer_decision
            .as_ref()
            .map(|c| customer_decision(c, input.risk))
            .transpose()?;
        let closed_at = input
            .closed_at
            .map(|at| happened("closed_at", at, now))
            .transpose()?;
        if let Some(at) = closed_at {
            if at < aware_at {
                return Err(refuse(
                    "closed_at",
                    InvalidCode::EndsBeforeStart,
                    "must not be before the company became aware",
                ));
            }
            if authority.is_none() {
                return Err(refuse(
                    "authority",
                    InvalidCode::Required,
                    "a breach closes once the decision on notifying the authority is recorded",
                ));
            }
            if input.risk == Some(Risk::High) && customer_decision.is_none() {
                return Err(refuse(
                    "customer_decision",
                    InvalidCode::Required,
                    "a high-risk breach closes once the decision on telling customers is recorded",
                ));
            }
        }
        Ok(Breach {
            id,
            title: text("title", &input.title, TITLE_MAX, false)?,
            detected_at,
            aware_at,
            found_by: text("found_by", &input.found_by, TEXT_MAX, true)?,
            reported_by_vendor: input.reported_by_vendor,
            processor_notice_at,
            nature,
            systems: items("systems", &input.systems)?,
            window: input.window,
            categories,
            special_categories: input.special_categories,
            customers: counts("customers", input.customers)?,
            records: counts("records", input.records)?,
            consequences: optional_text(
                "consequences",
                input.consequences.as_deref(),
                TEXT_MAX,
                true,
            )?,
            measures_taken: optional_text(
                "measures_taken",
                input.measures_taken.as_deref(),
                TEXT_MAX,
                true,
            )?,
            measures_proposed: optional_text(
                "measures_proposed",
                input.measures_proposed.as_deref(),
                TEXT_MAX,
                true,
            )?,
            risk: input.risk,
            risk_reasoning,
            authority,
            customer_decision,
            closed_at,
        })
    }

    /// The breach as written, for storing and for changes by merge patch.
    pub fn input(&self) -> BreachInput {
        BreachInput {
            title: self.title.clone(),
            detected_at: self.detected_at,
            aware_at: self.aware_at,
            found_by: self.found_by.clone(),
            reported_by_vendor: self.reported_by_vendor,
            processor_notice_at: self.processor_notice_at,
            nature: self.nature.clone(),
            systems: self.systems.clone(),
            window: self.window,
            categories: self.categories.clone(),
            special_categories: self.special_categories,
            customers: self.customers,
            records: self.records,
            consequences: self.consequences.clone(),
            measures_taken: self.measures_taken.clone(),
            measures_proposed: self.measures_proposed.clone(),
            risk: self.risk,
            risk_reasoning: self.risk_reasoning.clone(),
            authority: self.authority.clone(),
            customer_decision: self.customer_decision.clone(),
            closed_at: self.closed_at,
        }
    }
}

fn authority(
    a: &AuthorityDecision,
    risk: Option<Risk>,
    aware_at: Timestamp,
    now: Timestamp,
) -> Result<AuthorityDecision, InvalidInput> {
    let Some(risk) = risk else {
        return Err(refuse(
            "risk",
            InvalidCode::Required,
            "the decision on notifying the authority rests on the risk: judge it first",
        ));
    };
    let delay_reason = optional_text(
        "authority.delay_reason",
        a.delay_reason.as_deref(),
        TEXT_MAX,
        true,
    )?;
    let reference = optional_text(
        "authority.reference",
        a.reference.as_deref(),
        ITEM_MAX,
        false,
    )?;
    let reason = optional_text("authority.reason", a.reason.as_deref(), TEXT_MAX, true)?;
    if !a.notify {
        if risk != Risk::None {
            return Err(refuse(
                "authority.notify",
                InvalidCode::OutOfRange,
                "a breach likely to result in a risk is notified to the authority (Art. 33(1))",
            ));
        }
        if reason.is_none() {
            return Err(refuse(
                "authority.reason",
                InvalidCode::Required,
                "says why the breach is unlikely to result in a risk",
            ));
        }
        return Ok(AuthorityDecision {
            notify: false,
            notified_at: None,
            authorities: Vec::new(),
            reference,
            delay_reason: None,
            reason,
        });
    }
    let Some(at) = a.notified_at else {
        return Err(refuse(
            "authority.notified_at",
            InvalidCode::Required,
            "says when the authority was notified",
        ));
    };
    let notified_at = happened("authority.notified_at", at, now)?;
    if notified_at < aware_at {
        return Err(refuse(
            "authority.notified_at",
            InvalidCode::EndsBeforeStart,
            "must not be before the company became aware",
        ));
    }
    let authorities = items("authority.authorities", &a.authorities)?;
    if authorities.is_empty() {
        return Err(refuse(
            "authority.authorities",
            InvalidCode::Required,
            "names the authorities notified",
        ));
    }
    let late = notified_at.duration_since(aware_at) > SignedDuration::from_hours(DEADLINE_HOURS);
    if late && delay_reason.is_none() {
        return Err(refuse(
            "authority.delay_reason",
            InvalidCode::Required,
            "a notification more than 72 hours after awareness gives the reasons for the delay (Art. 33(1))",
        ));
    }
    Ok(AuthorityDecision {
        notify: true,
        notified_at: Some(notified_at),
        authorities,
        reference,
        delay_reason,
        reason,
    })
}

fn customer_decision(
    c: &CustomerDecision,
    risk: Option<Risk>,
) -> Result<CustomerDecision, InvalidInput> {
    let evidence = optional_text(
        "customer_decision.evidence",
        c.evidence.as_deref(),
        TEXT_MAX,
        true,
    )?;
    if c.notify {
        if c.exemption.is_some() {
            return Err(refuse(
                "customer_decision.exemption",
                InvalidCode::NotApplicable,
                "an exemption is for not telling customers",
            ));
        }
        return Ok(CustomerDecision {
            notify: true,
            exemption: None,
            evidence,
        });
    }
    if risk == Some(Risk::High) {
        if c.exemption.is_none() {
            return Err(refuse(
                "customer_decision.exemption",
                InvalidCode::Required,
                "a high-risk breach is told to customers unless an Art. 34(3) exemption holds",
            ));
        }
        if evidence.is_none() {
            return Err(refuse(
                "customer_decision.evidence",
                InvalidCode::Required,
                "shows that the exemption holds",
            ));
        }
    }
    Ok(CustomerDecision {
        notify: false,
        exemption: c.exemption,
        evidence,
    })
}
