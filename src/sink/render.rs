//! The verbose output as a sink: renders each tick to a writer.

use std::io::Write;

use super::{RunSummary, SimulationMeta, SimulationSink, SinkError};
use crate::engine::TickCounts;
use crate::engine::event::Event;
use crate::state::{Renderer, StateProvider};

/// Renders every tick (verbose mode) to `out`.
pub struct RenderSink<W: Write> {
    out: W,
    renderer: Option<Renderer>,
    filter: (Option<String>, Vec<String>),
    first_tick: u32,
}

impl<W: Write> RenderSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        RenderSink { out, renderer: None, filter: (None, Vec::new()), first_tick: 0 }
    }

    /// Prints only events involving `agent` (and its state line) and of `event_types`
    /// (all when empty).
    pub fn set_filter(&mut self, agent: Option<String>, event_types: Vec<String>) {
        self.filter = (agent, event_types);
    }

    /// Renders ticks before `tick` without printing them (their day tallies still count), so
    /// the printed lines equal the corresponding lines of the full output.
    pub fn set_first_tick(&mut self, tick: u32) {
        self.first_tick = tick;
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> SimulationSink for RenderSink<W> {
    fn begin(&mut self, meta: &SimulationMeta) -> Result<(), SinkError> {
        let mut r = Renderer::new(meta.agent_ids.clone(), meta.config.ticks_per_day);
        let agent = self.filter.0.as_ref().and_then(|a| meta.agent_ids.iter().position(|x| x == a)).map(|i| i as u32);
        r.set_filter(agent, self.filter.1.clone());
        self.renderer = Some(r);
        Ok(())
    }

    fn tick(&mut self, tick: u32, events: &[Event], _counts: &TickCounts, state: &dyn StateProvider) -> Result<(), SinkError> {
        let r = self.renderer.as_mut().expect("begin() creates the renderer");
        if tick < self.first_tick {
            return r.render_tick(&mut std::io::sink(), tick, events, state).map_err(SinkError::Stdout);
        }
        r.render_tick(&mut self.out, tick, events, state).map_err(SinkError::Stdout)
    }

    fn finish(&mut self, _summary: &RunSummary) -> Result<(), SinkError> {
        self.out.flush().map_err(SinkError::Stdout)
    }
}
