//! Compaction: the small committed files of a partition are rewritten into large ones (each
//! input's rows, in the table's order, one input after another), statistics rewritten.
//! One commit per table and partition removes the small files and adds the large ones (both
//! with `dataChange: false`); a reader of an older snapshot still finds the old files (they
//! are deleted by `gc` once the retention period has passed), and a concurrent compaction of
//! the same files makes this one give up that partition, not corrupt it.
//!
//! Files of a committed simulation group that are not rewritten (too large, or alone between
//! large files) are re-added without their group tag (`dataChange: false`), so that readers
//! of committed rows need not read the `simulations` log to know they may see them.
//!
//! Only simulation tables and `sweep_points` are compacted: the experiment tables are small
//! and are replaced per iteration.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::compute::concat_batches;

use super::StoreError;
use super::commit::{committed_groups, group, string_bounds, visible};
use super::delta::action::{Action, Add};
use super::delta::{Conflict, LogError};
use super::layout::Dataset;
use super::registry::{self, Scope, TableDef};
use super::table::{GROUP_TAG, Table};
use super::writer::Pages;

/// How large compacted files get.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Target size of a compacted file, in bytes.
    pub target_bytes: u64,
    /// Files smaller than this are compacted; larger ones are left alone.
    pub small_bytes: u64,
    /// Rows per row group in compacted files.
    pub row_group_rows: usize,
    /// A partition's small files are rewritten only when it has at least this many.
    pub min_files: usize,
}

impl Default for Options {
    fn default() -> Self {
        // A batch runner's group files are usually tens of MB: left alone, so compacting
        // after a sweep rewrites only what is really small.
        Options { target_bytes: 64 << 20, small_bytes: 16 << 20, row_group_rows: 256 * 1024, min_files: 2 }
    }
}

impl Options {
    /// The compaction that ends a sweep or an experiment: a partition is rewritten only once
    /// it has 50 small files (Databricks' auto-compaction threshold), so that a sweep whose
    /// workers left a handful of partly filled files does not pay for rewriting them.
    pub const AUTO_MIN_FILES: usize = 50;

    /// The options of the compaction that ends a sweep or an experiment.
    pub fn auto() -> Options {
        Options { min_files: Options::AUTO_MIN_FILES, ..Options::default() }
    }
}

/// What compaction did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The table.
    pub table: &'static str,
    /// Files rewritten.
    pub files_in: usize,
    /// Files written.
    pub files_out: usize,
    /// Bytes rewritten.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Files of committed groups kept as they are, whose group tag was dropped.
    pub marked: usize,
}

/// The tables compaction rewrites.
fn compacted_tables() -> impl Iterator<Item = &'static TableDef> {
    registry::TABLES.iter().filter(|t| t.scope == Scope::Simulation || t.name == "sweep_points")
}

