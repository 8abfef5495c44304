//! Personalization the customer controls (I8), on SQLite and PostgreSQL: full needs profiling
//! consent; ending that consent drops the level and the derived profile in the commit that
//! records it; at off recommendations are everyone's; and a recommendation explains exactly
//! the attributes its audit entry names.

use std::path::PathBuf;
use std::sync::Arc;

use steward_app::core::personalization::{LIMITED, Level, PROFILED};
use steward_app::core::{Catalog, FixedClock, Role};
use steward_app::{
    AppError, AuditFilter, Evidence, LevelInput, OpenOptions, Recommendations, Steward, Subject,
};
use steward_store::testing::{TestDatabase, fresh_postgres};
use uuid::Uuid;

use crate::support::*;

/// Where a test reaches the database under the application.
pub enum Raw {
    Lite(PathBuf),
    Pg(TestDatabase),
}

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub raw: Raw,
    pub app: Steward,
    pub clock: Arc<FixedClock>,
}

pub async fn setup(pg: bool) -> Setup {
    setup_with(pg, Catalog::default_catalog().expect("catalog")).await
}

/// A Steward on `catalog`, on PostgreSQL or on a SQLite file.
pub async fn setup_with(pg: bool, catalog: Catalog) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = if pg {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let clock = clock();
    let app = Steward::open(OpenOptions {
        catalog,
        database_url: db.as_ref().map(|d| d.url.clone()),
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        ..options(dir.path(), clock.clone())
    })
    .await
    .expect("open steward");
    let raw = match db {
        Some(db) => Raw::Pg(db),
        None => Raw::Lite(dir.path().join("steward.db")),
    };
    Setup {
        dir,
        raw,
        app,
        clock,
    }
}

impl Setup {
    /// The customer chooses `level` in the portal, ticking the profiling consent when
    /// `consent`; panics if refused.
    pub async fn choose(&self, who: &Subject, level: Level, consent: bool) {
        self.app
            .own_rights()
            .choose_level(who, level, consent, &Evidence::default())
            .await
            .unwrap_or_else(|e| panic!("choosing {level}: {e}"));
    }

    /// The customer tells us `values` for the declared attribute `key`.
    pub async fn declare(&self, who: &Subject, key: &str, values: &[&str]) {
        self.app
            .own_rights()
            .correct_attribute(who, key, values.iter().map(|v| v.to_string()).collect())
            .await
            .unwrap_or_else(|e| panic!("declaring {key}: {e}"));
    }

    /// A customer who signed in to the portal.
    pub async fn customer(&self, email: &str) -> Subject {
        self.app
            .customers()
            .create(&agent(&self.app), input(email, "Ada"))
            .await
            .expect("create");
        signed_in(&self.app, Inbox::Log(self.dir.path()), email).await
    }

