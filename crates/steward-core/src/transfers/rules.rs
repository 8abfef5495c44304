//! The transfer rules as data: adequacy findings per regime and country, and the residencies
//! an operator puts under a regime. Read from TOML sources in order, checked once; errors name
//! the source and line, as the catalog's do.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Deserialize;
use toml::Spanned;

use super::{Regime, eea, is_eea};
use crate::CountryCode;

/// The findings that ship with the binary.
pub const DEFAULT_ADEQUACY: &str = include_str!("../../transfers/adequacy.toml");

vocabulary!(
    /// What must hold, beyond the calendar, for an adequacy finding to carry a transfer.
    Condition {
        Unconditional => "unconditional",
        DpfActive => "dpf_active",
        RecipientInScope => "recipient_in_scope",
    }
);

/// One adequacy finding: transfers under `regime` to `country` need nothing more while it is in
/// force and its condition holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdequacyRow {
    pub regime: Regime,
    pub country: CountryCode,
    /// The act, as cited: "Commission Implementing Decision (EU) 2019/419".
    pub reference: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub adopted: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub applies_from: Date,
    /// The last day it applies, for a finding with a sunset or one withdrawn.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<Date>,
    /// Which recipients it covers, in words.
    pub scope: String,
    pub condition: Condition,
}

impl AdequacyRow {
    pub fn in_force(&self, today: Date) -> bool {
        self.applies_from <= today && self.valid_until.is_none_or(|last| today <= last)
    }
}

/// Why a rules source was refused, with where: the source name and the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}: {reason}")]
pub struct TableError {
    pub source_name: String,
    pub line: usize,
    pub reason: String,
}

/// The checked rules.
#[derive(Debug, Clone)]
pub struct TransferRules {
    rows: Vec<AdequacyRow>,
    residencies: BTreeMap<CountryCode, Regime>,
    versions: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    decision: Vec<Spanned<RawRow>>,
    #[serde(default)]
    residency: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    regime: String,
    country: String,
    reference: String,
    adopted: String,
    #[serde(default)]
    applies_from: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
    scope: String,
    condition: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn date(name: &str, raw: &str) -> Result<Date, String> {
    raw.parse::<Date>()
        .ok()
        .filter(|_| raw.len() == 10)
        .ok_or_else(|| format!("{name} must be a date written YYYY-MM-DD"))
}

impl TransferRules {
    /// The shipped findings alone.
    pub fn default_rules() -> Result<Self, TableError> {
        Self::from_sources(&[("default adequacy table", DEFAULT_ADEQUACY)])
    }

    /// Reads sources in order: a later row for the same regime and country replaces the
    /// earlier one, so configuration can end, narrow or add findings.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Self, TableError> {
        let mut rules = TransferRules {
            rows: Vec::new(),
            residencies: BTreeMap::new(),
            versions: Vec::new(),
        };
        for (name, text) in sources {
            let err = |offset: usize, reason: String| TableError {
                source_name: (*name).to_string(),
                line: line_of(text, offset),
                reason,
            };
            let raw: RawSource = toml::from_str(text)
                .map_err(|e| err(e.span().map(|s| s.start).unwrap_or(0), e.message().into()))?;
            match raw.version.as_deref().map(str::trim) {
                Some(v) if !v.is_empty() => rules.versions.push((name.to_string(), v.into())),
                _ if !raw.decision.is_empty() => {
                    return Err(err(0, "a source with decisions needs a version".into()));
                }
                _ => {}
            }
            for spanned in raw.decision {
                let at = spanned.span().start;
                for row in parse_row(spanned.get_ref()).map_err(|reason| err(at, reason))? {
                    rules
                        .rows
                        .retain(|r| (r.regime, r.country) != (row.regime, row.country));
                    rules.rows.push(row);
                }
            }
            if let Some(spanned) = raw.residency {
                let at = spanned.span().start;
                for (code, regime) in spanned.get_ref() {
                    let (country, regime) =
                        parse_residency(code, regime).map_err(|reason| err(at, reason))?;
                    rules.residencies.insert(country, regime);
                }
            }
        }
        rules
            .rows
            .sort_by(|a, b| (a.regime.as_str(), a.country).cmp(&(b.regime.as_str(), b.country)));
        Ok(rules)
    }

    /// The regime a customer resident in `residency` is under.
    pub fn regime_for(&self, residency: CountryCode) -> Regime {
        self.residencies
            .get(&residency)
            .copied()
            .unwrap_or_else(|| Regime::statutory(residency))
    }

    /// The finding that covers `country` under `regime` on `today`, whatever its condition.
    pub fn decision(
        &self,
        regime: Regime,
        country: CountryCode,
        today: Date,
    ) -> Option<&AdequacyRow> {
        self.rows
            .iter()
            .find(|r| r.regime == regime && r.country == country && r.in_force(today))
    }

    pub fn rows(&self) -> &[AdequacyRow] {
        &self.rows
    }

    /// Which sources, at which versions, made these rules: "default adequacy table 2026-01-28".
    /// A disclosure records it, so a refusal or a permission can be traced to the table.
    pub fn version(&self) -> String {
        self.versions
            .iter()
            .map(|(name, v)| format!("{name} {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn parse_row(raw: &RawRow) -> Result<Vec<AdequacyRow>, String> {
    let regime: Regime = raw.regime.parse().map_err(|m| format!("regime {m}"))?;
    if regime == Regime::Unrestricted {
        return Err("an unrestricted regime needs no adequacy finding".into());
    }
    let countries: Vec<CountryCode> = if raw.country == "EEA" {
        if regime != Regime::UkGdpr {
            return Err("\"EEA\" stands for a destination only under uk_gdpr".into());
        }
        eea().collect()
    } else {
        let country = CountryCode::parse(&raw.country)
            .map_err(|_| "country must be an ISO 3166-1 alpha-2 code or \"EEA\"".to_string())?;
        if regime.is_home(country) {
            return Err(format!(
                "{country} is inside the {regime} area: data moves there freely"
            ));
        }
        vec![country]
    };
    let reference = raw.reference.trim();
    let scope = raw.scope.trim();
    if reference.is_empty() || scope.is_empty() {
        return Err("a decision needs its reference and its scope in words".into());
    }
    let condition: Condition = raw
        .condition
        .parse()
        .map_err(|m| format!("condition {m}"))?;
    let adopted = date("adopted", &raw.adopted)?;
    let applies_from = match &raw.applies_from {
        Some(d) => date("applies_from", d)?,
        None => adopted,
    };
    let valid_until = raw
        .valid_until
        .as_deref()
        .map(|d| date("valid_until", d))
        .transpose()?;
    if applies_from < adopted || valid_until.is_some_and(|last| last < applies_from) {
        return Err("a decision applies from its adoption until its end, in that order".into());
    }
    Ok(countries
        .into_iter()
        .map(|country| AdequacyRow {
            regime,
            country,
            reference: reference.to_string(),
            adopted,
            applies_from,
            valid_until,
            scope: scope.to_string(),
            condition,
        })
        .collect())
}

fn parse_residency(code: &str, regime: &str) -> Result<(CountryCode, Regime), String> {
    let country = CountryCode::parse(code)
        .map_err(|_| "residency keys must be ISO 3166-1 alpha-2 codes".to_string())?;
    let regime: Regime = regime
        .parse()
        .map_err(|m| format!("residency {code}: {m}"))?;
    if is_eea(country) || country.as_str() == "GB" {
        return Err(format!(
            "residency {country}: the law of EEA and UK residents is not a setting"
        ));
    }
    Ok((country, regime))
}
