//! The dataset: `simcash run` persists, the views agree with independent computations from
//! the JSONL stream, commits are all-or-nothing, and bad input gets clear errors.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{csv as sql, data, files_under, run_ok, simcash, stderr, stdout};

fn one(dir: &Path, q: &str) -> String {
    let rows = sql(dir, q);
    assert_eq!(rows.len(), 1, "{q}: {rows:?}");
    rows[0].clone()
}

fn stream(dir: &Path, file: &str) -> Vec<serde_json::Map<String, Value>> {
    std::fs::read_to_string(dir.join(file)).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_run_is_saved_and_its_views_match_the_event_stream() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = simcash(d, &["run", "--events", "e.jsonl", "--simulation-id", "sim-default"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("saved simulation sim-default (experiment adhoc, iteration 0) to ./simcash-data"), "{}", stderr(&o));
    let events = stream(d, "e.jsonl");
    let real: Vec<_> = events.iter().filter(|e| e["event_type"] != "_TickSummary").collect();

    // simulation_events holds every event, in order.
    assert_eq!(one(d, "SELECT COUNT(*) FROM simulation_events"), real.len().to_string());
    let types = sql(d, "SELECT event_type FROM simulation_events ORDER BY seq");
    let expect: Vec<String> = real.iter().map(|e| e["event_type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, expect);

    // transactions: settled count equals the settlements in the stream.
    let mut settled = 0usize;
    for e in &real {
        settled += match e["event_type"].as_str().unwrap() {
            "RtgsImmediateSettlement" | "Queue2LiquidityRelease" | "LsmQueue2Settlement" => 1,
            "LsmBilateralOffset" if e["settled"] == true => e["tx_ids"].as_array().unwrap().len(),
            "LsmBilateralSettlement" | "LsmCycleSettlement" => e["tx_ids"].as_array().unwrap().len(),
            _ => 0,
        };
    }
    assert_eq!(one(d, "SELECT COUNT(*) FROM transactions WHERE status = 'settled'"), settled.to_string());
    let arrivals = real.iter().filter(|e| e["event_type"] == "Arrival").count();
    assert_eq!(one(d, "SELECT COUNT(*) FROM transactions"), arrivals.to_string());

    // daily_agent_metrics: closing balance = the engine's balance at the end of each day.
    let mut eod: BTreeMap<(u64, String), i64> = BTreeMap::new();
    for e in events.iter().filter(|e| e["event_type"] == "_TickSummary") {
        let tick = e["tick"].as_u64().unwrap();
        if tick % 100 == 99 {
            for (agent, b) in e["balances"].as_object().unwrap() {
                eod.insert((tick / 100, agent.clone()), b.as_i64().unwrap());
            }
        }
    }
    let rows = sql(d, "SELECT day, agent, closing_balance FROM daily_agent_metrics ORDER BY day, agent");
    let got: BTreeMap<(u64, String), i64> = rows
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            ((f[0].parse().unwrap(), f[1].to_owned()), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(got, eod);

    // Costs: the view sums equal the CostAccrual totals in the stream.
    let total: i64 = real.iter().filter(|e| e["event_type"] == "CostAccrual").map(|e| e["costs"]["total"].as_i64().unwrap()).sum();
    assert_eq!(one(d, "SELECT SUM(total_cost) FROM agent_costs"), total.to_string());
    assert_eq!(one(d, "SELECT SUM(total_cost) FROM daily_agent_metrics"), total.to_string());
    assert_eq!(one(d, "SELECT total_cost FROM simulations"), total.to_string());
    // The *_units columns hold the same money in currency units, as the run summary prints it.
    let summary_total = stdout(&o).lines().find(|l| l.trim_start().starts_with("total ")).unwrap().split_whitespace().nth(1).unwrap().replace(',', "");
    assert_eq!(format!("{}.{:02}", total / 100, total % 100), summary_total);
    assert_eq!(one(d, "SELECT total_cost_units FROM simulations"), summary_total);
    assert_eq!(one(d, "SELECT SUM(total_cost_units) FROM agent_costs"), summary_total);
    assert_eq!(one(d, "SELECT arrived_value_units * 100 = arrived_value AND settled_value_units * 100 = settled_value FROM simulations"), "true");

    // Every named analysis runs.
    for a in ["agent_performance", "settlement_rate_by_day", "delay_percentiles", "cost_breakdown", "compare_simulations"] {
        let out = run_ok(d, &["sql", "--analysis", a]);
        assert!(out.contains("sim-default"), "{a}: {out}");
    }
    let list = run_ok(d, &["list"]);
    assert!(list.contains("sim-default") && list.contains("adhoc"), "{list}");
}

#[test]
fn files_follow_the_delta_layout() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(dir.path(), &["run", "--experiment", "exp-a", "--simulation-id", "sim-x"]);
    let root = dir.path().join("simcash-data");
    for table in ["events", "agent_ticks", "ticks", "simulations"] {
        assert!(root.join(table).join("_delta_log/00000000000000000000.json").is_file(), "{table} has a Delta log");
        let f = crate::util::data_file(&root, table, "sim-x");
        assert!(f.is_file() && f.parent().unwrap().ends_with(format!("{table}/experiment_id=exp-a")), "{}", f.display());
    }
}

#[test]
fn reusing_a_simulation_id_is_refused_unless_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-same"]);
    let o = simcash(d, &["run", "--simulation-id", "sim-same", "--seed", "9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("simulation `sim-same` already exists") && stderr(&o).contains("--overwrite"), "{}", stderr(&o));
    assert_eq!(one(d, "SELECT seed FROM simulations"), "42", "the first run is untouched");
    run_ok(d, &["run", "--simulation-id", "sim-same", "--seed", "9", "--overwrite"]);
    assert_eq!(one(d, "SELECT seed FROM simulations"), "9");
    assert_eq!(one(d, "SELECT COUNT(DISTINCT simulation_id) FROM simulation_events"), "1");
}

#[test]
fn no_persist_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(dir.path(), &["run", "--no-persist"]);
    assert!(!dir.path().join("simcash-data").exists());
}

#[test]
fn uncommitted_simulations_are_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-kept"]);
    run_ok(d, &["run", "--simulation-id", "sim-crashed"]);
    // A crash after the data commits but before the `simulations` commit.
    crate::util::undo_last_commit(d.join("simcash-data").to_str().unwrap(), "simulations");
    assert_eq!(sql(d, "SELECT DISTINCT simulation_id FROM simulation_events"), vec!["sim-kept"]);
    assert_eq!(sql(d, "SELECT DISTINCT simulation_id FROM transactions"), vec!["sim-kept"]);
    assert_eq!(one(d, "SELECT COUNT(DISTINCT simulation_id) FROM raw.events"), "2");
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Missing dataset root.
    let o = simcash(d, &["sql", "--data", "nowhere", "SELECT 1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nowhere") && stderr(&o).contains("no such directory"), "{}", stderr(&o));
    // SQL error: DataFusion's reason, non-zero exit.
    run_ok(d, &["run", "--simulation-id", "sim-1a"]);
    let o = simcash(d, &["sql", "SELECT no_such_column FROM simulations"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no_such_column"), "{}", stderr(&o));
    // A corrupt Parquet file is named (by a query that reads rows: a count comes from the log).
    let f = crate::util::data_file(&d.join("simcash-data"), "events", "sim-1a");
    std::fs::write(&f, b"not parquet at all").unwrap();
    assert!(one(d, "SELECT COUNT(*) FROM simulation_events").parse::<u64>().unwrap() > 0);
    let o = simcash(d, &["sql", "SELECT SUM(amount) FROM simulation_events"]);
    assert!(!o.status.success());
    let name = f.file_name().unwrap().to_str().unwrap();
    assert!(stderr(&o).contains(name), "{}", stderr(&o));
    // Ids that look numeric are refused before anything runs.
    let o = simcash(d, &["run", "--simulation-id", "0042"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("looks numeric"), "{}", stderr(&o));
}

#[test]
fn schema_lists_views_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(dir.path(), &["schema"]);
    for v in ["simulation_events", "transactions", "daily_agent_metrics", "agent_costs", "raw.events"] {
        assert!(out.contains(v), "{out}");
    }
    let cols = run_ok(dir.path(), &["schema", "transactions"]);
    assert!(cols.contains("settlement_tick") && cols.contains("delay_ticks"), "{cols}");
    assert_eq!(simcash(dir.path(), &["schema", "nope"]).status.code(), Some(2));
}

#[test]
fn simcash_sql_reads_a_scenario_run_from_the_compat_kit() {
    let dir = tempfile::tempdir().unwrap();
    let s = data("simcash/scenarios/exp2_12period.yaml");
    run_ok(dir.path(), &["run", s.to_str().unwrap(), "--simulation-id", "sim-exp2"]);
    // exp2's golden stream has 53 arrivals, all settled by RTGS.
    assert_eq!(one(dir.path(), "SELECT COUNT(*) FROM transactions WHERE settled_by = 'rtgs'"), "53");
}

#[test]
fn gc_removes_only_uncommitted_simulations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-keep"]);
    run_ok(d, &["run", "--simulation-id", "sim-lost"]);
    let root = d.join("simcash-data");
    let lost_events = crate::util::data_file(&root, "events", "sim-lost");
    crate::util::undo_last_commit(root.to_str().unwrap(), "simulations");
    let dry = run_ok(d, &["gc", "--dry-run", "--min-age", "0", "--retention", "0"]);
    for table in ["events", "agent_ticks", "ticks"] {
        assert!(dry.contains(&format!("would remove from {table}: 1 uncommitted, 0 unlisted")), "{dry}");
    }
    assert!(dry.contains("would remove from simulations: 0 uncommitted, 1 unlisted"), "{dry}");
    assert!(lost_events.exists(), "a dry run removes nothing");
    let young = run_ok(d, &["gc"]);
    assert!(young.contains("0 uncommitted, 0 unlisted, 0 expired"), "fresh leftovers may belong to a running simulation: {young}");
    // Uncommitted files leave the log first; their objects go once the retention has passed.
    let out = run_ok(d, &["gc", "--min-age", "0"]);
    assert!(out.contains("3 uncommitted, 1 unlisted, 0 expired file(s) removed"), "{out}");
    assert_eq!(one(d, "SELECT COUNT(DISTINCT simulation_id) FROM raw.events"), "1");
    assert!(lost_events.exists());
    let out = run_ok(d, &["gc", "--min-age", "0", "--retention", "0"]);
    assert!(out.contains("0 uncommitted, 0 unlisted, 3 expired file(s) removed"), "{out}");
    assert!(!lost_events.exists());
    assert_eq!(one(d, "SELECT COUNT(*) FROM simulations"), "1");
}

#[test]
fn sigkill_at_any_moment_leaves_a_readable_dataset_with_no_partial_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-before"]);
    // The default scenario stretched to 150 days: long enough to be killed mid-run.
    let long = crate_default_scenario().replace("num_days: 2", "num_days: 150");
    std::fs::write(d.join("long.yaml"), long).unwrap();
    let mut killed = 0;
    for (i, delay_ms) in [5u64, 40, 120, 300, 700].iter().enumerate() {
        let id = format!("sim-killed-{i}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_simcash"))
            .current_dir(d)
            .args(["run", "long.yaml", "--simulation-id", &id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(*delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let visible = sql(d, &format!("SELECT COUNT(*) FROM simulations WHERE simulation_id = '{id}'"));
        let events = one(d, &format!("SELECT COUNT(*) FROM simulation_events WHERE simulation_id = '{id}'"));
        if finished {
            assert_eq!(visible, vec!["1"], "a run that finished before the kill is committed");
        } else {
            killed += 1;
            assert_eq!(visible, vec!["0"], "{id} was killed: not visible");
            assert_eq!(events, "0", "{id} was killed: no events visible");
        }
        // Every table still reads.
        for t in ["raw.events", "raw.agent_ticks", "raw.simulations", "transactions", "daily_agent_metrics"] {
            sql(d, &format!("SELECT COUNT(*) FROM {t}"));
        }
        assert_eq!(one(d, "SELECT COUNT(*) FROM simulations WHERE simulation_id = 'sim-before'"), "1");
    }
    assert!(killed >= 2, "the scenario is long enough that runs die mid-way ({killed} of 5 did)");
}

#[test]
fn a_file_size_limit_hit_mid_write_is_an_error_and_leaves_the_dataset_as_it_was() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-before"]);
    // 20 days: an events file of about 1.4 MB, against a limit of 256 KB per file.
    std::fs::write(d.join("long.yaml"), crate_default_scenario().replace("num_days: 2", "num_days: 20")).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_simcash"));
    cmd.current_dir(d).args(["run", "long.yaml", "--simulation-id", "sim-big"]);
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 256 << 10, rlim_max: 256 << 10 };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        });
    }
    let o = cmd.output().unwrap();
    // An error with the file's name, not death by SIGXFSZ (which has no exit code).
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("File too large") && err.contains(".parquet") && err.contains("nothing was saved"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The dataset is as it was: the earlier run whole, nothing of the failed one, every table
    // readable, and no file left behind for `gc` to find.
    assert_eq!(sql(d, "SELECT simulation_id FROM simulations"), vec!["sim-before"]);
    assert_eq!(one(d, "SELECT COUNT(*) FROM raw.events WHERE simulation_id = 'sim-big'"), "0");
    for t in ["raw.events", "raw.agent_ticks", "raw.ticks", "transactions", "daily_agent_metrics"] {
        sql(d, &format!("SELECT COUNT(*) FROM {t}"));
    }
    assert!(run_ok(d, &["gc", "--min-age", "0"]).contains("0 uncommitted"));
    // Without the limit the same run completes.
    run_ok(d, &["run", "long.yaml", "--simulation-id", "sim-big"]);
    assert_eq!(one(d, "SELECT COUNT(*) FROM simulations"), "2");
}

