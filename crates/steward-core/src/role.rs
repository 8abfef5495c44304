//! Staff roles and what each may reach: least privilege (I9) starts here.

use std::fmt;
use std::str::FromStr;

use crate::catalog::Sensitivity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Dpo,
    Agent,
    Marketer,
    Auditor,
    /// Steward itself acting on an operator's command (import, demo data, scheduled jobs).
    /// Never held by an account or a token.
    System,
}

/// How a role sees a personal value it is allowed to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldAccess {
    Clear,
    Masked,
    Hidden,
}

impl Role {
    /// The roles a staff account or API token may have.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Dpo,
        Role::Agent,
        Role::Marketer,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dpo => "dpo",
            Role::Agent => "agent",
            Role::Marketer => "marketer",
            Role::Auditor => "auditor",
            Role::System => "system",
        }
    }

    /// Purposes a member of this role holds unless granted others.
    pub fn default_purposes(self) -> &'static [&'static str] {
        match self {
            Role::Admin | Role::Auditor | Role::System => &[],
            Role::Dpo => &["essential.legal_obligation"],
            Role::Agent => &["essential.service", "essential.service.operations.support"],
            Role::Marketer => &[
                "marketing.communications.email",
                "marketing.communications.sms",
            ],
        }
    }

    /// Whether a purpose may ever be granted to this role. An admin may be granted any
    /// purpose explicitly; an auditor never handles personal values.
    pub fn may_hold_purpose(self, purpose: &str) -> bool {
        let under = |prefix: &str| purpose == prefix || purpose.starts_with(&format!("{prefix}."));
        match self {
            Role::Admin | Role::System => true,
            Role::Auditor => false,
            Role::Dpo => under("essential"),
            Role::Agent => under("essential.service"),
            Role::Marketer => under("marketing") || under("personalize"),
        }
    }

    pub fn field_access(self, sensitivity: Sensitivity) -> FieldAccess {
        match (self, sensitivity) {
            (Role::Auditor, _) => FieldAccess::Hidden,
            (Role::Agent, Sensitivity::Special) => FieldAccess::Masked,
            _ => FieldAccess::Clear,
        }
    }

    /// Bulk export of decrypted values; marketers work with audiences, never raw exports.
    pub fn may_export(self) -> bool {
        matches!(self, Role::Admin | Role::Dpo | Role::System)
    }

    /// Bulk import of customers: the operator's and the privacy officer's tools.
    pub fn may_import(self) -> bool {
        matches!(self, Role::Admin | Role::Dpo | Role::System)
    }

    /// Erasure destroys data without reading it: the privacy officer's job (and Steward's own,
    /// for retention), and the administrator's.
    pub fn may_erase(self) -> bool {
        matches!(self, Role::Admin | Role::Dpo | Role::System)
    }

    /// Keeping the vendor register and its agreements: the privacy officer's, and Steward's own
    /// at the operator's command.
    pub fn may_keep_register(self) -> bool {
        matches!(self, Role::Dpo | Role::System)
    }

    /// Reading the register, its agreements and the transfer rules: those who keep it and
    /// those who audit it. Support and marketing never choose where data goes.
    pub fn may_read_register(self) -> bool {
        matches!(self, Role::Dpo | Role::Auditor | Role::System)
    }
}

impl Role {
    /// Reading companies, organisations kept in clear: support and marketing work with them,
    /// and those who keep them.
    pub fn may_read_companies(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Dpo | Role::Agent | Role::Marketer | Role::System
        )
    }

    /// Keeping companies: the administrator, the privacy officer and whoever edits customers.
    pub fn may_keep_companies(self) -> bool {
        matches!(self, Role::Admin | Role::Dpo | Role::Agent | Role::System)
    }

    /// Integrations' webhook subscriptions are configuration: the administrator's and the
    /// privacy officer's. Naming a vendor under which values go also needs the register's
    /// keeper.
    pub fn may_keep_subscriptions(self) -> bool {
        matches!(self, Role::Admin | Role::Dpo | Role::System)
    }

    /// Reading subscriptions and their deliveries: those who keep them and those who audit.
    pub fn may_read_subscriptions(self) -> bool {
        matches!(self, Role::Admin | Role::Dpo | Role::Auditor | Role::System)
    }

    /// Writing the breach register: the privacy officer, who answers to the authority.
    pub fn may_keep_breaches(self) -> bool {
        matches!(self, Role::Dpo | Role::System)
    }

    /// Reading the breach register: those who keep it and those who audit it.
    pub fn may_read_breaches(self) -> bool {
        matches!(self, Role::Dpo | Role::Auditor | Role::System)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected one of admin, dpo, agent, marketer, auditor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_purposes_are_holdable() {
        for role in Role::ALL {
            for p in role.default_purposes() {
                assert!(role.may_hold_purpose(p), "{role} {p}");
            }
        }
    }

    #[test]
    fn boundaries() {
        assert!(!Role::Marketer.may_hold_purpose("essential.service"));
        assert!(!Role::Agent.may_hold_purpose("marketing.communications.email"));
        assert!(!Role::Agent.may_hold_purpose("essential.servicex"));
        assert!(!Role::Auditor.may_hold_purpose("essential.service"));
        assert_eq!(
            Role::Agent.field_access(Sensitivity::Special),
            FieldAccess::Masked
        );
        assert_eq!("dpo".parse::<Role>(), Ok(Role::Dpo));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn the_privacy_officer_keeps_the_vendor_register_and_the_auditor_reads_it() {
        for (role, keeps, reads) in [
            (Role::Admin, false, false),
            (Role::Dpo, true, true),
            (Role::Agent, false, false),
            (Role::Marketer, false, false),
            (Role::Auditor, false, true),
            (Role::System, true, true),
        ] {
            assert_eq!(role.may_keep_register(), keeps, "{role} keeps");
            assert_eq!(role.may_read_register(), reads, "{role} reads");
        }
    }
}
