//! Runs one simulation through a set of sinks: the one path every runner uses.

use crate::engine::config::SimConfig;
use crate::engine::{Engine, EngineError};
use crate::sink::{RunSummary, SimulationMeta, SimulationSink, SinkError};
use crate::state::LiveState;

/// Why a simulation run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine stopped (SimCash aborts in the same cases).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// Runs `config` to the end, pushing every tick to every sink; `on_tick` sees the tick number
/// (for progress). Returns the summary that sinks received.
pub fn run_simulation(config: SimConfig, sinks: &mut [&mut dyn SimulationSink], on_tick: impl FnMut(u32)) -> Result<RunSummary, RunError> {
    let result = drive(config, sinks, on_tick);
    if result.is_err() {
        for s in sinks.iter_mut() {
            s.abort();
        }
    }
    result
}

fn drive(config: SimConfig, sinks: &mut [&mut dyn SimulationSink], mut on_tick: impl FnMut(u32)) -> Result<RunSummary, RunError> {
    let mut engine = Engine::new(config.clone())?;
    let agent_ids = engine.agent_ids();
    let initial_balances = engine.agents().iter().map(|a| a.balance).collect();
    let meta = SimulationMeta { config, agent_ids: agent_ids.clone(), initial_balances };
    let agent_ids = meta.agent_ids.clone();
    for s in sinks.iter_mut() {
        s.begin(&meta)?;
    }
    while !engine.is_finished() {
        let tick = engine.current_tick();
        engine.step()?;
        let state = LiveState::new(&engine, &agent_ids);
        let counts = engine.tick_counts();
        for s in sinks.iter_mut() {
            s.tick(tick, engine.tick_events(), &counts, &state)?;
        }
        on_tick(tick);
    }
    let summary = RunSummary { ticks: engine.current_tick(), agent_ids, stats: engine.stats(), costs: engine.agents().iter().map(|a| a.total_costs).collect() };
    for s in sinks.iter_mut() {
        s.finish(&summary)?;
    }
    Ok(summary)
}
