//! `simcash replay`: print a stored simulation exactly as its live run printed it.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::DataArgs;
use super::run::InputError;
use crate::replay::stored::{self, ReplayError, Stored};
use crate::sink::{JsonlSink, RenderSink, SimulationSink};
use crate::state::render_summary;
use crate::store::Dataset;

/// Arguments of `simcash replay` (the help text is on `Command::Replay`).
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The simulation id (`simcash list` shows them).
    pub simulation_id: String,
    /// Print every tick.
    #[arg(short, long)]
    pub verbose: bool,
    /// First tick to print.
    #[arg(long, value_name = "A")]
    pub from_tick: Option<u32>,
    /// Last tick to print.
    #[arg(long, value_name = "B")]
    pub to_tick: Option<u32>,
    /// Only events involving this agent, and only its state line.
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,
    /// Only events of these types (comma-separated, e.g. Arrival,CostAccrual).
    #[arg(long, value_name = "T1,T2", value_delimiter = ',')]
    pub event_type: Vec<String>,
    /// Write the stored event stream as JSON lines, as `simcash run --events` did.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Experiment of the simulation, when the id is not unique.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Iteration of the simulation, when the id is not unique.
    #[arg(long, value_name = "N")]
    pub iteration: Option<u32>,
    #[command(flatten)]
    pub data: DataArgs,
}

fn input(e: ReplayError) -> anyhow::Error {
    match e {
        ReplayError::Unknown(_) | ReplayError::Uncommitted(_) | ReplayError::Ambiguous { .. } => InputError(e.to_string()).into(),
        e => e.into(),
    }
}

/// Runs `simcash replay`.
pub fn cmd_replay(args: ReplayArgs) -> anyhow::Result<()> {
    let dataset = Dataset::open(&args.data.data, false).map_err(|e| InputError(e.to_string()))?;
    let rt = super::sql::runtime()?;
    let key = rt.block_on(stored::find(&dataset, &args.simulation_id, args.experiment.as_deref(), args.iteration)).map_err(input)?;
    let sim = Stored::open(&dataset, key).map_err(input)?;
    if let Some(a) = &args.agent
        && !sim.meta.agent_ids.contains(a)
    {
        return Err(InputError(format!("unknown agent `{a}` (agents: {})", sim.meta.agent_ids.join(", "))).into());
    }
    for t in &args.event_type {
        if !crate::engine::event::EVENT_TYPES.contains(&t.as_str()) {
            return Err(InputError(format!("unknown event type `{t}`")).into());
        }
    }
    let from = args.from_tick.unwrap_or(0);
    let ranged = args.from_tick.is_some() || args.to_tick.is_some();
    let mut render = args.verbose.then(|| {
        let mut r = RenderSink::new(io::BufWriter::new(io::stdout().lock()));
        r.set_filter(args.agent.clone(), args.event_type.clone());
        r.set_first_tick(from);
        r
    });
    let mut jsonl = args.events.as_deref().map(JsonlSink::new);
    let mut sinks: Vec<&mut dyn SimulationSink> = Vec::new();
    if let Some(s) = render.as_mut() {
        sinks.push(s);
    }
    if let Some(s) = jsonl.as_mut() {
        sinks.push(s);
    }
    let summary = sim.replay(&mut sinks, args.to_tick)?;
    drop(sinks);
    if let Some(r) = render {
        r.into_inner().flush()?;
    }
    if let (Some(summary), false) = (summary, ranged) {
        let mut o = io::BufWriter::new(io::stdout().lock());
        render_summary(&mut o, &summary)?;
        o.flush()?;
    }
    Ok(())
}
