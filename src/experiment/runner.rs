//! The optimisation loop (PERSISTENCE-NOTES §3.2, simplified to simultaneous best responses):
//! each iteration scores the current policies on its seeded samples, asks the proposer for
//! each optimised agent's next policy, scores every proposal paired on the same samples, and
//! commits the iteration. Every simulation it keeps goes through the one dataset sink.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::config::{ExperimentConfig, Mode};
use super::evaluate::{Job, Outcome, run_jobs};
use super::policy::{apply, initial, parameter, violations};
use super::proposer::{HistoryEntry, Proposal, ProposalContext, Proposer};
use super::seeds::{iteration_seed, sample_seed};
use crate::engine::config::SimConfig;
use crate::run::RunError;
use crate::store::experiment::{EvaluationRow, ExperimentRow, IterationRow, commit_iteration, read_iterations, write_experiment};
use crate::store::{Dataset, SimulationKey, StoreError};

/// Settlement rate below which a proposal is refused (SimCash's `min_settlement_rate`).
const MIN_SETTLEMENT_RATE: f64 = 0.95;

/// Why an experiment stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A simulation failed.
    #[error("iteration {iteration}: {source}")]
    Run {
        /// Iteration.
        iteration: u32,
        /// The cause.
        source: RunError,
    },
    /// The dataset failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored iterations cannot be continued.
    #[error("cannot continue experiment `{experiment_id}`: {problem}")]
    Resume {
        /// Experiment id.
        experiment_id: String,
        /// What is wrong.
        problem: String,
    },
}

/// How to run an experiment.
pub struct Options {
    /// Simulations run at once.
    pub jobs: usize,
    /// Overrides `convergence.max_iterations`.
    pub max_iterations: Option<u32>,
    /// Overrides `master_seed`.
    pub seed: Option<u64>,
    /// Suggests policies.
    pub proposer: Box<dyn Proposer>,
    /// When the experiment started and finished (see [`crate::state::wall_clock`]).
    pub clock: crate::state::Clock,
}

/// Progress callbacks (the CLI draws bars; tests pass [`Silent`]).
pub trait Progress: Sync {
    /// An iteration starts with this many stored simulations to run.
    fn iteration(&self, iteration: u32, simulations: u64);
    /// One stored simulation finished.
    fn simulation_done(&self);
    /// An iteration was committed.
    fn committed(&self, iteration: u32, total_cost: f64, accepted: &[(String, bool)]);
}

/// No progress output.
pub struct Silent;

impl Progress for Silent {
    fn iteration(&self, _: u32, _: u64) {}
    fn simulation_done(&self) {}
    fn committed(&self, _: u32, _: f64, _: &[(String, bool)]) {}
}

/// How an experiment ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Experiment id in the dataset.
    pub experiment_id: String,
    /// Iterations committed (including any from before a restart).
    pub iterations: u32,
    /// Iterations this invocation ran.
    pub ran: u32,
    /// Whether the stability rule stopped it (rather than the iteration limit).
    pub converged: bool,
    /// SimCash-style reason.
    pub reason: String,
    /// Total cost (Σ of the optimised agents' mean costs) per iteration, in cents.
    pub total_costs: Vec<f64>,
    /// Final policy of each optimised agent.
    pub policies: BTreeMap<String, Value>,
}

/// The experiment id: the name plus a hash of everything that determines the results, so
/// that the same command continues the same experiment and a changed one starts afresh.
pub fn experiment_id(cfg: &ExperimentConfig, master_seed: u64, proposer: &str) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_string(cfg).expect("configs serialize"));
    h.update(serde_json::to_string(&cfg.scenario).expect("configs serialize"));
    h.update(format!("{master_seed}|{proposer}"));
    let hex: String = h.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect();
    let name: String = cfg.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(60).collect();
    format!("exp-{name}-{hex}")
}

/// Relative change between consecutive totals counted as stable.
fn stable(prev: f64, cur: f64, threshold: f64) -> bool {
    (cur - prev).abs() <= threshold * prev.abs().max(1.0)
}

