//! Column builders: event rows ⇄ Arrow record batches, and the `agent_ticks` rows.
//!
//! [`EventColumns`] appends each [`EventRow`] to its columns as it arrives, so a batch is
//! never held as rows. Agents and event types are already integers in the row; they become
//! the keys of the dictionary columns directly (the values are the agent ids and
//! [`EVENT_TYPES`]), so no string is hashed or copied per row. The Parquet writer encodes a
//! dictionary column by its values, so the files do not depend on how the keys were chosen.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, Int32Array, Int64Array, Int64Builder, ListArray, ListBuilder, PrimitiveArray, PrimitiveBuilder,
    RecordBatch, StringArray, StringBuilder, StringDictionaryBuilder, UInt32Array, UInt32Builder,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::compute::{TakeOptions, take};
use datafusion::arrow::datatypes::{ArrowPrimitiveType, Float64Type, Int32Type, Int64Type, UInt8Type, UInt32Type, UInt64Type};
use datafusion::arrow::error::ArrowError;

use super::row::{EventRow, event_type_index, intern_scenario_event_type};
use super::schema::{AGENT_TICKS, EVENTS};
use crate::engine::event::{AgentIdx, EVENT_TYPES, RtgsPriority};
use crate::state::AgentSnapshot;

/// RTGS priorities in declaration order, so `p as i32` is the dictionary key of `p`.
const RTGS_PRIORITIES: [RtgsPriority; 3] = [RtgsPriority::HighlyUrgent, RtgsPriority::Urgent, RtgsPriority::Normal];

/// Dictionary values of `event_type`: the key of a type is its index in [`EVENT_TYPES`].
static EVENT_TYPE_VALUES: LazyLock<ArrayRef> = LazyLock::new(|| Arc::new(StringArray::from(EVENT_TYPES.to_vec())));

/// Dictionary values of `rtgs_priority` and `old_rtgs_priority`.
static RTGS_VALUES: LazyLock<ArrayRef> = LazyLock::new(|| Arc::new(RTGS_PRIORITIES.iter().map(|p| Some(p.as_str())).collect::<StringArray>()));

/// The agent ids as a string array: the dictionary values of the agent columns.
pub fn agent_values(names: &[impl AsRef<str>]) -> ArrayRef {
    Arc::new(names.iter().map(|n| Some(n.as_ref())).collect::<StringArray>())
}

/// `v`'s contents; `v` starts again with as much room.
fn restart<T>(v: &mut Vec<T>) -> Vec<T> {
    let room = v.len();
    std::mem::replace(v, Vec::with_capacity(room))
}

/// A finished batch of a column that had a value: the values, and the validity unless no row was null.
type Taken<V> = (Vec<V>, Option<NullBuffer>);

/// A nullable column of plain values being built. Until its first value in a batch it only
/// counts rows, so a column that stays null costs one predictable branch per row; from then
/// on it keeps a value (the default where null) and a validity flag per row.
struct Opt<V> {
    values: Vec<V>,
    valid: Vec<bool>,
    /// Rows before the first value.
    pending: usize,
    started: bool,
}

impl<V: Copy + Default> Opt<V> {
    fn new() -> Self {
        Opt { values: Vec::new(), valid: Vec::new(), pending: 0, started: false }
    }

    #[inline(always)]
    fn push(&mut self, v: Option<V>) {
        if self.started {
            self.values.push(v.unwrap_or_default());
            self.valid.push(v.is_some());
        } else if let Some(v) = v {
            self.start();
            self.values.push(v);
            self.valid.push(true);
        } else {
            self.pending += 1;
        }
    }

    #[cold]
    fn start(&mut self) {
        self.started = true;
        self.values.resize(self.pending, V::default());
        self.valid.resize(self.pending, false);
    }

    /// Ends the batch: its row count, and unless every row was null, the values and the
    /// validity (`None` when no row was null).
    fn take(&mut self) -> (usize, Option<Taken<V>>) {
        if !std::mem::replace(&mut self.started, false) {
            return (std::mem::take(&mut self.pending), None);
        }
        self.pending = 0;
        let n = self.values.len();
        let valid = NullBuffer::from(BooleanBuffer::collect_bool(n, |i| self.valid[i]));
        self.valid.clear();
        (n, Some((restart(&mut self.values), (valid.null_count() > 0).then_some(valid))))
    }
}

