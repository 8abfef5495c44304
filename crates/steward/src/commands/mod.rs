//! What each subcommand does: wire settings into the app and call its use cases.

mod breaches;
mod customers;
mod import;
mod keys;
mod personalization;
mod retention;
mod security_audit;
mod serve;
mod share;
mod vendors;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use steward_app::core::{Catalog, Role, SystemClock};
use steward_app::{AppError, ExportFormat, NewToken, NewUser, OpenOptions, Operator, Steward};

use import::import;
use retention::retention_run;
use serve::serve;

use crate::cli::{
    AgreementsCommand, AuditCommand, BreachCommand, Cli, Command, ConsentCommand, CustomersCommand,
    ExportCommand, ImportCommand, KeysCommand, PersonalizationCommand, RetentionCommand,
    TokenCommand, UserCommand, VendorsCommand,
};
use crate::settings::{self, Overrides, Settings};

fn load_catalog(settings: &Settings) -> anyhow::Result<Catalog> {
    let mut texts = Vec::new();
    for path in &settings.catalog {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading catalog {}", path.display()))?;
        texts.push((path.display().to_string(), text));
    }
    let mut sources = vec![(
        "built-in catalog",
        steward_app::core::catalog::DEFAULT_CATALOG,
    )];
    sources.extend(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())));
    Catalog::from_sources(&sources).map_err(|e| anyhow::anyhow!("invalid catalog: {e}"))
}

/// Opens the data directory as its operator: everything the command line does, it does as
/// Steward itself at the machine.
async fn open(settings: &Settings) -> anyhow::Result<(Steward, Operator)> {
    let catalog = load_catalog(settings)?;
    Steward::open_as_operator(OpenOptions {
        data_dir: settings.data_dir.clone(),
        database_url: settings.database_url.clone(),
        keystore_url: settings.keystore_url.clone(),
        master_key_file: settings.master_key_file.clone(),
        kek_token: settings.kek_token()?,
        catalog,
        clock: Arc::new(SystemClock),
        controller: steward_app::Controller {
            name: settings.controller_name.clone(),
            email: settings.controller_email.clone(),
            address: settings.controller_address.clone(),
            jurisdiction: settings.jurisdiction.clone(),
        },
        readable_at_least: settings.readability_threshold,
        staff_shown_as: settings.portal_staff_shown_as,
        sharing: steward_app::core::sharing::SharingRules {
            notify_recipients_within:
                steward_app::core::sharing::SharingRules::parse_notice_window(
                    &settings.recipient_notice_within,
                )
                .map_err(|e| anyhow::anyhow!("invalid setting: {}: {}", e.field, e.message))?,
            ..steward_app::core::sharing::SharingRules::shipped()
                .map_err(|e| anyhow::anyhow!("invalid transfer rules: {e}"))?
        },
        security: steward_app::SecuritySettings {
            breach_plan: settings.breach_plan()?,
        },
        webhooks: steward_app::WebhookSettings {
            extra_roots: settings.webhook_extra_roots.clone(),
        },
        mail: steward_app::MailSettings {
            smtp_url: settings.smtp_url.clone(),
            from: settings.mail_from.clone(),
            public_url: settings
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", settings.listen)),
        },
    })
    .await
    .map_err(explain)
}