    /// A derived row written straight into the table, as a recompute leaves one: the test
    /// only needs to know whether it is still there.
    pub async fn plant_inferred(&self, customer: Uuid, key: &str) {
        const SQL: &str = "INSERT INTO profile_attributes (customer_id, key, source, min_level, \
             value, derived_from, rule_key, rule_version, computed_at, expires_at) \
             VALUES ($1, $2, 'inferred', 'full', $3, '{}', $2, 1, 0, NULL) \
             ON CONFLICT DO NOTHING";
        match &self.raw {
            Raw::Lite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open db");
                conn.execute(
                    &SQL.replace('$', "?"),
                    rusqlite::params![customer.as_bytes().to_vec(), key, vec![0u8; 8]],
                )
                .expect("plant a derived row");
            }
            Raw::Pg(db) => {
                pg_client(db)
                    .await
                    .execute(SQL, &[&customer, &key, &vec![0u8; 8]])
                    .await
                    .expect("plant a derived row");
            }
        }
    }

    /// The customer's stored attributes as (key, source), whatever the level.
    pub async fn stored_rows(&self, customer: Uuid) -> Vec<(String, String)> {
        const SQL: &str =
            "SELECT key, source FROM profile_attributes WHERE customer_id = $1 ORDER BY key";
        match &self.raw {
            Raw::Lite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open db");
                let mut stmt = conn.prepare(&SQL.replace('$', "?")).expect("prepare");
                stmt.query_map([customer.as_bytes().to_vec()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
            }
            Raw::Pg(db) => pg_client(db)
                .await
                .query(SQL, &[&customer])
                .await
                .expect("query")
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    /// The newest `personalization.read` entry naming the customer: its `attr:` fields.
    pub async fn last_read_fields(&self, customer: Uuid) -> Vec<String> {
        let entries = self
            .app
            .audit()
            .search(
                &actor(&self.app, Role::Auditor),
                AuditFilter {
                    newest_first: true,
                    limit: 1,
                    action: Some("personalization.read".into()),
                    target: Some(customer.to_string()),
                    ..Default::default()
                },
            )
            .await
            .expect("audit search");
        let entry = entries.first().expect("the read was audited");
        entry
            .record
            .fields
            .iter()
            .map(|f| f.strip_prefix("attr:").expect("an attr: field").to_string())
            .collect()
    }
}

async fn pg_client(db: &TestDatabase) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

/// A marketer granted both personalization purposes, working for `purpose`.
pub fn marketer(app: &Steward, purpose: &str) -> steward_app::Access {
    let actor = app.local_staff(
        "user:marketer",
        Role::Marketer,
        &[LIMITED, PROFILED, "marketing.communications.email"],
    );
    app.access(&actor, Some(purpose)).expect("access")
}

pub fn explained_keys(r: &Recommendations) -> Vec<String> {
    r.explanation
        .attributes
        .iter()
        .map(|a| a.key.clone())
        .collect()
}

async fn full_needs_profiling_consent(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let id = ada.customer();
    let refused = s
        .app
        .own_rights()
        .choose_level(&ada, Level::Full, false, &Evidence::default())
        .await;
    assert!(
        matches!(&refused, Err(AppError::ConsentRequired { purpose }) if purpose == PROFILED),
        "{refused:?}"
    );
    let staff = s
        .app
        .personalization()
        .set_level(&agent(&s.app), id, LevelInput { level: Level::Full })
        .await;
    assert!(
        matches!(&staff, Err(AppError::ConsentRequired { purpose }) if purpose == PROFILED),
        "{staff:?}"
    );
    let view = s
        .app
        .personalization()
        .level(&agent(&s.app), id)
        .await
        .expect("level");
    assert_eq!((view.chosen, view.effective), (Level::Off, Level::Off));
    assert!(view.history.is_empty(), "a refusal changes nothing");

    // Ticking the box gives the consent, its receipt and the level in one step.
    let chosen = s
        .app
        .own_rights()
        .choose_level(&ada, Level::Full, true, &Evidence::default())
        .await
        .expect("full with consent");
    assert_eq!(
        (chosen.chosen, chosen.effective),
        (Level::Full, Level::Full)
    );
    let receipt = chosen.receipt.expect("the consent's receipt");
    match &chosen.basis {
        Some(steward_app::Basis::Consent {
            purpose, event_id, ..
        }) => {
            assert_eq!((purpose.as_str(), *event_id), (PROFILED, receipt.id));
        }
        other => panic!("full rests on the profiling consent, not {other:?}"),
    }
    let last = chosen.history.last().expect("a level event");
    assert_eq!(
        (last.level, last.previous, last.consent_event_id),
        (Level::Full, Level::Off, Some(receipt.id))
    );
    // Staff may now set full on the consent the customer gave.
    s.app
        .personalization()
        .set_level(
            &agent(&s.app),
            id,
            LevelInput {
                level: Level::Basic,
            },
        )
        .await
        .expect("basic");
    let again = s
        .app
        .personalization()
        .set_level(&agent(&s.app), id, LevelInput { level: Level::Full })
        .await
        .expect("full on the consent given");
    assert_eq!(again.effective, Level::Full);
}

#[tokio::test]
async fn full_needs_profiling_consent_sqlite() {
    full_needs_profiling_consent(false).await;
}

#[tokio::test]
async fn full_needs_profiling_consent_postgres() {
    full_needs_profiling_consent(true).await;
}

async fn withdrawing_profiling_drops_the_level_and_the_profile(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let id = ada.customer();
    s.choose(&ada, Level::Full, true).await;
    s.declare(&ada, "liked_categories", &["garden"]).await;
    s.plant_inferred(id, "favourite_category").await;
    let before = s.stored_rows(id).await;
    assert!(before.contains(&("favourite_category".to_string(), "inferred".to_string())));
    assert!(before.contains(&("liked_categories".to_string(), "declared".to_string())));

    s.app
        .own_rights()
        .withdraw(&ada, PROFILED, &Evidence::default())
        .await
        .expect("withdraw");

    let view = s
        .app
        .personalization()
        .level(&agent(&s.app), id)
        .await
        .expect("level");
    assert_eq!((view.chosen, view.effective), (Level::Basic, Level::Basic));
    let last = view.history.last().expect("a level event");
    assert_eq!(
        (last.level, last.previous, last.reason.as_str()),
        (Level::Basic, Level::Full, "consent_withdrawn")
    );
    assert_eq!(
        s.stored_rows(id).await,
        vec![("liked_categories".to_string(), "declared".to_string())],
        "what was derived goes; what the customer said stays"
    );
    // One commit: the withdrawal's entry and the level's are written together, in order.
    let entries = s
        .app
        .audit()
        .search(
            &actor(&s.app, Role::Auditor),
            AuditFilter {
                newest_first: true,
                limit: 2,
                target: Some(id.to_string()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.record.action.as_str()).collect();
    assert_eq!(actions, vec!["personalization.level", "consent.record"]);
    assert_eq!(entries[0].seq, entries[1].seq + 1);
    assert_eq!(last.at.as_microsecond(), entries[1].record.at);
}

#[tokio::test]
async fn withdrawing_profiling_drops_the_level_and_the_profile_sqlite() {
    withdrawing_profiling_drops_the_level_and_the_profile(false).await;
}

#[tokio::test]
async fn withdrawing_profiling_drops_the_level_and_the_profile_postgres() {
    withdrawing_profiling_drops_the_level_and_the_profile(true).await;
}

async fn expired_profiling_consent_drops_the_level_and_the_profile(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let id = ada.customer();
    s.choose(&ada, Level::Full, true).await;
    s.plant_inferred(id, "favourite_category").await;
    // Profiling consent lasts 395 days.
    s.clock.advance(jiff::SignedDuration::from_hours(24 * 396));
    let before = s
        .app
        .personalization()
        .level(&agent(&s.app), id)
        .await
        .expect("level");
    assert_eq!(
        (before.chosen, before.effective),
        (Level::Full, Level::Basic),
        "a lapsed consent counts as none before the job runs"
    );
    assert!(
        s.stored_rows(id)
            .await
            .iter()
            .any(|(key, _)| key == "favourite_category")
    );
    let marked = s.app.consent().expire_lapsed(|_| {}).await.expect("expire");
    assert_eq!(marked, 1);
    let view = s
        .app
        .personalization()
        .level(&agent(&s.app), id)
        .await
        .expect("level");
    assert_eq!((view.chosen, view.effective), (Level::Basic, Level::Basic));
    let last = view.history.last().expect("a level event");
    assert_eq!(
        (last.previous, last.reason.as_str()),
        (Level::Full, "consent_expired")
    );
    assert!(s.stored_rows(id).await.is_empty());
}

#[tokio::test]
async fn expired_profiling_consent_drops_the_level_and_the_profile_sqlite() {
    expired_profiling_consent_drops_the_level_and_the_profile(false).await;
}

#[tokio::test]
async fn expired_profiling_consent_drops_the_level_and_the_profile_postgres() {
    expired_profiling_consent_drops_the_level_and_the_profile(true).await;
}

async fn at_off_recommendations_are_everyones(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let bob = s.customer("bob@example.com").await;
    let marketer = marketer(&s.app, LIMITED);
    // Ada told us what she likes, then turned personalization off: the rows stay, unused.
    s.choose(&ada, Level::Basic, false).await;
    s.declare(&ada, "liked_categories", &["toys"]).await;
    s.declare(&ada, "avoid_categories", &["garden"]).await;
    let at_basic = s
        .app
        .personalization()
        .recommend(&marketer, ada.customer(), None)
        .await
        .expect("recommend");
    assert!(at_basic.personalized);
    s.choose(&ada, Level::Off, false).await;

    let everyone = s
        .app
        .personalization()
        .recommend(&marketer, bob.customer(), None)
        .await
        .expect("recommend");
    let off = s
        .app
        .personalization()
        .recommend(&marketer, ada.customer(), None)
        .await
        .expect("recommend");
    let keys = |r: &Recommendations| -> Vec<String> {
        r.items.iter().map(|i| i.offer.key.clone()).collect()
    };
    assert!(!off.personalized);
    assert_eq!(off.explanation.level, Level::Off);
    assert!(off.explanation.basis.is_none());
    assert!(off.explanation.attributes.is_empty());
    assert!(off.explanation.counterfactual.is_none());
    assert!(off.items.iter().all(|i| i.because.is_empty()));
    assert_eq!(keys(&off), keys(&everyone), "everyone's order");
    assert_ne!(keys(&at_basic), keys(&everyone), "basic had changed it");
    assert!(
        s.last_read_fields(ada.customer()).await.is_empty(),
        "the read at off is audited, naming nothing"
    );
    assert_eq!(s.stored_rows(ada.customer()).await.len(), 2);
}

#[tokio::test]
async fn at_off_recommendations_are_everyones_sqlite() {
    at_off_recommendations_are_everyones(false).await;
}

#[tokio::test]
async fn at_off_recommendations_are_everyones_postgres() {
    at_off_recommendations_are_everyones(true).await;
}

async fn the_explanation_names_what_the_audit_names(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let id = ada.customer();
    s.choose(&ada, Level::Full, true).await;
    s.declare(&ada, "liked_categories", &["toys"]).await;
    s.declare(&ada, "avoid_categories", &["garden"]).await;
    // A derived row no recommendation consults is never read.
    s.plant_inferred(id, "preferred_channel").await;

    for purpose in [LIMITED, PROFILED] {
        let r = s
            .app
            .personalization()
            .recommend(&marketer(&s.app, purpose), id, Some(3))
            .await
            .expect("recommend");
        assert!(r.personalized);
        let mut explained = explained_keys(&r);
        let mut audited = s.last_read_fields(id).await;
        assert_eq!(explained, audited, "{purpose}");
        explained.sort();
        audited.sort();
        assert_eq!(explained, vec!["avoid_categories", "liked_categories"]);
        assert_eq!(r.items.len(), 3);
        assert_eq!(r.items[0].because, vec!["liked_categories".to_string()]);
        assert!(
            r.items.iter().all(|i| i.offer.key != "garden-tools"),
            "an avoided category is not shown"
        );
        let liked = r
            .explanation
            .attributes
            .iter()
            .find(|a| a.key == "liked_categories")
            .expect("explained");
        assert!(liked.contribution > 0.0);
        let toys = s
            .app
            .catalog()
            .personalization()
            .product_categories
            .iter()
            .find(|c| c.key == "toys")
            .map(|c| c.name.clone())
            .expect("toys are sold");
        assert!(
            liked.why.contains(&toys) && !liked.why.contains("toys"),
            "said by its name: {}",
            liked.why
        );
        // Without what she likes, an offer now pushed out would come back.
        let cf = r
            .explanation
            .counterfactual
            .as_ref()
            .expect("a counterfactual");
        assert_eq!(cf.without, "liked_categories");
        assert!(r.items.iter().all(|i| i.offer.title != cf.would_see));
    }
    // The customer's own view reads the same way, at full.
    let own = s.app.portal().recommendations(&ada).await.expect("own");
    assert_eq!(explained_keys(&own), s.last_read_fields(id).await);
    match own.explanation.basis {
        Some(steward_app::Basis::Consent { ref purpose, .. }) => assert_eq!(purpose, PROFILED),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_explanation_names_what_the_audit_names_sqlite() {
    the_explanation_names_what_the_audit_names(false).await;
}

#[tokio::test]
async fn the_explanation_names_what_the_audit_names_postgres() {
    the_explanation_names_what_the_audit_names(true).await;
}

#[tokio::test]
async fn a_purpose_outside_personalization_reads_no_profile() {
    let s = setup(false).await;
    let ada = s.customer("ada@example.com").await;
    let refused = s
        .app
        .personalization()
        .recommend(
            &marketer(&s.app, "marketing.communications.email"),
            ada.customer(),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    let bad = s
        .app
        .personalization()
        .recommend(&marketer(&s.app, LIMITED), ada.customer(), Some(0))
        .await;
    assert!(matches!(bad, Err(AppError::Invalid(_))), "{bad:?}");
}
