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

/// Outcome of an LSM algorithm run (SimCash's `result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmResult {
    /// Something settled.
    Success,
    /// Nothing settled.
    NoProgress,
}

/// The one description of the event types: each variant (its name is SimCash's event type,
/// or the extension's), its fields in the order of SimCash's event dict, and the `events`
/// column each field is stored in. It calls `$then!` with the table; [`EventKind`],
/// [`EventType`], [`EVENT_TYPES`] and the JSON form are generated from it here, the flat
/// row form and its reader in `store/row.rs`. Adding an event type is one entry here (plus
/// what the engine emits and the renderer prints); a column must be one of `EventRow`'s.
/// Two columns are special: `day` is the envelope's (derived from the tick, not written),
/// `costs` spreads a [`CostBreakdown`] over the cost columns and `amount` (the total).
macro_rules! event_types {
    ($then:ident) => {
        $then! {
            Arrival { tx_id: TxId => tx, sender_id: AgentIdx => agent, receiver_id: AgentIdx => counterparty, amount: Cents => amount, deadline: u32 => deadline, priority: u8 => priority, is_divisible: bool => is_divisible }
            PolicySubmit { agent_id: AgentIdx => agent, tx_id: TxId => tx }
            PolicyHold { agent_id: AgentIdx => agent, tx_id: TxId => tx, reason: HoldReason => reason }
            PolicyDrop { agent_id: AgentIdx => agent, tx_id: TxId => tx, reason: Arc<str> => reason }
            PolicySplit { agent_id: AgentIdx => agent, tx_id: TxId => tx, num_splits: u32 => count, child_ids: Vec<TxId> => tx_ids }
            TransactionReprioritized { agent_id: AgentIdx => agent, tx_id: TxId => tx, old_priority: u8 => priority, new_priority: u8 => new_priority }
            PriorityEscalated { tx_id: TxId => tx, sender_id: AgentIdx => agent, original_priority: u8 => priority, escalated_priority: u8 => new_priority, ticks_until_deadline: i64 => ticks, boost_applied: u8 => count }
            RtgsSubmission { tx_id: TxId => tx, sender: AgentIdx => agent, receiver: AgentIdx => counterparty, amount: Cents => amount, internal_priority: u8 => priority, rtgs_priority: RtgsPriority => rtgs_priority }
            RtgsWithdrawal { tx_id: TxId => tx, sender: AgentIdx => agent, original_rtgs_priority: RtgsPriority => rtgs_priority }
            RtgsResubmission { tx_id: TxId => tx, sender: AgentIdx => agent, old_rtgs_priority: Option<RtgsPriority> => old_rtgs_priority, new_rtgs_priority: RtgsPriority => rtgs_priority }
            BankBudgetSet { agent_id: AgentIdx => agent, max_value: Cents => amount, focus_counterparties: Option<Vec<AgentIdx>> => agents, max_per_counterparty: Option<Cents> => amount_b }
            StateRegisterSet { agent_id: AgentIdx => agent, register_key: Arc<str> => register_key, old_value: f64 => old_value, new_value: f64 => new_value, reason: Arc<str> => reason, decision_path: Option<Arc<str>> => decision_path }
            CollateralPost { agent_id: AgentIdx => agent, amount: Cents => amount, reason: Arc<str> => reason, new_total: Cents => new_total }
            CollateralWithdraw { agent_id: AgentIdx => agent, amount: Cents => amount, reason: Arc<str> => reason, new_total: Cents => new_total }
            CollateralTimerWithdrawn { agent_id: AgentIdx => agent, amount: Cents => amount, original_reason: Arc<str> => original_reason, posted_at_tick: u32 => ref_tick, new_total: Cents => new_total }
            CollateralTimerBlocked { agent_id: AgentIdx => agent, requested_amount: Cents => amount, reason: Arc<str> => reason, original_reason: Arc<str> => original_reason, posted_at_tick: u32 => ref_tick }
            /// `tx_id` is `None` for a ScheduledSettlement scenario event (SimCash's synthetic id).
            RtgsImmediateSettlement { tx_id: Option<TxId> => tx, sender: AgentIdx => agent, receiver: AgentIdx => counterparty, amount: Cents => amount, sender_balance_before: Cents => balance_before, sender_balance_after: Cents => balance_after }
            QueuedRtgs { tx_id: TxId => tx, sender_id: AgentIdx => agent }
            /// SimCash's dict adds `release_reason: "liquidity_available"`.
            Queue2LiquidityRelease { tx_id: TxId => tx, sender: AgentIdx => agent, receiver: AgentIdx => counterparty, amount: Cents => amount, queue_wait_ticks: i64 => ticks }
            /// `settled` is an extension field: SimCash emits the event for infeasible pairs too
            /// (Q-2). SimCash's dict adds `amount` (the sum of both sides).
            LsmBilateralOffset { agent_a: AgentIdx => agent, agent_b: AgentIdx => counterparty, tx_ids: Vec<TxId> => tx_ids, amount_a: Cents => amount, amount_b: Cents => amount_b, settled: bool => settled }
            /// SimCash's dict adds `cycle_value` (the total value again).
            LsmCycleSettlement { agents: Vec<AgentIdx> => agents, tx_ids: Vec<TxId> => tx_ids, tx_amounts: Vec<Cents> => amounts, total_value: Cents => amount, net_positions: Vec<Cents> => net_positions, max_net_outflow: Cents => amount_b, max_net_outflow_agent: Option<AgentIdx> => counterparty }
            EntryDispositionOffset { incoming_tx_id: TxId => tx, queued_tx_id: TxId => tx_ids, agent_a: AgentIdx => agent, agent_b: AgentIdx => counterparty, offset_amount: Cents => amount, incoming_amount: Cents => remaining_amount, queued_amount: Cents => amount_b }
            AlgorithmExecution { algorithm: u8 => priority, result: AlgorithmResult => settled, settlements: u32 => count, settled_value: Cents => amount }
            BilateralLimitExceeded { sender: AgentIdx => agent, receiver: AgentIdx => counterparty, tx_id: TxId => tx, amount: Cents => amount, current_bilateral_outflow: Cents => amount_b, bilateral_limit: Cents => remaining_amount }
            MultilateralLimitExceeded { sender: AgentIdx => agent, tx_id: TxId => tx, amount: Cents => amount, current_total_outflow: Cents => amount_b, multilateral_limit: Cents => remaining_amount }
            /// SimCash's `costs` dict; the opportunity cost is also its own (extension) key (Q-15).
            CostAccrual { agent_id: AgentIdx => agent, costs: CostBreakdown => costs }
            TransactionWentOverdue { tx_id: TxId => tx, sender_id: AgentIdx => agent, receiver_id: AgentIdx => counterparty, amount: Cents => amount, remaining_amount: Cents => remaining_amount, deadline_tick: u32 => deadline, ticks_overdue: u32 => ticks, deadline_penalty_cost: Cents => penalty_cost }
            OverdueTransactionSettled { tx_id: TxId => tx, sender_id: AgentIdx => agent, receiver_id: AgentIdx => counterparty, amount: Cents => amount, settled_amount: Cents => remaining_amount, deadline_tick: u32 => deadline, overdue_since_tick: u32 => ref_tick, total_ticks_overdue: u32 => ticks, deadline_penalty_cost: Cents => penalty_cost, estimated_delay_cost: Cents => delay_cost }
            /// `details_json` holds SimCash's details with keys sorted; tx ids in it are rendered.
            ScenarioEventExecuted { scenario_event_type: &'static str => scenario_event_type, details_json: Arc<str> => details_json }
            EndOfDay { day: u32 => day, unsettled_count: u32 => count, total_penalties: Cents => penalty_cost }
            DeferredCreditApplied { agent_id: AgentIdx => agent, amount: Cents => amount, source_transactions: Vec<TxId> => tx_ids }
            LiquidityAllocation { day: u32 => day, agent_id: AgentIdx => agent, fraction: f64 => fraction, amount: Cents => amount, balance_after: Cents => balance_after }
            LiquidityReturn { agent_id: AgentIdx => agent, amount: Cents => amount, balance_after: Cents => balance_after }
            /// Extension (Q-4): a Queue-2 payment settled by the LSM's internal queue pass, which
            /// SimCash settles without an event and with immediate crediting.
            LsmQueue2Settlement { tx_id: TxId => tx, sender: AgentIdx => agent, receiver: AgentIdx => counterparty, amount: Cents => amount, sender_balance_after: Cents => balance_after }
            /// Extension: a bilateral pair settled on a later LSM round of the tick, after SimCash's
            /// one event per pair and tick was already emitted unsettled.
            LsmBilateralSettlement { agent_a: AgentIdx => agent, agent_b: AgentIdx => counterparty, tx_ids: Vec<TxId> => tx_ids, amount_a: Cents => amount, amount_b: Cents => amount_b }
        }
    };
}
#[cfg_attr(not(feature = "dataset"), allow(unused_imports))]
pub(crate) use event_types;

/// Generates [`EventKind`], [`EventType`], [`EVENT_TYPES`] and the JSON form from the table.
macro_rules! declare_events {
    ($( $(#[$doc:meta])* $name:ident { $( $f:ident : $t:ty => $col:ident ),* } )*) => {
        /// Every event the engine emits. Field names are SimCash's.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum EventKind {
            $( $(#[$doc])* $name { $( $f: $t ),* }, )*
        }

        /// The type of an event, without its fields.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $( $name, )*
        }

        /// Every event type name, SimCash's and the extensions, in [`EventType`] order.
        pub const EVENT_TYPES: &[&str] = &[$( stringify!($name) ),*];

        impl EventType {
            /// Every event type, in declaration order.
            pub const ALL: &[EventType] = &[$( EventType::$name ),*];
        }

        impl EventKind {
            /// The type of this event.
            pub fn event_type(&self) -> EventType {
                match self {
                    $( EventKind::$name { .. } => EventType::$name, )*
                }
            }

            /// The fields in SimCash's dict form (see [`Event::to_json`]).
            fn put_fields(&self, names: &[String], m: &mut Map<String, Value>) {
                match self {
                    $( EventKind::$name { $( $f ),* } => {
                        $( m.insert(stringify!($f).to_owned(), declare_events!(@json $col, $f, names)); )*
                    } )*
                }
            }
        }
    };
    (@json agent, $v:expr, $names:expr) => { AgentJson::agent_json($v, $names) };
    (@json counterparty, $v:expr, $names:expr) => { AgentJson::agent_json($v, $names) };
    (@json agents, $v:expr, $names:expr) => { AgentJson::agent_json($v, $names) };
    (@json $col:ident, $v:expr, $names:expr) => { ToJson::json($v) };
}

event_types!(declare_events);

impl EventType {
    /// SimCash's name (or the extension's).
    pub fn name(self) -> &'static str {
        EVENT_TYPES[self as usize]
    }

    /// The event type called `name`.
    pub fn from_name(name: &str) -> Option<EventType> {
        EVENT_TYPES.iter().position(|t| *t == name).map(|i| EventType::ALL[i])
    }
}

impl EventKind {
    /// The event type name (SimCash's variant name, or the extension's).
    pub fn name(&self) -> &'static str {
        self.event_type().name()
    }

    /// The position of the event type in [`EVENT_TYPES`] (a small integer key for columnar
    /// encodings).
    pub fn type_index(&self) -> usize {
        self.event_type() as usize
    }
}

/// The payments one event settles: the one definition of a settlement that the dataset's
/// counters and the renderer's day tallies share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled<'a> {
    /// The transactions settled.
    pub tx_ids: &'a [TxId],
    /// Their value.
    pub value: Cents,
}

