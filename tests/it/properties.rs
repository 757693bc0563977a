//! Property tests over generated scenarios: balance conservation (ENGINE-SPEC INV-4),
//! determinism, queue validity (INV-7) and deadline > arrival, with banks running `Fifo` or
//! random decision trees drawn from a small grammar (payment, bank and collateral trees).

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use simcash::engine::Engine;
use simcash::engine::config::*;

fn amount_dist() -> impl Strategy<Value = AmountDistribution> {
    prop_oneof![
        (1i64..50_000, 1i64..200_000).prop_map(|(min, span)| AmountDistribution::Uniform { min, max: min + span }),
        (1_000f64..100_000.0, 100f64..50_000.0).prop_map(|(mean, std_dev)| AmountDistribution::Normal { mean, std_dev }),
        (1_000f64..100_000.0, 100f64..50_000.0).prop_map(|(mean, std_dev)| AmountDistribution::LogNormal { mean, std_dev }),
        (0.00001f64..0.01).prop_map(|lambda| AmountDistribution::Exponential { lambda }),
    ]
}

fn priority_dist() -> impl Strategy<Value = PriorityDistribution> {
    prop_oneof![
        (0u8..=10).prop_map(PriorityDistribution::Fixed),
        (0u8..=5, 0u8..=5).prop_map(|(min, span)| PriorityDistribution::Uniform { min, max: min + span }),
        prop::collection::vec((0u8..=10, 0.1f64..5.0), 1..4)
            .prop_map(|v| PriorityDistribution::Categorical { values: v.iter().map(|x| x.0).collect(), weights: v.iter().map(|x| x.1).collect() }),
    ]
}

const FIELDS: &[&str] = &[
    "balance",
    "effective_liquidity",
    "ticks_to_deadline",
    "remaining_amount",
    "queue1_liquidity_gap",
    "day_progress_fraction",
    "priority",
    "is_in_queue2",
    "posted_collateral",
    "credit_headroom",
    "bank_state_count",
];
const BANK_FIELDS: &[&str] = &["balance", "queue1_total_value", "day_progress_fraction", "bank_state_count"];

fn condition(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let cmp = (0..fields.len(), 0usize..6, -200_000f64..200_000.0).prop_map(move |(f, op, x)| {
        let op = ["<", "<=", "==", "!=", ">", ">="][op];
        json!({"op": op, "left": {"field": fields[f]}, "right": {"value": (x / 1000.0).round() * 1000.0}})
    });
    cmp.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|c| json!({"op": "and", "conditions": c})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|c| json!({"op": "or", "conditions": c})),
            inner.prop_map(|c| json!({"op": "not", "condition": c})),
        ]
    })
}

fn tree(leaf: BoxedStrategy<Value>, fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(3, 8, 2, move |inner| {
        (condition(fields), inner.clone(), inner).prop_map(|(c, t, f)| json!({"type": "condition", "condition": c, "on_true": t, "on_false": f}))
    })
}

fn action(name: &str, parameters: Value) -> Value {
    json!({"type": "action", "action": name, "parameters": parameters})
}

fn payment_action() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => Just(action("Release", json!({}))),
        1 => Just(action("ReleaseWithCredit", json!({"priority_flag": {"value": "HIGH"}}))),
        2 => Just(action("Hold", json!({"reason": {"value": "InsufficientLiquidity"}}))),
        1 => Just(action("Hold", json!({}))),
        1 => Just(action("Drop", json!({}))),
        // Guarded so that every part has a positive amount (SimCash panics otherwise and
        // simcash stops the run, tests/it/runaway.rs).
        1 => (2u32..5).prop_map(|n| json!({
            "type": "condition",
            "condition": {"op": ">=", "left": {"field": "amount"}, "right": {"value": n}},
            "on_true": action("Split", json!({"num_splits": {"value": n}})),
            "on_false": action("Release", json!({})),
        })),
        // Guarded so that children are not split again (that would grow exponentially).
        1 => (2u32..4, 0u32..3, 0u32..4).prop_map(|(n, k, b)| json!({
            "type": "condition",
            "condition": {"op": "and", "conditions": [
                {"op": "==", "left": {"field": "is_split"}, "right": {"value": 0}},
                {"op": ">=", "left": {"field": "amount"}, "right": {"value": n}}]},
            "on_true": action("StaggerSplit", json!({"num_splits": {"value": n}, "stagger_first_now": {"value": k.min(n)},
                "stagger_gap_ticks": {"value": 1}, "priority_boost_children": {"value": b}})),
            "on_false": action("Release", json!({})),
        })),
        1 => (0u32..12).prop_map(|p| action("Reprioritize", json!({"new_priority": {"value": p}}))),
        1 => Just(action("ResubmitToRtgs", json!({"rtgs_priority": {"value": "Urgent"}}))),
        1 => Just(action("WithdrawFromRtgs", json!({}))),
    ]
    .boxed()
}

