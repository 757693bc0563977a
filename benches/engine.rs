//! Engine throughput (events per second, one core) with no sink: `cargo bench --bench engine`.
//!
//! Scenarios: SimCash's `test_minimal_eod` (2 agents × 300 ticks), its `target2_crisis_25day`
//! (4 agents × 2,500 ticks, decision-tree policies, collateral, a congested Queue 2), a
//! generated 100-agent × 100-tick scenario with arrival rate 0.5 per agent per tick, and a
//! generated 200-agent × 2-day scenario where every other bank runs the LiquidityAware tree,
//! and a gridlocked one (issue 17): 100 banks × 10 days of 200 ticks, no credit, LSM bilateral
//! offsets and cycles of up to 4, with and without the cycle search.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use simcash::engine::config::{PolicyConfig, SimConfig};
use simcash::run::run_simulation;
use simcash::sink::NullSink;

fn shared(name: &str) -> SimConfig {
    // From the file, so that FromJson policies resolve beside it.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/simcash/scenarios/{name}.yaml"));
    simcash::scenario::load_file(&path).unwrap().config
}

/// 200 banks × 2 days of 100 ticks; odd-numbered banks hold payments with LiquidityAware.
fn generated_200_banks() -> SimConfig {
    let mut cfg = simcash::scenario::generate::uniform(200, 100, 2, 0.3, 5);
    for a in cfg.agents.iter_mut().skip(1).step_by(2) {
        a.policy = PolicyConfig::Tree {
            kind: "LiquidityAware".into(),
            source: "built-in".into(),
            document: simcash::engine::policy::builtin::document("LiquidityAware").unwrap(),
            params: [("target_buffer".to_owned(), 50_000.0), ("urgency_threshold".to_owned(), 5.0)].into(),
        };
    }
    cfg
}

fn bench_scenario(c: &mut Criterion, name: &str, cfg: SimConfig) {
    let events = run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap().stats.events;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events));
    g.bench_function(format!("{name} ({events} events)"), |b| b.iter(|| run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap()));
    g.finish();
}

fn engine(c: &mut Criterion) {
    bench_scenario(c, "test_minimal_eod", shared("test_minimal_eod"));
    bench_scenario(c, "target2_crisis_25day", shared("target2_crisis_25day"));
    bench_scenario(c, "generated_100x100_rate0.5", simcash::scenario::generate::uniform(100, 100, 1, 0.5, 7));
    bench_scenario(c, "generated_200x2days_liquidity_aware", generated_200_banks());
    let congested = simcash::scenario::generate::congested(100, 200, 10, 0.5, 7);
    let mut no_cycles = congested.clone();
    no_cycles.lsm.enable_cycles = false;
    bench_scenario(c, "congested_100x10days_lsm", congested);
    bench_scenario(c, "congested_100x10days_bilateral_only", no_cycles);
}

criterion_group!(benches, engine);
criterion_main!(benches);
