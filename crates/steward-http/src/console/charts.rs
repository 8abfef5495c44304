//! Charts drawn on the server as SVG: no script, no external files, and the numbers behind
//! each one are handed to the page as a table too, for screen readers and for copying.
//!
//! The server cannot measure text, so it estimates widths on the generous side (wider than
//! common sans-serif fonts draw them) and lays every label out inside the picture: margins
//! grow to fit the longest label and the largest number, long labels move above their bars
//! and wrap, tick labels thin out until they no longer touch, and legends flow onto new
//! lines. Every chart is drawn at the same scale (one unit, one CSS pixel) and only shrinks
//! on narrow screens, so text is the same size on every chart.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::group;

/// Distinguishable for common colour-vision deficiencies (Okabe–Ito), on white.
pub(super) const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// The width of every chart, in CSS pixels.
const WIDTH: f64 = 480.0;
/// Space kept clear at the edges.
const EDGE: f64 = 8.0;
/// Sizes of label and value text, and of tick labels; the stylesheet draws them so.
const TEXT: f64 = 12.0;
const TICK: f64 = 11.0;
/// Height of the plotting area of column charts.
const PLOT: f64 = 150.0;

pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub(super) fn escape(text: &str) -> String {
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

/// How wide `text` is at `size` pixels, erring wide: per character, the advance of a broad
/// sans-serif (DejaVu Sans, wider than most) with a tenth to spare.
pub fn text_width(text: &str, size: f64) -> f64 {
    let ems: f64 = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.34,
            ' ' | 'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' => 0.45,
            'm' | 'w' | 'M' | 'W' | '%' | '@' | '…' => 1.0,
            c if c.is_ascii_uppercase() => 0.8,
            c if c.is_ascii() => 0.66,
            _ => 1.0,
        })
        .sum();
    ems * size * 1.1
}

/// `text` broken into lines no wider than `max` (a word longer than a line is broken too).
pub(super) fn wrap(text: &str, max: f64, size: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            if !line.is_empty() && text_width(&format!("{line}{c}"), size) > max {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

fn open_svg(id: &str, title: &str, height: f64) -> String {
    let height = height.ceil();
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-title" class="chart"><title id="{id}-title">{}</title>"#,
        escape(title)
    )
}

/// A share of a whole as people read it: never 0 % for some, never 100 % for not all.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 || part == 0 {
        return "0 %".into();
    }
    if part >= whole {
        return "100 %".into();
    }
    let p = part as f64 * 100.0 / whole as f64;
    if p < 0.1 {
        "<0.1 %".into()
    } else if p > 99.9 {
        ">99.9 %".into()
    } else if !(10.0..=90.0).contains(&p) {
        format!("{p:.1} %")
    } else {
        format!("{} %", p.round())
    }
}

/// One horizontal bar: its label, its length as a share of the longest (or of a whole), and
/// the text written beside it.
struct Bar {
    label: String,
    length: f64,
    shown: String,
}

fn draw_bars(id: &'static str, title: &str, bars: &[Bar]) -> String {
    let label_width = bars
        .iter()
        .map(|b| text_width(&b.label, TEXT))
        .fold(0.0, f64::max);
    let value_width = bars
        .iter()
        .map(|b| text_width(&b.shown, TEXT))
        .fold(0.0, f64::max);
    // Short labels sit left of their bars; longer ones above, wrapped to the width.
    let beside = label_width <= WIDTH * 0.4;
    let bar_x = if beside {
        EDGE + label_width + 6.0
    } else {
        EDGE
    };
    let room = (WIDTH - EDGE - value_width - 6.0 - bar_x).max(1.0);
    let mut body = String::new();
    let mut y = EDGE;
    for b in bars {
        if !beside {
            for line in wrap(&b.label, WIDTH - 2.0 * EDGE, TEXT) {
                y += 15.0;
                let _ = write!(
                    body,
                    r#"<text x="{EDGE}" y="{y:.1}" class="label">{}</text>"#,
                    escape(&line)
                );
            }
            y += 4.0;
        }
        let w = (b.length * room).max(if b.length > 0.0 { 1.0 } else { 0.0 });
        if beside {
            let _ = write!(
                body,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text>"#,
                EDGE + label_width,
                y + 13.0,
                escape(&b.label)
            );
        }
        let _ = write!(
            body,
            r#"<rect x="{bar_x:.1}" y="{:.1}" width="{w:.1}" height="16" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
            y + 1.0,
            PALETTE[0],
            escape(&b.label),
            escape(&b.shown),
            bar_x + w + 6.0,
            y + 13.0,
            escape(&b.shown)
        );
        y += 22.0;
    }
    let mut svg = open_svg(id, title, y + EDGE);
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

fn count_table(items: &[(String, u64)]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|(l, n)| vec![l.clone(), group(*n)])
        .collect()
}

