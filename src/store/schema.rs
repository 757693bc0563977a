//! The Arrow schemas of the simulation tables and [`SCHEMA_VERSION`]; the table registry
//! (`registry.rs`) describes every table with them. Evolve additively: new nullable columns
//! go last.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// Version of the dataset schemas, recorded in every file's metadata.
///
/// 2: `agent_ticks` gains the `cum_*` counters.
/// 3: Delta Lake tables: signed integers and microsecond timestamps, `simulation_id` and
///    `iteration` stored as columns, one partition level (`experiment_id`).
pub const SCHEMA_VERSION: &str = "3";

/// Key of the schema version in Parquet/Arrow metadata.
pub const SCHEMA_VERSION_KEY: &str = "simcash.schema_version";

/// A dictionary-encoded string column's type.
pub(crate) fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// A list column's type.
pub(crate) fn list(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

fn with_version(fields: Vec<Field>) -> SchemaRef {
    let meta = HashMap::from([(SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_owned())]);
    Arc::new(Schema::new_with_metadata(fields, meta))
}

/// `events`: one row per event; typed envelope plus nullable typed columns per field (the
/// columns are described once, in `batch.rs`'s column table).
pub static EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| with_version(super::batch::event_fields()));

/// `agent_ticks`: one row per agent per tick, the state after the tick. The `cum_*` counters
/// (schema 2; NULL in files written before) count since the start of the run, as the cost
/// columns do: arrivals sent by the agent, settled transactions it sent and received (a
/// transaction counts once, in the tick its settlement event names it), policy drops,
/// collateral posts and withdrawals. `daily_agent_metrics` is an aggregate over them.
pub static AGENT_TICKS: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::*;
    let f = |n: &str, t: DataType| Field::new(n, t, false);
    let cum = |n: &str| Field::new(n, UInt32, true);
    with_version(vec![
        f("tick", UInt32),
        f("day", UInt32),
        f("agent", dict()),
        f("opening_balance", Int64),
        f("balance", Int64),
        f("unsecured_cap", Int64),
        f("posted_collateral", Int64),
        f("queue1_count", UInt32),
        f("queue1_value", Int64),
        f("queue2_count", UInt32),
        f("queue2_value", Int64),
        f("liquidity_cost", Int64),
        f("delay_cost", Int64),
        f("collateral_cost", Int64),
        f("penalty_cost", Int64),
        f("split_friction_cost", Int64),
        f("liquidity_opportunity_cost", Int64),
        f("total_cost", Int64),
        cum("cum_arrivals"),
        cum("cum_sent"),
        cum("cum_received"),
        cum("cum_dropped"),
        cum("cum_collateral_posts"),
        cum("cum_collateral_withdrawals"),
    ])
});

/// `ticks`: one row per tick: SimCash's tick counters and the Queue-2 size after the tick.
pub static TICKS: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::*;
    let f = |n: &str, t: DataType| Field::new(n, t, false);
    with_version(vec![
        f("tick", UInt32),
        f("day", UInt32),
        f("num_arrivals", UInt32),
        f("num_settlements", UInt32),
        f("num_lsm_releases", UInt32),
        f("total_cost", Int64),
        f("queue2_size", UInt32),
        f("event_count", UInt32),
    ])
});

/// `simulations`: one row per committed simulation; written last, it is the commit marker.
pub static SIMULATIONS: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::*;
    let ts = Timestamp(datafusion::arrow::datatypes::TimeUnit::Millisecond, Some("UTC".into()));
    with_version(vec![
        Field::new("purpose", Utf8, false),
        Field::new("scenario", Utf8, false),
        Field::new("seed", UInt64, false),
        Field::new("config_json", Utf8, false),
        Field::new("config_hash", Utf8, false),
        Field::new("policies_json", Utf8, false),
        Field::new("agent_ids", list(Utf8), false),
        Field::new("ticks_per_day", UInt32, false),
        Field::new("num_days", UInt32, false),
        Field::new("ticks", UInt32, false),
        Field::new("status", Utf8, false),
        Field::new("event_count", UInt64, false),
        Field::new("arrivals", UInt64, false),
        Field::new("settled", UInt64, false),
        Field::new("arrived_value", Int64, false),
        Field::new("settled_value", Int64, false),
        Field::new("settlement_rate", Float64, false),
        Field::new("total_cost", Int64, false),
        Field::new("engine_version", Utf8, false),
        Field::new("schema_version", Utf8, false),
        Field::new("started_at", ts.clone(), false),
        Field::new("finished_at", ts, false),
        // Experiment simulations: the agent whose proposal ran and the sample index.
        Field::new("agent", Utf8, true),
        Field::new("sample", UInt32, true),
    ])
});
