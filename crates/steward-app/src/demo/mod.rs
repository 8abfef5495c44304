//! The demo data set: deterministic (fixed seed) and clearly fake — every email is at a
//! reserved example domain and every phone number is a made-up one. It is loaded through the
//! same sealing, indexing and audit path as any import.

pub(crate) mod notice;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use steward_core::CountryCode;
use steward_core::customer::InteractionKind;
use steward_core::personalization::Facets;
use steward_store::ChangeSet;

use crate::collection::interactions::NewInteraction;
use crate::{Actor, AppError, Steward};

pub const DEMO_SEED: u64 = 0x5757_4152_4421;
pub const DEMO_CUSTOMERS: usize = 1_000;

const GIVEN: &[&str] = &[
    "Adalind",
    "Bertrand",
    "Cosima",
    "Desmond",
    "Elowen",
    "Fabrizio",
    "Gwendolyn",
    "Horatio",
    "Isolde",
    "Jasper",
    "Katarina",
    "Leopold",
    "Marisol",
    "Nikolai",
    "Ottilie",
    "Peregrin",
    "Quintessa",
    "Rosalind",
    "Severin",
    "Theodora",
    "Ulrika",
    "Valentin",
    "Wilhelmina",
    "Xavier",
    "Yolanda",
    "Zebulon",
    "Annika",
    "Benedikt",
    "Clementine",
    "Dorian",
];
const FAMILY: &[&str] = &[
    "Abernathy",
    "Blackwood",
    "Castellano",
    "Dunmore",
    "Eriksdottir",
    "Fairweather",
    "Grimaldi",
    "Hollingsworth",
    "Ivanovska",
    "Jablonski",
    "Kowalczyk",
    "Lindqvist",
    "Montgomery",
    "Nakashima",
    "Oyelaran",
    "Pemberton",
    "Quackenbush",
    "Rasmussen",
    "Stravinsky",
    "Thistlewood",
    "Underhill",
    "Vanderbilt",
    "Whitlock",
    "Yamamura",
    "Zielinski",
    "Ashcombe",
    "Brightwater",
    "Coldfield",
    "Dewhurst",
    "Evergreen",
];
/// Residencies inside and outside the EU, with their calling codes and languages.
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("DE", "49", "de"),
    ("FR", "33", "fr"),
    ("ES", "34", "es"),
    ("IT", "39", "it"),
    ("NL", "31", "nl"),
    ("SE", "46", "sv"),
    ("PL", "48", "pl"),
    ("IE", "353", "en-IE"),
    ("US", "1", "en-US"),
    ("GB", "44", "en-GB"),
    ("CH", "41", "de-CH"),
    ("JP", "81", "ja"),
    ("BR", "55", "pt-BR"),
    ("IN", "91", "hi"),
    ("CA", "1", "en-CA"),
    ("AU", "61", "en-AU"),
];
const STREETS: &[&str] = &[
    "Example Street",
    "Sample Road",
    "Placeholder Lane",
    "Fictional Avenue",
    "Demo Square",
];
const COMPANIES: &[&str] = &[
    "Acme Demo Ltd",
    "Globex Example",
    "Initech Sample",
    "Umbrella Test Co",
];
const SUMMARIES: &[(InteractionKind, &str)] = &[
    (InteractionKind::Order, "Placed an order"),
    (InteractionKind::Order, "Order delivered"),
    (InteractionKind::Email, "Asked about delivery times"),
    (InteractionKind::Call, "Called about a refund"),
    (InteractionKind::Ticket, "Opened a ticket: damaged item"),
    (InteractionKind::Note, "Prefers contact in the morning"),
    (InteractionKind::WebVisit, "Visited the product pages"),
    (InteractionKind::WebVisit, "Browsed the sale"),
];

