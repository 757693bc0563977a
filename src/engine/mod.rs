//! The deterministic RTGS simulator.
//!
//! [`Engine::step`] runs one tick in SimCash's exact phase order (ENGINE-SPEC §2) and leaves
//! the tick's [`Event`]s in [`Engine::tick_events`]. One seeded [`rng::Rng`] feeds arrivals;
//! agents live in sorted-id order; nothing reads the wall clock or iterates a hash map. The
//! engine knows nothing of files, Arrow or rendering: runners pass events on to sinks.

pub mod arrivals;
pub mod config;
mod context;
pub mod costs;
mod decide;
pub mod event;
mod lsm;
pub mod model;
pub mod policy;
pub mod rng;
mod scenario_events;
mod settle;
pub mod txs;

use std::collections::BTreeMap;

use config::{Cents, SimConfig};
use event::{AgentIdx, CostBreakdown, Event, EventKind, RtgsPriority, TxId};
use model::{Agent, ArrivalState, ReleaseBudget, Transaction};
use policy::Policy;
use policy::tree::TreeKind;
use rng::Rng;
use txs::Transactions;

/// Errors that stop a run (SimCash aborts in the same situations, Q-20).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// A policy document is invalid.
    #[error("agent {agent}: {source}")]
    InvalidPolicy {
        /// Agent id.
        agent: String,
        /// What is wrong with the document.
        source: policy::tree::TreeError,
    },
    /// A policy failed to evaluate (SimCash aborts the run too, Q-20).
    #[error("tick {tick}: policy `{policy}` of agent {agent}: {message}")]
    Policy {
        /// Tick of the failure.
        tick: u32,
        /// Agent id.
        agent: String,
        /// Policy id.
        policy: String,
        /// The failure, naming the node.
        message: String,
    },
    /// A collateral tree posted more than the agent's remaining capacity.
    #[error("tick {tick}: agent {agent} posts {amount} of collateral but only {remaining} of capacity remains")]
    CollateralCapacity {
        /// Tick.
        tick: u32,
        /// Agent id.
        agent: String,
        /// Amount posted.
        amount: Cents,
        /// Remaining capacity.
        remaining: Cents,
    },
    /// A CollateralAdjustment would make an unsecured cap negative.
    #[error("tick {tick}: CollateralAdjustment of {delta} makes agent {agent}'s unsecured_cap negative ({result})")]
    NegativeUnsecuredCap {
        /// Tick.
        tick: u32,
        /// Agent id.
        agent: String,
        /// The adjustment.
        delta: Cents,
        /// The resulting cap.
        result: Cents,
    },
    /// A split would give a part a zero amount (SimCash panics there: "amount must be positive").
    #[error(
        "tick {tick}: agent {agent} splits transaction {tx} of {amount} into {parts} parts, which leaves a part of 0 \
         (SimCash stops here too, with \"amount must be positive\")"
    )]
    SplitToZero {
        /// Tick.
        tick: u32,
        /// Agent id.
        agent: String,
        /// The transaction being split.
        tx: String,
        /// Its amount.
        amount: Cents,
        /// The number of parts asked for.
        parts: u32,
    },
    /// The run outgrew one of its [`config::Limits`] (a policy that splits without end, say).
    #[error(
        "tick {tick}: {what} would exceed the limit of {limit} (a runaway policy? `simcash: {{limits: …}}` in the scenario \
         raises it, see docs/engine.md); the run stops"
    )]
    Runaway {
        /// Tick.
        tick: u32,
        /// What grew, naming the agent and transaction where one is to blame.
        what: String,
        /// The limit.
        limit: u32,
    },
    /// The run is already complete.
    #[error("the simulation has already run all {0} ticks")]
    Finished(u32),
}

/// Per-tick counters, as SimCash's `TickResult` (ENGINE-SPEC §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickCounts {
    /// Generated arrivals (scripted ones are not counted, Q-17).
    pub num_arrivals: u32,
    /// RTGS + Queue-2 settlements + LSM releases.
    pub num_settlements: u32,
    /// Bilateral pairs popped (failed ones too) + cycles settled.
    pub num_lsm_releases: u32,
    /// Step-6 costs plus end-of-day penalties (split friction excluded).
    pub total_cost: Cents,
}

