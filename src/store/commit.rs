//! Group commit: simulations whose data files are complete wait here, and are committed many
//! at a time. One flush commits, in order, the data tables (`events`, `agent_ticks`,
//! `ticks`; their files tagged with the flush's group id), then `simulations` (one file
//! with every row of the group, a `txn` per simulation and one for the group), then rows of
//! other tables that ride along (sweep points). Readers show a data file only when its group
//! is committed in `simulations`, so a crash before that leaves nothing visible to the views.
//!
//! A *spooled* committer (one per worker thread of a batch runner) also owns the data files
//! its simulations stream into: consecutive simulations append to the same open files, which
//! the flush completes and commits as the group's files, so a sweep writes a few large files
//! instead of three per simulation. Rows of a simulation that must not be committed (it
//! failed, or its id was taken) are filtered out of those files before they are committed.
//!
//! The same simulation id committed twice: `txn` versions decide. A flush reads the
//! simulation's `txn` and commits the next version; a concurrent commit of the same id makes
//! one of them lose, and the loser fails, skips, or (overwrite) replaces.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::array::{AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, take_record_batch};
use datafusion::arrow::datatypes::Int64Type;
use object_store::ObjectStoreExt;

use super::StoreError;
use super::delta::action::{Action, Add, Txn};
use super::delta::{Conflict, LogError, Snapshot};
use super::layout::runtime;
use super::layout::{Dataset, SimulationKey};
use super::registry::{self, TableDef};
use super::table::{FileWriter, GROUP_TAG, Table, Tags};
use super::writer::Pages;

/// A simulation whose data files are written, waiting for its commit.
#[derive(Debug, Clone)]
pub struct Staged {
    /// Which simulation.
    pub key: SimulationKey,
    /// Its data files, by table.
    pub adds: Vec<(&'static str, Add)>,
    /// Its `simulations` row (stored schema).
    pub simulation: RecordBatch,
    /// Rows of other tables committed after it (stored schema), e.g. its sweep point.
    pub with_rows: Vec<(&'static str, RecordBatch)>,
}

impl Staged {
    fn bytes(&self) -> u64 {
        self.adds.iter().map(|(_, a)| a.size.max(0) as u64).sum()
    }
}

/// `batch` in buffers of its exact size.
fn exact(table: &'static str, batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    let all = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
    take_record_batch(batch, &all).map_err(|source| StoreError::Arrow { table, source })
}

/// What to do when a staged simulation's id is already committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Fail with [`StoreError::AlreadyExists`].
    Fail,
    /// Drop the new one silently (sweep points: the same id is the same simulation).
    Skip,
    /// Replace the committed one.
    Replace,
}

/// When a group is committed: whichever limit is reached first.
#[derive(Debug, Clone, Copy)]
pub struct GroupLimits {
    /// Simulations per commit.
    pub simulations: usize,
    /// Data bytes per commit.
    pub bytes: u64,
    /// Time the oldest waiting simulation waits.
    pub age: Duration,
}

impl GroupLimits {
    /// Commit each simulation as it is staged (a CLI run).
    pub const IMMEDIATE: GroupLimits = GroupLimits { simulations: 1, bytes: 0, age: Duration::ZERO };
    /// Batch runners (per worker): up to 2,000 simulations, 256 MB or 30 seconds per commit.
    /// The age bounds the work a kill loses and how long finished simulations stay invisible.
    pub const BATCH: GroupLimits = GroupLimits { simulations: 2_000, bytes: 256 << 20, age: Duration::from_secs(30) };
}

#[derive(Default)]
struct Pending {
    sims: Vec<Staged>,
    bytes: u64,
    since: Option<Instant>,
    /// Simulations whose rows are in the spool files but must not be committed.
    dropped: Vec<SimulationKey>,
}

/// The open data files of a spooled committer, per experiment: `events`, `agent_ticks`,
/// `ticks`, in [`SPOOLED`] order.
pub type SpoolFiles = Vec<FileWriter>;

/// The tables a spool writes, in order.
pub const SPOOLED: [&str; 3] = ["events", "agent_ticks", "ticks"];

/// Rows per row group of spool files: each open file buffers one row group in memory. A query
/// of one simulation decodes only the pages that can hold it (pages are bounded in rows), so
/// row groups can be long, which keeps footers short (each row group repeats every column's
/// metadata).
const SPOOL_ROW_GROUP_ROWS: usize = 256 * 1024;

/// Commits staged simulations in groups (see the module docs).
pub struct Committer {
    dataset: Dataset,
    limits: GroupLimits,
    on_existing: OnExisting,
    pending: Mutex<Pending>,
    flushing: Mutex<()>,
    skipped: Mutex<Vec<SimulationKey>>,
    /// `Some` for a spooled committer: the open files, by experiment.
    spool: Option<Mutex<BTreeMap<String, SpoolFiles>>>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").field("dataset", &self.dataset.display).field("limits", &self.limits).finish()
    }
}

