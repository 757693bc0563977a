//! `simcash experiment …`: run, validate and inspect policy-optimisation experiments.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::DataArgs;
use super::run::InputError;
use crate::experiment::config::{ExperimentConfig, load_file};
use crate::experiment::proposer::{BestResponse, External, Proposer};
use crate::experiment::runner::{self, Options, Progress};
use crate::state::format_cents;
use crate::store::Dataset;
use crate::store::experiment::read_iterations;

/// `simcash experiment` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Run an experiment file (or continue it where a stopped run left it).
    ///
    /// Each iteration scores the current policies on seeded samples (one in deterministic
    /// mode, num_samples in bootstrap mode), asks the proposer for each optimised agent's next
    /// policy, scores each proposal on the same samples and accepts it when the agent's summed
    /// cost falls. Every scored simulation is saved under experiment_id=…/iteration=…; the
    /// iteration rows go to the `iterations` and `policy_evaluations` tables. Running the same
    /// command again continues after the last committed iteration.
    Run(RunArgs),
    /// Check an experiment file and its scenario without running anything.
    Validate {
        /// The experiment file (SimCash format).
        file: PathBuf,
    },
    /// Replay one stored simulation of an experiment (as `simcash replay` does).
    ///
    /// By default the last committed iteration's evaluation of sample 0; --iteration,
    /// --sample and --candidate AGENT pick another (a candidate simulation scores AGENT's
    /// proposal).
    Replay {
        /// Experiment id.
        experiment_id: String,
        /// Iteration (default: the last committed one).
        #[arg(long, value_name = "N")]
        iteration: Option<u32>,
        /// Sample index.
        #[arg(long, value_name = "K", default_value_t = 0)]
        sample: u32,
        /// The candidate simulation of this agent's proposal instead of the evaluation.
        #[arg(long, value_name = "AGENT")]
        candidate: Option<String>,
        /// Print every tick.
        #[arg(short, long)]
        verbose: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Stored experiments, newest first: status, iterations, final total cost.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Per iteration and agent: cost, policy parameters, proposal and whether it was accepted.
    Results {
        /// Experiment id (`simcash experiment run` prints it).
        experiment_id: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Arguments of `simcash experiment run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file (SimCash format).
    pub file: PathBuf,
    /// Master seed (default: the file's master_seed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Iteration limit (default: the file's convergence.max_iterations).
    #[arg(long, value_name = "N")]
    pub max_iterations: Option<u32>,
    /// External proposer: a shell command that reads the agent's context as JSON on stdin
    /// and prints a policy JSON on stdout (default: the built-in best-response search).
    #[arg(long, value_name = "CMD")]
    pub proposer: Option<String>,
    /// Seconds to wait for the external proposer.
    #[arg(long, value_name = "S", default_value_t = 120)]
    pub proposer_timeout: u64,
    /// Simulations run at once (default: every core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Leave the small files of this run as they are (default: compact the experiment's
    /// partition when it finishes; `simcash compact` does it later).
    #[arg(long)]
    pub no_compact: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

fn load(file: &Path) -> anyhow::Result<ExperimentConfig> {
    let cfg = load_file(file)?;
    for w in &cfg.warnings {
        eprintln!("warning: {}:{}: `{}` {}", file.display(), w.line, w.key, w.reason);
    }
    Ok(cfg)
}

/// Runs `simcash experiment …`.
pub fn cmd_experiment(cmd: ExperimentCommand) -> anyhow::Result<()> {
    match cmd {
        ExperimentCommand::Run(args) => cmd_run(args),
        ExperimentCommand::Validate { file } => {
            let cfg = load(&file)?;
            let mut out = io::stdout().lock();
            writeln!(out, "{}: {}", cfg.name, cfg.description)?;
            writeln!(out, "scenario   {}", cfg.scenario_path.display())?;
            writeln!(out, "mode       {:?}, {} sample(s) per iteration", cfg.mode, cfg.num_samples)?;
            writeln!(out, "agents     {}", cfg.optimized_agents.join(", "))?;
            writeln!(out, "iterations at most {} (stable after {} within {})", cfg.max_iterations, cfg.stability_window, cfg.stability_threshold)?;
            let params: Vec<String> = cfg.constraints.parameters.iter().map(|b| format!("{} ∈ [{}, {}]", b.name, b.min, b.max)).collect();
            writeln!(out, "parameters {}", if params.is_empty() { "none".into() } else { params.join(", ") })?;
            writeln!(out, "seed       {}", cfg.master_seed)?;
            Ok(())
        }
        ExperimentCommand::Results { experiment_id, data } => cmd_results(&experiment_id, &data),
        ExperimentCommand::List { data } => super::sql::cmd_sql_text(
            &data,
            "SELECT e.experiment_id, e.name, e.mode, e.status, e.iterations, c.final_total_cost, e.started_at \
             FROM experiments e LEFT JOIN (SELECT DISTINCT experiment_id, final_total_cost FROM experiment_comparison) c \
             ON c.experiment_id = e.experiment_id ORDER BY e.started_at DESC, e.experiment_id",
        ),
        ExperimentCommand::Replay { experiment_id, iteration, sample, candidate, verbose, data } => {
            let dataset = Dataset::open(&data.data, false).map_err(|e| InputError(e.to_string()))?;
            let committed = read_iterations(&dataset, &experiment_id)?;
            let Some((last, _)) = committed.last() else {
                return Err(InputError(format!("no committed iteration of experiment `{experiment_id}` in {}", data.data)).into());
            };
            let i = iteration.unwrap_or(*last);
            let who = candidate.as_deref().unwrap_or("eval");
            super::replay::cmd_replay(super::replay::ReplayArgs {
                simulation_id: format!("sim-{i:03}-{who}-{sample:03}"),
                verbose,
                from_tick: None,
                to_tick: None,
                agent: None,
                event_type: Vec::new(),
                events: None,
                experiment: Some(experiment_id),
                iteration: Some(i),
                data,
            })
        }
    }
}

struct Bars {
    multi: MultiProgress,
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl Progress for Bars {
    fn iteration(&self, iteration: u32, simulations: u64) {
        let bar = self.multi.add(ProgressBar::new(simulations));
        bar.set_style(
            ProgressStyle::with_template("iteration {prefix:>3} {bar:40} {pos}/{len} simulations {elapsed_precise}").expect("static template is valid"),
        );
        bar.set_prefix(iteration.to_string());
        *self.bar.lock().expect("not poisoned") = Some(bar);
    }

    fn simulation_done(&self) {
        if let Some(b) = &*self.bar.lock().expect("not poisoned") {
            b.inc(1);
        }
    }

    fn committed(&self, iteration: u32, total_cost: f64, accepted: &[(String, bool)]) {
        if let Some(b) = self.bar.lock().expect("not poisoned").take() {
            b.finish_and_clear();
        }
        let acc: Vec<String> = accepted.iter().map(|(a, ok)| format!("{a} {}", if *ok { "accepted" } else { "kept" })).collect();
        let _ = self.multi.println(format!("iteration {iteration:>3}: total cost {} ({})", format_cents(total_cost.round() as i64), acc.join(", ")));
    }
}

fn cmd_run(args: RunArgs) -> anyhow::Result<()> {
    let cfg = load(&args.file)?;
    let dataset = Dataset::open(&args.data.data, true).map_err(|e| InputError(e.to_string()))?;
    let proposer: Box<dyn Proposer> = match &args.proposer {
        Some(cmd) => Box::new(External { command: cmd.clone(), timeout: Duration::from_secs(args.proposer_timeout) }),
        None => Box::new(BestResponse::default()),
    };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let opts = Options { jobs, max_iterations: args.max_iterations, seed: args.seed, proposer, clock: crate::state::wall_clock() };
    let id = runner::experiment_id(&cfg, args.seed.unwrap_or(cfg.master_seed), &opts.proposer.describe());
    eprintln!("experiment {id} → {}", args.data.data);
    let bars = Bars { multi: MultiProgress::new(), bar: std::sync::Mutex::new(None) };
    let started = Instant::now();
    let summary = runner::run(&cfg, &dataset, &opts, &bars).context("experiment stopped; committed iterations are kept and the same command continues")?;
    let mut out = io::stdout().lock();
    writeln!(out, "experiment {}: {} iterations ({} run now); {}", summary.experiment_id, summary.iterations, summary.ran, summary.reason)?;
    for (agent, policy) in &summary.policies {
        writeln!(out, "  {agent:<12} {}", policy.get("parameters").map(|p| p.to_string()).unwrap_or_default())?;
    }
    if let Some(last) = summary.total_costs.last() {
        writeln!(out, "  final total cost {}", format_cents(last.round() as i64))?;
    }
    out.flush()?;
    if !args.no_compact && summary.ran > 0 {
        super::compact::after_run(&dataset, &summary.experiment_id)?;
    }
    eprintln!("wall time {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn cmd_results(experiment_id: &str, data: &DataArgs) -> anyhow::Result<()> {
    let dataset = Dataset::open(&data.data, false).map_err(|e| InputError(e.to_string()))?;
    let iterations = read_iterations(&dataset, experiment_id)?;
    if iterations.is_empty() {
        return Err(InputError(format!("no committed iteration of experiment `{experiment_id}` in {}", data.data)).into());
    }
    let mut out = io::stdout().lock();
    writeln!(out, "{:>4}  {:<12} {:>14}  {:<28} {:<9} reason", "iter", "agent", "cost", "parameters", "accepted")?;
    for (i, rows) in &iterations {
        for r in rows {
            let params: Vec<String> = r.parameters.iter().map(|(n, v)| format!("{n}={v}")).collect();
            writeln!(
                out,
                "{i:>4}  {:<12} {:>14}  {:<28} {:<9} {}",
                r.agent,
                format_cents(r.cost.round() as i64),
                params.join(","),
                if r.accepted { "yes" } else { "no" },
                r.reason
            )?;
        }
    }
    Ok(())
}
