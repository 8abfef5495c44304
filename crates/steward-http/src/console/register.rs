//! The vendor register as the privacy officer and the auditor read it: vendors with what needs
//! attention, one vendor's file, the agreements, the shares made and what each left out, and
//! the adequacy findings in force with the agreements resting on one that ends. Read-only:
//! changes go through the API, where each is checked and audited. The record of processing
//! drawn from it is `ropa.rs`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::core::sharing::{
    Agreement, Destination, DpaState, ReviewState, SubProcessorAuthorisation, Vendor,
};
use steward_app::core::transfers::Mechanism;
use steward_app::{AgreementView, AppError, VendorView};
use uuid::Uuid;

use super::{Chrome, ConsoleError, Staff, group, parse_id, readable};
use crate::AppState;
use crate::web::render;

/// How many shares the list shows, newest first.
const SHARES_SHOWN: usize = 200;

pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

pub(super) fn text(s: impl Into<String>) -> Cell {
    Cell {
        text: s.into(),
        href: None,
    }
}

pub(super) fn link(s: impl Into<String>, href: String) -> Cell {
    Cell {
        text: s.into(),
        href: Some(href),
    }
}

pub struct Table {
    pub id: &'static str,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// Said instead of an empty table.
    pub empty: &'static str,
}

pub struct Section {
    pub id: &'static str,
    pub heading: String,
    pub intro: Option<String>,
    pub facts: Vec<(&'static str, String)>,
    pub table: Option<Table>,
}

pub(super) fn section(id: &'static str, heading: impl Into<String>) -> Section {
    Section {
        id,
        heading: heading.into(),
        intro: None,
        facts: Vec::new(),
        table: None,
    }
}

#[derive(Template)]
#[template(path = "console/register.html")]
struct RegisterPage {
    chrome: Chrome,
    sub: &'static str,
    intro: Option<String>,
    sections: Vec<Section>,
}

fn page(
    state: &AppState,
    staff: &Staff,
    title: impl Into<String>,
    sub: &'static str,
    intro: Option<String>,
    sections: Vec<Section>,
) -> Response {
    render(&RegisterPage {
        chrome: Chrome::new(state, staff, title, "register"),
        sub,
        intro,
        sections,
    })
}

fn countries(list: &[steward_app::core::CountryCode]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    list.iter()
        .map(|c| format!("{} ({c})", c.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn review(state: &ReviewState) -> String {
    match state {
        ReviewState::NeverReviewed => "never reviewed: OVERDUE".into(),
        ReviewState::Due { on } => format!("due {on}"),
        ReviewState::Overdue { since } => format!("OVERDUE since {since}"),
    }
}

fn dpa(state: &Option<DpaState>) -> String {
    match state {
        None => "not needed".into(),
        Some(DpaState::Current) => "current".into(),
        Some(DpaState::Missing) => "MISSING".into(),
        Some(DpaState::Incomplete { missing }) => format!(
            "INCOMPLETE: no {}",
            missing
                .iter()
                .map(|m| format!("{} ({})", m.as_str().replace('_', " "), m.point()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(DpaState::Expired { on }) => format!("ENDED {on}"),
    }
}

fn certifications(v: &VendorView) -> String {
    let a = &v.attention;
    match (a.certifications_expiring, a.certifications_expired) {
        (0, 0) if v.vendor.certifications.is_empty() => "none".into(),
        (0, 0) => "in force".into(),
        (soon, 0) => format!("{soon} ending within 30 days"),
        (0, gone) => format!("{gone} ENDED"),
        (soon, gone) => format!("{soon} ending within 30 days, {gone} ENDED"),
    }
}

fn mechanism(m: &Mechanism) -> String {
    match m {
        Mechanism::Adequacy => "adequacy decision".into(),
        Mechanism::Scc {
            module,
            uk_addendum,
            tia,
        } => format!(
            "SCC module {}{}; TIA to be made again by {}",
            module.number(),
            if *uk_addendum {
                " with UK addendum"
            } else {
                ""
            },
            tia.re_evaluate_by
        ),
        Mechanism::Idta { tia } => format!("IDTA; TIA to be made again by {}", tia.re_evaluate_by),
        Mechanism::Bcr { reference } => format!("binding corporate rules ({reference})"),
        Mechanism::Derogation { ground, .. } => format!("derogation, Art. {}", ground.point()),
    }
}

fn destinations(list: &[Destination], names: &BTreeMap<Uuid, String>) -> String {
    if list.is_empty() {
        return "none outside the customer's own area".into();
    }
    list.iter()
        .map(|d| {
            let via = d
                .via
                .map(|v| {
                    format!(
                        " via {}",
                        names.get(&v).cloned().unwrap_or_else(|| v.to_string())
                    )
                })
                .unwrap_or_default();
            format!(
                "{} ({}){via}: {}",
                d.country.name(),
                d.country,
                mechanism(&d.mechanism)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn agreement_row(chrome: &Chrome, a: &AgreementView, names: &BTreeMap<Uuid, String>) -> Vec<Cell> {
    let g: &Agreement = &a.agreement;
    vec![
        link(
            names
                .get(&g.vendor)
                .cloned()
                .unwrap_or_else(|| g.vendor.to_string()),
            format!("/console/vendors/{}", g.vendor),
        ),
        text(
            g.purposes
                .iter()
                .map(|p| chrome.purpose_name(p))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        text(g.categories.join(", ")),
        text(destinations(&g.destinations, names)),
        text(match g.valid_until {
            Some(end) => format!("{} to {end}", g.valid_from),
            None => format!("from {}", g.valid_from),
        }),
        text(if a.live { "yes" } else { "no" }),
        text(if g.onward_transfer { "allowed" } else { "no" }),
    ]
}

const AGREEMENT_HEAD: [&str; 7] = [
    "Vendor",
    "Purposes",
    "Data categories",
    "Destinations",
    "Term",
    "In force",
    "Onward transfer",
];

async fn names(state: &AppState, staff: &Staff) -> Result<BTreeMap<Uuid, String>, AppError> {
    Ok(state
        .app
        .vendors()
        .list(&staff.actor)
        .await?
        .into_iter()
        .map(|v| (v.vendor.id, v.vendor.legal_name))
        .collect())
}

pub async fn vendors(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    let list = state.app.vendors().list(&staff.actor).await?;
    let rows = list
        .iter()
        .map(|v| {
            vec![
                link(
                    v.vendor.legal_name.clone(),
                    format!("/console/vendors/{}", v.vendor.id),
                ),
                text(v.vendor.role.as_str()),
                text(v.vendor.status.as_str()),
                text(v.vendor.risk_tier.get().to_string()),
                text(
                    v.next_review_due
                        .map_or_else(|| "never reviewed".into(), |d| d.to_string()),
                ),
                text(review(&v.attention.review)),
                text(dpa(&v.attention.dpa)),
                text(certifications(v)),
            ]
        })
        .collect();
    let mut s = section("vendors", format!("Vendors ({})", list.len()));
    s.table = Some(Table {
        id: "vendor-table",
        head: vec![
            "Vendor",
            "Role",
            "Status",
            "Risk tier",
            "Next review due",
            "Review",
            "Processing contract",
            "Certifications",
        ],
        rows,
        empty: "No vendor is in the register yet.",
    });
    Ok(page(
        &state,
        &staff,
        "Vendor register",
        "vendors",
        Some("Everyone who receives customers' data, in which role, and what of it needs attention. Changes are made through the API.".into()),
        vec![s],
    ))
}

fn vendor_facts(
    v: &Vendor,
    parent: Option<String>,
    view: &VendorView,
) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Role", v.role.as_str().to_string()),
        ("Status", v.status.as_str().to_string()),
        ("Risk tier", v.risk_tier.get().to_string()),
        ("Address", v.address.replace(['\r', '\n'], " ")),
        ("Contact person", v.contact_person.clone()),
        ("Established in", countries(&v.established_in)),
        ("Stores data in", countries(&v.stores_in)),
        ("Accesses data from", countries(&v.accesses_from)),
        (
            "Next review due",
            view.next_review_due
                .map_or_else(|| "never reviewed".into(), |d| d.to_string()),
        ),
        ("Review", review(&view.attention.review)),
    ];
    if let Some(p) = parent {
        facts.insert(1, ("Engaged by", p));
    }
    if let Some(auth) = v.sub_processor_authorisation {
        facts.push((
            "Sub-processors",
            match auth {
                SubProcessorAuthorisation::Specific => "each authorised specifically".into(),
                SubProcessorAuthorisation::General { notice_days } => {
                    format!("general authorisation, {notice_days} days' notice of changes")
                }
            },
        ));
    }
    if let Some(dpf) = &v.dpf {
        facts.push((
            "Data Privacy Framework",
            format!(
                "{} (checked {}){}",
                dpf.status.as_str(),
                dpf.checked_on,
                if dpf.uk_extension {
                    ", with the UK Extension"
                } else {
                    ""
                }
            ),
        ));
    }
    facts
}

pub async fn vendor(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = parse_id(&id)?;
    let app = &state.app;
    let view = app.vendors().get(&staff.actor, id).await?;
    let all = app.vendors().list(&staff.actor).await?;
    let names: BTreeMap<Uuid, String> = all
        .iter()
        .map(|v| (v.vendor.id, v.vendor.legal_name.clone()))
        .collect();
    let chrome = Chrome::new(&state, &staff, view.vendor.legal_name.clone(), "register");
    let v = &view.vendor;
    let mut about = section("about", "The vendor");
    about.facts = vendor_facts(v, v.parent.and_then(|p| names.get(&p).cloned()), &view);

    let mut contract = section("dpa", "Processing contract (Art. 28)");
    contract.facts.push(("State", dpa(&view.attention.dpa)));
    if let Some(d) = &v.dpa {
        contract.facts.push(("Signed on", d.signed_on.to_string()));
        contract.facts.push(("Version", d.version.clone()));
        contract.facts.push(("SHA-256", d.sha256.clone()));
        contract.facts.push((
            "Binds until",
            d.expires_on
                .map_or_else(|| "no fixed end".into(), |e| e.to_string()),
        ));
    }

    let mut certs = section("certifications", "Certifications");
    certs.table = Some(Table {
        id: "certification-table",
        head: vec!["Scheme", "Scope", "Expires on"],
        rows: v
            .certifications
            .iter()
            .map(|c| {
                vec![
                    text(c.name.clone().unwrap_or_else(|| c.scheme.as_str().into())),
                    text(c.scope.clone()),
                    text(c.expires_on.to_string()),
                ]
            })
            .collect(),
        empty: "None recorded.",
    });

    let mut reviews = section("reviews", "Reviews");
    reviews.table = Some(Table {
        id: "review-table",
        head: vec!["Reviewed on", "Reviewer", "Outcome", "Conditions"],
        rows: app
            .vendors()
            .reviews(&staff.actor, id)
            .await?
            .iter()
            .rev()
            .map(|r| {
                vec![
                    text(r.review.reviewed_on.to_string()),
                    text(r.review.reviewer.clone()),
                    text(r.review.outcome.as_str().replace('_', " ")),
                    text(r.review.conditions.clone().unwrap_or_default()),
                ]
            })
            .collect(),
        empty: "Never reviewed.",
    });

    let mut engaged = section("sub-processors", "Sub-processors it engaged");
    engaged.table = Some(Table {
        id: "sub-processor-table",
        head: vec!["Vendor", "Status", "Stores data in"],
        rows: all
            .iter()
            .filter(|s| s.vendor.parent == Some(id))
            .map(|s| {
                vec![
                    link(
                        s.vendor.legal_name.clone(),
                        format!("/console/vendors/{}", s.vendor.id),
                    ),
                    text(s.vendor.status.as_str()),
                    text(countries(&s.vendor.stores_in)),
                ]
            })
            .collect(),
        empty: "None.",
    });

    let agreements = app.agreements().list(&staff.actor, Some(id)).await?;
    let mut agreed = section("agreements", "Agreements");
    agreed.table = Some(Table {
        id: "vendor-agreement-table",
        head: AGREEMENT_HEAD.to_vec(),
        rows: agreements
            .iter()
            .map(|a| agreement_row(&chrome, a, &names))
            .collect(),
        empty: "No agreement: nothing may be shared with this vendor.",
    });

    let mut reach = section("destinations", "Where the data goes");
    reach.intro = Some(
        "Every country where the vendor keeps or reads the data, and what the agreements record for it."
            .into(),
    );
    reach.table = Some(Table {
        id: "destination-table",
        head: vec!["Country", "Basis recorded in an agreement"],
        rows: v
            .countries_reached()
            .iter()
            .map(|c| {
                let recorded: Vec<String> = agreements
                    .iter()
                    .flat_map(|a| a.agreement.destinations.iter())
                    .filter(|d| d.country == *c)
                    .map(|d| mechanism(&d.mechanism))
                    .collect();
                vec![
                    text(format!("{} ({c})", c.name())),
                    text(if recorded.is_empty() {
                        "none: inside the customer's area, or under an adequacy finding".into()
                    } else {
                        recorded.join("; ")
                    }),
                ]
            })
            .collect(),
        empty: "None.",
    });
    Ok(render(&RegisterPage {
        chrome,
        sub: "vendors",
        intro: None,
        sections: vec![about, contract, certs, reviews, engaged, agreed, reach],
    }))
}

pub async fn agreements(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    let names = names(&state, &staff).await?;
    let list = state.app.agreements().list(&staff.actor, None).await?;
    let chrome = Chrome::new(&state, &staff, "Agreements", "register");
    let mut s = section(
        "agreements",
        format!("Data-sharing agreements ({})", list.len()),
    );
    s.table = Some(Table {
        id: "agreement-table",
        head: AGREEMENT_HEAD.to_vec(),
        rows: list
            .iter()
            .map(|a| agreement_row(&chrome, a, &names))
            .collect(),
        empty: "No agreement yet: nothing may be shared.",
    });
    Ok(render(&RegisterPage {
        chrome,
        sub: "agreements",
        intro: Some("What each vendor may receive, for what, and where it may go.".into()),
        sections: vec![s],
    }))
}

pub async fn shares(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    let names = names(&state, &staff).await?;
    let list = state.app.shares().list(&staff.actor, SHARES_SHOWN).await?;
    let chrome = Chrome::new(&state, &staff, "Shares", "register");
    let mut s = section("shares", "Shares, newest first");
    s.table = Some(Table {
        id: "share-table",
        head: vec!["When", "Vendor", "Purpose", "Fields", "Shared", "Left out"],
        rows: list
            .iter()
            .map(|sh| {
                vec![
                    link(
                        readable(sh.created_at),
                        format!("/console/shares/{}", sh.id),
                    ),
                    text(
                        names
                            .get(&sh.vendor_id)
                            .cloned()
                            .unwrap_or_else(|| sh.vendor_id.to_string()),
                    ),
                    text(chrome.purpose_name(&sh.purpose)),
                    text(sh.fields.join(", ")),
                    text(group(sh.shared)),
                    text(group(sh.excluded.values().sum())),
                ]
            })
            .collect(),
        empty: "Nothing has been shared.",
    });
    Ok(render(&RegisterPage {
        chrome,
        sub: "shares",
        intro: Some(format!(
            "The latest {SHARES_SHOWN} shares at most. Each customer's disclosures are on their record."
        )),
        sections: vec![s],
    }))
}

pub async fn share(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let sh = state.app.shares().get(&staff.actor, parse_id(&id)?).await?;
    let names = names(&state, &staff).await?;
    let chrome = Chrome::new(&state, &staff, "Share", "register");
    let vendor = names
        .get(&sh.vendor_id)
        .cloned()
        .unwrap_or_else(|| sh.vendor_id.to_string());
    let mut about = section("share", "What was shared");
    about.facts = vec![
        ("When", readable(sh.created_at)),
        ("Vendor", vendor),
        ("Agreement", sh.agreement_id.to_string()),
        ("Purpose", chrome.purpose_name(&sh.purpose)),
        ("Fields", sh.fields.join(", ")),
        ("Customers shared", group(sh.shared)),
        ("Delivery", sh.delivery.clone()),
        ("By", sh.created_by.clone()),
    ];
    let mut left = section("excluded", "Customers left out, by reason");
    left.table = Some(Table {
        id: "excluded-table",
        head: vec!["Reason", "Customers"],
        rows: sh
            .excluded
            .iter()
            .map(|(reason, n)| vec![text(reason.replace('_', " ")), text(group(*n))])
            .collect(),
        empty: "Nobody asked for was left out.",
    });
    Ok(render(&RegisterPage {
        chrome,
        sub: "shares",
        intro: None,
        sections: vec![about, left],
    }))
}

pub async fn adequacy(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    let table = state.app.transfers().adequacy(&staff.actor)?;
    let mut s = section("adequacy", "Adequacy findings");
    s.intro = Some(format!(
        "As of {}, from {}. A transfer to a country not listed, or whose finding is not in force, needs a safeguard recorded in the agreement.",
        table.today, table.version
    ));
    s.table = Some(Table {
        id: "adequacy-table",
        head: vec![
            "Law",
            "Country",
            "Decision",
            "Adopted",
            "Applies",
            "Covers",
            "Condition",
            "In force",
        ],
        rows: table
            .decisions
            .iter()
            .map(|e| {
                let d = &e.decision;
                vec![
                    text(d.regime.as_str()),
                    text(format!("{} ({})", d.country.name(), d.country)),
                    text(d.reference.clone()),
                    text(d.adopted.to_string()),
                    text(match d.valid_until {
                        Some(end) => format!("{} to {end}", d.applies_from),
                        None => format!("from {}", d.applies_from),
                    }),
                    text(d.scope.clone()),
                    text(d.condition.as_str().replace('_', " ")),
                    text(if e.in_force { "yes" } else { "no" }),
                ]
            })
            .collect(),
        empty: "No finding: every transfer needs a safeguard.",
    });
    let affected = state
        .app
        .transfers()
        .affected_agreements(&staff.actor)
        .await?;
    let mut lapsing = section(
        "affected-agreements",
        "Agreements resting on a finding that has ended or soon ends",
    );
    lapsing.intro = Some(format!(
        "Shares under these agreements are refused once the finding has ended; record another safeguard (clauses, rules) before then. Findings ending within {} days are listed.",
        steward_app::LAPSE_NOTICE_DAYS
    ));
    lapsing.table = Some(Table {
        id: "affected-agreements-table",
        head: vec!["Vendor", "Country", "Law", "Decision", "Ends", "State"],
        rows: affected
            .iter()
            .map(|a| {
                let l = &a.lapse;
                vec![
                    link(
                        a.vendor.clone(),
                        format!("/console/vendors/{}", a.vendor_id),
                    ),
                    text(format!("{} ({})", l.country.name(), l.country)),
                    text(l.regime.as_str()),
                    text(l.reference.clone()),
                    text(l.valid_until.to_string()),
                    text(if l.ended { "ended" } else { "ending" }),
                ]
            })
            .collect(),
        empty: "None: no agreement in force rests on a finding that has ended or ends soon.",
    });
    Ok(page(
        &state,
        &staff,
        "Transfers",
        "adequacy",
        None,
        vec![lapsing, s],
    ))
}