impl<V: Copy + Default + datafusion::arrow::datatypes::ArrowNativeType> Opt<V> {
    /// Ends the batch as a primitive array.
    fn finish<T: ArrowPrimitiveType<Native = V>>(&mut self) -> Result<PrimitiveArray<T>, ArrowError> {
        match self.take() {
            (n, None) => Ok(PrimitiveArray::new_null(n)),
            (_, Some((values, nulls))) => PrimitiveArray::try_new(ScalarBuffer::from(values), nulls),
        }
    }

    /// Ends the batch as a primitive array column.
    fn column<T: ArrowPrimitiveType<Native = V>>(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(self.finish::<T>()?))
    }
}

impl Opt<i32> {
    /// Ends the batch as dictionary keys into `values`.
    fn keys(&mut self, values: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(DictionaryArray::try_new(self.finish::<Int32Type>()?, values.clone())?))
    }
}

impl Opt<bool> {
    /// Ends the batch as a boolean array.
    fn booleans(&mut self) -> ArrayRef {
        Arc::new(match self.take() {
            (n, None) => BooleanArray::new_null(n),
            (_, Some((values, nulls))) => BooleanArray::new(BooleanBuffer::from(values), nulls),
        })
    }
}

/// Arrow builders that append runs of nulls.
trait AppendNulls: Default {
    fn append_nulls_(&mut self, n: usize);
}

macro_rules! append_nulls {
    ($($t:ty),*) => {$(
        impl AppendNulls for $t {
            fn append_nulls_(&mut self, n: usize) {
                self.append_nulls(n)
            }
        }
    )*};
}
append_nulls!(StringBuilder, StringDictionaryBuilder<Int32Type>, ListBuilder<UInt32Builder>, ListBuilder<Int64Builder>);

/// A rarely filled column kept in an Arrow builder, which is created only at the first
/// value of a batch; until then rows are only counted.
struct Lazy<B> {
    pending: usize,
    builder: Option<B>,
}

impl<B: AppendNulls> Lazy<B> {
    fn new() -> Self {
        Lazy { pending: 0, builder: None }
    }

    #[inline(always)]
    fn push<T>(&mut self, v: Option<T>, append: impl FnOnce(&mut B, T)) {
        if let Some(b) = &mut self.builder {
            match v {
                Some(v) => append(b, v),
                None => b.append_nulls_(1),
            }
        } else if let Some(v) = v {
            let mut b = B::default();
            b.append_nulls_(std::mem::take(&mut self.pending));
            append(&mut b, v);
            self.builder = Some(b);
        } else {
            self.pending += 1;
        }
    }

    /// Ends the batch: the builder holding it (created now, all nulls, if no value came).
    fn take(&mut self) -> B {
        let pending = std::mem::take(&mut self.pending);
        self.builder.take().unwrap_or_else(|| {
            let mut b = B::default();
            b.append_nulls_(pending);
            b
        })
    }
}

fn append_list<T: ArrowPrimitiveType>(b: &mut ListBuilder<PrimitiveBuilder<T>>, v: &[T::Native]) {
    b.values().append_slice(v);
    b.append(true);
}

