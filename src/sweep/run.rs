//! Running a sweep: the points of one shard that are not yet recorded, each through
//! [`run_job`] (the experiment runner's path into the dataset, purpose `sweep`), on up to
//! `jobs` threads; simulations are group-committed, each point's `sweep_points` row in the
//! same group right after its simulation.

use std::ops::Range;
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
        /// The cause (boxed: it is large, and rare).
        source: Box<RunError>,
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

/// Hands out runs of consecutive points. Each worker starts on a contiguous share of the
/// points of its own, so that its files (and their row groups) hold a narrow range of
/// simulation ids and a query of one simulation opens one file; a worker whose share is done
/// helps with the share that has the most points left.
struct Shares {
    /// The next point of each share.
    next: Vec<AtomicUsize>,
    /// The end of each share.
    ends: Vec<usize>,
    /// Points per take: a few per worker's share, at most [`POINTS_PER_TAKE`].
    per_take: usize,
}

impl Shares {
    fn new(points: usize, workers: usize) -> Shares {
        let bound = |w: usize| points * w / workers;
        Shares {
            next: (0..workers).map(|w| AtomicUsize::new(bound(w))).collect(),
            ends: (1..=workers).map(bound).collect(),
            per_take: (points / (workers * 8)).clamp(1, POINTS_PER_TAKE),
        }
    }

    /// The next run of points for `worker`, and whether it came from its own share.
    fn take(&self, worker: usize) -> Option<(Range<usize>, bool)> {
        if let Some(run) = self.take_from(worker) {
            return Some((run, true));
        }
        loop {
            let left = |w: usize| self.ends[w].saturating_sub(self.next[w].load(Ordering::Relaxed));
            let most = (0..self.ends.len()).max_by_key(|&w| left(w)).filter(|&w| left(w) > 0)?;
            if let Some(run) = self.take_from(most) {
                return Some((run, false));
            }
        }
    }

    fn take_from(&self, share: usize) -> Option<Range<usize>> {
        let start = self.next[share].fetch_add(self.per_take, Ordering::Relaxed);
        (start < self.ends[share]).then(|| start..(start + self.per_take).min(self.ends[share]))
    }
}

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
    let (orphaned, todo): (Vec<&Point>, Vec<&Point>) = mine.iter().copied().filter(|p| !done.contains(&p.index)).partition(|p| is_committed(&sims, &key(p)));
    write_points(dataset, &id, &orphaned.iter().map(|p| row(cfg, p)).collect::<Vec<_>>())?;
    let skipped = (mine.len() - todo.len()) as u32;
    progress.start(todo.len() as u64);
    let scenario = cfg.scenario_name();
    let stop = AtomicBool::new(false);
    let failure: Mutex<Option<SweepError>> = Mutex::new(None);
    let ran = AtomicUsize::new(0);
    let flushed: Mutex<Vec<Result<(), StoreError>>> = Mutex::new(Vec::new());
    let workers = opts.jobs.max(1).min(todo.len().max(1));
    let shares = Shares::new(todo.len(), workers);
    std::thread::scope(|s| {
        for worker in 0..workers {
            let (shares, todo, scenario, stop, failure, ran, flushed) = (&shares, &todo, &scenario, &stop, &failure, &ran, &flushed);
            s.spawn(move || {
                // Each worker streams its points into files of its own and commits them in groups.
                let committer = std::sync::Arc::new(Committer::spooled(dataset.clone(), opts.commit, OnExisting::Skip));
                let mut block = 0..0;
                let mut own = true;
                while !stop.load(Ordering::Relaxed) {
                    if block.is_empty() {
                        let Some((take, from_own)) = shares.take(worker) else { break };
                        if own && !from_own {
                            // Points taken from another share go to files of their own, so
                            // that no file spans both shares' ranges of ids.
                            own = false;
                            if let Err(e) = committer.flush() {
                                failure.lock().expect("not poisoned").get_or_insert(e.into());
                                stop.store(true, Ordering::Relaxed);
                                break;
                            }
                        }
                        block = take;
                    }
                    let Some(p) = block.next().and_then(|i| todo.get(i)) else { break };
                    let job = Job { config: p.config.clone(), key: Some(key(p)), purpose: "sweep", agent: None, sample: p.index };
                    let result = stored_row(&row(cfg, p)).map_err(SweepError::from).and_then(|point| {
                        run_job(&job, Some((dataset, &committer)), scenario, vec![("sweep_points", point)]).map_err(|source| SweepError::Run {
                            point: p.index,
                            simulation_id: p.simulation_id.clone(),
                            source: Box::new(source),
                        })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every point a worker takes, in order, as (point, from its own share).
    fn drain(shares: &Shares, order: &[usize]) -> Vec<Vec<(usize, bool)>> {
        let mut taken = vec![Vec::new(); shares.ends.len()];
        // Workers take in turn, following `order` (repeated), until none gets anything.
        let mut idle = 0;
        for &w in order.iter().cycle() {
            match shares.take(w) {
                Some((run, own)) => {
                    idle = 0;
                    taken[w].extend(run.map(|p| (p, own)));
                }
                None => idle += 1,
            }
            if idle > order.len() {
                break;
            }
        }
        taken
    }

    #[test]
    fn each_worker_runs_a_contiguous_share_then_helps_with_the_largest_left() {
        // 100 points, 2 workers: runs of 6 points; worker 0 owns 0..50, worker 1 owns 50..100.
        let shares = Shares::new(100, 2);
        assert_eq!(shares.per_take, 6);
        // Worker 1 is three times as fast: it finishes its share and takes from worker 0's.
        let taken = drain(&shares, &[0, 1, 1, 1]);
        let mut all: Vec<usize> = taken.iter().flatten().map(|(p, _)| *p).collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>(), "every point exactly once");
        let own = |w: usize| taken[w].iter().filter(|(_, own)| *own).map(|(p, _)| *p).collect::<Vec<_>>();
        assert_eq!(own(1), (50..100).collect::<Vec<_>>(), "worker 1 ran its share in order");
        assert!(taken[0].iter().all(|(_, own)| *own), "worker 0 never ran out");
        assert!(own(0).windows(2).all(|w| w[0] < w[1]) && own(0).iter().all(|p| *p < 50), "{:?}", own(0));
        let helped: Vec<usize> = taken[1].iter().filter(|(_, own)| !own).map(|(p, _)| *p).collect();
        assert!(!helped.is_empty() && helped.iter().all(|p| *p < 50), "worker 1 then helped with worker 0's share: {helped:?}");
        // As many workers as points: one each.
        assert_eq!(drain(&Shares::new(3, 3), &[0, 1, 2]), [vec![(0, true)], vec![(1, true)], vec![(2, true)]]);
    }
}
