//! The state questions the renderer asks after each tick.

use crate::engine::Engine;
use crate::engine::config::Cents;
use crate::engine::event::{AgentIdx, CostBreakdown};

/// One agent's state at the end of a tick (the `agent_ticks` row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentSnapshot {
    /// Balance.
    pub balance: Cents,
    /// Payments waiting in Queue 1.
    pub queue1_count: u32,
    /// Their remaining value.
    pub queue1_value: Cents,
    /// The agent's payments in Queue 2.
    pub queue2_count: u32,
    /// Their remaining value.
    pub queue2_value: Cents,
    /// Collateral posted.
    pub posted_collateral: Cents,
    /// Unsecured overdraft cap.
    pub unsecured_cap: Cents,
    /// Costs accrued since the start of the run.
    pub total_costs: CostBreakdown,
}

/// Read-only view of the simulation state after a tick.
pub trait StateProvider {
    /// Agent ids in sorted order (the order of [`AgentIdx`]).
    fn agent_ids(&self) -> &[String];
    /// State of one agent.
    fn agent(&self, agent: AgentIdx) -> AgentSnapshot;
    /// Size of the central queue (Queue 2).
    fn queue2_len(&self) -> usize;
}

/// The live engine as a state provider.
#[derive(Debug)]
pub struct LiveState<'a> {
    engine: &'a Engine,
    ids: &'a [String],
}

impl<'a> LiveState<'a> {
    /// Wraps an engine; `ids` are its sorted agent ids.
    pub fn new(engine: &'a Engine, ids: &'a [String]) -> Self {
        LiveState { engine, ids }
    }
}

impl StateProvider for LiveState<'_> {
    fn agent_ids(&self) -> &[String] {
        self.ids
    }

    fn agent(&self, agent: AgentIdx) -> AgentSnapshot {
        let a = &self.engine.agents()[agent as usize];
        let txs = self.engine.transactions();
        let value = |ids: &[crate::engine::event::TxId]| ids.iter().map(|id| txs[id].remaining).sum();
        AgentSnapshot {
            balance: a.balance,
            queue1_count: a.queue1.len() as u32,
            queue1_value: value(&a.queue1),
            queue2_count: a.queue2_index.len() as u32,
            queue2_value: value(&a.queue2_index),
            posted_collateral: a.posted_collateral,
            unsecured_cap: a.unsecured_cap,
            total_costs: a.total_costs,
        }
    }

    fn queue2_len(&self) -> usize {
        self.engine.queue2().len()
    }
}