/// Compacts every partition (or only `experiment`'s) of every compacted table, the tables
/// side by side (one thread each: rewriting is CPU-bound decoding and encoding).
pub fn compact(dataset: &Dataset, experiment: Option<&str>, opts: Options) -> Result<Vec<Report>, StoreError> {
    let rt = super::layout::runtime();
    let sims = super::layout::block_on(Table::new(dataset, registry::get("simulations").expect("registered")).snapshot())?;
    let groups = committed_groups(&sims);
    std::thread::scope(|s| {
        let tables: Vec<_> = compacted_tables()
            .map(|def| {
                let groups = &groups;
                s.spawn(move || rt.block_on(compact_table(dataset, def, groups, experiment, opts)))
            })
            .collect();
        tables.into_iter().map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

/// Compacts one table's partitions.
async fn compact_table(
    dataset: &Dataset,
    def: &'static TableDef,
    groups: &BTreeSet<String>,
    experiment: Option<&str>,
    opts: Options,
) -> Result<Report, StoreError> {
    let table = &Table::new(dataset, def);
    let mut report = Report { table: def.name, ..Report::default() };
    let snap = table.snapshot().await?;
    let mut partitions: BTreeMap<String, Partition> = BTreeMap::new();
    for add in snap.files.values().filter(|a| visible(a, groups)) {
        let p = Table::experiment_of(add).unwrap_or_default().to_owned();
        if experiment.is_some_and(|e| e != p) {
            continue;
        }
        let part = partitions.entry(p).or_default();
        if (add.size as u64) < opts.small_bytes {
            part.small.push(add.clone());
            continue;
        }
        part.fences.push(first_id(add));
        if group(add).is_some() {
            part.tagged.push(add.clone());
        }
    }
    let mut committed = false;
    for (experiment_id, Partition { small: mut files, tagged, mut fences }) in partitions {
        files.sort_by_cached_key(first_id);
        fences.sort();
        let bins = if files.len() >= opts.min_files.max(2) { fenced_bins(&files, &fences, opts.target_bytes) } else { Vec::new() };
        let binned: BTreeSet<&str> = bins.iter().flat_map(|b| b.iter().map(|a| a.path.as_str())).collect();
        // A file of a committed group that stays as it is (large, or alone in its range) loses
        // its group tag, so that readers of committed rows need not consult the `simulations`
        // log for it.
        let kept: Vec<&Add> = tagged.iter().chain(files.iter().filter(|a| group(a).is_some() && !binned.contains(a.path.as_str()))).collect();
        let mut actions: Vec<Action> = kept.iter().map(|a| untagged(a)).collect();
        let mut written = Vec::new();
        let mut part = Report { marked: kept.len(), ..Report::default() };
        for bin in bins {
            let add = rewrite(dataset, table, &experiment_id, bin, opts).await?;
            written.push(table.object_path(&add.path));
            part.bytes_out += add.size as u64;
            part.files_out += 1;
            actions.push(Action::Add(add));
            for a in bin {
                part.bytes_in += a.size as u64;
                part.files_in += 1;
                actions.push(compacted_away(a));
            }
        }
        if actions.is_empty() {
            continue;
        }
        let inputs: BTreeSet<&str> = files.iter().chain(&tagged).map(|a| a.path.as_str()).collect();
        let check = |winner: &[Action]| match winner.iter().any(|a| matches!(a, Action::Remove(r) if inputs.contains(r.path.as_str()))) {
            true => Err(Conflict::FilesReplaced),
            false => Ok(()),
        };
        match table.commit(&snap, "OPTIMIZE", actions, check).await {
            Ok(_) => {
                committed = true;
                report.files_in += part.files_in;
                report.files_out += part.files_out;
                report.bytes_in += part.bytes_in;
                report.bytes_out += part.bytes_out;
                report.marked += part.marked;
            }
            Err(StoreError::Log { source: LogError::Conflict(_), .. }) => {
                // Someone else compacted this partition: drop our copies.
                for p in written {
                    let _ = object_store::ObjectStoreExt::delete(&dataset.store, &p).await;
                }
            }
            Err(e) => return Err(e),
        }
    }
    if committed {
        // Readers start from the compacted state instead of replaying every small file.
        table.checkpoint().await?;
    }
    Ok(report)
}

/// The `add` that keeps a file of a committed group in the table without its group tag.
fn untagged(a: &Add) -> Action {
    let tags = a.tags.clone().map(|mut t| {
        t.remove(GROUP_TAG);
        t
    });
    Action::Add(Add { data_change: false, tags: tags.filter(|t| !t.is_empty()), ..a.clone() })
}

/// A `remove` for a file whose rows moved into a compacted file.
fn compacted_away(a: &Add) -> Action {
    match Table::remove(a) {
        Action::Remove(r) => Action::Remove(super::delta::action::Remove { data_change: false, ..r }),
        other => other,
    }
}

/// A partition's files as compaction sees them.
#[derive(Default)]
struct Partition {
    /// The small files, to rewrite.
    small: Vec<Add>,
    /// The large files of committed groups, to mark committed.
    tagged: Vec<Add>,
    /// The first simulation id of every large file.
    fences: Vec<Option<String>>,
}

/// A file's first simulation id, by its statistics.
fn first_id(a: &Add) -> Option<String> {
    string_bounds(a, "simulation_id").0
}

/// The [`bins`] of `files` (sorted by first simulation id) that never cross `fences` (the
/// sorted first ids of the large files), so that a rewritten file spans no other file's range
/// of simulation ids.
fn fenced_bins<'a>(files: &'a [Add], fences: &[Option<String>], target: u64) -> Vec<&'a [Add]> {
    let slot = |a: &Add| fences.partition_point(|f| *f < first_id(a));
    files.chunk_by(|a, b| slot(a) == slot(b)).flat_map(|run| bins(run, target)).collect()
}

/// Consecutive runs of files whose sizes add up to about `target` bytes; a lone file is left out.
fn bins(files: &[Add], target: u64) -> Vec<&[Add]> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0u64);
    for (i, a) in files.iter().enumerate() {
        size += a.size.max(0) as u64;
        if size >= target || i + 1 == files.len() {
            if i > start {
                out.push(&files[start..=i]);
            }
            (start, size) = (i + 1, 0);
        }
    }
    out
}

