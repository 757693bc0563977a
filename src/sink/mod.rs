//! [`SimulationSink`]: the one way a runner hands a simulation's output to anything that
//! keeps or shows it (the JSONL event writer, the verbose renderer, and the dataset writer).

#[cfg(feature = "dataset")]
mod dataset;
mod jsonl;
mod render;

#[cfg(feature = "dataset")]
pub use dataset::{ParquetSink, WriterOptions};
pub use jsonl::JsonlSink;
pub use render::RenderSink;

use std::path::PathBuf;

use crate::engine::TickCounts;
use crate::engine::event::Event;
use crate::state::StateProvider;
pub use crate::state::{RunSummary, SimulationMeta};

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
