//! The data map: the record of processing drawn as four columns — data categories, the
//! purposes that need them, the vendors that receive them, the countries those vendors keep or
//! read the data in — with the flows between them. Drawn on the server as SVG from the same
//! [`Ropa`] the record is written from, so the picture says nothing the record does not; the
//! page beside it lists the same flows as tables.
//!
//! Edges come from the catalog (a category feeds each purpose one of its fields is needed
//! for), the agreements in force (a purpose to each vendor whose agreement covers it) and the
//! register (a vendor to each country it reaches, coloured and labelled by the mechanism the
//! transfer rests on).

use std::collections::BTreeMap;
use std::fmt::Write;

use steward_app::Ropa;

use super::charts::{PALETTE, escape, text_width, wrap};

const COLUMN: f64 = 180.0;
const GAP: f64 = 100.0;
/// The height a flow into a country takes at its end, with its mechanism written above it.
const SLOT: f64 = 14.0;
const EDGE: f64 = 8.0;
const HEAD: f64 = 28.0;
const TEXT: f64 = 12.0;
const LINE: f64 = 15.0;
const SPACING: f64 = 10.0;

/// One box of the map.
pub struct Node {
    /// `category`, `purpose`, `vendor` or `country`.
    pub column: &'static str,
    pub key: String,
    pub label: String,
}

/// One flow of the map, between nodes of neighbouring columns.
pub struct Flow {
    pub from: String,
    pub to: String,
    /// For a flow to a country: the mechanism's kind.
    pub mechanism: Option<String>,
}

pub struct DataMap {
    pub svg: String,
    pub nodes: Vec<Node>,
    pub flows: Vec<Flow>,
}

const COLUMNS: [(&str, &str); 4] = [
    ("category", "Data categories"),
    ("purpose", "Purposes"),
    ("vendor", "Vendors"),
    ("country", "Countries"),
];

fn mechanism_colour(kind: &str) -> &'static str {
    match kind {
        "eea" => PALETTE[2],
        "adequacy" => PALETTE[0],
        "none" => PALETTE[1],
        _ => PALETTE[3],
    }
}

/// Each category by its name, and by its own last part where several share a name.
fn category_labels(ropa: &Ropa) -> Vec<(String, String)> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &ropa.categories {
        *names.entry(c.name.as_str()).or_default() += 1;
    }
    ropa.categories
        .iter()
        .map(|c| {
            let label = if names.get(c.name.as_str()).copied().unwrap_or(0) > 1 {
                let last = c.key.rsplit('.').next().unwrap_or(&c.key);
                format!("{} ({})", c.name, last.replace('_', " "))
            } else {
                c.name.clone()
            };
            (format!("category:{}", c.key), label)
        })
        .collect()
}

pub fn draw(ropa: &Ropa) -> DataMap {
    let mut nodes: Vec<Node> = Vec::new();
    for (key, label) in category_labels(ropa) {
        nodes.push(Node {
            column: "category",
            key,
            label,
        });
    }
    for p in &ropa.purposes {
        nodes.push(Node {
            column: "purpose",
            key: format!("purpose:{}", p.key),
            label: p.name.clone(),
        });
    }
    for r in &ropa.recipients {
        nodes.push(Node {
            column: "vendor",
            key: format!("vendor:{}", r.vendor_id),
            label: r.legal_name.clone(),
        });
    }
    let mut countries: BTreeMap<&str, &str> = BTreeMap::new();
    for d in &ropa.destinations {
        countries.insert(d.country.as_str(), &d.country_name);
    }
    for (code, name) in countries {
        nodes.push(Node {
            column: "country",
            key: format!("country:{code}"),
            label: format!("{name} ({code})"),
        });
    }
    let mut flows = Vec::new();
    for c in &ropa.categories {
        for p in &c.purposes {
            flows.push(Flow {
                from: format!("category:{}", c.key),
                to: format!("purpose:{p}"),
                mechanism: None,
            });
        }
    }
    for r in &ropa.recipients {
        for p in &r.purposes {
            flows.push(Flow {
                from: format!("purpose:{p}"),
                to: format!("vendor:{}", r.vendor_id),
                mechanism: None,
            });
        }
    }
    for d in &ropa.destinations {
        flows.push(Flow {
            from: format!("vendor:{}", d.vendor_id),
            to: format!("country:{}", d.country.as_str()),
            mechanism: Some(d.mechanism_kind.clone()),
        });
    }
    let svg = svg(&nodes, &flows);
    DataMap { svg, nodes, flows }
}

