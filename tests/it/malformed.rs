//! Every malformed scenario under `tests/data/malformed/` is refused with a clear message:
//! exit code 2, the file, the line of the offending key, the key path and the problem, and
//! no panic. Each file states its expected message and key in its first two lines; the
//! offending line carries the comment `<-- error` (line 1 if none).

use crate::util::{data, simcash, stderr};

#[test]
fn every_malformed_scenario_gets_a_clear_error() {
    let dir = data("malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus has at least 15 files, found {}", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let message = lines.next().and_then(|l| l.strip_prefix("# expect-message: ")).expect("expect-message header");
        let key = lines.next().and_then(|l| l.strip_prefix("# expect-key:")).expect("expect-key header").trim();
        let line = text.lines().position(|l| l.contains("<-- error")).map_or(1, |i| i + 1);
        let name = path.file_name().unwrap().to_str().unwrap();
        let o = simcash(&dir, &["run", name]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: exit code; stderr: {err}");
        assert!(!err.contains("panicked"), "{name}: panicked: {err}");
        assert!(err.contains(&format!("{name}:{line}:")), "{name}: expected line {line} in: {err}");
        assert!(err.contains(message), "{name}: expected `{message}` in: {err}");
        if !key.is_empty() {
            assert!(err.contains(&format!("`{key}`")), "{name}: expected key `{key}` in: {err}");
        }
    }
}

#[test]
fn a_missing_file_is_an_input_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = simcash(dir.path(), &["run", "no-such-scenario.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-scenario.yaml"), "{}", stderr(&o));
}

#[test]
fn ignored_keys_are_accepted_with_one_warning_each() {
    let dir = tempfile::tempdir().unwrap();
    let o = simcash(dir.path(), &["run", data("simcash/scenarios/test_minimal_eod.yaml").to_str().unwrap()]);
    assert!(o.status.success());
    let err = stderr(&o);
    for key in ["simulation.lsm_enabled", "simulation.lsm_frequency_ticks", "agents[0].overdraft_rate", "agents[1].delay_cost_per_tick"] {
        assert_eq!(err.matches(&format!("`{key}` is ignored")).count(), 1, "one warning for {key}: {err}");
    }
    assert_eq!(err.matches("warning:").count(), 6, "{err}");
}
