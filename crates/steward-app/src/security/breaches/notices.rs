//! What a breach owes in words: the notification to the supervisory authority (Art. 33(3)),
//! written from the register as Markdown, and the plain-language notice to each customer
//! affected (Art. 34(2)), whose text is the same for all of them and names nobody.

use std::fmt::Write;

use steward_core::breach::{Breach, Counts, Nature};

use super::{require_reader, summary};
use crate::services::Breaches;
use crate::{Actor, AppError, Steward};

fn counted(c: Counts) -> String {
    match (c.confirmed, c.possible) {
        (Some(n), Some(p)) if p > n => format!("{n} confirmed, up to {p} possibly"),
        (Some(n), _) => format!("{n} confirmed"),
        (None, Some(p)) => format!("up to {p} possibly"),
        (None, None) => "not known yet".into(),
    }
}

fn or_open(text: &Option<String>) -> &str {
    text.as_deref().unwrap_or("Not established yet.")
}

fn nature_words(n: Nature) -> &'static str {
    match n {
        Nature::Confidentiality => {
            "someone who should not have seen personal data may have seen it"
        }
        Nature::Integrity => "personal data may have been changed without authority",
        Nature::Availability => "personal data was lost or could not be reached for a time",
    }
}

impl Steward {
    /// The contact point for the authority and for customers: the response team's privacy
    /// officer when the plan names one, else the controller.
    fn breach_contact(&self) -> String {
        self.security
            .breach_plan
            .as_ref()
            .and_then(|p| p.team.iter().find(|m| m.role == "dpo"))
            .map_or_else(
                || format!("{} <{}>", self.controller.name, self.controller.email),
                |m| format!("{} <{}>", m.name, m.email),
            )
    }

    fn category_names(&self, breach: &Breach) -> Vec<String> {
        breach
            .categories
            .iter()
            .map(|c| {
                self.catalog
                    .category_name(c)
                    .map_or_else(|| c.clone(), str::to_owned)
            })
            .collect()
    }

    /// The notification for the supervisory authority, in Markdown.
    pub(crate) fn authority_notice(&self, breach: &Breach, phases: &[super::PhaseView]) -> String {
        let c = &self.controller;
        let mut md = String::new();
        let time = |t: jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
        let _ = writeln!(
            md,
            "# Notification of a personal data breach (Art. 33 GDPR)\n"
        );
        let _ = writeln!(md, "**Breach:** {}  ", breach.title);
        let _ = writeln!(md, "**Reference in our register:** {}\n", breach.id);
        let _ = writeln!(md, "## Controller\n");
        let _ = writeln!(md, "{}, {}  ", c.name, c.address.replace('\n', ", "));
        let _ = writeln!(
            md,
            "Contact point for this breach: {}\n",
            self.breach_contact()
        );
        if let Some(plan) = &self.security.breach_plan {
            let _ = writeln!(
                md,
                "Lead supervisory authority: {} ({})\n",
                plan.lead_authority.name, plan.lead_authority.contact
            );
        }
        let _ = writeln!(md, "## Nature of the breach\n");
        let natures: Vec<&str> = breach.nature.iter().map(|n| n.as_str()).collect();
        let _ = writeln!(md, "- Nature: {}", natures.join(", "));
        let _ = writeln!(md, "- Detected: {}", time(breach.detected_at));
        let _ = writeln!(md, "- Controller aware: {}", time(breach.aware_at));
        if let Some(at) = breach.processor_notice_at {
            let _ = writeln!(md, "- Processor's notice received: {}", time(at));
        }
        if let Some(w) = breach.window {
            let _ = writeln!(md, "- Period: {} to {}", time(w.from), time(w.to));
        }
        if !breach.systems.is_empty() {
            let _ = writeln!(md, "- Systems: {}", breach.systems.join(", "));
        }
        let _ = writeln!(
            md,
            "- How it was found: {}",
            breach.found_by.replace('\n', " ")
        );
        let names = self.category_names(breach);
        let _ = writeln!(
            md,
            "- Categories of personal data: {}",
            if names.is_empty() {
                "not established yet".into()
            } else {
                names.join(", ")
            }
        );
        let _ = writeln!(
            md,
            "- Special categories (Art. 9): {}",
            if breach.special_categories {
                "yes"
            } else {
                "no"
            }
        );
        let _ = writeln!(
            md,
            "- Data subjects concerned (approximately): {}",
            counted(breach.customers)
        );
        let _ = writeln!(
            md,
            "- Personal data records concerned (approximately): {}\n",
            counted(breach.records)
        );
        let _ = writeln!(
            md,
            "## Likely consequences\n\n{}\n",
            or_open(&breach.consequences)
        );
        let _ = writeln!(
            md,
            "## Measures taken\n\n{}\n",
            or_open(&breach.measures_taken)
        );
        let _ = writeln!(
            md,
            "## Measures proposed\n\n{}\n",
            or_open(&breach.measures_proposed)
        );
        if let Some(risk) = breach.risk {
            let _ = writeln!(
                md,
                "## Assessment of risk\n\n{risk}: {}\n",
                or_open(&breach.risk_reasoning)
            );
        }
        if let Some(a) = &breach.authority
            && let Some(delay) = &a.delay_reason
        {
            let _ = writeln!(md, "## Reasons for the delay\n\n{delay}\n");
        }
        if let Some(d) = &breach.customer_decision {
            let told = if d.notify {
                "The data subjects concerned are told directly.".to_owned()
            } else {
                match d.exemption {
                    Some(e) => format!(
                        "The data subjects are not told individually: Art. 34(3)({e}). {}",
                        d.evidence.as_deref().unwrap_or("")
                    ),
                    None => "The data subjects are not told individually.".into(),
                }
            };
            let _ = writeln!(md, "## Communication to data subjects\n\n{}\n", told.trim());
        }
        if !phases.is_empty() {
            let _ = writeln!(md, "## Information provided in phases\n");
            for p in phases {
                let _ = writeln!(
                    md,
                    "- {}: {}",
                    time(p.recorded_at),
                    p.phase.text.replace('\n', " ")
                );
            }
        }
        md
    }

