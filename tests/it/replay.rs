//! `simcash replay` prints exactly what the live run printed, from Parquet alone.

use std::path::Path;

use crate::util::{data, simcash, stderr, stdout};

fn scenarios() -> Vec<Option<String>> {
    let mut v: Vec<Option<String>> = vec![None];
    for s in ["exp1_2period", "exp2_12period", "exp3_joint", "bis_liquidity_delay_tradeoff", "test_minimal_eod", "test_near_deadline"] {
        v.push(Some(data(&format!("simcash/scenarios/{s}.yaml")).to_str().unwrap().to_owned()));
    }
    v
}

fn live(dir: &Path, scenario: Option<&str>, id: &str) -> (String, Vec<u8>) {
    let mut args = vec!["run", "-v", "--events", "live.jsonl", "--simulation-id", id];
    if let Some(s) = scenario {
        args.insert(1, s);
    }
    let o = simcash(dir, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    (stdout(&o), std::fs::read(dir.join("live.jsonl")).unwrap())
}

#[test]
fn replay_equals_the_live_run_for_every_test_scenario() {
    for (i, s) in scenarios().iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let id = format!("sim-r{i}");
        let (out, events) = live(dir.path(), s.as_deref(), &id);
        let o = simcash(dir.path(), &["replay", &id, "-v", "--events", "replay.jsonl"]);
        assert!(o.status.success(), "{s:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), out, "{s:?}: replay -v differs from run -v");
        assert_eq!(std::fs::read(dir.path().join("replay.jsonl")).unwrap(), events, "{s:?}: event files differ");
        let narrowed = simcash(dir.path(), &["replay", &id, "-v", "--experiment", "adhoc", "--iteration", "0"]);
        assert_eq!(stdout(&narrowed), out, "{s:?}: found by experiment and iteration too");
        // Without -v both print just the summary.
        let quiet = simcash(dir.path(), &["replay", &id]);
        assert!(out.ends_with(&stdout(&quiet)) && stdout(&quiet).starts_with("═══ summary"), "{s:?}");
    }
}

#[test]
fn a_tick_range_prints_exactly_those_lines_of_the_full_output() {
    let dir = tempfile::tempdir().unwrap();
    let (full, _) = live(dir.path(), None, "sim-range");
    let start = full.find("── tick 99 ·").unwrap();
    let end = full.find("── tick 103 ·").unwrap();
    let o = simcash(dir.path(), &["replay", "sim-range", "-v", "--from-tick", "99", "--to-tick", "102"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), &full[start..end], "ticks 99–102, including the end of day 0");
    assert!(stdout(&o).contains("══ end of day 0"));
}

#[test]
fn filters_by_agent_and_event_type() {
    let dir = tempfile::tempdir().unwrap();
    live(dir.path(), None, "sim-f");
    let is_event = |l: &&str| l.starts_with("  ") && !l.starts_with("   ");
    let full = stdout(&simcash(dir.path(), &["replay", "sim-f", "-v"]));
    let out = stdout(&simcash(dir.path(), &["replay", "sim-f", "-v", "--agent", "BANK_D"]));
    let event_lines: Vec<&str> = out.lines().filter(is_event).collect();
    assert!(!event_lines.is_empty());
    assert!(event_lines.len() < full.lines().filter(is_event).count(), "the filter drops other agents' events");
    for l in &event_lines {
        assert!(full.contains(l), "filtered lines are lines of the full output: {l}");
        assert!(!l.contains("BANK_") || l.contains("BANK_D"), "a line naming banks names BANK_D: {l}");
    }
    let state_lines: Vec<&str> = out.lines().filter(|l| l.contains(" balance ") && l.contains("Q1")).collect();
    assert!(state_lines.iter().all(|l| l.trim_start().starts_with("BANK_D")), "only BANK_D's state");
    let out = stdout(&simcash(dir.path(), &["replay", "sim-f", "-v", "--event-type", "Arrival,QueuedRtgs"]));
    let kinds: std::collections::BTreeSet<&str> =
        out.lines().filter(|l| l.starts_with("  ") && !l.starts_with("   ")).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), vec!["arrival", "queued"]);
    let o = simcash(dir.path(), &["replay", "sim-f", "--event-type", "Nonsense"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_ids_and_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    live(d, None, "sim-ok");
    let o = simcash(d, &["replay", "sim-nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no simulation `sim-nope`") && stderr(&o).contains("simcash list"), "{}", stderr(&o));
    live(d, None, "sim-crash");
    crate::util::undo_last_commit(d.join("simcash-data").to_str().unwrap(), "simulations");
    let o = simcash(d, &["replay", "sim-crash"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("never committed"), "{}", stderr(&o));
    let f = crate::util::data_file(&d.join("simcash-data"), "events", "sim-ok");
    std::fs::write(&f, b"garbage").unwrap();
    let o = simcash(d, &["replay", "sim-ok", "-v"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(f.file_name().unwrap().to_str().unwrap()), "{}", stderr(&o));
}
