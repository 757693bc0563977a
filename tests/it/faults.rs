//! Storage faults (issue 16): an object store that fails or truncates chosen requests (the
//! put of a data file, a commit, a list, a get during replay). Each ends in an error that
//! says what failed, or (a short write the store reported as whole) in queries and replays
//! that name the damaged file; nothing half-visible is left, nothing committed is lost, and
//! the same run without the fault completes.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use simcash::run::run_simulation;
use simcash::sink::{NullSink, ParquetSink, SimulationSink, WriterOptions};
use simcash::store::layout::Location;
use simcash::store::{Dataset, SimulationKey};

use crate::util::{csv, data_file, run_ok, simcash};

/// Which requests a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Put,
    Get,
    List,
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// The request fails.
    Fail,
    /// A put stores only the first half of its bytes and reports success.
    Truncate,
    /// A put is sent twice and the second answer returned: a request retried after its
    /// answer was lost (a conditional put then finds the object it created).
    Duplicate,
    /// A put waits this long before it is sent (a slow link).
    Delay(std::time::Duration),
}

/// An object store that injects one kind of fault into the requests of one kind whose path
/// contains `path`.
#[derive(Debug)]
struct Faulty {
    inner: Arc<dyn ObjectStore>,
    op: Op,
    path: &'static str,
    effect: Effect,
    hit: Mutex<Vec<String>>,
}

impl fmt::Display for Faulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

impl Faulty {
    /// Whether this request gets the fault (and records it).
    fn hits(&self, op: Op, location: &str) -> bool {
        if op != self.op || !location.contains(self.path) {
            return false;
        }
        self.hit.lock().unwrap().push(location.to_owned());
        true
    }
}

fn injected(location: &str) -> object_store::Error {
    object_store::Error::Generic { store: "faulty", source: format!("injected fault at {location}").into() }
}

