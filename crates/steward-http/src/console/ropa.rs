//! The record of processing (Art. 30) as the privacy officer and the auditor read it in the
//! console: the controller, purposes, categories, recipients, third countries with their
//! mechanism, retention periods and security measures, with the data map drawn from the same
//! record and downloads as Markdown, CSV or JSON.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::RopaFormat;

use super::datamap::{self, DataMap};
use super::register::{Section, Table, link, section, text};
use super::{Chrome, ConsoleError, Staff};
use crate::AppState;
use crate::web::{attachment, render};

#[derive(Template)]
#[template(path = "console/ropa.html")]
struct RopaPage {
    chrome: Chrome,
    sub: &'static str,
    map: DataMap,
    sections: Vec<Section>,
}

pub async fn ropa(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    let record = state.app.records().ropa(&staff.actor).await?;
    let chrome = Chrome::new(&state, &staff, "Records of processing", "ropa");
    let map = datamap::draw(&record);
    let c = &record.controller;
    let mut controller = section("controller", "Controller");
    controller.facts = vec![
        ("Name", c.name.clone()),
        ("Contact", c.email.clone()),
        ("Address", c.address.clone()),
        ("Established in", c.jurisdiction.clone()),
        ("Data subjects", record.data_subjects.join("; ")),
    ];
    let node_label = |key: &str| {
        map.nodes
            .iter()
            .find(|n| n.key == key)
            .map_or_else(|| key.to_string(), |n| n.label.clone())
    };
    let flow_table = |id: &'static str, head: Vec<&'static str>, from: &str, to: &str| Table {
        id,
        head,
        rows: map
            .flows
            .iter()
            .filter(|f| f.from.starts_with(from) && f.to.starts_with(to))
            .map(|f| {
                let mut row = vec![text(node_label(&f.from)), text(node_label(&f.to))];
                if let Some(m) = &f.mechanism {
                    row.push(text(m.clone()));
                }
                row
            })
            .collect(),
        empty: "None.",
    };
    let mut feeds = section("flows-categories", "Data categories to purposes");
    feeds.table = Some(flow_table(
        "flow-category-purpose",
        vec!["Data category", "Purpose"],
        "category:",
        "purpose:",
    ));
    let mut receives = section("flows-vendors", "Purposes to vendors");
    receives.table = Some(flow_table(
        "flow-purpose-vendor",
        vec!["Purpose", "Vendor"],
        "purpose:",
        "vendor:",
    ));
    let mut goes = section("flows-countries", "Vendors to countries");
    goes.table = Some(flow_table(
        "flow-vendor-country",
        vec!["Vendor", "Country", "Mechanism"],
        "vendor:",
        "country:",
    ));
    let mut third = section("transfers", "Transfers to third countries");
    third.table = Some(Table {
        id: "ropa-transfers",
        head: vec!["Vendor", "Country", "Mechanism"],
        rows: record
            .destinations
            .iter()
            .filter(|d| d.third_country)
            .map(|d| {
                vec![
                    link(
                        d.vendor.clone(),
                        format!("/console/vendors/{}", d.vendor_id),
                    ),
                    text(format!("{} ({})", d.country_name, d.country)),
                    text(d.mechanism.clone()),
                ]
            })
            .collect(),
        empty: "No recipient keeps or reads data outside the EEA.",
    });
    let mut kept = section("retention", "Retention periods");
    kept.table = Some(Table {
        id: "ropa-retention",
        head: vec!["Rule", "What", "Kept", "Then"],
        rows: record
            .retention
            .iter()
            .map(|r| {
                vec![
                    text(r.key.clone()),
                    text(r.description.clone()),
                    text(r.period.clone()),
                    text(r.action.clone()),
                ]
            })
            .collect(),
        empty: "No rule in force.",
    });
    let mut measures = section("security", "Security measures Steward enforces");
    measures.facts = record
        .security_measures
        .iter()
        .map(|m| (m.name, m.description.to_string()))
        .collect();
    Ok(render(&RopaPage {
        chrome,
        sub: "ropa",
        map,
        sections: vec![controller, feeds, receives, goes, third, kept, measures],
    }))
}

/// The record as a file: `md`, `csv` or `json`.
pub async fn ropa_download(
    State(state): State<AppState>,
    staff: Staff,
    Path(format): Path<String>,
) -> Result<Response, ConsoleError> {
    let format: RopaFormat = format.parse().map_err(|_| ConsoleError::NoSuchPage)?;
    let record = state.app.records().ropa(&staff.actor).await?;
    let extension = match format {
        RopaFormat::Markdown => "md",
        RopaFormat::Csv => "csv",
        RopaFormat::Json => "json",
    };
    Ok(attachment(
        format.content_type(),
        &format!("record-of-processing.{extension}"),
        record.render(format)?,
    ))
}
