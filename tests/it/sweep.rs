//! `simcash sweep`: grids of parameters × policy files × seeds, recorded in `sweep_points`;
//! shards fill one dataset; reruns skip committed points; bad input is refused up front.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::util::{csv, data, simcash, stderr, stdout};

fn sweep(dir: &Path, file: &str, extra: &[&str]) -> String {
    let f = data(&format!("sweeps/{file}"));
    let mut args = vec!["sweep", f.to_str().unwrap()];
    if !extra.contains(&"--jobs") {
        args.extend(["--jobs", "2"]);
    }
    args.extend_from_slice(extra);
    let o = simcash(dir, &args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn json_rows(dir: &Path, q: &str) -> Vec<serde_json::Map<String, Value>> {
    let o = simcash(dir, &["sql", "--format", "json", q]);
    assert!(o.status.success(), "{q}: {}", stderr(&o));
    stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Result rows as JSON text lines (lists included), for whole-result comparisons.
fn json_lines(dir: &Path, q: &str) -> Vec<String> {
    let o = simcash(dir, &["sql", "--format", "json", q]);
    assert!(o.status.success(), "{q}: {}", stderr(&o));
    stdout(&o).lines().map(str::to_owned).collect()
}

fn agent<'a>(config: &'a Value, id: &str) -> &'a Value {
    config["agents"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap()
}

#[test]
fn a_grid_records_one_row_per_point_with_the_swept_values_in_each_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = sweep(d, "grid.yaml", &[]);
    assert!(out.contains(": 8 points; shard 1/1: 8 point(s), 0 already committed (skipped), 8 run now"), "{out}");
    let rows = json_rows(
        d,
        "SELECT p.point, p.simulation_id, p.seed, p.parameter_names, p.parameter_values, p.policy_files, s.config_json, s.purpose, s.seed AS sim_seed \
         FROM sweep_points p JOIN simulations s USING (experiment_id, simulation_id) ORDER BY p.point",
    );
    assert_eq!(rows.len(), 8);
    let delays = [0.1, 0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 0.3];
    let pools = [20000, 20000, 200000, 200000, 20000, 20000, 200000, 200000];
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["point"], i);
        assert_eq!(r["simulation_id"], format!("sim-p{:04}-s{:04}", i / 2, i % 2));
        assert_eq!(r["seed"], [7, 8][i % 2]);
        assert_eq!(r["sim_seed"], r["seed"]);
        assert_eq!(r["purpose"], "sweep");
        assert_eq!(r["parameter_names"], serde_json::json!(["cost_rates.delay_cost_per_tick_per_cent", "agents[BANK_A].liquidity_pool"]));
        assert_eq!(r["parameter_values"], serde_json::json!([delays[i].to_string(), pools[i].to_string()]));
        assert_eq!(r["policy_files"], serde_json::json!([]));
        let config: Value = serde_json::from_str(r["config_json"].as_str().unwrap()).unwrap();
        assert_eq!(config["costs"]["delay_cost_per_tick_per_cent"], delays[i]);
        assert_eq!(agent(&config, "BANK_A")["liquidity_pool"], pools[i]);
        assert_eq!(agent(&config, "BANK_B")["liquidity_pool"], 30000, "other agents keep their values");
        assert_eq!(config["rng_seed"], r["seed"]);
    }
    // The view carries the simulation's results.
    let costs = csv(d, "SELECT COUNT(DISTINCT total_cost), MIN(settlement_rate) > 0 FROM sweep_points");
    assert_eq!(costs, vec!["8,true"]);
}

#[test]
fn policies_and_simcash_names_reach_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sweep(d, "full.yaml", &[]);
    let rows = json_rows(
        d,
        "SELECT p.point, p.seed, p.parameter_values, p.policy_agents, p.policy_files, s.config_json \
         FROM sweep_points p JOIN simulations s USING (experiment_id, simulation_id) ORDER BY p.point",
    );
    assert_eq!(rows.len(), 8);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["seed"], 100 + (i % 2));
        let cycles = i < 4;
        let file = if (i / 2) % 2 == 0 { "release.json" } else { "hold_low_priority.json" };
        assert_eq!(r["parameter_values"], serde_json::json!([cycles.to_string(), "0.25", "10"]));
        assert_eq!(r["policy_agents"], serde_json::json!(["BANK_B"]));
        assert_eq!(r["policy_files"], serde_json::json!([file]));
        let c: Value = serde_json::from_str(r["config_json"].as_str().unwrap()).unwrap();
        assert_eq!(c["lsm"]["enable_cycles"], cycles);
        assert_eq!(c["ticks_per_day"], 10);
        assert_eq!(agent(&c, "BANK_A")["liquidity_allocation_fraction"], 0.25);
        let b = agent(&c, "BANK_B");
        let policy_id = b["policy"]["Tree"]["document"]["policy_id"].as_str().unwrap();
        assert_eq!(policy_id, if file == "release.json" { "release_all" } else { "hold_low_priority" });
        // As in experiments: the policy's initial_liquidity_fraction (default 1) is the allocation.
        assert_eq!(b["liquidity_allocation_fraction"], if file == "release.json" { 0.8 } else { 1.0 });
    }
}

