//! The policy evaluation context (ENGINE-SPEC §6.4): field values read from the engine for
//! one agent and one payment. Per-agent aggregates are computed at most once per context
//! set and cached; nothing scans the history of the run.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use super::Engine;
use super::config::Cents;
use super::event::AgentIdx;
use super::model::{Agent, Transaction};
use super::policy::eval::Context;
use super::policy::field::{Field, id_hash};

/// Receiver of the dummy payment collateral trees are evaluated on.
const DUMMY_RECEIVER: AgentIdx = AgentIdx::MAX;

/// Aggregates shared by every context of one agent within one phase.
#[derive(Default)]
pub(crate) struct AgentCache {
    queue1_value: OnceCell<Cents>,
    /// (count, nearest deadline) of the agent's Queue-2 index.
    queue2: OnceCell<(usize, Option<u32>)>,
    /// Remaining value per counterparty in Queue 2: (out to, in from).
    flows: OnceCell<BTreeMap<AgentIdx, (Cents, Cents)>>,
    /// Top-5 lists: out values (with counterparty), in values, nets by |net|.
    tops: OnceCell<Tops>,
}

struct Tops {
    out: Vec<(AgentIdx, Cents)>,
    inflow: Vec<Cents>,
    net: Vec<Cents>,
}

/// Whole-system aggregates shared by every context of one phase.
#[derive(Default)]
pub(crate) struct SystemCache {
    queue2_value: OnceCell<Cents>,
}

/// What a tree sees: one agent, one payment (or the dummy payment), the engine state.
pub(crate) struct PolicyContext<'a> {
    pub e: &'a Engine,
    pub agent: &'a Agent,
    pub idx: AgentIdx,
    /// The payment; `None` for a bank-tree context.
    pub tx: Option<&'a Transaction>,
    pub cache: &'a AgentCache,
    pub system: &'a SystemCache,
}

