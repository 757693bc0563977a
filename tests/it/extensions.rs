//! The `simcash:` section: SimCash's engine-only features (ENGINE-SPEC §9.4) are off unless a
//! scenario turns them on there; at the top level or on agents they only warn, as in SimCash.

use simcash::engine::Engine;
use simcash::engine::event::{EventKind, TxId};
use simcash::scenario::load_str;

/// Two banks A and B; A queues payments to B that it cannot afford (balance 0, no credit).
fn scenario(extra: &str, events: &str) -> String {
    format!(
        "simulation: {{ticks_per_day: 10, num_days: 2, rng_seed: 1}}\n\
         agents:\n  - {{id: A, opening_balance: 0}}\n  - {{id: B, opening_balance: 0, liquidity_pool: 1000}}\n\
         lsm_config: {{enable_bilateral: false, enable_cycles: false}}\n\
         {extra}\nscenario_events:\n{events}"
    )
}

fn cta(amount: i64, priority: u8, deadline: u32, tick: u32) -> String {
    format!(
        "  - {{type: CustomTransactionArrival, from_agent: A, to_agent: B, amount: {amount}, priority: {priority}, \
         deadline: {deadline}, schedule: {{type: OneTime, tick: {tick}}}}}\n"
    )
}

fn engine(yaml: &str) -> Engine {
    Engine::new(load_str("x.yaml", yaml).unwrap().config).unwrap()
}

fn kinds(e: &Engine) -> Vec<&EventKind> {
    e.tick_events().iter().map(|ev| &ev.kind).collect()
}

#[test]
fn top_level_engine_only_keys_warn_and_do_nothing() {
    let yaml = scenario("priority_mode: true\nqueue1_ordering: priority_deadline\n", &cta(10, 1, 5, 0));
    let s = load_str("x.yaml", &yaml).unwrap();
    let warned: Vec<&str> = s.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(warned, ["priority_mode", "queue1_ordering"]);
    assert_eq!(s.config.extensions, Default::default());
}

#[test]
fn priority_escalation_raises_priority_linearly_as_the_deadline_nears() {
    // start 4, max boost 3: boost = round(3 × (1 − left/4)). Deadline 6 (tick 0 + 6).
    // Tick 2: left 4 → boost 0; tick 3: left 3 → round(0.75) = 1; tick 4: left 2 → round(1.5) = 2;
    // tick 5: left 1 → round(2.25) = 2 (no change, no event); tick 6: left 0 → 3.
    let yaml = scenario("simcash: {priority_escalation: {enabled: true, start_escalating_at_ticks: 4, max_boost: 3}}", &cta(10, 2, 6, 0));
    let mut e = engine(&yaml);
    let mut seen = Vec::new();
    for _ in 0..8 {
        e.step().unwrap();
        for k in kinds(&e) {
            if let EventKind::PriorityEscalated { tx_id, original_priority, escalated_priority, ticks_until_deadline, boost_applied, .. } = k {
                assert_eq!((*tx_id, *original_priority), (TxId(0), 2));
                seen.push((e.current_tick() - 1, *ticks_until_deadline, *boost_applied, *escalated_priority));
            }
        }
    }
    assert_eq!(seen, [(3, 3, 1, 3), (4, 2, 2, 4), (6, 0, 3, 5)]);
    assert_eq!(e.transactions()[TxId(0)].priority, 5);
}

#[test]
fn priority_mode_orders_queue2_by_rtgs_priority_then_submission() {
    // Tick 0: A (balance 0) releases 20 (tx 0) and 21 (tx 1); both queue as Normal.
    // Tick 1: its tree resubmits tx 1 as Urgent (step 2b); tick 2: tx 1 re-enters Queue 2
    // behind tx 0. Tick 4: B transfers 21 to A. The Queue-2 pass settles tx 0 first in FIFO
    // order, but tx 1 first when priority_mode sorts Urgent ahead of Normal.
    let tree = r#"{"version":"1","policy_id":"p","payment_tree":{"type":"condition","node_id":"N1",
        "condition":{"op":"and","conditions":[{"op":"==","left":{"field":"amount"},"right":{"value":21}},
            {"op":"==","left":{"field":"is_in_queue2"},"right":{"value":1}},
            {"op":"==","left":{"field":"current_tick"},"right":{"value":1}}]},
        "on_true":{"type":"action","node_id":"A1","action":"ResubmitToRtgs","parameters":{"rtgs_priority":{"value":"Urgent"}}},
        "on_false":{"type":"action","node_id":"A2","action":"Release"}}}"#
        .replace('\n', "");
    for (mode, first) in [(false, TxId(0)), (true, TxId(1))] {
        let yaml = format!(
            "simulation: {{ticks_per_day: 10, num_days: 1, rng_seed: 1}}\n\
             simcash: {{priority_mode: {mode}}}\n\
             lsm_config: {{enable_bilateral: false, enable_cycles: false}}\n\
             agents:\n  - {{id: A, opening_balance: 0, policy: {{type: InlineJson, json_string: '{tree}'}}}}\n  - {{id: B, opening_balance: 100}}\n\
             scenario_events:\n{}{}\
             \x20 - {{type: DirectTransfer, from_agent: B, to_agent: A, amount: 21, schedule: {{type: OneTime, tick: 4}}}}\n",
            cta(20, 5, 9, 0),
            cta(21, 5, 9, 0),
        );
        let mut e = engine(&yaml);
        let mut settled = Vec::new();
        for _ in 0..6 {
            e.step().unwrap();
            for k in kinds(&e) {
                if let EventKind::Queue2LiquidityRelease { tx_id, .. } = k {
                    settled.push((e.current_tick() - 1, *tx_id));
                }
            }
        }
        assert_eq!(settled, [(4, first)], "priority_mode {mode}");
    }
}

