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
use datafusion::arrow::datatypes::{ArrowPrimitiveType, DataType, Field, Float64Type, Int32Type, Int64Type, UInt8Type, UInt32Type, UInt64Type};
use datafusion::arrow::error::ArrowError;

use super::row::{EventRow, event_type_index, intern_scenario_event_type};
use super::schema::{AGENT_TICKS, EVENTS, dict, list};
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
pub struct Opt<V> {
    values: Vec<V>,
    valid: Vec<bool>,
    /// Rows before the first value.
    pending: usize,
    started: bool,
}

impl<V> Default for Opt<V> {
    fn default() -> Self {
        Opt { values: Vec::new(), valid: Vec::new(), pending: 0, started: false }
    }
}

impl<V: Copy + Default> Opt<V> {
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
pub trait AppendNulls: Default {
    /// Appends `n` nulls.
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
pub struct Lazy<B> {
    pending: usize,
    builder: Option<B>,
}

impl<B> Default for Lazy<B> {
    fn default() -> Self {
        Lazy { pending: 0, builder: None }
    }
}

impl<B: AppendNulls> Lazy<B> {
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

/// The one description of the `events` columns, in schema order: each column's name and
/// kind. The kind ([`Column`]) gives its value in an [`EventRow`], its builder, its Arrow
/// type and how it is read back; [`EventRow`], [`EventColumns`], [`rows_from_batch`] and
/// the `events` schema are generated from this table. New columns go last (the schema
/// evolves additively).
macro_rules! event_columns {
    ($then:ident) => {
        $then! {
            seq: Required<UInt64Type>,
            tick: Required<UInt32Type>,
            day: Required<UInt32Type>,
            event_type: EventTypeKey,
            agent: AgentKey,
            counterparty: AgentKey,
            tx: Plain<UInt32Type>,
            amount: Plain<Int64Type>,
            amount_b: Plain<Int64Type>,
            remaining_amount: Plain<Int64Type>,
            deadline: Plain<UInt32Type>,
            priority: Plain<UInt8Type>,
            new_priority: Plain<UInt8Type>,
            is_divisible: Flag,
            settled: Flag,
            reason: Text,
            original_reason: Text,
            rtgs_priority: Priority,
            old_rtgs_priority: Priority,
            balance_before: Plain<Int64Type>,
            balance_after: Plain<Int64Type>,
            new_total: Plain<Int64Type>,
            count: Plain<UInt32Type>,
            ticks: Plain<Int64Type>,
            ref_tick: Plain<UInt32Type>,
            fraction: Plain<Float64Type>,
            old_value: Plain<Float64Type>,
            new_value: Plain<Float64Type>,
            register_key: Text,
            decision_path: LongText,
            liquidity_cost: Plain<Int64Type>,
            delay_cost: Plain<Int64Type>,
            collateral_cost: Plain<Int64Type>,
            penalty_cost: Plain<Int64Type>,
            split_friction_cost: Plain<Int64Type>,
            liquidity_opportunity_cost: Plain<Int64Type>,
            scenario_event_type: ScenarioType,
            details_json: LongText,
            tx_ids: List<UInt32Type>,
            agents: AgentList,
            amounts: List<Int64Type>,
            net_positions: List<Int64Type>,
        }
    };
}
pub(crate) use event_columns;

/// A kind of `events` column.
pub trait Column {
    /// Its value in an [`EventRow`].
    type Value: Default;
    /// What collects a batch of it.
    type Builder: Default;
    /// Whether it may hold nulls.
    const NULLABLE: bool = true;
    /// Its Arrow type.
    fn data_type() -> DataType;
    /// An empty builder for `capacity` rows (the nullable kinds grow as values come).
    fn builder(_capacity: usize) -> Self::Builder {
        Self::Builder::default()
    }
    /// Appends one row's value.
    fn push(b: &mut Self::Builder, v: &Self::Value);
    /// List items in the value (a batch is bounded by them too).
    #[inline(always)]
    fn items(_v: &Self::Value) -> usize {
        0
    }
    /// Ends the batch as an array; the builder starts again empty.
    fn finish(b: &mut Self::Builder, agent_names: &ArrayRef) -> Result<ArrayRef, ArrowError>;
    /// A batch's column back as values (one per row).
    fn read(a: &ArrayRef, name: &str, index: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError>;
}

/// A non-null primitive column.
pub struct Required<T>(std::marker::PhantomData<T>);

impl<T: ArrowPrimitiveType> Column for Required<T> {
    type Value = T::Native;
    type Builder = Vec<T::Native>;
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        T::DATA_TYPE
    }
    fn builder(capacity: usize) -> Self::Builder {
        Vec::with_capacity(capacity)
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(*v);
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(restart(b)), None)))
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        let p = a.as_primitive_opt::<T>().ok_or_else(|| wrong(name))?;
        p.iter().map(|v| v.ok_or_else(|| null(name))).collect()
    }
}