/// One demo customer's values, in catalog keys.
pub struct DemoCustomer {
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub phone: String,
    pub residency: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

/// The demo customers, identical on every call.
pub fn customers(n: usize) -> Vec<DemoCustomer> {
    let mut rng = ChaCha8Rng::seed_from_u64(DEMO_SEED);
    (0..n)
        .map(|i| {
            let given = GIVEN[rng.gen_range(0..GIVEN.len())];
            let family = FAMILY[rng.gen_range(0..FAMILY.len())];
            let (country, calling, lang) = COUNTRIES[rng.gen_range(0..COUNTRIES.len())];
            let email = format!(
                "{}.{}.{i}@example.com",
                given.to_lowercase(),
                family.to_lowercase()
            );
            let phone = format!("+{calling}{}", rng.gen_range(200_000_000u64..999_999_999));
            let birth = format!(
                "{}-{:02}-{:02}",
                rng.gen_range(1940..2006),
                rng.gen_range(1..13),
                rng.gen_range(1..29)
            );
            let address = format!(
                "{} {}\n{} Democity",
                rng.gen_range(1..250),
                STREETS.choose(&mut rng).unwrap_or(&STREETS[0]),
                rng.gen_range(10_000..99_999)
            );
            let mut fields = vec![
                ("given_name", given.to_string()),
                ("family_name", family.to_string()),
                ("email", email.clone()),
                ("phone", phone.clone()),
                ("postal_address", address),
                ("birth_date", birth),
                ("preferred_language", lang.to_string()),
            ];
            if rng.gen_bool(0.3) {
                fields.push((
                    "company",
                    COMPANIES
                        .choose(&mut rng)
                        .unwrap_or(&COMPANIES[0])
                        .to_string(),
                ));
            }
            DemoCustomer {
                given_name: given.to_string(),
                family_name: family.to_string(),
                email,
                phone,
                residency: country,
                fields,
            }
        })
        .collect()
}

impl Steward {
    /// Loads the demo data set into an empty database, and publishes the demo's privacy
    /// notice where none was ever written. Returns how many customers were created (0 when
    /// the database already holds customers).
    pub async fn load_demo(&self) -> Result<usize, AppError> {
        let actor = Actor::system("demo", &["essential.service"]);
        self.publish_demo_notice(&actor).await?;
        if self.store.count_customers().await? > 0 {
            return Ok(0);
        }
        let access = self.access(&actor, Some("essential.service"))?;
        let mut rng = ChaCha8Rng::seed_from_u64(DEMO_SEED ^ 1);
        let categories = &self.catalog.personalization().product_categories;
        let now = self.clock.now().as_microsecond();
        let demo = customers(DEMO_CUSTOMERS);
        for chunk in demo.chunks(250) {
            let mut changes = ChangeSet::default();
            let mut keys = Vec::with_capacity(chunk.len());
            let mut targets = Vec::with_capacity(chunk.len());
            for c in chunk {
                let values = crate::collection::minimisation::check_values(
                    &self.catalog,
                    &access,
                    c.fields.iter().map(|(k, v)| (*k, v.as_str())),
                    crate::collection::minimisation::GivenConsents::NONE,
                )
                .map_err(AppError::Invalid)?;
                let residency = CountryCode::parse(c.residency)
                    .map_err(|e| AppError::invalid("residency", e.to_string()))?;
                let tags = if rng.gen_bool(0.2) {
                    vec!["vip".to_string()]
                } else {
                    Vec::new()
                };
                let crate::collection::customers::Sealed { write, key, dek } =
                    self.seal_new(&values, residency, tags, now)?;
                let id = write.row.id;
                for _ in 0..rng.gen_range(6..15) {
                    let (kind, summary) = SUMMARIES[rng.gen_range(0..SUMMARIES.len())];
                    let days_ago: i64 = rng.gen_range(0..730);
                    // Web visits are kept 90 days by the default retention rules.
                    let days_ago = if kind == InteractionKind::WebVisit {
                        days_ago % 90
                    } else {
                        days_ago
                    };
                    let at = now - days_ago * 86_400_000_000 - rng.gen_range(0..86_400_000_000i64);
                    // Demo orders name a product category, so a profile can be derived; it is
                    // picked from the order's date, leaving the random sequence as it was.
                    let category = categories
                        .get(usize::try_from(days_ago).unwrap_or(0) % categories.len().max(1));
                    let facets = match (kind, category) {
                        (InteractionKind::Order, Some(c)) => Facets {
                            categories: vec![c.key.clone()],
                            ..Facets::default()
                        },
                        _ => Facets::default(),
                    };
                    let new = NewInteraction {
                        kind,
                        occurred_at: at,
                        summary,
                        body: None,
                        facets: &facets,
                    };
                    changes
                        .interactions
                        .push(self.seal_interaction(&dek, id, new, now));
                }
                targets.push(id.to_string());
                keys.push(key);
                changes.inserts.push(write);
            }
            let mut record = self.access_record(&access, "customer.import", targets, vec![]);
            record.detail = Some("demo data".into());
            changes.audit.push(record);
            self.keys.put_data_keys(&keys).await?;
            self.store.apply(changes).await?;
        }
        Ok(DEMO_CUSTOMERS)
    }
}
