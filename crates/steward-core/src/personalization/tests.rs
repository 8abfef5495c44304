use jiff::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::Catalog;
use crate::customer::InteractionKind;
use crate::readability::flesch_reading_ease;

const DAY: i64 = 86_400_000_000;

fn book() -> Book {
    Catalog::default_catalog()
        .expect("the default catalog parses")
        .personalization()
        .clone()
}

fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().expect("a timestamp")
}

fn order(days_ago: i64, categories: &[&str]) -> Fact {
    Fact {
        kind: InteractionKind::Order,
        occurred_at: now().as_microsecond() - days_ago * DAY,
        facets: Facets {
            categories: categories.iter().map(|c| (*c).to_string()).collect(),
            ..Facets::default()
        },
    }
}

#[test]
fn levels_are_ordered_and_read_by_purpose() {
    assert!(Level::Off < Level::Basic && Level::Basic < Level::Full);
    assert_eq!(Level::ceiling_of(LIMITED), Some(Level::Basic));
    assert_eq!(Level::ceiling_of(PROFILED), Some(Level::Full));
    assert_eq!(Level::ceiling_of("marketing.communications.email"), None);
    for l in Level::ALL {
        assert_eq!(l.as_str().parse::<Level>(), Ok(*l));
        if let Some(p) = l.purpose() {
            assert_eq!(Level::ceiling_of(p), Some(*l));
        }
    }
}

#[test]
fn permits_is_the_lowest_of_level_ceiling_and_never_off() {
    for &level in Level::ALL {
        for &ceiling in Level::ALL {
            for &min in Level::ALL {
                let expected = min != Level::Off && min <= level && min <= ceiling;
                assert_eq!(
                    permits(level, ceiling, min),
                    expected,
                    "{level} {ceiling} {min}"
                );
            }
        }
    }
    assert!(!permits(
        Level::Basic,
        Level::Full,
        Source::Inferred.floor()
    ));
    assert!(permits(Level::Basic, Level::Full, Source::Declared.floor()));
    assert!(!permits(
        Level::Full,
        Level::Basic,
        Source::Observed.floor()
    ));
}

#[test]
fn only_an_ended_profiling_consent_drops_the_level() {
    use crate::consent::ConsentState;
    for state in [
        ConsentState::Withdrawn,
        ConsentState::Refused,
        ConsentState::Expired,
    ] {
        let drop = drop_after_consent(PROFILED, state).expect("a drop");
        assert_eq!(drop.at_most, Level::Basic);
        assert!(drop.delete_profiled);
    }
    assert_eq!(drop_after_consent(PROFILED, ConsentState::Given), None);
    assert_eq!(drop_after_consent(LIMITED, ConsentState::Withdrawn), None);
}

#[test]
fn only_an_upheld_objection_to_limited_turns_personalization_off() {
    let drop = drop_after_objection(LIMITED).expect("a drop");
    assert_eq!((drop.at_most, drop.delete_profiled), (Level::Off, true));
    assert_eq!(drop_after_objection(PROFILED), None);
    assert_eq!(drop_after_objection("security.fraud_prevention"), None);
}

#[test]
fn levels_are_described_in_plain_words() {
    for l in Level::ALL {
        let d = l.describe();
        for text in [d.what, d.example] {
            let score = flesch_reading_ease(text);
            assert!(score >= 60.0, "{l}: {score:.0} for {text:?}");
        }
    }
}

#[test]
fn the_default_rules_explain_themselves_plainly() {
    let book = book();
    assert!(!book.rules.is_empty());
    for r in &book.rules {
        let d = Derived {
            value: AttrValue::Text("garden".into()),
            confidence: 0.6,
            count: 6,
            total: 10,
            days: Some(95),
        };
        let text = explain(&r.explanation, &d);
        assert!(!text.contains('{'), "{text}");
        let score = flesch_reading_ease(&text);
        assert!(score >= 60.0, "{}: {score:.0} for {text:?}", r.key);
    }
}

#[test]
fn the_favourite_category_is_counted_within_its_window() {
    let book = book();
    let rule = book.rule("favourite_category").expect("the rule");
    let facts = [
        order(10, &["garden"]),
        order(20, &["garden", "books"]),
        order(30, &["garden"]),
        order(40, &["books"]),
        // Outside the 12-month window: not counted.
        order(400, &["books"]),
        order(401, &["books"]),
        order(402, &["books"]),
    ];
    let d = evaluate(rule, &facts, now()).expect("a favourite");
    assert_eq!(d.value, AttrValue::Text("garden".into()));
    assert_eq!((d.count, d.total), (3, 4));
    assert!((d.confidence - 0.75).abs() < 1e-9);
    assert_eq!(
        explain(&rule.explanation, &d),
        "You bought garden most often in the last 12 months: 3 of your 4 orders."
    );
    // Below min_count there is nothing to say.
    assert_eq!(evaluate(rule, &facts[3..4], now()), None);
}

