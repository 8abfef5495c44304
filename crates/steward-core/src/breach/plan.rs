//! The breach response plan, prepared before anything happens: who is on the response team,
//! which supervisory authority is told for customers of each residency, and the steps every
//! breach goes through with their owners. Opening a breach makes the steps its checklist.

use std::collections::BTreeMap;

use crate::CountryCode;
use crate::contact::Email;
use crate::sharing::invalid::{country, text};
use crate::sharing::{InvalidCode, InvalidInput};

vocabulary!(
    /// The steps of the plan, in the order they are taken.
    StepKind {
        Contain => "contain",
        Assess => "assess",
        NotifyAuthority => "notify_authority",
        NotifyCustomers => "notify_customers",
        Review => "review",
    }
);

/// A member of the response team.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    /// What they do in a breach (`lead`, `dpo`, `security`, ...); steps are owned by role.
    pub role: String,
    pub name: String,
    pub email: String,
}

/// A supervisory authority and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Authority {
    pub name: String,
    /// An address, telephone number or the web form notifications go through.
    pub contact: String,
}

/// A step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanStep {
    pub step: StepKind,
    /// The team role that owns it.
    pub owner: String,
    /// What is done in it.
    pub description: String,
}

/// The `[breach_plan]` section as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreachPlanInput {
    pub team: Vec<TeamMember>,
    pub lead_authority: Authority,
    /// The authority for customers resident in a country, by ISO 3166-1 alpha-2 code, where
    /// it is not the lead authority.
    #[serde(default)]
    pub authorities: BTreeMap<String, Authority>,
    pub steps: Vec<PlanStep>,
}

/// A checked plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreachPlan {
    pub team: Vec<TeamMember>,
    pub lead_authority: Authority,
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Authority>))]
    pub authorities: BTreeMap<CountryCode, Authority>,
    /// One of each kind, in the order they are taken.
    pub steps: Vec<PlanStep>,
}

fn refuse(field: String, code: InvalidCode, message: &str) -> InvalidInput {
    InvalidInput {
        field,
        code,
        message: message.into(),
    }
}

fn authority(field: &str, a: &Authority) -> Result<Authority, InvalidInput> {
    Ok(Authority {
        name: text(&format!("{field}.name"), &a.name, 200, false)?,
        contact: text(&format!("{field}.contact"), &a.contact, 500, false)?,
    })
}

impl BreachPlan {
    pub fn parse(input: &BreachPlanInput) -> Result<BreachPlan, InvalidInput> {
        if input.team.is_empty() {
            return Err(refuse(
                "team".into(),
                InvalidCode::Required,
                "names at least one member of the response team",
            ));
        }
        let mut team = Vec::with_capacity(input.team.len());
        for (i, m) in input.team.iter().enumerate() {
            let email = Email::parse(&m.email).map_err(|_| {
                refuse(
                    format!("team[{i}].email"),
                    InvalidCode::Malformed,
                    "is not an email address",
                )
            })?;
            team.push(TeamMember {
                role: text(&format!("team[{i}].role"), &m.role, 60, false)?,
                name: text(&format!("team[{i}].name"), &m.name, 200, false)?,
                email: email.as_str().to_owned(),
            });
        }
        let mut authorities = BTreeMap::new();
        for (code, a) in &input.authorities {
            let field = format!("authorities.{code}");
            authorities.insert(country(&field, code)?, authority(&field, a)?);
        }
        let mut steps = Vec::with_capacity(StepKind::ALL.len());
        for kind in StepKind::ALL {
            let mut of_kind = input
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.step == *kind);
            let Some((i, step)) = of_kind.next() else {
                return Err(refuse(
                    "steps".into(),
                    InvalidCode::Required,
                    &format!("the plan has a step `{kind}`"),
                ));
            };
            if let Some((j, _)) = of_kind.next() {
                return Err(refuse(
                    format!("steps[{j}].step"),
                    InvalidCode::Duplicate,
                    "each step is in the plan once",
                ));
            }
            if !team.iter().any(|m| m.role == step.owner.trim()) {
                return Err(refuse(
                    format!("steps[{i}].owner"),
                    InvalidCode::UnknownRole,
                    "is not a role of the response team",
                ));
            }
            steps.push(PlanStep {
                step: *kind,
                owner: step.owner.trim().to_owned(),
                description: text(
                    &format!("steps[{i}].description"),
                    &step.description,
                    2000,
                    true,
                )?,
            });
        }
        Ok(BreachPlan {
            team,
            lead_authority: authority("lead_authority", &input.lead_authority)?,
            authorities,
            steps,
        })
    }

    /// The authority told of a breach reaching customers resident in `residency`.
    pub fn authority_for(&self, residency: CountryCode) -> &Authority {
        self.authorities
            .get(&residency)
            .unwrap_or(&self.lead_authority)
    }
}