/// A nullable primitive column.
pub struct Plain<T>(std::marker::PhantomData<T>);

impl<T: ArrowPrimitiveType> Column for Plain<T> {
    type Value = Option<T::Native>;
    type Builder = Opt<T::Native>;
    fn data_type() -> DataType {
        T::DATA_TYPE
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(*v);
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        b.column::<T>()
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        Ok(a.as_primitive_opt::<T>().ok_or_else(|| wrong(name))?.iter().collect())
    }
}

/// The event type: dictionary keys into [`EVENT_TYPES`].
pub struct EventTypeKey;

impl Column for EventTypeKey {
    type Value = u8;
    type Builder = Vec<i32>;
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        dict()
    }
    fn builder(capacity: usize) -> Self::Builder {
        Vec::with_capacity(capacity)
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &u8) {
        b.push(i32::from(*v));
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(DictionaryArray::try_new(PrimitiveArray::<Int32Type>::from(restart(b)), EVENT_TYPE_VALUES.clone())?))
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<u8>, BatchError> {
        mapped(a, name, "event type", event_type_index)?.into_iter().map(|v| v.ok_or_else(|| null(name))).collect()
    }
}

/// An agent: dictionary keys into the simulation's agent ids.
pub struct AgentKey;

impl Column for AgentKey {
    type Value = Option<AgentIdx>;
    type Builder = Opt<i32>;
    fn data_type() -> DataType {
        dict()
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(v.map(|a| a as i32));
    }
    fn finish(b: &mut Self::Builder, agent_names: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        b.keys(agent_names)
    }
    fn read(a: &ArrayRef, name: &str, index: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        mapped(a, name, "agent", index)
    }
}

/// A flag.
pub struct Flag;

impl Column for Flag {
    type Value = Option<bool>;
    type Builder = Opt<bool>;
    fn data_type() -> DataType {
        DataType::Boolean
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(*v);
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(b.booleans())
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        Ok(a.as_boolean_opt().ok_or_else(|| wrong(name))?.iter().collect())
    }
}

/// An RTGS priority: dictionary keys into its three names.
pub struct Priority;

impl Column for Priority {
    type Value = Option<RtgsPriority>;
    type Builder = Opt<i32>;
    fn data_type() -> DataType {
        dict()
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(v.map(|p| p as i32));
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        b.keys(&RTGS_VALUES)
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        mapped(a, name, "rtgs priority", RtgsPriority::parse)
    }
}

/// A short text repeated across rows (reasons, register keys): dictionary-encoded.
pub struct Text;

impl Column for Text {
    type Value = Option<Arc<str>>;
    type Builder = Lazy<StringDictionaryBuilder<Int32Type>>;
    fn data_type() -> DataType {
        dict()
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(v.as_deref(), |b, v| b.append_value(v));
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(b.take().finish()))
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        // One allocation per distinct dictionary value.
        mapped(a, name, "value", |s| Some(Arc::from(s)))
    }
}

/// A scenario event type: dictionary-encoded, read back as its interned name.
pub struct ScenarioType;

impl Column for ScenarioType {
    type Value = Option<&'static str>;
    type Builder = Lazy<StringDictionaryBuilder<Int32Type>>;
    fn data_type() -> DataType {
        dict()
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(*v, |b, v| b.append_value(v));
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(b.take().finish()))
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        mapped(a, name, "scenario event type", intern_scenario_event_type)
    }
}

/// A text seldom repeated (decision paths, scenario event details): plain strings, shared
/// once read.
pub struct LongText;

impl Column for LongText {
    type Value = Option<Arc<str>>;
    type Builder = Lazy<StringBuilder>;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(v.as_deref(), |b, v| b.append_value(v));
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(b.take().finish()))
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        Ok(a.as_string_opt::<i32>().ok_or_else(|| wrong(name))?.iter().map(|v| v.map(Arc::from)).collect())
    }
}

/// A list of primitive values.
pub struct List<T>(std::marker::PhantomData<T>);

impl<T: ArrowPrimitiveType> Column for List<T>
where
    ListBuilder<PrimitiveBuilder<T>>: AppendNulls,
{
    type Value = Option<Vec<T::Native>>;
    type Builder = Lazy<ListBuilder<PrimitiveBuilder<T>>>;
    fn data_type() -> DataType {
        list(T::DATA_TYPE)
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(v.as_deref(), append_list);
    }
    #[inline(always)]
    fn items(v: &Self::Value) -> usize {
        v.as_ref().map_or(0, Vec::len)
    }
    fn finish(b: &mut Self::Builder, _: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(b.take().finish()))
    }
    fn read(a: &ArrayRef, name: &str, _: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        list_values::<T>(a, name)
    }
}

/// A list of agents: collected as indices, stored as agent ids.
pub struct AgentList;