fn collateral_action() -> BoxedStrategy<Value> {
    prop_oneof![
        (0u32..4).prop_map(|k| action(
            "PostCollateral",
            json!({
                "amount": {"compute": {"op": "min", "values": [{"field": "queue1_liquidity_gap"}, {"field": "remaining_collateral_capacity"}]}},
                "reason": {"value": "UrgentLiquidityNeed"},
                "auto_withdraw_after_ticks": {"value": k}
            })
        )),
        Just(action("WithdrawCollateral", json!({"amount": {"field": "posted_collateral"}, "reason": {"value": "EndOfDayCleanup"}}))),
        Just(action("HoldCollateral", json!({}))),
    ]
    .boxed()
}

fn bank_action() -> BoxedStrategy<Value> {
    prop_oneof![
        (0i64..400_000).prop_map(|v| action("SetReleaseBudget", json!({"max_value_to_release": {"value": v}}))),
        (0i64..5).prop_map(|v| action("AddState", json!({"key": {"value": "bank_state_count"}, "value": {"value": v}}))),
        Just(action("SetState", json!({"key": {"value": "bank_state_count"}, "value": {"field": "day_progress_fraction"}}))),
        Just(action("NoAction", json!({}))),
    ]
    .boxed()
}

/// Gives every node a unique id.
fn number(node: &mut Value, next: &mut u32) {
    *next += 1;
    node["node_id"] = json!(format!("N{next}"));
    if node["type"] == "condition" {
        number(&mut node["on_true"], next);
        number(&mut node["on_false"], next);
    }
}

fn policy() -> impl Strategy<Value = PolicyConfig> {
    let doc = (
        tree(payment_action(), FIELDS),
        prop::option::of(tree(bank_action(), BANK_FIELDS)),
        prop::option::of(tree(collateral_action(), FIELDS)),
        prop::option::of(tree(collateral_action(), FIELDS)),
    )
        .prop_map(|(payment, bank, strategic, end_of_tick)| {
            let mut doc = json!({"version": "1.0", "policy_id": "random", "payment_tree": payment});
            let mut next = 0;
            for (key, t) in [("bank_tree", bank), ("strategic_collateral_tree", strategic), ("end_of_tick_collateral_tree", end_of_tick)] {
                if let Some(t) = t {
                    doc[key] = t;
                }
            }
            for key in ["payment_tree", "bank_tree", "strategic_collateral_tree", "end_of_tick_collateral_tree"] {
                if !doc[key].is_null() {
                    number(&mut doc[key], &mut next);
                }
            }
            PolicyConfig::Tree { kind: "InlineJson".into(), source: "inline".into(), document: doc, params: Default::default() }
        });
    prop_oneof![Just(PolicyConfig::Fifo), doc]
}

/// The `simcash:` section's engine features, each on or off.
fn extensions() -> impl Strategy<Value = Extensions> {
    (0.0f64..=1.0, any::<[bool; 3]>(), prop::option::of((1u32..30, 0u8..=10))).prop_map(|(eod, flags, esc)| Extensions {
        eod_rush_threshold: eod,
        daily_liquidity_reallocation: flags[0],
        queue1_priority_deadline: flags[1],
        priority_mode: flags[2],
        priority_escalation: esc.map(|(start_escalating_at_ticks, max_boost)| PriorityEscalation { start_escalating_at_ticks, max_boost }),
        limits: Default::default(),
    })
}

