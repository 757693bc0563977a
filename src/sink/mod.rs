//! [`SimulationSink`]: the one way a runner hands a simulation's output to anything that
//! keeps or shows it (the JSONL event writer, the verbose renderer, and the dataset writer).

mod jsonl;
mod render;

pub use jsonl::JsonlSink;
pub use render::RenderSink;

use std::path::PathBuf;

use crate::engine::config::SimConfig;
use crate::engine::event::{CostBreakdown, Event};
use crate::engine::{RunStats, TickCounts};
use crate::replay::StateProvider;

/// Identity and inputs of one simulation, given to sinks before the first tick.
#[derive(Debug, Clone)]
pub struct SimulationMeta {
    /// The resolved configuration (seed included).
    pub config: SimConfig,
    /// Agent ids in sorted order (the order of agent indices in events).
    pub agent_ids: Vec<String>,
    /// Balances at the start of tick 0, in the same order.
    pub initial_balances: Vec<i64>,
}

/// Whole-run results, given to sinks after the last tick.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Ticks run.
    pub ticks: u32,
    /// Agent ids in sorted order.
    pub agent_ids: Vec<String>,
    /// Counts and values.
    pub stats: RunStats,
    /// Costs per agent over the run (sorted-id order).
    pub costs: Vec<CostBreakdown>,
}

/// A sink failure.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing the dataset failed.
    #[cfg(feature = "dataset")]
    #[error(transparent)]
    Dataset(#[from] crate::store::StoreError),
    /// Writing to standard output failed.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
}

/// Receives one simulation's output as the engine produces it (push model).
pub trait SimulationSink {
    /// Called once before the first tick.
    fn begin(&mut self, meta: &SimulationMeta) -> Result<(), SinkError>;
    /// Called after every tick with its events, counters and the state after it.
    fn tick(&mut self, tick: u32, events: &[Event], counts: &TickCounts, state: &dyn StateProvider) -> Result<(), SinkError>;
    /// Called once after the last tick; never after an error.
    fn finish(&mut self, summary: &RunSummary) -> Result<(), SinkError>;
    /// Called instead of `finish` when the run stops early: nothing may become visible.
    fn abort(&mut self) {}
}

/// Keeps nothing: for benchmarks and `--no-persist` runs without other output.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

impl SimulationSink for NullSink {
    fn begin(&mut self, _meta: &SimulationMeta) -> Result<(), SinkError> {
        Ok(())
    }

    fn tick(&mut self, _tick: u32, _events: &[Event], _counts: &TickCounts, _state: &dyn StateProvider) -> Result<(), SinkError> {
        Ok(())
    }

    fn finish(&mut self, _summary: &RunSummary) -> Result<(), SinkError> {
        Ok(())
    }
}
