//! Engine throughput (events per second, one core) with no sink: `cargo bench --bench engine`.
//!
//! Scenarios: SimCash's `test_minimal_eod` (2 agents × 300 ticks) and a generated
//! 100-agent × 100-tick scenario with arrival rate 0.5 per agent per tick.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use simcash::engine::config::SimConfig;
use simcash::run::run_simulation;
use simcash::sink::NullSink;

fn minimal_eod() -> SimConfig {
    let text = include_str!("../tests/data/simcash/scenarios/test_minimal_eod.yaml");
    simcash::scenario::load_str("test_minimal_eod.yaml", text).unwrap().config
}

fn bench_scenario(c: &mut Criterion, name: &str, cfg: SimConfig) {
    let events = run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap().stats.events;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events));
    g.bench_function(format!("{name} ({events} events)"), |b| {
        b.iter(|| run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap())
    });
    g.finish();
}

fn engine(c: &mut Criterion) {
    bench_scenario(c, "test_minimal_eod", minimal_eod());
    bench_scenario(c, "generated_100x100_rate0.5", simcash::scenario::generate::uniform(100, 100, 1, 0.5, 7));
}

criterion_group!(benches, engine);
criterion_main!(benches);