/// Turns an app error into a message for the terminal, with each field problem on its line.
fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("  {}: {}", e.field, e.message))
                .collect();
            anyhow::anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        AppError::Refused(refusal) => anyhow::anyhow!("refused ({}): {refusal}", refusal.code()),
        other => anyhow::anyhow!(other),
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let serve_args = match &cli.command {
        Command::Serve(a) => Some(a),
        _ => None,
    };
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        keystore_url: cli.keystore_url.clone(),
        master_key_file: cli.master_key_file.clone(),
        pkcs11_module: cli.pkcs11_module.clone(),
        pkcs11_token_label: cli.pkcs11_token_label.clone(),
        pkcs11_pin_file: cli.pkcs11_pin_file.clone(),
        listen: serve_args.and_then(|a| a.listen.clone()),
        metrics_listen: serve_args.and_then(|a| a.metrics_listen.clone()),
        catalog: cli.catalog.clone(),
        tls_cert: serve_args.and_then(|a| a.tls_cert.clone()),
        tls_key: serve_args.and_then(|a| a.tls_key.clone()),
        smtp_url: serve_args.and_then(|a| a.smtp_url.clone()),
        public_url: serve_args.and_then(|a| a.public_url.clone()),
    };
    let settings = settings::load(cli.config.as_deref(), &overrides)?;
    init_logging(&settings.log);
    if settings.audit_checkpoint_every.is_some() {
        tracing::warn!(
            "the setting audit_checkpoint_every is no longer used (every commit signs the audit head); remove it"
        );
    }
    match cli.command {
        Command::Init => {
            open(&settings).await?;
            println!("Steward is set up in {}", settings.data_dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve(&settings, args.demo).await,
        Command::User(UserCommand::Add {
            email,
            role,
            purposes,
            password_stdin,
        }) => {
            let role: Role = role.parse()?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (steward_app::generate_password(), true)
            };
            let (app, operator) = open(&settings).await?;
            let created = app
                .accounts()
                .add_user(
                    &operator.actor("cli", &[]),
                    NewUser {
                        email,
                        role,
                        password: password.clone(),
                        purposes,
                    },
                )
                .await
                .map_err(explain)?;
            app.audit().witness(true).await.map_err(explain)?;
            println!("user {} created", created.id);
            if generated {
                println!("initial password (shown once): {password}");
            }
            if let Some(uri) = created.totp_uri {
                println!(
                    "authenticator enrolment (shown once; scan or paste into a TOTP app): {uri}"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::List) => {
            let (app, operator) = open(&settings).await?;
            let users = app
                .accounts()
                .list_users(&operator.actor("cli", &[]))
                .await
                .map_err(explain)?;
            for u in users {
                println!(
                    "{}  {:<32} {:<9} {:<8} since {}",
                    u.id,
                    u.email,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.created_at.strftime("%Y-%m-%d")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::ResetPassword { user }) => {
            let (app, operator) = open(&settings).await?;
            let actor = operator.actor("cli", &[]);
            let found = app
                .accounts()
                .find_user(&actor, &user)
                .await
                .map_err(explain)?;
            let password = app
                .accounts()
                .reset_password(&actor, found.id)
                .await
                .map_err(explain)?;
            app.audit().witness(true).await.map_err(explain)?;
            println!("password of {} reset; its sessions have ended", found.email);
            println!("new password (shown once): {password}");
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Disable { user }) => {
            let (app, operator) = open(&settings).await?;
            let actor = operator.actor("cli", &[]);
            let found = app
                .accounts()
                .find_user(&actor, &user)
                .await
                .map_err(explain)?;
            app.accounts()
                .update_user(&actor, found.id, None, Some(true))
                .await
                .map_err(explain)?;
            app.audit().witness(true).await.map_err(explain)?;
            println!("{} is disabled; its sessions have ended", found.email);
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::SecondFactor { user }) => {
            let (app, operator) = open(&settings).await?;
            let actor = operator.actor("cli", &[]);
            let found = app
                .accounts()
                .find_user(&actor, &user)
                .await
                .map_err(explain)?;
            let uri = app
                .accounts()
                .enrol_second_factor(&actor, found.id)
                .await
                .map_err(explain)?;
            app.audit().witness(true).await.map_err(explain)?;
            println!(
                "authenticator enrolment for {} (shown once; scan or paste into a TOTP app): {uri}",
                found.email
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create {
            role,
            purposes,
            expires,
            name,
        }) => {
            let role: Role = role.parse()?;
            let (app, operator) = open(&settings).await?;
            let expires_at = Some(parse_expiry(&expires, app.now())?);
            let (_, token) = app
                .accounts()
                .create_token(
                    &operator.actor("cli", &[]),
                    NewToken {
                        name,
                        role,
                        purposes,
                        expires_at,
                    },
                )
                .await
                .map_err(explain)?;
            app.audit().witness(true).await.map_err(explain)?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(ImportCommand::Customers {
            file,
            map,
            purpose,
            residency,
            rejects,
            batch,
        }) => import(&settings, file, map, purpose, residency, rejects, batch).await,
        Command::Export(ExportCommand::Customers {
            purpose,
            format,
            output,
        }) => {
            let format: ExportFormat = format
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--format {e}"))?;
            let (app, operator) = open(&settings).await?;
            let mut out: Box<dyn Write + Send> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            let bar = if output.is_some() {
                spinner("exported")
            } else {
                ProgressBar::hidden()
            };
            let actor = operator.actor("cli-export", &[purpose.as_str()]);
            let n = app
                .customers()
                .export(&actor, &purpose, format, &mut out, |n| bar.set_position(n))
                .await
                .map_err(explain)?;
            bar.finish_and_clear();
            app.audit().witness(true).await.map_err(explain)?;
            eprintln!("{n} customers exported");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify) => {
            let (app, _) = open(&settings).await?;
            let report = app.audit().verify().await.map_err(explain)?;
            if report.ok {
                println!(
                    "audit chain intact: {} entries, signed head at entry {}, witnessed outside the database at entry {}, head {}",
                    report.entries,
                    report.signed_head.unwrap_or_default(),
                    report.witnessed_head.unwrap_or_default(),
                    report.head
                );
                Ok(ExitCode::SUCCESS)
            } else {
                let at = report
                    .first_bad
                    .map(|seq| format!(" at entry {seq}"))
                    .unwrap_or_default();
                let fault = report
                    .fault
                    .and_then(|f| serde_json::to_value(f).ok())
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                println!(
                    "audit chain BROKEN{at} ({fault}): {}",
                    report.problem.as_deref().unwrap_or("unknown problem")
                );
                Ok(ExitCode::from(2))
            }
        }
        Command::Consent(ConsentCommand::Expire) => {
            let (app, _) = open(&settings).await?;
            let bar = spinner("consents marked expired");
            let marked = app
                .consent()
                .expire_lapsed(|n| bar.set_position(n))
                .await
                .map_err(explain)?;
            bar.finish_and_clear();
            app.audit().witness(true).await.map_err(explain)?;
            println!(
                "{marked} lapsed consents marked expired; fields left without a lawful basis were erased"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention(RetentionCommand::Rules) => {
            let (app, _) = open(&settings).await?;
            for r in app.retention().published().await.map_err(explain)? {
                println!(
                    "{:<20} {:<12} {:<8} {:<18} {:<10} {}",
                    r.key, r.record, r.duration, r.anchor, r.action, r.period
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention(RetentionCommand::Run { dry_run }) => {
            retention_run(&settings, dry_run).await
        }
        Command::Personalization(PersonalizationCommand::Recompute) => {
            personalization::recompute(&settings).await
        }
        Command::Vendors(VendorsCommand::List) => vendors::list(&settings).await,
        Command::Breach(BreachCommand::List { json }) => breaches::list(&settings, json).await,
        Command::Breach(BreachCommand::Notice { breach }) => {
            breaches::notice(&settings, &breach).await
        }
        Command::Ropa { format, output } => {
            vendors::ropa(&settings, format, output.as_deref()).await
        }
        Command::Vendors(VendorsCommand::Add { file }) => vendors::add(&settings, &file).await,
        Command::Vendors(VendorsCommand::Review { vendor, file }) => {
            vendors::review(&settings, &vendor, &file).await
        }
        Command::Agreements(AgreementsCommand::Add { file }) => {
            vendors::add_agreement(&settings, &file).await
        }
        Command::Share(args) => share::run(&settings, args).await,
        Command::SecurityAudit { json } => security_audit::run(&settings, json).await,
        Command::Customers(CustomersCommand::Reindex) => customers::reindex(&settings).await,
        Command::Keys(KeysCommand::Rotate) => keys::rotate(&settings).await,
        Command::Keys(KeysCommand::Status { json }) => keys::status(&settings, json).await,
        Command::Keys(KeysCommand::Compromised { version, reason }) => {
            keys::compromised(&settings, &version, &reason).await
        }
        Command::Consent(ConsentCommand::VerifyReceipt { file }) => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let (app, _) = open(&settings).await?;
            let check = app.consent().verify_receipt(&text).await.map_err(explain)?;
            let id = check
                .receipt_id
                .map(|i| i.to_string())
                .unwrap_or_else(|| "?".into());
            if check.valid() && check.matches_ledger {
                println!("receipt {id} is valid: signed here and matching the consent ledger");
                Ok(ExitCode::SUCCESS)
            } else if check.valid() {
                println!(
                    "receipt {id} is valid: signed here and matching the proof kept when the customer was erased"
                );
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "receipt {id} is NOT valid: {}",
                    check.problem.as_deref().unwrap_or("unknown problem")
                );
                Ok(ExitCode::from(2))
            }
        }
    }
}

fn parse_expiry(text: &str, now: jiff::Timestamp) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let (n, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = n.parse().map_err(|_| {
        anyhow::anyhow!("--expires {text:?}: use e.g. 90d, 12h or an RFC 3339 time")
    })?;
    let unit_secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        _ => anyhow::bail!("--expires {text:?}: use e.g. 90d, 12h or an RFC 3339 time"),
    };
    let secs = n
        .checked_mul(unit_secs)
        .filter(|s| *s <= 10 * 366 * 86_400)
        .ok_or_else(|| anyhow::anyhow!("--expires {text:?}: at most ten years"))?;
    now.checked_add(jiff::SignedDuration::from_secs(secs))
        .map_err(|e| anyhow::anyhow!("--expires: {e}"))
}

fn spinner(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {{pos}} {what} ({{per_sec}})"))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}
