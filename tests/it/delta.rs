//! The Delta tables under pressure: writers of one simulation id at once, sweep shards at
//! once, sweeps and compactions killed at any moment, compaction racing readers and writers,
//! and gc's vacuum. Every check compares query results with an undisturbed run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{csv, data, files_under, run_ok, stderr, stdout};

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_simcash")).current_dir(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts")
}

/// Kills `child` (SIGKILL) after `ms` milliseconds; true if it had already finished.
fn kill_after(mut child: Child, ms: u64) -> bool {
    std::thread::sleep(Duration::from_millis(ms));
    let finished = child.try_wait().unwrap().is_some();
    child.kill().unwrap();
    child.wait().unwrap();
    finished
}

/// A sweep of `count` seeds of `tests/data/sweeps/tiny.yaml` (one configuration), written to
/// `dir/sweep.yaml`.
fn seed_sweep(dir: &Path, count: usize) -> String {
    let scenario = data("sweeps/tiny.yaml");
    let file = dir.join("sweep.yaml");
    std::fs::write(&file, format!("name: seeds\nscenario: {}\nseeds: {{from: 1, count: {count}}}\n", scenario.display())).unwrap();
    file.to_str().unwrap().to_owned()
}

/// What the checks compare: events per simulation (count and amount), the sweep points, and
/// agent ticks per simulation.
const RESULTS: [&str; 3] = [
    "SELECT simulation_id, COUNT(*), SUM(amount), MAX(tick) FROM simulation_events GROUP BY 1 ORDER BY 1",
    "SELECT point, simulation_id, seed, total_cost, settlement_rate FROM sweep_points ORDER BY point",
    "SELECT simulation_id, COUNT(*), SUM(balance) FROM agent_ticks GROUP BY 1 ORDER BY 1",
];

fn results(dir: &Path) -> Vec<Vec<String>> {
    RESULTS.iter().map(|q| csv(dir, q)).collect()
}

/// Nothing is half-visible and nothing is duplicated: every committed simulation has all its
/// events (as many as in `reference`), no event or point appears twice, and every point's
/// simulation is committed.
fn assert_whole(dir: &Path, reference: &BTreeMap<String, String>) {
    let sims = csv(dir, "SELECT simulation_id FROM simulations ORDER BY 1");
    let distinct = csv(dir, "SELECT COUNT(DISTINCT simulation_id) FROM simulations");
    assert_eq!(distinct, vec![sims.len().to_string()], "no simulation twice");
    let events: BTreeMap<String, String> = csv(dir, "SELECT simulation_id, COUNT(*) FROM simulation_events GROUP BY 1 ORDER BY 1")
        .into_iter()
        .map(|l| {
            let (s, n) = l.split_once(',').unwrap();
            (s.to_owned(), n.to_owned())
        })
        .collect();
    assert_eq!(events.keys().cloned().collect::<Vec<_>>(), sims, "events exactly of the committed simulations");
    for (s, n) in &events {
        assert_eq!(Some(n), reference.get(s), "{s}: all its events, once");
    }
    let dup_points = "SELECT COUNT(*) FROM (SELECT point FROM sweep_points GROUP BY point HAVING COUNT(*) > 1)";
    assert_eq!(csv(dir, dup_points), vec!["0"]);
    let orphans = "SELECT COUNT(*) FROM sweep_points p LEFT JOIN simulations s USING (simulation_id) WHERE s.simulation_id IS NULL";
    assert_eq!(csv(dir, orphans), vec!["0"]);
}