    /// The notice to each customer affected: plain language, the same text for all.
    pub(crate) fn customer_breach_letter(&self, breach: &Breach) -> (String, String) {
        let subject = format!("About a security incident at {}", self.controller.name);
        let what: Vec<&str> = breach.nature.iter().map(|n| nature_words(*n)).collect();
        let names = self.category_names(breach);
        let data = if names.is_empty() {
            "We are still finding out which of your details were involved.".to_owned()
        } else {
            format!("The details involved are: {}.", names.join(", "))
        };
        let text = format!(
            "We are writing to tell you about a security incident that involved your personal data.\n\n\
             What happened: {what}. We learned of it on {aware}.\n\n\
             {data}\n\n\
             What it may mean for you: {consequences}\n\n\
             What we have done: {measures}\n\n\
             What you can do: be careful with emails, calls or messages that ask for your \
             details or a payment, even if they seem to come from us. We never ask for your \
             password.\n\n\
             If you have questions, write to {contact}. You can also complain to a data \
             protection authority.\n",
            what = what.join("; and "),
            aware = breach.aware_at.strftime("%-d %B %Y"),
            consequences = or_open(&breach.consequences),
            measures = or_open(&breach.measures_taken),
            contact = self.breach_contact(),
        );
        (subject, text)
    }
}

impl Breaches<'_> {
    /// The notification for the authority, as Markdown, written from the register.
    pub async fn authority_notice(
        &self,
        actor: &Actor,
        id: uuid::Uuid,
    ) -> Result<String, AppError> {
        require_reader(actor)?;
        let row = self.app.store.breach(id).await?.ok_or(AppError::NotFound)?;
        let breach = self.app.breach_of(&row)?;
        let phases = self.app.phase_views(id).await?;
        let audit = self.app.record(
            actor,
            "breach.authority_notice",
            None,
            vec![format!("breach:{id}")],
            vec![],
            Some(summary(&breach, self.app.clock.now())),
        );
        self.app.append(vec![audit]).await?;
        Ok(self.app.authority_notice(&breach, &phases))
    }
}