/// Builds `events` record batches row by row (see the module docs).
pub struct EventColumns {
    agent_names: ArrayRef,
    /// Items in the list columns since the last batch.
    list_items: usize,
    seq: Vec<u64>,
    tick: Vec<u32>,
    day: Vec<u32>,
    event_type: Vec<i32>,
    agent: Opt<i32>,
    counterparty: Opt<i32>,
    tx: Opt<u32>,
    amount: Opt<i64>,
    amount_b: Opt<i64>,
    remaining_amount: Opt<i64>,
    deadline: Opt<u32>,
    priority: Opt<u8>,
    new_priority: Opt<u8>,
    is_divisible: Opt<bool>,
    settled: Opt<bool>,
    reason: Lazy<StringDictionaryBuilder<Int32Type>>,
    original_reason: Lazy<StringDictionaryBuilder<Int32Type>>,
    rtgs_priority: Opt<i32>,
    old_rtgs_priority: Opt<i32>,
    balance_before: Opt<i64>,
    balance_after: Opt<i64>,
    new_total: Opt<i64>,
    count: Opt<u32>,
    ticks: Opt<i64>,
    ref_tick: Opt<u32>,
    fraction: Opt<f64>,
    old_value: Opt<f64>,
    new_value: Opt<f64>,
    register_key: Lazy<StringDictionaryBuilder<Int32Type>>,
    decision_path: Lazy<StringBuilder>,
    /// liquidity, delay, collateral, penalty, split friction, liquidity opportunity.
    costs: [Opt<i64>; 6],
    scenario_event_type: Lazy<StringDictionaryBuilder<Int32Type>>,
    details_json: Lazy<StringBuilder>,
    tx_ids: Lazy<ListBuilder<UInt32Builder>>,
    /// Agent indices; names are looked up when the batch is finished.
    agents: Lazy<ListBuilder<UInt32Builder>>,
    amounts: Lazy<ListBuilder<Int64Builder>>,
    net_positions: Lazy<ListBuilder<Int64Builder>>,
}

impl EventColumns {
    /// Empty columns for a simulation whose agent ids are `agent_names` (see
    /// [`agent_values`]), sized for `capacity` rows per batch.
    pub fn new(agent_names: ArrayRef, capacity: usize) -> EventColumns {
        EventColumns {
            agent_names,
            list_items: 0,
            seq: Vec::with_capacity(capacity),
            tick: Vec::with_capacity(capacity),
            day: Vec::with_capacity(capacity),
            event_type: Vec::with_capacity(capacity),
            agent: Opt::new(),
            counterparty: Opt::new(),
            tx: Opt::new(),
            amount: Opt::new(),
            amount_b: Opt::new(),
            remaining_amount: Opt::new(),
            deadline: Opt::new(),
            priority: Opt::new(),
            new_priority: Opt::new(),
            is_divisible: Opt::new(),
            settled: Opt::new(),
            reason: Lazy::new(),
            original_reason: Lazy::new(),
            rtgs_priority: Opt::new(),
            old_rtgs_priority: Opt::new(),
            balance_before: Opt::new(),
            balance_after: Opt::new(),
            new_total: Opt::new(),
            count: Opt::new(),
            ticks: Opt::new(),
            ref_tick: Opt::new(),
            fraction: Opt::new(),
            old_value: Opt::new(),
            new_value: Opt::new(),
            register_key: Lazy::new(),
            decision_path: Lazy::new(),
            costs: [Opt::new(), Opt::new(), Opt::new(), Opt::new(), Opt::new(), Opt::new()],
            scenario_event_type: Lazy::new(),
            details_json: Lazy::new(),
            tx_ids: Lazy::new(),
            agents: Lazy::new(),
            amounts: Lazy::new(),
            net_positions: Lazy::new(),
        }
    }

    /// Rows appended since the last batch.
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    /// Items of the list columns (`tx_ids`, `agents`, …) appended since the last batch: an LSM
    /// event of a backed-up queue lists thousands of transactions, so a batch is bounded by
    /// these as well as by rows.
    pub fn list_items(&self) -> usize {
        self.list_items
    }

