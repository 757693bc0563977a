//! Scenario YAML: loading never panics, and a scenario that loads runs (when small) to its
//! end or to an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Named inside the kit's scenario directory, so that the seeds' policy paths resolve.
    let file = simcash_fuzz::data().join("simcash/scenarios/fuzz-input.yaml");
    if let Ok(scenario) = simcash::scenario::load_str(&file.display().to_string(), text) {
        simcash_fuzz::run_if_small(scenario.config);
    }
});
