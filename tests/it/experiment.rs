//! Experiments through the binary: Castro exp1's equilibrium, resuming a stopped run,
//! identity of an experiment simulation with the same simulation run by `simcash run`,
//! external proposers whose answers are refused, and bad experiment files.

use std::path::Path;

use crate::util::{data, simcash, stderr, stdout};

fn sql(dir: &Path, data_dir: &str, query: &str) -> String {
    sql_as(dir, data_dir, "csv", query)
}

fn sql_as(dir: &Path, data_dir: &str, format: &str, query: &str) -> String {
    let o = simcash(dir, &["sql", "--data", data_dir, "--format", format, query]);
    assert!(o.status.success(), "{query}: {}", stderr(&o));
    stdout(&o)
}

fn run_experiment(dir: &Path, data_dir: &str, file: &str, extra: &[&str]) -> String {
    let path = data(&format!("experiments/{file}"));
    let mut args = vec!["experiment", "run", path.to_str().unwrap(), "--data", data_dir, "--jobs", "2"];
    args.extend_from_slice(extra);
    let o = simcash(dir, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn exp1_reaches_castros_equilibrium_a_0_b_20_percent() {
    // Castro et al. (2025) §4.1, as the scenario file states: Bank A posts 0%, Bank B 20%
    // (B pays 15,000 at tick 0 and 5,000 at tick 1, before A's payment reaches it).
    let dir = tempfile::tempdir().unwrap();
    let out = run_experiment(dir.path(), "d", "exp1.yaml", &[]);
    assert!(out.contains("Stability achieved"), "{out}");
    let final_params = sql(dir.path(), "d", "SELECT agent, final_policy_json FROM experiment_comparison ORDER BY agent");
    assert!(final_params.contains("BANK_A,\"{\"\"version\"\""), "{final_params}");
    let values =
        sql(dir.path(), "d", "SELECT agent, value FROM policy_evolution WHERE iteration = (SELECT MAX(iteration) FROM experiment_iterations) ORDER BY agent");
    assert_eq!(values, "agent,value\nBANK_A,0.0\nBANK_B,0.2\n");
    // `experiment replay` prints the last iteration's evaluation as `replay -v` does.
    let id = sql(dir.path(), "d", "SELECT experiment_id FROM experiments");
    let id = id.lines().nth(1).unwrap();
    let last = sql(dir.path(), "d", "SELECT MAX(iteration) FROM experiment_iterations");
    let last: u32 = last.lines().nth(1).unwrap().parse().unwrap();
    let a = simcash(dir.path(), &["experiment", "replay", id, "-v", "--data", "d"]);
    let b = simcash(dir.path(), &["replay", &format!("sim-{last:03}-eval-000"), "-v", "--data", "d", "--experiment", id]);
    assert!(a.status.success() && b.status.success(), "{}{}", stderr(&a), stderr(&b));
    assert!(stdout(&a).contains("── tick 1 · day 0"));
    assert_eq!(stdout(&a), stdout(&b));
    // Every stored simulation is committed and filed under the experiment.
    let sims = sql(dir.path(), "d", "SELECT purpose, COUNT(*) AS n FROM simulations GROUP BY purpose ORDER BY purpose");
    assert!(sims.starts_with("purpose,n\ncandidate,"), "{sims}");
    assert!(sims.contains("evaluation,"), "{sims}");
}

#[test]
fn a_stopped_experiment_continues_where_it_left_off() {
    let dir = tempfile::tempdir().unwrap();
    let partial = run_experiment(dir.path(), "d", "exp3.yaml", &["--max-iterations", "2"]);
    assert!(partial.contains(": 2 iterations (2 run now); Max iterations reached (2)"), "{partial}");
    let resumed = run_experiment(dir.path(), "d", "exp3.yaml", &[]);
    let fresh = run_experiment(dir.path(), "fresh", "exp3.yaml", &[]);
    // The continued run did only the remaining iterations and ends where a fresh run ends.
    let n: u32 = fresh.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(resumed.contains(&format!(": {n} iterations ({} run now)", n - 2)), "{resumed}\n{fresh}");
    let strip = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(strip(&resumed), strip(&fresh));
    let q = "SELECT iteration, agent, cost, accepted, next_policy_json FROM experiment_iterations ORDER BY iteration, agent";
    assert_eq!(sql(dir.path(), "d", q), sql(dir.path(), "fresh", q));
}

#[test]
fn an_experiment_simulation_rerun_with_simcash_run_gives_identical_rows() {
    let dir = tempfile::tempdir().unwrap();
    run_experiment(dir.path(), "d", "exp2.yaml", &["--max-iterations", "1"]);
    // Sample 3 of BANK_B's candidate evaluation in iteration 0: its seed and both policies.
    let row = sql(dir.path(), "d", "SELECT s.simulation_id, s.seed FROM simulations s WHERE s.purpose = 'candidate' AND s.agent = 'BANK_B' AND s.sample = 3");
    let (sim, seed) = row.lines().nth(1).unwrap().split_once(',').unwrap();
    let policies = sql(
        dir.path(),
        "d",
        "SELECT agent, CASE WHEN agent = 'BANK_B' THEN proposal_json ELSE policy_json END FROM experiment_iterations WHERE iteration = 0 ORDER BY agent",
    );
    let mut args = vec!["run".to_owned(), data("simcash/scenarios/exp2_12period.yaml").display().to_string(), "--seed".into(), seed.into()];
    for line in policies.lines().skip(1) {
        let (agent, json) = line.split_once(',').unwrap();
        let json = json.trim_matches('"').replace("\"\"", "\"");
        let file = dir.path().join(format!("{agent}.json"));
        std::fs::write(&file, json).unwrap();
        args.extend(["--policy".into(), format!("{agent}={}", file.display())]);
    }
    args.extend(["--data", "d", "--simulation-id", "sim-alone"].map(String::from));
    let o = simcash(dir.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    for (table, order) in [("simulation_events", "seq"), ("agent_ticks", "tick, agent"), ("ticks", "tick")] {
        let q = |id: &str| format!("SELECT * EXCLUDE (experiment_id, iteration, simulation_id) FROM {table} WHERE simulation_id = '{id}' ORDER BY {order}");
        let (a, b) = (sql_as(dir.path(), "d", "json", &q(sim)), sql_as(dir.path(), "d", "json", &q("sim-alone")));
        assert!(a.matches("\"tick\"").count() > 2, "{table} has rows: {a}");
        assert_eq!(a, b, "{table}");
    }
    let q = |id: &str| {
        format!("SELECT seed, config_hash, config_json, policies_json, event_count, total_cost, settlement_rate FROM simulations WHERE simulation_id = '{id}'")
    };
    assert_eq!(sql(dir.path(), "d", &q(sim)), sql(dir.path(), "d", &q("sim-alone")));
}

#[test]
fn external_proposals_that_break_constraints_or_are_not_json_are_refused_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let too_big = r#"cat >/dev/null; echo '{"version":"1.0","policy_id":"x","parameters":{"initial_liquidity_fraction":1.5},"payment_tree":{"type":"action","node_id":"a","action":"Release"}}'"#;
    run_experiment(dir.path(), "d", "exp1.yaml", &["--max-iterations", "1", "--proposer", too_big]);
    let reasons = sql(dir.path(), "d", "SELECT agent, accepted, reason FROM experiment_iterations ORDER BY agent");
    assert_eq!(
        reasons,
        "agent,accepted,reason\nBANK_A,false,\"rejected: parameter `initial_liquidity_fraction` = 1.5 is outside [0, 1]\"\n\
         BANK_B,false,\"rejected: parameter `initial_liquidity_fraction` = 1.5 is outside [0, 1]\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    run_experiment(dir.path(), "d", "exp1.yaml", &["--max-iterations", "1", "--proposer", "cat >/dev/null; echo not json"]);
    let r = sql(dir.path(), "d", "SELECT reason, proposal_response FROM experiment_iterations WHERE agent = 'BANK_A'");
    assert!(r.contains("no proposal: the answer is not valid JSON") && r.contains("not json"), "{r}");
    // The context an external proposer receives holds only its own agent's data.
    let req = sql(dir.path(), "d", "SELECT proposal_request FROM experiment_iterations WHERE agent = 'BANK_A'");
    assert!(req.contains("BANK_A") && !req.contains("BANK_B"), "{req}");
}

#[test]
fn a_bad_experiment_file_is_a_clear_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = data("experiments/bad_agent.yaml");
    let o = simcash(dir.path(), &["experiment", "validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("bad_agent.yaml:8: `optimized_agents[1]`: unknown agent `BANK_Z`"), "{e}");
    assert!(!dir.path().join("d").exists());
}

#[test]
fn an_experiment_killed_mid_iteration_continues_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = data("experiments/exp2.yaml");
    let args = ["experiment", "run", file.to_str().unwrap(), "--data", "d", "--jobs", "2", "--max-iterations", "3"];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_simcash"))
        .current_dir(dir.path())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL) once iteration 0 is committed and iteration 1 has started writing.
    let marker = |i: u32| {
        std::fs::read_dir(dir.path().join("d/iterations/_delta_log")).ok().and_then(|rd| {
            rd.flatten().find_map(|e| {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                (text.contains("\"simcash.iteration/") && text.contains(&format!("/{i}\",\"version\""))).then_some(())
            })
        })
    };
    let started = std::time::Instant::now();
    while marker(0).is_none() && started.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(marker(0).is_some(), "iteration 0 was committed before the kill");
    assert!(marker(2).is_none(), "the run was killed before it finished");
    // The same command continues; the result equals an uninterrupted run.
    let o = simcash(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let fresh = simcash(dir.path(), &["experiment", "run", file.to_str().unwrap(), "--data", "fresh", "--max-iterations", "3"]);
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    let q = "SELECT iteration, agent, cost, accepted, delta_sum, next_policy_json FROM experiment_iterations ORDER BY iteration, agent";
    assert_eq!(sql(dir.path(), "d", q), sql(dir.path(), "fresh", q));
    let q = "SELECT simulation_id, seed, total_cost, event_count FROM simulations ORDER BY simulation_id";
    assert_eq!(sql(dir.path(), "d", q), sql(dir.path(), "fresh", q));
}

#[test]
fn experiment_files_read_yaml_1_1_scalars_as_simcash_does() {
    // PyYAML (so SimCash) reads `0x19` as 25, `0_5` as octal 5, `.05` as 0.05 and `052` as
    // octal 42: the same experiment as exp1.yaml's 25 / 5 / 0.05 / seed 42.
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read_to_string(data("experiments/exp1.yaml")).unwrap();
    let yaml11 = plain
        .replace("max_iterations: 25", "max_iterations: 0x19")
        .replace("stability_window: 5", "stability_window: 0_5")
        .replace("stability_threshold: 0.05", "stability_threshold: .05")
        .replace("master_seed: 42", "master_seed: 052")
        .replace("../simcash/scenarios/", &format!("{}/", data("simcash/scenarios").display()));
    assert_ne!(plain, yaml11);
    assert!(yaml11.contains("master_seed: 052"), "the seed line is there to rewrite");
    std::fs::write(dir.path().join("exp.yaml"), yaml11).unwrap();
    let validate = |p: &Path| {
        let o = simcash(dir.path(), &["experiment", "validate", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().skip(2).map(str::to_owned).collect::<Vec<_>>()
    };
    let (a, b) = (validate(&data("experiments/exp1.yaml")), validate(&dir.path().join("exp.yaml")));
    assert_eq!(a, b);
    assert!(b.iter().any(|l| l.contains("at most 25 (stable after 5 within 0.05)")), "{b:?}");
    assert!(b.iter().any(|l| l == "seed       42"), "{b:?}");
}
