//! What the customer sees and controls of their profile, on both engines: every attribute kept
//! whatever the level, a derived one deleted stays out of the next recompute until allowed again,
//! offers marketers add and retire, and the notice that describes every level and rule.

use steward_app::core::Role;
use steward_app::core::personalization::{Facets, LIMITED, Level, PROFILED, Source};
use steward_app::{AppError, AuditFilter, Evidence, InteractionInput, Recommendations, Subject};

use crate::personalization::*;
use crate::support::*;

async fn the_customer_sees_every_attribute_kept_whatever_the_level(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let id = ada.customer();
    s.choose(&ada, Level::Basic, false).await;
    s.declare(&ada, "liked_categories", &["books"]).await;
    s.choose(&ada, Level::Off, false).await;
    let overview = s.app.portal().overview(&ada).await.expect("overview");
    let held = &overview.personalization;
    assert_eq!(
        (held.level.chosen, held.level.effective),
        (Level::Off, Level::Off)
    );
    let reasons: Vec<(Level, Level)> = held
        .level
        .history
        .iter()
        .map(|e| (e.previous, e.level))
        .collect();
    assert_eq!(
        reasons,
        vec![(Level::Off, Level::Basic), (Level::Basic, Level::Off)]
    );
    let kept: Vec<(&str, String)> = held
        .attributes
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_text()))
        .collect();
    assert_eq!(
        kept,
        vec![("liked_categories", "books".to_string())],
        "kept is disclosed, used or not"
    );
    let entries = s
        .app
        .audit()
        .search(
            &actor(&s.app, Role::Auditor),
            AuditFilter {
                newest_first: true,
                limit: 1,
                action: Some("portal.view".into()),
                target: Some(id.to_string()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert!(
        entries[0]
            .record
            .fields
            .contains(&"attr:liked_categories".to_string()),
        "{:?}",
        entries[0].record.fields
    );
}

#[tokio::test]
async fn the_customer_sees_every_attribute_kept_whatever_the_level_sqlite() {
    the_customer_sees_every_attribute_kept_whatever_the_level(false).await;
}

#[tokio::test]
async fn the_customer_sees_every_attribute_kept_whatever_the_level_postgres() {
    the_customer_sees_every_attribute_kept_whatever_the_level(true).await;
}

async fn deleting_a_derived_attribute_keeps_it_from_coming_back(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let id = ada.customer();
    let own = s.app.own_rights();
    own.correct_attribute(&ada, "liked_categories", vec!["books".into()])
        .await
        .expect("declare");
    s.plant_inferred(id, "favourite_category").await;
    own.delete_attribute(&ada, "favourite_category")
        .await
        .expect("delete derived");
    own.delete_attribute(&ada, "liked_categories")
        .await
        .expect("delete declared");
    assert!(s.stored_rows(id).await.is_empty());
    let page = s.app.portal().personalization(&ada).await.expect("page");
    let suppressed: Vec<&str> = page.suppressed.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        suppressed,
        vec!["favourite_category"],
        "only what we derived is held back; what she said is simply gone"
    );
    assert_eq!(page.levels.len(), Level::ALL.len());
    own.allow_attribute(&ada, "favourite_category")
        .await
        .expect("allow");
    let page = s.app.portal().personalization(&ada).await.expect("page");
    assert!(page.suppressed.is_empty());

    // Staff keep and correct profiles only for the legal obligation.
    let refused = s.app.personalization().attributes(&agent(&s.app), id).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    let dpo = dpo(&s.app);
    s.app
        .personalization()
        .put_attribute(&dpo, id, "avoid_categories", vec!["toys".into()])
        .await
        .expect("put");
    let bad = s
        .app
        .personalization()
        .put_attribute(&dpo, id, "favourite_category", vec!["toys".into()])
        .await;
    assert!(matches!(bad, Err(AppError::Invalid(_))), "{bad:?}");
    let bad = s
        .app
        .personalization()
        .put_attribute(&dpo, id, "avoid_categories", vec!["astrology".into()])
        .await;
    assert!(matches!(bad, Err(AppError::Invalid(_))), "{bad:?}");
    let kept = s
        .app
        .personalization()
        .attributes(&dpo, id)
        .await
        .expect("attributes");
    assert_eq!(
        kept.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        vec!["avoid_categories"]
    );
    assert_eq!(s.last_read_fields(id).await, vec!["avoid_categories"]);
}

#[tokio::test]
async fn deleting_a_derived_attribute_keeps_it_from_coming_back_sqlite() {
    deleting_a_derived_attribute_keeps_it_from_coming_back(false).await;
}

#[tokio::test]
async fn deleting_a_derived_attribute_keeps_it_from_coming_back_postgres() {
    deleting_a_derived_attribute_keeps_it_from_coming_back(true).await;
}

#[tokio::test]
async fn a_new_offer_is_recommended_and_a_retired_one_no_more() {
    let s = setup(false).await;
    let ada = s.customer("ada@example.com").await;
    let marketing = actor(&s.app, Role::Marketer);
    s.choose(&ada, Level::Basic, false).await;
    s.declare(&ada, "liked_categories", &["kitchen"]).await;
    let offer: steward_app::core::personalization::Offer = serde_json::from_value(
        serde_json::json!({"key": "pans", "title": "Pans", "category": "kitchen", "priority": 20}),
    )
    .expect("offer");
    let refused = s
        .app
        .personalization()
        .create_offer(&actor(&s.app, Role::Agent), offer.clone())
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    let made = s
        .app
        .personalization()
        .create_offer(&marketing, offer.clone())
        .await
        .expect("create");
    assert_eq!((made.origin.as_str(), made.retired_at), ("api", None));
    let again = s
        .app
        .personalization()
        .create_offer(&marketing, offer)
        .await;
    assert!(
        matches!(again, Err(AppError::Duplicate { .. })),
        "{again:?}"
    );
    let first = |r: &Recommendations| r.items[0].offer.key.clone();
    let r = s
        .app
        .personalization()
        .recommend(&marketer(&s.app, LIMITED), ada.customer(), None)
        .await
        .expect("recommend");
    assert_eq!(first(&r), "pans");
    s.app
        .personalization()
        .retire_offer(&marketing, "pans")
        .await
        .expect("retire");
    let r = s
        .app
        .personalization()
        .recommend(&marketer(&s.app, LIMITED), ada.customer(), None)
        .await
        .expect("recommend");
    assert!(r.items.iter().all(|i| i.offer.key != "pans"));
    let listed = s
        .app
        .personalization()
        .offers(&marketing)
        .await
        .expect("offers");
    assert!(
        listed
            .iter()
            .any(|o| o.offer.key == "pans" && o.retired_at.is_some())
    );
}

#[tokio::test]
async fn the_notice_describes_every_level_and_rule_of_the_catalog() {
    let s = setup(false).await;
    let how = s.app.personalization().how_it_works();
    let levels: Vec<Level> = how.levels.iter().map(|l| l.level).collect();
    assert_eq!(levels, Level::ALL.to_vec());
    let book = s.app.catalog().personalization();
    let rules: Vec<&str> = how.rules.iter().map(|r| r.key.as_str()).collect();
    let catalog: Vec<&str> = book.rules.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(rules, catalog);
    for r in &how.rules {
        assert!(!r.reads.is_empty() && !r.window.is_empty(), "{}", r.key);
    }
    assert!(
        !how.hard_to_read,
        "the section reads at {} (Flesch)",
        how.readability
    );
}

/// The keys derived for `customer`, as the gate shows them to the customer.
async fn derived_keys(s: &Setup, ada: &Subject) -> Vec<String> {
    let page = s.app.portal().personalization(ada).await.expect("page");
    page.attributes
        .iter()
        .filter(|a| a.source != Source::Declared)
        .map(|a| a.key.clone())
        .collect()
}

async fn a_deleted_inference_stays_out_of_every_recompute_until_allowed(pg: bool) {
    let s = setup(pg).await;
    let ada = s.customer("ada@example.com").await;
    let id = ada.customer();
    let own = s.app.own_rights();
    own.choose_level(&ada, Level::Full, true, &Evidence::default())
        .await
        .expect("full with consent");
    for category in ["garden", "garden", "garden", "books"] {
        s.app
            .interactions()
            .add(
                &agent(&s.app),
                id,
                InteractionInput {
                    kind: "order".into(),
                    occurred_at: None,
                    summary: "an order".into(),
                    body: None,
                    facets: Facets {
                        categories: vec![category.into()],
                        ..Facets::default()
                    },
                },
            )
            .await
            .expect("order");
    }
    let job = operator(&s.app, "personalization", &[PROFILED]);
    let recompute = || async {
        s.app
            .personalization()
            .recompute(&job, |_| {})
            .await
            .expect("recompute")
    };
    recompute().await;
    assert!(
        derived_keys(&s, &ada)
            .await
            .contains(&"favourite_category".to_string()),
        "the orders make garden her favourite"
    );

    own.delete_attribute(&ada, "favourite_category")
        .await
        .expect("delete");
    recompute().await;
    recompute().await;
    assert!(
        !derived_keys(&s, &ada)
            .await
            .contains(&"favourite_category".to_string()),
        "a deleted inference is never derived again on its own"
    );
    assert!(
        !s.stored_rows(id)
            .await
            .iter()
            .any(|(key, _)| key == "favourite_category"),
        "nor stored"
    );

    own.allow_attribute(&ada, "favourite_category")
        .await
        .expect("allow");
    recompute().await;
    assert!(
        derived_keys(&s, &ada)
            .await
            .contains(&"favourite_category".to_string()),
        "allowed again, the next run derives it"
    );
}

#[tokio::test]
async fn a_deleted_inference_stays_out_of_every_recompute_until_allowed_sqlite() {
    a_deleted_inference_stays_out_of_every_recompute_until_allowed(false).await;
}

#[tokio::test]
async fn a_deleted_inference_stays_out_of_every_recompute_until_allowed_postgres() {
    a_deleted_inference_stays_out_of_every_recompute_until_allowed(true).await;
}
