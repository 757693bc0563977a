//! The flat form of an event: one optional slot per column of the `events` table.
//!
//! [`EventRow::from_event`] and [`EventRow::into_event`] are generated from the event table
//! in `engine/event.rs`, which says which column each field of each event type is stored
//! in; the batch builder and reader only move rows.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{Float64Type, Int64Type, UInt8Type, UInt32Type, UInt64Type};

use super::batch::{AgentKey, AgentList, Column, EventTypeKey, Flag, List, LongText, Plain, Priority, Required, ScenarioType, Text};

use crate::engine::config::Cents;
use crate::engine::event::{AgentIdx, AlgorithmResult, CostBreakdown, EVENT_TYPES, Event, EventKind, EventType, HoldReason, RtgsPriority, TxId};

/// [`EventRow`], from the column table (`batch.rs`).
macro_rules! declare_row {
    ($( $c:ident : $k:ty ),* $(,)?) => {
        /// One `events` row: one slot per column. Transaction ids are stored as numbers
        /// (`tx-00000007` ⇒ 7). Agents stay indices into the simulation's agent ids and the
        /// event type an index into [`EVENT_TYPES`]: the batch layer turns them into
        /// dictionary keys (and names back into indices) once per batch rather than once per
        /// row.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct EventRow {
            $( pub $c: <$k as Column>::Value, )*
        }
    };
}

super::batch::event_columns!(declare_row);

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

/// A field's value in its column's slot type `V`: transaction ids are stored as numbers
/// (`tx-00000007` ⇒ 7), hold reasons as their text, narrower integers widened.
trait Stored<V>: Sized {
    fn store(&self) -> Option<V>;
    /// The field back from its slot; `Err` says what is wrong with the slot.
    fn load(v: Option<V>) -> Result<Self, &'static str>;
}

impl<V: Clone> Stored<V> for V {
    #[inline(always)]
    fn store(&self) -> Option<V> {
        Some(self.clone())
    }
    fn load(v: Option<V>) -> Result<Self, &'static str> {
        v.ok_or("is null")
    }
}

impl<V: Clone> Stored<V> for Option<V> {
    #[inline(always)]
    fn store(&self) -> Option<V> {
        self.clone()
    }
    fn load(v: Option<V>) -> Result<Self, &'static str> {
        Ok(v)
    }
}

impl Stored<u32> for TxId {
    #[inline(always)]
    fn store(&self) -> Option<u32> {
        Some(self.0 + 1)
    }
    fn load(v: Option<u32>) -> Result<Self, &'static str> {
        v.ok_or("is null")?.checked_sub(1).map(TxId).ok_or("holds tx id 0")
    }
}

impl Stored<u32> for Option<TxId> {
    #[inline(always)]
    fn store(&self) -> Option<u32> {
        self.and_then(|t| t.store())
    }
    fn load(v: Option<u32>) -> Result<Self, &'static str> {
        v.map(|n| TxId::load(Some(n))).transpose()
    }
}

impl Stored<Vec<u32>> for Vec<TxId> {
    fn store(&self) -> Option<Vec<u32>> {
        Some(self.iter().map(|t| t.0 + 1).collect())
    }
    fn load(v: Option<Vec<u32>>) -> Result<Self, &'static str> {
        v.ok_or("is null")?.into_iter().map(|n| TxId::load(Some(n))).collect()
    }
}

/// One transaction id in a list column.
impl Stored<Vec<u32>> for TxId {
    fn store(&self) -> Option<Vec<u32>> {
        Some(vec![self.0 + 1])
    }
    fn load(v: Option<Vec<u32>>) -> Result<Self, &'static str> {
        TxId::load(v.ok_or("is null")?.first().copied().ok_or("is empty").map(Some)?)
    }
}

impl Stored<u32> for u8 {
    #[inline(always)]
    fn store(&self) -> Option<u32> {
        Some(u32::from(*self))
    }
    fn load(v: Option<u32>) -> Result<Self, &'static str> {
        u8::try_from(v.ok_or("is null")?).map_err(|_| "is out of range")
    }
}

impl Stored<i64> for u32 {
    #[inline(always)]
    fn store(&self) -> Option<i64> {
        Some(i64::from(*self))
    }
    fn load(v: Option<i64>) -> Result<Self, &'static str> {
        u32::try_from(v.ok_or("is null")?).map_err(|_| "is out of range")
    }
}

impl Stored<Arc<str>> for HoldReason {
    #[inline(always)]
    fn store(&self) -> Option<Arc<str>> {
        Some(hold_reason_text(self))
    }
    fn load(v: Option<Arc<str>>) -> Result<Self, &'static str> {
        Ok(parse_hold_reason(&v.ok_or("is null")?))
    }
}

