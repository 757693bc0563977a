//! Finding damaged files: those that are not readable Parquet, to name them when a query
//! fails, and everything `simcash gc --check` reports.

use std::collections::BTreeMap;

use bytes::Bytes;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::StoreError;
use super::commit::string_bounds;
use super::delta::action::Add;
use super::layout::Dataset;
use super::registry;
use super::schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use super::table::Table;

/// Every `.parquet` object whose footer does not parse, with the reason. Reads whole files:
/// meant for the error path, not for routine checks.
pub async fn corrupt_files(dataset: &Dataset) -> Result<Vec<(String, String)>, StoreError> {
    let store = &dataset.store;
    let all: Vec<_> = store.list(None).try_collect().await.map_err(|source| StoreError::Object { path: dataset.display.clone(), source })?;
    let mut bad = Vec::new();
    for meta in all.into_iter().filter(|m| m.location.as_ref().ends_with(".parquet")) {
        let path = meta.location.to_string();
        let bytes = store
            .get(&meta.location)
            .await
            .map_err(|source| StoreError::Object { path: path.clone(), source })?
            .bytes()
            .await
            .map_err(|source| StoreError::Object { path: path.clone(), source })?;
        if let Err(e) = footer(&bytes) {
            bad.push((path, e.to_string()));
        }
    }
    Ok(bad)
}

/// A whole Parquet file's footer, parsed and checked against the file.
fn footer(bytes: &Bytes) -> Result<ParquetMetaData, ParquetError> {
    let meta = ParquetMetaDataReader::new().parse_and_finish(bytes)?;
    super::footer::check_footer(&meta, bytes.len() as u64)?;
    Ok(meta)
}

/// One problem `simcash gc --check` found, and how to repair it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where: a table, a data file or a directory, relative to the root.
    pub place: String,
    /// What is wrong.
    pub problem: String,
    /// The command or step that repairs it.
    pub repair: String,
}

/// Checks every table of the dataset: directories that are no table, logs that cannot be
/// read, live data files that are missing, of another size than their log records, not
/// readable Parquet or written by a newer schema, and what `gc` would remove. Reads every
/// live file's footer (a remote file whole).
pub async fn check(dataset: &Dataset, now_ms: i64) -> Result<Vec<Finding>, StoreError> {
    let mut found = Vec::new();
    let listed = dataset.store.list_with_delimiter(None).await.map_err(|source| StoreError::Object { path: dataset.display.clone(), source })?;
    for dir in listed.common_prefixes.iter().map(|p| p.as_ref().to_owned()) {
        if registry::get(&dir).is_none() {
            found.push(Finding {
                place: format!("{dir}/"),
                problem: "not a table of the dataset (simcash ignores it)".into(),
                repair: "move it out of the dataset root".into(),
            });
        }
    }
    let mut readable = true;
    for def in registry::TABLES {
        let table = Table::new(dataset, def);
        let snap = match table.snapshot().await {
            Ok(s) => s,
            Err(e) => {
                readable = false;
                found.push(Finding {
                    place: format!("{}/_delta_log", def.name),
                    problem: format!("the log cannot be read: {e}"),
                    repair: "restore the commit file it names from a backup (if it is the newest commit, deleting it loses that commit only)".into(),
                });
                continue;
            }
        };
        let root = Path::from(def.name);
        let objects: Vec<_> = dataset.store.list(Some(&root)).try_collect().await.map_err(|source| StoreError::Object { path: def.name.to_owned(), source })?;
        let sizes: BTreeMap<String, u64> = objects.into_iter().map(|m| (m.location.to_string(), m.size)).collect();
        for add in snap.files.values() {
            let path = table.object_path(&add.path);
            let problem = match sizes.get(path.as_ref()) {
                None => Some("the log lists it but it does not exist".to_owned()),
                Some(&size) if size != add.size as u64 => Some(format!("the file has {size} bytes but the log records {}", add.size)),
                Some(_) => footer_problem(dataset, &path).await,
            };
            if let Some(problem) = problem {
                found.push(Finding { place: path.to_string(), problem, repair: damaged_repair(add) });
            }
        }
    }
    if readable {
        for g in super::gc::find(dataset, now_ms, super::gc::DEFAULT_MIN_AGE_SECS, super::gc::DEFAULT_RETENTION_SECS).await?.iter().filter(|g| !g.is_empty()) {
            found.push(Finding {
                place: g.table.to_owned(),
                problem: format!(
                    "{} file(s) of simulations that never committed, {} no commit lists, {} superseded past the retention period",
                    g.uncommitted.len(),
                    g.unlisted.len(),
                    g.expired.len()
                ),
                repair: "`simcash gc` (once no run is writing: it leaves files younger than --min-age)".into(),
            });
        }
    }
    Ok(found)
}

/// Why a data file's footer is unusable: not Parquet, or written by a newer schema.
async fn footer_problem(dataset: &Dataset, path: &Path) -> Option<String> {
    let bytes = match async { dataset.store.get(path).await?.bytes().await }.await {
        Ok(b) => b,
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    let meta = match footer(&bytes) {
        Ok(m) => m,
        Err(e) => return Some(format!("not a readable Parquet file: {e}")),
    };
    let version = meta.file_metadata().key_value_metadata()?.iter().find(|kv| kv.key == SCHEMA_VERSION_KEY)?.value.clone()?;
    let newer = version.parse::<u32>().ok()? > SCHEMA_VERSION.parse::<u32>().ok()?;
    newer.then(|| format!("written by a newer simcash (schema {version}; this one reads {SCHEMA_VERSION})"))
}

/// How to repair a damaged data file: rerun the one simulation it holds, or restore it.
fn damaged_repair(add: &Add) -> String {
    match string_bounds(add, "simulation_id") {
        (Some(lo), Some(hi)) if lo == hi => {
            format!("restore it from a backup, or run simulation {lo} again with --overwrite (`simcash run SCENARIO --simulation-id {lo} --overwrite`)")
        }
        (Some(lo), Some(hi)) => format!("restore it from a backup: it holds rows of simulations {lo} to {hi}"),
        _ => "restore it from a backup".into(),
    }
}