/// `Some(reason)` once the last `window` changes are all stable.
fn convergence(totals: &[f64], threshold: f64, window: u32) -> Option<String> {
    let w = window as usize;
    if totals.len() <= w {
        return None;
    }
    let tail = &totals[totals.len() - w - 1..];
    tail.windows(2).all(|p| stable(p[0], p[1], threshold)).then(|| format!("Stability achieved ({w} consecutive stable iterations)"))
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() { 0.0 } else { xs.iter().sum::<f64>() / xs.len() as f64 }
}

/// Two-sided 95% t quantile for `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
        2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 { f64::NAN } else { T.get(df - 1).copied().unwrap_or(1.96 + 2.4 / df as f64) }
}

/// 95% confidence interval of the mean (t-based); `None` for fewer than two values.
fn ci95(xs: &[f64]) -> Option<(f64, f64)> {
    let n = xs.len();
    if n < 2 {
        return None;
    }
    let m = mean(xs);
    let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let half = t95(n - 1) * sd / (n as f64).sqrt();
    Some((m - half, m + half))
}

struct Runner<'a> {
    cfg: &'a ExperimentConfig,
    dataset: &'a Dataset,
    opts: &'a Options,
    progress: &'a dyn Progress,
    id: String,
    /// Agent ids in sorted order (the order of costs in outcomes).
    sorted: Vec<String>,
    scenario_name: String,
}

impl Runner<'_> {
    fn config(&self, policies: &BTreeMap<String, Value>, seed: u64) -> SimConfig {
        let mut c = self.cfg.scenario.clone();
        c.rng_seed = seed;
        for (agent, p) in policies {
            apply(&mut c, agent, p);
        }
        c
    }

    fn index(&self, agent: &str) -> usize {
        self.sorted.iter().position(|a| a == agent).expect("optimised agents exist")
    }

    fn run(&self, iteration: u32, jobs: &[Job], stored: bool) -> Result<Vec<Outcome>, ExperimentError> {
        let done = || {
            if stored {
                self.progress.simulation_done()
            }
        };
        run_jobs(jobs, self.opts.jobs, stored.then_some(self.dataset), &self.scenario_name, &done).map_err(|source| ExperimentError::Run { iteration, source })
    }

    fn jobs(&self, iteration: u32, policies: &BTreeMap<String, Value>, seeds: &[u64], who: Option<&str>) -> Vec<Job> {
        seeds
            .iter()
            .enumerate()
            .map(|(k, &seed)| Job {
                config: self.config(policies, seed),
                key: Some(SimulationKey {
                    experiment_id: self.id.clone(),
                    iteration,
                    simulation_id: format!("sim-{iteration:03}-{}-{k:03}", who.unwrap_or("eval")),
                }),
                purpose: if who.is_some() { "candidate" } else { "evaluation" },
                agent: who.map(str::to_owned),
                sample: k as u32,
            })
            .collect()
    }
}

