//! Persistence and query benchmarks: `cargo bench --bench store`.
//!
//! - `persist/null` vs `persist/parquet`: the same ≥1M-event run with no sink and with the
//!   Parquet dataset sink; the ratio of their times is the cost of persistence.
//! - bytes per event on disk, and the CPU cost of persistence as events per CPU-second,
//!   printed once: the run is recorded in memory, then fed to the Parquet sink alone (no
//!   engine), and the process CPU time of that (sink and writer threads) is measured.
//! - `persist/sink_only`: the same recorded run into the Parquet sink, wall time.
//! - `experiment/exp2_iteration`: one exp2-style bootstrap iteration (50 samples, both banks'
//!   proposals searched and evaluated, every evaluation stored), on one thread.
//! - `query/*`: latency on a dataset of 1,000 simulations and ≥20M events (built once under
//!   the target directory and reused): one simulation (partition-pruned), a full GROUP BY,
//!   and `daily_agent_metrics` over everything.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use simcash::run::run_simulation;
use simcash::scenario::generate;
use simcash::sink::NullSink;
use simcash::sink::{ParquetSink, WriterOptions};
use simcash::store::{Dataset, SimulationKey};

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

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// A run held in memory: what a sink receives, tick by tick.
struct Recording {
    meta: Option<simcash::sink::SimulationMeta>,
    ticks: Vec<(u32, Vec<simcash::engine::event::Event>, simcash::engine::TickCounts, Snapshot)>,
    summary: Option<simcash::sink::RunSummary>,
}

/// The state after one tick.
struct Snapshot {
    ids: std::sync::Arc<Vec<String>>,
    agents: Vec<simcash::state::AgentSnapshot>,
    queue2: usize,
}

impl simcash::state::StateProvider for Snapshot {
    fn agent_ids(&self) -> &[String] {
        &self.ids
    }
    fn agent(&self, agent: simcash::engine::event::AgentIdx) -> simcash::state::AgentSnapshot {
        self.agents[agent as usize]
    }
    fn queue2_len(&self) -> usize {
        self.queue2
    }
}

impl simcash::sink::SimulationSink for Recording {
    fn begin(&mut self, meta: &simcash::sink::SimulationMeta) -> Result<(), simcash::sink::SinkError> {
        self.meta = Some(meta.clone());
        Ok(())
    }
    fn tick(
        &mut self,
        tick: u32,
        events: &[simcash::engine::event::Event],
        counts: &simcash::engine::TickCounts,
        state: &dyn simcash::state::StateProvider,
    ) -> Result<(), simcash::sink::SinkError> {
        let ids = std::sync::Arc::new(state.agent_ids().to_vec());
        let agents = (0..ids.len()).map(|i| state.agent(i as u32)).collect();
        self.ticks.push((tick, events.to_vec(), *counts, Snapshot { ids, agents, queue2: state.queue2_len() }));
        Ok(())
    }
    fn finish(&mut self, summary: &simcash::sink::RunSummary) -> Result<(), simcash::sink::SinkError> {
        self.summary = Some(summary.clone());
        Ok(())
    }
}

/// Feeds a recorded run to a fresh Parquet sink.
fn replay_into_parquet(dir: &Path, rec: &Recording, id: String) {
    use simcash::sink::SimulationSink;
    let dataset = Dataset::open(dir.to_str().unwrap(), true).unwrap();
    let key = SimulationKey { experiment_id: "bench".into(), iteration: 0, simulation_id: id };
    let mut sink = ParquetSink::new(dataset, key, WriterOptions { overwrite: true, ..WriterOptions::default() });
    sink.begin(rec.meta.as_ref().unwrap()).unwrap();
    for (tick, events, counts, state) in &rec.ticks {
        sink.tick(*tick, events, counts, state).unwrap();
    }
    sink.finish(rec.summary.as_ref().unwrap()).unwrap();
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
    let mut rec = Recording { meta: None, ticks: Vec::new(), summary: None };
    run_simulation(cfg.clone(), &mut [&mut rec], |_| {}).unwrap();
    if let Some(t0) = cpu_seconds() {
        const RUNS: u64 = 3;
        for k in 0..RUNS {
            replay_into_parquet(dir.path(), &rec, format!("sim-cpu-{k}"));
        }
        let cpu = cpu_seconds().unwrap() - t0;
        eprintln!(
            "persist: the Parquet sink alone (recorded run, no engine) used {cpu:.2} s of CPU for {RUNS} × {events} events \
             = {:.0} events per CPU-second",
            (events * RUNS) as f64 / cpu.max(1e-9)
        );
    }
    let mut g = c.benchmark_group("persist");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("null", |b| b.iter(|| run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap()));
    let n = AtomicU64::new(0);
    g.bench_function("sink_only", |b| b.iter(|| replay_into_parquet(dir.path(), &rec, format!("sim-only-{}", n.fetch_add(1, Ordering::Relaxed)))));
    g.bench_function("parquet", |b| b.iter(|| persist_run(dir.path(), &cfg, format!("sim-{}", n.fetch_add(1, Ordering::Relaxed)))));
    g.finish();
    cpu_ratio("persist", &cfg, dir.path());

    // Issue 17's gridlock: 100 banks × 10 days of 200 ticks, no credit, LSM with cycles.
    let congested = generate::congested(100, 200, 10, 0.5, 7);
    let events = run_simulation(congested.clone(), &mut [&mut NullSink], |_| {}).unwrap().stats.events;
    let mut g = c.benchmark_group("persist_congested");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("null", |b| b.iter(|| run_simulation(congested.clone(), &mut [&mut NullSink], |_| {}).unwrap()));
    g.bench_function("parquet", |b| b.iter(|| persist_run(dir.path(), &congested, format!("sim-c-{}", n.fetch_add(1, Ordering::Relaxed)))));
    g.finish();
    cpu_ratio("persist_congested", &congested, dir.path());
}