#[test]
fn a_root_removed_mid_run_is_an_error_and_nothing_is_written_into_its_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("data");
    let data = root.to_str().unwrap();
    run_ok(d, &["run", "--data", data, "--simulation-id", "sim-before"]);
    // 30 days: a few seconds in the test build.
    std::fs::write(d.join("long.yaml"), crate_default_scenario().replace("num_days: 2", "num_days: 30")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_simcash"))
        .current_dir(d)
        .args(["run", "long.yaml", "--data", data, "--simulation-id", "sim-gone"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(child.try_wait().unwrap().is_none(), "the run ended before its root was removed");
    std::fs::remove_dir_all(&root).unwrap();
    let o = child.wait_with_output().unwrap();
    // Without the check the local store recreated the root and the run committed into a new,
    // empty dataset as if nothing had happened.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("was removed or replaced while simcash was writing to it"), "{}", stderr(&o));
    let left = files_under(&root);
    assert!(left.is_empty(), "nothing written into the recreated root: {left:?}");
}

fn crate_default_scenario() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.yaml")).unwrap()
}

/// `daily_agent_metrics` (an aggregate of agent_ticks' cumulative counters) equals the
/// event-based computation it replaced, on runs with LSM offsets, Queue-2 releases and
/// collateral moves.
#[test]
fn daily_agent_metrics_equals_the_event_based_computation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["crisis_resolution_10day", "target2_crisis_25day", "exp1_2period"] {
        let s = data(&format!("simcash/scenarios/{name}.yaml"));
        run_ok(d, &["run", s.to_str().unwrap(), "--simulation-id", &format!("sim-{name}")]);
    }
    let reference = include_str!("daily_agent_metrics_from_events.sql");
    let order = "ORDER BY experiment_id, iteration, simulation_id, agent, day";
    let want = sql(d, &format!("SELECT * FROM ({reference}) {order}"));
    let got = sql(d, &format!("SELECT * FROM daily_agent_metrics {order}"));
    assert!(want.len() > 100, "{} rows", want.len());
    assert_eq!(got, want);
    // The runs exercise what the counters count.
    let kinds = sql(d, "SELECT DISTINCT event_type FROM simulation_events ORDER BY event_type").join(",");
    for k in ["LsmBilateralOffset", "Queue2LiquidityRelease", "CollateralPost", "CollateralWithdraw"] {
        assert!(kinds.contains(k), "{k} in {kinds}");
    }
    assert_ne!(one(d, "SELECT SUM(num_received) FROM daily_agent_metrics"), "0");
}