/// The `txn` application id that records a committed simulation.
pub fn simulation_app(key: &SimulationKey) -> String {
    format!("simcash.simulation/{}/{}/{}", key.experiment_id, key.iteration, key.simulation_id)
}

/// The `txn` application id that commits a group's data files.
pub fn group_app(group: &str) -> String {
    format!("simcash.group/{group}")
}

/// The committed groups of a `simulations` snapshot.
pub fn committed_groups(simulations: &Snapshot) -> BTreeSet<String> {
    simulations.txns.keys().filter_map(|k| k.strip_prefix("simcash.group/")).map(str::to_owned).collect()
}

/// Whether a data file is visible given the committed groups: files written by compaction or
/// migration carry no group and hold committed rows only.
pub fn visible(add: &Add, groups: &BTreeSet<String>) -> bool {
    group(add).is_none_or(|g| groups.contains(g))
}

/// The simulation group a data file belongs to, if a runner wrote it.
pub fn group(add: &Add) -> Option<&str> {
    add.tags.as_ref()?.get(GROUP_TAG)?.as_deref()
}

/// Whether a simulation id is committed in a `simulations` snapshot.
pub fn is_committed(simulations: &Snapshot, key: &SimulationKey) -> bool {
    simulations.txns.get(&simulation_app(key)).is_some_and(|v| *v > 0)
}

impl Committer {
    /// A committer into `dataset`.
    pub fn new(dataset: Dataset, limits: GroupLimits, on_existing: OnExisting) -> Committer {
        Committer {
            dataset,
            limits,
            on_existing,
            pending: Mutex::new(Pending::default()),
            flushing: Mutex::new(()),
            skipped: Mutex::new(Vec::new()),
            spool: None,
        }
    }

    /// A committer whose simulations write into shared files it owns (one simulation at a
    /// time: give each worker thread its own).
    pub fn spooled(dataset: Dataset, limits: GroupLimits, on_existing: OnExisting) -> Committer {
        Committer { spool: Some(Mutex::new(BTreeMap::new())), ..Committer::new(dataset, limits, on_existing) }
    }

    /// Whether simulations write into this committer's files ([`Committer::take_spool`]).
    pub fn is_spooled(&self) -> bool {
        self.spool.is_some()
    }

    /// The open files of `experiment_id` (new ones if there are none) for the next
    /// simulation, which returns them with [`Committer::stage_spooled`] or
    /// [`Committer::drop_spooled`].
    pub fn take_spool(&self, experiment_id: &str) -> Result<SpoolFiles, StoreError> {
        let spool = self.spool.as_ref().expect("a spooled committer");
        if let Some(files) = spool.lock().expect("not poisoned").remove(experiment_id) {
            return Ok(files);
        }
        SPOOLED
            .iter()
            .map(|t| Table::new(&self.dataset, registry::get(t).expect("registered")).create_file(experiment_id, SPOOL_ROW_GROUP_ROWS, Pages::Bounded, false))
            .collect()
    }

    fn put_spool(&self, experiment_id: &str, files: SpoolFiles) -> u64 {
        let bytes = files.iter().map(|f| f.bytes_written() as u64).sum();
        self.spool.as_ref().expect("a spooled committer").lock().expect("not poisoned").insert(experiment_id.to_owned(), files);
        bytes
    }