impl Stored<bool> for AlgorithmResult {
    fn store(&self) -> Option<bool> {
        Some(*self == AlgorithmResult::Success)
    }
    fn load(v: Option<bool>) -> Result<Self, &'static str> {
        Ok(if v.ok_or("is null")? { AlgorithmResult::Success } else { AlgorithmResult::NoProgress })
    }
}

/// [`EventRow::from_event`] and [`EventRow::into_event`], generated from the event table
/// ([`crate::engine::event`]'s `event_types!`).
macro_rules! event_rows {
    ($( $(#[$doc:meta])* $name:ident { $( $f:ident : $t:ty => $col:ident ),* } )*) => {
        impl EventRow {
            /// Flattens an event; `seq` is its position in the simulation's stream.
            #[inline]
            pub fn from_event(e: &Event, seq: u64, ticks_per_day: u32) -> EventRow {
                let event_type = e.kind.type_index() as u8;
                let mut r = EventRow { seq, tick: e.tick, day: e.tick / ticks_per_day, event_type, ..Default::default() };
                match &e.kind {
                    $( EventKind::$name { $( $f ),* } => { $( event_rows!(@put r, $col, $f, $t); )* } )*
                }
                r
            }

            /// Rebuilds the event.
            pub fn into_event(mut self) -> Result<Event, RowError> {
                let kind = match EventType::ALL.get(usize::from(self.event_type)) {
                    $( Some(EventType::$name) => EventKind::$name { $( $f: event_rows!(@get self, $col, $t) ),* }, )*
                    None => return Err(self.err(format!("unknown event type `{}`", self.event_type_name()))),
                };
                Ok(Event { tick: self.tick, kind })
            }
        }
    };
    (@put $r:ident, day, $v:expr, $t:ty) => {{
        let _ = $v;
    }};
    (@put $r:ident, costs, $v:expr, $t:ty) => {
        costs_into(&mut $r, $v)
    };
    (@put $r:ident, $col:ident, $v:expr, $t:ty) => {
        $r.$col = <$t as Stored<_>>::store($v)
    };
    (@get $r:ident, day, $t:ty) => {
        $r.day
    };
    (@get $r:ident, costs, $t:ty) => {
        $r.costs()?
    };
    (@get $r:ident, $col:ident, $t:ty) => {
        <$t as Stored<_>>::load($r.$col.take()).map_err(|p| $r.err(format!(concat!("`", stringify!($col), "` {}"), p)))?
    };
}

crate::engine::event::event_types!(event_rows);

fn costs_into(row: &mut EventRow, c: &CostBreakdown) {
    row.amount = Some(c.total());
    row.liquidity_cost = Some(c.liquidity_cost);
    row.delay_cost = Some(c.delay_cost);
    row.collateral_cost = Some(c.collateral_cost);
    row.penalty_cost = Some(c.penalty_cost);
    row.split_friction_cost = Some(c.split_friction_cost);
    row.liquidity_opportunity_cost = Some(c.liquidity_opportunity_cost);
}

impl EventRow {
    /// The event type name (`"?"` for an index outside [`EVENT_TYPES`]).
    pub fn event_type_name(&self) -> &'static str {
        EVENT_TYPES.get(self.event_type as usize).copied().unwrap_or("?")
    }

    fn err(&self, problem: impl Into<String>) -> RowError {
        RowError { seq: self.seq, event_type: self.event_type_name().to_owned(), problem: problem.into() }
    }

    /// The cost columns as a breakdown.
    fn costs(&self) -> Result<CostBreakdown, RowError> {
        let get = |v: Option<i64>, col: &str| v.ok_or_else(|| self.err(format!("`{col}` is null")));
        Ok(CostBreakdown {
            liquidity_cost: get(self.liquidity_cost, "liquidity_cost")?,
            delay_cost: get(self.delay_cost, "delay_cost")?,
            collateral_cost: get(self.collateral_cost, "collateral_cost")?,
            penalty_cost: get(self.penalty_cost, "penalty_cost")?,
            split_friction_cost: get(self.split_friction_cost, "split_friction_cost")?,
            liquidity_opportunity_cost: get(self.liquidity_opportunity_cost, "liquidity_opportunity_cost")?,
        })
    }
}

/// Interns a scenario event type name.
pub fn intern_scenario_event_type(s: &str) -> Option<&'static str> {
    SCENARIO_EVENT_TYPES.iter().copied().find(|t| *t == s)
}

/// The index of an event type name in [`EVENT_TYPES`].
pub fn event_type_index(s: &str) -> Option<u8> {
    EventType::from_name(s).map(|t| t as u8)
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