impl EventKind {
    /// What this event settles, if it settles payments: an RTGS settlement, a Queue-2
    /// release, an LSM offset that settled, an LSM cycle. A scheduled settlement (a scenario
    /// event's transfer, `tx_id: None`) moves money but settles no payment, as in the
    /// engine's run statistics.
    pub fn settled(&self) -> Option<Settled<'_>> {
        use EventKind::*;
        match self {
            RtgsImmediateSettlement { tx_id: Some(tx), amount, .. }
            | Queue2LiquidityRelease { tx_id: tx, amount, .. }
            | LsmQueue2Settlement { tx_id: tx, amount, .. } => Some(Settled { tx_ids: std::slice::from_ref(tx), value: *amount }),
            LsmBilateralOffset { tx_ids, amount_a, amount_b, settled: true, .. } | LsmBilateralSettlement { tx_ids, amount_a, amount_b, .. } => {
                Some(Settled { tx_ids, value: amount_a + amount_b })
            }
            LsmCycleSettlement { tx_ids, tx_amounts, .. } => Some(Settled { tx_ids, value: tx_amounts.iter().sum() }),
            _ => None,
        }
    }
}

/// A field's value in SimCash's dict form.
trait ToJson {
    fn json(&self) -> Value;
}

macro_rules! number_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn json(&self) -> Value {
                json!(self)
            }
        }
    )*};
}
number_json!(u8, u32, i64, f64, bool, Option<Cents>);