fn per_simulation(lines: &[String]) -> BTreeMap<String, String> {
    lines
        .iter()
        .map(|l| {
            let mut f = l.splitn(3, ',');
            (f.next().unwrap().to_owned(), f.next().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn two_runs_of_one_simulation_id_at_once_commit_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let one_run = |seed: &str| {
        let alone = tempfile::tempdir().unwrap();
        run_ok(alone.path(), &["run", "--seed", seed, "--simulation-id", "sim-alone"]);
        csv(alone.path(), "SELECT COUNT(*), SUM(amount) FROM simulation_events")
    };
    let expected = [one_run("1"), one_run("2")];
    for round in 0..3 {
        let id = format!("sim-twin-{round}");
        let twins: Vec<_> = ["1", "2"].iter().map(|seed| spawn(d, &["run", "--seed", seed, "--simulation-id", &id])).collect();
        let outcomes: Vec<_> = twins.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        let winners: Vec<usize> = (0..2).filter(|&i| outcomes[i].status.success()).collect();
        assert_eq!(winners.len(), 1, "exactly one of two writers of {id} wins");
        let loser = &outcomes[1 - winners[0]];
        assert_eq!(loser.status.code(), Some(2));
        assert!(stderr(loser).contains(&format!("simulation `{id}` already exists")), "{}", stderr(loser));
        let seed = ["1", "2"][winners[0]];
        assert_eq!(csv(d, &format!("SELECT seed FROM simulations WHERE simulation_id = '{id}'")), vec![seed]);
        let events = csv(d, &format!("SELECT COUNT(*), SUM(amount) FROM simulation_events WHERE simulation_id = '{id}'"));
        assert_eq!(events, expected[winners[0]], "the winner's events, once");
    }
    assert!(run_ok(d, &["gc", "--dry-run", "--min-age", "0"]).contains("0 uncommitted"), "the loser left nothing in the logs");
}

#[test]
fn two_sweep_shards_at_once_on_local_disk_fill_the_dataset_once() {
    let (shards, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = seed_sweep(shards.path(), 60);
    let both: Vec<_> = ["1/2", "2/2"].iter().map(|s| spawn(shards.path(), &["sweep", &file, "--shard", s, "--jobs", "1", "--commit-every", "5"])).collect();
    for c in both {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("30 point(s), 0 already committed (skipped), 30 run now"), "{}", stdout(&o));
    }
    run_ok(whole.path(), &["sweep", &file, "--jobs", "2"]);
    assert_eq!(results(shards.path()), results(whole.path()));
    assert_eq!(csv(shards.path(), "SELECT COUNT(*), COUNT(DISTINCT simulation_id) FROM simulations"), vec!["60,60"]);
}

#[test]
fn the_same_sweep_twice_at_once_commits_every_point_once() {
    let (twice, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = seed_sweep(twice.path(), 80);
    // Both run every point; groups of a few, so the two interleave and lose races for ids
    // the other committed first (their rows are then left out of the shared files).
    let both: Vec<_> = (0..2).map(|_| spawn(twice.path(), &["sweep", &file, "--jobs", "2", "--commit-every", "3"])).collect();
    let mut ran = 0;
    for c in both {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let now: usize = out.split(", ").find_map(|f| f.strip_suffix(" run now\n")).unwrap_or_else(|| panic!("{out}")).parse().unwrap();
        ran += now;
    }
    assert!(ran >= 80, "every point ran at least once ({ran})");
    run_ok(whole.path(), &["sweep", &file, "--jobs", "2"]);
    assert_eq!(results(twice.path()), results(whole.path()), "every point once, whole");
    assert_eq!(csv(twice.path(), "SELECT COUNT(*), COUNT(DISTINCT simulation_id) FROM raw.events WHERE seq = 0"), vec!["80,80"]);
}

#[test]
fn a_sweep_killed_at_any_moment_keeps_whole_simulations_and_a_rerun_completes_it() {
    let (killed, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = seed_sweep(killed.path(), 900);
    run_ok(whole.path(), &["sweep", &file, "--jobs", "2"]);
    let want = results(whole.path());
    let reference = per_simulation(&want[0]);
    let mut interrupted = 0;
    for ms in [150, 400, 700, 1000, 1500, 2500] {
        // Small groups, so that kills land before, during and after commits.
        let child = spawn(killed.path(), &["sweep", &file, "--jobs", "2", "--commit-every", "7"]);
        if !kill_after(child, ms) {
            interrupted += 1;
        }
        assert_whole(killed.path(), &reference);
    }
    assert!(interrupted >= 3, "the sweep is long enough to be killed mid-way ({interrupted} of 6 were)");
    let rest = run_ok(killed.path(), &["sweep", &file, "--jobs", "2"]);
    assert!(rest.contains("sweep sweep-seeds-"), "{rest}");
    assert_eq!(results(killed.path()), want, "the rerun completes the sweep as if it had never stopped");
    // The first pass takes files of killed groups out of the log, the second deletes them.
    for _ in 0..2 {
        run_ok(killed.path(), &["gc", "--min-age", "0", "--retention", "0"]);
        assert_eq!(results(killed.path()), want, "gc removed only garbage");
    }
    let left = run_ok(killed.path(), &["gc", "--dry-run", "--min-age", "0", "--retention", "0"]);
    assert!(left.contains("0 uncommitted, 0 unlisted, 0 expired"), "{left}");
}

#[test]
fn a_sweep_stopped_by_a_file_size_limit_keeps_whole_simulations_and_a_rerun_completes_it() {
    use std::os::unix::process::CommandExt;
    let (limited, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // 240 simulations of the embedded default (~2,300 events each): each worker's spool files
    // close a row group of events (~2 MB) mid-way, against a limit of 256 KB per file.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.yaml");
    let file = limited.path().join("sweep.yaml");
    std::fs::write(&file, format!("name: big\nscenario: {}\nseeds: {{from: 1, count: 240}}\n", scenario.display())).unwrap();
    let file = file.to_str().unwrap();
    run_ok(whole.path(), &["sweep", file, "--jobs", "2"]);
    let want = results(whole.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_simcash"));
    cmd.current_dir(limited.path()).args(["sweep", file, "--jobs", "2"]);
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 256 << 10, rlim_max: 256 << 10 };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        });
    }
    let o = cmd.output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("File too large") && err.contains(".parquet") && !err.contains("panicked"), "{err}");
    assert_whole(limited.path(), &per_simulation(&want[0]));
    run_ok(limited.path(), &["sweep", file, "--jobs", "2"]);
    assert_eq!(results(limited.path()), want, "the rerun completes the sweep as if it had never stopped");
}

/// Data files on disk in `root/table` (Parquet files outside the log).
fn files(root: &Path, table: &str) -> usize {
    let dir = root.join(table);
    files_under(&dir).iter().filter(|f| !f.starts_with(dir.join("_delta_log")) && f.extension().is_some_and(|x| x == "parquet")).count()
}

#[test]
fn compaction_killed_at_any_moment_changes_no_result_and_vacuum_frees_the_small_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = seed_sweep(d, 200);
    // Groups of two simulations: one small events file each.
    run_ok(d, &["sweep", &file, "--jobs", "2", "--commit-every", "2", "--no-compact"]);
    let want = results(d);
    let root = d.join("simcash-data");
    let small = files(&root, "events");
    assert!(small >= 100, "one events file per group before compaction ({small})");
    for ms in [30, 100, 250, 500] {
        kill_after(spawn(d, &["compact"]), ms);
        assert_eq!(results(d), want, "compaction killed after {ms} ms");
    }
    let out = run_ok(d, &["compact"]);
    assert_eq!(results(d), want, "{out}");
    // The small files stay until the retention has passed (readers of older snapshots).
    assert!(files(&root, "events") > small);
    let gc = run_ok(d, &["gc", "--min-age", "0", "--retention", "0"]);
    assert_eq!(results(d), want, "{gc}");
    assert_eq!(files(&root, "events"), 1, "{gc}");
    assert!(run_ok(d, &["compact"]).contains("nothing to compact"), "a compacted table stays as it is");
}

#[test]
fn compaction_racing_readers_and_a_writer_changes_no_result() {
    let (raced, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = seed_sweep(raced.path(), 200);
    run_ok(whole.path(), &["sweep", &file, "--jobs", "2"]);
    run_ok(raced.path(), &["sweep", &file, "--jobs", "2", "--shard", "1/2", "--commit-every", "5", "--no-compact"]);
    let half = results(raced.path());
    // Compaction of the first half while the second half is written into the same partition,
    // and readers query throughout.
    let mut compact = spawn(raced.path(), &["compact"]);
    let mut writer = spawn(raced.path(), &["sweep", &file, "--jobs", "1", "--shard", "2/2", "--commit-every", "5", "--no-compact"]);
    let mut reads = 0;
    while compact.try_wait().unwrap().is_none() {
        reads += 1;
        let points = csv(raced.path(), "SELECT COUNT(*) FROM sweep_points WHERE point % 2 = 0");
        assert_eq!(points, vec!["100"], "the first half, whole, in every snapshot");
        let first = csv(
            raced.path(),
            &RESULTS[0].replace("GROUP BY 1", "WHERE simulation_id IN (SELECT simulation_id FROM sweep_points WHERE point % 2 = 0) GROUP BY 1"),
        );
        assert_eq!(first, half[0], "read {reads} during compaction");
    }
    assert!(reads >= 1);
    for c in [&mut compact, &mut writer] {
        let status = c.wait().unwrap();
        assert!(status.success(), "{}", std::io::read_to_string(c.stderr.take().unwrap()).unwrap());
    }
    assert_eq!(results(raced.path()), results(whole.path()));
    run_ok(raced.path(), &["compact"]);
    run_ok(raced.path(), &["gc", "--min-age", "0", "--retention", "0"]);
    assert_eq!(results(raced.path()), results(whole.path()));
}

#[test]
fn readers_start_from_the_newest_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = seed_sweep(d, 24);
    // One commit per simulation: checkpoints at every tenth version, and after compaction.
    run_ok(d, &["sweep", &file, "--jobs", "1", "--commit-every", "1"]);
    let want = results(d);
    let root = d.join("simcash-data");
    for table in ["events", "agent_ticks", "ticks", "simulations", "sweep_points"] {
        let log = root.join(table).join("_delta_log");
        let names: Vec<String> = std::fs::read_dir(&log).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        let newest = names.iter().filter_map(|n| n.strip_suffix(".checkpoint.parquet")).max().unwrap_or_else(|| panic!("{table}: no checkpoint"));
        let last: serde_json::Value = serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
        assert_eq!(last["version"].as_u64(), Some(newest.parse().unwrap()), "{table}");
        // The commits a checkpoint covers are not needed any more.
        for n in names.iter().filter(|n| n.strip_suffix(".json").is_some_and(|v| v <= newest)) {
            std::fs::remove_file(log.join(n)).unwrap();
        }
    }
    assert_eq!(results(d), want);
    assert!(run_ok(d, &["sweep", &file]).contains("24 already committed"), "the markers are in the checkpoint");
}

/// The group tags of `table`'s live files in the local dataset at `root` (`None`: untagged).
fn group_tags(root: &Path, table: &str) -> Vec<Option<String>> {
    let ds = simcash::store::Dataset::open(root.to_str().unwrap(), false).unwrap();
    let t = simcash::store::table::Table::new(&ds, simcash::store::registry::get(table).unwrap());
    let snap = tokio::runtime::Runtime::new().unwrap().block_on(t.snapshot()).unwrap();
    snap.files.values().map(|a| simcash::store::commit::group(a).map(str::to_owned)).collect()
}

#[test]
fn compaction_marks_large_files_of_committed_groups_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("simcash-data");
    let file = seed_sweep(d, 40);
    run_ok(d, &["sweep", &file, "--jobs", "1", "--commit-every", "10", "--no-compact"]);
    let whole = results(d);
    // The last group's `simulations` commit never landed (nor, after it, its points' rows).
    crate::util::undo_last_commit(root.to_str().unwrap(), "sweep_points");
    crate::util::undo_last_commit(root.to_str().unwrap(), "simulations");
    let killed = results(d);
    assert_eq!(csv(d, "SELECT COUNT(*) FROM simulations"), vec!["30"]);
    let before = group_tags(&root, "events");
    assert_eq!((before.len(), before.iter().filter(|g| g.is_some()).count()), (4, 4));
    // Nothing is rewritten (--small-size 0): the three committed groups' files lose their tag.
    let out = run_ok(d, &["compact", "--small-size", "0"]);
    assert!(out.contains("events") && out.contains("3 file(s) kept as they are, marked committed"), "{out}");
    let after = group_tags(&root, "events");
    let uncommitted: Vec<_> = after.iter().flatten().collect();
    assert_eq!((after.len(), uncommitted.len()), (4, 1), "{after:?}");
    assert!(before.contains(&Some(uncommitted[0].clone())));
    assert_eq!(results(d), killed, "the uncommitted group stays invisible");
    // Its simulations are run again; gc then removes its orphaned files.
    run_ok(d, &["sweep", &file, "--jobs", "1", "--no-compact"]);
    assert_eq!(results(d), whole);
    run_ok(d, &["gc", "--min-age", "0", "--retention", "0"]);
    assert_eq!(results(d), whole);
}