fn config() -> impl Strategy<Value = SimConfig> {
    (2usize..6, 1u32..15, 1u32..4).prop_flat_map(|(n, tpd, days)| {
        // Configuration order is the reverse of sorted order, so both orders are exercised.
        let ids: Vec<String> = (0..n).map(|i| format!("BANK_{}", (b'A' + (n - 1 - i) as u8) as char)).collect();
        let total = tpd * days;
        let agent = |id: String, ids: Vec<String>| {
            (
                0i64..600_000,
                0i64..300_000,
                prop::option::of((0i64..500_000, 0.0f64..=1.0)),
                prop::option::of((0.0f64..2.5, amount_dist(), 1u32..20, 0u32..20, priority_dist(), any::<bool>())),
                prop::collection::vec(0.0f64..3.0, ids.len()),
                policy(),
            )
                .prop_map(move |(opening, cap, pool, arr, weights, policy)| AgentConfig {
                    id: id.clone(),
                    opening_balance: opening,
                    unsecured_cap: cap,
                    liquidity_pool: pool.map(|p| p.0),
                    liquidity_allocation_fraction: pool.map_or(1.0, |p| p.1),
                    max_collateral_capacity: None,
                    posted_collateral: 0,
                    collateral_haircut: 0.02,
                    policy,
                    arrivals: arr.map(|(rate, amount, lo, span, priority, uniform)| ArrivalConfig {
                        rate_per_tick: rate,
                        amount,
                        counterparty_weights: if uniform {
                            Vec::new()
                        } else {
                            ids.iter().zip(&weights).filter(|(o, _)| **o != id).map(|(o, w)| (o.clone(), *w + 0.01)).collect()
                        },
                        deadline_range: (lo, lo + span),
                        priority,
                        divisible: false,
                        band: false,
                    }),
                    arrival_bands: Vec::new(),
                })
        };
        let agents: Vec<_> = ids.iter().map(|id| agent(id.clone(), ids.clone())).collect();
        let event = {
            let ids = ids.clone();
            (0usize..n, 1usize..n, 1i64..400_000, 0u32..total, 0u8..4, 0.2f64..3.0).prop_map(move |(f, d, amount, tick, kind, m)| {
                let (from_agent, to_agent) = (ids[f].clone(), ids[(f + d) % n].clone());
                let event = match kind {
                    0 => ScenarioEvent::CustomTransactionArrival {
                        from_agent,
                        to_agent,
                        amount,
                        priority: (amount % 11) as u8,
                        deadline: Some(1 + (amount % 7) as u32),
                        is_divisible: false,
                    },
                    1 => ScenarioEvent::DirectTransfer { from_agent, to_agent, amount },
                    2 => ScenarioEvent::ScheduledSettlement { from_agent, to_agent, amount },
                    _ => ScenarioEvent::GlobalArrivalRateChange { multiplier: m },
                };
                ScheduledEvent { event, schedule: Schedule::OneTime { tick } }
            })
        };
        (agents, prop::collection::vec(event, 0..6), any::<u64>(), any::<[bool; 4]>(), 3u32..6, 1u32..12, extensions()).prop_map(
            move |(agents, scenario_events, seed, flags, max_cycle_length, max_cycles_per_tick, extensions)| SimConfig {
                ticks_per_day: tpd,
                num_days: days,
                rng_seed: seed,
                agents,
                costs: CostRates::default(),
                lsm: LsmConfig { enable_bilateral: flags[0], enable_cycles: flags[1], max_cycle_length, max_cycles_per_tick },
                scenario_events,
                deferred_crediting: flags[2],
                deadline_cap_at_eod: flags[3],
                extensions,
            },
        )
    })
}

fn check_invariants(e: &Engine) -> Result<(), TestCaseError> {
    let total: i64 = e.agents().iter().map(|a| a.balance).sum();
    prop_assert_eq!(total, e.initial_total_balance() + e.external_flow(), "balance conservation at tick {}", e.current_tick());
    let txs = e.transactions();
    let mut seen = BTreeSet::new();
    for a in e.agents() {
        for id in &a.queue1 {
            let tx = &txs[id];
            prop_assert!(seen.insert(*id), "{} queued twice", id);
            prop_assert!(!tx.is_settled() && !tx.dropped && tx.rtgs_priority.is_none(), "Q1 holds {:?}", tx);
            prop_assert_eq!(&e.agents()[tx.sender as usize].id, &a.id);
        }
    }
    for id in e.queue2() {
        let tx = &txs[id];
        prop_assert!(seen.insert(*id), "{} queued twice", id);
        prop_assert!(!tx.is_settled() && tx.rtgs_priority.is_some(), "Q2 holds {:?}", tx);
    }
    for tx in txs.iter() {
        prop_assert!(tx.deadline > tx.arrival_tick, "deadline > arrival: {:?}", tx);
        prop_assert!(tx.remaining >= 0 && tx.remaining <= tx.amount);
        prop_assert_eq!(tx.is_settled(), tx.remaining == 0 && tx.parent.is_none() || tx.settled_tick.is_some());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_every_tick(cfg in config()) {
        let mut e = Engine::new(cfg).unwrap();
        while !e.is_finished() {
            e.step().unwrap();
            check_invariants(&e)?;
        }
    }

    #[test]
    fn same_config_gives_identical_streams(cfg in config()) {
        let (mut a, mut b) = (Engine::new(cfg.clone()).unwrap(), Engine::new(cfg).unwrap());
        while !a.is_finished() {
            a.step().unwrap();
            b.step().unwrap();
            prop_assert_eq!(a.tick_events(), b.tick_events());
            prop_assert_eq!(a.tick_counts(), b.tick_counts());
        }
        prop_assert_eq!(a.stats(), b.stats());
    }
}