#[async_trait]
impl ObjectStore for Faulty {
    async fn put_opts(&self, location: &ObjectPath, payload: PutPayload, opts: PutOptions) -> object_store::Result<PutResult> {
        if self.hits(Op::Put, location.as_ref()) {
            match self.effect {
                Effect::Fail => return Err(injected(location.as_ref())),
                Effect::Truncate => {
                    let bytes: Bytes = payload.into();
                    return self.inner.put_opts(location, bytes.slice(..bytes.len() / 2).into(), opts).await;
                }
                Effect::Duplicate => {
                    self.inner.put_opts(location, payload.clone(), opts.clone()).await?;
                    return self.inner.put_opts(location, payload, opts).await;
                }
                Effect::Delay(d) => tokio::time::sleep(d).await,
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &ObjectPath, opts: PutMultipartOptions) -> object_store::Result<Box<dyn MultipartUpload>> {
        if self.hits(Op::Put, location.as_ref()) {
            return Err(injected(location.as_ref()));
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> object_store::Result<GetResult> {
        if self.hits(Op::Get, location.as_ref()) {
            return Err(injected(location.as_ref()));
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &ObjectPath, ranges: &[Range<u64>]) -> object_store::Result<Vec<Bytes>> {
        if self.hits(Op::Get, location.as_ref()) {
            return Err(injected(location.as_ref()));
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, object_store::Result<ObjectPath>>) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let p = prefix.map(|p| p.to_string()).unwrap_or_default();
        if self.hits(Op::List, &p) {
            return futures::stream::once(async move { Err(injected(&p)) }).boxed();
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> object_store::Result<ListResult> {
        let p = prefix.map(|p| p.to_string()).unwrap_or_default();
        if self.hits(Op::List, &p) {
            return Err(injected(&p));
        }
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &ObjectPath, to: &ObjectPath, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// `dataset` seen through a store with the fault.
fn faulty(dataset: &Dataset, op: Op, path: &'static str, effect: Effect) -> (Dataset, Arc<Faulty>) {
    let store = Arc::new(Faulty { inner: dataset.store.clone(), op, path, effect, hit: Mutex::default() });
    let mut ds = dataset.clone();
    ds.store = store.clone();
    (ds, store)
}

/// Runs a two-day generated scenario (6 banks, LSM activity) as simulation `id` into `dataset`.
fn run(dataset: &Dataset, id: &str) -> Result<(), String> {
    let key = SimulationKey { experiment_id: "runs".into(), iteration: 0, simulation_id: id.into() };
    let mut sink = ParquetSink::new(dataset.clone(), key, WriterOptions::default());
    let cfg = simcash::scenario::generate::uniform(6, 40, 2, 0.8, 11);
    run_simulation(cfg, &mut [&mut sink as &mut dyn SimulationSink], |_| {}).map(|_| ()).map_err(|e| format!("{e:#}"))
}

/// A dataset in `dir/simcash-data` (where the binary looks by default) holding `sim-before`.
fn dataset(dir: &Path) -> Dataset {
    let ds = Dataset::open(dir.join("simcash-data").to_str().unwrap(), true).unwrap();
    run(&ds, "sim-before").unwrap();
    ds
}

/// Events of the clean run, for comparison.
fn events_of_a_clean_run() -> String {
    let cfg = simcash::scenario::generate::uniform(6, 40, 2, 0.8, 11);
    run_simulation(cfg, &mut [&mut NullSink as &mut dyn SimulationSink], |_| {}).unwrap().stats.events.to_string()
}

/// The dataset holds `sim-before` whole, and `sim-x` whole (`x_committed`) or not at all,
/// through the views and through the raw tables once `gc` has run.
fn assert_consistent(dir: &Path, x_committed: bool) {
    let events = events_of_a_clean_run();
    let want: Vec<String> = std::iter::once(format!("sim-before,{events}")).chain(x_committed.then(|| format!("sim-x,{events}"))).collect();
    let q = "SELECT simulation_id, COUNT(*) FROM simulation_events GROUP BY 1 ORDER BY 1";
    assert_eq!(csv(dir, q), want, "the views");
    // The first pass takes the files of a group that never committed out of the log, the
    // second deletes them.
    for _ in 0..2 {
        run_ok(dir, &["gc", "--min-age", "0", "--retention", "0"]);
    }
    let raw = "SELECT simulation_id, COUNT(*) FROM raw.events GROUP BY 1 ORDER BY 1";
    assert_eq!(csv(dir, raw), want, "the raw table after gc");
    let left = run_ok(dir, &["gc", "--dry-run", "--min-age", "0", "--retention", "0"]);
    assert!(left.contains("0 uncommitted, 0 unlisted, 0 expired"), "{left}");
}

/// Runs `sim-x` into a dataset holding `sim-before` through a store whose `op` requests on
/// `path` fail: the run ends with an error naming the request, `between` sees the dataset
/// after it, which then holds `sim-before` alone; the same run without the fault completes.
fn fails_then_completes(op: Op, path: &'static str, between: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(dir.path());
    let (bad, store) = faulty(&ds, op, path, Effect::Fail);
    let err = run(&bad, "sim-x").unwrap_err();
    let hit = store.hit.lock().unwrap().clone();
    assert!(!hit.is_empty(), "the fault was injected");
    assert!(err.contains(&format!("injected fault at {}", hit[0])), "{err}");
    between(dir.path());
    assert_consistent(dir.path(), false);
    run(&ds, "sim-x").unwrap();
    assert_consistent(dir.path(), true);
}

#[test]
fn a_failed_put_of_a_data_file_ends_the_run_with_an_error_and_a_rerun_completes() {
    fails_then_completes(Op::Put, "events/experiment_id=runs/part-", |_| {});
}

#[test]
fn a_failed_commit_of_the_simulation_leaves_its_rows_invisible_and_a_rerun_completes() {
    // The data tables' commits land; the `simulations` commit, the last, fails. Its rows are
    // in the events log but their group never committed: the views hide them and gc takes
    // them out.
    fails_then_completes(Op::Put, "simulations/_delta_log/", |dir| {
        let raw = csv(dir, "SELECT COUNT(*) FROM raw.events WHERE simulation_id = 'sim-x'");
        assert_ne!(raw, vec!["0"], "the data commit landed before the failure");
    });
}

#[test]
fn a_failed_listing_ends_the_run_before_anything_is_written() {
    fails_then_completes(Op::List, "_delta_log", |_| {});
}

#[test]
fn a_data_file_cut_short_is_named_by_queries_and_replay_and_other_simulations_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(dir.path());
    // The store reports the put whole but keeps half of it: the log records the full size.
    let (bad, store) = faulty(&ds, Op::Put, "events/experiment_id=runs/part-", Effect::Truncate);
    run(&bad, "sim-x").unwrap();
    let damaged = store.hit.lock().unwrap()[0].clone();
    let o = simcash(dir.path(), &["sql", "SELECT COUNT(*) FROM simulation_events WHERE simulation_id = 'sim-x'"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&damaged) && err.contains("unreadable Parquet file"), "the query names the file: {err}");
    let o = simcash(dir.path(), &["replay", "sim-x"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&damaged.rsplit('/').next().unwrap().to_owned()), "replay names the file: {err}");
    assert!(!err.contains("panicked"), "{err}");
    // The other simulation's rows are in another file: still there.
    let before = csv(dir.path(), "SELECT COUNT(*) FROM simulation_events WHERE simulation_id = 'sim-before'");
    assert_eq!(before, vec![events_of_a_clean_run()]);
    run_ok(dir.path(), &["replay", "sim-before"]);
}

#[test]
fn a_failed_read_during_replay_from_object_storage_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(dir.path());
    let (mut bad, store) = faulty(&ds, Op::Get, "events/experiment_id=runs/part-", Effect::Fail);
    // Read as from a bucket (a local root's files are read directly, not through its store).
    bad.location = Location::Remote { bucket_url: "memory://faulty".into(), bucket_store: store.clone(), prefix: ObjectPath::from("") };
    let key = SimulationKey { experiment_id: "runs".into(), iteration: 0, simulation_id: "sim-before".into() };
    let replayed = simcash::replay::stored::Stored::open(&bad, key.clone()).and_then(|s| s.replay(&mut [&mut NullSink as &mut dyn SimulationSink], None));
    let err = format!("{:#}", replayed.expect_err("the events file cannot be read"));
    assert!(!store.hit.lock().unwrap().is_empty());
    assert!(err.contains("injected fault at events/experiment_id=runs/part-"), "{err}");
    // Without the fault the same replay completes.
    let s = simcash::replay::stored::Stored::open(&ds, key).unwrap();
    assert!(s.replay(&mut [&mut NullSink as &mut dyn SimulationSink], None).unwrap().is_some());
}

#[test]
fn gc_check_reports_damaged_missing_and_foreign_files_with_repairs_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("simcash-data");
    run_ok(d, &["run", "--simulation-id", "sim-a"]);
    run_ok(d, &["run", "--simulation-id", "sim-b"]);
    assert!(run_ok(d, &["gc", "--check"]).contains("no problems found"));
    let rel = |p: &Path| p.strip_prefix(&root).unwrap().display().to_string();
    // sim-a: events cut short, ticks gone. sim-b: agent_ticks overwritten with garbage of the
    // same size. A directory that is no table, and a data file no commit lists (an hour old).
    let events_a = data_file(&root, "events", "sim-a");
    let bytes = std::fs::read(&events_a).unwrap();
    std::fs::write(&events_a, &bytes[..bytes.len() / 2]).unwrap();
    let ticks_a = data_file(&root, "ticks", "sim-a");
    std::fs::remove_file(&ticks_a).unwrap();
    let agent_ticks_b = data_file(&root, "agent_ticks", "sim-b");
    let size = std::fs::metadata(&agent_ticks_b).unwrap().len() as usize;
    std::fs::write(&agent_ticks_b, vec![b'x'; size]).unwrap();
    std::fs::create_dir_all(root.join("notes")).unwrap();
    std::fs::write(root.join("notes/readme.txt"), "mine").unwrap();
    let stray = events_a.with_file_name("part-stray.parquet");
    std::fs::copy(data_file(&root, "events", "sim-b"), &stray).unwrap();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&stray).unwrap().set_modified(hour_ago).unwrap();

    let o = simcash(d, &["gc", "--check"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("5 problem(s)"), "{}", String::from_utf8_lossy(&o.stderr));
    let expect = [
        (rel(&events_a), "the file has"),
        (rel(&ticks_a), "the log lists it but it does not exist"),
        (rel(&agent_ticks_b), "not a readable Parquet file"),
        ("notes/".to_owned(), "not a table of the dataset"),
        ("events".to_owned(), "0 file(s) of simulations that never committed, 1 no commit lists"),
    ];
    for (place, problem) in &expect {
        assert!(out.contains(&format!("{place}: {problem}")), "{place}: {problem} in:\n{out}");
    }
    assert!(out.contains("simcash run SCENARIO --simulation-id sim-a --overwrite"), "{out}");
    // The checks changed nothing; the repairs they name work.
    assert!(ticks_a.parent().unwrap().exists() && stray.exists());
    run_ok(d, &["run", "--simulation-id", "sim-a", "--overwrite"]);
    run_ok(d, &["run", "--simulation-id", "sim-b", "--overwrite"]);
    run_ok(d, &["gc", "--min-age", "0"]);
    std::fs::remove_dir_all(root.join("notes")).unwrap();
    assert!(run_ok(d, &["gc", "--check"]).contains("no problems found"));
    assert_eq!(csv(d, "SELECT simulation_id FROM simulations ORDER BY 1"), vec!["sim-a", "sim-b"]);

    // A log entry that is not JSON: named, and the other tables still checked.
    let log = root.join("ticks/_delta_log");
    let newest = std::fs::read_dir(&log).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).max().unwrap();
    std::fs::write(&newest, "not json\n").unwrap();
    let o = simcash(d, &["gc", "--check"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("ticks/_delta_log: the log cannot be read") && out.contains(newest.file_name().unwrap().to_str().unwrap()), "{out}");
}

#[test]
fn a_commit_retried_after_its_answer_was_lost_is_recognised_as_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(dir.path());
    // Every commit of the run is sent twice: the second finds the version taken by the first.
    let (bad, store) = faulty(&ds, Op::Put, "_delta_log/0", Effect::Duplicate);
    run(&bad, "sim-x").unwrap();
    assert!(store.hit.lock().unwrap().len() >= 4, "every table's commit was duplicated: {:?}", store.hit.lock().unwrap());
    assert_consistent(dir.path(), true);
}

/// A data file written by a newer simcash (its footer's schema version above this one's):
/// `gc --check` names it and says what to do; the other simulation stays queryable.
#[test]
fn gc_check_names_a_file_from_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("simcash-data");
    run_ok(d, &["run", "--simulation-id", "sim-a"]);
    run_ok(d, &["run", "--simulation-id", "sim-b"]);
    let ticks_b = data_file(&root, "ticks", "sim-b");
    let mut bytes = std::fs::read(&ticks_b).unwrap();
    // The footer's key-value entry, in Thrift's compact form: the key, then field 2 (binary)
    // of length 1 holding the version.
    let key = format!("{}\x18\x01{}", simcash::store::schema::SCHEMA_VERSION_KEY, simcash::store::schema::SCHEMA_VERSION).into_bytes();
    let at = bytes.windows(key.len()).position(|w| w == key).expect("the schema version is in the footer") + key.len() - 1;
    bytes[at] = b'9';
    std::fs::write(&ticks_b, &bytes).unwrap();
    let o = simcash(d, &["gc", "--check"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    let rel = ticks_b.strip_prefix(&root).unwrap().display().to_string();
    assert!(out.contains(&format!("{rel}: written by a newer simcash (schema 9; this one reads {})", simcash::store::schema::SCHEMA_VERSION)), "{out}");
    assert_eq!(csv(d, "SELECT count(*) FROM simulation_events WHERE simulation_id = 'sim-a'").len(), 1);
}

/// What reading a damaged dataset gave: `Err` if any reader panicked (the text says which).
fn read_everything(ds: &Dataset) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let query = |sql: &str| {
        rt.block_on(async {
            let ctx = simcash::query::session(ds).await.map_err(|e| e.to_string())?;
            simcash::query::run_sql(&ctx, sql).await.map(|_| ()).map_err(|e| e.to_string())
        })
    };
    let replay = || {
        let key = SimulationKey { experiment_id: "runs".into(), iteration: 0, simulation_id: "sim-before".into() };
        simcash::replay::stored::Stored::open(ds, key)
            .and_then(|s| s.replay(&mut [&mut NullSink as &mut dyn SimulationSink], None))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let mut outcomes = Vec::new();
    for sql in ["SELECT COUNT(*), SUM(amount) FROM simulation_events", "SELECT * FROM transactions", "SELECT * FROM daily_agent_metrics"] {
        outcomes.push((sql, std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| query(sql)))));
    }
    outcomes.push(("replay", std::panic::catch_unwind(std::panic::AssertUnwindSafe(replay))));
    for (what, outcome) in outcomes {
        match outcome {
            Err(_) => return Err(format!("{what}: panicked")),
            Ok(Err(e)) if e.contains("panicked") => return Err(format!("{what}: {e}")),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Every single-byte change to a data file's footer (three values per byte) is refused with
/// an error or still read: the footer check runs before any part of the reader that would
/// panic on it (the Arrow schema decoder, page reads through damaged offsets).
#[test]
fn every_byte_of_a_damaged_footer_is_refused_or_read_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let _ds = dataset(dir.path());
    let file = data_file(&dir.path().join("simcash-data"), "events", "sim-before");
    let bytes = std::fs::read(file).unwrap();
    let n = bytes.len();
    let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    let (mut refused, mut panics) = (0, Vec::new());
    for i in n - 8 - footer_len..n - 8 {
        for x in [0x01u8, 0x40, 0xff] {
            let mut damaged = bytes.clone();
            damaged[i] ^= x;
            let read = std::panic::catch_unwind(|| -> Result<usize, String> {
                let options = datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions::new();
                let reader = simcash::store::footer::checked_builder(Bytes::from(damaged), options).and_then(|b| b.build()).map_err(|e| e.to_string())?;
                reader.map(|b| b.map(|b| b.num_rows()).map_err(|e| e.to_string())).sum()
            });
            match read {
                Err(_) => panics.push((i - (n - 8 - footer_len), x)),
                Ok(Err(_)) => refused += 1,
                Ok(Ok(_)) => {}
            }
        }
    }
    assert!(panics.is_empty(), "panics at footer byte, xor: {panics:?}");
    assert!(refused > 0, "a damaged footer is noticed");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 40, ..Default::default() })]

    /// A data file or a log entry with bytes changed or cut: queries and replay return
    /// errors (or, where the damage misses what they read, results), never panic.
    #[test]
    fn damaged_data_files_and_log_entries_make_readers_fail_cleanly(
        target in 0..3usize,
        cut in proptest::option::of(0.0..1.0f64),
        flips in proptest::collection::vec((0.0..1.0f64, 1..=255u8), 0..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let ds = dataset(dir.path());
        let root = dir.path().join("simcash-data");
        let file = match target {
            0 => crate::util::data_file(&root, "events", "sim-before"),
            1 => crate::util::data_file(&root, "agent_ticks", "sim-before"),
            _ => {
                let log = root.join("events/_delta_log");
                std::fs::read_dir(&log).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).max().unwrap()
            }
        };
        let mut bytes = std::fs::read(&file).unwrap();
        for (at, x) in &flips {
            let i = ((bytes.len() as f64 * at) as usize).min(bytes.len() - 1);
            bytes[i] ^= x;
        }
        if let Some(c) = cut {
            bytes.truncate((bytes.len() as f64 * c) as usize);
        }
        std::fs::write(&file, &bytes).unwrap();
        let read = read_everything(&ds);
        proptest::prop_assert!(read.is_ok(), "{:?} damaged ({} flips, cut {:?}): {}", file, flips.len(), cut, read.unwrap_err());
    }
}

/// Makes every directory of `root` read-only while alive: by permissions for a normal user,
/// by the immutable attribute (`chattr +i`) for root, whom permissions do not stop. `None`
/// where neither works (e.g. root on a file system without the attribute).
struct ReadOnly(Vec<std::path::PathBuf>, bool);

impl ReadOnly {
    fn new(root: &Path) -> Option<ReadOnly> {
        let mut dirs = vec![root.to_owned()];
        let mut i = 0;
        while i < dirs.len() {
            for e in std::fs::read_dir(&dirs[i]).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    dirs.push(e.path());
                }
            }
            i += 1;
        }
        // SAFETY: geteuid has no preconditions.
        let root_user = unsafe { libc::geteuid() } == 0;
        let ro = ReadOnly(dirs, root_user);
        for d in &ro.0 {
            let ok = if root_user {
                std::process::Command::new("chattr").arg("+i").arg(d).status().is_ok_and(|s| s.success())
            } else {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555)).is_ok()
            };
            if !ok {
                return None;
            }
        }
        // The probe: nothing can be created in the root.
        std::fs::write(root.join("probe"), b"").is_err().then_some(ro)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        for d in &self.0 {
            if self.1 {
                let _ = std::process::Command::new("chattr").arg("-i").arg(d).status();
            } else {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
            }
        }
    }
}