#[test]
fn compaction_marks_small_files_it_leaves_alone() {
    use simcash::store::compact::{Options, compact};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("simcash-data");
    // Groups of 10, 10 and 5 simulations, one file each, in point order.
    let file = seed_sweep(d, 25);
    run_ok(d, &["sweep", &file, "--jobs", "1", "--commit-every", "10", "--no-compact"]);
    let whole = results(d);
    let ds = simcash::store::Dataset::open(root.to_str().unwrap(), false).unwrap();
    let events = simcash::store::table::Table::new(&ds, simcash::store::registry::get("events").unwrap());
    let snap = tokio::runtime::Runtime::new().unwrap().block_on(events.snapshot()).unwrap();
    let mut sizes: Vec<u64> = snap.files.values().map(|a| a.size as u64).collect();
    sizes.sort();
    assert_eq!(sizes.len(), 3);
    // Only the last group's file is small, and it is alone after the large ones: it is not
    // rewritten, but like them it loses its group tag.
    let opts = Options { small_bytes: sizes[1], ..Options::default() };
    let reports = compact(&ds, None, opts).unwrap();
    let report = reports.iter().find(|r| r.table == "events").unwrap();
    assert_eq!((report.files_in, report.marked), (0, 3), "{report:?}");
    assert!(group_tags(&root, "events").iter().all(Option::is_none));
    assert_eq!(results(d), whole);
}