/// Writes the rows of `files` (ordered by their first simulation id) as one file: each
/// file's rows, already in the table's order, one file after the other, streamed in batches
/// (so memory stays bounded). Files whose key ranges overlap (those of simulations written
/// side by side) stay sorted runs; row-group statistics still find each simulation.
/// `sweep_points`, small and keyed by point, is sorted whole.
async fn rewrite(dataset: &Dataset, table: &Table, experiment_id: &str, files: &[Add], opts: Options) -> Result<Add, StoreError> {
    let def = table.def;
    let arrow = |source| StoreError::Arrow { table: def.name, source };
    let mut out = table.create_file(experiment_id, opts.row_group_rows, Pages::Bounded, def.name == "sweep_points")?;
    if def.name == "sweep_points" {
        let mut batches = Vec::new();
        for a in files {
            batches.extend(table.read_file(a).await?);
        }
        let all = concat_batches(&def.stored_schema(), &batches).map_err(arrow)?;
        out.write(&def.sort_batch(&all).map_err(arrow)?).await?;
    } else {
        for a in files {
            for batch in dataset.parquet_reader(&table.object_path(&a.path), 64 * 1024)? {
                out.write(&batch.map_err(arrow)?).await?;
            }
        }
    }
    let add = out.finish(None).await?;
    Ok(Add { data_change: false, ..add })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(size: i64) -> Add {
        Add { path: format!("p{size}"), partition_values: BTreeMap::new(), size, modification_time: 0, data_change: true, stats: None, tags: None }
    }

    #[test]
    fn bins_fill_to_the_target_and_skip_lone_files() {
        let files: Vec<Add> = [4, 4, 4, 4, 9, 1].into_iter().map(add).collect();
        let sizes: Vec<Vec<i64>> = bins(&files, 8).iter().map(|b| b.iter().map(|a| a.size).collect()).collect();
        // 9 fills a bin alone and the trailing 1 is alone: both stay as they are.
        assert_eq!(sizes, vec![vec![4, 4], vec![4, 4]]);
        let sizes: Vec<usize> = bins(&files[..3], 100).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![3]);
        assert!(bins(&files[..1], 100).is_empty());
    }

    #[test]
    fn small_files_are_not_rewritten_across_a_large_files_range() {
        let file = |first: &str, size: i64| Add { stats: Some(format!(r#"{{"minValues":{{"simulation_id":"{first}"}}}}"#)), ..add(size) };
        // Small files of ids a.., b.., d.., e.., g..; large files start at c and f.
        let small: Vec<Add> = [("a", 1), ("b", 1), ("d", 1), ("e", 1), ("g", 1)].into_iter().map(|(f, s)| file(f, s)).collect();
        let fences = vec![Some("c".to_owned()), Some("f".to_owned())];
        let firsts = |bins: Vec<&[Add]>| -> Vec<Vec<String>> { bins.iter().map(|b| b.iter().filter_map(first_id).collect()).collect() };
        // a+b before c, d+e between c and f; g alone after f stays as it is.
        assert_eq!(firsts(fenced_bins(&small, &fences, 100)), [vec!["a", "b"], vec!["d", "e"]]);
        // Without large files, one bin.
        assert_eq!(firsts(fenced_bins(&small, &[], 100)), [vec!["a", "b", "d", "e", "g"]]);
    }
}
