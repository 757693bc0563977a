//! The flat form of an event: one optional slot per column of the `events` table.
//!
//! [`EventRow::from_event`] and [`EventRow::into_event`] are the only places that know how
//! each event type maps onto columns; the batch builder and reader only move rows.

use std::sync::{Arc, LazyLock};

use crate::engine::event::{AgentIdx, CostBreakdown, EVENT_TYPES, Event, EventKind, HoldReason, RtgsPriority, TxId};

/// One `events` row. Transaction ids are stored as numbers (`tx-00000007` ⇒ 7). Agents stay
/// indices into the simulation's agent ids and the event type an index into [`EVENT_TYPES`]:
/// the batch layer turns them into dictionary keys (and names back into indices) once per
/// batch rather than once per row.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventRow {
    pub seq: u64,
    pub tick: u32,
    pub day: u32,
    /// Index into [`EVENT_TYPES`].
    pub event_type: u8,
    pub agent: Option<AgentIdx>,
    pub counterparty: Option<AgentIdx>,
    pub tx: Option<u32>,
    pub amount: Option<i64>,
    pub amount_b: Option<i64>,
    pub remaining_amount: Option<i64>,
    pub deadline: Option<u32>,
    pub priority: Option<u8>,
    pub new_priority: Option<u8>,
    pub is_divisible: Option<bool>,
    pub settled: Option<bool>,
    pub reason: Option<Arc<str>>,
    pub original_reason: Option<Arc<str>>,
    pub rtgs_priority: Option<RtgsPriority>,
    pub old_rtgs_priority: Option<RtgsPriority>,
    pub balance_before: Option<i64>,
    pub balance_after: Option<i64>,
    pub new_total: Option<i64>,
    pub count: Option<u32>,
    pub ticks: Option<i64>,
    pub ref_tick: Option<u32>,
    pub fraction: Option<f64>,
    pub old_value: Option<f64>,
    pub new_value: Option<f64>,
    pub register_key: Option<Arc<str>>,
    pub decision_path: Option<Arc<str>>,
    pub liquidity_cost: Option<i64>,
    pub delay_cost: Option<i64>,
    pub collateral_cost: Option<i64>,
    pub penalty_cost: Option<i64>,
    pub split_friction_cost: Option<i64>,
    pub liquidity_opportunity_cost: Option<i64>,
    pub scenario_event_type: Option<&'static str>,
    pub details_json: Option<String>,
    pub tx_ids: Option<Vec<u32>>,
    pub agents: Option<Vec<AgentIdx>>,
    pub amounts: Option<Vec<i64>>,
    pub net_positions: Option<Vec<i64>>,
}

/// A stored row that does not decode into an event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("event row seq {seq} ({event_type}): {problem}")]
pub struct RowError {
    /// Sequence number of the row.
    pub seq: u64,
    /// Its event type.
    pub event_type: String,
    /// What is wrong.
    pub problem: String,
}

fn txn(id: TxId) -> u32 {
    id.0 + 1
}

fn txs(ids: &[TxId]) -> Vec<u32> {
    ids.iter().map(|t| txn(*t)).collect()
}

/// Scenario-event type names, interned so decoded events keep `&'static str`.
const SCENARIO_EVENT_TYPES: &[&str] = &[
    "direct_transfer",
    "custom_transaction_arrival",
    "collateral_adjustment",
    "global_arrival_rate_change",
    "agent_arrival_rate_change",
    "counterparty_weight_change",
    "deadline_window_change",
    "scheduled_settlement",
];

/// The stored text of a hold reason; the fieldless reasons share one allocation each.
fn hold_reason_text(reason: &HoldReason) -> Arc<str> {
    static FIXED: LazyLock<[Arc<str>; 4]> = LazyLock::new(|| {
        [HoldReason::InsufficientLiquidity, HoldReason::AwaitingInflows, HoldReason::LowPriority, HoldReason::BudgetExhausted].map(|r| Arc::from(r.to_string()))
    });
    match reason {
        HoldReason::InsufficientLiquidity => FIXED[0].clone(),
        HoldReason::AwaitingInflows => FIXED[1].clone(),
        HoldReason::LowPriority => FIXED[2].clone(),
        HoldReason::BudgetExhausted => FIXED[3].clone(),
        other => other.to_string().into(),
    }
}

