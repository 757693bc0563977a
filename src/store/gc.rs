//! Finding and removing what crashed runs and rewrites left behind, table by table:
//! - *uncommitted*: data files in the log whose simulation group never committed (a run
//!   killed between its data commits and its `simulations` commit); they leave the log;
//! - *unlisted*: data files no commit names (a run killed while writing); deleted;
//! - *expired*: files removed from the table (compacted, replaced) longer ago than the
//!   retention period, which no reader of a recent snapshot needs any more (vacuum); deleted.
//!
//! Only files older than a minimum age are touched: younger ones may belong to a run that is
//! still writing.

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::StoreError;
use super::commit::{append, committed_groups, visible};
use super::delta::action::Add;
use super::layout::Dataset;
use super::registry::{self, TABLES};
use super::table::Table;

/// How old a leftover must be before `gc` touches it, by default (a run may still be writing).
pub const DEFAULT_MIN_AGE_SECS: i64 = 600;

/// How long a superseded file is kept, by default (a reader may still read an older snapshot).
pub const DEFAULT_RETENTION_SECS: i64 = 3600;

/// What `gc` found in one table.
#[derive(Debug, Clone, Default)]
pub struct Garbage {
    /// The table.
    pub table: &'static str,
    /// Live files of groups that never committed.
    pub uncommitted: Vec<Add>,
    /// Data files no commit names.
    pub unlisted: Vec<Path>,
    /// Removed files past the retention period.
    pub expired: Vec<Path>,
}

impl Garbage {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.uncommitted.is_empty() && self.unlisted.is_empty() && self.expired.is_empty()
    }
}

/// Looks for garbage in every table: files at least `min_age_secs` old, tombstones at least
/// `retention_secs` old.
pub async fn find(dataset: &Dataset, now_ms: i64, min_age_secs: i64, retention_secs: i64) -> Result<Vec<Garbage>, StoreError> {
    let sims = Table::new(dataset, registry::get("simulations").expect("registered")).snapshot_with_tombstones().await?;
    let groups = committed_groups(&sims);
    let old = |ms: i64, secs: i64| now_ms - ms >= secs * 1000;
    let mut out = Vec::new();
    for def in TABLES {
        let table = Table::new(dataset, def);
        let snap = if def.name == "simulations" { sims.clone() } else { table.snapshot_with_tombstones().await? };
        let uncommitted = snap.files.values().filter(|a| !visible(a, &groups) && old(a.modification_time, min_age_secs)).cloned().collect();
        let root = Path::from(def.name);
        let objects: Vec<_> = dataset.store.list(Some(&root)).try_collect().await.map_err(|source| StoreError::Object { path: def.name.to_owned(), source })?;
        let mut unlisted = Vec::new();
        let mut expired = Vec::new();
        for m in objects {
            let Some(rel) = m.location.as_ref().strip_prefix(&format!("{}/", def.name)).map(str::to_owned) else { continue };
            if rel.starts_with("_delta_log/") || snap.files.contains_key(&rel) {
                continue;
            }
            match snap.tombstones.get(&rel) {
                Some(r) if old(r.deletion_timestamp.unwrap_or(0), retention_secs) => expired.push(m.location),
                Some(_) => {}
                None if old(m.last_modified.timestamp_millis(), min_age_secs) && rel.ends_with(".parquet") => unlisted.push(m.location),
                None => {}
            }
        }
        out.push(Garbage { table: def.name, uncommitted, unlisted, expired });
    }
    Ok(out)
}

/// Removes what [`find`] found: uncommitted files leave their table's log (their objects go
/// once expired), unlisted and expired objects are deleted.
pub async fn remove(dataset: &Dataset, garbage: &[Garbage]) -> Result<(), StoreError> {
    for g in garbage {
        let table = Table::new(dataset, registry::get(g.table).expect("registered"));
        append(&table, g.uncommitted.iter().map(Table::remove).collect(), "DELETE").await?;
        for path in g.unlisted.iter().chain(&g.expired) {
            match dataset.store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(StoreError::Object { path: path.to_string(), source }),
            }
        }
    }
    Ok(())
}