#[test]
fn queue1_priority_deadline_ordering_decides_urgent_payments_first() {
    // Arrival order: low priority, then high priority. With priority_deadline ordering the
    // high-priority payment is submitted (and settles) first.
    let yaml = |on: bool| {
        format!(
            "simulation: {{ticks_per_day: 10, num_days: 1, rng_seed: 1}}\n\
             simcash: {{queue1_ordering: {}}}\n\
             agents:\n  - {{id: A, opening_balance: 10}}\n  - {{id: B, opening_balance: 0}}\n\
             scenario_events:\n{}{}",
            if on { "priority_deadline" } else { "fifo" },
            cta(10, 1, 5, 0),
            cta(10, 9, 5, 0)
        )
    };
    for (on, first) in [(false, TxId(0)), (true, TxId(1))] {
        let mut e = engine(&yaml(on));
        e.step().unwrap();
        let settled: Vec<TxId> = kinds(&e)
            .into_iter()
            .filter_map(|k| match k {
                EventKind::RtgsImmediateSettlement { tx_id, .. } => *tx_id,
                _ => None,
            })
            .collect();
        assert_eq!(settled, [first], "priority_deadline {on}");
    }
}

#[test]
fn eod_rush_threshold_moves_is_eod_rush() {
    // Release only in the end-of-day rush; with threshold 0.5 that is tick 5 of 10 (0.8: tick 8).
    let tree = r#"{"version":"1","policy_id":"p","payment_tree":{"type":"condition","node_id":"N1","condition":{"op":"==","left":{"field":"is_eod_rush"},"right":{"value":1}},"on_true":{"type":"action","node_id":"A1","action":"Release"},"on_false":{"type":"action","node_id":"A2","action":"Hold"}}}"#;
    for (extra, tick) in [("", 8), ("simcash: {eod_rush_threshold: 0.5}", 5)] {
        let yaml = format!(
            "simulation: {{ticks_per_day: 10, num_days: 1, rng_seed: 1}}\n{extra}\n\
             agents:\n  - {{id: A, opening_balance: 10, policy: {{type: InlineJson, json_string: '{tree}'}}}}\n  - {{id: B, opening_balance: 0}}\n\
             scenario_events:\n{}",
            cta(10, 5, 9, 0)
        );
        let mut e = engine(&yaml);
        let mut submitted = None;
        while !e.is_finished() {
            e.step().unwrap();
            if kinds(&e).iter().any(|k| matches!(k, EventKind::PolicySubmit { .. })) {
                submitted.get_or_insert(e.current_tick() - 1);
            }
        }
        assert_eq!(submitted, Some(tick), "{extra:?}");
    }
}

#[test]
fn daily_liquidity_reallocation_off_keeps_the_pool_allocation() {
    let count = |yaml: &str| {
        let mut e = engine(yaml);
        let mut n = (0, 0);
        while !e.is_finished() {
            e.step().unwrap();
            for k in kinds(&e) {
                match k {
                    EventKind::LiquidityAllocation { .. } => n.0 += 1,
                    EventKind::LiquidityReturn { .. } => n.1 += 1,
                    _ => {}
                }
            }
        }
        (n, e.agents()[1].balance)
    };
    // Default: B's pool of 1000 (allocated at tick 0) returns at each end of day and comes
    // back on day 2, so B ends with its opening balance of 0.
    assert_eq!(count(&scenario("", &cta(10, 5, 5, 0))), ((1, 2), 0));
    // Off: allocated once at tick 0 and kept.
    assert_eq!(count(&scenario("simcash: {daily_liquidity_reallocation: false}", &cta(10, 5, 5, 0))), ((0, 0), 1000));
}

#[test]
fn agent_collateral_is_honoured_only_when_turned_on() {
    let yaml = |on: bool| {
        format!(
            "simulation: {{ticks_per_day: 10, num_days: 1, rng_seed: 1}}\n{}\n\
             agents:\n  - {{id: A, opening_balance: 0, posted_collateral: 1000, collateral_haircut: 0.1}}\n  - {{id: B, opening_balance: 0}}\n\
             scenario_events:\n{}",
            if on { "simcash: {agent_collateral: true}" } else { "" },
            cta(900, 5, 5, 0)
        )
    };
    // Off: the keys warn and A has no overdraft room, so 900 queues.
    let s = load_str("x.yaml", &yaml(false)).unwrap();
    assert_eq!(s.warnings.iter().filter(|w| w.key.ends_with("collateral") || w.key.ends_with("haircut")).count(), 2);
    let mut e = Engine::new(s.config).unwrap();
    e.step().unwrap();
    assert!(kinds(&e).iter().any(|k| matches!(k, EventKind::QueuedRtgs { .. })));
    // On: limit floor(1000 × 0.9) = 900, so 900 settles at once.
    let mut e = engine(&yaml(true));
    e.step().unwrap();
    assert!(kinds(&e).iter().any(|k| matches!(k, EventKind::RtgsImmediateSettlement { .. })));
    assert_eq!(e.agents()[0].balance, -900);
}
