//! Column builders: event rows ⇄ Arrow record batches, and the `agent_ticks` rows.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListBuilder, PrimitiveArray, PrimitiveBuilder, RecordBatch,
    StringArray, StringBuilder, StringDictionaryBuilder, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::{ArrowPrimitiveType, Int32Type, Int64Type, UInt8Type, UInt32Type, UInt64Type};
use datafusion::arrow::error::ArrowError;

use super::row::{EventRow, intern_event_type, intern_rtgs_priority, intern_scenario_event_type};
use super::schema::{AGENT_TICKS, EVENTS};
use crate::replay::AgentSnapshot;

fn prim<T: ArrowPrimitiveType>(rows: &[EventRow], f: impl Fn(&EventRow) -> Option<T::Native>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<PrimitiveArray<T>>())
}

fn dict<'a, R: 'a>(rows: &'a [R], f: impl Fn(&'a R) -> Option<&'a str>) -> ArrayRef {
    let mut b = StringDictionaryBuilder::<Int32Type>::new();
    for r in rows {
        match f(r) {
            Some(s) => {
                b.append_value(s);
            }
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

fn list_prim<T: ArrowPrimitiveType>(rows: &[EventRow], f: impl Fn(&EventRow) -> Option<&Vec<T::Native>>) -> ArrayRef {
    let mut b = ListBuilder::new(PrimitiveBuilder::<T>::new());
    for r in rows {
        match f(r) {
            Some(v) => {
                b.values().append_slice(v);
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

/// Builds an `events` record batch from rows (in (tick, seq) order).
pub fn events_batch(rows: &[EventRow]) -> Result<RecordBatch, ArrowError> {
    let bool_col = |f: fn(&EventRow) -> Option<bool>| -> ArrayRef { Arc::new(rows.iter().map(f).collect::<BooleanArray>()) };
    let f64_col = |f: fn(&EventRow) -> Option<f64>| -> ArrayRef { Arc::new(rows.iter().map(f).collect::<Float64Array>()) };
    let mut agents = ListBuilder::new(StringBuilder::new());
    for r in rows {
        match &r.agents {
            Some(v) => {
                for a in v {
                    agents.values().append_value(a);
                }
                agents.append(true);
            }
            None => agents.append(false),
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.seq))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.tick))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.day))),
        dict(rows, |r| Some(r.event_type)),
        dict(rows, |r| r.agent.as_deref()),
        dict(rows, |r| r.counterparty.as_deref()),
        prim::<UInt32Type>(rows, |r| r.tx),
        prim::<Int64Type>(rows, |r| r.amount),
        prim::<Int64Type>(rows, |r| r.amount_b),
        prim::<Int64Type>(rows, |r| r.remaining_amount),
        prim::<UInt32Type>(rows, |r| r.deadline),
        prim::<UInt8Type>(rows, |r| r.priority),
        prim::<UInt8Type>(rows, |r| r.new_priority),
        bool_col(|r| r.is_divisible),
        bool_col(|r| r.settled),
        dict(rows, |r| r.reason.as_deref()),
        dict(rows, |r| r.original_reason.as_deref()),
        dict(rows, |r| r.rtgs_priority),
        dict(rows, |r| r.old_rtgs_priority),
        prim::<Int64Type>(rows, |r| r.balance_before),
        prim::<Int64Type>(rows, |r| r.balance_after),
        prim::<Int64Type>(rows, |r| r.new_total),
        prim::<UInt32Type>(rows, |r| r.count),
        prim::<Int64Type>(rows, |r| r.ticks),
        prim::<UInt32Type>(rows, |r| r.ref_tick),
        f64_col(|r| r.fraction),
        f64_col(|r| r.old_value),
        f64_col(|r| r.new_value),
        dict(rows, |r| r.register_key.as_deref()),
        Arc::new(rows.iter().map(|r| r.decision_path.as_deref()).collect::<StringArray>()),
        prim::<Int64Type>(rows, |r| r.liquidity_cost),
        prim::<Int64Type>(rows, |r| r.delay_cost),
        prim::<Int64Type>(rows, |r| r.collateral_cost),
        prim::<Int64Type>(rows, |r| r.penalty_cost),
        prim::<Int64Type>(rows, |r| r.split_friction_cost),
        prim::<Int64Type>(rows, |r| r.liquidity_opportunity_cost),
        dict(rows, |r| r.scenario_event_type),
        Arc::new(rows.iter().map(|r| r.details_json.as_deref()).collect::<StringArray>()),
        list_prim::<UInt32Type>(rows, |r| r.tx_ids.as_ref()),
        Arc::new(agents.finish()),
        list_prim::<Int64Type>(rows, |r| r.amounts.as_ref()),
        list_prim::<Int64Type>(rows, |r| r.net_positions.as_ref()),
    ];
    RecordBatch::try_new(EVENTS.clone(), columns)
}