/// Horizontal bars of counts, one per label: for categories such as countries or roles.
pub fn bars(id: &'static str, title: &str, items: &[(String, u64)]) -> Chart {
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let bars: Vec<Bar> = items
        .iter()
        .map(|(label, n)| Bar {
            label: label.clone(),
            length: *n as f64 / max as f64,
            shown: group(*n),
        })
        .collect();
    Chart {
        id,
        title: title.to_string(),
        svg: draw_bars(id, title, &bars),
        head: vec!["".into(), "Count".into()],
        rows: count_table(items),
    }
}

/// Horizontal bars of shares of `whole`, each written as a percentage with its count.
pub fn shares(id: &'static str, title: &str, items: &[(String, u64)], whole: u64) -> Chart {
    let bars: Vec<Bar> = items
        .iter()
        .map(|(label, n)| Bar {
            label: label.clone(),
            length: if whole == 0 {
                0.0
            } else {
                (*n as f64 / whole as f64).min(1.0)
            },
            shown: format!("{} ({})", percent(*n, whole), group(*n)),
        })
        .collect();
    Chart {
        id,
        title: title.to_string(),
        svg: draw_bars(id, title, &bars),
        head: vec!["".into(), "Customers".into(), "Share".into()],
        rows: items
            .iter()
            .map(|(l, n)| vec![l.clone(), group(*n), percent(*n, whole)])
            .collect(),
    }
}

/// The frame of a column chart: margins that fit the axis numbers and the tick labels, and
/// which tick labels to write so that none touch.
struct Columns {
    left: f64,
    step: f64,
    every: usize,
}

fn columns_frame(max: u64, labels: &[&str]) -> Columns {
    let axis = text_width(&group(max), TEXT).max(text_width("0", TEXT));
    let tick = labels
        .iter()
        .map(|l| text_width(l, TICK))
        .fold(0.0, f64::max);
    let left = (EDGE + axis + 6.0).max(EDGE + tick / 2.0);
    let right = EDGE.max(EDGE + tick / 2.0);
    let step = (WIDTH - left - right) / labels.len().max(1) as f64;
    let every = ((tick + 8.0) / step).ceil().max(1.0) as usize;
    Columns { left, step, every }
}

/// The axis with its largest and smallest values, and the tick labels under the columns.
fn axis_and_ticks(svg: &mut String, frame: &Columns, max: u64, labels: &[&str]) {
    let top = EDGE + 10.0;
    let bottom = top + PLOT;
    let _ = write!(
        svg,
        r##"<line x1="{:.1}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#555"/><line x1="{:.1}" y1="{top}" x2="{:.1}" y2="{top}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text><text x="{:.1}" y="{bottom}" text-anchor="end" class="label">0</text>"##,
        frame.left - 2.0,
        WIDTH - EDGE,
        frame.left - 2.0,
        WIDTH - EDGE,
        frame.left - 6.0,
        top + 4.0,
        group(max),
        frame.left - 6.0,
    );
    // Counted from the right, so that the latest period is always labelled.
    for (i, label) in labels.iter().enumerate() {
        if (labels.len() - 1 - i).is_multiple_of(frame.every) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
                frame.left + (i as f64 + 0.5) * frame.step,
                bottom + 16.0,
                escape(label)
            );
        }
    }
}