/// Runs (or continues) an experiment into `dataset`.
pub fn run(cfg: &ExperimentConfig, dataset: &Dataset, opts: &Options, progress: &dyn Progress) -> Result<Summary, ExperimentError> {
    let master = opts.seed.unwrap_or(cfg.master_seed);
    let max_iterations = opts.max_iterations.unwrap_or(cfg.max_iterations);
    let id = experiment_id(cfg, master, &opts.proposer.describe());
    let mut sorted: Vec<String> = cfg.scenario.agents.iter().map(|a| a.id.clone()).collect();
    sorted.sort();
    let r = Runner {
        cfg,
        dataset,
        opts,
        progress,
        id: id.clone(),
        sorted,
        scenario_name: cfg.scenario_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let started_at = (r.opts.clock)();
    let mut row = ExperimentRow {
        name: cfg.name.clone(),
        description: cfg.description.clone(),
        scenario: cfg.scenario_path.display().to_string(),
        mode: format!("{:?}", cfg.mode).to_lowercase(),
        num_samples: cfg.num_samples,
        master_seed: master,
        optimized_agents: cfg.optimized_agents.clone(),
        proposer: opts.proposer.describe(),
        config_json: serde_json::to_string(cfg).expect("configs serialize"),
        status: "running".into(),
        convergence_reason: None,
        iterations: 0,
        started_at,
        finished_at: None,
    };

    // Continue from what is committed.
    let mut policies: BTreeMap<String, Value> = cfg.optimized_agents.iter().map(|a| (a.clone(), initial())).collect();
    let mut history: BTreeMap<String, Vec<HistoryEntry>> = BTreeMap::new();
    let mut totals = Vec::new();
    let committed = read_iterations(dataset, &id)?;
    for (n, (i, rows)) in committed.iter().enumerate() {
        if *i as usize != n {
            return Err(ExperimentError::Resume { experiment_id: id, problem: format!("iteration {n} is missing") });
        }
        for rowi in rows {
            let parse = |s: &str| serde_json::from_str::<Value>(s);
            let (Ok(policy), Ok(next)) = (parse(&rowi.policy_json), parse(&rowi.next_policy_json)) else {
                return Err(ExperimentError::Resume { experiment_id: id, problem: format!("iteration {i}: unreadable policy JSON") });
            };
            history.entry(rowi.agent.clone()).or_default().push(HistoryEntry { iteration: *i, cost: rowi.cost, policy, accepted: rowi.accepted });
            policies.insert(rowi.agent.clone(), next);
        }
        totals.push(rows.first().map_or(0.0, |x| x.total_cost));
    }
    write_experiment(dataset, &id, &ExperimentRow { iterations: totals.len() as u32, ..row.clone() })?;

    let mut reason = convergence(&totals, cfg.stability_threshold, cfg.stability_window);
    let mut ran = 0;
    let mut i = totals.len() as u32;
    while reason.is_none() && i < max_iterations {
        let base = iteration_seed(master, i, &cfg.optimized_agents[0]);
        let seeds: Vec<u64> = match cfg.mode {
            Mode::Deterministic => vec![base],
            Mode::Bootstrap => (0..cfg.num_samples).map(|k| sample_seed(base, k)).collect(),
        };
        progress.iteration(i, seeds.len() as u64 * (1 + cfg.optimized_agents.len() as u64));
        let old = r.run(i, &r.jobs(i, &policies, &seeds, None), true)?;
        let cost_of = |outcomes: &[Outcome], agent: &str| -> Vec<f64> { outcomes.iter().map(|o| o.costs[r.index(agent)] as f64).collect() };
        let total: f64 = cfg.optimized_agents.iter().map(|a| mean(&cost_of(&old, a))).sum();
        let rate = mean(&old.iter().map(|o| o.settlement_rate).collect::<Vec<_>>());

        let mut rows = Vec::new();
        let mut evaluations = Vec::new();
        let mut next = policies.clone();
        for agent in &cfg.optimized_agents {
            let current = &policies[agent];
            let old_costs = cost_of(&old, agent);
            let hist = history.get(agent).map(Vec::as_slice).unwrap_or(&[]);
            let ctx = ProposalContext { agent, iteration: i, policy: current, cost: mean(&old_costs), history: hist, constraints: &cfg.constraints };
            let evaluate = |candidate: &Value| -> Result<f64, ExperimentError> {
                let mut p = policies.clone();
                p.insert(agent.clone(), candidate.clone());
                let mut jobs = r.jobs(i, &p, &seeds, Some(agent));
                jobs.iter_mut().for_each(|j| j.key = None);
                let out = r.run(i, &jobs, false)?;
                Ok(mean(&cost_of(&out, agent)))
            };
            let Proposal { policy: proposed, request, response, error } = opts.proposer.propose(&ctx, &evaluate);
            let mut rowi = IterationRow {
                agent: agent.clone(),
                seed: base,
                num_samples: seeds.len() as u32,
                policy_json: current.to_string(),
                parameters: cfg.constraints.parameters.iter().filter_map(|b| Some((b.name.clone(), parameter(current, &b.name)?))).collect(),
                cost: mean(&old_costs),
                total_cost: total,
                settlement_rate: rate,
                proposal_json: proposed.as_ref().map(Value::to_string),
                proposal_request: request,
                proposal_response: response,
                accepted: false,
                reason: String::new(),
                delta_sum: None,
                mean_old: Some(mean(&old_costs)),
                mean_new: None,
                ci_low: None,
                ci_high: None,
                next_policy_json: current.to_string(),
            };
            match proposed {
                None => rowi.reason = format!("no proposal: {}", error.unwrap_or_default()),
                Some(p) => {
                    let bad = violations(&p, &cfg.constraints);
                    if !bad.is_empty() {
                        rowi.reason = format!("rejected: {}", bad.join("; "));
                    } else if &p == current {
                        rowi.reason = "no change proposed".into();
                    } else {
                        let mut with = policies.clone();
                        with.insert(agent.clone(), p.clone());
                        let jobs = r.jobs(i, &with, &seeds, Some(agent));
                        let new = r.run(i, &jobs, true)?;
                        let new_costs = cost_of(&new, agent);
                        let deltas: Vec<f64> = old_costs.iter().zip(&new_costs).map(|(o, n)| o - n).collect();
                        let delta_sum: f64 = deltas.iter().sum();
                        let new_rate = mean(&new.iter().map(|o| o.settlement_rate).collect::<Vec<_>>());
                        for (k, job) in jobs.iter().enumerate() {
                            evaluations.push(EvaluationRow {
                                agent: agent.clone(),
                                sample: k as u32,
                                seed: seeds[k],
                                old_cost: old_costs[k] as i64,
                                new_cost: new_costs[k] as i64,
                                old_simulation_id: format!("sim-{i:03}-eval-{k:03}"),
                                new_simulation_id: job.key.as_ref().expect("stored").simulation_id.clone(),
                            });
                        }
                        rowi.delta_sum = Some(delta_sum);
                        rowi.mean_new = Some(mean(&new_costs));
                        if let Some((lo, hi)) = ci95(&deltas) {
                            (rowi.ci_low, rowi.ci_high) = (Some(lo), Some(hi));
                        }
                        if new_rate < MIN_SETTLEMENT_RATE && new_rate < rate {
                            rowi.reason = format!("settlement rate {new_rate:.3} < {MIN_SETTLEMENT_RATE}");
                        } else if delta_sum > 0.0 {
                            rowi.accepted = true;
                            rowi.reason = "passed: delta_sum > 0".into();
                            rowi.next_policy_json = p.to_string();
                            next.insert(agent.clone(), p);
                        } else {
                            rowi.reason = "delta_sum ≤ 0".into();
                        }
                    }
                }
            }
            rows.push(rowi);
        }
        commit_iteration(dataset, &id, i, &rows, &evaluations)?;
        for rowi in &rows {
            let policy = policies[&rowi.agent].clone();
            history.entry(rowi.agent.clone()).or_default().push(HistoryEntry { iteration: i, cost: rowi.cost, policy, accepted: rowi.accepted });
        }
        progress.committed(i, total, &rows.iter().map(|x| (x.agent.clone(), x.accepted)).collect::<Vec<_>>());
        policies = next;
        totals.push(total);
        ran += 1;
        i += 1;
        reason = convergence(&totals, cfg.stability_threshold, cfg.stability_window);
    }
    let converged = reason.is_some();
    let reason = reason.unwrap_or_else(|| format!("Max iterations reached ({max_iterations})"));
    row.status = if converged { "converged" } else { "max_iterations" }.into();
    row.convergence_reason = Some(reason.clone());
    row.iterations = totals.len() as u32;
    row.finished_at = Some((r.opts.clock)());
    write_experiment(dataset, &id, &row)?;
    Ok(Summary { experiment_id: id, iterations: totals.len() as u32, ran, converged, reason, total_costs: totals, policies })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convergence_needs_a_full_window_of_stable_changes() {
        assert_eq!(convergence(&[10.0, 10.0], 0.05, 2), None);
        assert!(convergence(&[10.0, 10.0, 10.2], 0.05, 2).is_some());
        assert_eq!(convergence(&[10.0, 20.0, 20.0], 0.05, 2), None);
        assert!(convergence(&[10.0, 20.0, 20.0, 20.5], 0.05, 2).is_some());
    }

    #[test]
    fn confidence_interval_of_the_mean() {
        // mean 2, sd 1, n 3: half-width 4.303 × 1/√3 = 2.4843.
        let (lo, hi) = ci95(&[1.0, 2.0, 3.0]).unwrap();
        assert!((lo - (2.0 - 2.4843)).abs() < 1e-3 && (hi - (2.0 + 2.4843)).abs() < 1e-3, "{lo} {hi}");
        assert_eq!(ci95(&[1.0]), None);
    }
}
