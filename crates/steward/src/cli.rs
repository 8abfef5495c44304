use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "steward",
    version,
    about = "Steward: a privacy-first customer relationship manager"
)]
pub struct Cli {
    /// Settings file (default: ./steward.toml when present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Directory for the database, key store and master key.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL for the data (keys stay in the key store).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Keep the keys in a PostgreSQL database of their own, shared by several instances
    /// (never the data's database).
    #[arg(long, global = true)]
    pub keystore_url: Option<String>,
    /// The master key file, when not `keys/master.key` in the data directory; instances
    /// sharing a key store all name the same one.
    #[arg(long, global = true)]
    pub master_key_file: Option<PathBuf>,
    /// Keep the key-encryption keys in a PKCS#11 token instead: the vendor's module (a
    /// shared library). Give the token's label and a PIN file too.
    #[arg(long, global = true)]
    pub pkcs11_module: Option<PathBuf>,
    /// The label of the token holding the key-encryption keys.
    #[arg(long, global = true)]
    pub pkcs11_token_label: Option<String>,
    /// A file holding the token's user PIN.
    #[arg(long, global = true)]
    pub pkcs11_pin_file: Option<PathBuf>,
    /// An extra catalog file, added to the built-in catalog (repeatable).
    #[arg(long = "catalog", global = true)]
    pub catalog: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the data directory, key store, master key and database.
    Init,
    /// Run the server.
    Serve(ServeArgs),
    /// Staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Customers' records as a whole.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Bulk import.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Bulk export.
    #[command(subcommand)]
    Export(ExportCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The consent ledger.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Retention rules and the sweeper that carries them out.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Personalization: the profiles derived for customers who chose full.
    #[command(subcommand)]
    Personalization(PersonalizationCommand),
    /// The vendor register: who receives customers' data, under what contract.
    #[command(subcommand)]
    Vendors(VendorsCommand),
    /// The breach register: each breach with its 72-hour clock, and the authority's
    /// notification.
    #[command(subcommand)]
    Breach(BreachCommand),
    /// The record of processing activities (GDPR Art. 30), from the catalog, the vendor
    /// register, its agreements and the retention rules.
    Ropa {
        /// md, csv or json.
        #[arg(long, default_value = "md")]
        format: steward_app::RopaFormat,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Data-sharing agreements with the register's vendors.
    #[command(subcommand)]
    Agreements(AgreementsCommand),
    /// Share customers' data with a vendor under its agreement, written to a signed file:
    /// the only way personal data leaves for a third party. Refused, nothing is written.
    Share(ShareArgs),
    /// Check the installation's security (second factors, stale accounts and tokens, keys
    /// and their files, TLS, the audit chain, vendors, retention, mail, the controller);
    /// exits non-zero when a check fails.
    SecurityAudit {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The key-encryption keys that wrap every customer's data key.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand, Debug)]
pub enum CustomersCommand {
    /// Write every customer's name-search entries again from their sealed names: for
    /// customers saved before names were searchable, or after the catalog marks another
    /// field `name_search`. Safe to run while the server runs, and to run again.
    Reindex,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new key-encryption key version and rewrap every key onto it, then retire the
    /// old version (its line leaves the master key file). Run again, it finishes an
    /// interrupted rewrap. A running server finishes it in the background too.
    Rotate,
    /// Every version: created, retired, compromised, and how many keys it wraps.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Mark a version compromised; a compromised current version is rotated away at once.
    Compromised {
        /// The version, such as 1 or v1.
        version: String,
        /// Why it is taken as exposed.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AgreementsCommand {
    /// Make an agreement from a JSON file (the API's agreement form); `-` reads standard
    /// input.
    Add { file: PathBuf },
}

#[derive(Args, Debug)]
pub struct ShareArgs {
    /// The vendor's id in the register.
    #[arg(long)]
    pub vendor: String,
    /// The catalog purpose the vendor receives the data for.
    #[arg(long)]
    pub purpose: String,
    /// A catalog field to share (repeatable).
    #[arg(long = "field", required = true)]
    pub fields: Vec<String>,
    /// A file of customer ids, one per line; `-` reads standard input.
    #[arg(long, conflicts_with_all = ["segment", "audience"])]
    pub customers: Option<PathBuf>,
    /// A saved segment's id.
    #[arg(long, conflicts_with = "audience")]
    pub segment: Option<String>,
    /// The purpose's audience: everyone whose consent to it stands now.
    #[arg(long)]
    pub audience: bool,
    /// Where the document goes (JSON lines: a header, then one line per customer); its
    /// Ed25519 signature is written beside it, to FILE.sig.
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum BreachCommand {
    /// Every breach, newest first, with where its 72-hour clock stands.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The notification for the supervisory authority (Art. 33(3)), as Markdown.
    Notice { breach: String },
}

#[derive(Subcommand, Debug)]
pub enum VendorsCommand {
    /// Every vendor with its role, status, next review and what needs attention.
    List,
    /// Enter a vendor in the register from a JSON file (the API's vendor form); `-` reads
    /// standard input.
    Add { file: PathBuf },
    /// Record a review of a vendor from a JSON file (the API's review form); `-` reads
    /// standard input.
    Review { vendor: String, file: PathBuf },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Also serve every metric, without a token, on this address: for the operator's own
    /// network only.
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Load the deterministic demo data set into an empty database.
    #[arg(long)]
    pub demo: bool,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// Send email through this SMTP server (smtp://host:port, smtps://...); without it,
    /// messages go to mail.log in the data directory.
    #[arg(long)]
    pub smtp_url: Option<String>,
    /// The address customers reach this server at; links in emails start with it.
    #[arg(long)]
    pub public_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a staff account. Prints a generated password unless --password-stdin is given.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
        /// A purpose to grant instead of the role's defaults (repeatable).
        #[arg(long = "purpose")]
        purposes: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List staff accounts: id, email, role and whether the account is disabled.
    List,
    /// Give an account a new generated password, printed once; ends its sessions.
    ResetPassword {
        /// The account's email address or id.
        user: String,
    },
    /// Stop an account from signing in and end its sessions.
    Disable {
        /// The account's email address or id.
        user: String,
    },
    /// Give an account a new second factor (TOTP) and print its enrolment URI once.
    SecondFactor {
        /// The account's email address or id.
        user: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token and print it (only the token, for scripts).
    Create {
        #[arg(long)]
        role: String,
        /// A purpose the token may use (repeatable; default: the role's defaults).
        #[arg(long = "purpose")]
        purposes: Vec<String>,
        /// Lifetime such as 90d or 12h, or an RFC 3339 time. Default 90d.
        #[arg(long, default_value = "90d")]
        expires: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import customers from CSV, upserting by email; a row whose address an earlier row of
    /// the file had is refused. Re-running an interrupted import resumes it.
    Customers {
        file: PathBuf,
        /// TOML file mapping CSV headers to catalog keys: `"E-Mail" = "email"`.
        #[arg(long)]
        map: Option<PathBuf>,
        /// The purpose the data is collected for.
        #[arg(long, default_value = "essential.service")]
        purpose: String,
        /// Residency for rows without one (ISO 3166-1 alpha-2).
        #[arg(long)]
        residency: Option<String>,
        /// Where refused rows are listed with their reasons (default FILE.rejects.csv).
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Rows per transaction (a batch also ends at 8 MiB of CSV text): larger batches
        /// rewrite the random blind-index pages less often; an interrupted import resumes
        /// after the last committed batch.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Export customers: only the fields the purpose needs.
    Customers {
        #[arg(long)]
        purpose: String,
        #[arg(long, default_value = "csv")]
        format: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConsentCommand {
    /// Check a consent receipt (a compact JWS, as downloaded): its signature and that the
    /// ledger still holds what it says. Exits non-zero when either fails.
    VerifyReceipt {
        /// The receipt file; `-` reads standard input.
        file: PathBuf,
    },
    /// Mark every lapsed consent expired in the ledger and erase the fields that lost their
    /// last lawful basis with it (the server also does this every ten minutes).
    Expire,
}

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Delete, erase or anonymise what the rules say is due now, skipping and reporting
    /// what legal holds keep; a run cut short is carried on by the next.
    Run {
        /// List what would go and why (rule, record, anchor and due dates; no personal
        /// values) as CSV on standard output, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The rules in force and how long each keeps what.
    Rules,
}

#[derive(Subcommand, Debug)]
pub enum PersonalizationCommand {
    /// Derive again the observed and inferred attributes of every customer at full (the
    /// server does this every six hours), skipping those below full and the keys each
    /// customer deleted; prints how many customers and attributes, never a value.
    Recompute,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the hash chain and check it against the signed heads kept in the database and
    /// outside it; exits non-zero naming what it found.
    Verify,
}