impl Column for AgentList {
    type Value = Option<Vec<AgentIdx>>;
    type Builder = Lazy<ListBuilder<UInt32Builder>>;
    fn data_type() -> DataType {
        list(DataType::Utf8)
    }
    #[inline(always)]
    fn push(b: &mut Self::Builder, v: &Self::Value) {
        b.push(v.as_deref(), append_list);
    }
    #[inline(always)]
    fn items(v: &Self::Value) -> usize {
        v.as_ref().map_or(0, Vec::len)
    }
    /// Agent indices replaced by agent ids (an index without an agent is an error).
    fn finish(b: &mut Self::Builder, agent_names: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        let (field, offsets, indices, nulls) = b.take().finish().into_parts();
        let names = take(agent_names.as_ref(), indices.as_ref(), Some(TakeOptions { check_bounds: true }))?;
        let field = Arc::new(field.as_ref().clone().with_data_type(names.data_type().clone()));
        Ok(Arc::new(ListArray::try_new(field, offsets, names, nulls)?))
    }
    fn read(a: &ArrayRef, name: &str, index: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Self::Value>, BatchError> {
        list_agents(a, name, index)
    }
}

/// [`EventColumns`], [`rows_from_batch`] and the `events` fields, from the column table.
macro_rules! event_batches {
    ($( $c:ident : $k:ty ),* $(,)?) => {
        /// Builds `events` record batches row by row (see the module docs).
        pub struct EventColumns {
            agent_names: ArrayRef,
            /// Rows since the last batch.
            rows: usize,
            /// Items in the list columns since the last batch.
            list_items: usize,
            $( $c: <$k as Column>::Builder, )*
        }

        impl EventColumns {
            /// Empty columns for a simulation whose agent ids are `agent_names` (see
            /// [`agent_values`]), sized for `capacity` rows per batch.
            pub fn new(agent_names: ArrayRef, capacity: usize) -> EventColumns {
                EventColumns { agent_names, rows: 0, list_items: 0, $( $c: <$k as Column>::builder(capacity), )* }
            }

            /// Appends one row (rows in (tick, seq) order).
            #[inline]
            pub fn push(&mut self, r: &EventRow) {
                self.rows += 1;
                self.list_items += 0 $( + <$k as Column>::items(&r.$c) )*;
                $( <$k as Column>::push(&mut self.$c, &r.$c); )*
            }

            /// The rows appended since the last batch, as an `events` batch; the columns start
            /// again empty.
            pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
                (self.rows, self.list_items) = (0, 0);
                let columns: Vec<ArrayRef> = vec![$( <$k as Column>::finish(&mut self.$c, &self.agent_names)?, )*];
                RecordBatch::try_new(EVENTS.clone(), columns)
            }
        }

        /// Reads an `events` batch back into rows; `index` maps agent ids to agent indices (an
        /// unknown id is an error).
        pub fn rows_from_batch(b: &RecordBatch, index: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<EventRow>, BatchError> {
            $( let mut $c = <$k as Column>::read(col(b, stringify!($c))?, stringify!($c), index)?; )*
            Ok((0..b.num_rows()).map(|i| EventRow { $( $c: std::mem::take(&mut $c[i]), )* }).collect())
        }

        /// The fields of the `events` schema.
        pub(crate) fn event_fields() -> Vec<Field> {
            vec![$( Field::new(stringify!($c), <$k as Column>::data_type(), <$k as Column>::NULLABLE), )*]
        }
    };
}

event_columns!(event_batches);

impl EventColumns {
    /// Rows appended since the last batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Items of the list columns (`tx_ids`, `agents`, …) appended since the last batch: an LSM
    /// event of a backed-up queue lists thousands of transactions, so a batch is bounded by
    /// these as well as by rows.
    pub fn list_items(&self) -> usize {
        self.list_items
    }

    /// Whether no row was appended since the last batch.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
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

fn null(name: &str) -> BatchError {
    BatchError { column: name.into(), problem: "null in a required column".into() }
}

/// A string column (dictionary-encoded or plain) mapped through `f`, which is called once
/// per distinct dictionary value; a row holding a value that `f` rejects is an error naming
/// `what`.
fn mapped<T: Clone>(a: &ArrayRef, name: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<Vec<Option<T>>, BatchError> {
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

fn list_values<T: ArrowPrimitiveType>(a: &ArrayRef, name: &str) -> Result<Vec<Option<Vec<T::Native>>>, BatchError> {
    let l = a.as_list_opt::<i32>().ok_or_else(|| wrong(name))?;
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

fn list_agents(a: &ArrayRef, name: &str, index: &dyn Fn(&str) -> Option<AgentIdx>) -> Result<Vec<Option<Vec<AgentIdx>>>, BatchError> {
    let l = a.as_list_opt::<i32>().ok_or_else(|| wrong(name))?;
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