/// Whole-run statistics for the final summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Payments that arrived (generated and scripted; split children excluded).
    pub arrivals: u64,
    /// Of those, fully settled.
    pub settled: u64,
    /// Value that arrived.
    pub arrived_value: Cents,
    /// Value settled.
    pub settled_value: Cents,
    /// Events emitted.
    pub events: u64,
}

/// The simulator: state plus the tick loop.
#[derive(Debug)]
pub struct Engine {
    cfg: SimConfig,
    rng: Rng,
    tick: u32,
    agents: Vec<Agent>,
    /// Agent indices in configuration order (for counterparty selection).
    txs: Transactions,
    queue2: Vec<TxId>,
    /// Released this tick, awaiting step 3.
    pending: Vec<TxId>,
    /// Deferred credits per receiver (amount, source transactions) for this tick.
    deferred: Vec<(Cents, Vec<TxId>)>,
    events: Vec<Event>,
    counts: TickCounts,
    stats: RunStats,
    initial_total_balance: Cents,
    /// Money that entered (+) or left (−) the agents from outside: pool allocations and returns.
    external_flow: Cents,
}

impl Engine {
    /// Builds an engine at tick 0 from a validated configuration.
    pub fn new(cfg: SimConfig) -> Result<Engine, EngineError> {
        let mut order: Vec<usize> = (0..cfg.agents.len()).collect();
        order.sort_by(|&a, &b| cfg.agents[a].id.cmp(&cfg.agents[b].id));
        let index_of: BTreeMap<&str, AgentIdx> = order.iter().enumerate().map(|(i, &c)| (cfg.agents[c].id.as_str(), i as AgentIdx)).collect();
        let mut agents = Vec::with_capacity(order.len());
        for &c in &order {
            let a = &cfg.agents[c];
            let arrivals = a
                .arrivals
                .iter()
                .chain(&a.arrival_bands)
                .map(|arr| {
                    let candidates = cfg
                        .agents
                        .iter()
                        .filter(|o| o.id != a.id)
                        .map(|o| {
                            let w = arr.counterparty_weights.iter().find(|(id, _)| *id == o.id).map_or(1.0, |(_, w)| *w);
                            (index_of[o.id.as_str()], w)
                        })
                        .collect();
                    ArrivalState {
                        config: arr.clone(),
                        rate: arr.rate_per_tick,
                        base_rate: arr.rate_per_tick,
                        candidates,
                        weighted: !arr.counterparty_weights.is_empty(),
                    }
                })
                .collect();
            let allocation = a.liquidity_pool.map_or(0, |pool| (pool as f64 * a.liquidity_allocation_fraction).floor() as Cents);
            agents.push(Agent {
                id: a.id.clone(),
                balance: a.opening_balance + allocation,
                unsecured_cap: a.unsecured_cap,
                posted_collateral: a.posted_collateral,
                collateral_haircut: a.collateral_haircut,
                max_collateral_capacity: a.max_collateral_capacity,
                liquidity_pool: a.liquidity_pool,
                allocated_liquidity: allocation,
                queue1: Vec::new(),
                queue2_index: Vec::new(),
                day_costs: CostBreakdown::default(),
                total_costs: CostBreakdown::default(),
                arrivals,
                policy: Policy::build(&a.policy).map_err(|source| EngineError::InvalidPolicy { agent: a.id.clone(), source })?,
                budget: ReleaseBudget::default(),
                collateral_timers: BTreeMap::new(),
                registers: Vec::new(),
                sent_value: 0,
                sent_settled_value: 0,
            });
        }
        let initial_total_balance = agents.iter().map(|a| a.balance).sum();
        let n = agents.len();
        Ok(Engine {
            rng: Rng::new(cfg.rng_seed),
            cfg,
            tick: 0,
            agents,
            txs: Transactions::default(),
            queue2: Vec::new(),
            pending: Vec::new(),
            deferred: vec![(0, Vec::new()); n],
            events: Vec::new(),
            counts: TickCounts::default(),
            stats: RunStats::default(),
            initial_total_balance,
            external_flow: 0,
        })
    }

    /// The configuration being run.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The next tick to run (equals the number of ticks run so far).
    pub fn current_tick(&self) -> u32 {
        self.tick
    }

    /// Whether every tick of the episode has run.
    pub fn is_finished(&self) -> bool {
        self.tick >= self.cfg.total_ticks()
    }