#[test]
fn the_compaction_that_ends_a_sweep_waits_for_fifty_small_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("simcash-data");
    // One group (one small file per table) per simulation.
    let sweep = |count: usize| {
        let file = seed_sweep(d, count);
        let o = crate::util::simcash(d, &["sweep", &file, "--jobs", "1", "--commit-every", "1"]);
        assert!(o.status.success(), "{}", crate::util::stderr(&o));
        crate::util::stderr(&o)
    };
    // 12 small files: left as they are (without their group tags) until `simcash compact`.
    let err = sweep(12);
    assert!(!err.contains("compacted"), "{err}");
    let live = group_tags(&root, "events");
    assert_eq!(live.len(), 12);
    assert!(live.iter().all(Option::is_none), "{live:?}");
    let want = results(d);
    run_ok(d, &["compact"]);
    assert_eq!(group_tags(&root, "events").len(), 1);
    assert_eq!(results(d), want);
    // A sweep of 60 (another experiment, another partition) leaves 60 small files per table:
    // it compacts them.
    let err = sweep(60);
    assert!(err.contains("compacted 300 file(s) into 5"), "{err}");
    assert_eq!(group_tags(&root, "events").len(), 2);
}

/// Each simulation of `experiment_id`'s partition (`simulation_events` counts and sums), as
/// lines `simulation_id,count,sum`.
fn partition(dir: &Path, experiment_id: &str) -> Vec<String> {
    csv(dir, &format!("SELECT simulation_id, COUNT(*), SUM(amount) FROM simulation_events WHERE experiment_id = '{experiment_id}' GROUP BY 1 ORDER BY 1"))
}

