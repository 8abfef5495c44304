//! Who is asking and why. Every use case that touches personal data takes an `Access`: an
//! actor and one purpose from the catalog that the actor's role may use.

use steward_core::customer::CustomerStatus;
use steward_core::{PurposeDef, Role};
use steward_store::CustomerRow;
use uuid::Uuid;

use crate::{AppError, Steward};

/// A staff member, an API token, or Steward itself. Only the app makes one: from a signed-in
/// session, an API token, or for the operator at the machine (see [`Operator`]).
///
/// ```compile_fail,E0451
/// let forged = steward_app::Actor {
///     id: "user:someone".into(),
///     role: steward_app::core::Role::Admin,
///     purposes: Vec::new(),
/// };
/// ```
///
/// ```compile_fail,E0624
/// let forged = steward_app::Actor::system("anything", &["essential.service"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user:<id>`, `token:<id>` or `system:<job>`; this is what the audit log records.
    pub(crate) id: String,
    pub(crate) role: Role,
    /// Purposes granted explicitly; empty means the role's defaults.
    pub(crate) purposes: Vec<String>,
}

impl Actor {
    pub(crate) fn system(job: &str, purposes: &[&str]) -> Actor {
        Actor {
            id: format!("system:{job}"),
            role: Role::System,
            purposes: purposes.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// What the audit log records as the actor.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn effective_purposes(&self) -> Vec<&str> {
        if self.purposes.is_empty() {
            self.role.default_purposes().to_vec()
        } else {
            self.purposes
                .iter()
                .map(String::as_str)
                .filter(|p| self.role.may_hold_purpose(p))
                .collect()
        }
    }

    pub fn holds(&self, purpose: &str) -> bool {
        self.role.may_hold_purpose(purpose) && self.effective_purposes().contains(&purpose)
    }
}

/// A customer acting for themselves, as the privacy portal's use cases need: made only by
/// the app, from a portal sign-in or session, so a front end cannot act for a customer it
/// has not seen prove who they are.
///
/// A front end holds one only once the customer signed in:
///
/// ```no_run
/// # async fn portal(app: &steward_app::Steward, session: &str) -> Result<(), steward_app::AppError> {
/// let subject = app.portal().customer(session).await?;
/// app.own_rights().erase_account(&subject).await?;
/// # Ok(())
/// # }
/// ```
///
/// It cannot make one from a customer's id, nor act with the id alone:
///
/// ```compile_fail,E0451
/// # async fn portal(app: &steward_app::Steward, id: uuid::Uuid) -> Result<(), steward_app::AppError> {
/// app.own_rights().erase_account(&steward_app::Subject { customer: id }).await?;
/// # Ok(())
/// # }
/// ```
///
/// ```compile_fail,E0308
/// # async fn portal(app: &steward_app::Steward, id: uuid::Uuid) -> Result<(), steward_app::AppError> {
/// app.own_rights().erase_account(id).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    customer: Uuid,
}

impl Subject {
    pub(crate) fn new(customer: Uuid) -> Subject {
        Subject { customer }
    }

    /// The customer's id.
    pub fn customer(&self) -> Uuid {
        self.customer
    }
}

/// An actor working for one purpose its role may use: what every staff use case that
/// touches personal data takes. Only `Steward::access` makes one.
#[derive(Debug, Clone)]
pub struct Access {
    pub(crate) actor: Actor,
    pub(crate) purpose: PurposeDef,
}

impl Access {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn purpose(&self) -> &PurposeDef {
        &self.purpose
    }

    /// Opening, changing or listing individual records. Purposes that rest on consent
    /// (marketing, personalisation) reach customers only through audiences and campaigns,
    /// which check each customer's consent; they never open a record directly. Nor does any
    /// personalization purpose, whatever its basis: it reads only what the customer's chosen
    /// level allows, through its own use cases.
    pub fn require_record_access(&self) -> Result<(), AppError> {
        let personalization = self
            .purpose
            .key
            .strip_prefix("personalize")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
        if personalization {
            Err(AppError::Forbidden(format!(
                "purpose {} reads only what the customer's personalization level allows, not customer records",
                self.purpose.key
            )))
        } else if self.purpose.requires_consent {
            Err(AppError::Forbidden(format!(
                "purpose {} works through audiences and campaigns, not by opening customer records",
                self.purpose.key
            )))
        } else {
            Ok(())
        }
    }
}

