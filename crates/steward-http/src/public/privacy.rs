//! The public privacy notice: `/privacy` shows the version in force, `/privacy/{version}` any
//! published one. No sign-in, no script, no personal data.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pulldown_cmark::{Event, Parser, html};
use steward_app::AppError;
use steward_app::NoticeView;
use steward_app::core::personalization::rules::PLACEHOLDERS;

use super::personalization_words::{
    LevelRow, duration_words, kinds_words, level_rows, source_words,
};
use crate::web::{PUBLIC_CSP, render};
use crate::{AppState, Problem};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/privacy", get(current))
        .route("/privacy/{version}", get(version))
}

struct Purpose {
    name: String,
    summary: steward_app::SummaryView,
}

#[derive(Template)]
#[template(path = "public/privacy.html")]
struct NoticePage {
    /// `None` until a notice is published (or for a version never published): the page
    /// says so, in the same dress.
    notice: Option<NoticeView>,
    /// A particular version was asked for.
    versioned: bool,
    /// When the notice came into force, in words.
    in_force_from: String,
    purposes: Vec<Purpose>,
    body_html: String,
    /// The retention rules in force: what is kept how long, as the sweeper carries it out.
    kept: Vec<steward_app::RuleView>,
    /// How personalization works, generated from the catalog: it says what the code does.
    how: How,
}

/// The notice's `#personalization` section in a reader's words.
struct How {
    levels: Vec<LevelRow>,
    rules: Vec<RuleRow>,
    readability: String,
    hard_to_read: bool,
}

struct RuleRow {
    key: String,
    label: String,
    source: &'static str,
    from_level: &'static str,
    reads: String,
    window: String,
    expires: String,
    explanation: String,
}

/// A rule's explanation as a pattern: each placeholder, filled in for a customer, is a gap.
fn unfilled(template: &str) -> String {
    PLACEHOLDERS.iter().fold(template.to_string(), |t, p| {
        t.replace(&format!("{{{p}}}"), "…")
    })
}

fn how(state: &AppState) -> How {
    let how = state.app.personalization().how_it_works();
    How {
        levels: level_rows(&how.levels, None),
        rules: how
            .rules
            .into_iter()
            .map(|r| RuleRow {
                source: source_words(r.source),
                from_level: r.min_level.describe().name,
                reads: kinds_words(r.reads.iter().map(String::as_str)),
                window: duration_words(&r.window),
                expires: duration_words(&r.expires),
                key: r.key,
                label: r.label,
                explanation: unfilled(&r.explanation),
            })
            .collect(),
        readability: format!("{:.0}", how.readability),
        hard_to_read: how.hard_to_read,
    }
}

/// Markdown to HTML; raw HTML in the source is shown as text, never passed through.
fn markdown(source: &str) -> String {
    let events = Parser::new(source).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

fn page(
    state: &AppState,
    versioned: bool,
    notice: Option<NoticeView>,
    kept: Vec<steward_app::RuleView>,
) -> Response {
    let purposes = notice
        .iter()
        .flat_map(|n| &n.summaries)
        .map(|(key, summary)| Purpose {
            name: state
                .app
                .catalog()
                .purpose(key)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| key.clone()),
            summary: summary.clone(),
        })
        .collect();
    let status = if notice.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let mut response = render(&NoticePage {
        in_force_from: notice
            .as_ref()
            .map(|n| super::dates::day(n.effective_at))
            .unwrap_or_default(),
        body_html: notice
            .as_ref()
            .map(|n| markdown(&n.body))
            .unwrap_or_default(),
        notice,
        versioned,
        purposes,
        kept,
        how: how(state),
    });
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PUBLIC_CSP),
    );
    response
}

async fn current(State(state): State<AppState>) -> Response {
    let read = async {
        Ok::<_, AppError>((
            state.app.notices().current().await?,
            state.app.retention().published().await?,
        ))
    };
    match read.await {
        Ok((notice, kept)) => page(&state, false, notice, kept),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn version(State(state): State<AppState>, Path(version): Path<String>) -> Response {
    let read = async {
        Ok::<_, AppError>((
            state.app.notices().published(&version).await?,
            state.app.retention().published().await?,
        ))
    };
    match read.await {
        Ok((notice, kept)) => page(&state, true, notice, kept),
        Err(e) => Problem::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn raw_html_in_a_notice_is_shown_as_text() {
        let html =
            super::markdown("# Title\n\n<script>alert(1)</script>\n\nSome **bold** <b>tag</b>.");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(
            !html.contains("<b>") && html.contains("&lt;b&gt;"),
            "inline HTML too"
        );
    }

    #[test]
    fn a_rule_explanation_shows_its_placeholders_as_gaps() {
        assert_eq!(
            super::unfilled("{count} of your {total} orders were {value}; {odd} stays."),
            "… of your … orders were …; {odd} stays."
        );
    }
}
