//! Engine state: agents and transactions.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::{ArrivalConfig, Cents};
use super::event::{AgentIdx, CostBreakdown, RtgsPriority, TxId};
use super::policy::Policy;

/// One payment.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Deterministic id (creation order).
    pub id: TxId,
    /// Payer.
    pub sender: AgentIdx,
    /// Payee.
    pub receiver: AgentIdx,
    /// Original amount.
    pub amount: Cents,
    /// Amount not yet settled.
    pub remaining: Cents,
    /// Tick of arrival.
    pub arrival_tick: u32,
    /// Deadline tick (always > arrival).
    pub deadline: u32,
    /// Internal bank priority 0–10.
    pub priority: u8,
    /// Priority at arrival.
    pub original_priority: u8,
    /// Set while submitted to RTGS (in Queue 2 or pending settlement).
    pub rtgs_priority: Option<RtgsPriority>,
    /// Tick of the RTGS submission.
    pub rtgs_submission_tick: Option<u32>,
    /// Priority declared by ResubmitToRtgs, used at the next submission.
    pub declared_rtgs_priority: Option<RtgsPriority>,
    /// Parent transaction for split children.
    pub parent: Option<TxId>,
    /// Tick of settlement, once settled.
    pub settled_tick: Option<u32>,
    /// Tick at which the payment became overdue.
    pub overdue_since: Option<u32>,
    /// Dropped by a policy: never settles.
    pub dropped: bool,
}

impl Transaction {
    /// A new, unsubmitted payment.
    pub fn new(id: TxId, sender: AgentIdx, receiver: AgentIdx, amount: Cents, arrival_tick: u32, deadline: u32, priority: u8) -> Self {
        Transaction {
            id,
            sender,
            receiver,
            amount,
            remaining: amount,
            arrival_tick,
            deadline,
            priority,
            original_priority: priority,
            rtgs_priority: None,
            rtgs_submission_tick: None,
            declared_rtgs_priority: None,
            parent: None,
            settled_tick: None,
            overdue_since: None,
            dropped: false,
        }
    }

    /// Whether the transaction is fully settled.
    pub fn is_settled(&self) -> bool {
        self.settled_tick.is_some()
    }
}

/// Generated-arrival state of one agent.
#[derive(Debug, Clone)]
pub struct ArrivalState {
    /// Configuration (deadline range may be rescaled by scenario events).
    pub config: ArrivalConfig,
    /// Current Poisson rate.
    pub rate: f64,
    /// Base rate that GlobalArrivalRateChange multiplies.
    pub base_rate: f64,
    /// Counterparty candidates in configuration order with their weights.
    pub candidates: Vec<(AgentIdx, f64)>,
    /// Whether weights were given (else a uniform draw).
    pub weighted: bool,
}

/// One bank.
#[derive(Debug)]
pub struct Agent {
    /// Unique id.
    pub id: String,
    /// Settlement-account balance (may be negative).
    pub balance: Cents,
    /// Unsecured overdraft limit.
    pub unsecured_cap: Cents,
    /// Collateral pledged.
    pub posted_collateral: Cents,
    /// Collateral haircut.
    pub collateral_haircut: f64,
    /// Explicit collateral capacity, if configured.
    pub max_collateral_capacity: Option<Cents>,
    /// External liquidity pool.
    pub liquidity_pool: Option<Cents>,
    /// Pool liquidity currently inside the balance.
    pub allocated_liquidity: Cents,
    /// Queue 1 (bank-internal), insertion order.
    pub queue1: Vec<TxId>,
    /// This agent's Queue-2 transactions in Queue-2 order, rebuilt once per tick after the LSM.
    pub queue2_index: Vec<TxId>,
    /// Costs accrued today.
    pub day_costs: CostBreakdown,
    /// Costs accrued over the whole run.
    pub total_costs: CostBreakdown,
    /// Generated arrival streams: the legacy config, or one per priority band.
    pub arrivals: Vec<ArrivalState>,
    /// Payment policy.
    pub policy: Policy,
    /// Release budget set by the bank tree this tick.
    pub budget: ReleaseBudget,
    /// Collateral auto-withdrawal timers: tick → timers due then, in posting order.
    pub collateral_timers: BTreeMap<u32, Vec<CollateralTimer>>,
    /// `bank_state_*` registers in order of first use (at most 10); reset at end of day.
    pub registers: Vec<(Arc<str>, f64)>,
    /// Σ amount of every payment this agent ever sent (split children included, as SimCash).
    pub sent_value: Cents,
    /// Σ settled amount of those payments.
    pub sent_settled_value: Cents,
}

