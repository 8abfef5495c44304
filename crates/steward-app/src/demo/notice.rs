//! The demo's privacy notice: plain-language summaries for every purpose of the catalog, so
//! that `/privacy` has something to show and consents given in the demo name the version they
//! were given under. Purposes an operator's catalog adds get a summary made from the catalog.

use std::collections::BTreeMap;

use crate::consent::notices::{NoticeInput, PurposeSummary};
use crate::{Actor, AppError, Steward};

pub const DEMO_NOTICE_VERSION: &str = "demo-1";

const BODY: &str = "\
This is the privacy notice of a demonstration shop. Every customer in it is made up.

We collect only what a purpose below needs. Each value is encrypted with a key kept for \
you alone; when you ask us to erase your data, we destroy that key.

## Your rights

In our privacy portal (/portal) you can see everything we hold about you, download it, \
correct it, withdraw any consent with one click, object to marketing, restrict what we do \
with your data, or erase your account. We answer requests sent by email or post within \
one month.

## Choices you make

We never assume you said yes. Marketing starts only after you tick a box and confirm it \
through the link we email you. You can change your mind at any time, as easily.
";

/// Summaries for the purposes of the default catalog, by key.
const SUMMARIES: &[(&str, [&str; 4])] = &[
    (
        "essential.service",
        [
            "Your name, email address, phone number, postal address, date of birth and your orders.",
            "To run your account and deliver what you ordered.",
            "While you are our customer, and up to three years after our last contact with you.",
            "The firms that deliver your orders and run our computers, only for that job.",
        ],
    ),
    (
        "essential.service.operations.support",
        [
            "Your name, contact details, company and our notes on your questions.",
            "To answer your questions and fix problems with your orders.",
            "While you are our customer, and up to three years after our last contact with you.",
            "No one outside our company.",
        ],
    ),
    (
        "essential.legal_obligation",
        [
            "Your name, email address and postal address, and the privacy requests you make.",
            "The law makes us keep tax records and answer your privacy requests.",
            "As long as the law says. We keep a record of a request for two years after we answer it.",
            "Tax offices and regulators, but only when the law makes us tell them.",
        ],
    ),
    (
        "marketing.communications.email",
        [
            "Your email address, first name and the language you prefer.",
            "To send you news and offers by email, if you say yes.",
            "Until you say stop. We ask you again after 13 months.",
            "The firm that sends our emails, only for that job.",
        ],
    ),
    (
        "marketing.communications.sms",
        [
            "Your phone number and first name.",
            "To send you offers by text message, if you say yes.",
            "Until you say stop. We ask you again after 13 months.",
            "The firm that sends our text messages, only for that job.",
        ],
    ),
    (
        "personalize.content.limited",
        [
            "The kinds of product you tell us you like, or do not want.",
            "To show you first the offers that match, if you choose it. You can object at any time.",
            "Until you change your choice or delete what you told us.",
            "No one outside our company.",
        ],
    ),
    (
        "personalize.content.profiled",
        [
            "What you bought, your interests and your date of birth.",
            "To suggest things you may like, if you say yes.",
            "Until you say stop. We ask you again after 13 months.",
            "No one outside our company.",
        ],
    ),
    (
        "marketing.advertising.third_party.targeted",
        [
            "Your email address, scrambled so that it cannot be read back.",
            "So that our ad partners can show you our ads on other sites, if you say yes.",
            "Until you say stop. We ask you again after 13 months.",
            "Our advertising partners.",
        ],
    ),
];

impl Steward {
    /// The demo notice, drafted and published, unless a notice was ever written here.
    pub(crate) async fn publish_demo_notice(&self, actor: &Actor) -> Result<(), AppError> {
        if !self.store.notices().await?.is_empty() {
            return Ok(());
        }
        let summaries: BTreeMap<String, PurposeSummary> = self
            .catalog
            .purposes()
            .iter()
            .map(|p| {
                let summary = match SUMMARIES.iter().find(|(key, _)| *key == p.key) {
                    Some((_, [collected, why, how_long, recipients])) => PurposeSummary {
                        collected: (*collected).into(),
                        why: (*why).into(),
                        how_long: (*how_long).into(),
                        recipients: (*recipients).into(),
                    },
                    None => self.summary_from_catalog(&p.key, &p.description, p.requires_consent),
                };
                (p.key.clone(), summary)
            })
            .collect();
        let draft = self
            .notices()
            .create(
                actor,
                NoticeInput {
                    version: DEMO_NOTICE_VERSION.into(),
                    language: "en".into(),
                    effective_at: None,
                    material: false,
                    body: BODY.into(),
                    summaries,
                },
            )
            .await?;
        self.notices().publish(actor, draft.id).await?;
        Ok(())
    }

    fn summary_from_catalog(
        &self,
        purpose: &str,
        description: &str,
        by_consent: bool,
    ) -> PurposeSummary {
        let labels: Vec<String> = self
            .catalog
            .fields()
            .iter()
            .filter(|f| f.needed_for(purpose))
            .map(|f| f.label.to_lowercase())
            .collect();
        PurposeSummary {
            collected: if labels.is_empty() {
                "Nothing beyond what the other purposes need.".into()
            } else {
                format!("Your {}.", labels.join(", "))
            },
            why: description.into(),
            how_long: if by_consent {
                "Until you say stop.".into()
            } else {
                "While you are our customer.".into()
            },
            recipients: "No one outside our company.".into(),
        }
    }
}