/// The payment collateral trees are evaluated on: amount 1 to "DUMMY", due next tick.
pub(crate) fn dummy_tx(sender: AgentIdx, tick: u32) -> Transaction {
    Transaction::new(super::event::TxId(u32::MAX), sender, DUMMY_RECEIVER, 1, tick, tick + 1, 5)
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

impl PolicyContext<'_> {
    fn queue1_value(&self) -> Cents {
        *self.cache.queue1_value.get_or_init(|| self.agent.queue1.iter().map(|id| self.e.txs[id].remaining).sum())
    }

    fn queue2(&self) -> (usize, Option<u32>) {
        *self.cache.queue2.get_or_init(|| {
            let q = &self.agent.queue2_index;
            (q.len(), q.iter().map(|id| self.e.txs[id].deadline).min())
        })
    }

    fn flows(&self) -> &BTreeMap<AgentIdx, (Cents, Cents)> {
        self.cache.flows.get_or_init(|| {
            let mut m: BTreeMap<AgentIdx, (Cents, Cents)> = BTreeMap::new();
            for id in &self.e.queue2 {
                let tx = &self.e.txs[id];
                if tx.sender == self.idx {
                    m.entry(tx.receiver).or_default().0 += tx.remaining;
                }
                if tx.receiver == self.idx {
                    m.entry(tx.sender).or_default().1 += tx.remaining;
                }
            }
            m
        })
    }

    fn tops(&self) -> &Tops {
        self.cache.tops.get_or_init(|| {
            let flows = self.flows();
            // Ties keep agent-id order (SimCash's order there is a hash map's).
            let mut out: Vec<(AgentIdx, Cents)> = flows.iter().filter(|(_, f)| f.0 > 0).map(|(k, f)| (*k, f.0)).collect();
            out.sort_by_key(|f| std::cmp::Reverse(f.1));
            let mut inflow: Vec<Cents> = flows.values().filter(|f| f.1 > 0).map(|f| f.1).collect();
            inflow.sort_by(|a, b| b.cmp(a));
            let mut net: Vec<Cents> = flows.values().map(|f| f.0 - f.1).collect();
            net.sort_by_key(|n| std::cmp::Reverse(n.abs()));
            Tops { out, inflow, net }
        })
    }

    fn queue2_value(&self) -> Cents {
        *self.system.queue2_value.get_or_init(|| self.e.queue2.iter().map(|id| self.e.txs[id].remaining).sum())
    }

    fn tx_field(&self, tx: &Transaction, f: &Field) -> f64 {
        let t = self.e.tick;
        let rates = &self.e.cfg.costs;
        match f {
            Field::Amount => tx.amount as f64,
            Field::RemainingAmount => tx.remaining as f64,
            Field::SettledAmount => (tx.amount - tx.remaining) as f64,
            Field::ArrivalTick => tx.arrival_tick as f64,
            Field::DeadlineTick => tx.deadline as f64,
            Field::Priority => tx.priority as f64,
            Field::IsSplit => flag(tx.parent.is_some()),
            Field::IsPastDeadline => flag(t > tx.deadline),
            Field::IsOverdue => flag(tx.overdue_since.is_some() && tx.settled_tick.is_none()),
            Field::IsInQueue2 => flag(tx.rtgs_priority.is_some()),
            Field::OverdueDuration => tx.overdue_since.map_or(0.0, |s| t.saturating_sub(s) as f64),
            Field::TicksToDeadline => tx.deadline as f64 - t as f64,
            Field::QueueAge => t.saturating_sub(tx.arrival_tick) as f64,
            Field::CostDeadlinePenalty => rates.deadline_penalty.resolve(tx.amount) as f64,
            Field::CostEodPenalty => rates.eod_penalty.resolve(tx.remaining) as f64,
            Field::CostDelayThisTxOneTick => tx.remaining as f64 * rates.delay_cost_per_tick_per_cent,
            Field::CostOverdraftThisAmountOneTick => rates.overdraft_bps_per_tick / 10_000.0 * tx.remaining as f64,
            Field::MyQ2OutValueToCounterparty => self.flows().get(&tx.receiver).map_or(0, |f| f.0) as f64,
            Field::MyQ2InValueFromCounterparty => self.flows().get(&tx.receiver).map_or(0, |f| f.1) as f64,
            Field::MyBilateralNetQ2 => self.flows().get(&tx.receiver).map_or(0, |f| f.0 - f.1) as f64,
            Field::MyQ2OutValueTop(n) => self.tops().out.get(*n as usize - 1).map_or(0, |x| x.1) as f64,
            Field::MyQ2InValueTop(n) => self.tops().inflow.get(*n as usize - 1).copied().unwrap_or(0) as f64,
            Field::MyBilateralNetQ2Top(n) => self.tops().net.get(*n as usize - 1).copied().unwrap_or(0) as f64,
            Field::TopCptyIdHash(n) => self.tops().out.get(*n as usize - 1).map_or(0.0, |x| id_hash(&self.e.agents[x.0 as usize].id) as f64),
            Field::TxCounterpartyId => {
                let name = self.e.agents.get(tx.receiver as usize).map_or("DUMMY", |a| a.id.as_str());
                id_hash(name) as f64
            }
            // Constant in SimCash: no history of volumes or LSM runs, no guidance curve.
            Field::TxIsTopCounterparty | Field::LsmRunRateLast10Ticks | Field::SystemThroughputGuidanceFractionByTick => 0.0,
            _ => self.agent_field(f),
        }
    }

    fn agent_field(&self, f: &Field) -> f64 {
        let a = self.agent;
        let e = self.e;
        let t = e.tick;
        let tpd = e.cfg.ticks_per_day;
        let rates = &e.cfg.costs;
        let credit_headroom = a.unsecured_cap - a.credit_used();
        let progress = (t % tpd) as f64 / tpd as f64;
        match f {
            Field::Balance => a.balance as f64,
            Field::CreditLimit | Field::UnsecuredCap => a.unsecured_cap as f64,
            Field::AvailableLiquidity => a.available_liquidity() as f64,
            Field::CreditUsed => a.credit_used() as f64,
            Field::EffectiveLiquidity => (a.balance + credit_headroom) as f64,
            Field::CreditHeadroom => credit_headroom as f64,
            Field::IsUsingCredit => flag(a.balance < 0),
            Field::LiquidityBuffer | Field::IncomingExpectedCount => 0.0,
            Field::OutgoingQueueSize => a.queue1.len() as f64,
            Field::LiquidityPressure => {
                let denom = a.balance + a.unsecured_cap + a.posted_collateral;
                if denom == 0 { 1.0 } else { 1.0 - a.balance.max(0) as f64 / denom as f64 }
            }
            Field::IsOverdraftCapped => 1.0,
            Field::Queue1TotalValue => self.queue1_value() as f64,
            Field::Queue1LiquidityGap => (self.queue1_value() - a.available_liquidity()).max(0) as f64,
            Field::Headroom => (a.available_liquidity() - self.queue1_value()) as f64,
            Field::RtgsQueueSize | Field::Queue2Size => e.queue2.len() as f64,
            Field::RtgsQueueValue => self.queue2_value() as f64,
            Field::Queue2CountForAgent => self.queue2().0 as f64,
            Field::Queue2NearestDeadline => self.queue2().1.map_or(usize::MAX as f64, |d| d as f64),
            Field::TicksToNearestQueue2Deadline => self.queue2().1.map_or(f64::INFINITY, |d| d.saturating_sub(t) as f64),
            Field::PostedCollateral => a.posted_collateral as f64,
            Field::MaxCollateralCapacity => a.max_collateral_capacity() as f64,
            Field::RemainingCollateralCapacity => a.remaining_collateral_capacity() as f64,
            Field::CollateralUtilization => {
                let max = a.max_collateral_capacity() as f64;
                if max > 0.0 { a.posted_collateral as f64 / max } else { 0.0 }
            }
            Field::CollateralHaircut => a.collateral_haircut,
            Field::AllowedOverdraftLimit => a.allowed_overdraft_limit() as f64,
            Field::OverdraftHeadroom => (a.allowed_overdraft_limit() - a.credit_used()) as f64,
            Field::OverdraftUtilization => {
                let limit = a.allowed_overdraft_limit() as f64;
                if limit > 0.0 { a.credit_used() as f64 / limit } else { 0.0 }
            }
            Field::RequiredCollateralForUsage => required_collateral(a),
            Field::ExcessCollateral => (a.posted_collateral as f64 - required_collateral(a)).max(0.0),
            Field::CostOverdraftBpsPerTick => rates.overdraft_bps_per_tick,
            Field::CostDelayPerTickPerCent => rates.delay_cost_per_tick_per_cent,
            Field::CostCollateralBpsPerTick => rates.collateral_cost_per_tick_bps,
            Field::CostSplitFriction => rates.split_friction_cost as f64,
            Field::CostDeadlinePenalty => rates.deadline_penalty.resolve(0) as f64,
            Field::CostEodPenalty => rates.eod_penalty.resolve(0) as f64,
            Field::CurrentTick => t as f64,
            Field::SystemTicksPerDay => tpd as f64,
            Field::SystemCurrentDay => (t / tpd) as f64,
            Field::SystemTickInDay => (t % tpd) as f64,
            Field::TicksRemainingInDay => tpd.saturating_sub(t % tpd).saturating_sub(1) as f64,
            Field::DayProgressFraction | Field::ExpectedThroughputFractionByNow => progress,
            Field::IsEodRush => flag(progress >= e.cfg.extensions.eod_rush_threshold),
            Field::TotalAgents => e.agents.len() as f64,
            Field::SystemQueue2PressureIndex => {
                let (q, n) = (e.queue2.len(), e.agents.len());
                if q == 0 || n == 0 { 0.0 } else { (1.0 / (1.0 + (-2.0 * q as f64 / (n * 10) as f64).exp())).min(1.0) }
            }
            Field::MyThroughputFractionToday => throughput(a),
            Field::ThroughputGap => throughput(a) - progress,
            Field::Register(k) => a.register(k),
            // Payment fields never reach here in a bank context (validation rejects them).
            _ => 0.0,
        }
    }
}

fn throughput(a: &Agent) -> f64 {
    if a.sent_value > 0 { a.sent_settled_value as f64 / a.sent_value as f64 } else { 0.0 }
}

fn required_collateral(a: &Agent) -> f64 {
    if a.collateral_haircut >= 1.0 {
        return 0.0;
    }
    let used = a.credit_used();
    let beyond = used - a.unsecured_cap.min(used);
    (beyond as f64 / (1.0 - a.collateral_haircut).max(0.0)).ceil()
}

impl Context for PolicyContext<'_> {
    fn field(&self, f: &Field) -> f64 {
        match self.tx {
            Some(tx) => self.tx_field(tx, f),
            None => self.agent_field(f),
        }
    }
}
