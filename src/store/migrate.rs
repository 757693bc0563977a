//! Converting a dataset written before schema 3 (one hive directory per simulation and table,
//! `<table>/experiment_id=<e>/iteration=<n>/simulation_id=<s>/part-0.parquet`, the
//! `simulations` file as commit marker) into Delta tables at a new root. The old root is only
//! read. Committed simulations are carried over (uncommitted leftovers are not), then the
//! experiment tables and sweep points, then the new root is compacted.

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;
use futures::TryStreamExt;
use object_store::path::Path;

use super::StoreError;
use super::commit::{Committer, GroupLimits, OnExisting, Staged, append};
use super::delta::action::Action;
use super::layout::{Dataset, SimulationKey, block_on};
use super::registry::{self, Keys, Scope};
use super::table::Table;
use super::writer::Pages;

/// What a migration carried over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Committed simulations.
    pub simulations: usize,
    /// Files of the experiment tables and sweep points.
    pub other_files: usize,
}

/// The partition values in an old path: `(experiment_id, iteration, simulation_id)`.
fn old_keys(path: &str) -> (Option<String>, Option<u32>, Option<String>) {
    let value = |name: &str| path.split('/').find_map(|p| p.strip_prefix(&format!("{name}="))).map(str::to_owned);
    (value("experiment_id"), value("iteration").and_then(|v| v.parse().ok()), value("simulation_id"))
}

fn read(old: &Dataset, path: &Path) -> Result<Vec<RecordBatch>, StoreError> {
    let reader = old.parquet_reader(path, 64 * 1024)?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|source| StoreError::Arrow { table: "(old dataset)", source })
}

/// Copies every committed simulation and every experiment-table row of `old` into `new`.
pub fn migrate(old: &Dataset, new: &Dataset, progress: &dyn Fn(usize)) -> Result<Migrated, StoreError> {
    let list = |table: &str| -> Result<Vec<Path>, StoreError> {
        let prefix = Path::from(table);
        let metas: Vec<_> =
            block_on(old.store.list(Some(&prefix)).try_collect::<Vec<_>>()).map_err(|source| StoreError::Object { path: table.to_owned(), source })?;
        let mut paths: Vec<Path> = metas.into_iter().map(|m| m.location).filter(|p| p.as_ref().ends_with(".parquet")).collect();
        paths.sort();
        Ok(paths)
    };
    let mut out = Migrated::default();
    let committer = Committer::new(new.clone(), GroupLimits::BATCH, OnExisting::Fail);
    for marker in list("simulations")? {
        let (Some(experiment_id), Some(iteration), Some(simulation_id)) = old_keys(marker.as_ref()) else { continue };
        let key = SimulationKey { experiment_id, iteration, simulation_id };
        let keys = Keys { simulation_id: &key.simulation_id, iteration: key.iteration };
        let mut adds = Vec::new();
        let mut simulation = None;
        for def in registry::simulation_tables() {
            let path = Path::from(format!(
                "{}/experiment_id={}/iteration={}/simulation_id={}/part-0.parquet",
                def.name, key.experiment_id, key.iteration, key.simulation_id
            ));
            let stored = read(old, &path)?
                .iter()
                .map(|b| def.to_stored(keys, b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| StoreError::Arrow { table: def.name, source })?;
            if def.name == "simulations" {
                let schema = def.stored_schema();
                simulation =
                    Some(datafusion::arrow::compute::concat_batches(&schema, &stored).map_err(|source| StoreError::Arrow { table: def.name, source })?);
            } else {
                let table = Table::new(new, def);
                let mut w = table.create_file(&key.experiment_id, 256 * 1024, Pages::Whole, true)?;
                for b in &stored {
                    block_on(w.write(b))?;
                }
                adds.push((def.name, block_on(w.finish(None))?));
            }
        }
        let simulation = simulation.expect("simulations is a simulation table");
        committer.stage(Staged { key, adds, simulation, with_rows: Vec::new() })?;
        out.simulations += 1;
        progress(out.simulations);
    }
    committer.flush()?;
    for def in registry::TABLES.iter().filter(|t| t.scope != Scope::Simulation) {
        let table = Table::new(new, def);
        let mut by_experiment: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
        for path in list(def.name)? {
            let (Some(experiment_id), iteration, _) = old_keys(path.as_ref()) else { continue };
            for b in read(old, &path)? {
                let stored = def
                    .to_stored(Keys { simulation_id: "", iteration: iteration.unwrap_or(0) }, &b)
                    .map_err(|source| StoreError::Arrow { table: def.name, source })?;
                by_experiment.entry(experiment_id.clone()).or_default().push(stored);
            }
            out.other_files += 1;
        }
        for (experiment_id, batches) in by_experiment {
            let add = block_on(table.write_file(&experiment_id, &batches, None))?;
            let mut actions = vec![Action::Add(add)];
            if def.name == "iterations" {
                let mut seen = std::collections::BTreeSet::new();
                for b in &batches {
                    let its = b.column_by_name("iteration").and_then(|c| c.as_any().downcast_ref::<datafusion::arrow::array::Int64Array>().cloned());
                    seen.extend(its.iter().flat_map(|a| a.values().to_vec()));
                }
                actions.extend(seen.into_iter().map(|i| {
                    Action::Txn(super::delta::action::Txn {
                        app_id: super::experiment::iteration_app(&experiment_id, i as u32),
                        version: 1,
                        last_updated: None,
                    })
                }));
            }
            block_on(append(&table, actions, "WRITE"))?;
        }
    }
    super::compact::compact(new, None, super::compact::Options::default())?;
    Ok(out)
}
