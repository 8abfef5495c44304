//! What every benchmark of this crate opens and reads the same way: the options of an
//! embedded installation with the shipped catalog, and the size it is asked to run at.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use steward_app::OpenOptions;
use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, SystemClock};

pub type BenchResult<T> = Result<T, Box<dyn Error>>;

/// An embedded SQLite installation in `data_dir` with the shipped catalog, sharing rules
/// and settings, on the system clock.
pub fn options(data_dir: &Path) -> BenchResult<OpenOptions> {
    Ok(OpenOptions {
        data_dir: data_dir.to_path_buf(),
        database_url: None,
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        catalog: Catalog::default_catalog()?,
        clock: Arc::new(SystemClock),
        controller: Default::default(),
        readable_at_least: steward_app::READABLE_AT_LEAST,
        staff_shown_as: Default::default(),
        sharing: SharingRules::shipped()?,
        security: Default::default(),
        webhooks: Default::default(),
        mail: Default::default(),
    })
}

/// The size a benchmark runs at. Under `cargo test --all-targets` (no `--bench`) it is
/// `smoke`: a short run that shows the benchmark still works. `cargo bench` passes `--bench`
/// (and possibly other flags) to a harness-less benchmark, so the size is the first argument
/// that is a number of at least `min` (`1_000_000` is read as written), else the variable
/// `env` names, else `default`.
pub fn size(smoke: usize, default: usize, min: usize, env: Option<&str>) -> BenchResult<usize> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(smoke);
    }
    if let Some(n) = std::env::args().skip(1).find_map(|a| parse_size(&a, min)) {
        return Ok(n);
    }
    match env.map(|name| (name, std::env::var(name))) {
        Some((name, Ok(v))) => parse_size(&v, min)
            .ok_or_else(|| format!("{name}={v:?} is not a number of at least {min}").into()),
        _ => Ok(default),
    }
}

fn parse_size(s: &str, min: usize) -> Option<usize> {
    s.replace('_', "")
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= min.max(1))
}
