//! What the verbose output is made of, below both the live path and replay: the run's
//! identity and summary, a read-only [`StateProvider`] and the one renderer.
//!
//! The live run renders from the engine's state; replay (from the stored dataset) renders
//! from stored state rows through the same renderer, so both print the same text.

mod live;
mod render;

pub use live::{AgentSnapshot, LiveState, StateProvider};

use std::sync::Arc;

/// Wall-clock time in milliseconds since the epoch, injected where it is recorded (run and
/// experiment start and end times) so tests can fix it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system's wall clock.
pub fn wall_clock() -> Clock {
    Arc::new(now_ms)
}

/// Milliseconds since the epoch now (0 for a clock set before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
pub use render::{Renderer, format_cents, render_summary};

use crate::engine::RunStats;
use crate::engine::config::SimConfig;
use crate::engine::event::CostBreakdown;

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
