//! The verbose output as a sink: renders each tick to a writer.

use std::io::Write;

use super::{RunSummary, SimulationMeta, SimulationSink, SinkError};
use crate::engine::TickCounts;
use crate::engine::event::Event;
use crate::replay::{Renderer, StateProvider};

/// Renders every tick (verbose mode) to `out`.
pub struct RenderSink<W: Write> {
    out: W,
    renderer: Option<Renderer>,
}

impl<W: Write> RenderSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        RenderSink { out, renderer: None }
    }
}

impl<W: Write> SimulationSink for RenderSink<W> {
    fn begin(&mut self, meta: &SimulationMeta) -> Result<(), SinkError> {
        self.renderer = Some(Renderer::new(meta.agent_ids.clone(), meta.config.ticks_per_day));
        Ok(())
    }

    fn tick(&mut self, tick: u32, events: &[Event], _counts: &TickCounts, state: &dyn StateProvider) -> Result<(), SinkError> {
        let r = self.renderer.as_mut().expect("begin() creates the renderer");
        r.render_tick(&mut self.out, tick, events, state).map_err(SinkError::Stdout)
    }

    fn finish(&mut self, _summary: &RunSummary) -> Result<(), SinkError> {
        self.out.flush().map_err(SinkError::Stdout)
    }
}
