//! Sweep files: loading (with their scenario and policy files) never panics, and the points
//! of a small sweep are generated.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    simcash_fuzz::load_as_file(data, |path| {
        if let Ok(sweep) = simcash::sweep::load_file(path) {
            if sweep.len() <= 1_000 {
                let _ = sweep.points();
            }
        }
    });
});
