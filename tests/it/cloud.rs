//! The dataset on object storage: `run`, `sql`, `list`, `replay`, `experiment run`, `gc`
//! and two sweep shards writing at once, against a real server, each compared with the same
//! commands on a local directory.
//!
//! Ignored by a plain `cargo test`: `scripts/object-storage.sh` starts moto's S3 server and
//! then Azurite (Azure Blob Storage) on 127.0.0.1, makes a bucket (container) in each, sets
//! `SIMCASH_TEST_ROOT` (`s3://BUCKET`, then `az://CONTAINER`) and the store's variables, and
//! runs them with `--ignored`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::util::{data, stderr, stdout};

/// A fresh prefix in the test bucket (container) for one test.
fn remote_root(test: &str) -> String {
    let bucket = std::env::var("SIMCASH_TEST_ROOT").expect("SIMCASH_TEST_ROOT=s3://BUCKET or az://CONTAINER (set by scripts/object-storage.sh)");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}/{test}-{}-{nanos}", bucket.trim_end_matches('/'), std::process::id())
}

fn command(dir: &Path, root: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_simcash"));
    c.current_dir(dir).env("SIMCASH_DATA", root).args(args);
    c
}

/// Runs `simcash` on the dataset `root` (a local directory or an object-store URL).
fn on(dir: &Path, root: &str, args: &[&str]) -> Output {
    command(dir, root, args).output().expect("the binary runs")
}

fn ok(dir: &Path, root: &str, args: &[&str]) -> String {
    let o = on(dir, root, args);
    assert!(o.status.success(), "{root} {args:?}: {}", stderr(&o));
    stdout(&o)
}

fn csv(dir: &Path, root: &str, q: &str) -> Vec<String> {
    ok(dir, root, &["sql", "--format", "csv", q]).lines().skip(1).map(str::to_owned).collect()
}

/// The local twin of a remote dataset, in `dir`.
const LOCAL: &str = "local-data";

