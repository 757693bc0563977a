//! An external proposer's answer: read as a policy and checked against an experiment's
//! constraints without panicking; an accepted one runs.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use simcash::experiment::config::ExperimentConfig;

fn experiment() -> &'static ExperimentConfig {
    static E: OnceLock<ExperimentConfig> = OnceLock::new();
    E.get_or_init(|| simcash::experiment::config::load_file(&simcash_fuzz::data().join("experiments/exp1.yaml")).expect("exp1 loads"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(policy) = simcash::experiment::policy::answer(text) else { return };
    let e = experiment();
    if !simcash::experiment::policy::violations(&policy, &e.constraints).is_empty() {
        return;
    }
    let mut config = e.scenario.clone();
    for agent in &e.optimized_agents {
        simcash::experiment::policy::apply(&mut config, agent, &policy);
    }
    simcash_fuzz::run_if_small(config);
});
