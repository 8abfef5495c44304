//! Steward's use cases. Every front end (REST API, console, portal, CLI) calls these and
//! nothing else, so purpose checks, minimisation, encryption and audit cannot be bypassed.

mod campaigns;
mod collection;
mod consent;
mod dashboard;
pub mod demo;
mod error;
mod infra;
mod personalization;
mod records;
mod retention;
mod rights;
mod security;
mod services;
mod sharing;
mod transfers;

pub use campaigns::audience::{AUDIENCE_PAGE, AudienceMember, AudienceQuery, AudienceSummary};
pub use campaigns::campaign::{CampaignLog, CampaignView, NewCampaign};
pub use campaigns::preview::CampaignPreview;
pub use campaigns::refusal::CampaignRefusal;
pub use campaigns::results::{CampaignResults, ResultBucket};
pub use campaigns::schedule::ScheduleInput;
pub use campaigns::segments::{
    AttributeFilter, ConsentFilter, NewSegment, Period, SegmentFilter, SegmentView,
};
pub use collection::companies::{
    CompanyInput, CompanyQuery, CompanyView, MAX_COMPANY_NAME, MemberQuery, parse_company_order,
    parse_domain,
};
pub use collection::customers::merge::{MergeRefusal, MergeView, MergedConsent};
pub use collection::customers::{
    CustomerInput, CustomerPatch, CustomerQuery, CustomerView, Page, Reassign, ReindexOutcome,
    Retag, SavedView, ViewFilter,
};
pub use collection::export::ExportFormat;
pub use collection::import;
pub use collection::interactions::{InteractionInput, InteractionView};
pub use collection::tasks::{MAX_TITLE, MyTask, TaskInput, TaskView};
pub use collection::timeline::{MAX_ENTRIES, TimelineEntry, TimelineView};
pub use consent::double_opt_in::LinkView;
pub use consent::forms::{FormField, FormPurpose, FormSubmission, FormView};
pub use consent::ledger::{ConsentEventView, ConsentInput, ConsentStatus, Evidence};
pub use consent::notices::{
    NoticeInput, NoticeView, PurposeSummary, READABLE_AT_LEAST, SummaryView,
};
pub use consent::receipt::{Controller, ProofView, Receipt, ReceiptCheck};
pub use dashboard::Dashboard;
pub use demo::notice::DEMO_NOTICE_VERSION;
pub use error::{AppError, FieldError};
pub use infra::idempotency::{IdempotencyKey, Outcome, REPLAY_WINDOW};
pub use infra::mail::{MailRound, MailSettings};
pub use infra::readiness::NotReady;
#[cfg(feature = "local-staff")]
pub use personalization::fixtures::BenchInteraction;
pub use personalization::{
    AttributeUsed, AttributeView, Basis, Counterfactual, DEFAULT_RECOMMENDATIONS, HowItWorks,
    HowLevel, HowRule, LevelCounts, LevelEventView, LevelInput, LevelView, OfferItem, OfferRef,
    OfferView, PersonalizationHeld, PersonalizationPage, Recommendations, RecomputeReport,
    SuppressedView, WhyExplanation,
};
pub use records::{
    Ropa, RopaCategory, RopaController, RopaDestination, RopaFormat, RopaPurpose, RopaRecipient,
    SecurityMeasure,
};
pub use retention::{
    HoldInput, HoldView, ReportItem, RuleOutcome, RulePatch, RuleView, RunReport, RunView,
    SweepProgress, Upcoming,
};
pub use rights::breach_notices::{BreachNoticeForYou, CustomerNoticeRun};
pub use rights::erasure::SelectionErased;
pub use rights::portal::{
    AccessView, CodeStanding, Correction, HeldValue, PortalOverview, PortalSignIn,
};
pub use rights::portal_rights::ObjectionOutcome;
pub use rights::requests::{
    KindTally, MAX_REQUESTS, ReasonInput, RecipientUpdateView, RequestInput, RequestQuery,
    RequestReport, RequestView,
};
pub use rights::subject_export::{ExportScope, SubjectExport, SubjectFormat};
pub use security::access::{Access, Actor, Operator, Subject};
pub use security::accounts::{
    CreatedUser, NewToken, NewUser, Session, TokenView, UserView, generate_password,
    requires_second_factor,
};
pub use security::audit_log::{AuditFault, AuditFilter, VerifyReport};
pub use security::audit_witness::{WITNESS_EVERY, Witnessed};
pub use security::breaches::scope::{Touch, customer_touch};
pub use security::breaches::{
    AuthorityReach, BreachScope, BreachView, ChecklistStep, PhaseInput, PhaseView, StepUpdate,
};
pub use security::keys::rotation::REWRAP_BATCH;
pub use security::keys::{CompromisedKek, KekVersion, KeyStatus, RewrapOutcome};
pub use security::self_audit::{
    Finding, FindingCounts, FindingStatus, InstallationFacts, SELF_AUDIT_EVERY, SecurityReport,
    Severity, check_ids,
};
pub use security::settings::SecuritySettings;
pub use security::staff::{MAX_DISPLAY_NAME, StaffMember, parse_display_name, who};
pub use services::{
    Accounts, Audit, Campaigns, Companies, Consents, Customers, Forms, Holds, Interactions, Jobs,
    Keys, Links, Notices, Outbox, OwnRights, Portal, Requests, Retention, Rights, Segments,
    Sessions, Staff, Tasks, Timeline,
};
pub use services::{
    Agreements, Breaches, Personalization, Records, SelfAudit, Shares, Transfers, Vendors, Webhooks,
};
pub use sharing::disclosures::{DisclosureView, ShareDocument};
pub use sharing::recipient_notices::{NoticeQuery, NoticeStatus, RecipientNoticeView};
pub use sharing::share_input::{AudienceSource, ShareDelivery, ShareInput};
pub use sharing::share_view::{DeliveryProgress, Exclusion, ShareView};
pub use sharing::webhooks::{
    EventType, SubscriptionInput, SubscriptionPatch, SubscriptionShown, SubscriptionView,
    WebhookAttemptView, WebhookDeliveryView, WebhookEndpointView, WebhookInput, WebhookRound,
    WebhookSecretShown, WebhookSettings,
};
pub use sharing::{AgreementView, ReviewView, VendorAttention, VendorView};
pub use steward_core as core;
pub use transfers::{
    AdequacyEntry, AdequacyTable, AffectedAgreement, LAPSE_NOTICE_DAYS, TransferCheck,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use steward_core::audit::{AuditEntry, AuditRecord, HeadSigner};
use steward_core::{Catalog, Clock};
use steward_store::{KeyStore, PostgresStore, SqliteStore, Store, StoredKey};
pub use steward_vault::TokenSettings;
use steward_vault::{SecretSource, Vault, VaultError, WrappedKey};

use security::keys::custody::KekSource;

/// Where Steward keeps its files and which database holds the data.
pub struct OpenOptions {
    pub data_dir: PathBuf,
    /// `None` for the embedded SQLite database in the data directory.
    pub database_url: Option<String>,
    /// `None` for the key store file in the data directory; a PostgreSQL database of its
    /// own, apart from the data, that several instances share.
    pub keystore_url: Option<String>,
    /// `None` for `keys/master.key` in the data directory. Instances sharing a key store
    /// must all read the same key-encryption keys, so they name one file they all mount.
    pub master_key_file: Option<PathBuf>,
    /// The key-encryption keys in a PKCS#11 token instead of the master key file: keys are
    /// wrapped and unwrapped inside the token.
    pub kek_token: Option<TokenSettings>,
    pub catalog: Catalog,
    pub clock: Arc<dyn Clock>,
    /// Named as controller in consent receipts.
    pub controller: Controller,
    pub mail: MailSettings,
    /// Notice summaries scoring below this Flesch reading ease are flagged as hard to read.
    pub readable_at_least: f64,
    /// How the portal's access history names staff.
    pub staff_shown_as: StaffShownAs,
    /// The adequacy findings transfers are judged by, and how often vendors are reviewed.
    pub sharing: steward_core::sharing::SharingRules,
    /// How webhooks reach vendors.
    pub webhooks: WebhookSettings,
    /// The breach response plan, and what the security self-audit holds the installation to.
    pub security: SecuritySettings,
}

/// How a customer's access history names the staff who used their data: by role, or by a
/// stable pseudonym per staff member (a keyed hash, so it names no one) beside the role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffShownAs {
    #[default]
    Role,
    Pseudonym,
}

