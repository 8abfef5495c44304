//! Staff accounts and API tokens: a second factor on every account that can reach personal
//! data, and no account or token left unused or without an end.

use std::collections::HashMap;

use steward_core::Role;
use steward_core::clock::from_micros;
use steward_store::TokenRow;

use super::{Check, Checked, Cx, Outcome, STALE_AFTER, Severity};
use crate::AppError;
use crate::security::accounts::SESSION_NAME;

/// Roles whose accounts read or change customers' data; an auditor sees only the audit log.
fn reaches_personal_data(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Dpo | Role::Agent | Role::Marketer)
}

/// A staff account as evidence names it: its id and role, never its email address.
fn shown(id: uuid::Uuid, role: &str) -> String {
    format!("user:{id} ({role})")
}

pub(super) const MFA_COVERAGE: Check = Check {
    id: "MFA_COVERAGE",
    severity: Severity::High,
    fix: "Enrol an authenticator app (TOTP) for every enabled admin, dpo, agent and marketer account.",
    run: mfa_coverage,
};

fn mfa_coverage<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let users = cx.app.store.list_users().await?;
        let mut reaching = 0;
        let mut without = Vec::new();
        for u in users.iter().filter(|u| !u.disabled) {
            let role = u
                .role
                .parse::<Role>()
                .map_err(|e| AppError::corrupt(e.to_string()))?;
            if !reaches_personal_data(role) {
                continue;
            }
            reaching += 1;
            if u.totp_secret.is_none() {
                without.push(shown(u.id, &u.role));
            }
        }
        if reaching == 0 {
            return Ok(Outcome::not_applicable(
                "no enabled account can read personal data",
            ));
        }
        Ok(Outcome::none_of(
            without,
            &format!("of {reaching} accounts that can read personal data have no second factor"),
            format!("all {reaching} accounts that can read personal data have a second factor"),
        ))
    })
}

/// When each account last signed in or used a console session.
fn last_activity(sessions: &[TokenRow]) -> HashMap<&str, i64> {
    let mut last: HashMap<&str, i64> = HashMap::new();
    for t in sessions.iter().filter(|t| t.name == SESSION_NAME) {
        let at = t.last_used_at.unwrap_or(t.created_at).max(t.created_at);
        let entry = last.entry(t.created_by.as_str()).or_insert(at);
        *entry = (*entry).max(at);
    }
    last
}

pub(super) const STALE_ACCOUNTS: Check = Check {
    id: "STALE_ACCOUNTS",
    severity: Severity::Medium,
    fix: "Disable the staff accounts nobody has signed in with for 90 days, or confirm they are still needed.",
    run: stale_accounts,
};

fn stale_accounts<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let users = cx.app.store.list_users().await?;
        let tokens = cx.app.store.list_tokens().await?;
        let last = last_activity(&tokens);
        let cutoff = cx.now.as_microsecond() - STALE_AFTER.as_micros() as i64;
        let enabled: Vec<_> = users.iter().filter(|u| !u.disabled).collect();
        if enabled.is_empty() {
            return Ok(Outcome::not_applicable("there is no enabled staff account"));
        }
        // An account never signed in with counts from its creation.
        let stale = enabled
            .iter()
            .filter(|u| {
                let id = format!("user:{}", u.id);
                last.get(id.as_str()).copied().unwrap_or(u.created_at) < cutoff
            })
            .map(|u| shown(u.id, &u.role))
            .collect();
        Ok(Outcome::none_of(
            stale,
            &format!("of {} enabled accounts unused for 90 days", enabled.len()),
            format!("all {} enabled accounts used within 90 days", enabled.len()),
        ))
    })
}

/// API tokens that still work at `now`: not sessions, not revoked, not expired.
fn live_tokens(tokens: Vec<TokenRow>, now: i64) -> Vec<TokenRow> {
    tokens
        .into_iter()
        .filter(|t| {
            t.name != SESSION_NAME && t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now)
        })
        .collect()
}

pub(super) const TOKENS_WITHOUT_EXPIRY: Check = Check {
    id: "TOKENS_WITHOUT_EXPIRY",
    severity: Severity::Medium,
    fix: "Replace each API token without an expiry date by one that expires, then revoke the old one.",
    run: tokens_without_expiry,
};

fn tokens_without_expiry<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let live = live_tokens(cx.app.store.list_tokens().await?, cx.now.as_microsecond());
        if live.is_empty() {
            return Ok(Outcome::not_applicable("there is no live API token"));
        }
        let endless = live
            .iter()
            .filter(|t| t.expires_at.is_none())
            .map(|t| format!("token:{} ({})", t.id, t.role))
            .collect();
        Ok(Outcome::none_of(
            endless,
            &format!("of {} live API tokens never expire", live.len()),
            format!("all {} live API tokens expire", live.len()),
        ))
    })
}

pub(super) const STALE_TOKENS: Check = Check {
    id: "STALE_TOKENS",
    severity: Severity::Medium,
    fix: "Revoke the API tokens unused for 90 days; an integration that still needs one gets a new token.",
    run: stale_tokens,
};

fn stale_tokens<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let live = live_tokens(cx.app.store.list_tokens().await?, cx.now.as_microsecond());
        if live.is_empty() {
            return Ok(Outcome::not_applicable("there is no live API token"));
        }
        let cutoff = cx.now.as_microsecond() - STALE_AFTER.as_micros() as i64;
        // A token never used counts from its creation.
        let stale = live
            .iter()
            .filter(|t| t.last_used_at.unwrap_or(t.created_at).max(t.created_at) < cutoff)
            .map(|t| {
                let last = from_micros(t.last_used_at.unwrap_or(t.created_at));
                format!("token:{} (last used {})", t.id, last.strftime("%Y-%m-%d"))
            })
            .collect();
        Ok(Outcome::none_of(
            stale,
            &format!("of {} live API tokens unused for 90 days", live.len()),
            format!("all {} live API tokens used within 90 days", live.len()),
        ))
    })
}