/// A batch that does not have the `events` layout.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column `{column}`: {problem}")]
pub struct BatchError {
    /// The column.
    pub column: String,
    /// What is wrong.
    pub problem: String,
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, BatchError> {
    b.column_by_name(name).ok_or_else(|| BatchError { column: name.into(), problem: "missing".into() })
}

fn wrong(name: &str) -> BatchError {
    BatchError { column: name.into(), problem: "unexpected type".into() }
}

fn prim_values<T: ArrowPrimitiveType>(b: &RecordBatch, name: &str) -> Result<Vec<Option<T::Native>>, BatchError> {
    let a = col(b, name)?.as_primitive_opt::<T>().ok_or_else(|| wrong(name))?;
    Ok(a.iter().collect())
}

fn dict_values(b: &RecordBatch, name: &str) -> Result<Vec<Option<Arc<str>>>, BatchError> {
    let a = col(b, name)?;
    if let Some(s) = a.as_string_opt::<i32>() {
        return Ok(s.iter().map(|v| v.map(Arc::from)).collect());
    }
    let d = a.as_dictionary_opt::<Int32Type>().ok_or_else(|| wrong(name))?;
    let values = d.values().as_string_opt::<i32>().ok_or_else(|| wrong(name))?;
    let interned: Vec<Arc<str>> = values.iter().map(|v| Arc::from(v.unwrap_or(""))).collect();
    Ok(d.keys().iter().map(|k| k.map(|k| interned[k as usize].clone())).collect())
}

fn str_values(b: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, BatchError> {
    let a = col(b, name)?.as_string_opt::<i32>().ok_or_else(|| wrong(name))?;
    Ok(a.iter().map(|v| v.map(str::to_owned)).collect())
}

fn bool_values(b: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>, BatchError> {
    Ok(col(b, name)?.as_boolean_opt().ok_or_else(|| wrong(name))?.iter().collect())
}

fn list_values<T: ArrowPrimitiveType>(b: &RecordBatch, name: &str) -> Result<Vec<Option<Vec<T::Native>>>, BatchError> {
    let l = col(b, name)?.as_list_opt::<i32>().ok_or_else(|| wrong(name))?;
    (0..l.len())
        .map(|i| {
            if l.is_null(i) {
                return Ok(None);
            }
            let v = l.value(i);
            let p = v.as_primitive_opt::<T>().ok_or_else(|| wrong(name))?;
            Ok(Some(p.values().to_vec()))
        })
        .collect()
}

fn list_strings(b: &RecordBatch, name: &str) -> Result<Vec<Option<Vec<Arc<str>>>>, BatchError> {
    let l = col(b, name)?.as_list_opt::<i32>().ok_or_else(|| wrong(name))?;
    (0..l.len())
        .map(|i| {
            if l.is_null(i) {
                return Ok(None);
            }
            let v = l.value(i);
            let s = v.as_string_opt::<i32>().ok_or_else(|| wrong(name))?;
            Ok(Some(s.iter().map(|x| Arc::from(x.unwrap_or(""))).collect()))
        })
        .collect()
}

fn intern(column: &str, v: Option<Arc<str>>, f: fn(&str) -> Option<&'static str>) -> Result<Option<&'static str>, BatchError> {
    v.map(|s| f(&s).ok_or_else(|| BatchError { column: column.into(), problem: format!("unknown value `{s}`") })).transpose()
}

/// Reads an `events` batch back into rows.
pub fn rows_from_batch(b: &RecordBatch) -> Result<Vec<EventRow>, BatchError> {
    let n = b.num_rows();
    let seq = prim_values::<UInt64Type>(b, "seq")?;
    let tick = prim_values::<UInt32Type>(b, "tick")?;
    let day = prim_values::<UInt32Type>(b, "day")?;
    let event_type = dict_values(b, "event_type")?;
    let mut agent = dict_values(b, "agent")?;
    let mut counterparty = dict_values(b, "counterparty")?;
    let tx = prim_values::<UInt32Type>(b, "tx")?;
    let amount = prim_values::<Int64Type>(b, "amount")?;
    let amount_b = prim_values::<Int64Type>(b, "amount_b")?;
    let remaining_amount = prim_values::<Int64Type>(b, "remaining_amount")?;
    let deadline = prim_values::<UInt32Type>(b, "deadline")?;
    let priority = prim_values::<UInt8Type>(b, "priority")?;
    let new_priority = prim_values::<UInt8Type>(b, "new_priority")?;
    let is_divisible = bool_values(b, "is_divisible")?;
    let settled = bool_values(b, "settled")?;
    let mut reason = dict_values(b, "reason")?;
    let mut original_reason = dict_values(b, "original_reason")?;
    let rtgs_priority = dict_values(b, "rtgs_priority")?;
    let old_rtgs_priority = dict_values(b, "old_rtgs_priority")?;
    let balance_before = prim_values::<Int64Type>(b, "balance_before")?;
    let balance_after = prim_values::<Int64Type>(b, "balance_after")?;
    let new_total = prim_values::<Int64Type>(b, "new_total")?;
    let count = prim_values::<UInt32Type>(b, "count")?;
    let ticks = prim_values::<Int64Type>(b, "ticks")?;
    let ref_tick = prim_values::<UInt32Type>(b, "ref_tick")?;
    let f64s = |name: &str| -> Result<Vec<Option<f64>>, BatchError> {
        Ok(col(b, name)?.as_primitive_opt::<datafusion::arrow::datatypes::Float64Type>().ok_or_else(|| wrong(name))?.iter().collect())
    };
    let fraction = f64s("fraction")?;
    let old_value = f64s("old_value")?;
    let new_value = f64s("new_value")?;
    let mut register_key = dict_values(b, "register_key")?;
    let mut decision_path = str_values(b, "decision_path")?;
    let costs: Vec<Vec<Option<i64>>> = [
        "liquidity_cost",
        "delay_cost",
        "collateral_cost",
        "penalty_cost",
        "split_friction_cost",
        "liquidity_opportunity_cost",
    ]
    .iter()
    .map(|c| prim_values::<Int64Type>(b, c))
    .collect::<Result<_, _>>()?;
    let scenario_event_type = dict_values(b, "scenario_event_type")?;
    let mut details_json = str_values(b, "details_json")?;
    let mut tx_ids = list_values::<UInt32Type>(b, "tx_ids")?;
    let mut agents = list_strings(b, "agents")?;
    let mut amounts = list_values::<Int64Type>(b, "amounts")?;
    let mut net_positions = list_values::<Int64Type>(b, "net_positions")?;
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let req = |v: Option<u64>, c: &str| v.ok_or_else(|| BatchError { column: c.into(), problem: format!("null in row {i}") });
        rows.push(EventRow {
            seq: req(seq[i], "seq")?,
            tick: req(tick[i].map(u64::from), "tick")? as u32,
            day: req(day[i].map(u64::from), "day")? as u32,
            event_type: intern("event_type", event_type[i].clone(), intern_event_type)?
                .ok_or_else(|| BatchError { column: "event_type".into(), problem: format!("null in row {i}") })?,
            agent: agent[i].take(),
            counterparty: counterparty[i].take(),
            tx: tx[i],
            amount: amount[i],
            amount_b: amount_b[i],
            remaining_amount: remaining_amount[i],
            deadline: deadline[i],
            priority: priority[i],
            new_priority: new_priority[i],
            is_divisible: is_divisible[i],
            settled: settled[i],
            reason: reason[i].take(),
            original_reason: original_reason[i].take(),
            rtgs_priority: intern("rtgs_priority", rtgs_priority[i].clone(), intern_rtgs_priority)?,
            old_rtgs_priority: intern("old_rtgs_priority", old_rtgs_priority[i].clone(), intern_rtgs_priority)?,
            balance_before: balance_before[i],
            balance_after: balance_after[i],
            new_total: new_total[i],
            count: count[i],
            ticks: ticks[i],
            ref_tick: ref_tick[i],
            fraction: fraction[i],
            old_value: old_value[i],
            new_value: new_value[i],
            register_key: register_key[i].take(),
            decision_path: decision_path[i].take().map(Arc::from),
            liquidity_cost: costs[0][i],
            delay_cost: costs[1][i],
            collateral_cost: costs[2][i],
            penalty_cost: costs[3][i],
            split_friction_cost: costs[4][i],
            liquidity_opportunity_cost: costs[5][i],
            scenario_event_type: intern("scenario_event_type", scenario_event_type[i].clone(), intern_scenario_event_type)?,
            details_json: details_json[i].take(),
            tx_ids: tx_ids[i].take(),
            agents: agents[i].take(),
            amounts: amounts[i].take(),
            net_positions: net_positions[i].take(),
        });
    }
    Ok(rows)
}

/// One `ticks` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickRow {
    /// Tick.
    pub tick: u32,
    /// Day.
    pub day: u32,
    /// The engine's counters for the tick.
    pub counts: crate::engine::TickCounts,
    /// Queue-2 size after the tick.
    pub queue2_size: u32,
    /// Events emitted in the tick.
    pub event_count: u32,
}

/// Builds a `ticks` batch.
pub fn ticks_batch(rows: &[TickRow]) -> Result<RecordBatch, ArrowError> {
    let u32s = |f: fn(&TickRow) -> u32| -> ArrayRef { Arc::new(UInt32Array::from_iter_values(rows.iter().map(f))) };
    let columns: Vec<ArrayRef> = vec![
        u32s(|r| r.tick),
        u32s(|r| r.day),
        u32s(|r| r.counts.num_arrivals),
        u32s(|r| r.counts.num_settlements),
        u32s(|r| r.counts.num_lsm_releases),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.counts.total_cost))),
        u32s(|r| r.queue2_size),
        u32s(|r| r.event_count),
    ];
    RecordBatch::try_new(super::schema::TICKS.clone(), columns)
}

