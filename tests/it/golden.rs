//! Conformance: simcash's event streams agree with SimCash's recorded streams, by the rules
//! of SimCash's `compare_events.py` (ids renamed by first appearance, extension events
//! skipped, every reference key equal in the candidate, `_TickSummary` lines compared too).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::util::{data, simcash, stderr};

/// SimCash's own event types, as `compare_events.py` lists them (with its `RtgsQueue2Settle`
/// and `_TickSummary`); kept apart from simcash's `EVENT_TYPES` on purpose: what the
/// comparison skips as an extension must not come from the code under test.
const SIMCASH_TYPES: &[&str] = &[
    "Arrival",
    "PolicySubmit",
    "PolicyHold",
    "PolicyDrop",
    "PolicySplit",
    "TransactionReprioritized",
    "PriorityEscalated",
    "RtgsSubmission",
    "RtgsWithdrawal",
    "RtgsResubmission",
    "BankBudgetSet",
    "StateRegisterSet",
    "CollateralPost",
    "CollateralWithdraw",
    "CollateralTimerWithdrawn",
    "CollateralTimerBlocked",
    "RtgsImmediateSettlement",
    "QueuedRtgs",
    "Queue2LiquidityRelease",
    "LsmBilateralOffset",
    "LsmCycleSettlement",
    "EntryDispositionOffset",
    "AlgorithmExecution",
    "BilateralLimitExceeded",
    "MultilateralLimitExceeded",
    "CostAccrual",
    "TransactionWentOverdue",
    "OverdueTransactionSettled",
    "ScenarioEventExecuted",
    "EndOfDay",
    "DeferredCreditApplied",
    "LiquidityAllocation",
    "LiquidityReturn",
    "RtgsQueue2Settle",
    "_TickSummary",
];

#[derive(Default)]
struct Canon(HashMap<String, String>);

impl Canon {
    fn one(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) if !s.starts_with("scheduled_settlement_") => {
                let n = self.0.len() + 1;
                Value::String(self.0.entry(s.clone()).or_insert_with(|| format!("T{n}")).clone())
            }
            other => other.clone(),
        }
    }

    fn event(&mut self, ev: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in ev {
            let v = match (k.as_str(), v) {
                ("tx_id" | "incoming_tx_id" | "queued_tx_id", v) => self.one(v),
                ("tx_ids" | "child_ids" | "source_transactions", Value::Array(a)) => Value::Array(a.iter().map(|x| self.one(x)).collect()),
                ("details_json", Value::String(s)) => {
                    let mut d: Map<String, Value> = serde_json::from_str(s).expect("details_json is JSON");
                    if let Some(t) = d.get("tx_id").cloned() {
                        d.insert("tx_id".into(), self.one(&t));
                    }
                    Value::Object(d)
                }
                (_, v) => v.clone(),
            };
            out.insert(k.clone(), v);
        }
        out
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * 1f64.max(x.abs()).max(y.abs())
        }
        (Value::Object(x), Value::Object(y)) => x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        _ => a == b,
    }
}

fn load(text: &str) -> Vec<Map<String, Value>> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("a JSON object per line")).collect()
}

/// Compares streams; returns a description of the first difference.
pub fn compare(reference: &str, candidate: &str) -> Result<usize, String> {
    let cand_raw = load(candidate);
    let with_summary = cand_raw.iter().any(|e| e["event_type"] == "_TickSummary");
    let (mut rc, mut cc) = (Canon::default(), Canon::default());
    let reference: Vec<_> = load(reference).iter().filter(|e| with_summary || e["event_type"] != "_TickSummary").map(|e| rc.event(e)).collect();
    let cand: Vec<_> = cand_raw.iter().filter(|e| SIMCASH_TYPES.contains(&e["event_type"].as_str().unwrap_or(""))).map(|e| cc.event(e)).collect();
    for i in 0..reference.len().max(cand.len()) {
        match (reference.get(i), cand.get(i)) {
            (Some(r), Some(c)) if same(&Value::Object(r.clone()), &Value::Object(c.clone())) => {}
            (r, c) => return Err(format!("event #{i} differs:\n  reference: {r:?}\n  candidate: {c:?}")),
        }
    }
    Ok(reference.len())
}

/// Runs the scenario of one golden and compares; `Err` describes the failure.
fn check(name: &str) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let scenario = data(&format!("simcash/scenarios/{name}.yaml"));
    let out = dir.path().join("events.jsonl");
    let o = simcash(dir.path(), &["run", scenario.to_str().unwrap(), "--no-persist", "--events", out.to_str().unwrap()]);
    if !o.status.success() {
        return Err(format!("the run failed: {}", stderr(&o)));
    }
    let golden = std::fs::read_to_string(data(&format!("simcash/golden/{name}.jsonl"))).unwrap();
    let candidate = std::fs::read_to_string(&out).unwrap();
    assert!(candidate.contains("_TickSummary"), "tick summaries are compared too");
    match compare(&golden, &candidate)? {
        0 => Err("empty reference".into()),
        n => Ok(n),
    }
}

/// Every golden stream under `tests/data/simcash/golden/` is a test case: its scenario of the
/// same name must reproduce it. Adding a golden adds a case.
#[test]
fn every_golden_stream_agrees_with_simcash() {
    let mut names: Vec<String> = std::fs::read_dir(data("simcash/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 43, "the kit's 43 goldens are here, found {}", names.len());
    // Two workers: the machine has two cores, and the other tests run beside these.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(String, Result<usize, String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while let Some(name) = names.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        mine.push((name.clone(), check(name)));
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let failures: Vec<String> = results.iter().filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}"))).collect();
    assert!(failures.is_empty(), "{} of {} goldens differ:\n{}", failures.len(), names.len(), failures.join("\n"));
    // The families the kit was extended with are all here, so none can silently drop out.
    for family in ["policy_", "lsm_cycles_", "yaml11_scalars", "advanced_policy_crisis", "exp1_2period"] {
        assert!(names.iter().any(|n| n.starts_with(family)), "a golden of `{family}`");
    }
    assert_eq!(names.iter().filter(|n| n.starts_with("policy_")).count(), 28, "one golden per shipped policy (the 29th is a stress case)");
}

#[test]
fn the_comparison_detects_a_changed_field_and_a_missing_event() {
    let golden = std::fs::read_to_string(data("simcash/golden/exp1_2period.jsonl")).unwrap();
    let changed = golden.replacen("\"amount\":15000", "\"amount\":15001", 1);
    assert!(compare(&golden, &changed).is_err());
    let shorter: String = golden.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert!(compare(&golden, &shorter).is_err());
    // Renamed ids and extension events are accepted.
    let renamed = golden.replace("T1\"", "tx-x\"").replace("T1\\\"", "tx-x\\\"") + "{\"event_type\":\"LsmQueue2Settlement\",\"tick\":1}\n";
    assert!(compare(&golden, &renamed).is_ok());
}