/// The application: catalog, vault, key store and data store, wired together.
pub struct Steward {
    catalog: Catalog,
    vault: Vault,
    keys: Arc<KeyStore>,
    store: Arc<dyn Store>,
    /// Audit entries of reads and exports, committed in groups.
    audit_writer: infra::group_commit::GroupCommit<AuditRecord, AuditEntry>,
    /// New customers' wrapped data keys, committed (and synced) in groups.
    key_writer: infra::group_commit::GroupCommit<(uuid::Uuid, StoredKey), ()>,
    /// Consent decisions that write only their events, committed in groups.
    consent_writer:
        infra::group_commit::GroupCommit<steward_store::ChangeSet, consent::group::Committed>,
    clock: Arc<dyn Clock>,
    witness_file: security::audit_witness::WitnessFile,
    /// Where the key store file lives, and the locks of running imports beside it.
    key_dir: PathBuf,
    /// The master key file or the token holding the key-encryption keys.
    kek: KekSource,
    tokens: Arc<infra::token_cache::TokenCache>,
    /// On PostgreSQL, what other instances revoke, evicted from `tokens` as it is heard.
    _revocations: Option<infra::following::Following>,
    /// Customers' data keys opened recently, for reads that have just read the row.
    key_cache: Arc<security::keys::cache::KeyCache>,
    /// With a shared key store, what other instances destroy, evicted from `key_cache`.
    _destructions: Option<infra::following::Following>,
    controller: Controller,
    mailer: infra::mail::Mailer,
    hooks: sharing::webhooks::Hooks,
    published: consent::notices::PublishedCache,
    offers: personalization::offers::OfferCache,
    staff_shown_as: StaffShownAs,
    readable_at_least: f64,
    sharing: steward_core::sharing::SharingRules,
    security: SecuritySettings,
    /// Whether the data is in PostgreSQL rather than the embedded SQLite file.
    on_postgres: bool,
    last_security_report: security::self_audit::LastReport,
    /// Wakes the server's key rewrapper when a rotation leaves keys to move.
    rewrap_wanted: tokio::sync::Notify,
    /// One rewrap at a time in this process: the API's and the background job's.
    rewrapping: tokio::sync::Mutex<()>,
    /// This instance among those sharing the database, as the holder of job leases.
    instance: String,
    /// CSV files uploaded in the console, held until they are mapped and imported.
    uploads: collection::import::staged::Uploads,
}

