//! Finding and removing what crashed runs left: data files of simulations that never
//! committed (no `simulations` row).

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::layout::{Dataset, SimulationKey};
use super::StoreError;

/// An uncommitted simulation's leftovers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// Its partition keys.
    pub key: SimulationKey,
    /// Its files.
    pub files: Vec<Path>,
    /// Seconds since its newest file was modified.
    pub age_secs: i64,
}

/// Lists uncommitted simulations whose newest file is at least `min_age_secs` old (younger
/// ones may belong to a run still in progress).
pub async fn find_orphans(dataset: &Dataset, now_ms: i64, min_age_secs: i64) -> Result<Vec<Orphan>, StoreError> {
    let store = &dataset.store;
    let mut committed = BTreeSet::new();
    let mut files: BTreeMap<SimulationKey, (Vec<Path>, i64)> = BTreeMap::new();
    for table in super::registry::simulation_tables().map(|t| t.name) {
        let prefix = Path::from(table);
        let metas: Vec<_> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|source| StoreError::Object { path: table.to_owned(), source })?;
        for m in metas {
            let Some((_, key)) = SimulationKey::parse(m.location.as_ref()) else { continue };
            if table == "simulations" {
                committed.insert(key);
            } else {
                let e = files.entry(key).or_insert((Vec::new(), i64::MIN));
                e.0.push(m.location.clone());
                e.1 = e.1.max(m.last_modified.timestamp_millis());
            }
        }
    }
    Ok(files
        .into_iter()
        .filter(|(k, _)| !committed.contains(k))
        .map(|(key, (files, newest))| Orphan { key, files, age_secs: (now_ms - newest) / 1000 })
        .filter(|o| o.age_secs >= min_age_secs)
        .collect())
}

/// Deletes the orphans' files.
pub async fn remove(dataset: &Dataset, orphans: &[Orphan]) -> Result<(), StoreError> {
    for f in orphans.iter().flat_map(|o| &o.files) {
        match dataset.store.delete(f).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(StoreError::Object { path: f.to_string(), source }),
        }
    }
    Ok(())
}
