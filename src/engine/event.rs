//! The event stream: one typed event per state change, in emission order.
//!
//! Variant and field names follow SimCash (ENGINE-SPEC §8) so streams compare event for event;
//! extension variants cover state changes that SimCash makes silently (Q-4).

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::config::Cents;

/// Index of an agent in sorted-id order.
pub type AgentIdx = u32;

/// Deterministic transaction id: creation order, rendered `tx-00000001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxId(pub u32);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx-{:08}", self.0 + 1)
    }
}

impl TxId {
    /// Parses the rendered form back (`tx-00000001` → `TxId(0)`).
    pub fn parse(s: &str) -> Option<TxId> {
        let n: u32 = s.strip_prefix("tx-")?.parse().ok()?;
        n.checked_sub(1).map(TxId)
    }
}

/// RTGS (Queue 2) priority class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RtgsPriority {
    /// Highest.
    HighlyUrgent,
    /// Middle.
    Urgent,
    /// Default.
    Normal,
}

impl RtgsPriority {
    /// SimCash's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RtgsPriority::HighlyUrgent => "HighlyUrgent",
            RtgsPriority::Urgent => "Urgent",
            RtgsPriority::Normal => "Normal",
        }
    }

    /// Parses SimCash's name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "HighlyUrgent" => Some(RtgsPriority::HighlyUrgent),
            "Urgent" => Some(RtgsPriority::Urgent),
            "Normal" => Some(RtgsPriority::Normal),
            _ => None,
        }
    }
}

/// Cost components of one accrual (cents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CostBreakdown {
    /// Overdraft cost.
    pub liquidity_cost: Cents,
    /// Delay cost.
    pub delay_cost: Cents,
    /// Collateral cost.
    pub collateral_cost: Cents,
    /// Deadline and end-of-day penalties.
    pub penalty_cost: Cents,
    /// Split friction.
    pub split_friction_cost: Cents,
    /// Opportunity cost of allocated pool liquidity (not in SimCash's dict, Q-15).
    pub liquidity_opportunity_cost: Cents,
}

impl CostBreakdown {
    /// Sum of all six components.
    pub fn total(&self) -> Cents {
        self.liquidity_cost + self.delay_cost + self.collateral_cost + self.penalty_cost + self.split_friction_cost + self.liquidity_opportunity_cost
    }

    /// Adds another breakdown component-wise.
    pub fn add(&mut self, o: &CostBreakdown) {
        self.liquidity_cost += o.liquidity_cost;
        self.delay_cost += o.delay_cost;
        self.collateral_cost += o.collateral_cost;
        self.penalty_cost += o.penalty_cost;
        self.split_friction_cost += o.split_friction_cost;
        self.liquidity_opportunity_cost += o.liquidity_opportunity_cost;
    }
}

/// Why a policy held a payment (SimCash renders the Rust Debug form).
#[derive(Debug, Clone, PartialEq)]
pub enum HoldReason {
    /// Not enough liquidity.
    InsufficientLiquidity,
    /// Waiting for incoming payments.
    AwaitingInflows,
    /// Low priority.
    LowPriority,
    /// Deadline is near.
    NearDeadline {
        /// Ticks to deadline, floored at 0.
        ticks_remaining: u32,
    },
    /// The release budget does not cover the payment (written plainly, not as `Custom`).
    BudgetExhausted,
    /// A reason the engine writes as plain text (e.g. a failed `WithdrawFromRtgs`).
    Engine(Arc<str>),
    /// A policy's own reason text.
    Custom(Arc<str>),
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::InsufficientLiquidity => f.write_str("InsufficientLiquidity"),
            HoldReason::AwaitingInflows => f.write_str("AwaitingInflows"),
            HoldReason::LowPriority => f.write_str("LowPriority"),
            HoldReason::NearDeadline { ticks_remaining } => {
                write!(f, "NearDeadline {{ ticks_remaining: {ticks_remaining} }}")
            }
            HoldReason::BudgetExhausted => f.write_str("BudgetExhausted"),
            HoldReason::Engine(s) => f.write_str(s),
            HoldReason::Custom(s) => write!(f, "Custom({s:?})"),
        }
    }
}

/// One event: the tick it happened in and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Tick of emission.
    pub tick: u32,
    /// The payload.
    pub kind: EventKind,
}