    /// Agents in sorted-id order (the order of [`AgentIdx`]).
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// Agent ids in sorted order.
    pub fn agent_ids(&self) -> Vec<String> {
        self.agents.iter().map(|a| a.id.clone()).collect()
    }

    /// The run's payments, indexed by [`TxId`]: every one created, less the blocks of
    /// finished ones freed at the end of a tick.
    pub fn transactions(&self) -> &Transactions {
        &self.txs
    }

    /// The central queue (Queue 2) in order.
    pub fn queue2(&self) -> &[TxId] {
        &self.queue2
    }

    /// Events of the last tick run.
    pub fn tick_events(&self) -> &[Event] {
        &self.events
    }

    /// Counters of the last tick run.
    pub fn tick_counts(&self) -> TickCounts {
        self.counts
    }

    /// Whole-run statistics so far.
    pub fn stats(&self) -> RunStats {
        self.stats
    }

    /// Sum of balances at tick 0 (after initial pool allocation).
    pub fn initial_total_balance(&self) -> Cents {
        self.initial_total_balance
    }

    /// Net money brought in from outside the agents since tick 0 (pool allocations minus
    /// returns); balance conservation: Σ balances = initial total + this.
    pub fn external_flow(&self) -> Cents {
        self.external_flow
    }

    fn emit(&mut self, kind: EventKind) {
        self.events.push(Event { tick: self.tick, kind });
    }

    fn day(&self) -> u32 {
        self.tick / self.cfg.ticks_per_day
    }

    fn tick_in_day(&self) -> u32 {
        self.tick % self.cfg.ticks_per_day
    }

    /// Runs one tick, phase by phase, in SimCash's order.
    pub fn step(&mut self) -> Result<(), EngineError> {
        if self.is_finished() {
            return Err(EngineError::Finished(self.cfg.total_ticks()));
        }
        self.events.clear();
        self.counts = TickCounts::default();
        self.pending.clear();
        // 0.1 / 0.25: a new day resets cost accumulators, then re-allocates pool liquidity.
        if self.tick_in_day() == 0 && self.tick > 0 {
            for a in &mut self.agents {
                a.day_costs = CostBreakdown::default();
            }
            if self.cfg.extensions.daily_liquidity_reallocation {
                self.start_of_day_allocation();
            }
        }
        // 0.5: scripted events come before generated arrivals, so they join Queue 1 first.
        self.run_scenario_events()?;
        // 1: generated arrivals.
        self.generate_arrivals();
        // 1.5: strategic collateral trees.
        self.evaluate_collateral_trees(TreeKind::StrategicCollateral)?;
        // 1.75: bank trees (release budgets, registers).
        self.evaluate_bank_trees()?;
        // 1.8: collateral auto-withdrawals due now.
        self.run_collateral_timers();
        // 2: policies decide on Queue 1 against one snapshot per agent.
        self.evaluate_queue1()?;
        // 2b: payment trees re-evaluate Queue-2 payments (withdraw / resubmit only).
        self.evaluate_queue2();
        // 3: released payments settle now or join Queue 2.
        self.submit_pending();
        // 4: one FIFO pass over Queue 2 with the liquidity released so far.
        self.queue2_pass();
        // 5: LSM resolves gridlock among what is still queued.
        self.run_lsm();
        // 5.5: per-sender Queue-2 index, read by costs and by next tick's policies.
        self.rebuild_queue2_index();
        // 5.6: end-of-tick collateral trees.
        self.evaluate_collateral_trees(TreeKind::EndOfTickCollateral)?;
        // 5.7: deferred credits become usable only now.
        self.apply_deferred_credits();
        // 6: overdue marking and cost accrual.
        self.accrue_costs();
        // 8: end of day.
        if self.tick_in_day() == self.cfg.ticks_per_day - 1 {
            self.end_of_day();
        }
        self.check_limits(None, 0)?;
        self.txs.free_finished();
        self.stats.events += self.events.len() as u64;
        self.tick += 1;
        Ok(())
    }

    fn start_of_day_allocation(&mut self) {
        let day = self.day();
        for i in 0..self.agents.len() {
            let a = &mut self.agents[i];
            let Some(pool) = a.liquidity_pool else { continue };
            let fraction = a.policy.initial_liquidity_fraction();
            let amount = (pool as f64 * fraction).floor() as Cents;
            a.balance += amount;
            a.allocated_liquidity = amount;
            let balance_after = a.balance;
            self.external_flow += amount;
            self.emit(EventKind::LiquidityAllocation { day, agent_id: i as AgentIdx, fraction, amount, balance_after });
        }
    }