fn costs_into(row: &mut EventRow, c: &CostBreakdown) {
    row.liquidity_cost = Some(c.liquidity_cost);
    row.delay_cost = Some(c.delay_cost);
    row.collateral_cost = Some(c.collateral_cost);
    row.penalty_cost = Some(c.penalty_cost);
    row.split_friction_cost = Some(c.split_friction_cost);
    row.liquidity_opportunity_cost = Some(c.liquidity_opportunity_cost);
}

impl EventRow {
    /// Flattens an event; `seq` is its position in the simulation's stream.
    #[inline]
    pub fn from_event(e: &Event, seq: u64, ticks_per_day: u32) -> EventRow {
        use EventKind::*;
        let n = |a: &AgentIdx| Some(*a);
        let event_type = e.kind.type_index() as u8;
        let mut r = EventRow { seq, tick: e.tick, day: e.tick / ticks_per_day, event_type, ..Default::default() };
        match &e.kind {
            Arrival { tx_id, sender_id, receiver_id, amount, deadline, priority, is_divisible } => {
                (r.tx, r.agent, r.counterparty, r.amount) = (Some(txn(*tx_id)), n(sender_id), n(receiver_id), Some(*amount));
                (r.deadline, r.priority, r.is_divisible) = (Some(*deadline), Some(*priority), Some(*is_divisible));
            }
            PolicySubmit { agent_id, tx_id } => (r.agent, r.tx) = (n(agent_id), Some(txn(*tx_id))),
            PolicyHold { agent_id, tx_id, reason } => {
                (r.agent, r.tx, r.reason) = (n(agent_id), Some(txn(*tx_id)), Some(hold_reason_text(reason)));
            }
            PolicyDrop { agent_id, tx_id, reason } => (r.agent, r.tx, r.reason) = (n(agent_id), Some(txn(*tx_id)), Some(reason.clone())),
            PolicySplit { agent_id, tx_id, num_splits, child_ids } => {
                (r.agent, r.tx, r.count, r.tx_ids) = (n(agent_id), Some(txn(*tx_id)), Some(*num_splits), Some(txs(child_ids)));
            }
            TransactionReprioritized { agent_id, tx_id, old_priority, new_priority } => {
                (r.agent, r.tx, r.priority, r.new_priority) = (n(agent_id), Some(txn(*tx_id)), Some(*old_priority), Some(*new_priority));
            }
            PriorityEscalated { tx_id, sender_id, original_priority, escalated_priority, ticks_until_deadline, boost_applied } => {
                (r.tx, r.agent, r.priority, r.new_priority) = (Some(txn(*tx_id)), n(sender_id), Some(*original_priority), Some(*escalated_priority));
                (r.ticks, r.count) = (Some(*ticks_until_deadline), Some(*boost_applied as u32));
            }
            RtgsSubmission { tx_id, sender, receiver, amount, internal_priority, rtgs_priority } => {
                (r.tx, r.agent, r.counterparty, r.amount) = (Some(txn(*tx_id)), n(sender), n(receiver), Some(*amount));
                (r.priority, r.rtgs_priority) = (Some(*internal_priority), Some(*rtgs_priority));
            }
            RtgsWithdrawal { tx_id, sender, original_rtgs_priority } => {
                (r.tx, r.agent, r.rtgs_priority) = (Some(txn(*tx_id)), n(sender), Some(*original_rtgs_priority));
            }
            RtgsResubmission { tx_id, sender, old_rtgs_priority, new_rtgs_priority } => {
                (r.tx, r.agent, r.rtgs_priority) = (Some(txn(*tx_id)), n(sender), Some(*new_rtgs_priority));
                r.old_rtgs_priority = *old_rtgs_priority;
            }
            BankBudgetSet { agent_id, max_value, focus_counterparties, max_per_counterparty } => {
                (r.agent, r.amount, r.amount_b) = (n(agent_id), Some(*max_value), *max_per_counterparty);
                r.agents = focus_counterparties.clone();
            }
            StateRegisterSet { agent_id, register_key, old_value, new_value, reason, decision_path } => {
                (r.agent, r.register_key, r.old_value, r.new_value) = (n(agent_id), Some(register_key.clone()), Some(*old_value), Some(*new_value));
                (r.reason, r.decision_path) = (Some(reason.clone()), decision_path.clone());
            }
            CollateralPost { agent_id, amount, reason, new_total } | CollateralWithdraw { agent_id, amount, reason, new_total } => {
                (r.agent, r.amount, r.reason, r.new_total) = (n(agent_id), Some(*amount), Some(reason.clone()), Some(*new_total));
            }
            CollateralTimerWithdrawn { agent_id, amount, original_reason, posted_at_tick, new_total } => {
                (r.agent, r.amount, r.original_reason) = (n(agent_id), Some(*amount), Some(original_reason.clone()));
                (r.ref_tick, r.new_total) = (Some(*posted_at_tick), Some(*new_total));
            }
            CollateralTimerBlocked { agent_id, requested_amount, reason, original_reason, posted_at_tick } => {
                (r.agent, r.amount, r.reason) = (n(agent_id), Some(*requested_amount), Some(reason.clone()));
                (r.original_reason, r.ref_tick) = (Some(original_reason.clone()), Some(*posted_at_tick));
            }
            RtgsImmediateSettlement { tx_id, sender, receiver, amount, sender_balance_before, sender_balance_after } => {
                (r.tx, r.agent, r.counterparty, r.amount) = (tx_id.map(txn), n(sender), n(receiver), Some(*amount));
                (r.balance_before, r.balance_after) = (Some(*sender_balance_before), Some(*sender_balance_after));
            }
            QueuedRtgs { tx_id, sender_id } => (r.tx, r.agent) = (Some(txn(*tx_id)), n(sender_id)),
            Queue2LiquidityRelease { tx_id, sender, receiver, amount, queue_wait_ticks } => {
                (r.tx, r.agent, r.counterparty, r.amount) = (Some(txn(*tx_id)), n(sender), n(receiver), Some(*amount));
                r.ticks = Some(*queue_wait_ticks);
            }
            LsmBilateralOffset { agent_a, agent_b, amount_a, amount_b, tx_ids, settled } => {
                (r.agent, r.counterparty, r.amount, r.amount_b) = (n(agent_a), n(agent_b), Some(*amount_a), Some(*amount_b));
                (r.tx_ids, r.settled) = (Some(txs(tx_ids)), Some(*settled));
            }
            LsmBilateralSettlement { agent_a, agent_b, amount_a, amount_b, tx_ids } => {
                (r.agent, r.counterparty, r.amount, r.amount_b) = (n(agent_a), n(agent_b), Some(*amount_a), Some(*amount_b));
                r.tx_ids = Some(txs(tx_ids));
            }
            LsmCycleSettlement { agents, tx_amounts, total_value, net_positions, max_net_outflow, max_net_outflow_agent, tx_ids } => {
                r.agents = Some(agents.clone());
                (r.amounts, r.net_positions, r.tx_ids) = (Some(tx_amounts.clone()), Some(net_positions.clone()), Some(txs(tx_ids)));
                (r.amount, r.amount_b, r.counterparty) = (Some(*total_value), Some(*max_net_outflow), max_net_outflow_agent.as_ref().and_then(n));
            }
            EntryDispositionOffset { incoming_tx_id, queued_tx_id, agent_a, agent_b, offset_amount, incoming_amount, queued_amount } => {
                (r.tx, r.tx_ids, r.agent, r.counterparty) = (Some(txn(*incoming_tx_id)), Some(vec![txn(*queued_tx_id)]), n(agent_a), n(agent_b));
                (r.amount, r.remaining_amount, r.amount_b) = (Some(*offset_amount), Some(*incoming_amount), Some(*queued_amount));
            }
            AlgorithmExecution { algorithm, success, settlements, settled_value } => {
                (r.priority, r.settled, r.count, r.amount) = (Some(*algorithm), Some(*success), Some(*settlements), Some(*settled_value));
            }
            BilateralLimitExceeded { sender, receiver, tx_id, amount, current_bilateral_outflow, bilateral_limit } => {
                (r.agent, r.counterparty, r.tx, r.amount) = (n(sender), n(receiver), Some(txn(*tx_id)), Some(*amount));
                (r.amount_b, r.remaining_amount) = (Some(*current_bilateral_outflow), Some(*bilateral_limit));
            }
            MultilateralLimitExceeded { sender, tx_id, amount, current_total_outflow, multilateral_limit } => {
                (r.agent, r.tx, r.amount) = (n(sender), Some(txn(*tx_id)), Some(*amount));
                (r.amount_b, r.remaining_amount) = (Some(*current_total_outflow), Some(*multilateral_limit));
            }
            CostAccrual { agent_id, costs } => {
                r.agent = n(agent_id);
                r.amount = Some(costs.total());
                costs_into(&mut r, costs);
            }
            TransactionWentOverdue { tx_id, sender_id, receiver_id, amount, remaining_amount, deadline_tick, ticks_overdue, deadline_penalty_cost } => {
                (r.tx, r.agent, r.counterparty, r.amount) = (Some(txn(*tx_id)), n(sender_id), n(receiver_id), Some(*amount));
                (r.remaining_amount, r.deadline) = (Some(*remaining_amount), Some(*deadline_tick));
                (r.ticks, r.penalty_cost) = (Some(*ticks_overdue as i64), Some(*deadline_penalty_cost));
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
                (r.tx, r.agent, r.counterparty, r.amount) = (Some(txn(*tx_id)), n(sender_id), n(receiver_id), Some(*amount));
                (r.remaining_amount, r.deadline, r.ref_tick) = (Some(*settled_amount), Some(*deadline_tick), Some(*overdue_since_tick));
                (r.ticks, r.penalty_cost, r.delay_cost) = (Some(*total_ticks_overdue as i64), Some(*deadline_penalty_cost), Some(*estimated_delay_cost));
            }
            ScenarioEventExecuted { scenario_event_type, details_json } => {
                (r.scenario_event_type, r.details_json) = (Some(*scenario_event_type), Some(details_json.clone()));
            }
            EndOfDay { day: _, unsettled_count, total_penalties } => {
                (r.count, r.penalty_cost) = (Some(*unsettled_count), Some(*total_penalties));
            }
            DeferredCreditApplied { agent_id, amount, source_transactions } => {
                (r.agent, r.amount, r.tx_ids) = (n(agent_id), Some(*amount), Some(txs(source_transactions)));
            }
            LiquidityAllocation { day: _, agent_id, fraction, amount, balance_after } => {
                (r.agent, r.fraction, r.amount, r.balance_after) = (n(agent_id), Some(*fraction), Some(*amount), Some(*balance_after));
            }
            LiquidityReturn { agent_id, amount, balance_after } => {
                (r.agent, r.amount, r.balance_after) = (n(agent_id), Some(*amount), Some(*balance_after));
            }
            LsmQueue2Settlement { tx_id, sender, receiver, amount, sender_balance_after } => {
                (r.tx, r.agent, r.counterparty, r.amount) = (Some(txn(*tx_id)), n(sender), n(receiver), Some(*amount));
                r.balance_after = Some(*sender_balance_after);
            }
        }
        r
    }