/// Every event the engine emits. Field names are SimCash's.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Arrival {
        tx_id: TxId,
        sender_id: AgentIdx,
        receiver_id: AgentIdx,
        amount: Cents,
        deadline: u32,
        priority: u8,
        is_divisible: bool,
    },
    PolicySubmit {
        agent_id: AgentIdx,
        tx_id: TxId,
    },
    PolicyHold {
        agent_id: AgentIdx,
        tx_id: TxId,
        reason: HoldReason,
    },
    PolicyDrop {
        agent_id: AgentIdx,
        tx_id: TxId,
        reason: Arc<str>,
    },
    PolicySplit {
        agent_id: AgentIdx,
        tx_id: TxId,
        num_splits: u32,
        child_ids: Vec<TxId>,
    },
    TransactionReprioritized {
        agent_id: AgentIdx,
        tx_id: TxId,
        old_priority: u8,
        new_priority: u8,
    },
    PriorityEscalated {
        tx_id: TxId,
        sender_id: AgentIdx,
        original_priority: u8,
        escalated_priority: u8,
        ticks_until_deadline: i64,
        boost_applied: u8,
    },
    RtgsSubmission {
        tx_id: TxId,
        sender: AgentIdx,
        receiver: AgentIdx,
        amount: Cents,
        internal_priority: u8,
        rtgs_priority: RtgsPriority,
    },
    RtgsWithdrawal {
        tx_id: TxId,
        sender: AgentIdx,
        original_rtgs_priority: RtgsPriority,
    },
    RtgsResubmission {
        tx_id: TxId,
        sender: AgentIdx,
        old_rtgs_priority: Option<RtgsPriority>,
        new_rtgs_priority: RtgsPriority,
    },
    BankBudgetSet {
        agent_id: AgentIdx,
        max_value: Cents,
        focus_counterparties: Option<Vec<AgentIdx>>,
        max_per_counterparty: Option<Cents>,
    },
    StateRegisterSet {
        agent_id: AgentIdx,
        register_key: Arc<str>,
        old_value: f64,
        new_value: f64,
        reason: Arc<str>,
        decision_path: Option<Arc<str>>,
    },
    CollateralPost {
        agent_id: AgentIdx,
        amount: Cents,
        reason: Arc<str>,
        new_total: Cents,
    },
    CollateralWithdraw {
        agent_id: AgentIdx,
        amount: Cents,
        reason: Arc<str>,
        new_total: Cents,
    },
    CollateralTimerWithdrawn {
        agent_id: AgentIdx,
        amount: Cents,
        original_reason: Arc<str>,
        posted_at_tick: u32,
        new_total: Cents,
    },
    CollateralTimerBlocked {
        agent_id: AgentIdx,
        requested_amount: Cents,
        reason: Arc<str>,
        original_reason: Arc<str>,
        posted_at_tick: u32,
    },
    /// `tx_id` is `None` for a ScheduledSettlement scenario event (SimCash's synthetic id).
    RtgsImmediateSettlement {
        tx_id: Option<TxId>,
        sender: AgentIdx,
        receiver: AgentIdx,
        amount: Cents,
        sender_balance_before: Cents,
        sender_balance_after: Cents,
    },
    QueuedRtgs {
        tx_id: TxId,
        sender_id: AgentIdx,
    },
    Queue2LiquidityRelease {
        tx_id: TxId,
        sender: AgentIdx,
        receiver: AgentIdx,
        amount: Cents,
        queue_wait_ticks: i64,
    },
    /// `settled` is an extension field: SimCash emits the event for infeasible pairs too (Q-2).
    LsmBilateralOffset {
        agent_a: AgentIdx,
        agent_b: AgentIdx,
        amount_a: Cents,
        amount_b: Cents,
        tx_ids: Vec<TxId>,
        settled: bool,
    },
    /// Extension: a bilateral pair settled on a later LSM round of the tick, after SimCash's
    /// one event per pair and tick was already emitted unsettled.
    LsmBilateralSettlement {
        agent_a: AgentIdx,
        agent_b: AgentIdx,
        amount_a: Cents,
        amount_b: Cents,
        tx_ids: Vec<TxId>,
    },
    LsmCycleSettlement {
        agents: Vec<AgentIdx>,
        tx_amounts: Vec<Cents>,
        total_value: Cents,
        net_positions: Vec<Cents>,
        max_net_outflow: Cents,
        max_net_outflow_agent: Option<AgentIdx>,
        tx_ids: Vec<TxId>,
    },
    EntryDispositionOffset {
        incoming_tx_id: TxId,
        queued_tx_id: TxId,
        agent_a: AgentIdx,
        agent_b: AgentIdx,
        offset_amount: Cents,
        incoming_amount: Cents,
        queued_amount: Cents,
    },
    AlgorithmExecution {
        algorithm: u8,
        success: bool,
        settlements: u32,
        settled_value: Cents,
    },
    BilateralLimitExceeded {
        sender: AgentIdx,
        receiver: AgentIdx,
        tx_id: TxId,
        amount: Cents,
        current_bilateral_outflow: Cents,
        bilateral_limit: Cents,
    },
    MultilateralLimitExceeded {
        sender: AgentIdx,
        tx_id: TxId,
        amount: Cents,
        current_total_outflow: Cents,
        multilateral_limit: Cents,
    },
    CostAccrual {
        agent_id: AgentIdx,
        costs: CostBreakdown,
    },
    TransactionWentOverdue {
        tx_id: TxId,
        sender_id: AgentIdx,
        receiver_id: AgentIdx,
        amount: Cents,
        remaining_amount: Cents,
        deadline_tick: u32,
        ticks_overdue: u32,
        deadline_penalty_cost: Cents,
    },
    OverdueTransactionSettled {
        tx_id: TxId,
        sender_id: AgentIdx,
        receiver_id: AgentIdx,
        amount: Cents,
        settled_amount: Cents,
        deadline_tick: u32,
        overdue_since_tick: u32,
        total_ticks_overdue: u32,
        deadline_penalty_cost: Cents,
        estimated_delay_cost: Cents,
    },
    /// `details_json` holds SimCash's details with keys sorted; tx ids in it are rendered.
    ScenarioEventExecuted {
        scenario_event_type: &'static str,
        details_json: String,
    },
    EndOfDay {
        day: u32,
        unsettled_count: u32,
        total_penalties: Cents,
    },
    DeferredCreditApplied {
        agent_id: AgentIdx,
        amount: Cents,
        source_transactions: Vec<TxId>,
    },
    LiquidityAllocation {
        day: u32,
        agent_id: AgentIdx,
        fraction: f64,
        amount: Cents,
        balance_after: Cents,
    },
    LiquidityReturn {
        agent_id: AgentIdx,
        amount: Cents,
        balance_after: Cents,
    },
    /// Extension (Q-4): a Queue-2 payment settled by the LSM's internal queue pass, which
    /// SimCash settles without an event and with immediate crediting.
    LsmQueue2Settlement {
        tx_id: TxId,
        sender: AgentIdx,
        receiver: AgentIdx,
        amount: Cents,
        sender_balance_after: Cents,
    },
}

