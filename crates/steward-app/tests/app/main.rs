//! Integration tests of the use cases against a real SQLite file, a real key store and (where
//! named) a real PostgreSQL server.

mod audit;
mod breach_notices;
mod breach_scope;
mod breaches;
mod campaign_schedule;
mod campaigns;
mod companies;
mod consent;
mod consent_proofs;
mod customers;
mod demo;
mod double_opt_in;
mod erasure;
mod forms;
mod import;
mod instances;
mod jobs_on_instances;
mod keys;
mod lists;
mod mail_log;
mod merge;
mod name_search;
mod objections;
mod owners;
mod personalization;
mod personalization_campaigns;
mod personalization_i8;
mod personalization_profile;
mod personalization_recompute;
mod portal;
mod recipient_notices;
mod records;
mod requests;
mod retention;
mod self_audit;
mod shares;
mod sharing;
mod signups;
mod staged_import;
mod subscriptions;
#[allow(dead_code)]
mod support;
mod tasks;
mod vendor_fixtures;
mod webhooks;