    /// Whether no row was appended since the last batch.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// Appends one row (rows in (tick, seq) order).
    #[inline]
    pub fn push(&mut self, r: &EventRow) {
        let key = |a: Option<AgentIdx>| a.map(|a| a as i32);
        self.seq.push(r.seq);
        self.tick.push(r.tick);
        self.day.push(r.day);
        self.event_type.push(i32::from(r.event_type));
        self.agent.push(key(r.agent));
        self.counterparty.push(key(r.counterparty));
        self.tx.push(r.tx);
        self.amount.push(r.amount);
        self.amount_b.push(r.amount_b);
        self.remaining_amount.push(r.remaining_amount);
        self.deadline.push(r.deadline);
        self.priority.push(r.priority);
        self.new_priority.push(r.new_priority);
        self.is_divisible.push(r.is_divisible);
        self.settled.push(r.settled);
        self.reason.push(r.reason.as_deref(), |b, v| b.append_value(v));
        self.original_reason.push(r.original_reason.as_deref(), |b, v| b.append_value(v));
        self.rtgs_priority.push(r.rtgs_priority.map(|p| p as i32));
        self.old_rtgs_priority.push(r.old_rtgs_priority.map(|p| p as i32));
        self.balance_before.push(r.balance_before);
        self.balance_after.push(r.balance_after);
        self.new_total.push(r.new_total);
        self.count.push(r.count);
        self.ticks.push(r.ticks);
        self.ref_tick.push(r.ref_tick);
        self.fraction.push(r.fraction);
        self.old_value.push(r.old_value);
        self.new_value.push(r.new_value);
        self.register_key.push(r.register_key.as_deref(), |b, v| b.append_value(v));
        self.decision_path.push(r.decision_path.as_deref(), |b, v| b.append_value(v));
        let costs = [r.liquidity_cost, r.delay_cost, r.collateral_cost, r.penalty_cost, r.split_friction_cost, r.liquidity_opportunity_cost];
        for (c, v) in self.costs.iter_mut().zip(costs) {
            c.push(v);
        }
        self.scenario_event_type.push(r.scenario_event_type, |b, v| b.append_value(v));
        self.details_json.push(r.details_json.as_deref(), |b, v| b.append_value(v));
        self.list_items +=
            [r.tx_ids.as_ref().map(Vec::len), r.agents.as_ref().map(Vec::len), r.amounts.as_ref().map(Vec::len), r.net_positions.as_ref().map(Vec::len)]
                .into_iter()
                .flatten()
                .sum::<usize>();
        self.tx_ids.push(r.tx_ids.as_deref(), append_list);
        self.agents.push(r.agents.as_deref(), append_list);
        self.amounts.push(r.amounts.as_deref(), append_list);
        self.net_positions.push(r.net_positions.as_deref(), append_list);
    }

    /// The `agents` list column: agent indices replaced by agent ids (an index without an
    /// agent is an error).
    fn finish_agents(&mut self) -> Result<ArrayRef, ArrowError> {
        let (field, offsets, indices, nulls) = self.agents.take().finish().into_parts();
        let names = take(self.agent_names.as_ref(), indices.as_ref(), Some(TakeOptions { check_bounds: true }))?;
        let field = Arc::new(field.as_ref().clone().with_data_type(names.data_type().clone()));
        Ok(Arc::new(ListArray::try_new(field, offsets, names, nulls)?))
    }

    /// The rows appended since the last batch, as an `events` batch; the columns start
    /// again empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.list_items = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(PrimitiveArray::<UInt64Type>::from(restart(&mut self.seq))),
            Arc::new(PrimitiveArray::<UInt32Type>::from(restart(&mut self.tick))),
            Arc::new(PrimitiveArray::<UInt32Type>::from(restart(&mut self.day))),
            Arc::new(DictionaryArray::try_new(PrimitiveArray::<Int32Type>::from(restart(&mut self.event_type)), EVENT_TYPE_VALUES.clone())?),
            self.agent.keys(&self.agent_names)?,
            self.counterparty.keys(&self.agent_names)?,
            self.tx.column::<UInt32Type>()?,
            self.amount.column::<Int64Type>()?,
            self.amount_b.column::<Int64Type>()?,
            self.remaining_amount.column::<Int64Type>()?,
            self.deadline.column::<UInt32Type>()?,
            self.priority.column::<UInt8Type>()?,
            self.new_priority.column::<UInt8Type>()?,
            self.is_divisible.booleans(),
            self.settled.booleans(),
            Arc::new(self.reason.take().finish()),
            Arc::new(self.original_reason.take().finish()),
            self.rtgs_priority.keys(&RTGS_VALUES)?,
            self.old_rtgs_priority.keys(&RTGS_VALUES)?,
            self.balance_before.column::<Int64Type>()?,
            self.balance_after.column::<Int64Type>()?,
            self.new_total.column::<Int64Type>()?,
            self.count.column::<UInt32Type>()?,
            self.ticks.column::<Int64Type>()?,
            self.ref_tick.column::<UInt32Type>()?,
            self.fraction.column::<Float64Type>()?,
            self.old_value.column::<Float64Type>()?,
            self.new_value.column::<Float64Type>()?,
            Arc::new(self.register_key.take().finish()),
            Arc::new(self.decision_path.take().finish()),
            self.costs[0].column::<Int64Type>()?,
            self.costs[1].column::<Int64Type>()?,
            self.costs[2].column::<Int64Type>()?,
            self.costs[3].column::<Int64Type>()?,
            self.costs[4].column::<Int64Type>()?,
            self.costs[5].column::<Int64Type>()?,
            Arc::new(self.scenario_event_type.take().finish()),
            Arc::new(self.details_json.take().finish()),
            Arc::new(self.tx_ids.take().finish()),
            self.finish_agents()?,
            Arc::new(self.amounts.take().finish()),
            Arc::new(self.net_positions.take().finish()),
        ];
        RecordBatch::try_new(EVENTS.clone(), columns)
    }
}