/// Prints the process CPU time of three runs of `cfg` persisted against three with no sink
/// (the persisted runs' writer threads included), and their ratio.
fn cpu_ratio(name: &str, cfg: &simcash::engine::config::SimConfig, dir: &Path) {
    const RUNS: usize = 3;
    let Some(t0) = cpu_seconds() else { return };
    for _ in 0..RUNS {
        run_simulation(cfg.clone(), &mut [&mut NullSink], |_| {}).unwrap();
    }
    let t1 = cpu_seconds().unwrap();
    for k in 0..RUNS {
        persist_run(dir, cfg, format!("sim-cpu-ratio-{name}-{k}"));
    }
    let t2 = cpu_seconds().unwrap();
    let (null, parquet) = (t1 - t0, t2 - t1);
    eprintln!("{name}: CPU of {RUNS} runs: {parquet:.2} s persisted vs {null:.2} s with no sink = ×{:.2}", parquet / null.max(1e-9));
}

/// A dataset of 1,000 simulations (20 banks × 1,000 ticks each, ≈20k events), built once.
fn query_dataset() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    // Named for the dataset layout (schema 3, Delta tables): an older layout is rebuilt.
    let dir = target.join("bench-data/query-1000-delta");
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
        let a = b[0].column(0).as_any().downcast_ref::<datafusion::arrow::array::Int64Array>().unwrap();
        a.value(0) as u64
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

/// One exp2-style iteration: 50 samples, the built-in best response for both banks, every
/// evaluation stored; reported as simulations per second on one thread (`--jobs 1`).
fn experiment(c: &mut Criterion) {
    use std::sync::Arc;

    use simcash::experiment::proposer::{BestResponse, Evaluate, Proposal, ProposalContext, Proposer};
    use simcash::experiment::{config, runner};

    /// The built-in proposer, counting the candidate policies it scores.
    struct Counting(BestResponse, Arc<AtomicU64>);
    impl Proposer for Counting {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn propose(&self, ctx: &ProposalContext<'_>, evaluate: &Evaluate<'_>) -> Proposal {
            self.0.propose(ctx, &|p| {
                self.1.fetch_add(1, Ordering::Relaxed);
                evaluate(p)
            })
        }
    }
    struct Count(AtomicU64);
    impl runner::Progress for Count {
        fn iteration(&self, _: u32, _: u64) {}
        fn simulation_done(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn committed(&self, _: u32, _: f64, _: &[(String, bool)]) {}
    }

    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/experiments/exp2.yaml");
    let cfg = config::load_file(&file).unwrap();
    let candidates = Arc::new(AtomicU64::new(0));
    let opts = |proposer: Counting| runner::Options {
        jobs: 1,
        max_iterations: Some(1),
        seed: None,
        proposer: Box::new(proposer),
        clock: simcash::state::wall_clock(),
    };
    // Count one iteration's simulations: stored ones, and the search's (50 per candidate).
    let stored = Count(AtomicU64::new(0));
    let dir = tempfile::tempdir().unwrap();
    let ds = Dataset::open(dir.path().to_str().unwrap(), true).unwrap();
    runner::run(&cfg, &ds, &opts(Counting(BestResponse::default(), candidates.clone())), &stored).unwrap();
    let stored = stored.0.load(Ordering::Relaxed);
    let searched = candidates.load(Ordering::Relaxed) * cfg.num_samples as u64;
    eprintln!("experiment: one exp2 iteration runs {stored} stored simulations and {searched} unstored search simulations");
    let mut g = c.benchmark_group("experiment");
    g.sample_size(10);
    g.throughput(Throughput::Elements(stored + searched));
    g.bench_function("exp2_iteration_jobs1", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().unwrap();
            let ds = Dataset::open(dir.path().to_str().unwrap(), true).unwrap();
            let o = opts(Counting(BestResponse::default(), Arc::new(AtomicU64::new(0))));
            runner::run(&cfg, &ds, &o, &runner::Silent).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, persist, query, experiment);
criterion_main!(benches);