    /// The event type name (`"?"` for an index outside [`EVENT_TYPES`]).
    pub fn event_type_name(&self) -> &'static str {
        EVENT_TYPES.get(self.event_type as usize).copied().unwrap_or("?")
    }

    fn err(&self, problem: impl Into<String>) -> RowError {
        RowError { seq: self.seq, event_type: self.event_type_name().to_owned(), problem: problem.into() }
    }

    /// Rebuilds the event.
    pub fn into_event(self) -> Result<Event, RowError> {
        use EventKind::*;
        macro_rules! get {
            ($f:ident) => {
                self.$f.clone().ok_or_else(|| self.err(concat!("`", stringify!($f), "` is null")))?
            };
        }
        let agent = || self.agent.ok_or_else(|| self.err("`agent` is null"));
        let cpty = || self.counterparty.ok_or_else(|| self.err("`counterparty` is null"));
        let tx = || -> Result<TxId, RowError> {
            let n = self.tx.ok_or_else(|| self.err("`tx` is null"))?;
            n.checked_sub(1).map(TxId).ok_or_else(|| self.err("`tx` is 0"))
        };
        let ids = |v: Vec<u32>| -> Result<Vec<TxId>, RowError> {
            v.into_iter().map(|n| n.checked_sub(1).map(TxId).ok_or_else(|| self.err("tx id 0 in `tx_ids`"))).collect()
        };
        let kind = match self.event_type_name() {
            "Arrival" => Arrival {
                tx_id: tx()?,
                sender_id: agent()?,
                receiver_id: cpty()?,
                amount: get!(amount),
                deadline: get!(deadline),
                priority: get!(priority),
                is_divisible: get!(is_divisible),
            },
            "PolicySubmit" => PolicySubmit { agent_id: agent()?, tx_id: tx()? },
            "PolicyHold" => PolicyHold { agent_id: agent()?, tx_id: tx()?, reason: parse_hold_reason(&get!(reason)) },
            "PolicyDrop" => PolicyDrop { agent_id: agent()?, tx_id: tx()?, reason: get!(reason) },
            "PolicySplit" => PolicySplit { agent_id: agent()?, tx_id: tx()?, num_splits: get!(count), child_ids: ids(get!(tx_ids))? },
            "TransactionReprioritized" => {
                TransactionReprioritized { agent_id: agent()?, tx_id: tx()?, old_priority: get!(priority), new_priority: get!(new_priority) }
            }
            "PriorityEscalated" => PriorityEscalated {
                tx_id: tx()?,
                sender_id: agent()?,
                original_priority: get!(priority),
                escalated_priority: get!(new_priority),
                ticks_until_deadline: get!(ticks),
                boost_applied: get!(count) as u8,
            },
            "RtgsSubmission" => RtgsSubmission {
                tx_id: tx()?,
                sender: agent()?,
                receiver: cpty()?,
                amount: get!(amount),
                internal_priority: get!(priority),
                rtgs_priority: get!(rtgs_priority),
            },
            "RtgsWithdrawal" => RtgsWithdrawal { tx_id: tx()?, sender: agent()?, original_rtgs_priority: get!(rtgs_priority) },
            "RtgsResubmission" => {
                RtgsResubmission { tx_id: tx()?, sender: agent()?, old_rtgs_priority: self.old_rtgs_priority, new_rtgs_priority: get!(rtgs_priority) }
            }
            "BankBudgetSet" => {
                BankBudgetSet { agent_id: agent()?, max_value: get!(amount), focus_counterparties: self.agents.clone(), max_per_counterparty: self.amount_b }
            }
            "StateRegisterSet" => StateRegisterSet {
                agent_id: agent()?,
                register_key: get!(register_key),
                old_value: get!(old_value),
                new_value: get!(new_value),
                reason: get!(reason),
                decision_path: self.decision_path.clone(),
            },
            "CollateralPost" => CollateralPost { agent_id: agent()?, amount: get!(amount), reason: get!(reason), new_total: get!(new_total) },
            "CollateralWithdraw" => CollateralWithdraw { agent_id: agent()?, amount: get!(amount), reason: get!(reason), new_total: get!(new_total) },
            "CollateralTimerWithdrawn" => CollateralTimerWithdrawn {
                agent_id: agent()?,
                amount: get!(amount),
                original_reason: get!(original_reason),
                posted_at_tick: get!(ref_tick),
                new_total: get!(new_total),
            },
            "CollateralTimerBlocked" => CollateralTimerBlocked {
                agent_id: agent()?,
                requested_amount: get!(amount),
                reason: get!(reason),
                original_reason: get!(original_reason),
                posted_at_tick: get!(ref_tick),
            },
            "RtgsImmediateSettlement" => RtgsImmediateSettlement {
                tx_id: self.tx.map(|_| tx()).transpose()?,
                sender: agent()?,
                receiver: cpty()?,
                amount: get!(amount),
                sender_balance_before: get!(balance_before),
                sender_balance_after: get!(balance_after),
            },
            "QueuedRtgs" => QueuedRtgs { tx_id: tx()?, sender_id: agent()? },
            "Queue2LiquidityRelease" => {
                Queue2LiquidityRelease { tx_id: tx()?, sender: agent()?, receiver: cpty()?, amount: get!(amount), queue_wait_ticks: get!(ticks) }
            }
            "LsmBilateralOffset" => LsmBilateralOffset {
                agent_a: agent()?,
                agent_b: cpty()?,
                amount_a: get!(amount),
                amount_b: get!(amount_b),
                tx_ids: ids(get!(tx_ids))?,
                settled: get!(settled),
            },
            "LsmBilateralSettlement" => {
                LsmBilateralSettlement { agent_a: agent()?, agent_b: cpty()?, amount_a: get!(amount), amount_b: get!(amount_b), tx_ids: ids(get!(tx_ids))? }
            }
            "LsmCycleSettlement" => LsmCycleSettlement {
                agents: get!(agents),
                tx_amounts: get!(amounts),
                total_value: get!(amount),
                net_positions: get!(net_positions),
                max_net_outflow: get!(amount_b),
                max_net_outflow_agent: self.counterparty.as_ref().map(|_| cpty()).transpose()?,
                tx_ids: ids(get!(tx_ids))?,
            },
            "EntryDispositionOffset" => {
                let queued = ids(get!(tx_ids))?;
                EntryDispositionOffset {
                    incoming_tx_id: tx()?,
                    queued_tx_id: *queued.first().ok_or_else(|| self.err("`tx_ids` is empty"))?,
                    agent_a: agent()?,
                    agent_b: cpty()?,
                    offset_amount: get!(amount),
                    incoming_amount: get!(remaining_amount),
                    queued_amount: get!(amount_b),
                }
            }
            "AlgorithmExecution" => {
                AlgorithmExecution { algorithm: get!(priority), success: get!(settled), settlements: get!(count), settled_value: get!(amount) }
            }
            "BilateralLimitExceeded" => BilateralLimitExceeded {
                sender: agent()?,
                receiver: cpty()?,
                tx_id: tx()?,
                amount: get!(amount),
                current_bilateral_outflow: get!(amount_b),
                bilateral_limit: get!(remaining_amount),
            },
            "MultilateralLimitExceeded" => MultilateralLimitExceeded {
                sender: agent()?,
                tx_id: tx()?,
                amount: get!(amount),
                current_total_outflow: get!(amount_b),
                multilateral_limit: get!(remaining_amount),
            },
            "CostAccrual" => CostAccrual {
                agent_id: agent()?,
                costs: CostBreakdown {
                    liquidity_cost: get!(liquidity_cost),
                    delay_cost: get!(delay_cost),
                    collateral_cost: get!(collateral_cost),
                    penalty_cost: get!(penalty_cost),
                    split_friction_cost: get!(split_friction_cost),
                    liquidity_opportunity_cost: get!(liquidity_opportunity_cost),
                },
            },
            "TransactionWentOverdue" => TransactionWentOverdue {
                tx_id: tx()?,
                sender_id: agent()?,
                receiver_id: cpty()?,
                amount: get!(amount),
                remaining_amount: get!(remaining_amount),
                deadline_tick: get!(deadline),
                ticks_overdue: get!(ticks) as u32,
                deadline_penalty_cost: get!(penalty_cost),
            },
            "OverdueTransactionSettled" => OverdueTransactionSettled {
                tx_id: tx()?,
                sender_id: agent()?,
                receiver_id: cpty()?,
                amount: get!(amount),
                settled_amount: get!(remaining_amount),
                deadline_tick: get!(deadline),
                overdue_since_tick: get!(ref_tick),
                total_ticks_overdue: get!(ticks) as u32,
                deadline_penalty_cost: get!(penalty_cost),
                estimated_delay_cost: get!(delay_cost),
            },
            "ScenarioEventExecuted" => {
                let t = get!(scenario_event_type);
                ScenarioEventExecuted { scenario_event_type: t, details_json: get!(details_json) }
            }
            "EndOfDay" => EndOfDay { day: self.day, unsettled_count: get!(count), total_penalties: get!(penalty_cost) },
            "DeferredCreditApplied" => DeferredCreditApplied { agent_id: agent()?, amount: get!(amount), source_transactions: ids(get!(tx_ids))? },
            "LiquidityAllocation" => {
                LiquidityAllocation { day: self.day, agent_id: agent()?, fraction: get!(fraction), amount: get!(amount), balance_after: get!(balance_after) }
            }
            "LiquidityReturn" => LiquidityReturn { agent_id: agent()?, amount: get!(amount), balance_after: get!(balance_after) },
            "LsmQueue2Settlement" => {
                LsmQueue2Settlement { tx_id: tx()?, sender: agent()?, receiver: cpty()?, amount: get!(amount), sender_balance_after: get!(balance_after) }
            }
            other => return Err(self.err(format!("unknown event type `{other}`"))),
        };
        Ok(Event { tick: self.tick, kind })
    }
}

