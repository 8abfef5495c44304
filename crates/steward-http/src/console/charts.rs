//! Charts drawn on the server as SVG: no script, no external files, and the numbers behind
//! each one are handed to the page as a table too, for screen readers and for copying.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Distinguishable for common colour-vision deficiencies (Okabe–Ito), on white.
const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn open_svg(id: &str, title: &str, width: u32, height: u32) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title" class="chart"><title id="{id}-title">{}</title>"#,
        escape(title)
    )
}

/// Horizontal bars, one per label: for categories such as countries or roles.
pub fn bars(id: &'static str, title: &str, items: &[(String, u64)]) -> Chart {
    let row_height = 22;
    let height = (items.len().max(1) as u32) * row_height + 10;
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let mut svg = open_svg(id, title, 400, height);
    for (i, (label, n)) in items.iter().enumerate() {
        let y = 5 + i as u32 * row_height;
        let w = (*n as f64 / max as f64 * 250.0).round().max(1.0);
        let _ = write!(
            svg,
            r#"<text x="90" y="{}" text-anchor="end" class="label">{}</text><rect x="95" y="{}" width="{w}" height="16" fill="{}"/><text x="{}" y="{}" class="value">{n}</text>"#,
            y + 13,
            escape(label),
            y + 2,
            PALETTE[0],
            100.0 + w,
            y + 13
        );
    }
    svg.push_str("</svg>");
    Chart {
        id,
        title: title.to_string(),
        svg,
        head: vec!["".into(), "Count".into()],
        rows: items
            .iter()
            .map(|(l, n)| vec![l.clone(), n.to_string()])
            .collect(),
    }
}

/// Vertical columns over time, oldest on the left.
pub fn columns(id: &'static str, title: &str, items: &[(String, u64)]) -> Chart {
    let width = 400.0;
    let plot = 160.0;
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let step = (width - 40.0) / items.len().max(1) as f64;
    let mut svg = open_svg(id, title, 400, 200);
    let _ = write!(
        svg,
        r##"<line x1="30" y1="{plot}" x2="{width}" y2="{plot}" stroke="#555"/><text x="26" y="14" text-anchor="end" class="label">{max}</text><text x="26" y="{plot}" text-anchor="end" class="label">0</text>"##
    );
    for (i, (label, n)) in items.iter().enumerate() {
        let h = *n as f64 / max as f64 * (plot - 10.0);
        let x = 34.0 + i as f64 * step;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {n}</title></rect>"#,
            plot - h,
            (step - 4.0).max(1.0),
            PALETTE[2],
            escape(label)
        );
        if i % 2 == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                x + step / 2.0,
                plot + 16.0,
                escape(label.get(5..).unwrap_or(label))
            );
        }
    }
    svg.push_str("</svg>");
    Chart {
        id,
        title: title.to_string(),
        svg,
        head: vec!["".into(), "Count".into()],
        rows: items
            .iter()
            .map(|(l, n)| vec![l.clone(), n.to_string()])
            .collect(),
    }
}

/// Stacked columns per day, one colour per series, with a legend.
pub fn stacked(id: &'static str, title: &str, days: &[(String, BTreeMap<String, u64>)]) -> Chart {
    let series: Vec<String> = days
        .iter()
        .flat_map(|(_, s)| s.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let width = 400.0;
    let plot = 150.0;
    let max = days
        .iter()
        .map(|(_, s)| s.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = (width - 40.0) / days.len().max(1) as f64;
    let legend_rows = series.len().div_ceil(2) as u32;
    let mut svg = open_svg(id, title, 400, 180 + legend_rows * 18);
    let _ = write!(
        svg,
        r##"<line x1="30" y1="{plot}" x2="{width}" y2="{plot}" stroke="#555"/><text x="26" y="14" text-anchor="end" class="label">{max}</text><text x="26" y="{plot}" text-anchor="end" class="label">0</text>"##
    );
    for (i, (day, counts)) in days.iter().enumerate() {
        let x = 34.0 + i as f64 * step;
        let mut top = plot;
        for (k, name) in series.iter().enumerate() {
            let n = counts.get(name).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = n as f64 / max as f64 * (plot - 10.0);
            top -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{} {}: {n}</title></rect>"#,
                (step - 3.0).max(1.0),
                PALETTE[k % PALETTE.len()],
                escape(day),
                escape(name)
            );
        }
        if i % 3 == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                x + step / 2.0,
                plot + 16.0,
                escape(day.get(5..).unwrap_or(day))
            );
        }
    }
    for (k, name) in series.iter().enumerate() {
        let x = 10 + (k % 2) as u32 * 195;
        let y = 178 + (k / 2) as u32 * 18;
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{y}" class="label">{}</text>"#,
            y - 10,
            PALETTE[k % PALETTE.len()],
            x + 16,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    let mut head = vec!["Day".to_string()];
    head.extend(series.iter().cloned());
    let rows = days
        .iter()
        .map(|(day, counts)| {
            let mut row = vec![day.clone()];
            row.extend(
                series
                    .iter()
                    .map(|s| counts.get(s).copied().unwrap_or(0).to_string()),
            );
            row
        })
        .collect();
    Chart {
        id,
        title: title.to_string(),
        svg,
        head,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_numbers_tabled() {
        let chart = bars("c", "By <country>", &[("<b>".into(), 3), ("DE".into(), 1)]);
        assert!(chart.svg.contains("&lt;b&gt;"));
        assert!(!chart.svg.contains("<b>"));
        assert_eq!(
            chart.rows,
            vec![
                vec!["<b>".to_string(), "3".into()],
                vec!["DE".into(), "1".into()]
            ]
        );
        // The longest bar belongs to the largest count.
        assert!(chart.svg.contains(r#"width="250""#));
    }

    #[test]
    fn stacked_days_sum_their_series() {
        let mut day = BTreeMap::new();
        day.insert("essential.service".to_string(), 2);
        day.insert("essential.legal_obligation".to_string(), 1);
        let chart = stacked("s", "Accesses", &[("2026-03-01".into(), day)]);
        assert_eq!(chart.head.len(), 3);
        assert_eq!(
            chart.rows[0][1..]
                .iter()
                .map(|n| n.parse::<u64>().unwrap_or(0))
                .sum::<u64>(),
            3
        );
        assert_eq!(
            chart.svg.matches("<rect").count(),
            2 + 2,
            "two segments, two legend keys"
        );
    }
}