/// One `agent_ticks` row.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTickRow {
    /// Tick.
    pub tick: u32,
    /// Day.
    pub day: u32,
    /// Agent id.
    pub agent: Arc<str>,
    /// Balance at the start of the tick.
    pub opening_balance: i64,
    /// State after the tick.
    pub state: AgentSnapshot,
    /// Counters since the start of the run, after the tick.
    pub counters: AgentCounters,
}

/// An agent's event counters since the start of the run (the `cum_*` columns of
/// `agent_ticks`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentCounters {
    /// Arrivals the agent sent.
    pub arrivals: u32,
    /// Settled transactions the agent sent.
    pub sent: u32,
    /// Settled transactions the agent received.
    pub received: u32,
    /// Transactions the agent's policy dropped.
    pub dropped: u32,
    /// Collateral posts.
    pub collateral_posts: u32,
    /// Collateral withdrawals.
    pub collateral_withdrawals: u32,
}

/// Builds an `agent_ticks` batch.
pub fn agent_ticks_batch(rows: &[AgentTickRow]) -> Result<RecordBatch, ArrowError> {
    let i64s = |f: fn(&AgentTickRow) -> i64| -> ArrayRef { Arc::new(Int64Array::from_iter_values(rows.iter().map(f))) };
    let u32s = |f: fn(&AgentTickRow) -> u32| -> ArrayRef { Arc::new(UInt32Array::from_iter_values(rows.iter().map(f))) };
    let columns: Vec<ArrayRef> = vec![
        u32s(|r| r.tick),
        u32s(|r| r.day),
        dict(rows, |r| Some(&*r.agent)),
        i64s(|r| r.opening_balance),
        i64s(|r| r.state.balance),
        i64s(|r| r.state.unsecured_cap),
        i64s(|r| r.state.posted_collateral),
        u32s(|r| r.state.queue1_count),
        i64s(|r| r.state.queue1_value),
        u32s(|r| r.state.queue2_count),
        i64s(|r| r.state.queue2_value),
        i64s(|r| r.state.total_costs.liquidity_cost),
        i64s(|r| r.state.total_costs.delay_cost),
        i64s(|r| r.state.total_costs.collateral_cost),
        i64s(|r| r.state.total_costs.penalty_cost),
        i64s(|r| r.state.total_costs.split_friction_cost),
        i64s(|r| r.state.total_costs.liquidity_opportunity_cost),
        i64s(|r| r.state.total_costs.total()),
        u32s(|r| r.counters.arrivals),
        u32s(|r| r.counters.sent),
        u32s(|r| r.counters.received),
        u32s(|r| r.counters.dropped),
        u32s(|r| r.counters.collateral_posts),
        u32s(|r| r.counters.collateral_withdrawals),
    ];
    RecordBatch::try_new(AGENT_TICKS.clone(), columns)
}