impl ToJson for TxId {
    fn json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl ToJson for Option<TxId> {
    /// `None` (a scheduled settlement) is replaced with SimCash's synthetic id in [`Event::to_json`].
    fn json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToJson::json)
    }
}

impl ToJson for Vec<TxId> {
    fn json(&self) -> Value {
        Value::Array(self.iter().map(ToJson::json).collect())
    }
}

impl ToJson for Vec<Cents> {
    fn json(&self) -> Value {
        json!(self)
    }
}

impl ToJson for RtgsPriority {
    fn json(&self) -> Value {
        Value::String(self.as_str().to_owned())
    }
}

impl ToJson for Option<RtgsPriority> {
    fn json(&self) -> Value {
        Value::String(self.map_or("None", RtgsPriority::as_str).to_owned())
    }
}

impl ToJson for HoldReason {
    fn json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl ToJson for Arc<str> {
    fn json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl ToJson for Option<Arc<str>> {
    fn json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToJson::json)
    }
}

impl ToJson for &'static str {
    fn json(&self) -> Value {
        Value::String((*self).to_owned())
    }
}

impl ToJson for AlgorithmResult {
    fn json(&self) -> Value {
        Value::String(format!("{self:?}"))
    }
}

impl ToJson for CostBreakdown {
    /// SimCash's five components and their total (which includes the opportunity cost).
    fn json(&self) -> Value {
        json!({
            "liquidity_cost": self.liquidity_cost,
            "delay_cost": self.delay_cost,
            "collateral_cost": self.collateral_cost,
            "penalty_cost": self.penalty_cost,
            "split_friction_cost": self.split_friction_cost,
            "total": self.total(),
        })
    }
}

