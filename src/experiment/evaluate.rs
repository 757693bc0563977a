//! Running an experiment's simulations: each through the one [`run_simulation`] path, into the
//! dataset when one is given, on up to `jobs` threads, results in job order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::engine::config::SimConfig;
use crate::run::{RunError, run_simulation};
use crate::sink::{NullSink, SimulationSink};
use crate::sink::{ParquetSink, WriterOptions};
use crate::store::commit::{Committer, GroupLimits, OnExisting};
use crate::store::{Dataset, SimulationKey};

/// One simulation to run, and where (if anywhere) to store it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The complete configuration, seed and policies included.
    pub config: SimConfig,
    /// Dataset location; `None` runs it unstored (the optimiser's own search).
    pub key: Option<SimulationKey>,
    /// Why it runs: `evaluation` or `candidate`.
    pub purpose: &'static str,
    /// The agent whose proposal it evaluates.
    pub agent: Option<String>,
    /// Sample index within the iteration.
    pub sample: u32,
}

/// Total cost per agent (sorted-id order) and the settlement rate of one simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Costs per agent over the run, in sorted agent-id order.
    pub costs: Vec<i64>,
    /// Settled ÷ arrived payments.
    pub settlement_rate: f64,
}

/// Runs every job; the first failure stops the rest and is returned. Stored simulations are
/// committed in groups, the last group before this returns; a re-run replaces a simulation
/// of the same id.
pub fn run_jobs(jobs: &[Job], threads: usize, dataset: Option<&Dataset>, scenario: &str, done: &(dyn Fn() + Sync)) -> Result<Vec<Outcome>, RunError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; jobs.len()]);
    let failure: Mutex<Option<RunError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(jobs.len().max(1)) {
            s.spawn(|| {
                // Each worker streams its simulations into files of its own, committed in groups.
                let committer = dataset.map(|ds| Arc::new(Committer::spooled(ds.clone(), GroupLimits::BATCH, OnExisting::Replace)));
                let target = dataset.zip(committer.as_ref());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs.len() || failure.lock().expect("not poisoned").is_some() {
                        break;
                    }
                    match run_job(&jobs[i], target, scenario, Vec::new()) {
                        Ok(o) => results.lock().expect("not poisoned")[i] = Some(o),
                        Err(e) => {
                            failure.lock().expect("not poisoned").get_or_insert(e);
                            break;
                        }
                    }
                    done();
                }
                if let Some(Err(e)) = committer.map(|c| c.flush()) {
                    failure.lock().expect("not poisoned").get_or_insert(RunError::Sink(e.into()));
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    Ok(results.into_inner().expect("not poisoned").into_iter().map(|o| o.expect("every job ran")).collect())
}

/// Runs one job, its simulation staged with `target`'s committer (with `with_rows` riding
/// along) when it has a key.
pub fn run_job(
    job: &Job,
    target: Option<(&Dataset, &Arc<Committer>)>,
    scenario: &str,
    with_rows: Vec<(&'static str, datafusion::arrow::array::RecordBatch)>,
) -> Result<Outcome, RunError> {
    let summary = match (&job.key, target) {
        (Some(key), Some((ds, committer))) => {
            let opts = WriterOptions {
                overwrite: true,
                committer: Some(committer.clone()),
                with_rows,
                purpose: job.purpose.into(),
                scenario: scenario.into(),
                agent: job.agent.clone(),
                sample: Some(job.sample),
                ..WriterOptions::default()
            };
            let mut sink = ParquetSink::new(ds.clone(), key.clone(), opts);
            run_simulation(job.config.clone(), &mut [&mut sink as &mut dyn SimulationSink], |_| {})?
        }
        _ => run_simulation(job.config.clone(), &mut [&mut NullSink as &mut dyn SimulationSink], |_| {})?,
    };
    let s = summary.stats;
    Ok(Outcome {
        costs: summary.costs.iter().map(|c| c.total()).collect(),
        settlement_rate: if s.arrivals > 0 { s.settled as f64 / s.arrivals as f64 } else { 1.0 },
    })
}
