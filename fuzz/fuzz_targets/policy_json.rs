//! Policy JSON (FromJson files, InlineJson, proposals): parsing never panics, and a policy
//! that parses runs every agent of the embedded default scenario for a day.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if simcash::engine::policy::tree::TreePolicy::parse(&doc, &Default::default()).is_err() {
        return;
    }
    let mut config = simcash_fuzz::default_config();
    let agents: Vec<String> = config.agents.iter().map(|a| a.id.clone()).collect();
    for a in &agents {
        simcash::experiment::policy::apply(&mut config, a, &doc);
    }
    simcash_fuzz::run_if_small(config);
});