/// Builds an `events` record batch from rows (in (tick, seq) order); `agent_names` are the
/// simulation's agent ids, indexed by agent.
pub fn events_batch(rows: &[EventRow], agent_names: &[impl AsRef<str>]) -> Result<RecordBatch, ArrowError> {
    let mut columns = EventColumns::new(agent_values(agent_names), rows.len());
    for r in rows {
        columns.push(r);
    }
    columns.finish()
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

/// A string column (dictionary-encoded or plain) mapped through `f`, which is called once
/// per distinct dictionary value; a row holding a value that `f` rejects is an error naming
/// `what`.
fn mapped<T: Clone>(b: &RecordBatch, name: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<Vec<Option<T>>, BatchError> {
    let a = col(b, name)?;
    let unknown = |v: &str| BatchError { column: name.into(), problem: format!("unknown {what} `{v}`") };
    if let Some(s) = a.as_string_opt::<i32>() {
        return s.iter().map(|v| v.map(|v| f(v).ok_or_else(|| unknown(v))).transpose()).collect();
    }
    let d = a.as_dictionary_opt::<Int32Type>().ok_or_else(|| wrong(name))?;
    let values = d.values().as_string_opt::<i32>().ok_or_else(|| wrong(name))?;
    let resolved: Vec<Result<T, &str>> = values.iter().map(|v| v.unwrap_or("")).map(|v| f(v).ok_or(v)).collect();
    d.keys()
        .iter()
        .map(|k| {
            let Some(k) = k else { return Ok(None) };
            match usize::try_from(k).ok().and_then(|k| resolved.get(k)) {
                Some(Ok(t)) => Ok(Some(t.clone())),
                Some(Err(v)) => Err(unknown(v)),
                None => Err(BatchError { column: name.into(), problem: format!("dictionary key {k} out of range") }),
            }
        })
        .collect()
}

/// A string column as shared strings (one allocation per distinct dictionary value).
fn dict_values(b: &RecordBatch, name: &str) -> Result<Vec<Option<Arc<str>>>, BatchError> {
    mapped(b, name, "value", |s| Some(Arc::from(s)))
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

fn list_agents(b: &RecordBatch, name: &str, index: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Option<Vec<AgentIdx>>>, BatchError> {
    let l = col(b, name)?.as_list_opt::<i32>().ok_or_else(|| wrong(name))?;
    let unknown = |v: &str| BatchError { column: name.into(), problem: format!("unknown agent `{v}`") };
    (0..l.len())
        .map(|i| {
            if l.is_null(i) {
                return Ok(None);
            }
            let v = l.value(i);
            let s = v.as_string_opt::<i32>().ok_or_else(|| wrong(name))?;
            s.iter().map(|x| x.unwrap_or("")).map(|x| index(x).ok_or_else(|| unknown(x))).collect::<Result<_, _>>().map(Some)
        })
        .collect()
}

/// Reads an `events` batch back into rows; `index` maps agent ids to agent indices (an
/// unknown id is an error).
pub fn rows_from_batch(b: &RecordBatch, index: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<EventRow>, BatchError> {
    let n = b.num_rows();
    let seq = prim_values::<UInt64Type>(b, "seq")?;
    let tick = prim_values::<UInt32Type>(b, "tick")?;
    let day = prim_values::<UInt32Type>(b, "day")?;
    let event_type = mapped(b, "event_type", "event type", event_type_index)?;
    let agent = mapped(b, "agent", "agent", index)?;
    let counterparty = mapped(b, "counterparty", "agent", index)?;
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
    let rtgs_priority = mapped(b, "rtgs_priority", "rtgs priority", RtgsPriority::parse)?;
    let old_rtgs_priority = mapped(b, "old_rtgs_priority", "rtgs priority", RtgsPriority::parse)?;
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
    let costs: Vec<Vec<Option<i64>>> = ["liquidity_cost", "delay_cost", "collateral_cost", "penalty_cost", "split_friction_cost", "liquidity_opportunity_cost"]
        .iter()
        .map(|c| prim_values::<Int64Type>(b, c))
        .collect::<Result<_, _>>()?;
    let scenario_event_type = mapped(b, "scenario_event_type", "scenario event type", intern_scenario_event_type)?;
    let mut details_json = str_values(b, "details_json")?;
    let mut tx_ids = list_values::<UInt32Type>(b, "tx_ids")?;
    let mut agents = list_agents(b, "agents", index)?;
    let mut amounts = list_values::<Int64Type>(b, "amounts")?;
    let mut net_positions = list_values::<Int64Type>(b, "net_positions")?;
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let req = |v: Option<u64>, c: &str| v.ok_or_else(|| BatchError { column: c.into(), problem: format!("null in row {i}") });
        rows.push(EventRow {
            seq: req(seq[i], "seq")?,
            tick: req(tick[i].map(u64::from), "tick")? as u32,
            day: req(day[i].map(u64::from), "day")? as u32,
            event_type: event_type[i].ok_or_else(|| BatchError { column: "event_type".into(), problem: format!("null in row {i}") })?,
            agent: agent[i],
            counterparty: counterparty[i],
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
            rtgs_priority: rtgs_priority[i],
            old_rtgs_priority: old_rtgs_priority[i],
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
            scenario_event_type: scenario_event_type[i],
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
    /// Agent index (into the simulation's agent ids).
    pub agent: AgentIdx,
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

/// Builds an `agent_ticks` batch; `agent_names` are the dictionary values of the `agent`
/// column (see [`agent_values`]).
pub fn agent_ticks_batch(rows: &[AgentTickRow], agent_names: &ArrayRef) -> Result<RecordBatch, ArrowError> {
    let i64s = |f: fn(&AgentTickRow) -> i64| -> ArrayRef { Arc::new(Int64Array::from_iter_values(rows.iter().map(f))) };
    let u32s = |f: fn(&AgentTickRow) -> u32| -> ArrayRef { Arc::new(UInt32Array::from_iter_values(rows.iter().map(f))) };
    let columns: Vec<ArrayRef> = vec![
        u32s(|r| r.tick),
        u32s(|r| r.day),
        Arc::new(DictionaryArray::try_new(Int32Array::from_iter_values(rows.iter().map(|r| r.agent as i32)), agent_names.clone())?),
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

#[cfg(test)]
mod tests {
    use super::{EventColumns, agent_values};
    use crate::store::row::EventRow;

    #[test]
    fn list_items_count_every_list_column_until_the_batch_is_finished() {
        let mut cols = EventColumns::new(agent_values(&["A", "B"]), 8);
        let offset = EventRow { tx_ids: Some(vec![1, 2, 3]), agents: Some(vec![0, 1]), amounts: Some(vec![5, 6]), ..EventRow::default() };
        cols.push(&offset);
        cols.push(&EventRow { seq: 1, ..EventRow::default() });
        cols.push(&EventRow { seq: 2, net_positions: Some(vec![-4, 4]), ..EventRow::default() });
        assert_eq!((cols.len(), cols.list_items()), (3, 9));
        let batch = cols.finish().unwrap();
        assert_eq!(batch.num_rows(), 3);
        assert_eq!((cols.len(), cols.list_items()), (0, 0));
    }
}