    /// Returns the spool files with the finished simulation's rows in them, and stages it.
    pub fn stage_spooled(&self, staged: Staged, files: SpoolFiles) -> Result<(), StoreError> {
        let bytes = self.put_spool(&staged.key.experiment_id, files);
        self.stage_with(staged, Some(bytes))
    }

    /// Returns the spool files holding some rows of a simulation that stopped: they are left
    /// out of the commit.
    pub fn drop_spooled(&self, key: &SimulationKey, files: SpoolFiles) {
        self.put_spool(&key.experiment_id, files);
        self.pending.lock().expect("not poisoned").dropped.push(key.clone());
    }

    /// Forgets the staged simulations of `experiment_id` after a write to its spool files
    /// failed (the writer abandoned the files, and with them those simulations' rows).
    pub fn lose_spool(&self, experiment_id: &str) {
        self.pending.lock().expect("not poisoned").sims.retain(|s| s.key.experiment_id != experiment_id);
    }

    /// Simulations dropped because their id was already committed ([`OnExisting::Skip`]).
    pub fn skipped(&self) -> Vec<SimulationKey> {
        self.skipped.lock().expect("not poisoned").clone()
    }

    /// Queues a simulation; commits the group when a limit is reached.
    pub fn stage(&self, staged: Staged) -> Result<(), StoreError> {
        self.stage_with(staged, None)
    }

    /// Queues a simulation; `spool_bytes`: the size of the spool files now.
    fn stage_with(&self, mut staged: Staged, spool_bytes: Option<u64>) -> Result<(), StoreError> {
        // A group holds thousands of these one-row batches: copied to exact size, each takes a
        // few kB instead of its builders' capacity (37 kB for a sweep point's two batches).
        staged.simulation = exact("simulations", &staged.simulation)?;
        for (table, batch) in &mut staged.with_rows {
            *batch = exact(table, batch)?;
        }
        let due = {
            let mut p = self.pending.lock().expect("not poisoned");
            p.bytes = spool_bytes.unwrap_or(p.bytes + staged.bytes());
            p.since.get_or_insert_with(Instant::now);
            p.sims.push(staged);
            p.sims.len() >= self.limits.simulations || p.bytes >= self.limits.bytes || p.since.is_some_and(|t| t.elapsed() >= self.limits.age)
        };
        if due { self.flush() } else { Ok(()) }
    }

    /// Commits everything staged so far.
    pub fn flush(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.flushing.lock().expect("not poisoned");
        let Pending { sims, dropped, .. } = std::mem::take(&mut *self.pending.lock().expect("not poisoned"));
        let spooled = self.spool.as_ref().map(|s| std::mem::take(&mut *s.lock().expect("not poisoned"))).unwrap_or_default();
        if sims.is_empty() && spooled.is_empty() {
            return Ok(());
        }
        runtime().block_on(async {
            let mut files = Vec::new();
            for (_, writers) in spooled {
                for (table, w) in SPOOLED.iter().zip(writers) {
                    files.push((*table, w.finish(None).await?));
                }
            }
            self.commit_group(sims, files, dropped).await
        })
    }