#[test]
fn lapsing_needs_an_earlier_order() {
    let book = book();
    let rule = book.rule("lapsing").expect("the rule");
    assert_eq!(evaluate(rule, &[], now()), None);
    let lapsed = evaluate(rule, &[order(120, &[])], now()).expect("a result");
    assert_eq!(lapsed.value, AttrValue::Flag(true));
    assert_eq!(lapsed.days, Some(120));
    let recent = evaluate(rule, &[order(120, &[]), order(5, &[])], now()).expect("a result");
    assert_eq!(recent.value, AttrValue::Flag(false));
}

#[test]
fn the_preferred_channel_counts_opened_messages_only() {
    let book = book();
    let rule = book.rule("preferred_channel").expect("the rule");
    let msg = |days: i64, channel, engagement| Fact {
        kind: InteractionKind::Message,
        occurred_at: now().as_microsecond() - days * DAY,
        facets: Facets {
            channel: Some(channel),
            engagement: Some(engagement),
            ..Facets::default()
        },
    };
    let mut facts = vec![
        msg(1, Channel::Sms, Engagement::Opened),
        msg(2, Channel::Sms, Engagement::Clicked),
        msg(3, Channel::Sms, Engagement::Opened),
        msg(4, Channel::Email, Engagement::Opened),
    ];
    facts.extend((0..10).map(|d| msg(d, Channel::Email, Engagement::Delivered)));
    let d = evaluate(rule, &facts, now()).expect("a channel");
    assert_eq!(d.value, AttrValue::Text("sms".into()));
    assert_eq!((d.count, d.total), (3, 4));
}

fn refusal(extra: &str) -> String {
    Catalog::from_sources(&[
        ("default", crate::catalog::DEFAULT_CATALOG),
        ("extra", extra),
    ])
    .expect_err("refused")
    .to_string()
}

#[test]
fn the_catalog_refuses_bad_personalization_entries_by_line() {
    let rule = |body: &str| {
        format!(
            "\n[[personalization_rule]]\nkey = \"r\"\nversion = 1\nlabel = \"R\"\ncategory = \"user.behavior\"\nexplanation = \"{{count}} orders.\"\n{body}"
        )
    };
    let cases = [
        (
            rule("source = \"inferred\"\nkinds = [\"order\"]\nwindow = \"P1M\"\nexpires = \"P1D\"\ncompute = \"count\"\nmin_level = \"basic\""),
            "used at full or above",
        ),
        (
            rule("source = \"declared\"\nkinds = [\"order\"]\nwindow = \"P1M\"\nexpires = \"P1D\"\ncompute = \"count\""),
            "declared ones are the customer's",
        ),
        (
            rule("source = \"observed\"\nkinds = [\"parcel\"]\nwindow = \"P1M\"\nexpires = \"P1D\"\ncompute = \"count\""),
            "kind \"parcel\"",
        ),
        (
            rule("source = \"observed\"\nkinds = [\"order\"]\nwindow = \"P1M\"\nexpires = \"P1D\"\ncompute = \"most_frequent\"\nof = \"channel\""),
            "channel facet",
        ),
        (
            rule("source = \"observed\"\nkinds = [\"order\"]\nwindow = \"PT1H\"\nexpires = \"P1D\"\ncompute = \"count\""),
            "window must count whole days",
        ),
        (
            "\n[[personalization_rule]]\nkey = \"r\"\nversion = 1\nlabel = \"R\"\ncategory = \"user.behavior\"\nexplanation = \"{name} ordered.\"\nsource = \"observed\"\nkinds = [\"order\"]\nwindow = \"P1M\"\nexpires = \"P1D\"\ncompute = \"count\"".to_string(),
            "{name} is not a placeholder",
        ),
        (
            "\n[[product_category]]\nkey = \"garden\"\nname = \"Garden again\"".to_string(),
            "\"garden\" is defined twice",
        ),
        (
            "\n[[offer]]\nkey = \"x\"\ntitle = \"X\"\ncategory = \"cars\"".to_string(),
            "unknown product category \"cars\"",
        ),
        (
            "\n[[offer]]\nkey = \"x\"\ntitle = \"X\"\neligibility = { when = { attribute = \"shoe_size\", equals = \"9\" } }".to_string(),
            "unknown attribute \"shoe_size\"",
        ),
    ];
    let uncategorised = "\n[[attribute]]\nkey = \"sizes\"\nlabel = \"Sizes\"\ncategory = \"clothing\"\nvalues = \"product_categories\"\nmax_values = 2".to_string();
    let cases = cases
        .into_iter()
        .chain([(uncategorised, "fideslang user.* category")]);
    for (extra, expected) in cases {
        let e = refusal(&extra);
        assert!(e.contains(expected), "{e} (wanted {expected:?})");
        assert!(e.starts_with("extra:2:"), "{e} names its line");
    }
}

#[test]
fn the_book_is_served_with_the_catalog() {
    let json = serde_json::to_value(Catalog::default_catalog().expect("parses")).expect("json");
    let rules = json["personalization"]["rules"].as_array().expect("rules");
    assert!(rules.iter().any(|r| r["key"] == "favourite_category"));
}