    /// Creates a transaction and appends it to the sender's Queue 1.
    fn create_transaction(&mut self, sender: AgentIdx, receiver: AgentIdx, amount: Cents, deadline: u32, priority: u8) -> TxId {
        let id = self.txs.next_id();
        self.txs.push(Transaction::new(id, sender, receiver, amount, self.tick, deadline, priority));
        let s = &mut self.agents[sender as usize];
        s.queue1.push(id);
        s.sent_value += amount;
        self.stats.arrivals += 1;
        self.stats.arrived_value += amount;
        id
    }

    /// Deadline capping (ENGINE-SPEC §4.5); scripted payments cap one tick earlier.
    fn cap_deadline(&self, raw: u32, scripted: bool) -> u32 {
        let tpd = self.cfg.ticks_per_day;
        let mut d = raw.min(self.cfg.total_ticks());
        if self.cfg.deadline_cap_at_eod {
            let day_end = (self.day() + 1) * tpd;
            d = d.min(if scripted { day_end - 1 } else { day_end });
        }
        d.max(self.tick + 1)
    }

    fn generate_arrivals(&mut self) {
        let mut drawn = Vec::new();
        for i in 0..self.agents.len() {
            drawn.clear();
            for state in &self.agents[i].arrivals {
                let band = state.config.band;
                let start = drawn.len();
                arrivals::draw(&mut self.rng, state, &mut drawn);
                // Legacy configs turn a generated priority 0 into the default 5.
                for p in &mut drawn[start..] {
                    if p.priority == 0 && !band {
                        p.priority = 5;
                    }
                }
            }
            // Generated arrivals always log is_divisible: false.
            for p in drawn.iter().copied() {
                let deadline = self.cap_deadline(self.tick + p.deadline_offset, false);
                let priority = p.priority;
                let id = self.create_transaction(i as AgentIdx, p.receiver, p.amount, deadline, priority);
                self.counts.num_arrivals += 1;
                self.emit(EventKind::Arrival {
                    tx_id: id,
                    sender_id: i as AgentIdx,
                    receiver_id: p.receiver,
                    amount: p.amount,
                    deadline,
                    priority,
                    is_divisible: false,
                });
            }
        }
    }

    /// Marks a payment submitted to RTGS and queues it for step 3.
    /// `announce: false` submits without the RtgsSubmission event (StaggerSplit's children, as
    /// in SimCash; their QueuedRtgs or settlement event still follows in step 3).
    fn release_to_rtgs(&mut self, id: TxId, announce: bool) {
        let t = self.tick;
        let tx = &mut self.txs[id];
        let prio = tx.declared_rtgs_priority.unwrap_or(RtgsPriority::Normal);
        tx.rtgs_priority = Some(prio);
        tx.rtgs_submission_tick = Some(t);
        let kind = EventKind::RtgsSubmission {
            tx_id: id,
            sender: tx.sender,
            receiver: tx.receiver,
            amount: tx.remaining,
            internal_priority: tx.priority,
            rtgs_priority: prio,
        };
        self.pending.push(id);
        if announce {
            self.emit(kind);
        }
    }

