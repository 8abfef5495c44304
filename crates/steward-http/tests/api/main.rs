//! The REST API and the staff console over real HTTP on a real port, against a real SQLite
//! file; the console also in real headless Chromium.

mod audience_attributes;
mod breaches;
mod campaign_detail;
mod console;
mod console_import;
mod console_lists;
mod console_merge;
mod console_personalization;
mod console_tasks;
mod flows;
mod instances;
mod keyboard;
mod keys;
mod mail;
mod matrix;
mod merge;
mod narrow;
mod objections;
mod openapi;
mod personalization;
mod personalization_export;
mod portal;
mod portal_personalization;
mod readiness;
mod recipient_notices;
mod register;
mod requests;
mod security;
mod sharing;
mod subscriptions;
mod support;
mod tasks;
mod tls;
mod webdriver;