/// Where a node was laid out: its box and its wrapped label.
struct Placed {
    x: f64,
    y: f64,
    height: f64,
    lines: Vec<String>,
}

fn svg(nodes: &[Node], flows: &[Flow]) -> String {
    let inner = COLUMN - 12.0;
    let mut placed: BTreeMap<&str, Placed> = BTreeMap::new();
    let mut bottom: f64 = HEAD;
    // Each flow into a country ends in a slot of its own, so the mechanisms written on them
    // never overlap: a country is as tall as its flows need.
    let mut incoming: BTreeMap<&str, usize> = BTreeMap::new();
    for f in flows.iter().filter(|f| f.mechanism.is_some()) {
        *incoming.entry(f.to.as_str()).or_default() += 1;
    }
    for (i, (column, _)) in COLUMNS.iter().enumerate() {
        let x = EDGE + i as f64 * (COLUMN + GAP);
        let mut y = HEAD + EDGE;
        for n in nodes.iter().filter(|n| n.column == *column) {
            let lines = wrap(&n.label, inner, TEXT);
            let slots = incoming.get(n.key.as_str()).copied().unwrap_or(0) as f64;
            let height = (10.0 + LINE * lines.len() as f64).max(6.0 + SLOT * slots);
            placed.insert(
                n.key.as_str(),
                Placed {
                    x,
                    y,
                    height,
                    lines,
                },
            );
            y += height + SPACING;
        }
        bottom = bottom.max(y);
    }
    let width = 2.0 * EDGE + 4.0 * COLUMN + 3.0 * GAP;
    let height = (bottom + EDGE).ceil();
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="datamap-title datamap-desc" class="datamap" id="datamap-svg" font-size="{TEXT}"><title id="datamap-title">Data map</title><desc id="datamap-desc">Data categories, the purposes that need them, the vendors whose agreements in force cover those purposes, and the countries where the vendors keep or read the data, each flow to a country labelled with the mechanism the transfer rests on. The tables below list the same flows.</desc>"#
    );
    for (i, (_, title)) in COLUMNS.iter().enumerate() {
        let x = EDGE + i as f64 * (COLUMN + GAP);
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="18" font-weight="600" class="head">{}</text>"#,
            escape(title)
        );
    }
    let mut filled: BTreeMap<&str, usize> = BTreeMap::new();
    for f in flows {
        let (Some(a), Some(b)) = (placed.get(f.from.as_str()), placed.get(f.to.as_str())) else {
            continue;
        };
        let (x1, y1) = (a.x + COLUMN, a.y + a.height / 2.0);
        let x2 = b.x;
        let y2 = match incoming.get(f.to.as_str()) {
            Some(&slots) if f.mechanism.is_some() => {
                let slot = filled.entry(f.to.as_str()).or_default();
                let centre = b.y + b.height * (*slot as f64 + 0.5) / slots as f64;
                *slot += 1;
                centre
            }
            _ => b.y + b.height / 2.0,
        };
        let mid = (x1 + x2) / 2.0;
        let colour = f.mechanism.as_deref().map_or("#888888", mechanism_colour);
        let what = match &f.mechanism {
            Some(m) => format!("{} to {}: {}", a.lines.join(" "), b.lines.join(" "), m),
            None => format!("{} to {}", a.lines.join(" "), b.lines.join(" ")),
        };
        let _ = write!(
            out,
            r#"<path d="M{x1:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x2:.1},{y2:.1}" fill="none" stroke="{colour}" stroke-width="1.5" class="flow"><title>{}</title></path>"#,
            escape(&what)
        );
        if let Some(m) = &f.mechanism {
            // Written just above the flow's level end, in its own slot.
            let lx = x2 - 4.0 - text_width(m, 10.0);
            let ly = y2 - 2.5;
            let _ = write!(
                out,
                r#"<text x="{lx:.1}" y="{ly:.1}" font-size="10" fill="{colour}" class="mechanism">{}</text>"#,
                escape(m)
            );
        }
    }
    for n in nodes {
        let Some(p) = placed.get(n.key.as_str()) else {
            continue;
        };
        let _ = write!(
            out,
            r##"<g class="node" data-column="{}" data-key="{}"><rect x="{:.1}" y="{:.1}" width="{COLUMN}" height="{:.1}" rx="4" fill="#ffffff" stroke="#555555"/>"##,
            n.column,
            escape(&n.key),
            p.x,
            p.y,
            p.height
        );
        for (i, line) in p.lines.iter().enumerate() {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" class="label">{}</text>"#,
                p.x + 6.0,
                p.y + 5.0 + LINE * (i as f64 + 1.0) - 3.0,
                escape(line)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}