#[test]
fn two_shards_fill_the_unsharded_set_and_a_rerun_skips_everything() {
    let sharded = tempfile::tempdir().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let a = sweep(sharded.path(), "grid.yaml", &["--shard", "1/2"]);
    assert!(a.contains("shard 1/2: 4 point(s), 0 already committed (skipped), 4 run now"), "{a}");
    let q = "SELECT point, simulation_id, seed, parameter_values, total_cost, settlement_rate FROM sweep_points ORDER BY point";
    let first = json_rows(sharded.path(), q);
    assert_eq!(first.iter().map(|r| r["point"].as_u64().unwrap()).collect::<Vec<_>>(), [0, 2, 4, 6]);
    let b = sweep(sharded.path(), "grid.yaml", &["--shard", "2/2"]);
    assert!(b.contains("shard 2/2: 4 point(s), 0 already committed (skipped), 4 run now"), "{b}");
    sweep(whole.path(), "grid.yaml", &[]);
    assert_eq!(json_lines(sharded.path(), q), json_lines(whole.path(), q));
    assert_eq!(csv(sharded.path(), "SELECT COUNT(*) FROM simulations"), vec!["8"]);

    let again = sweep(sharded.path(), "grid.yaml", &[]);
    assert!(again.contains("8 point(s), 8 already committed (skipped), 0 run now"), "{again}");
    let again = sweep(sharded.path(), "grid.yaml", &["--shard", "2/2"]);
    assert!(again.contains("4 point(s), 4 already committed (skipped), 0 run now"), "{again}");
    assert_eq!(csv(sharded.path(), "SELECT COUNT(*) FROM sweep_points"), vec!["8"]);
}

#[test]
fn the_same_sweep_twice_gives_identical_events() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sweep(one.path(), "grid.yaml", &[]);
    sweep(two.path(), "grid.yaml", &["--jobs", "1"]);
    let q = "SELECT * FROM simulation_events ORDER BY simulation_id, seq";
    let (a, b) = (json_lines(one.path(), q), json_lines(two.path(), q));
    assert!(a.len() > 100, "{}", a.len());
    assert_eq!(a, b);
    let ids: BTreeSet<String> = csv(one.path(), "SELECT DISTINCT experiment_id FROM simulations").into_iter().collect();
    assert_eq!(ids.len(), 1);
    assert!(ids.iter().next().unwrap().starts_with("sweep-tiny-grid-"));
}

#[test]
fn bad_sweeps_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        ("bad_path.yaml", ":6: `parameters.cost_rates.delay_cost`", "no field `delay_cost`"),
        ("bad_type.yaml", ":7: `parameters.lsm_config.enable_cycles[1]`", "value \"sometimes\""),
        ("bad_agent.yaml", ":5: `parameters.agents[BANK_Z].liquidity_pool`", "unknown agent `BANK_Z` (agents: BANK_A, BANK_B)"),
        ("bad_range.yaml", ":5: `parameters.agents[BANK_A].liquidity_allocation_fraction[1]`", "must be between 0 and 1, got 1.5"),
        ("bad_policy_agent.yaml", ":6: `policies[0].agent`", "unknown agent `BANK_Q`"),
        ("bad_key.yaml", ":4: `seed`", "unknown sweep key `seed`"),
    ];
    for (file, located, problem) in cases {
        let f = data(&format!("sweeps/{file}"));
        let o = simcash(d, &["sweep", f.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(&format!("{file}{located}")), "{file}: {err}");
        assert!(err.contains(problem), "{file}: {err}");
        assert!(!err.contains("panicked"), "{file}: {err}");
    }
    assert!(!d.join("simcash-data").exists(), "nothing was written");
    let grid = data("sweeps/grid.yaml");
    for shard in ["0/2", "3/2", "x"] {
        let o = simcash(d, &["sweep", grid.to_str().unwrap(), "--shard", shard]);
        assert_eq!(o.status.code(), Some(2), "{shard}");
        assert!(stderr(&o).contains("K/N"), "{}", stderr(&o));
    }
}

#[test]
fn shard_auto_takes_the_task_from_the_batch_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    let f = data("sweeps/grid.yaml");
    let dry = |envs: &[(&str, &str)], shard: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_simcash"));
        c.current_dir(dir.path()).args(["sweep", f.to_str().unwrap(), "--dry-run", "--shard", shard]);
        for v in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "JOB_COMPLETION_INDEX",
            "AWS_BATCH_JOB_ARRAY_INDEX",
            "CLOUD_RUN_TASK_INDEX",
            "CLOUD_RUN_TASK_COUNT",
            "BATCH_TASK_INDEX",
            "BATCH_TASK_COUNT",
        ] {
            c.env_remove(v);
        }
        c.envs(envs.iter().copied()).output().unwrap()
    };
    // Point rows of a dry run: the first column is the point index.
    let indices = |o: &std::process::Output| -> Vec<u32> { stdout(o).lines().skip(1).map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect() };
    let explicit = dry(&[], "2/2");
    let slurm = dry(&[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "2"), ("SLURM_ARRAY_TASK_MIN", "1")], "auto");
    let k8s = dry(&[("JOB_COMPLETION_INDEX", "1")], "auto/2");
    assert!(slurm.status.success() && k8s.status.success(), "{}{}", stderr(&slurm), stderr(&k8s));
    assert_eq!(indices(&explicit), [1, 3, 5, 7]);
    assert_eq!(indices(&slurm), indices(&explicit));
    assert_eq!(indices(&k8s), indices(&explicit));
    let none = dry(&[], "auto");
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("found no batch scheduler"), "{}", stderr(&none));
}