/// A simulation whose `simulations` commit is missing is invisible in every view, including when
/// the query names it.
#[test]
fn an_uncommitted_simulation_is_invisible_in_every_view() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-kept"]);
    run_ok(d, &["run", "--simulation-id", "sim-crashed", "--experiment", "exp-other"]);
    crate::util::undo_last_commit(d.join("simcash-data").to_str().unwrap(), "simulations");
    for v in ["simulations", "simulation_events", "agent_ticks", "ticks", "transactions", "daily_agent_metrics", "agent_costs"] {
        assert_eq!(sql(d, &format!("SELECT DISTINCT simulation_id FROM {v}")), vec!["sim-kept"], "{v}");
        assert_eq!(one(d, &format!("SELECT COUNT(*) FROM {v} WHERE simulation_id = 'sim-crashed'")), "0", "{v}");
        assert_eq!(one(d, &format!("SELECT COUNT(*) FROM {v} WHERE experiment_id = 'exp-other'")), "0", "{v}");
    }
    for t in ["raw.events", "raw.agent_ticks", "raw.ticks"] {
        assert_eq!(one(d, &format!("SELECT COUNT(DISTINCT simulation_id) FROM {t}")), "2", "{t} holds every file");
    }
}

#[test]
fn list_names_every_experiment_and_schema_takes_data_like_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-cli"]);
    let sweep = d.join("sweep.yaml");
    std::fs::write(&sweep, format!("name: seeds\nscenario: {}\nseeds: {{from: 1, count: 2}}\n", data("sweeps/tiny.yaml").display())).unwrap();
    run_ok(d, &["sweep", sweep.to_str().unwrap()]);
    let list = stdout(&simcash(d, &["list", "--format", "csv"]));
    let experiments: Vec<&str> = list.lines().filter(|l| l.starts_with("adhoc,") || l.starts_with("sweep-seeds-")).collect();
    assert_eq!(experiments.len(), 2, "{list}");
    for line in experiments {
        let f: Vec<&str> = line.split(',').collect();
        let (name, kind, status) = (f[1], f[2], f[3]);
        match f[0] {
            "adhoc" => assert_eq!((name, kind, status), ("adhoc", "runs", "committed"), "{line}"),
            _ => assert_eq!((name, kind, status), ("seeds", "sweep", "committed"), "{line}"),
        }
    }
    // `schema` reads --data and SIMCASH_DATA like the other commands; a root that does not
    // exist yet still has the tables, and a root that is not a dataset is refused.
    let with_data = run_ok(d, &["schema", "--data", "simcash-data", "raw.sweep_points"]);
    assert!(with_data.contains("configuration"), "{with_data}");
    assert!(run_ok(d, &["schema", "--data", "not-yet"]).contains("simulation_events"));
    std::fs::write(d.join("a-file"), b"not a dataset").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_simcash")).current_dir(d).env("SIMCASH_DATA", "a-file").arg("schema").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a-file"), "{}", stderr(&o));
}