/// The master key file's name in the key folder.
pub(crate) const MASTER_KEY_FILE: &str = "master.key";

/// Paths inside a data directory. Keys live in their own folder, apart from the data.
pub struct DataPaths {
    pub database: PathBuf,
    pub key_dir: PathBuf,
    pub key_store: PathBuf,
    pub master_key: PathBuf,
}

impl DataPaths {
    pub fn new(data_dir: &Path) -> DataPaths {
        let key_dir = data_dir.join("keys");
        DataPaths {
            database: data_dir.join("steward.db"),
            key_store: key_dir.join("keystore.db"),
            master_key: key_dir.join(MASTER_KEY_FILE),
            key_dir,
        }
    }
}

/// The installation secrets as the key store held them at start-up, and those the vault
/// made because none was there, to be stored after.
#[derive(Default)]
struct Secrets {
    found: std::collections::HashMap<String, WrappedKey>,
    made: Vec<(String, StoredKey)>,
}

impl Secrets {
    async fn load(keys: &KeyStore) -> Result<Secrets, AppError> {
        let mut found = std::collections::HashMap::new();
        for name in steward_vault::SECRETS {
            if let Some(k) = keys.secret(name).await? {
                found.insert(name.to_string(), unstored(k));
            }
        }
        Ok(Secrets {
            found,
            made: Vec::new(),
        })
    }
}

fn unstored(k: StoredKey) -> WrappedKey {
    WrappedKey {
        kek_version: k.kek_version,
        bytes: k.bytes,
    }
}

impl SecretSource for Secrets {
    fn load(&mut self, name: &str) -> Result<Option<WrappedKey>, VaultError> {
        Ok(self.found.get(name).cloned())
    }

    fn save(&mut self, name: &str, key: &WrappedKey) -> Result<(), VaultError> {
        self.made.push((
            name.to_string(),
            StoredKey {
                kek_version: key.kek_version,
                bytes: key.bytes.clone(),
            },
        ));
        Ok(())
    }
}

/// Unlocks the vault with the installation secrets, storing those made on first use. When
/// instances start together on an empty shared key store, each makes its own, the first to
/// store them wins, and the others unlock again with the winner's. Says whether this call
/// made the installation's secrets, i.e. the key store was new.
async fn unlock(
    kek: &KekSource,
    keys: &KeyStore,
    searchable: &[&str],
) -> Result<(Vault, bool), AppError> {
    let other_keys = |e: VaultError| match e {
        VaultError::Tampered | VaultError::UnknownKek(_) => AppError::Setup(format!(
            "the key store's secrets do not open with {}: every instance sharing a key store needs the same key-encryption keys",
            kek.describe()
        )),
        e => e.into(),
    };
    // A second round meets the winner's secrets, all stored, and makes none.
    for _ in 0..2 {
        let mut secrets = Secrets::load(keys).await?;
        let vault = Vault::unlock(kek.open()?, &mut secrets, searchable).map_err(other_keys)?;
        if secrets.made.is_empty() {
            return Ok((vault, false));
        }
        if keys.put_secrets_or_get(&secrets.made).await? == secrets.made {
            return Ok((vault, true));
        }
    }
    Err(AppError::Setup(
        "the key store's installation secrets changed while this instance started".into(),
    ))
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
}

