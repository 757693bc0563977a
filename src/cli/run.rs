//! `simcash run`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::scenario::{self, Scenario, ScenarioError};
use crate::sink::{JsonlSink, RenderSink, SimulationSink};
use crate::state::render_summary;

/// Run one scenario: SimCash-compatible YAML in, a summary out; `-v` prints every tick.
/// The simulation is saved to the dataset unless --no-persist.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// SimCash scenario YAML. Omit it to run simcash's embedded default scenario
    /// (4 banks, 2 days of 100 ticks).
    pub scenario: Option<PathBuf>,
    /// Seed of the simulation's RNG, overriding the scenario's `simulation.rng_seed`.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Write the event stream as JSON lines (SimCash's event dict form, with a
    /// `_TickSummary` line after each tick) to FILE.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Print every tick: arrivals, policy decisions, settlements (RTGS, Queue 2, LSM),
    /// costs, queues and balances, and an end-of-day summary.
    #[arg(short, long)]
    pub verbose: bool,
    /// Give AGENT the decision-tree policy in FILE (JSON), as an experiment does: the tree
    /// runs as an InlineJson policy and its `initial_liquidity_fraction` parameter becomes
    /// the agent's liquidity_allocation_fraction. Repeatable. With the seed an experiment
    /// recorded, this re-runs any experiment simulation alone.
    #[arg(long, value_name = "AGENT=FILE")]
    pub policy: Vec<String>,
    #[command(flatten)]
    pub persist: super::PersistArgs,
}

/// Loads the scenario (or the embedded default) and prints its warnings; returns it with
/// its name.
fn load(args: &RunArgs) -> anyhow::Result<(Scenario, String)> {
    let scenario = match &args.scenario {
        Some(path) => scenario::load_file(path)?,
        None => scenario::load_str(EMBEDDED, crate::DEFAULT_SCENARIO)?,
    };
    let file = args.scenario.as_ref().map_or_else(|| EMBEDDED.to_owned(), |p| p.display().to_string());
    for w in &scenario.warnings {
        eprintln!("warning: {file}:{}: `{}` is ignored: {}", w.line, w.key, w.reason);
    }
    Ok((scenario, file))
}

const EMBEDDED: &str = "<embedded default scenario>";

/// `--policy AGENT=FILE`: errors are input errors naming the file.
fn apply_policy(config: &mut crate::engine::config::SimConfig, spec: &str) -> Result<(), InputError> {
    let (agent, file) = spec.split_once('=').ok_or_else(|| InputError(format!("--policy `{spec}`: expected AGENT=FILE")))?;
    if !config.agents.iter().any(|a| a.id == agent) {
        let known: Vec<&str> = config.agents.iter().map(|a| a.id.as_str()).collect();
        return Err(InputError(format!("--policy: unknown agent `{agent}` (agents: {})", known.join(", "))));
    }
    let text = std::fs::read_to_string(file).map_err(|e| InputError(format!("--policy: cannot read {file}: {e}")))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| InputError(format!("--policy: {file} is not valid JSON: {e}")))?;
    crate::engine::policy::tree::TreePolicy::parse(&doc, &Default::default()).map_err(|e| InputError(format!("--policy: {file}: {e}")))?;
    crate::experiment::policy::apply(config, agent, &doc);
    Ok(())
}

/// Runs the command.
pub fn cmd_run(args: RunArgs) -> anyhow::Result<()> {
    let (mut scenario, scenario_name) = load(&args)?;
    if let Some(seed) = args.seed {
        scenario.config.rng_seed = seed;
    }
    for spec in &args.policy {
        apply_policy(&mut scenario.config, spec)?;
    }
    let mut dataset = args.persist.sink(&scenario_name).map_err(|e| anyhow::Error::new(InputError(e)))?;
    let config = scenario.config;
    let total = config.total_ticks();
    let stdout = io::stdout();
    let mut render = args.verbose.then(|| RenderSink::new(io::BufWriter::new(stdout.lock())));
    let mut jsonl = args.events.as_deref().map(JsonlSink::new);
    let mut sinks: Vec<&mut dyn SimulationSink> = Vec::new();
    if let Some(s) = render.as_mut() {
        sinks.push(s);
    }
    if let Some(s) = jsonl.as_mut() {
        sinks.push(s);
    }
    if let Some(s) = dataset.as_mut() {
        sinks.push(s.sink());
    }
    let progress = if args.verbose { ProgressBar::hidden() } else { ProgressBar::new(total as u64) };
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} ticks {elapsed_precise}").expect("static template is valid"));
    let started = Instant::now();
    let summary = crate::run::run_simulation(config, &mut sinks, |t| {
        if t % 64 == 0 {
            progress.set_position(t as u64 + 1);
        }
    });
    progress.finish_and_clear();
    let summary = summary.context("simulation failed; nothing was saved")?;
    let wall = started.elapsed();
    drop(sinks);
    drop(render);
    let mut out = io::BufWriter::new(io::stdout().lock());
    render_summary(&mut out, &summary)?;
    out.flush()?;
    let secs = wall.as_secs_f64();
    eprintln!("wall time {:.3} s ({:.0} events/s)", secs, summary.stats.events as f64 / secs.max(1e-9));
    if let Some(p) = &args.events {
        eprintln!("events written to {}", p.display());
    }
    if let Some(d) = &dataset {
        eprintln!("{}", d.saved_message());
    }
    Ok(())
}

/// Bad input detected before the run (arguments, ids): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Marks scenario errors as input errors for the exit code.
pub fn is_input_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        #[cfg(feature = "dataset")]
        if let Some(crate::run::RunError::Sink(crate::sink::SinkError::Dataset(crate::store::StoreError::AlreadyExists { .. }))) =
            c.downcast_ref::<crate::run::RunError>()
        {
            return true;
        }
        c.downcast_ref::<ScenarioError>().is_some() || c.downcast_ref::<InputError>().is_some()
    })
}