#[test]
fn a_read_only_root_is_queried_and_replayed_and_a_run_into_it_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-before"]);
    let want = csv(d, "SELECT COUNT(*), SUM(amount) FROM simulation_events");
    let Some(ro) = ReadOnly::new(&d.join("simcash-data")) else {
        eprintln!("skipped: neither permissions nor chattr make a directory read-only here");
        return;
    };
    // Reading needs no write.
    assert_eq!(csv(d, "SELECT COUNT(*), SUM(amount) FROM simulation_events"), want);
    run_ok(d, &["replay", "sim-before"]);
    run_ok(d, &["gc", "--check"]);
    // Writing fails with the path and the reason, and changes nothing.
    let o = simcash(d, &["run", "--simulation-id", "sim-ro"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("simcash-data") && (err.contains("ermission denied") || err.contains("not permitted")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    drop(ro);
    assert_eq!(csv(d, "SELECT simulation_id FROM simulations"), vec!["sim-before"]);
    assert_eq!(csv(d, "SELECT COUNT(*), SUM(amount) FROM simulation_events"), want);
    assert!(run_ok(d, &["gc", "--check"]).contains("no problems found"));
    run_ok(d, &["run", "--simulation-id", "sim-ro"]);
}

#[test]
fn a_writer_whose_commits_are_slow_loses_the_race_for_each_version_and_still_commits_once() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(dir.path());
    // sim-x's commits each wait 300 ms; meanwhile sim-y commits to every table.
    let (slow, store) = faulty(&ds, Op::Put, "_delta_log/0", Effect::Delay(std::time::Duration::from_millis(300)));
    std::thread::scope(|s| {
        let x = s.spawn(|| run(&slow, "sim-x"));
        std::thread::sleep(std::time::Duration::from_millis(100));
        let y = s.spawn(|| run(&ds, "sim-y"));
        x.join().unwrap().unwrap();
        y.join().unwrap().unwrap();
    });
    assert!(store.hit.lock().unwrap().len() >= 4, "{:?}", store.hit.lock().unwrap());
    // The slow writer started first and committed last.
    let log = simcash::store::delta::DeltaLog::new(ds.store.clone(), ObjectPath::from("simulations"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let version_of = |sim: &str| {
        let versions = rt.block_on(log.versions()).unwrap();
        versions
            .into_iter()
            .find(|v| {
                let actions = rt.block_on(log.read_commit(*v)).unwrap();
                actions.iter().any(|a| matches!(a, simcash::store::delta::action::Action::Txn(t) if t.app_id.ends_with(&format!("/{sim}"))))
            })
            .unwrap_or_else(|| panic!("{sim} committed"))
    };
    assert!(version_of("sim-y") < version_of("sim-x"), "the slow writer lost the race");
    let events = events_of_a_clean_run();
    let q = "SELECT simulation_id, COUNT(*) FROM simulation_events GROUP BY 1 ORDER BY 1";
    assert_eq!(csv(dir.path(), q), vec![format!("sim-before,{events}"), format!("sim-x,{events}"), format!("sim-y,{events}")]);
    assert_eq!(csv(dir.path(), "SELECT COUNT(*), COUNT(DISTINCT simulation_id) FROM simulations"), vec!["3,3"]);
}
