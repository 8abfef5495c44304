//! Settings that are fine for a trial and wrong for a live installation: mail written to a
//! file, and the controller still the placeholder consent receipts would name.

use super::{Check, Checked, Cx, Outcome, Severity};
use crate::Controller;

pub(super) const MAIL_LOG_MODE: Check = Check {
    id: "MAIL_LOG_MODE",
    severity: Severity::Medium,
    fix: "Set smtp_url so that mail to customers and staff is delivered instead of written to mail.log.",
    run: mail_log_mode,
};

fn mail_log_mode<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let listen = cx.facts.listen;
        Ok(if !cx.app.mailer.writes_to_log() {
            Outcome::pass("mail is delivered over SMTP")
        } else if listen.ip().is_loopback() {
            // Serving loopback only is a trial or a machine of one's own: a log will do.
            Outcome::pass(format!(
                "mail is written to mail.log; acceptable while serving {listen}, loopback only"
            ))
        } else {
            Outcome::fail(
                format!("mail is written to mail.log while serving {listen}, beyond loopback"),
                vec!["mail:log".into()],
            )
        })
    })
}

pub(super) const CONTROLLER_PLACEHOLDERS: Check = Check {
    id: "CONTROLLER_PLACEHOLDERS",
    severity: Severity::Medium,
    fix: "Set controller_name, controller_email and controller_address to the company's own details.",
    run: controller_placeholders,
};

fn controller_placeholders<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let placeholder = Controller::default();
        let c = &cx.app.controller;
        let mut left = Vec::new();
        if c.name.trim().is_empty() || c.name == placeholder.name {
            left.push("setting:controller_name".to_string());
        }
        if c.email.trim().is_empty() || c.email == placeholder.email {
            left.push("setting:controller_email".to_string());
        }
        if c.address.trim().is_empty() {
            left.push("setting:controller_address".to_string());
        }
        Ok(Outcome::none_of(
            left,
            "of the controller's details (name, email, address) are placeholders or empty",
            "the controller's name, email and address are set",
        ))
    })
}