/// The experiment id a command printed (`… sweep-x-… → …` or `experiment exp-x-… → …`).
fn printed_id(out: &str, prefix: &str) -> String {
    out.split_whitespace().find(|w| w.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix}… in {out}")).trim_end_matches(':').to_owned()
}

#[test]
fn runs_a_sweep_an_experiment_gc_and_compact_at_once_while_queries_loop_leave_every_simulation_once() {
    let (busy, quiet) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (b, q) = (busy.path(), quiet.path());
    let sweep = seed_sweep(b, 150);
    let scenario = data("sweeps/tiny.yaml");
    let scenario = scenario.to_str().unwrap();
    let experiment = data("experiments/exp1.yaml");
    let experiment = experiment.to_str().unwrap();
    // The same work alone, for reference (every part is deterministic).
    let sweep_id = printed_id(&run_ok(q, &["sweep", &sweep, "--jobs", "1"]), "sweep-");
    let exp_id = printed_id(&run_ok(q, &["experiment", "run", experiment, "--max-iterations", "3"]), "exp-");
    run_ok(q, &["run", scenario, "--simulation-id", "run-0"]);
    let one_run = csv(q, "SELECT COUNT(*), SUM(amount) FROM simulation_events WHERE simulation_id = 'run-0'");
    run_ok(b, &["run", scenario, "--simulation-id", "run-0"]);

    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    let clean = |o: &std::process::Output, what: &str| {
        let err = stderr(o);
        assert!(o.status.success() || (o.status.code() == Some(1) && err.contains("error:")), "{what}: {:?} {err}", o.status);
        assert!(!err.contains("panicked"), "{what}: {err}");
    };
    let (runs, queries) = std::thread::scope(|s| {
        let sweep = s.spawn(|| spawn(b, &["sweep", &sweep, "--jobs", "1", "--commit-every", "4"]).wait_with_output().unwrap());
        let exp = s.spawn(|| spawn(b, &["experiment", "run", experiment, "--max-iterations", "3"]).wait_with_output().unwrap());
        let runs = s.spawn(|| {
            let mut ok = 1;
            while std::time::Instant::now() < deadline {
                let o = spawn(b, &["run", scenario, "--simulation-id", &format!("run-{ok}")]).wait_with_output().unwrap();
                clean(&o, "run");
                ok += usize::from(o.status.success());
            }
            ok
        });
        for args in [&["gc"][..], &["compact"][..]] {
            s.spawn(move || {
                while std::time::Instant::now() < deadline {
                    clean(&spawn(b, args).wait_with_output().unwrap(), args[0]);
                }
            });
        }
        let queries = s.spawn(|| {
            let mut answered = 0;
            while std::time::Instant::now() < deadline {
                let o = spawn(b, &["sql", "--format", "csv", "SELECT COUNT(*), COUNT(DISTINCT simulation_id) FROM simulations"]).wait_with_output().unwrap();
                clean(&o, "sql");
                if let Some(line) = stdout(&o).lines().nth(1) {
                    let (n, distinct) = line.split_once(',').unwrap();
                    assert_eq!(n, distinct, "no simulation visible twice");
                    answered += 1;
                }
            }
            answered
        });
        for (name, o) in [("sweep", sweep.join().unwrap()), ("experiment", exp.join().unwrap())] {
            assert!(o.status.success(), "{name}: {}", stderr(&o));
        }
        (runs.join().unwrap(), queries.join().unwrap())
    });
    eprintln!("{runs} runs and {queries} queries under load");
    assert!(runs > 3 && queries > 3, "{runs} runs and {queries} queries ran under load");
    // Every writer's simulations, whole and once: the sweep's and the experiment's as when
    // they ran alone, and each run that reported success.
    assert_eq!(partition(b, &sweep_id), partition(q, &sweep_id));
    assert_eq!(partition(b, &exp_id), partition(q, &exp_id));
    let ids: Vec<String> = (0..runs).map(|i| format!("run-{i}")).collect();
    let per_run = csv(b, "SELECT simulation_id, COUNT(*), SUM(amount) FROM simulation_events WHERE simulation_id LIKE 'run-%' GROUP BY 1");
    assert_eq!(per_run.len(), runs, "{per_run:?}");
    for line in &per_run {
        let (id, counts) = line.split_once(',').unwrap();
        assert!(ids.contains(&id.to_owned()), "{id}");
        assert_eq!(counts, one_run[0], "{id}");
    }
    let total = 150 + partition(q, &exp_id).len() + runs;
    assert_eq!(csv(b, "SELECT COUNT(*), COUNT(DISTINCT simulation_id) FROM simulations"), vec![format!("{total},{total}")]);
}
