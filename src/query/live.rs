//! The live files of each table as a session last read them, with their statistics parsed.
//! Every scan asks the log for its latest version (one listing); only when a table has new
//! commits are they read, and only the statistics of new files parsed: data files are never
//! rewritten in place, so what was parsed stays right.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::store::commit::committed_groups;
use crate::store::delta::Snapshot;
use crate::store::delta::action::Add;
use crate::store::registry::TableDef;
use crate::store::table::Table;
use crate::store::{Dataset, StoreError};

/// One live data file and its parsed `stats`.
#[derive(Debug)]
pub struct LiveFile {
    /// The file's `add` action.
    pub add: Add,
    /// Its statistics (`numRecords`, `minValues`, …), when the log has them.
    pub stats: Option<Value>,
}

impl LiveFile {
    /// The file's row count, if recorded.
    pub fn rows(&self) -> Option<usize> {
        self.stats.as_ref()?.get("numRecords")?.as_u64().map(|n| n as usize)
    }
}

/// One table as of one version.
#[derive(Debug)]
pub struct Live {
    /// The snapshot read.
    pub snap: Snapshot,
    /// Its live files, in path order.
    pub files: Vec<Arc<LiveFile>>,
    groups: OnceLock<BTreeSet<String>>,
}

impl Live {
    /// The groups the `simulations` table records as committed (meaningful for that table),
    /// worked out once per version.
    pub fn committed_groups(&self) -> &BTreeSet<String> {
        self.groups.get_or_init(|| committed_groups(&self.snap))
    }
}

/// The latest [`Live`] of each table of one dataset (see the module docs).
#[derive(Debug, Default)]
pub struct LiveTables {
    tables: Mutex<HashMap<&'static str, Arc<Live>>>,
}

impl LiveTables {
    /// Table `def` of `dataset` at its latest version.
    pub async fn get(&self, dataset: &Dataset, def: &'static TableDef) -> Result<Arc<Live>, StoreError> {
        let table = Table::new(dataset, def);
        let cached = self.tables.lock().expect("not poisoned").get(def.name).cloned();
        let log_err = |source| StoreError::Log { table: def.name, source };
        let latest = match &cached {
            Some(_) => table.log().versions().await.map_err(log_err)?.last().copied().unwrap_or(-1),
            None => -1,
        };
        let snap = match &cached {
            Some(live) if latest == live.snap.version => return Ok(live.clone()),
            Some(live) if latest > live.snap.version => {
                let mut snap = live.snap.clone();
                table.log().update(&mut snap).await.map_err(log_err)?;
                snap
            }
            // First read, or the log lost commits (a crashed write undone by hand): from scratch.
            _ => table.snapshot().await?,
        };
        let old: HashMap<&str, &Arc<LiveFile>> = cached.iter().flat_map(|l| l.files.iter().map(|f| (f.add.path.as_str(), f))).collect();
        let files = snap
            .files
            .values()
            .map(|add| match old.get(add.path.as_str()) {
                // The same action (a re-added file may have new tags): parsed already.
                Some(f) if f.add == *add => Arc::clone(f),
                _ => Arc::new(LiveFile { add: add.clone(), stats: add.stats.as_deref().and_then(|s| serde_json::from_str(s).ok()) }),
            })
            .collect();
        let live = Arc::new(Live { snap, files, groups: OnceLock::new() });
        self.tables.lock().expect("not poisoned").insert(def.name, live.clone());
        Ok(live)
    }
}