    async fn commit_group(&self, mut sims: Vec<Staged>, mut spooled: Vec<(&'static str, Add)>, mut dropped: Vec<SimulationKey>) -> Result<(), StoreError> {
        let simulations = Table::new(&self.dataset, registry::get("simulations").expect("registered"));
        let group = super::table::nonce();
        let tags: Tags = Some(BTreeMap::from([(GROUP_TAG.to_owned(), Some(group.clone()))]));
        // Checked here as well as by every commit below: here, nothing is appended yet, so the
        // group's files can simply be deleted.
        if let Err(e) = self.dataset.check_root() {
            self.discard_all(sims.iter(), &spooled).await;
            return Err(e);
        }
        loop {
            let snap = simulations.snapshot().await?;
            let mut failed = None;
            let mut replace = Vec::new();
            let mut keep = Vec::new();
            for s in sims {
                match (snap.txns.get(&simulation_app(&s.key)).copied().unwrap_or(0), self.on_existing) {
                    (0, _) => keep.push((s, 0)),
                    (v, OnExisting::Replace) => {
                        replace.push(s.key.clone());
                        keep.push((s, v));
                    }
                    (_, OnExisting::Skip) => {
                        self.skipped.lock().expect("not poisoned").push(s.key.clone());
                        dropped.push(s.key.clone());
                        self.discard(&s).await;
                    }
                    (_, OnExisting::Fail) => {
                        failed.get_or_insert_with(|| already_exists(&s.key));
                        dropped.push(s.key.clone());
                        self.discard(&s).await;
                    }
                }
            }
            if failed.is_some() || keep.is_empty() {
                self.discard_all(keep.iter().map(|(s, _)| s), &spooled).await;
                return failed.map_or(Ok(()), Err);
            }
            if !dropped.is_empty() {
                spooled = self.without(spooled, &std::mem::take(&mut dropped)).await?;
            }
            if !replace.is_empty() {
                delete_simulations(&self.dataset, &replace).await?;
            }
            // Data tables first: their files stay invisible until the group commits.
            for table in registry::simulation_tables().filter(|t| t.name != "simulations") {
                let adds: Vec<Action> = keep
                    .iter()
                    .flat_map(|(s, _)| s.adds.iter())
                    .chain(&spooled)
                    .filter(|(t, _)| *t == table.name)
                    .map(|(_, a)| Action::Add(Add { tags: tags.clone(), ..a.clone() }))
                    .collect();
                append(&Table::new(&self.dataset, table), adds, "WRITE").await?;
            }
            let mut by_experiment: BTreeMap<&str, Vec<RecordBatch>> = BTreeMap::new();
            for (s, _) in &keep {
                by_experiment.entry(s.key.experiment_id.as_str()).or_default().push(s.simulation.clone());
            }
            let mut actions = Vec::new();
            for (experiment_id, batches) in by_experiment {
                actions.push(Action::Add(simulations.write_file(experiment_id, &batches, tags.clone()).await?));
            }
            let apps: BTreeSet<String> = keep.iter().map(|(s, _)| simulation_app(&s.key)).collect();
            actions.extend(keep.iter().map(|(s, v)| txn(simulation_app(&s.key), v + 1)));
            actions.push(txn(group_app(&group), 1));
            let check = |winner: &[Action]| match winner.iter().find(|a| matches!(a, Action::Txn(t) if apps.contains(&t.app_id))) {
                Some(_) => Err(Conflict::SameSimulation),
                None => Ok(()),
            };
            match simulations.commit(&snap, "WRITE", actions.clone(), check).await {
                Ok(_) => {}
                Err(StoreError::Log { source: LogError::Conflict(_), .. }) => {
                    // Lost a race for some id: withdraw this group's data files and decide again.
                    for a in &actions {
                        if let Action::Add(add) = a {
                            let _ = self.dataset.store.delete(&simulations.object_path(&add.path)).await;
                        }
                    }
                    self.withdraw(&keep.iter().map(|(s, _)| s).collect::<Vec<_>>(), &spooled).await?;
                    sims = keep.into_iter().map(|(s, _)| s).collect();
                    continue;
                }
                Err(e) => return Err(e),
            }
            // Rows that ride along (sweep points), after their simulations.
            let mut extra: BTreeMap<(&str, &str), Vec<RecordBatch>> = BTreeMap::new();
            for (s, _) in &keep {
                for (table, batch) in &s.with_rows {
                    extra.entry((table, s.key.experiment_id.as_str())).or_default().push(batch.clone());
                }
            }
            for ((table, experiment_id), batches) in extra {
                let t = Table::new(&self.dataset, registry::get(table).expect("registered"));
                let add = t.write_file(experiment_id, &batches, None).await?;
                append(&t, vec![Action::Add(add)], "WRITE").await?;
            }
            return Ok(());
        }
    }

    /// Deletes the data files of a simulation that will not be committed.
    async fn discard(&self, s: &Staged) {
        self.delete_files(&s.adds).await;
    }

    /// Deletes the data files of simulations and spool files that will not be committed.
    async fn discard_all(&self, sims: impl Iterator<Item = &Staged>, spooled: &[(&'static str, Add)]) {
        for s in sims {
            self.discard(s).await;
        }
        self.delete_files(spooled).await;
    }

    async fn delete_files(&self, files: &[(&'static str, Add)]) {
        for (table, add) in files {
            let _ = self.dataset.store.delete(&Table::new(&self.dataset, registry::get(table).expect("registered")).object_path(&add.path)).await;
        }
    }

    /// Removes already-appended data files of simulations (and the spool files) from their
    /// tables.
    async fn withdraw(&self, sims: &[&Staged], spooled: &[(&'static str, Add)]) -> Result<(), StoreError> {
        for table in registry::simulation_tables().filter(|t| t.name != "simulations") {
            let removes: Vec<Action> =
                sims.iter().flat_map(|s| s.adds.iter()).chain(spooled).filter(|(t, _)| *t == table.name).map(|(_, a)| Table::remove(a)).collect();
            append(&Table::new(&self.dataset, table), removes, "DELETE").await?;
        }
        Ok(())
    }

    /// The spool files rewritten without the rows of `dropped` (files left holding nothing
    /// are deleted).
    async fn without(&self, spooled: Vec<(&'static str, Add)>, dropped: &[SimulationKey]) -> Result<Vec<(&'static str, Add)>, StoreError> {
        let ids: BTreeSet<(&str, u32, &str)> = dropped.iter().map(|k| (k.experiment_id.as_str(), k.iteration, k.simulation_id.as_str())).collect();
        let mut out = Vec::new();
        for (name, add) in spooled {
            let def = registry::get(name).expect("registered");
            let table = Table::new(&self.dataset, def);
            let experiment = Table::experiment_of(&add).unwrap_or_default().to_owned();
            match rewrite_without(&self.dataset, &table, def, &add, &experiment, &ids).await? {
                None => out.push((name, add)),
                Some(rewritten) => {
                    // Never committed: nothing can be reading it.
                    let _ = self.dataset.store.delete(&table.object_path(&add.path)).await;
                    out.extend(rewritten.map(|a| (name, a)));
                }
            }
        }
        Ok(out)
    }
}

fn already_exists(key: &SimulationKey) -> StoreError {
    StoreError::AlreadyExists { experiment_id: key.experiment_id.clone(), iteration: key.iteration, simulation_id: key.simulation_id.clone() }
}

fn txn(app_id: String, version: i64) -> Action {
    Action::Txn(Txn { app_id, version, last_updated: None })
}

/// Commits actions that cannot conflict (appends, removals of one's own files) at the next
/// free version.
pub async fn append(table: &Table, actions: Vec<Action>, operation: &str) -> Result<(), StoreError> {
    if actions.is_empty() {
        return Ok(());
    }
    let latest = table.log().versions().await.map_err(|source| StoreError::Log { table: table.def.name, source })?;
    let read = Snapshot { version: latest.last().copied().unwrap_or(-1), ..Snapshot::default() };
    table.commit(&read, operation, actions, |_| Ok(())).await.map(|_| ())
}

/// Removes every row of `keys` from the simulation tables: files holding only them leave the
/// table; files holding others too are rewritten without them.
pub async fn delete_simulations(dataset: &Dataset, keys: &[SimulationKey]) -> Result<(), StoreError> {
    let ids: BTreeSet<(&str, u32, &str)> = keys.iter().map(|k| (k.experiment_id.as_str(), k.iteration, k.simulation_id.as_str())).collect();
    for def in registry::simulation_tables() {
        let table = Table::new(dataset, def);
        loop {
            let snap = table.snapshot().await?;
            let mut actions = Vec::new();
            for add in snap.files.values() {
                let experiment = Table::experiment_of(add).unwrap_or_default();
                let (lo, hi) = string_bounds(add, "simulation_id");
                let hit = ids.iter().any(|(e, _, s)| *e == experiment && lo.as_deref().is_none_or(|l| l <= *s) && hi.as_deref().is_none_or(|h| h >= *s));
                if !hit {
                    continue;
                }
                if let Some(rewritten) = rewrite_without(dataset, &table, def, add, experiment, &ids).await? {
                    actions.push(Table::remove(add));
                    actions.extend(rewritten.map(Action::Add));
                }
            }
            if actions.is_empty() {
                break;
            }
            let removed: BTreeSet<String> = actions.iter().filter_map(|a| if let Action::Remove(r) = a { Some(r.path.clone()) } else { None }).collect();
            let check = |winner: &[Action]| match winner.iter().any(|a| matches!(a, Action::Remove(r) if removed.contains(&r.path))) {
                true => Err(Conflict::FilesReplaced),
                false => Ok(()),
            };
            match table.commit(&snap, "DELETE", actions, check).await {
                Ok(_) => break,
                Err(StoreError::Log { source: LogError::Conflict(_), .. }) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// The `minValues`/`maxValues` of a string column in a file's statistics.
pub fn string_bounds(add: &Add, column: &str) -> (Option<String>, Option<String>) {
    let stats: Option<serde_json::Value> = add.stats.as_deref().and_then(|s| serde_json::from_str(s).ok());
    let get = |k: &str| stats.as_ref().and_then(|v| v.get(k)?.get(column)?.as_str().map(str::to_owned));
    (get("minValues"), get("maxValues"))
}

/// The `minValues`/`maxValues` of an integer column in a file's statistics.
pub fn int_bounds(add: &Add, column: &str) -> (Option<i64>, Option<i64>) {
    let stats: Option<serde_json::Value> = add.stats.as_deref().and_then(|s| serde_json::from_str(s).ok());
    let get = |k: &str| stats.as_ref().and_then(|v| v.get(k)?.get(column)?.as_i64());
    (get("minValues"), get("maxValues"))
}

/// Rewrites `add` without the rows of `ids`: `None` when it holds none of them, `Some(None)`
/// when it holds nothing else.
async fn rewrite_without(
    dataset: &Dataset,
    table: &Table,
    def: &'static TableDef,
    add: &Add,
    experiment: &str,
    ids: &BTreeSet<(&str, u32, &str)>,
) -> Result<Option<Option<Add>>, StoreError> {
    // A file of one of the simulations goes whole, unread (it may be the damaged file that
    // is being replaced).
    if let ((Some(lo), Some(hi)), (Some(first), Some(last))) = (string_bounds(add, "simulation_id"), int_bounds(add, "iteration"))
        && lo == hi
        && first == last
        && ids.contains(&(experiment, first as u32, lo.as_str()))
    {
        return Ok(Some(None));
    }
    let path = table.object_path(&add.path);
    let reader = dataset.parquet_reader(&path, 64 * 1024)?;
    let mut kept = Vec::new();
    let mut dropped = 0usize;
    for batch in reader {
        let batch = batch.map_err(|source| StoreError::Arrow { table: def.name, source })?;
        let sims = batch.column_by_name("simulation_id").map(|c| c.as_string::<i32>().clone());
        let iters = batch.column_by_name("iteration").map(|c| c.as_primitive::<Int64Type>().clone());
        let (Some(sims), Some(iters)) = (sims, iters) else { return Ok(None) };
        let keep: BooleanArray = (0..batch.num_rows()).map(|i| Some(!ids.contains(&(experiment, iters.value(i) as u32, sims.value(i))))).collect();
        dropped += keep.false_count();
        let b = filter_record_batch(&batch, &keep).map_err(|source| StoreError::Arrow { table: def.name, source })?;
        if b.num_rows() > 0 {
            kept.push(b);
        }
    }
    if dropped == 0 {
        return Ok(None);
    }
    if kept.is_empty() {
        return Ok(Some(None));
    }
    let merged = concat_batches(&def.stored_schema(), &kept).map_err(|source| StoreError::Arrow { table: def.name, source })?;
    Ok(Some(Some(table.write_file(experiment, &[merged], add.tags.clone()).await?)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Builder, StringBuilder};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn a_staged_row_keeps_its_values_in_a_fraction_of_its_builders_memory() {
        // Builders reserve room for 1,024 rows: a one-row batch would keep all of it.
        let (mut ints, mut strings) = (Int64Builder::new(), StringBuilder::new());
        ints.append_value(42);
        strings.append_value("sim-1");
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false), Field::new("s", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(ints.finish()), Arc::new(strings.finish())]).unwrap();
        let small = exact("simulations", &batch).unwrap();
        assert_eq!(small, batch);
        assert!(small.get_array_memory_size() * 10 < batch.get_array_memory_size(), "{} vs {}", small.get_array_memory_size(), batch.get_array_memory_size());
    }
}
