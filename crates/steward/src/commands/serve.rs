//! `steward serve`: the listener bound, and answering that the instance is starting, before
//! anything is loaded; the demo data and its one-time password, the background jobs, and a
//! clean stop on a signal.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{explain, open};
use crate::settings::Settings;

const DEMO_AGENT: &str = "demo-agent@example.com";

pub(super) async fn serve(settings: &Settings, demo: bool) -> anyhow::Result<ExitCode> {
    // A broken certificate should stop start-up before anything else is opened.
    let mut options = http_options(settings)?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // Bound before anything is loaded or created: on a busy port nothing happens, and the
    // demo account's password, shown only once, is never printed by a server that then fails.
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    // Until the real server takes the socket, it says the instance is alive and not ready,
    // however long the migrations wait for another instance's.
    let starting = steward_http::serve_starting(listener, options.tls.clone())?;
    println!("Steward is starting on {scheme}://{addr} (/healthz and /readyz answer meanwhile)");
    std::io::stdout().flush()?;
    let facts = super::security_audit::installation_facts(settings)?;
    let (app, operator) = open(settings).await?;
    let app = Arc::new(app);
    if demo {
        let n = app.load_demo().await.map_err(explain)?;
        if n > 0 {
            tracing::info!(customers = n, "demo data loaded");
            // A first account to try the console with; its password exists only on this screen.
            let password = steward_app::generate_password();
            app.accounts()
                .add_user(
                    &operator.actor("demo", &[]),
                    steward_app::NewUser {
                        email: DEMO_AGENT.into(),
                        role: steward_app::core::Role::Agent,
                        password: password.clone(),
                        purposes: Vec::new(),
                    },
                )
                .await
                .map_err(explain)?;
            println!("Demo console account: {DEMO_AGENT} / {password} (shown once)");
        } else {
            tracing::info!("database already holds customers; demo data not loaded");
        }
    }
    let shutdown = shutdown_signal()?;
    let metrics = match settings.metrics_listen {
        Some(at) => {
            let metrics = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("listening for metrics on {at}"))?;
            println!(
                "Metrics are served on http://{}/metrics",
                metrics.local_addr()?
            );
            Some(metrics)
        }
        None => None,
    };
    // Said only once the starting server has let go: whoever waits for this line may send
    // requests at once, and they queue for the real server rather than meet a 503.
    let listener = starting.finish().await?;
    println!(
        "Steward is listening on {scheme}://{addr} (staff console at {scheme}://{addr}/console)"
    );
    std::io::stdout().flush()?;
    // Which instance holds a job's lease, when several serve one database.
    tracing::info!(instance = app.instance(), "background jobs start");
    // Background jobs stop when the server does.
    let (stop_jobs, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let jobs = [
        tokio::spawn(app.jobs().security_audit(
            facts.clone(),
            steward_app::SELF_AUDIT_EVERY,
            until_stopped(),
        )),
        tokio::spawn(app.jobs().mail_sender(until_stopped())),
        tokio::spawn(app.jobs().campaign_scheduler(until_stopped())),
        tokio::spawn(app.jobs().webhook_sender(until_stopped())),
        tokio::spawn(app.jobs().consent_expiry(until_stopped())),
        tokio::spawn(app.jobs().personalization_recompute(until_stopped())),
        tokio::spawn(app.jobs().signup_sweeper(until_stopped())),
        tokio::spawn(app.jobs().audit_indexer(until_stopped())),
        tokio::spawn(app.jobs().audit_witness(until_stopped())),
        tokio::spawn(app.jobs().breach_clock(until_stopped())),
        tokio::spawn(app.jobs().key_rewrapper(until_stopped())),
        tokio::spawn({
            let app = app.clone();
            let every = settings.retention_interval_minutes;
            let stopped = until_stopped();
            async move {
                if every > 0 {
                    app.jobs()
                        .retention_sweeper(std::time::Duration::from_secs(every * 60), stopped)
                        .await;
                }
            }
        }),
    ];
    options.facts = facts;
    let metrics = metrics.map(|listener| steward_http::MetricsListener {
        listener,
        reader: operator.actor("metrics", &[]),
    });
    steward_http::serve_with_metrics(listener, metrics, app.clone(), options, shutdown).await?;
    let _ = stop_jobs.send(true);
    for job in jobs {
        let _ = job.await;
    }
    app.audit().witness(true).await.map_err(explain)?;
    tracing::info!("stopped; audit head witnessed");
    Ok(ExitCode::SUCCESS)
}

fn http_options(settings: &Settings) -> anyhow::Result<steward_http::HttpOptions> {
    let limits = if settings.rate_limit {
        steward_http::Limits::default()
    } else {
        steward_http::Limits::unlimited()
    };
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => Some(steward_http::load_tls_config(cert, key)?),
        _ => None,
    };
    Ok(steward_http::HttpOptions {
        limits,
        tls,
        ..Default::default()
    })
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed here, before the caller says
/// it is listening, so a signal sent the moment it does is not lost to the default action.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut term, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}
