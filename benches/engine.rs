//! Engine throughput (events per second, one core) with no sink: `cargo bench --bench engine`.
//!
//! Scenarios: SimCash's `test_minimal_eod` (2 agents × 300 ticks) and a generated
//! 100-agent × 100-tick scenario with arrival rate 0.5 per agent per tick.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use simcash::engine::config::*;
use simcash::run::run_simulation;

fn minimal_eod() -> SimConfig {
    let text = include_str!("../tests/data/simcash/scenarios/test_minimal_eod.yaml");
    simcash::scenario::load_str("test_minimal_eod.yaml", text).unwrap().config
}

/// `n` Fifo banks with Poisson(0.5) arrivals of 100–1,000 units to uniformly drawn
/// counterparties; liquidity is tight enough that Queue 2 and the LSM have work.
pub fn generated(n: usize, ticks: u32) -> SimConfig {
    let agents = (0..n)
        .map(|i| AgentConfig {
            id: format!("BANK_{i:03}"),
            opening_balance: 300_000,
            unsecured_cap: 100_000,
            liquidity_pool: None,
            liquidity_allocation_fraction: 1.0,
            max_collateral_capacity: None,
            posted_collateral: 0,
            collateral_haircut: 0.02,
            policy: PolicyConfig::Fifo,
            arrivals: Some(ArrivalConfig {
                rate_per_tick: 0.5,
                amount: AmountDistribution::Uniform { min: 10_000, max: 100_000 },
                counterparty_weights: Vec::new(),
                deadline_range: (10, 50),
                priority: PriorityDistribution::Fixed(5),
                divisible: false,
            }),
        })
        .collect();
    SimConfig {
        ticks_per_day: ticks,
        num_days: 1,
        rng_seed: 7,
        agents,
        costs: CostRates::default(),
        lsm: LsmConfig::default(),
        scenario_events: Vec::new(),
        deferred_crediting: false,
        deadline_cap_at_eod: false,
    }
}

fn bench_scenario(c: &mut Criterion, name: &str, cfg: SimConfig) {
    let events = run_simulation(cfg.clone(), &mut [], |_| {}).unwrap().stats.events;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events));
    g.bench_function(format!("{name} ({events} events)"), |b| {
        b.iter(|| run_simulation(cfg.clone(), &mut [], |_| {}).unwrap())
    });
    g.finish();
}

fn engine(c: &mut Criterion) {
    bench_scenario(c, "test_minimal_eod", minimal_eod());
    bench_scenario(c, "generated_100x100_rate0.5", generated(100, 100));
}

criterion_group!(benches, engine);
criterion_main!(benches);
