//! `simcash run` as a user sees it.

use crate::util::{data, simcash, stderr, stdout};

#[test]
fn run_without_a_file_uses_the_embedded_default_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let o = simcash(dir.path(), &["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("═══ summary: 200 ticks, 4 agents"), "{out}");
    assert!(out.contains("settlement rate"), "{out}");
    for bank in ["BANK_A", "BANK_B", "BANK_C", "BANK_D"] {
        assert!(out.contains(bank), "{bank} in costs: {out}");
    }
    assert!(stderr(&o).contains("wall time"), "wall time goes to stderr");
    assert!(!out.contains("wall time"), "stdout holds only deterministic text");
}

#[test]
fn verbose_prints_every_tick_and_each_end_of_day() {
    let dir = tempfile::tempdir().unwrap();
    let o = simcash(dir.path(), &["run", "-v"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches("── tick ").count(), 200);
    assert!(out.contains("── tick 0 · day 0 · 1/100 ──"));
    assert!(out.contains("── tick 199 · day 1 · 100/100 ──"));
    assert_eq!(out.matches("══ end of day ").count(), 2);
    for section in ["arrival ", "submit ", "settled ", "queued ", "cost ", "lsm-bilateral", "queue 2:", "balance"] {
        assert!(out.contains(section), "verbose output shows `{section}`");
    }
    assert!(out.ends_with(&stdout(&simcash(dir.path(), &["run"]))), "the summary closes the verbose output");
}

#[test]
fn summary_event_count_matches_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let o = simcash(dir.path(), &["run", "--events", "e.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("e.jsonl")).unwrap();
    let events = text.lines().filter(|l| !l.contains("\"_TickSummary\"")).count();
    assert_eq!(text.lines().count() - events, 200, "one tick summary per tick");
    assert!(stdout(&o).contains(&format!(", {events} events")), "{}", stdout(&o));
    assert!(!dir.path().join("e.jsonl.tmp").exists());
}

#[test]
fn seed_flag_overrides_the_scenario_seed() {
    let dir = tempfile::tempdir().unwrap();
    let s = data("simcash/scenarios/test_minimal_eod.yaml");
    let s = s.to_str().unwrap();
    assert!(simcash(dir.path(), &["run", s, "--events", "a.jsonl"]).status.success());
    assert!(simcash(dir.path(), &["run", s, "--seed", "42", "--events", "b.jsonl"]).status.success());
    assert!(simcash(dir.path(), &["run", s, "--seed", "43", "--events", "c.jsonl"]).status.success());
    let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
    assert_eq!(read("a.jsonl"), read("b.jsonl"), "the scenario's seed is 42");
    assert_ne!(read("a.jsonl"), read("c.jsonl"));
}

#[test]
fn help_explains_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&simcash(dir.path(), &["run", "--help"]));
    for s in ["embedded default scenario", "--seed", "--events", "--verbose", "_TickSummary"] {
        assert!(out.contains(s), "help mentions {s}: {out}");
    }
}

#[test]
fn an_unwritable_events_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let o = simcash(dir.path(), &["run", "--events", "no/such/dir/e.jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("no/such/dir/e.jsonl") && !err.contains("panicked"), "{err}");
}

#[test]
fn a_run_that_fails_midway_writes_no_events_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "simulation: {ticks_per_day: 5, num_days: 1, rng_seed: 1}\n\
         agents:\n  - {id: A, opening_balance: 10, unsecured_cap: 100}\n  - {id: B, opening_balance: 10}\n\
         scenario_events:\n  - {type: CollateralAdjustment, agent: A, delta: -500, schedule: {type: OneTime, tick: 3}}\n",
    )
    .unwrap();
    let o = simcash(dir.path(), &["run", "s.yaml", "--events", "e.jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("tick 3") && err.contains("unsecured_cap negative") && !err.contains("panicked"), "{err}");
    assert!(!dir.path().join("e.jsonl").exists() && !dir.path().join("e.jsonl.tmp").exists());
}
