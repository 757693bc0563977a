//! Experiment files: loading (with the scenario they name) never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    simcash_fuzz::load_as_file(data, |path| {
        let _ = simcash::experiment::config::load_file(path);
    });
});