impl Steward {
    /// Opens the data directory as its operator: the application, and the capability to act
    /// as Steward itself that only whoever holds the data directory and its keys has.
    pub async fn open_as_operator(opts: OpenOptions) -> Result<(Steward, Operator), AppError> {
        Ok((Steward::open(opts).await?, Operator::at_the_machine()))
    }

    /// Opens (creating on first use) the data directory, the key store, the master key and
    /// the database, and runs pending migrations.
    pub async fn open(opts: OpenOptions) -> Result<Steward, AppError> {
        if opts.keystore_url.is_some() && opts.database_url.is_none() {
            return Err(AppError::Setup(
                "keystore_url is for several instances sharing a PostgreSQL database: give database_url too"
                    .into(),
            ));
        }
        if opts.kek_token.is_some() && opts.master_key_file.is_some() {
            return Err(AppError::Setup(
                "master_key_file and the pkcs11 settings both name where the key-encryption keys are: keep one".into(),
            ));
        }
        let mut paths = DataPaths::new(&opts.data_dir);
        if let Some(file) = &opts.master_key_file {
            paths.master_key = file.clone();
        }
        let kek = match opts.kek_token {
            Some(token) => KekSource::Token(token),
            None => KekSource::File(paths.master_key.clone()),
        };
        create_private_dir(&opts.data_dir)
            .and_then(|_| create_private_dir(&paths.key_dir))
            .map_err(|source| AppError::File {
                path: opts.data_dir.clone(),
                source,
            })?;
        let mailer = infra::mail::Mailer::new(&opts.mail, &opts.data_dir)?;
        let hooks = sharing::webhooks::Hooks::new(&opts.webhooks)?;
        let keys = Arc::new(match &opts.keystore_url {
            None => KeyStore::open(&paths.key_store)?,
            Some(url) => KeyStore::connect(url).await?,
        });
        let searchable: Vec<&str> = opts
            .catalog
            .searchable_fields()
            .map(|f| f.key.as_str())
            .chain([
                collection::customers::NAME_TOKENS,
                consent::ledger::EVIDENCE_CLIENT,
                consent::ledger::EVIDENCE_AGENT,
                rights::suppression::SUPPRESSION,
                rights::requests::SUBJECT,
                security::sign_in::THROTTLE,
            ])
            .collect();
        let (vault, new_keys) = unlock(&kek, &keys, &searchable).await?;
        let heads: Arc<dyn HeadSigner> = vault.signer().clone();
        let (store, revocations): (Arc<dyn Store>, _) = match &opts.database_url {
            None => (Arc::new(SqliteStore::open(&paths.database, heads)?), None),
            Some(url) => {
                let store = PostgresStore::connect(url, 16, heads).await?;
                let listener = store.listen(steward_store::REVOKED_CHANNEL);
                (Arc::new(store), Some(listener))
            }
        };
        // Customers stored with keys that are not in this shared key store could never be
        // read, and keys made here would open none of them: the installation's key store is
        // elsewhere. (The key store file beside a SQLite database is made with it.)
        if new_keys && keys.is_shared() && store.count_customers().await? > 0 {
            return Err(AppError::Setup(
                "the key store is new, but the database already holds customers: their keys are in another key store (keystore_url, or keys/ in the data directory that was used before)".into(),
            ));
        }
        // On PostgreSQL, tokens are cached only once other instances' revocations are heard.
        let tokens = Arc::new(infra::token_cache::TokenCache::new(revocations.is_none()));
        let revocations = revocations.map(|l| {
            let tokens = tokens.clone();
            infra::following::Following::start(async move { tokens.follow(l).await })
        });
        let destructions = keys.listen();
        // With a shared key store, keys are cached only once other instances' destructions
        // are heard.
        let key_cache = Arc::new(security::keys::cache::KeyCache::new(destructions.is_none()));
        let destructions = destructions.map(|l| {
            let cache = key_cache.clone();
            infra::following::Following::start(async move { cache.follow(l).await })
        });
        let steward = Steward {
            on_postgres: opts.database_url.is_some(),
            last_security_report: Default::default(),
            audit_writer: infra::group_commit::GroupCommit::new("audit", {
                let store = store.clone();
                move |records| {
                    let store = store.clone();
                    async move { store.append_audit(records).await }
                }
            }),
            consent_writer: infra::group_commit::GroupCommit::new("consent", {
                let store = store.clone();
                move |group| consent::group::commit(store.clone(), group)
            }),
            key_writer: infra::group_commit::GroupCommit::new("key", {
                let keys = keys.clone();
                move |batch: Vec<(uuid::Uuid, StoredKey)>| {
                    let keys = keys.clone();
                    async move {
                        keys.put_data_keys(&batch).await?;
                        Ok(vec![(); batch.len()])
                    }
                }
            }),
            catalog: opts.catalog,
            vault,
            keys,
            store,
            clock: opts.clock,
            witness_file: security::audit_witness::WitnessFile::new(&paths.key_dir),
            key_dir: paths.key_dir,
            kek,
            tokens,
            _revocations: revocations,
            key_cache,
            _destructions: destructions,
            controller: opts.controller,
            mailer,
            hooks,
            published: Default::default(),
            offers: Default::default(),
            readable_at_least: opts.readable_at_least,
            staff_shown_as: opts.staff_shown_as,
            sharing: opts.sharing,
            security: opts.security,
            rewrap_wanted: tokio::sync::Notify::new(),
            rewrapping: tokio::sync::Mutex::new(()),
            uploads: Default::default(),
            instance: uuid::Uuid::now_v7().to_string(),
        };
        // Every command opens Steward; the server says it at info (`serve`).
        tracing::debug!(instance = %steward.instance, "instance opened");
        steward.record_kek_versions().await?;
        steward.refuse_missing_kek_versions().await?;
        steward.sign_first_head().await?;
        steward.seed_retention_rules().await?;
        steward.seed_offers().await?;
        steward.keys().sweep_orphans().await?;
        Ok(steward)
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// This instance's id among those sharing the database: the holder its job leases name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Figures that count personal records, for monitoring: only for the roles that may read
    /// the audit log, since watching them move around a public action would tell who exists.
    pub async fn record_counts(&self, actor: &Actor) -> Result<RecordCounts, AppError> {
        Self::require_audit_reader(actor)?;
        let mut counts = RecordCounts {
            customers: self.store.count_customers().await?,
            audit_entries: self.store.audit_head().await?.0,
            recipient_notices_overdue: self.overdue_recipient_notices().await?,
            ..RecordCounts::default()
        };
        for v in self.vendor_views().await? {
            if v.vendor.status == steward_core::sharing::VendorStatus::Offboarded {
                continue;
            }
            let a = &v.attention;
            counts.vendors_review_overdue += u64::from(a.review.is_overdue());
            counts.vendors_dpa_not_current += u64::from(
                a.dpa
                    .as_ref()
                    .is_some_and(|d| *d != steward_core::sharing::DpaState::Current),
            );
            counts.certifications_expiring += a.certifications_expiring as u64;
            counts.certifications_expired += a.certifications_expired as u64;
        }
        let now = self.clock.now();
        for row in self.store.breaches().await? {
            let breach = self.breach_of(&row)?;
            let clock = breach.clock(now);
            if clock == steward_core::breach::ClockState::Closed {
                continue;
            }
            counts.breaches_open += 1;
            counts.breaches_overdue +=
                u64::from(clock == steward_core::breach::ClockState::Overdue);
            if !breach.decided() {
                counts
                    .breach_hours_left
                    .push((breach.id, breach.hours_left(now)));
            }
        }
        Ok(counts)
    }
}

impl Customers<'_> {
    pub async fn count(&self) -> Result<u64, AppError> {
        Ok(self.app.store.count_customers().await?)
    }
}

/// How many customers and audit entries are stored, how many engaged vendors need the
/// privacy officer, and where the open breaches' clocks stand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordCounts {
    pub customers: u64,
    pub audit_entries: i64,
    /// Vendors whose review is overdue or was never made.
    pub vendors_review_overdue: u64,
    /// Vendors whose processing contract is missing, ended or incomplete.
    pub vendors_dpa_not_current: u64,
    /// Vendors' certifications that end within 30 days.
    pub certifications_expiring: u64,
    pub certifications_expired: u64,
    /// Notices to recipients (Art. 19) still to be sent past their due date.
    pub recipient_notices_overdue: u64,
    /// Breaches not closed, and those past 72 hours without a decision on notifying.
    pub breaches_open: u64,
    pub breaches_overdue: u64,
    /// Hours each undecided breach has left until its deadline (negative past it).
    pub breach_hours_left: Vec<(uuid::Uuid, f64)>,
}