impl EventKind {
    /// The event type name (SimCash's variant name, or the extension's).
    pub fn name(&self) -> &'static str {
        EVENT_TYPES[self.type_index()]
    }

    /// The position of the event type in [`EVENT_TYPES`] (a small integer key for columnar
    /// encodings).
    pub fn type_index(&self) -> usize {
        use EventKind::*;
        match self {
            Arrival { .. } => 0,
            PolicySubmit { .. } => 1,
            PolicyHold { .. } => 2,
            PolicyDrop { .. } => 3,
            PolicySplit { .. } => 4,
            TransactionReprioritized { .. } => 5,
            PriorityEscalated { .. } => 6,
            RtgsSubmission { .. } => 7,
            RtgsWithdrawal { .. } => 8,
            RtgsResubmission { .. } => 9,
            BankBudgetSet { .. } => 10,
            StateRegisterSet { .. } => 11,
            CollateralPost { .. } => 12,
            CollateralWithdraw { .. } => 13,
            CollateralTimerWithdrawn { .. } => 14,
            CollateralTimerBlocked { .. } => 15,
            RtgsImmediateSettlement { .. } => 16,
            QueuedRtgs { .. } => 17,
            Queue2LiquidityRelease { .. } => 18,
            LsmBilateralOffset { .. } => 19,
            LsmCycleSettlement { .. } => 20,
            EntryDispositionOffset { .. } => 21,
            AlgorithmExecution { .. } => 22,
            BilateralLimitExceeded { .. } => 23,
            MultilateralLimitExceeded { .. } => 24,
            CostAccrual { .. } => 25,
            TransactionWentOverdue { .. } => 26,
            OverdueTransactionSettled { .. } => 27,
            ScenarioEventExecuted { .. } => 28,
            EndOfDay { .. } => 29,
            DeferredCreditApplied { .. } => 30,
            LiquidityAllocation { .. } => 31,
            LiquidityReturn { .. } => 32,
            LsmQueue2Settlement { .. } => 33,
            LsmBilateralSettlement { .. } => 34,
        }
    }
}

/// Every event type name, SimCash's and the extensions.
pub const EVENT_TYPES: &[&str] = &[
    "Arrival",
    "PolicySubmit",
    "PolicyHold",
    "PolicyDrop",
    "PolicySplit",
    "TransactionReprioritized",
    "PriorityEscalated",
    "RtgsSubmission",
    "RtgsWithdrawal",
    "RtgsResubmission",
    "BankBudgetSet",
    "StateRegisterSet",
    "CollateralPost",
    "CollateralWithdraw",
    "CollateralTimerWithdrawn",
    "CollateralTimerBlocked",
    "RtgsImmediateSettlement",
    "QueuedRtgs",
    "Queue2LiquidityRelease",
    "LsmBilateralOffset",
    "LsmCycleSettlement",
    "EntryDispositionOffset",
    "AlgorithmExecution",
    "BilateralLimitExceeded",
    "MultilateralLimitExceeded",
    "CostAccrual",
    "TransactionWentOverdue",
    "OverdueTransactionSettled",
    "ScenarioEventExecuted",
    "EndOfDay",
    "DeferredCreditApplied",
    "LiquidityAllocation",
    "LiquidityReturn",
    "LsmQueue2Settlement",
    "LsmBilateralSettlement",
];

