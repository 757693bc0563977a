//! Property tests over generated scenarios: balance conservation (ENGINE-SPEC INV-4),
//! determinism, queue validity (INV-7) and deadline > arrival.

use std::collections::BTreeSet;

use proptest::prelude::*;
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
        prop::collection::vec((0u8..=10, 0.1f64..5.0), 1..4).prop_map(|v| PriorityDistribution::Categorical {
            values: v.iter().map(|x| x.0).collect(),
            weights: v.iter().map(|x| x.1).collect(),
        }),
    ]
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
            )
                .prop_map(move |(opening, cap, pool, arr, weights)| AgentConfig {
                    id: id.clone(),
                    opening_balance: opening,
                    unsecured_cap: cap,
                    liquidity_pool: pool.map(|p| p.0),
                    liquidity_allocation_fraction: pool.map_or(1.0, |p| p.1),
                    max_collateral_capacity: None,
                    posted_collateral: 0,
                    collateral_haircut: 0.02,
                    policy: PolicyConfig::Fifo,
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
        (agents, prop::collection::vec(event, 0..6), any::<u64>(), any::<[bool; 4]>(), 3u32..6, 1u32..12)
            .prop_map(move |(agents, scenario_events, seed, flags, max_cycle_length, max_cycles_per_tick)| SimConfig {
                ticks_per_day: tpd,
                num_days: days,
                rng_seed: seed,
                agents,
                costs: CostRates::default(),
                lsm: LsmConfig { enable_bilateral: flags[0], enable_cycles: flags[1], max_cycle_length, max_cycles_per_tick },
                scenario_events,
                deferred_crediting: flags[2],
                deadline_cap_at_eod: flags[3],
            })
    })
}

fn check_invariants(e: &Engine) -> Result<(), TestCaseError> {
    let total: i64 = e.agents().iter().map(|a| a.balance).sum();
    prop_assert_eq!(total, e.initial_total_balance() + e.external_flow(), "balance conservation at tick {}", e.current_tick());
    let txs = e.transactions();
    let mut seen = BTreeSet::new();
    for a in e.agents() {
        for id in &a.queue1 {
            let tx = &txs[id.0 as usize];
            prop_assert!(seen.insert(*id), "{} queued twice", id);
            prop_assert!(!tx.is_settled() && !tx.dropped && tx.rtgs_priority.is_none(), "Q1 holds {:?}", tx);
            prop_assert_eq!(&e.agents()[tx.sender as usize].id, &a.id);
        }
    }
    for id in e.queue2() {
        let tx = &txs[id.0 as usize];
        prop_assert!(seen.insert(*id), "{} queued twice", id);
        prop_assert!(!tx.is_settled() && tx.rtgs_priority.is_some(), "Q2 holds {:?}", tx);
    }
    for tx in txs {
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