    /// Splits a Queue-1 payment into `n` children (ENGINE-SPEC §1.3, §6.5). `Split` sends all
    /// of them to RTGS; `Some((release_now, boost))` is StaggerSplit: the first `release_now`
    /// go to RTGS unannounced, the rest join Queue 1 through `appended`, all with priority
    /// raised by `boost` (capped at 10).
    fn split(&mut self, agent: AgentIdx, parent: TxId, n: u32, stagger: Option<(u32, u8)>, appended: &mut Vec<TxId>) -> Result<(), EngineError> {
        let (release_now, boost) = stagger.unwrap_or((n, 0));
        let mut p = self.txs[parent].clone();
        let base = p.amount / n as Cents;
        if base <= 0 {
            let agent = self.agents[agent as usize].id.clone();
            return Err(EngineError::SplitToZero { tick: self.tick, agent, tx: parent.to_string(), amount: p.amount, parts: n });
        }
        self.check_limits(Some((agent, parent)), n)?;
        p.priority = p.priority.saturating_add(boost).min(10);
        let mut children = Vec::with_capacity(n as usize);
        self.agents[p.sender as usize].sent_value += p.amount;
        for k in 0..n {
            let amount = if k == n - 1 { p.amount - base * (n as Cents - 1) } else { base };
            let id = self.txs.next_id();
            self.txs.push(Transaction { parent: Some(parent), ..Transaction::new(id, p.sender, p.receiver, amount, p.arrival_tick, p.deadline, p.priority) });
            self.emit(EventKind::Arrival {
                tx_id: id,
                sender_id: p.sender,
                receiver_id: p.receiver,
                amount,
                deadline: p.deadline,
                priority: p.priority,
                is_divisible: false,
            });
            if k < release_now {
                self.release_to_rtgs(id, stagger.is_none());
            } else {
                appended.push(id);
            }
            children.push(id);
        }
        // The parent leaves Queue 1 for good; its parts keep it while they are open.
        self.txs.finish(parent);
        let friction = self.cfg.costs.split_friction_cost * (n as Cents - 1);
        if friction > 0 {
            let costs = CostBreakdown { split_friction_cost: friction, ..Default::default() };
            let a = &mut self.agents[agent as usize];
            a.day_costs.add(&costs);
            a.total_costs.add(&costs);
            self.emit(EventKind::CostAccrual { agent_id: agent, costs });
        }
        self.emit(EventKind::PolicySplit { agent_id: agent, tx_id: parent, num_splits: n, child_ids: children });
        Ok(())
    }

    /// Fails when the tick's events or the queued payments, with `extra` more of each (the
    /// parts of a split by `splitter`), exceed the scenario's [`config::Limits`].
    fn check_limits(&self, splitter: Option<(AgentIdx, TxId)>, extra: u32) -> Result<(), EngineError> {
        let limits = self.cfg.extensions.limits;
        let who = || match splitter {
            Some((agent, tx)) => format!("agent {} splitting transaction {tx} into {extra} parts: ", self.agents[agent as usize].id),
            None => String::new(),
        };
        // A part is at least an Arrival and a submission or a PolicySplit entry.
        let events = self.events.len() + 2 * extra as usize;
        if events > limits.max_events_per_tick as usize {
            let what = format!("{}{events} events in one tick", who());
            return Err(EngineError::Runaway { tick: self.tick, what, limit: limits.max_events_per_tick });
        }
        let queued = self.queue2.len() + self.agents.iter().map(|a| a.queue1.len()).sum::<usize>() + extra as usize;
        if queued > limits.max_queued_payments as usize {
            let what = format!("{}{queued} queued payments", who());
            return Err(EngineError::Runaway { tick: self.tick, what, limit: limits.max_queued_payments });
        }
        // Transaction ids are 32-bit: a run may create at most u32::MAX - 1 payments.
        let created = self.txs.len() + extra as usize;
        if created >= u32::MAX as usize {
            let what = format!("{}{created} payments created in the run", who());
            return Err(EngineError::Runaway { tick: self.tick, what, limit: u32::MAX - 1 });
        }
        Ok(())
    }

    fn rebuild_queue2_index(&mut self) {
        for a in &mut self.agents {
            a.queue2_index.clear();
        }
        for &id in &self.queue2 {
            let s = self.txs[id].sender;
            self.agents[s as usize].queue2_index.push(id);
        }
    }

    fn apply_deferred_credits(&mut self) {
        if !self.cfg.deferred_crediting {
            return;
        }
        for i in 0..self.agents.len() {
            let (amount, sources) = std::mem::take(&mut self.deferred[i]);
            if sources.is_empty() {
                continue;
            }
            self.agents[i].balance += amount;
            self.emit(EventKind::DeferredCreditApplied { agent_id: i as AgentIdx, amount, source_transactions: sources });
        }
    }

