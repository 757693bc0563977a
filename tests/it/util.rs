//! Helpers: run the binary, locate test data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `tests/data/…`.
pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

/// Runs `simcash` with `args` in `dir`.
pub fn simcash(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_simcash")).current_dir(dir).args(args).output().expect("the binary runs")
}

/// Runs `simcash` with `args` in `dir`, which must succeed; its stdout.
pub fn run_ok(dir: &Path, args: &[&str]) -> String {
    let o = simcash(dir, args);
    assert!(o.status.success(), "simcash {args:?}: {}", stderr(&o));
    stdout(&o)
}

/// A query's result through `simcash sql` in `dir`, as CSV lines without the header.
pub fn csv(dir: &Path, q: &str) -> Vec<String> {
    run_ok(dir, &["sql", "--format", "csv", q]).lines().skip(1).map(str::to_owned).collect()
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// Undoes the newest commit of `table` in the dataset at `root` (local or remote), as if the
/// run that made it had been killed just before it.
pub fn undo_last_commit(root: &str, table: &str) {
    use object_store::ObjectStoreExt;
    let ds = simcash::store::Dataset::open(root, false).unwrap();
    let log = simcash::store::delta::DeltaLog::new(ds.store.clone(), object_store::path::Path::from(table));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let last = *rt.block_on(log.versions()).unwrap().last().expect("a commit");
    rt.block_on(ds.store.delete(&log.commit_path(last))).unwrap();
    // A checkpoint of that version would still hold it.
    let _ = rt.block_on(ds.store.delete(&log.checkpoint_path(last)));
}

/// The live data file of `table` that holds simulation `sim` alone, in the local dataset `root`.
pub fn data_file(root: &Path, table: &str, sim: &str) -> PathBuf {
    let ds = simcash::store::Dataset::open(root.to_str().unwrap(), false).unwrap();
    let t = simcash::store::table::Table::new(&ds, simcash::store::registry::get(table).unwrap());
    let snap = tokio::runtime::Runtime::new().unwrap().block_on(t.snapshot()).unwrap();
    let add = snap
        .files
        .values()
        .find(|a| {
            let (lo, hi) = simcash::store::commit::string_bounds(a, "simulation_id");
            lo.as_deref() == Some(sim) && hi.as_deref() == Some(sim)
        })
        .unwrap_or_else(|| panic!("no {table} file of {sim}"));
    root.join(table).join(&add.path)
}

/// Every file under `dir`, at any depth (none if `dir` does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map_or(Vec::new(), |entries| {
        entries
            .flat_map(|e| {
                let p = e.unwrap().path();
                if p.is_dir() { files_under(&p) } else { vec![p] }
            })
            .collect()
    })
}