#[test]
fn without_attributes_the_order_is_everyone_s() {
    let book = book();
    let r = rank(&book.offers, &[], 3);
    let mut generic = book.offers.clone();
    generic.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.key.cmp(&b.key)));
    let keys: Vec<&str> = r.items.iter().map(|i| i.offer.key.as_str()).collect();
    let expected: Vec<&str> = generic.iter().take(3).map(|o| o.key.as_str()).collect();
    assert_eq!(keys, expected);
    assert!(r.used.is_empty());
}

fn attr(book: &Book, key: &str, value: AttrValue, confidence: f64) -> Attr {
    Attr {
        key: key.into(),
        value,
        confidence,
        weight: book.weight(key),
    }
}

#[test]
fn attributes_raise_exclude_and_explain() {
    let book = book();
    let attrs = [
        attr(
            &book,
            "favourite_category",
            AttrValue::Text("books".into()),
            0.5,
        ),
        attr(
            &book,
            "avoid_categories",
            AttrValue::List(vec!["garden".into()]),
            1.0,
        ),
        attr(&book, "lapsing", AttrValue::Flag(true), 1.0),
    ];
    let r = rank(&book.offers, &attrs, 10);
    let keys: Vec<&str> = r.items.iter().map(|i| i.offer.key.as_str()).collect();
    assert!(!keys.contains(&"garden-tools"), "{keys:?}");
    assert_eq!(keys.first(), Some(&"welcome-back"), "{keys:?}");
    assert_eq!(r.items[1].offer.key, "summer-reading");
    let books = &r.items[1].used[0];
    assert_eq!(books.key, "favourite_category");
    assert!((books.amount - book.weight("favourite_category") * 0.5).abs() < 1e-9);
    assert_eq!(
        r.used,
        ["favourite_category", "avoid_categories", "lapsing"]
    );
    let c = counterfactual(&book.offers, &attrs, 2).expect("a counterfactual");
    assert_eq!(c.without, "lapsing");
    // A failed condition keeps the offer out.
    let back = [attr(&book, "lapsing", AttrValue::Flag(false), 1.0)];
    let r = rank(&book.offers, &back, 10);
    assert!(r.items.iter().all(|i| i.offer.key != "welcome-back"));
}

fn any_attr() -> impl Strategy<Value = Attr> {
    let keys = prop::sample::select(vec![
        "favourite_category",
        "liked_categories",
        "avoid_categories",
        "lapsing",
        "orders_last_year",
        "not_consulted",
    ]);
    let cats =
        prop::sample::subsequence(vec!["garden", "kitchen", "books", "outdoor", "toys"], 0..4);
    (keys, cats, any::<bool>(), 0.0..=1.0f64, 0.0..=5.0f64).prop_map(
        |(key, cats, flag, confidence, weight)| {
            let value = match key {
                "lapsing" => AttrValue::Flag(flag),
                "favourite_category" => {
                    AttrValue::Text(cats.first().unwrap_or(&"toys").to_string())
                }
                "orders_last_year" => AttrValue::Count(i64::from(flag)),
                _ => AttrValue::List(cats.iter().map(|c| c.to_string()).collect()),
            };
            Attr {
                key: key.into(),
                value,
                confidence,
                weight,
            }
        },
    )
}

proptest! {
    #[test]
    fn ranking_uses_only_what_it_was_given(
        attrs in prop::collection::vec(any_attr(), 0..6),
        limit in 1usize..6,
    ) {
        let book = book();
        let given: Vec<&str> = attrs.iter().map(|a| a.key.as_str()).collect();
        let r = rank(&book.offers, &attrs, limit);
        prop_assert!(r.items.len() <= limit);
        for k in &r.used {
            prop_assert!(given.contains(&k.as_str()), "{k} was not given");
        }
        for item in &r.items {
            for c in &item.used {
                prop_assert!(r.used.contains(&c.key));
            }
        }
        if let Some(c) = counterfactual(&book.offers, &attrs, limit) {
            prop_assert!(r.used.contains(&c.without), "{} not used", c.without);
            prop_assert!(r.items.iter().all(|i| i.offer.key != c.would_see));
        }
    }
}

#[test]
fn each_personalization_purpose_names_the_categories_it_processes() {
    let book = book();
    let basic = book.categories_for(LIMITED);
    let full = book.categories_for(PROFILED);
    assert!(!basic.is_empty());
    for c in &basic {
        assert!(full.contains(c), "{c}");
    }
    assert!(full.len() > basic.len(), "full adds what the rules derive");
    assert!(book.categories_for("essential.service").is_empty());
}

#[test]
fn values_are_said_in_a_readers_words() {
    let book = book();
    let garden = book
        .product_categories
        .iter()
        .find(|c| c.key == "garden")
        .expect("the default catalog sells garden things");
    assert_ne!(garden.name, garden.key);
    let both = AttrValue::List(vec!["garden".into(), "not-sold".into()]);
    assert_eq!(book.words(&both), format!("{}, not-sold", garden.name));
    assert_eq!(
        book.words(&AttrValue::Text("garden".into())),
        garden.name.as_str()
    );
    assert_eq!(book.words(&AttrValue::List(vec![])), "None");
    assert_eq!(book.words(&AttrValue::Flag(true)), "Yes");
}