    fn accrue_costs(&mut self) {
        let t = self.tick;
        let rates = self.cfg.costs.clone();
        for i in 0..self.agents.len() {
            let mut penalty = 0;
            // Newly overdue: Queue-1 payments past deadline, then Queue-2 payments marked in
            // this tick's queue passes.
            let q1_len = self.agents[i].queue1.len();
            for k in 0..q1_len + self.agents[i].queue2_index.len() {
                let id = if k < q1_len { self.agents[i].queue1[k] } else { self.agents[i].queue2_index[k - q1_len] };
                let tx = &mut self.txs[id];
                let newly = if k < q1_len { t > tx.deadline && tx.overdue_since.is_none() } else { tx.overdue_since == Some(t) };
                if !newly {
                    continue;
                }
                tx.overdue_since = Some(t);
                let cost = rates.deadline_penalty.resolve(tx.amount);
                penalty += cost;
                let kind = EventKind::TransactionWentOverdue {
                    tx_id: id,
                    sender_id: tx.sender,
                    receiver_id: tx.receiver,
                    amount: tx.amount,
                    remaining_amount: tx.remaining,
                    deadline_tick: tx.deadline,
                    ticks_overdue: t - tx.deadline,
                    deadline_penalty_cost: cost,
                };
                self.emit(kind);
            }
            let a = &self.agents[i];
            let weight: u128 = a
                .queue1
                .iter()
                .chain(&a.queue2_index)
                .map(|id| {
                    let tx = &self.txs[id];
                    costs::delay_weight(&rates, tx.remaining, tx.priority, tx.overdue_since.is_some())
                })
                .sum();
            let c = CostBreakdown {
                liquidity_cost: costs::overdraft_cost(&rates, a.balance),
                delay_cost: costs::delay_cost(&rates, weight),
                collateral_cost: costs::bps_holding_cost(rates.collateral_cost_per_tick_bps, a.posted_collateral),
                penalty_cost: penalty,
                split_friction_cost: 0,
                liquidity_opportunity_cost: costs::bps_holding_cost(rates.liquidity_cost_per_tick_bps, a.allocated_liquidity),
            };
            let total = c.total();
            if total > 0 {
                let a = &mut self.agents[i];
                a.day_costs.add(&c);
                a.total_costs.add(&c);
                self.counts.total_cost += total;
                self.emit(EventKind::CostAccrual { agent_id: i as AgentIdx, costs: c });
            }
        }
    }