/// Agents in SimCash's dict form: their ids.
trait AgentJson {
    fn agent_json(&self, names: &[String]) -> Value;
}

impl AgentJson for AgentIdx {
    fn agent_json(&self, names: &[String]) -> Value {
        Value::String(names[*self as usize].clone())
    }
}

impl AgentJson for Option<AgentIdx> {
    /// SimCash writes no agent as an empty id.
    fn agent_json(&self, names: &[String]) -> Value {
        self.as_ref().map_or(Value::String(String::new()), |a| a.agent_json(names))
    }
}

impl AgentJson for Vec<AgentIdx> {
    fn agent_json(&self, names: &[String]) -> Value {
        Value::Array(self.iter().map(|a| a.agent_json(names)).collect())
    }
}

impl AgentJson for Option<Vec<AgentIdx>> {
    fn agent_json(&self, names: &[String]) -> Value {
        self.as_ref().map_or(Value::Null, |v| v.agent_json(names))
    }
}

/// SimCash's synthetic transaction id for a ScheduledSettlement.
pub fn scheduled_settlement_id(from: &str, to: &str, amount: Cents, tick: u32) -> String {
    format!("scheduled_settlement_{from}_{to}_{amount}_{tick}")
}

impl Event {
    /// SimCash's event dict form: `event_type`, `tick`, then the fields. `names` maps agent
    /// indices to ids.
    pub fn to_json(&self, names: &[String]) -> Map<String, Value> {
        use EventKind::*;
        let mut m = Map::new();
        m.insert("event_type".into(), Value::String(self.kind.name().to_owned()));
        m.insert("tick".into(), json!(self.tick));
        self.kind.put_fields(names, &mut m);
        // What SimCash's dict holds beyond the fields.
        match &self.kind {
            RtgsImmediateSettlement { tx_id: None, sender, receiver, amount, .. } => {
                let id = scheduled_settlement_id(&names[*sender as usize], &names[*receiver as usize], *amount, self.tick);
                m.insert("tx_id".into(), Value::String(id));
            }
            Queue2LiquidityRelease { .. } => {
                m.insert("release_reason".into(), json!("liquidity_available"));
            }
            LsmBilateralOffset { amount_a, amount_b, .. } => {
                let at = m.keys().position(|k| k == "amount_b").map_or(m.len(), |i| i + 1);
                m.shift_insert(at, "amount".into(), json!(amount_a + amount_b));
            }
            LsmCycleSettlement { total_value, .. } => {
                let at = m.keys().position(|k| k == "total_value").map_or(m.len(), |i| i + 1);
                m.shift_insert(at, "cycle_value".into(), json!(total_value));
            }
            CostAccrual { costs, .. } => {
                m.insert("liquidity_opportunity_cost".into(), json!(costs.liquidity_opportunity_cost));
            }
            _ => {}
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
            AlgorithmExecution { algorithm: 2, result: AlgorithmResult::Success, settlements: 2, settled_value: 8 },
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
    fn settled_names_the_payments_of_settlement_events_only() {
        const SETTLING: &[&str] =
            &["RtgsImmediateSettlement", "Queue2LiquidityRelease", "LsmQueue2Settlement", "LsmBilateralOffset", "LsmBilateralSettlement", "LsmCycleSettlement"];
        for kind in every_variant() {
            assert_eq!(kind.settled().is_some(), SETTLING.contains(&kind.name()), "{}", kind.name());
        }
        let cycle = every_variant().into_iter().find(|k| k.name() == "LsmCycleSettlement").unwrap();
        assert_eq!(cycle.settled(), Some(Settled { tx_ids: &[TxId(0), TxId(1), TxId(2)], value: 18 }));
        let scheduled =
            EventKind::RtgsImmediateSettlement { tx_id: None, sender: 0, receiver: 1, amount: 5, sender_balance_before: 9, sender_balance_after: 4 };
        assert_eq!(scheduled.settled(), None, "a scheduled settlement settles no payment");
        let unfunded = EventKind::LsmBilateralOffset { agent_a: 0, agent_b: 1, tx_ids: vec![TxId(0)], amount_a: 5, amount_b: 3, settled: false };
        assert_eq!(unfunded.settled(), None);
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