/// The per-tick release budget (`SetReleaseBudget`); unlimited unless the bank tree set one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseBudget {
    /// Value that may still be released this tick; `None` is unlimited.
    pub remaining: Option<Cents>,
    /// Only payments to these counterparties may be released.
    pub focus: Option<Vec<AgentIdx>>,
    /// Cap per counterparty, with what each has used: (cap, used by counterparty).
    pub per_counterparty: Option<(Cents, BTreeMap<AgentIdx, Cents>)>,
}

impl ReleaseBudget {
    /// Consumes budget for releasing `amount` to `receiver`; false when the budget forbids it.
    pub fn take(&mut self, receiver: AgentIdx, amount: Cents) -> bool {
        if self.focus.as_ref().is_some_and(|f| !f.contains(&receiver)) {
            return false;
        }
        if self.remaining.is_some_and(|r| amount > r) {
            return false;
        }
        if let Some((cap, used)) = &self.per_counterparty
            && used.get(&receiver).copied().unwrap_or(0) + amount > *cap
        {
            return false;
        }
        if let Some(r) = &mut self.remaining {
            *r -= amount;
        }
        if let Some((_, used)) = &mut self.per_counterparty {
            *used.entry(receiver).or_default() += amount;
        }
        true
    }
}

/// A scheduled automatic collateral withdrawal.
#[derive(Debug, Clone, PartialEq)]
pub struct CollateralTimer {
    /// Amount to withdraw.
    pub amount: Cents,
    /// The posting's reason.
    pub reason: Arc<str>,
    /// Tick of the posting.
    pub posted_at_tick: u32,
}

impl Agent {
    /// `max(0, -balance)`.
    pub fn credit_used(&self) -> Cents {
        (-self.balance).max(0)
    }

    /// Posted collateral after haircut.
    pub fn collateral_capacity(&self) -> Cents {
        (self.posted_collateral as f64 * (1.0 - self.collateral_haircut).max(0.0)).floor() as Cents
    }

    /// Collateral capacity plus unsecured cap.
    pub fn allowed_overdraft_limit(&self) -> Cents {
        self.collateral_capacity() + self.unsecured_cap
    }

    /// Liquidity usable for a payment: positive balance plus unused overdraft.
    pub fn available_liquidity(&self) -> Cents {
        self.balance.max(0) + (self.unsecured_cap + self.collateral_capacity() - self.credit_used()).max(0)
    }

    /// The RTGS liquidity test.
    pub fn can_pay(&self, amount: Cents) -> bool {
        amount <= self.available_liquidity()
    }

    /// `max_collateral_capacity − posted_collateral` (may be negative).
    pub fn remaining_collateral_capacity(&self) -> Cents {
        self.max_collateral_capacity() - self.posted_collateral
    }

    /// A register's value (0 until set).
    pub fn register(&self, key: &str) -> f64 {
        self.registers.iter().find(|(k, _)| &**k == key).map_or(0.0, |(_, v)| *v)
    }

    /// Effective collateral capacity bound (defaults to 10 × unsecured cap).
    pub fn max_collateral_capacity(&self) -> Cents {
        self.max_collateral_capacity.unwrap_or(self.unsecured_cap * 10)
    }
}
