//! Running a sweep: the points of one shard that are not yet recorded, each through
//! [`run_job`] (the experiment runner's path into the dataset, purpose `sweep`), on up to
//! `jobs` threads; simulations are group-committed, each point's `sweep_points` row in the
//! same group right after its simulation.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{Point, Shard, SweepConfig};
use crate::experiment::evaluate::{Job, run_job};
use crate::run::RunError;
use crate::store::commit::{Committer, GroupLimits, OnExisting, is_committed};
use crate::store::sweep::{PointRow, committed_points, stored_row, write_points};
use crate::store::table::Table;
use crate::store::{Dataset, SimulationKey, StoreError};

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A point's simulation failed.
    #[error("point {point} ({simulation_id}): {source}")]
    Run {
        /// Point index.
        point: u32,
        /// Its simulation id.
        simulation_id: String,
        /// The cause.
        source: RunError,
    },
    /// The dataset failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Simulations at once.
    pub jobs: usize,
    /// Which slice of the grid.
    pub shard: Shard,
    /// When the simulations run so far are committed.
    pub commit: GroupLimits,
}

/// Progress callbacks (the CLI draws a bar).
pub trait Progress: Sync {
    /// This many points will run now.
    fn start(&self, points: u64);
    /// One point was committed.
    fn point_done(&self, point: &Point);
}

/// No progress output.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64) {}
    fn point_done(&self, _: &Point) {}
}

/// What a sweep invocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Experiment id of the sweep.
    pub experiment_id: String,
    /// Points in the whole grid.
    pub total: u32,
    /// Points in this shard.
    pub in_shard: u32,
    /// Points of this shard already recorded, not run again.
    pub skipped: u32,
    /// Points run now.
    pub ran: u32,
}

/// Most points a sweep worker takes at a time.
const POINTS_PER_TAKE: usize = 64;

/// The `sweep_points` row of a point.
pub fn row(cfg: &SweepConfig, p: &Point) -> PointRow {
    PointRow {
        point: p.index,
        configuration: p.configuration,
        seed_index: p.seed_index,
        seed: p.seed,
        iteration: 0,
        simulation_id: p.simulation_id.clone(),
        sweep_name: cfg.name.clone(),
        scenario: cfg.scenario_path.display().to_string(),
        parameters: p.assignments.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        policies: p.policies.clone(),
    }
}

/// Runs the shard's points that are not yet recorded. `points` is [`SweepConfig::points`].
pub fn run(cfg: &SweepConfig, points: &[Point], dataset: &Dataset, opts: Options, progress: &dyn Progress) -> Result<Summary, SweepError> {
    let id = cfg.experiment_id();
    let done = committed_points(dataset, &id)?;
    let mine: Vec<&Point> = points.iter().filter(|p| opts.shard.contains(p.index)).collect();
    let key = |p: &Point| SimulationKey { experiment_id: id.clone(), iteration: 0, simulation_id: p.simulation_id.clone() };
    // A point whose simulation committed but whose row did not (the run stopped between the
    // two commits) only needs its row.
    let simulations = Table::new(dataset, crate::store::registry::get("simulations").expect("registered"));
    let sims = crate::store::layout::block_on(simulations.snapshot())?;
    let (orphaned, todo): (Vec<&Point>, Vec<&Point>) =
        mine.iter().copied().filter(|p| !done.contains(&p.index)).partition(|p| is_committed(&sims, &key(p)));
    write_points(dataset, &id, &orphaned.iter().map(|p| row(cfg, p)).collect::<Vec<_>>())?;
    let skipped = (mine.len() - todo.len()) as u32;
    progress.start(todo.len() as u64);
    let scenario = cfg.scenario_name();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failure: Mutex<Option<SweepError>> = Mutex::new(None);
    let ran = AtomicUsize::new(0);
    let flushed: Mutex<Vec<Result<(), StoreError>>> = Mutex::new(Vec::new());
    let workers = opts.jobs.max(1).min(todo.len().max(1));
    // Small enough that every worker gets several takes.
    let per_take = (todo.len() / (workers * 8)).clamp(1, POINTS_PER_TAKE);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                // Each worker streams its points into files of its own and commits them in groups.
                let committer = std::sync::Arc::new(Committer::spooled(dataset.clone(), opts.commit, OnExisting::Skip));
                // Workers take runs of consecutive points, so that each row group of a worker's
                // files holds a narrow range of simulation ids (a query of one reads one).
                let mut block = 0..0;
                while !stop.load(Ordering::Relaxed) {
                    if block.is_empty() {
                        let start = next.fetch_add(per_take, Ordering::Relaxed);
                        block = start..start + per_take;
                    }
                    let Some(p) = block.next().and_then(|i| todo.get(i)) else { break };
                    let job = Job { config: p.config.clone(), key: Some(key(p)), purpose: "sweep", agent: None, sample: p.index };
                    let result = stored_row(&row(cfg, p)).map_err(SweepError::from).and_then(|point| {
                        run_job(&job, Some((dataset, &committer)), &scenario, vec![("sweep_points", point)])
                            .map_err(|source| SweepError::Run { point: p.index, simulation_id: p.simulation_id.clone(), source })
                    });
                    match result {
                        Ok(_) => {
                            ran.fetch_add(1, Ordering::Relaxed);
                            progress.point_done(p);
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            failure.lock().expect("not poisoned").get_or_insert(e);
                            break;
                        }
                    }
                }
                // What finished is committed even when another point failed.
                let r = committer.flush();
                flushed.lock().expect("not poisoned").push(r);
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    flushed.into_inner().expect("not poisoned").into_iter().collect::<Result<(), _>>()?;
    Ok(Summary { experiment_id: id, total: points.len() as u32, in_shard: mine.len() as u32, skipped, ran: ran.into_inner() as u32 })
}