/// SimCash's synthetic transaction id for a ScheduledSettlement.
pub fn scheduled_settlement_id(from: &str, to: &str, amount: Cents, tick: u32) -> String {
    format!("scheduled_settlement_{from}_{to}_{amount}_{tick}")
}

impl Event {
    /// SimCash's event dict form: `event_type`, `tick`, then the fields. `names` maps agent
    /// indices to ids.
    pub fn to_json(&self, names: &[String]) -> Map<String, Value> {
        use EventKind::*;
        let a = |i: &AgentIdx| Value::String(names[*i as usize].clone());
        let t = |id: &TxId| Value::String(id.to_string());
        let ts = |ids: &[TxId]| Value::Array(ids.iter().map(|i| Value::String(i.to_string())).collect());
        let s = |x: &str| Value::String(x.to_owned());
        let mut m = Map::new();
        m.insert("event_type".into(), s(self.kind.name()));
        m.insert("tick".into(), json!(self.tick));
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        match &self.kind {
            Arrival { tx_id, sender_id, receiver_id, amount, deadline, priority, is_divisible } => {
                put("tx_id", t(tx_id));
                put("sender_id", a(sender_id));
                put("receiver_id", a(receiver_id));
                put("amount", json!(amount));
                put("deadline", json!(deadline));
                put("priority", json!(priority));
                put("is_divisible", json!(is_divisible));
            }
            PolicySubmit { agent_id, tx_id } => {
                put("agent_id", a(agent_id));
                put("tx_id", t(tx_id));
            }
            PolicyHold { agent_id, tx_id, reason } => {
                put("agent_id", a(agent_id));
                put("tx_id", t(tx_id));
                put("reason", s(&reason.to_string()));
            }
            PolicyDrop { agent_id, tx_id, reason } => {
                put("agent_id", a(agent_id));
                put("tx_id", t(tx_id));
                put("reason", s(reason));
            }
            PolicySplit { agent_id, tx_id, num_splits, child_ids } => {
                put("agent_id", a(agent_id));
                put("tx_id", t(tx_id));
                put("num_splits", json!(num_splits));
                put("child_ids", ts(child_ids));
            }
            TransactionReprioritized { agent_id, tx_id, old_priority, new_priority } => {
                put("agent_id", a(agent_id));
                put("tx_id", t(tx_id));
                put("old_priority", json!(old_priority));
                put("new_priority", json!(new_priority));
            }
            PriorityEscalated { tx_id, sender_id, original_priority, escalated_priority, ticks_until_deadline, boost_applied } => {
                put("tx_id", t(tx_id));
                put("sender_id", a(sender_id));
                put("original_priority", json!(original_priority));
                put("escalated_priority", json!(escalated_priority));
                put("ticks_until_deadline", json!(ticks_until_deadline));
                put("boost_applied", json!(boost_applied));
            }
            RtgsSubmission { tx_id, sender, receiver, amount, internal_priority, rtgs_priority } => {
                put("tx_id", t(tx_id));
                put("sender", a(sender));
                put("receiver", a(receiver));
                put("amount", json!(amount));
                put("internal_priority", json!(internal_priority));
                put("rtgs_priority", s(rtgs_priority.as_str()));
            }
            RtgsWithdrawal { tx_id, sender, original_rtgs_priority } => {
                put("tx_id", t(tx_id));
                put("sender", a(sender));
                put("original_rtgs_priority", s(original_rtgs_priority.as_str()));
            }
            RtgsResubmission { tx_id, sender, old_rtgs_priority, new_rtgs_priority } => {
                put("tx_id", t(tx_id));
                put("sender", a(sender));
                put("old_rtgs_priority", s(old_rtgs_priority.map_or("None", RtgsPriority::as_str)));
                put("new_rtgs_priority", s(new_rtgs_priority.as_str()));
            }
            BankBudgetSet { agent_id, max_value, focus_counterparties, max_per_counterparty } => {
                put("agent_id", a(agent_id));
                put("max_value", json!(max_value));
                put("focus_counterparties", focus_counterparties.as_ref().map_or(Value::Null, |v| Value::Array(v.iter().map(a).collect())));
                put("max_per_counterparty", json!(max_per_counterparty));
            }
            StateRegisterSet { agent_id, register_key, old_value, new_value, reason, decision_path } => {
                put("agent_id", a(agent_id));
                put("register_key", s(register_key));
                put("old_value", json!(old_value));
                put("new_value", json!(new_value));
                put("reason", s(reason));
                put("decision_path", decision_path.as_deref().map_or(Value::Null, s));
            }
            CollateralPost { agent_id, amount, reason, new_total } | CollateralWithdraw { agent_id, amount, reason, new_total } => {
                put("agent_id", a(agent_id));
                put("amount", json!(amount));
                put("reason", s(reason));
                put("new_total", json!(new_total));
            }
            CollateralTimerWithdrawn { agent_id, amount, original_reason, posted_at_tick, new_total } => {
                put("agent_id", a(agent_id));
                put("amount", json!(amount));
                put("original_reason", s(original_reason));
                put("posted_at_tick", json!(posted_at_tick));
                put("new_total", json!(new_total));
            }
            CollateralTimerBlocked { agent_id, requested_amount, reason, original_reason, posted_at_tick } => {
                put("agent_id", a(agent_id));
                put("requested_amount", json!(requested_amount));
                put("reason", s(reason));
                put("original_reason", s(original_reason));
                put("posted_at_tick", json!(posted_at_tick));
            }
            RtgsImmediateSettlement { tx_id, sender, receiver, amount, sender_balance_before, sender_balance_after } => {
                let id = match tx_id {
                    Some(id) => id.to_string(),
                    None => scheduled_settlement_id(&names[*sender as usize], &names[*receiver as usize], *amount, self.tick),
                };
                put("tx_id", s(&id));
                put("sender", a(sender));
                put("receiver", a(receiver));
                put("amount", json!(amount));
                put("sender_balance_before", json!(sender_balance_before));
                put("sender_balance_after", json!(sender_balance_after));
            }
            QueuedRtgs { tx_id, sender_id } => {
                put("tx_id", t(tx_id));
                put("sender_id", a(sender_id));
            }
            Queue2LiquidityRelease { tx_id, sender, receiver, amount, queue_wait_ticks } => {
                put("tx_id", t(tx_id));
                put("sender", a(sender));
                put("receiver", a(receiver));
                put("amount", json!(amount));
                put("queue_wait_ticks", json!(queue_wait_ticks));
                put("release_reason", s("liquidity_available"));
            }
            LsmBilateralOffset { agent_a, agent_b, amount_a, amount_b, tx_ids, settled } => {
                put("agent_a", a(agent_a));
                put("agent_b", a(agent_b));
                put("tx_ids", ts(tx_ids));
                put("amount_a", json!(amount_a));
                put("amount_b", json!(amount_b));
                put("amount", json!(amount_a + amount_b));
                put("settled", json!(settled));
            }
            LsmBilateralSettlement { agent_a, agent_b, amount_a, amount_b, tx_ids } => {
                put("agent_a", a(agent_a));
                put("agent_b", a(agent_b));
                put("tx_ids", ts(tx_ids));
                put("amount_a", json!(amount_a));
                put("amount_b", json!(amount_b));
            }
            LsmCycleSettlement { agents, tx_amounts, total_value, net_positions, max_net_outflow, max_net_outflow_agent, tx_ids } => {
                put("agents", Value::Array(agents.iter().map(a).collect()));
                put("tx_ids", ts(tx_ids));
                put("tx_amounts", json!(tx_amounts));
                put("total_value", json!(total_value));
                put("cycle_value", json!(total_value));
                put("net_positions", json!(net_positions));
                put("max_net_outflow", json!(max_net_outflow));
                put("max_net_outflow_agent", max_net_outflow_agent.as_ref().map_or(s(""), a));
            }
            EntryDispositionOffset { incoming_tx_id, queued_tx_id, agent_a, agent_b, offset_amount, incoming_amount, queued_amount } => {
                put("incoming_tx_id", t(incoming_tx_id));
                put("queued_tx_id", t(queued_tx_id));
                put("agent_a", a(agent_a));
                put("agent_b", a(agent_b));
                put("offset_amount", json!(offset_amount));
                put("incoming_amount", json!(incoming_amount));
                put("queued_amount", json!(queued_amount));
            }
            AlgorithmExecution { algorithm, success, settlements, settled_value } => {
                put("algorithm", json!(algorithm));
                put("result", s(if *success { "Success" } else { "NoProgress" }));
                put("settlements", json!(settlements));
                put("settled_value", json!(settled_value));
            }
            BilateralLimitExceeded { sender, receiver, tx_id, amount, current_bilateral_outflow, bilateral_limit } => {
                put("sender", a(sender));
                put("receiver", a(receiver));
                put("tx_id", t(tx_id));
                put("amount", json!(amount));
                put("current_bilateral_outflow", json!(current_bilateral_outflow));
                put("bilateral_limit", json!(bilateral_limit));
            }
            MultilateralLimitExceeded { sender, tx_id, amount, current_total_outflow, multilateral_limit } => {
                put("sender", a(sender));
                put("tx_id", t(tx_id));
                put("amount", json!(amount));
                put("current_total_outflow", json!(current_total_outflow));
                put("multilateral_limit", json!(multilateral_limit));
            }
            CostAccrual { agent_id, costs } => {
                put("agent_id", a(agent_id));
                put(
                    "costs",
                    json!({
                        "liquidity_cost": costs.liquidity_cost,
                        "delay_cost": costs.delay_cost,
                        "collateral_cost": costs.collateral_cost,
                        "penalty_cost": costs.penalty_cost,
                        "split_friction_cost": costs.split_friction_cost,
                        "total": costs.total(),
                    }),
                );
                // Extension field: SimCash folds it into `total` only (Q-15).
                put("liquidity_opportunity_cost", json!(costs.liquidity_opportunity_cost));
            }
            TransactionWentOverdue { tx_id, sender_id, receiver_id, amount, remaining_amount, deadline_tick, ticks_overdue, deadline_penalty_cost } => {
                put("tx_id", t(tx_id));
                put("sender_id", a(sender_id));
                put("receiver_id", a(receiver_id));
                put("amount", json!(amount));
                put("remaining_amount", json!(remaining_amount));
                put("deadline_tick", json!(deadline_tick));
                put("ticks_overdue", json!(ticks_overdue));
                put("deadline_penalty_cost", json!(deadline_penalty_cost));
            }
            OverdueTransactionSettled {
                tx_id,
                sender_id,
                receiver_id,
                amount,
                settled_amount,
                deadline_tick,
                overdue_since_tick,
                total_ticks_overdue,
                deadline_penalty_cost,
                estimated_delay_cost,
            } => {
                put("tx_id", t(tx_id));
                put("sender_id", a(sender_id));
                put("receiver_id", a(receiver_id));
                put("amount", json!(amount));
                put("settled_amount", json!(settled_amount));
                put("deadline_tick", json!(deadline_tick));
                put("overdue_since_tick", json!(overdue_since_tick));
                put("total_ticks_overdue", json!(total_ticks_overdue));
                put("deadline_penalty_cost", json!(deadline_penalty_cost));
                put("estimated_delay_cost", json!(estimated_delay_cost));
            }
            ScenarioEventExecuted { scenario_event_type, details_json } => {
                put("scenario_event_type", s(scenario_event_type));
                put("details_json", s(details_json));
            }
            EndOfDay { day, unsettled_count, total_penalties } => {
                put("day", json!(day));
                put("unsettled_count", json!(unsettled_count));
                put("total_penalties", json!(total_penalties));
            }
            DeferredCreditApplied { agent_id, amount, source_transactions } => {
                put("agent_id", a(agent_id));
                put("amount", json!(amount));
                put("source_transactions", ts(source_transactions));
            }
            LiquidityAllocation { day, agent_id, fraction, amount, balance_after } => {
                put("day", json!(day));
                put("agent_id", a(agent_id));
                put("fraction", json!(fraction));
                put("amount", json!(amount));
                put("balance_after", json!(balance_after));
            }
            LiquidityReturn { agent_id, amount, balance_after } => {
                put("agent_id", a(agent_id));
                put("amount", json!(amount));
                put("balance_after", json!(balance_after));
            }
            LsmQueue2Settlement { tx_id, sender, receiver, amount, sender_balance_after } => {
                put("tx_id", t(tx_id));
                put("sender", a(sender));
                put("receiver", a(receiver));
                put("amount", json!(amount));
                put("sender_balance_after", json!(sender_balance_after));
            }
        }
        m
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One instance of every variant, for tests that must cover them all.
    pub(crate) fn every_variant() -> Vec<EventKind> {
        use EventKind::*;
        let t = TxId(0);
        vec![
            Arrival { tx_id: t, sender_id: 0, receiver_id: 1, amount: 5, deadline: 9, priority: 5, is_divisible: false },
            PolicySubmit { agent_id: 0, tx_id: t },
            PolicyHold { agent_id: 0, tx_id: t, reason: HoldReason::NearDeadline { ticks_remaining: 3 } },
            PolicyDrop { agent_id: 0, tx_id: t, reason: "Expired deadline".into() },
            PolicySplit { agent_id: 0, tx_id: t, num_splits: 2, child_ids: vec![TxId(1), TxId(2)] },
            TransactionReprioritized { agent_id: 0, tx_id: t, old_priority: 5, new_priority: 9 },
            PriorityEscalated { tx_id: t, sender_id: 0, original_priority: 3, escalated_priority: 5, ticks_until_deadline: 4, boost_applied: 2 },
            RtgsSubmission { tx_id: t, sender: 0, receiver: 1, amount: 5, internal_priority: 5, rtgs_priority: RtgsPriority::Normal },
            RtgsWithdrawal { tx_id: t, sender: 0, original_rtgs_priority: RtgsPriority::Urgent },
            RtgsResubmission { tx_id: t, sender: 0, old_rtgs_priority: None, new_rtgs_priority: RtgsPriority::HighlyUrgent },
            BankBudgetSet { agent_id: 0, max_value: 10, focus_counterparties: Some(vec![1]), max_per_counterparty: None },
            StateRegisterSet {
                agent_id: 0,
                register_key: "bank_state_x".into(),
                old_value: 0.0,
                new_value: 1.5,
                reason: "r".into(),
                decision_path: Some("N1(true) → A2".into()),
            },
            CollateralPost { agent_id: 0, amount: 5, reason: "UrgentLiquidityNeed".into(), new_total: 5 },
            CollateralWithdraw { agent_id: 0, amount: 5, reason: "LiquidityRestored".into(), new_total: 0 },
            CollateralTimerWithdrawn { agent_id: 0, amount: 5, original_reason: "PreemptivePosting".into(), posted_at_tick: 1, new_total: 0 },
            CollateralTimerBlocked { agent_id: 0, requested_amount: 5, reason: "No headroom".into(), original_reason: "x".into(), posted_at_tick: 1 },
            RtgsImmediateSettlement { tx_id: Some(t), sender: 0, receiver: 1, amount: 5, sender_balance_before: 10, sender_balance_after: 5 },
            QueuedRtgs { tx_id: t, sender_id: 0 },
            Queue2LiquidityRelease { tx_id: t, sender: 0, receiver: 1, amount: 5, queue_wait_ticks: 2 },
            LsmBilateralOffset { agent_a: 0, agent_b: 1, amount_a: 5, amount_b: 3, tx_ids: vec![t, TxId(1)], settled: true },
            LsmCycleSettlement {
                agents: vec![0, 1, 2, 0],
                tx_amounts: vec![5, 6, 7],
                total_value: 18,
                net_positions: vec![2, -1, -1, 2],
                max_net_outflow: 1,
                max_net_outflow_agent: Some(2),
                tx_ids: vec![t, TxId(1), TxId(2)],
            },
            EntryDispositionOffset { incoming_tx_id: t, queued_tx_id: TxId(1), agent_a: 0, agent_b: 1, offset_amount: 3, incoming_amount: 5, queued_amount: 3 },
            AlgorithmExecution { algorithm: 2, success: true, settlements: 2, settled_value: 8 },
            BilateralLimitExceeded { sender: 0, receiver: 1, tx_id: t, amount: 5, current_bilateral_outflow: 1, bilateral_limit: 4 },
            MultilateralLimitExceeded { sender: 0, tx_id: t, amount: 5, current_total_outflow: 1, multilateral_limit: 4 },
            CostAccrual { agent_id: 0, costs: CostBreakdown { delay_cost: 3, liquidity_opportunity_cost: 2, ..Default::default() } },
            TransactionWentOverdue {
                tx_id: t,
                sender_id: 0,
                receiver_id: 1,
                amount: 5,
                remaining_amount: 5,
                deadline_tick: 3,
                ticks_overdue: 1,
                deadline_penalty_cost: 7,
            },
            OverdueTransactionSettled {
                tx_id: t,
                sender_id: 0,
                receiver_id: 1,
                amount: 5,
                settled_amount: 5,
                deadline_tick: 3,
                overdue_since_tick: 4,
                total_ticks_overdue: 2,
                deadline_penalty_cost: 7,
                estimated_delay_cost: 1,
            },
            ScenarioEventExecuted { scenario_event_type: "direct_transfer", details_json: "{\"amount\":1}".into() },
            EndOfDay { day: 0, unsettled_count: 2, total_penalties: 9 },
            DeferredCreditApplied { agent_id: 1, amount: 5, source_transactions: vec![t] },
            LiquidityAllocation { day: 1, agent_id: 0, fraction: 0.5, amount: 5, balance_after: 10 },
            LiquidityReturn { agent_id: 0, amount: 5, balance_after: 5 },
            LsmQueue2Settlement { tx_id: t, sender: 0, receiver: 1, amount: 5, sender_balance_after: 0 },
            LsmBilateralSettlement { agent_a: 0, agent_b: 1, amount_a: 5, amount_b: 3, tx_ids: vec![t, TxId(1)] },
        ]
    }

    /// SimCash's field names per event type (ENGINE-SPEC §8), written from the spec.
    const SIMCASH_FIELDS: &[(&str, &str)] = &[
        ("Arrival", "tx_id sender_id receiver_id amount deadline priority is_divisible"),
        ("PolicySubmit", "agent_id tx_id"),
        ("PolicyHold", "agent_id tx_id reason"),
        ("PolicyDrop", "agent_id tx_id reason"),
        ("PolicySplit", "agent_id tx_id num_splits child_ids"),
        ("TransactionReprioritized", "agent_id tx_id old_priority new_priority"),
        ("PriorityEscalated", "tx_id sender_id original_priority escalated_priority ticks_until_deadline boost_applied"),
        ("RtgsSubmission", "tx_id sender receiver amount internal_priority rtgs_priority"),
        ("RtgsWithdrawal", "tx_id sender original_rtgs_priority"),
        ("RtgsResubmission", "tx_id sender old_rtgs_priority new_rtgs_priority"),
        ("BankBudgetSet", "agent_id max_value focus_counterparties max_per_counterparty"),
        ("StateRegisterSet", "agent_id register_key old_value new_value reason decision_path"),
        ("CollateralPost", "agent_id amount reason new_total"),
        ("CollateralWithdraw", "agent_id amount reason new_total"),
        ("CollateralTimerWithdrawn", "agent_id amount original_reason posted_at_tick new_total"),
        ("CollateralTimerBlocked", "agent_id requested_amount reason original_reason posted_at_tick"),
        ("RtgsImmediateSettlement", "tx_id sender receiver amount sender_balance_before sender_balance_after"),
        ("QueuedRtgs", "tx_id sender_id"),
        ("Queue2LiquidityRelease", "tx_id sender receiver amount queue_wait_ticks release_reason"),
        ("LsmBilateralOffset", "agent_a agent_b amount_a amount_b tx_ids amount"),
        ("LsmCycleSettlement", "agents tx_amounts total_value net_positions max_net_outflow max_net_outflow_agent tx_ids cycle_value"),
        ("EntryDispositionOffset", "incoming_tx_id queued_tx_id agent_a agent_b offset_amount incoming_amount queued_amount"),
        ("AlgorithmExecution", "algorithm result settlements settled_value"),
        ("BilateralLimitExceeded", "sender receiver tx_id amount current_bilateral_outflow bilateral_limit"),
        ("MultilateralLimitExceeded", "sender tx_id amount current_total_outflow multilateral_limit"),
        ("CostAccrual", "agent_id costs"),
        ("TransactionWentOverdue", "tx_id sender_id receiver_id amount remaining_amount deadline_tick ticks_overdue deadline_penalty_cost"),
        (
            "OverdueTransactionSettled",
            "tx_id sender_id receiver_id amount settled_amount deadline_tick overdue_since_tick total_ticks_overdue deadline_penalty_cost estimated_delay_cost",
        ),
        ("ScenarioEventExecuted", "scenario_event_type details_json"),
        ("EndOfDay", "day unsettled_count total_penalties"),
        ("DeferredCreditApplied", "agent_id amount source_transactions"),
        ("LiquidityAllocation", "day agent_id fraction amount balance_after"),
        ("LiquidityReturn", "agent_id amount balance_after"),
    ];

    #[test]
    fn every_variant_is_listed_once_and_named() {
        let names: Vec<&str> = every_variant().iter().map(EventKind::name).collect();
        assert_eq!(names, EVENT_TYPES, "EVENT_TYPES lists every variant in order");
    }

    #[test]
    fn json_form_has_simcash_field_names() {
        let names: Vec<String> = ["BANK_A", "BANK_B", "BANK_C"].map(String::from).to_vec();
        for kind in every_variant() {
            let m = Event { tick: 3, kind: kind.clone() }.to_json(&names);
            assert_eq!(m["event_type"], kind.name());
            assert_eq!(m["tick"], 3);
            if let Some((_, fields)) = SIMCASH_FIELDS.iter().find(|(n, _)| *n == kind.name()) {
                for f in fields.split(' ') {
                    assert!(m.contains_key(f), "{}: missing `{f}` in {m:?}", kind.name());
                }
            } else {
                assert!(kind.name().starts_with("Lsm"), "only LSM extensions lack a SimCash entry: {}", kind.name());
            }
        }
    }

    #[test]
    fn cost_accrual_total_includes_opportunity_cost_but_not_its_key() {
        let names = vec!["A".to_owned()];
        let m = Event { tick: 0, kind: every_variant().into_iter().find(|k| k.name() == "CostAccrual").unwrap() }.to_json(&names);
        assert_eq!(m["costs"]["total"], 5);
        assert!(m["costs"].get("liquidity_opportunity_cost").is_none(), "Q-15");
        assert_eq!(m["liquidity_opportunity_cost"], 2);
    }

    #[test]
    fn hold_reasons_render_like_rust_debug() {
        assert_eq!(HoldReason::NearDeadline { ticks_remaining: 3 }.to_string(), "NearDeadline { ticks_remaining: 3 }");
        assert_eq!(HoldReason::Custom("PreservingBuffer".into()).to_string(), "Custom(\"PreservingBuffer\")");
        assert_eq!(HoldReason::InsufficientLiquidity.to_string(), "InsufficientLiquidity");
        // SimCash writes these two as plain text, not `Custom(…)` (kit golden policy_smart_budget_manager).
        assert_eq!(HoldReason::BudgetExhausted.to_string(), "BudgetExhausted");
        assert_eq!(HoldReason::Engine("WithdrawFromRtgs failed: x".into()).to_string(), "WithdrawFromRtgs failed: x");
    }

    #[test]
    fn tx_ids_round_trip() {
        for n in [0u32, 1, 99_999_998, u32::MAX - 1] {
            assert_eq!(TxId::parse(&TxId(n).to_string()), Some(TxId(n)));
        }
        assert_eq!(TxId::parse("T1"), None);
        assert_eq!(TxId::parse("tx-00000000"), None);
    }
}