    fn end_of_day(&mut self) {
        let t = self.tick;
        let day = self.day();
        let eod = self.cfg.costs.eod_penalty;
        let mut total_penalties = 0;
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            let mut any = false;
            let mut penalty = 0;
            for id in a.queue1.iter().chain(&a.queue2_index) {
                let tx = &self.txs[id];
                if tx.deadline < t {
                    any = true;
                    penalty += eod.resolve(tx.remaining);
                }
            }
            if any {
                let c = CostBreakdown { penalty_cost: penalty, ..Default::default() };
                let a = &mut self.agents[i];
                a.day_costs.add(&c);
                a.total_costs.add(&c);
                total_penalties += penalty;
                self.counts.total_cost += penalty;
                self.emit(EventKind::CostAccrual { agent_id: i as AgentIdx, costs: c });
            }
        }
        self.reset_registers();
        let unsettled = self.queue2.len() + self.agents.iter().map(|a| a.queue1.len()).sum::<usize>();
        self.emit(EventKind::EndOfDay { day, unsettled_count: unsettled as u32, total_penalties });
        for i in 0..self.agents.len() {
            let a = &mut self.agents[i];
            if !self.cfg.extensions.daily_liquidity_reallocation || a.liquidity_pool.is_none() || a.allocated_liquidity == 0 {
                continue;
            }
            let amount = a.allocated_liquidity;
            a.balance -= amount;
            a.allocated_liquidity = 0;
            let balance_after = a.balance;
            self.external_flow -= amount;
            self.emit(EventKind::LiquidityReturn { agent_id: i as AgentIdx, amount, balance_after });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal_eod() -> SimConfig {
        let text = include_str!("../../tests/data/simcash/scenarios/test_minimal_eod.yaml");
        crate::scenario::load_str("test_minimal_eod.yaml", text).unwrap().config
    }

    #[test]
    fn first_tick_arrivals_match_simcash_reference() {
        // ENGINE-SPEC §4.1, verified against SimCash: seed 42, tick 0.
        let mut e = Engine::new(minimal_eod()).unwrap();
        e.step().unwrap();
        let arrivals: Vec<(String, Cents, u32)> = e
            .tick_events()
            .iter()
            .filter_map(|ev| match &ev.kind {
                EventKind::Arrival { sender_id, amount, deadline, .. } => Some((e.agents()[*sender_id as usize].id.clone(), *amount, *deadline)),
                _ => None,
            })
            .collect();
        let expect = [(32820, 36), (12898, 58), (33668, 47), (41053, 38), (18686, 36)];
        assert_eq!(arrivals.len(), 5);
        for ((who, amount, deadline), (a, d)) in arrivals.iter().zip(expect) {
            assert_eq!((who.as_str(), *amount, *deadline), ("BANK_B", a, d));
        }
    }

    #[test]
    fn stepping_past_the_end_is_an_error() {
        let mut cfg = minimal_eod();
        cfg.num_days = 1;
        cfg.ticks_per_day = 2;
        let mut e = Engine::new(cfg).unwrap();
        e.step().unwrap();
        e.step().unwrap();
        assert!(e.is_finished());
        assert_eq!(e.step(), Err(EngineError::Finished(2)));
    }

    #[test]
    fn negative_unsecured_cap_aborts_with_an_error() {
        let mut cfg = minimal_eod();
        cfg.scenario_events.push(config::ScheduledEvent {
            event: config::ScenarioEvent::CollateralAdjustment { agent: "BANK_A".into(), delta: -600_000 },
            schedule: config::Schedule::OneTime { tick: 1 },
        });
        let mut e = Engine::new(cfg).unwrap();
        e.step().unwrap();
        assert!(matches!(e.step(), Err(EngineError::NegativeUnsecuredCap { tick: 1, result: -100_000, .. })));
    }

    fn two_banks(a_to_b: Cents, b_to_a: Cents, balance_a: Cents) -> Engine {
        let yaml = format!(
            "simulation: {{ticks_per_day: 3, num_days: 1, rng_seed: 1}}\n\
             lsm_config: {{enable_bilateral: true, enable_cycles: false}}\n\
             agents:\n  - {{id: A, opening_balance: {balance_a}}}\n  - {{id: B, opening_balance: 0}}\n\
             scenario_events:\n\
             \x20 - {{type: CustomTransactionArrival, from_agent: A, to_agent: B, amount: {a_to_b}, deadline: 2, schedule: {{type: OneTime, tick: 0}}}}\n\
             \x20 - {{type: CustomTransactionArrival, from_agent: B, to_agent: A, amount: {b_to_a}, deadline: 2, schedule: {{type: OneTime, tick: 0}}}}\n"
        );
        Engine::new(crate::scenario::load_str("t.yaml", &yaml).unwrap().config).unwrap()
    }

    fn names(e: &Engine) -> Vec<&'static str> {
        e.tick_events().iter().map(|ev| ev.kind.name()).collect()
    }

    #[test]
    fn bilateral_offset_settles_a_fundable_pair() {
        // A pays 1000 and receives 600: net 400 from a balance of 500.
        let mut e = two_banks(1000, 600, 500);
        e.step().unwrap();
        let n = names(&e);
        assert_eq!(n.iter().filter(|x| **x == "QueuedRtgs").count(), 2, "{n:?}");
        let offset = e.tick_events().iter().find_map(|ev| match &ev.kind {
            EventKind::LsmBilateralOffset { amount_a, amount_b, settled, tx_ids, .. } => Some((*amount_a, *amount_b, *settled, tx_ids.len())),
            _ => None,
        });
        assert_eq!(offset, Some((1000, 600, true, 2)));
        assert_eq!((e.agents()[0].balance, e.agents()[1].balance), (100, 400));
        assert!(e.queue2().is_empty());
        assert_eq!(e.tick_counts().num_lsm_releases, 1);
    }

    #[test]
    fn unfundable_pair_is_reported_once_per_tick_and_retried() {
        // the event is emitted although nothing settles, once per tick, every tick.
        let mut e = two_banks(1000, 600, 300);
        for _ in 0..2 {
            e.step().unwrap();
            let offsets: Vec<bool> = e
                .tick_events()
                .iter()
                .filter_map(|ev| match ev.kind {
                    EventKind::LsmBilateralOffset { settled, .. } => Some(settled),
                    _ => None,
                })
                .collect();
            assert_eq!(offsets, vec![false]);
            // Three LSM rounds each pop the failing pair (it counts as progress).
            assert_eq!(e.tick_counts().num_lsm_releases, 3);
        }
        assert_eq!(e.queue2().len(), 2);
        assert_eq!(e.agents()[0].balance, 300);
    }
}