/// GDPR Art. 18: a restricted customer's data is kept, but used for nothing except storage
/// and legal claims until the restriction is lifted; only the legal-obligation purpose (the
/// privacy officer's) reaches it, for reading, changing or lifting.
pub(crate) fn ensure_unrestricted(access: &Access, row: &CustomerRow) -> Result<(), AppError> {
    if row.status == CustomerStatus::Restricted.as_str() && access.purpose.key != LEGAL_OBLIGATION {
        Err(AppError::Forbidden(
            "processing of this customer is restricted: only storage and legal claims are allowed"
                .into(),
        ))
    } else {
        Ok(())
    }
}

impl Steward {
    /// Whether the customer's record may be processed for the access's purpose: not when it
    /// is restricted (see [`ensure_unrestricted`]), and not once the desk upheld the
    /// customer's objection to a purpose resting on legitimate interests or a public task
    /// (Art. 21(1)).
    pub(crate) async fn ensure_processable(
        &self,
        access: &Access,
        row: &CustomerRow,
    ) -> Result<(), AppError> {
        ensure_unrestricted(access, row)?;
        if access.purpose.lawful_basis.open_to_objection()
            && self.store.objected(row.id, &access.purpose.key).await?
        {
            return Err(AppError::Objected {
                purpose: access.purpose.key.clone(),
            });
        }
        Ok(())
    }

    /// Which of `ids` a batch for the access's purpose leaves out because the desk upheld
    /// their objection to it (Art. 21(1)); none for a purpose no one can object to.
    pub(crate) async fn objected_among(
        &self,
        access: &Access,
        ids: &[Uuid],
    ) -> Result<std::collections::HashSet<Uuid>, AppError> {
        if !access.purpose.lawful_basis.open_to_objection() || ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(self
            .store
            .objected_among(&access.purpose.key, ids)
            .await?
            .into_iter()
            .collect())
    }
}

pub(crate) const LEGAL_OBLIGATION: &str = "essential.legal_obligation";

/// Whoever opened the data directory and holds its keys: the command line, its jobs and the
/// operator's own listeners, acting as Steward itself. Only [`Steward::open_as_operator`]
/// makes one, so a front end handed the application (as the HTTP edge is) can act only for
/// those who signed in or sent a token.
///
/// ```no_run
/// # async fn cli(opts: steward_app::OpenOptions) -> Result<(), steward_app::AppError> {
/// let (app, operator) = steward_app::Steward::open_as_operator(opts).await?;
/// let users = app.accounts().list_users(&operator.actor("cli", &[])).await?;
/// # Ok(())
/// # }
/// ```
///
/// Handed only the application, a front end cannot make one or act as one:
///
/// ```compile_fail,E0599
/// # fn edge(app: &steward_app::Steward) {
/// let actor = app.operator("edge", &[]);
/// # }
/// ```
///
/// ```compile_fail,E0423
/// let operator = steward_app::Operator(());
/// ```
pub struct Operator(());

impl Operator {
    pub(crate) fn at_the_machine() -> Operator {
        Operator(())
    }

    /// Steward itself at work on `job`, for `purposes` (none: the system role's defaults).
    pub fn actor(&self, job: &str, purposes: &[&str]) -> Actor {
        Actor::system(job, purposes)
    }
}

impl Steward {
    /// Someone at the machine in a staff role without signing in: for tests and benchmarks
    /// only, behind a feature no front end's build turns on.
    #[cfg(feature = "local-staff")]
    pub fn local_staff(&self, id: &str, role: Role, purposes: &[&str]) -> Actor {
        Actor {
            id: id.to_string(),
            role,
            purposes: purposes.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// Checks that `purpose` (or the actor's only purpose when none is given) is in the
    /// catalog and that the actor may use it.
    pub fn access(&self, actor: &Actor, purpose: Option<&str>) -> Result<Access, AppError> {
        let key = match purpose.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => p.to_string(),
            None => match actor.effective_purposes().as_slice() {
                [only] => only.to_string(),
                _ => return Err(AppError::PurposeRequired),
            },
        };
        let def = self
            .catalog
            .purpose(&key)
            .ok_or_else(|| AppError::UnknownPurpose(key.clone()))?;
        if !actor.holds(&key) {
            return Err(AppError::PurposeNotAllowed {
                role: actor.role.to_string(),
                purpose: key,
            });
        }
        Ok(Access {
            actor: actor.clone(),
            purpose: def.clone(),
        })
    }
}