/// Interns a scenario event type name.
pub fn intern_scenario_event_type(s: &str) -> Option<&'static str> {
    SCENARIO_EVENT_TYPES.iter().copied().find(|t| *t == s)
}

/// The index of an event type name in [`EVENT_TYPES`].
pub fn event_type_index(s: &str) -> Option<u8> {
    EVENT_TYPES.iter().position(|t| *t == s).map(|i| i as u8)
}

/// Parses the Debug form of a hold reason back.
pub fn parse_hold_reason(s: &str) -> HoldReason {
    match s {
        "InsufficientLiquidity" => HoldReason::InsufficientLiquidity,
        "AwaitingInflows" => HoldReason::AwaitingInflows,
        "LowPriority" => HoldReason::LowPriority,
        "BudgetExhausted" => HoldReason::BudgetExhausted,
        _ => {
            if let Some(k) = s.strip_prefix("NearDeadline { ticks_remaining: ").and_then(|r| r.strip_suffix(" }"))
                && let Ok(ticks_remaining) = k.parse()
            {
                return HoldReason::NearDeadline { ticks_remaining };
            }
            if let Some(inner) = s.strip_prefix("Custom(").and_then(|r| r.strip_suffix(')'))
                && let Ok(text) = serde_json::from_str::<String>(inner)
            {
                return HoldReason::Custom(text.into());
            }
            HoldReason::Engine(s.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hold_reason_parses_back_from_its_text() {
        for r in [
            HoldReason::InsufficientLiquidity,
            HoldReason::AwaitingInflows,
            HoldReason::LowPriority,
            HoldReason::NearDeadline { ticks_remaining: 4 },
            HoldReason::BudgetExhausted,
            HoldReason::Engine("WithdrawFromRtgs failed: Transaction tx-1 not found in RTGS Queue 2".into()),
            HoldReason::Custom("PreservingBuffer".into()),
            HoldReason::Custom("has \"quotes\" and (parens)".into()),
        ] {
            assert_eq!(parse_hold_reason(&hold_reason_text(&r)), r);
        }
    }
}
