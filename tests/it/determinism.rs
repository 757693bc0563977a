//! Same scenario and seed ⇒ byte-identical event files and verbose output.

use crate::util::{data, simcash, stdout};

#[test]
fn same_input_gives_byte_identical_events_and_output() {
    for scenario in [None, Some("simcash/scenarios/exp2_12period.yaml"), Some("simcash/scenarios/test_minimal_eod.yaml")] {
        let dir = tempfile::tempdir().unwrap();
        let path = scenario.map(|s| data(s).to_str().unwrap().to_owned());
        let run = |out: &str| {
            let mut args = vec!["run", "-v", "--events", out];
            if let Some(p) = &path {
                args.insert(1, p);
            }
            let o = simcash(dir.path(), &args);
            assert!(o.status.success());
            (stdout(&o), std::fs::read(dir.path().join(out)).unwrap())
        };
        let (out1, ev1) = run("1.jsonl");
        let (out2, ev2) = run("2.jsonl");
        assert!(!ev1.is_empty());
        assert_eq!(ev1, ev2, "{scenario:?}: event files differ");
        assert_eq!(out1, out2, "{scenario:?}: verbose output differs");
    }
}