/// Vertical columns over time, oldest on the left. `items` carry the label under the column
/// and the fuller one for the table.
pub fn columns(id: &'static str, title: &str, items: &[(String, String, u64)]) -> Chart {
    let max = items.iter().map(|(_, _, n)| *n).max().unwrap_or(0).max(1);
    let labels: Vec<&str> = items.iter().map(|(l, _, _)| l.as_str()).collect();
    let frame = columns_frame(max, &labels);
    let top = EDGE + 10.0;
    let bottom = top + PLOT;
    let mut svg = open_svg(id, title, bottom + 24.0 + EDGE);
    axis_and_ticks(&mut svg, &frame, max, &labels);
    for (i, (_, full, n)) in items.iter().enumerate() {
        let h = *n as f64 / max as f64 * PLOT;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {}</title></rect>"#,
            frame.left + i as f64 * frame.step + 2.0,
            bottom - h,
            (frame.step - 4.0).max(1.0),
            PALETTE[2],
            escape(full),
            group(*n)
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
            .map(|(_, full, n)| vec![full.clone(), group(*n)])
            .collect(),
    }
}

/// Stacked columns per period, one colour per series, with a legend that flows onto as many
/// lines as it needs. Each period carries its tick label, its fuller label, and counts by
/// series name.
pub fn stacked(
    id: &'static str,
    title: &str,
    periods: &[(String, String, BTreeMap<String, u64>)],
) -> Chart {
    let series: Vec<String> = periods
        .iter()
        .flat_map(|(_, _, s)| s.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let max = periods
        .iter()
        .map(|(_, _, s)| s.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let labels: Vec<&str> = periods.iter().map(|(l, _, _)| l.as_str()).collect();
    let frame = columns_frame(max, &labels);
    let top = EDGE + 10.0;
    let bottom = top + PLOT;
    let mut body = String::new();
    axis_and_ticks(&mut body, &frame, max, &labels);
    for (i, (_, full, counts)) in periods.iter().enumerate() {
        let x = frame.left + i as f64 * frame.step + 1.5;
        let mut y = bottom;
        for (k, name) in series.iter().enumerate() {
            let n = counts.get(name).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = n as f64 / max as f64 * PLOT;
            y -= h;
            let _ = write!(
                body,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{} · {}: {}</title></rect>"#,
                (frame.step - 3.0).max(1.0),
                PALETTE[k % PALETTE.len()],
                escape(full),
                escape(name),
                group(n)
            );
        }
    }
    // The legend, left to right, a new line whenever the next key would not fit.
    let mut x = EDGE;
    let mut y = bottom + 44.0;
    for (k, name) in series.iter().enumerate() {
        let item = 12.0 + 5.0 + text_width(name, TEXT);
        if x > EDGE && x + item > WIDTH - EDGE {
            x = EDGE;
            y += 20.0;
        }
        let _ = write!(
            body,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{y:.1}" class="label legend">{}</text>"#,
            y - 10.0,
            PALETTE[k % PALETTE.len()],
            x + 17.0,
            escape(name)
        );
        x += item + 16.0;
    }
    let height = if series.is_empty() {
        bottom + 24.0 + EDGE
    } else {
        y + 4.0 + EDGE
    };
    let mut svg = open_svg(id, title, height);
    svg.push_str(&body);
    svg.push_str("</svg>");
    let mut head = vec!["".to_string()];
    head.extend(series.iter().cloned());
    let rows = periods
        .iter()
        .map(|(_, full, counts)| {
            let mut row = vec![full.clone()];
            row.extend(
                series
                    .iter()
                    .map(|s| group(counts.get(s).copied().unwrap_or(0))),
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

    /// Every text element of `svg` with where it starts and ends on its line, by the same
    /// estimate the layout uses, and its baseline.
    fn texts(svg: &str) -> Vec<(f64, f64, f64, String)> {
        svg.split("<text ")
            .skip(1)
            .map(|t| {
                let attr = |name: &str| {
                    t.split(&format!("{name}=\""))
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .unwrap_or("")
                        .to_string()
                };
                let x: f64 = attr("x").parse().expect("x");
                let y: f64 = attr("y").parse().expect("y");
                let size = if attr("class") == "tick" { TICK } else { TEXT };
                let content = t
                    .split('>')
                    .nth(1)
                    .and_then(|r| r.split('<').next())
                    .unwrap_or("")
                    .replace("&lt;", "<")
                    .replace("&amp;", "&");
                let w = text_width(&content, size);
                let (from, to) = match attr("text-anchor").as_str() {
                    "end" => (x - w, x),
                    "middle" => (x - w / 2.0, x + w / 2.0),
                    _ => (x, x + w),
                };
                (from, to, y, content)
            })
            .collect()
    }

    fn height(svg: &str) -> f64 {
        svg.split("height=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|h| h.parse().ok())
            .expect("height")
    }

    fn inside(svg: &str) {
        let h = height(svg);
        for (from, to, y, text) in texts(svg) {
            assert!(
                from >= 0.0 && to <= WIDTH && y - TEXT >= 0.0 && y + 4.0 <= h,
                "{text:?} at {from:.1}..{to:.1}, {y} is outside 0..{WIDTH} x 0..{h}"
            );
        }
    }

    #[test]
    fn large_numbers_and_long_labels_stay_inside() {
        let weeks: Vec<(String, String, u64)> = (1..=12)
            .map(|w| (format!("{w} Dec"), format!("{w} Dec 2026"), 52_997 * w))
            .collect();
        inside(&columns("c", "Weekly", &weeks).svg);
        inside(
            &bars(
                "b",
                "Consent",
                &[
                    ("Marketing emails".into(), 52_997),
                    ("Ads from our partners".into(), 3),
                ],
            )
            .svg,
        );
        let long = "Personalised recommendations from what you bought before, across every shop";
        let chart = bars("l", "Long", &[(long.into(), 1), ("DE".into(), 2)]);
        inside(&chart.svg);
        assert!(
            texts(&chart.svg).len() > 3,
            "the long label wraps onto lines of its own"
        );
    }

    #[test]
    fn legend_keys_never_overlap() {
        let mut day = BTreeMap::new();
        for name in [
            "Providing the service",
            "Customer support",
            "Legal obligations",
            "Marketing emails",
            "Marketing text messages",
            "Personalised recommendations",
        ] {
            day.insert(name.to_string(), 12_345);
        }
        let days: Vec<_> = (1..=14)
            .map(|d| (format!("{d} Mar"), format!("{d} Mar 2026"), day.clone()))
            .collect();
        let chart = stacked("s", "Accesses", &days);
        inside(&chart.svg);
        let legend: Vec<_> = texts(&chart.svg)
            .into_iter()
            .filter(|(_, _, y, _)| *y > EDGE + 10.0 + PLOT + 20.0)
            .collect();
        assert_eq!(legend.len(), 6);
        for (i, a) in legend.iter().enumerate() {
            for b in &legend[i + 1..] {
                let same_line = (a.2 - b.2).abs() < 1.0;
                assert!(
                    !same_line || a.1 + 12.0 <= b.0 || b.1 + 12.0 <= a.0,
                    "{:?} and {:?} overlap",
                    a.3,
                    b.3
                );
            }
        }
        let ticks: Vec<_> = texts(&chart.svg)
            .into_iter()
            .filter(|(_, _, y, _)| (*y - (EDGE + 10.0 + PLOT + 16.0)).abs() < 0.5)
            .collect();
        assert!(
            ticks.windows(2).all(|w| w[0].1 < w[1].0),
            "tick labels do not touch"
        );
    }

    #[test]
    fn a_share_is_never_written_as_nothing_or_everything_when_it_is_not() {
        assert_eq!(percent(5, 52_997), "<0.1 %");
        assert_eq!(percent(53, 52_997), "0.1 %");
        assert_eq!(percent(400, 52_997), "0.8 %");
        assert_eq!(percent(1, 2), "50 %");
        assert_eq!(percent(52_990, 52_997), ">99.9 %");
        assert_eq!(percent(0, 10), "0 %");
        assert_eq!(percent(3, 3), "100 %");
        assert_eq!(percent(1, 0), "0 %");
        let chart = shares("p", "Consent", &[("Marketing emails".into(), 5)], 52_997);
        assert!(chart.svg.contains("&lt;0.1 % (5)"), "{}", chart.svg);
    }

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
    }

    #[test]
    fn stacked_periods_sum_their_series() {
        let mut day = BTreeMap::new();
        day.insert("Providing the service".to_string(), 2);
        day.insert("Legal obligations".to_string(), 1);
        let chart = stacked(
            "s",
            "Accesses",
            &[("1 Mar".into(), "1 Mar 2026".into(), day)],
        );
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
