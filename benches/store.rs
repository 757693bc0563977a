//! Persistence and query benchmarks: `cargo bench --bench store`.
//!
//! - `persist/null` vs `persist/parquet`: the same ≥1M-event run with no sink and with the
//!   Parquet dataset sink; the ratio of their times is the cost of persistence.
//! - bytes per event on disk, printed once.
//! - `query/*`: latency on a dataset of 1,000 simulations and ≥20M events (built once under
//!   the target directory and reused): one simulation (partition-pruned), a full GROUP BY,
//!   and `daily_agent_metrics` over everything.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use simcash::run::run_simulation;
use simcash::sink::NullSink;
use simcash::scenario::generate;
use simcash::store::{Dataset, ParquetSink, SimulationKey, WriterOptions};

fn persist_run(dir: &Path, cfg: &simcash::engine::config::SimConfig, id: String) -> u64 {
    let dataset = Dataset::open(dir.to_str().unwrap(), true).unwrap();
    let key = SimulationKey { experiment_id: "bench".into(), iteration: 0, simulation_id: id };
    let mut sink = ParquetSink::new(dataset, key, WriterOptions { overwrite: true, ..WriterOptions::default() });
    run_simulation(cfg.clone(), &mut [&mut sink], |_| {}).unwrap().stats.events
}

fn dir_bytes(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() { dir_bytes(&e.path()) } else { m.len() }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn persist(c: &mut Criterion) {
    // 100 banks × 3,000 ticks at rate 0.5: about 1.0M events.
    let cfg = generate::uniform(100, 1000, 3, 0.5, 11);
    let events = run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap().stats.events;
    let dir = tempfile::tempdir().unwrap();
    persist_run(dir.path(), &cfg, "sim-size".into());
    let bytes = dir_bytes(dir.path());
    let events_bytes = dir_bytes(&dir.path().join("events"));
    eprintln!(
        "persist: {events} events; dataset {bytes} bytes = {:.2} bytes/event ({:.2} bytes/event in `events` alone)",
        bytes as f64 / events as f64,
        events_bytes as f64 / events as f64
    );
    let mut g = c.benchmark_group("persist");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("null", |b| b.iter(|| run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap()));
    let n = AtomicU64::new(0);
    g.bench_function("parquet", |b| {
        b.iter(|| persist_run(dir.path(), &cfg, format!("sim-{}", n.fetch_add(1, Ordering::Relaxed))))
    });
    g.finish();
}

/// A dataset of 1,000 simulations (20 banks × 1,000 ticks each, ≈20k events), built once.
fn query_dataset() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("bench-data/query-1000");
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        for i in 0..1000u64 {
            let cfg = generate::uniform(20, 500, 2, 0.5, i);
            persist_run(&dir, &cfg, format!("sim-{i:04}"));
        }
        std::fs::write(&done, b"").unwrap();
    }
    dir
}

fn query(c: &mut Criterion) {
    let dir = query_dataset();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dataset = Dataset::open(dir.to_str().unwrap(), false).unwrap();
    let ctx = rt.block_on(simcash::query::session(&dataset)).unwrap();
    let total: u64 = rt.block_on(async {
        let b = simcash::query::run_sql(&ctx, "SELECT SUM(event_count) AS n FROM simulations").await.unwrap();
        let a = b[0].column(0).as_any().downcast_ref::<datafusion::arrow::array::UInt64Array>().unwrap();
        a.value(0)
    });
    eprintln!("query dataset: {total} events in 1,000 simulations at {}", dir.display());
    let mut g = c.benchmark_group("query");
    g.sample_size(10);
    let cases = [
        ("one_simulation", "SELECT event_type, COUNT(*), SUM(amount) FROM simulation_events WHERE simulation_id = 'sim-0500' GROUP BY event_type"),
        ("group_by_all", "SELECT event_type, COUNT(*), SUM(amount) FROM simulation_events GROUP BY event_type"),
        ("daily_agent_metrics_all", "SELECT COUNT(*), SUM(closing_balance), SUM(total_cost) FROM daily_agent_metrics"),
    ];
    for (name, sql) in cases {
        if name == "group_by_all" {
            g.throughput(Throughput::Elements(total));
        }
        g.bench_function(name, |b| b.iter(|| rt.block_on(simcash::query::run_sql(&ctx, sql)).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, persist, query);
criterion_main!(benches);