#[test]
#[ignore = "needs an object-store server: scripts/object-storage.sh runs these"]
fn run_sql_list_and_replay_work_on_object_storage_as_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = remote_root("run");
    let live = ok(d, &root, &["run", "-v", "--simulation-id", "sim-remote", "--events", "live.jsonl"]);
    ok(d, LOCAL, &["run", "-v", "--simulation-id", "sim-remote"]);
    // Every view reads the same rows from the store as from the local twin.
    for q in [
        "SELECT COUNT(*), SUM(amount), MAX(tick) FROM simulation_events",
        "SELECT event_count, settled, total_cost, settlement_rate FROM simulations",
        "SELECT agent, day, closing_balance, total_cost FROM daily_agent_metrics ORDER BY agent, day",
        "SELECT status, COUNT(*), SUM(delay_ticks) FROM transactions GROUP BY status ORDER BY status",
    ] {
        assert_eq!(csv(d, &root, q), csv(d, LOCAL, q), "{q}");
    }
    // The event file has one `_TickSummary` line per tick beside the stored events.
    let lines = std::fs::read_to_string(d.join("live.jsonl")).unwrap();
    let stored = lines.lines().filter(|l| !l.contains(r#""event_type":"_TickSummary""#)).count();
    assert_eq!(csv(d, &root, "SELECT COUNT(*) FROM simulation_events"), vec![stored.to_string()]);
    assert!(ok(d, &root, &["list"]).contains("sim-remote"));
    // Replay from the store prints what the live run printed, and writes the same event file.
    let replayed = ok(d, &root, &["replay", "sim-remote", "-v", "--events", "replayed.jsonl"]);
    assert_eq!(replayed, live);
    assert_eq!(std::fs::read(d.join("replayed.jsonl")).unwrap(), std::fs::read(d.join("live.jsonl")).unwrap());
    // The commit is create-if-absent on the store too.
    let again = on(d, &root, &["run", "--simulation-id", "sim-remote"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    ok(d, &root, &["run", "--simulation-id", "sim-remote", "--overwrite", "--seed", "9"]);
    assert_eq!(csv(d, &root, "SELECT COUNT(*), MIN(seed) FROM simulations"), vec!["1,9"]);
    // Two processes racing for one new id: exactly one commits, the other is told why.
    let racers: Vec<_> =
        (0..2).map(|_| command(d, &root, &["run", "--simulation-id", "sim-race"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()).collect();
    let outcomes: Vec<Output> = racers.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let won = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(won, 1, "{:?}", outcomes.iter().map(stderr).collect::<Vec<_>>());
    let lost = outcomes.iter().find(|o| !o.status.success()).unwrap();
    assert!(stderr(lost).contains("already exists"), "{}", stderr(lost));
    let q = "SELECT s.event_count = COUNT(*) FROM simulation_events e JOIN simulations s USING (simulation_id) \
             WHERE s.simulation_id = 'sim-race' GROUP BY s.event_count";
    assert_eq!(csv(d, &root, q), vec!["true"]);
}

#[test]
#[ignore = "needs an object-store server: scripts/object-storage.sh runs these"]
fn an_experiment_runs_and_replays_on_object_storage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = remote_root("experiment");
    let exp = data("experiments/exp1.yaml");
    let exp = exp.to_str().unwrap();
    ok(d, &root, &["experiment", "run", exp]);
    ok(d, LOCAL, &["experiment", "run", exp]);
    let q = "SELECT iteration, agent, cost, accepted FROM experiment_iterations ORDER BY iteration, agent";
    let remote = csv(d, &root, q);
    assert!(remote.len() >= 2, "{remote:?}");
    assert_eq!(remote, csv(d, LOCAL, q));
    let id = csv(d, &root, "SELECT experiment_id FROM experiments")[0].clone();
    assert_eq!(ok(d, &root, &["experiment", "results", &id]), ok(d, LOCAL, &["experiment", "results", &id]));
    // An experiment simulation replays like a CLI run.
    let sim = csv(d, &root, "SELECT simulation_id FROM simulations ORDER BY iteration DESC, simulation_id LIMIT 1")[0].clone();
    let args = ["replay", sim.as_str(), "--experiment", id.as_str(), "-v"];
    let replayed = ok(d, &root, &args);
    assert!(replayed.contains("end of day"), "{replayed}");
    assert_eq!(replayed, ok(d, LOCAL, &args));
}

#[test]
#[ignore = "needs an object-store server: scripts/object-storage.sh runs these"]
fn gc_finds_and_removes_uncommitted_simulations_on_object_storage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = remote_root("gc");
    ok(d, &root, &["run", "--simulation-id", "sim-keep"]);
    ok(d, &root, &["run", "--simulation-id", "sim-lost"]);
    // Lose sim-lost's `simulations` commit, as if its run had died just before it.
    crate::util::undo_last_commit(&root, "simulations");
    assert_eq!(csv(d, &root, "SELECT COUNT(DISTINCT simulation_id) FROM raw.events"), vec!["2"]);
    assert_eq!(csv(d, &root, "SELECT COUNT(DISTINCT simulation_id) FROM simulation_events"), vec!["1"]);
    let dry = ok(d, &root, &["gc", "--dry-run", "--min-age", "0"]);
    assert!(dry.contains("would remove from events: 1 uncommitted"), "{dry}");
    assert_eq!(csv(d, &root, "SELECT COUNT(DISTINCT simulation_id) FROM raw.events"), vec!["2"], "a dry run removes nothing");
    let out = ok(d, &root, &["gc", "--min-age", "0"]);
    assert!(out.contains("removing from events: 1 uncommitted"), "{out}");
    assert_eq!(csv(d, &root, "SELECT COUNT(DISTINCT simulation_id) FROM raw.events"), vec!["1"]);
    assert!(ok(d, &root, &["gc", "--min-age", "0"]).contains("0 uncommitted"));
}

#[test]
#[ignore = "needs an object-store server: scripts/object-storage.sh runs these"]
fn a_run_killed_mid_upload_leaves_nothing_visible_on_object_storage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = remote_root("kill");
    ok(d, &root, &["run", "--simulation-id", "sim-before"]);
    let default = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.yaml")).unwrap();
    std::fs::write(d.join("long.yaml"), default.replace("num_days: 2", "num_days: 150")).unwrap();
    let mut child = command(d, &root, &["run", "long.yaml", "--simulation-id", "sim-killed"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let finished = child.try_wait().unwrap().is_some();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!finished, "the 150-day run ended within 700 ms, so the kill tested nothing");
    let visible = csv(d, &root, "SELECT COUNT(*) FROM simulations WHERE simulation_id = 'sim-killed'");
    let events = csv(d, &root, "SELECT COUNT(*) FROM simulation_events WHERE simulation_id = 'sim-killed'");
    assert_eq!((visible, events), (vec!["0".to_owned()], vec!["0".to_owned()]), "nothing of a killed run is visible");
    assert_eq!(csv(d, &root, "SELECT COUNT(*) FROM simulations"), vec!["1"]);
}

#[test]
#[ignore = "needs an object-store server: scripts/object-storage.sh runs these"]
fn two_sweep_shards_at_once_fill_one_remote_dataset_with_every_point_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = remote_root("shards");
    let grid = data("sweeps/grid.yaml");
    let grid = grid.to_str().unwrap();
    // Both shards start together and write into the same prefix at the same time.
    let shards: Vec<_> = ["1/2", "2/2"]
        .iter()
        .map(|s| command(d, &root, &["sweep", grid, "--shard", s, "--jobs", "2"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for c in shards {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("4 point(s), 0 already committed (skipped), 4 run now"), "{}", stdout(&o));
    }
    ok(d, LOCAL, &["sweep", grid]);
    let q = "SELECT point, simulation_id, seed, array_to_string(parameter_values, ';'), total_cost, settlement_rate \
             FROM sweep_points ORDER BY point";
    assert_eq!(csv(d, &root, q), csv(d, LOCAL, q));
    assert_eq!(csv(d, &root, "SELECT COUNT(*), COUNT(DISTINCT point) FROM sweep_points"), vec!["8,8"]);
    assert_eq!(csv(d, &root, "SELECT COUNT(*), COUNT(DISTINCT simulation_id) FROM simulations"), vec!["8,8"]);
    let events = "SELECT simulation_id, COUNT(*), SUM(amount) FROM simulation_events GROUP BY simulation_id ORDER BY simulation_id";
    assert_eq!(csv(d, &root, events), csv(d, LOCAL, events));
    // Nothing left uncommitted, and a rerun finds every point done.
    assert!(ok(d, &root, &["gc", "--dry-run", "--min-age", "0"]).contains("0 uncommitted"));
    assert!(ok(d, &root, &["sweep", grid]).contains("8 point(s), 8 already committed (skipped), 0 run now"));
}

#[test]
#[ignore = "needs an object-store server: scripts/object-storage.sh runs these"]
fn bad_remote_roots_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bucket = std::env::var("SIMCASH_TEST_ROOT").unwrap();
    // A prefix with nothing in it is like a missing directory for readers.
    let empty = remote_root("empty");
    let o = on(d, &empty, &["sql", "SELECT 1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing stored under this root"), "{}", stderr(&o));
    // A bucket that does not exist: the store's reason, before anything runs.
    let missing = format!("{}-no-such-bucket/x", bucket.trim_end_matches('/'));
    let o = on(d, &missing, &["run"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-bucket"), "{}", stderr(&o));
}
