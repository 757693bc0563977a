//! Generated scenarios for benchmarks and scale tests: `n` Fifo banks with Poisson arrivals
//! to uniformly drawn counterparties, and liquidity tight enough that Queue 2 and the LSM
//! have work.

use crate::engine::config::{AgentConfig, AmountDistribution, ArrivalConfig, CostRates, LsmConfig, PolicyConfig, PriorityDistribution, SimConfig};

/// `agents` banks over `days` days of `ticks_per_day` ticks, each with Poisson(`rate`)
/// arrivals of 100.00–1,000.00 per tick.
pub fn uniform(agents: usize, ticks_per_day: u32, days: u32, rate: f64, seed: u64) -> SimConfig {
    let agents = (0..agents)
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
                rate_per_tick: rate,
                amount: AmountDistribution::Uniform { min: 10_000, max: 100_000 },
                counterparty_weights: Vec::new(),
                deadline_range: (10, 50),
                priority: PriorityDistribution::Fixed(5),
                divisible: false,
                band: false,
            }),
            arrival_bands: Vec::new(),
        })
        .collect();
    SimConfig {
        ticks_per_day,
        num_days: days,
        rng_seed: seed,
        agents,
        costs: CostRates::default(),
        lsm: LsmConfig::default(),
        scenario_events: Vec::new(),
        deferred_crediting: false,
        deadline_cap_at_eod: false,
        extensions: Default::default(),
    }
}

/// [`uniform`] in gridlock: no credit and opening balances of one or two payments, so most
/// payments wait in Queue 2 and the LSM (bilateral offsets and cycles of up to 4) settles
/// much of what settles.
pub fn congested(agents: usize, ticks_per_day: u32, days: u32, rate: f64, seed: u64) -> SimConfig {
    let mut cfg = uniform(agents, ticks_per_day, days, rate, seed);
    for a in &mut cfg.agents {
        a.opening_balance = 100_000;
        a.unsecured_cap = 0;
    }
    cfg.lsm = LsmConfig { enable_bilateral: true, enable_cycles: true, max_cycle_length: 4, max_cycles_per_tick: 10 };
    cfg
}
