//! Who a breach reached, worked out from the audit log that real use cases wrote.

use jiff::{SignedDuration, Timestamp};
use steward_app::core::breach::{ScopeQuery, ScopeResult};
use steward_app::core::country::CountryCode;
use steward_app::core::{Clock, Role};
use steward_app::{AppError, AuditFilter, ExportFormat, InteractionInput, Steward, customer_touch};
use uuid::Uuid;

use crate::shares::{agreement, asked, consenting, vendor_with};
use crate::support::*;
use crate::vendor_fixtures::{processor, steward};

/// The staff account the breach is about, as the audit log names it.
fn account_x() -> String {
    format!("user:{}", Uuid::now_v7())
}

fn window(from: Timestamp, to: Timestamp, actors: &[&str]) -> ScopeQuery {
    ScopeQuery {
        from,
        to,
        actors: actors.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

async fn scope(app: &Steward, query: &ScopeQuery) -> ScopeResult {
    app.audit()
        .scope(&actor(app, Role::Dpo), query, false)
        .await
        .expect("scope")
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn the_scope_names_exactly_the_customers_one_account_read_sqlite() {
    one_account_read(false).await;
}

#[tokio::test]
async fn the_scope_names_exactly_the_customers_one_account_read_postgres() {
    one_account_read(true).await;
}

async fn one_account_read(pg: bool) {
    let (_kept, app, clock) = steward(pg).await;
    let agent = agent(&app);
    let mut customers = Vec::new();
    for (i, name) in ["Adalinde", "Gracelyn", "Hedwig", "Ottoline"]
        .iter()
        .enumerate()
    {
        let c = app
            .customers()
            .create(&agent, input(&format!("c{i}@example.com"), name))
            .await
            .expect("customer");
        customers.push(c.id);
    }
    let before_reads = clock.now();
    clock.advance(SignedDuration::from_mins(30));
    let start = clock.now();
    clock.advance(SignedDuration::from_mins(30));

    // X, an administrator granted customer service, reads three customers through the real
    // use case, for a purpose that opens their email and their date of birth (a special
    // category); another account reads a fourth.
    let x = account_x();
    let x_access = app
        .access(
            &app.local_staff(&x, Role::Admin, &["essential.service"]),
            Some("essential.service"),
        )
        .expect("access");
    for id in &customers[..3] {
        let view = app.customers().get(&x_access, *id).await.expect("read");
        assert!(view.fields.contains_key("email") && view.fields.contains_key("birth_date"));
    }
    let other = app
        .access(
            &app.local_staff(&account_x(), Role::Agent, &[]),
            Some("essential.service"),
        )
        .expect("access");
    app.customers()
        .get(&other, customers[3])
        .await
        .expect("read");
    clock.advance(SignedDuration::from_mins(30));
    let end = clock.now();

    let found = scope(&app, &window(start, end, &[&x])).await;
    assert_eq!(found.affected, sorted(customers[..3].to_vec()));
    assert_eq!(found.customers, 3);
    assert_eq!(found.records, 3);
    assert!(found.fields.iter().any(|f| f == "email"));
    assert!(found.fields.iter().any(|f| f == "birth_date"));
    let catalog = app.catalog();
    for field in ["email", "birth_date"] {
        let category = &catalog.field(field).expect("field").category;
        assert!(found.categories.contains(category), "{category}");
    }
    assert!(found.special);
    assert_eq!(
        found.residencies,
        vec![(Some(CountryCode::parse("de").expect("country")), 3)]
    );
    assert!(found.encrypted_exemption_possible);

    // The same window without the account reaches the fourth customer too.
    let everyone = scope(&app, &window(start, end, &[])).await;
    assert_eq!(everyone.affected, sorted(customers.clone()));

    // Before the reads, X reached no one (creating the customers was another account).
    let earlier = scope(&app, &window(before_reads, start, &[&x])).await;
    assert_eq!(
        earlier,
        ScopeResult {
            encrypted_exemption_possible: true,
            ..Default::default()
        }
    );

    // Only the email: nothing special was reached.
    let mut email_only = window(start, end, &[&x]);
    email_only.fields = vec!["email".into()];
    let email = scope(&app, &email_only).await;
    assert_eq!(email.fields, ["email"]);
    assert_eq!(email.customers, 3);
    assert!(!email.special);
    // A category takes the categories under it; one X never named reaches no one.
    let mut demographic = window(start, end, &[&x]);
    demographic.categories = vec!["user.demographic".into()];
    let dob = scope(&app, &demographic).await;
    assert!(dob.fields.iter().any(|f| f == "birth_date"));
    assert!(dob.special);
    demographic.categories = vec!["user.financial".into()];
    assert_eq!(scope(&app, &demographic).await.customers, 0);
    // Actions narrow too: X changed nothing.
    let mut changes = window(start, end, &[&x]);
    changes.actions = vec!["customer.update".into(), "customer.erase".into()];
    assert_eq!(scope(&app, &changes).await.customers, 0);
    changes.actions = vec!["customer".into()];
    assert_eq!(scope(&app, &changes).await.customers, 3);

    // Once a key version is marked compromised, encryption exempts no one.
    let exposed = app
        .audit()
        .scope(&actor(&app, Role::Dpo), &window(start, end, &[&x]), true)
        .await
        .expect("scope");
    assert!(!exposed.encrypted_exemption_possible);
    assert_eq!(exposed.affected, found.affected);
}

#[tokio::test]
async fn a_vendor_selector_counts_the_customers_shared_with_that_vendor_sqlite() {
    shared_with_vendor(false).await;
}

#[tokio::test]
async fn a_vendor_selector_counts_the_customers_shared_with_that_vendor_postgres() {
    shared_with_vendor(true).await;
}

async fn shared_with_vendor(pg: bool) {
    let (_kept, app, clock) = steward(pg).await;
    let dpo = dpo(&app);
    let start = clock.now();
    clock.advance(SignedDuration::from_mins(1));
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let grace = consenting(&app, "grace@example.com", "Gracelyn").await;
    let hedwig = consenting(&app, "hedwig@example.com", "Hedwig").await;
    let one = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let two = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let first = app
        .shares()
        .share(&dpo, asked(one, vec![ada, grace]))
        .await
        .expect("shared");
    assert_eq!(first.shared, 2);
    app.shares()
        .share(&dpo, asked(two, vec![hedwig]))
        .await
        .expect("shared");
    clock.advance(SignedDuration::from_mins(1));
    let end = clock.now();

    let mut query = window(start, end, &[]);
    query.vendor_id = Some(one);
    let found = scope(&app, &query).await;
    assert_eq!(found.affected, sorted(vec![ada, grace]));
    assert_eq!(found.fields, ["email", "given_name"]);
    assert!(!found.special);
    query.vendor_id = Some(two);
    assert_eq!(scope(&app, &query).await.affected, vec![hedwig]);
    query.vendor_id = Some(Uuid::now_v7());
    assert_eq!(scope(&app, &query).await.customers, 0);
}

#[tokio::test]
async fn only_the_privacy_officer_asks_and_a_bad_query_is_answered_naming_the_field() {
    let (_dir, app) = app().await;
    let now: Timestamp = T0.parse().expect("time");
    let good = window(now, now + SignedDuration::from_hours(1), &[]);
    for role in [Role::Agent, Role::Marketer, Role::Auditor, Role::Admin] {
        assert!(matches!(
            app.audit().scope(&actor(&app, role), &good, false).await,
            Err(AppError::Forbidden(_))
        ));
    }
    let mut bad = window(now, now, &["customer:1"]);
    bad.fields = vec!["Email".into()];
    let Err(AppError::Invalid(errors)) = app
        .audit()
        .scope(&actor(&app, Role::Dpo), &bad, false)
        .await
    else {
        panic!("a bad query was answered");
    };
    let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(named, ["to", "actors", "fields"]);
}

/// Every action a broad run of the use cases writes is classified, so that none is silently
/// left out of a breach's scope; of the records an entry names, only customers count, erased
/// ones too.
#[tokio::test]
async fn every_action_the_use_cases_write_is_classified_and_only_customers_count() {
    let (_kept, app, clock) = steward(false).await;
    let agent = agent(&app);
    let dpo = dpo(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let grace = consenting(&app, "grace@example.com", "Gracelyn").await;
    app.customers().get(&agent, ada).await.expect("read");
    app.customers()
        .list(&agent, Default::default())
        .await
        .expect("list");
    app.customers()
        .update(
            &agent,
            ada,
            steward_app::CustomerPatch {
                fields: [("given_name".to_string(), Some("Ada".to_string()))]
                    .into_iter()
                    .collect(),
                ..Default::default()
            },
            1,
        )
        .await
        .expect("update");
    let support = access(&app, Role::Agent, "essential.service.operations.support");
    app.interactions()
        .add(
            &support,
            ada,
            InteractionInput {
                kind: "call".into(),
                occurred_at: None,
                summary: "asked about the invoice".into(),
                body: Some("wants it by post".into()),
                facets: Default::default(),
            },
        )
        .await
        .expect("interaction");
    app.interactions()
        .list(&support, ada, None, None)
        .await
        .expect("interactions");
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let share = app
        .shares()
        .share(&dpo, asked(vendor, vec![ada, grace]))
        .await
        .expect("share");
    app.shares()
        .download(&dpo, share.id)
        .await
        .expect("download");
    app.customers()
        .export(
            &operator(&app, "export", &["essential.service"]),
            "essential.service",
            ExportFormat::Jsonl,
            &mut Vec::new(),
            |_| {},
        )
        .await
        .expect("export");
    clock.advance(SignedDuration::from_mins(1));
    app.rights().erase(&dpo, grace).await.expect("erase");

    let end = clock.now() + SignedDuration::from_mins(1);
    let whole = |actor: &str| window(T0.parse().expect("time"), end, &[actor]);
    // An interaction's entry names the interaction beside the customer: only the customer
    // counts.
    let supported = scope(&app, &whole("user:agent")).await;
    assert!(supported.affected.contains(&ada));
    let mut noted = whole("user:agent");
    noted.actions = vec!["interaction".into()];
    assert_eq!(scope(&app, &noted).await.affected, vec![ada]);
    // An erased customer is still one the breach reached, their residency gone with them.
    let mut erasures = whole("user:dpo");
    erasures.actions = vec!["customer.erase".into()];
    let erased = scope(&app, &erasures).await;
    assert_eq!(erased.affected, vec![grace]);
    assert_eq!(erased.residencies, vec![(None, 1)]);

    let entries = app
        .audit()
        .search(
            &actor(&app, Role::Auditor),
            AuditFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("log");
    assert!(entries.len() < 500, "the scenario fits one page");
    let mut unclassified: Vec<&str> = entries
        .iter()
        .map(|e| e.record.action.as_str())
        .filter(|a| customer_touch(a).is_none())
        .collect();
    unclassified.sort_unstable();
    unclassified.dedup();
    assert!(unclassified.is_empty(), "not classified: {unclassified:?}");
    for touching in [
        "customer.read",
        "customer.update",
        "interaction.create",
        "share.read",
        "share.download",
        "customer.export",
        "customer.erase",
    ] {
        assert!(
            entries.iter().any(|e| e.record.action == touching),
            "the scenario wrote no {touching}"
        );
    }
}
