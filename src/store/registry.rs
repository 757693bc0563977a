//! The table registry: one description of every physical table of the dataset (its name,
//! columns, partition column, row order and how its rows are committed). Writers, readers,
//! `gc`, `compact` and the query layer take what they need from here; `schemas/<table>.json`
//! is rendered from it.
//!
//! Each table is a Delta Lake table under `<root>/<table>/`, partitioned by `experiment_id`.
//! Writers build batches of the table's *columns* (the engine's own types); what is stored
//! is [`TableDef::stored_schema`]: the key columns that name the simulation or iteration
//! first, then the columns in types Delta Lake has (no unsigned integers; timestamps in
//! microseconds). [`TableDef::to_stored`] and [`TableDef::from_stored`] convert.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::{CastOptions, SortColumn, cast_with_options, lexsort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;

use super::schema::SCHEMA_VERSION;

/// Which unit of work commits a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Rows of one simulation, visible once its `simulations` row is committed.
    Simulation,
    /// Rows of one experiment iteration, committed with its `iterations` rows.
    Iteration,
    /// One row per experiment, or per sweep point.
    Experiment,
}

/// One physical table.
#[derive(Debug)]
pub struct TableDef {
    /// Directory under the dataset root.
    pub name: &'static str,
    /// The columns writers build, in the engine's types (key columns excluded).
    pub columns: fn() -> SchemaRef,
    /// Row order within each data file, `[]` when none is promised.
    pub sort: &'static [&'static str],
    /// What commits its rows.
    pub scope: Scope,
}

/// The partition column of every table (a directory level; not stored in the files).
pub const PARTITION: (&str, DataType) = ("experiment_id", DataType::Utf8);

/// Every physical table, simulation tables first and `simulations` (their commit marker)
/// last among them.
pub static TABLES: &[TableDef] = &[
    TableDef { name: "events", columns: || super::schema::EVENTS.clone(), sort: &["simulation_id", "tick", "seq"], scope: Scope::Simulation },
    TableDef { name: "agent_ticks", columns: || super::schema::AGENT_TICKS.clone(), sort: &["simulation_id", "tick"], scope: Scope::Simulation },
    TableDef { name: "ticks", columns: || super::schema::TICKS.clone(), sort: &["simulation_id", "tick"], scope: Scope::Simulation },
    TableDef { name: "simulations", columns: || super::schema::SIMULATIONS.clone(), sort: &["simulation_id"], scope: Scope::Simulation },
    TableDef { name: "experiments", columns: || super::experiment::EXPERIMENTS.clone(), sort: &[], scope: Scope::Experiment },
    TableDef { name: "iterations", columns: || super::experiment::ITERATIONS.clone(), sort: &["iteration"], scope: Scope::Iteration },
    TableDef { name: "policy_evaluations", columns: || super::experiment::POLICY_EVALUATIONS.clone(), sort: &["iteration"], scope: Scope::Iteration },
    TableDef { name: "sweep_points", columns: || super::sweep::SWEEP_POINTS.clone(), sort: &["point"], scope: Scope::Experiment },
];

/// The table called `name`.
pub fn get(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().find(|t| t.name == name)
}

/// The tables written per simulation, in writing order (`simulations` last).
pub fn simulation_tables() -> impl Iterator<Item = &'static TableDef> {
    TABLES.iter().filter(|t| t.scope == Scope::Simulation)
}

/// The type a column is stored as: Delta Lake has no unsigned integers (each widens to the
/// next signed type that holds every value) and keeps timestamps in microseconds.
pub fn stored_type(t: &DataType) -> DataType {
    match t {
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        DataType::List(item) => DataType::List(Arc::new(item.as_ref().clone().with_data_type(stored_type(item.data_type())))),
        other => other.clone(),
    }
}

/// Values of the key columns of one write: the simulation or iteration the rows belong to.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    /// Simulation id (simulation tables).
    pub simulation_id: &'a str,
    /// Iteration (simulation and iteration tables).
    pub iteration: u32,
}

impl TableDef {
    /// The key columns stored before the columns.
    fn key_fields(&self) -> Vec<Field> {
        let sim = Field::new("simulation_id", DataType::Utf8, false);
        let iteration = Field::new("iteration", DataType::Int64, false);
        match self.scope {
            Scope::Simulation => vec![sim, iteration],
            Scope::Iteration => vec![iteration],
            Scope::Experiment => vec![],
        }
    }

    /// The schema of the data files: key columns, then the columns in stored types.
    pub fn stored_schema(&self) -> SchemaRef {
        let columns = (self.columns)();
        let fields: Vec<Field> =
            self.key_fields().into_iter().chain(columns.fields().iter().map(|f| f.as_ref().clone().with_data_type(stored_type(f.data_type())))).collect();
        Arc::new(Schema::new_with_metadata(fields, columns.metadata().clone()))
    }

    /// A batch of the table's columns as it is stored: key columns prepended, types cast.
    pub fn to_stored(&self, keys: Keys<'_>, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let n = batch.num_rows();
        let schema = self.stored_schema();
        let sim: ArrayRef = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(keys.simulation_id, n)));
        let iteration: ArrayRef = Arc::new(Int64Array::from_value(i64::from(keys.iteration), n));
        let key_columns = match self.scope {
            Scope::Simulation => vec![sim, iteration],
            Scope::Iteration => vec![iteration],
            Scope::Experiment => vec![],
        };
        let strict = CastOptions { safe: false, ..CastOptions::default() };
        let mut columns = key_columns;
        for (c, f) in batch.columns().iter().zip(schema.fields().iter().skip(columns.len())) {
            columns.push(if c.data_type() == f.data_type() { c.clone() } else { cast_with_options(c, f.data_type(), &strict)? });
        }
        RecordBatch::try_new(schema, columns)
    }

    /// A stored batch (or a query result with the stored columns) back in the types of
    /// [`TableDef::columns`]; key and partition columns are dropped.
    pub fn from_stored(&self, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let columns = (self.columns)();
        let strict = CastOptions { safe: false, ..CastOptions::default() };
        let arrays = columns
            .fields()
            .iter()
            .map(|f| {
                let c = batch.column_by_name(f.name()).ok_or_else(|| ArrowError::SchemaError(format!("`{}` has no column `{}`", self.name, f.name())))?;
                if c.data_type() == f.data_type() { Ok(c.clone()) } else { cast_with_options(c, f.data_type(), &strict) }
            })
            .collect::<Result<Vec<_>, _>>()?;
        RecordBatch::try_new(columns, arrays)
    }

    /// The rows of a stored batch in the table's sort order (stable: ties keep their order).
    pub fn sort_batch(&self, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<SortColumn> =
            self.sort.iter().filter_map(|c| batch.column_by_name(c)).map(|values| SortColumn { values: values.clone(), options: None }).collect();
        if columns.is_empty() || batch.num_rows() < 2 {
            return Ok(batch.clone());
        }
        // Row position as the last key keeps the sort stable.
        let mut columns = columns;
        columns.push(SortColumn { values: Arc::new(Int64Array::from_iter_values(0..batch.num_rows() as i64)), options: None });
        take_record_batch(batch, &lexsort_to_indices(&columns, None)?)
    }

    /// The Delta `schemaString` of the table.
    pub fn delta_schema(&self) -> String {
        super::delta::schema::schema_string(&self.stored_schema(), &[PARTITION])
            .unwrap_or_else(|e| panic!("table `{}` has a column Delta cannot describe: {e}", self.name))
    }

    /// A stable, human-readable rendering (what `schemas/<table>.json` holds).
    pub fn render(&self) -> String {
        let columns: Vec<serde_json::Value> = self
            .stored_schema()
            .fields()
            .iter()
            .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()}))
            .collect();
        let doc = serde_json::json!({
            "table": self.name,
            "schema_version": SCHEMA_VERSION,
            "format": "delta",
            "partition_columns": [{"name": PARTITION.0, "type": PARTITION.1.to_string()}],
            "sort_order": self.sort,
            "columns": columns,
        });
        serde_json::to_string_pretty(&doc).expect("JSON values serialize") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_renderings_match_the_registry() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        for t in TABLES {
            let path = dir.join(format!("{}.json", t.name));
            let want = t.render();
            if std::env::var_os("SIMCASH_BLESS").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(have, want, "{} is stale: rerun with SIMCASH_BLESS=1 and review the diff", path.display());
        }
    }

    #[test]
    fn names_are_unique_and_sort_columns_exist() {
        for (i, t) in TABLES.iter().enumerate() {
            assert!(TABLES[..i].iter().all(|u| u.name != t.name), "{} twice", t.name);
            let schema = t.stored_schema();
            for c in t.sort {
                assert!(schema.field_with_name(c).is_ok(), "{}: sort column {c}", t.name);
            }
            assert!(schema.field_with_name(PARTITION.0).is_err(), "{}: the partition column is not stored in the files", t.name);
            // Every table has a Delta schema (this panics on a type Delta cannot hold).
            assert!(t.delta_schema().contains("experiment_id"));
        }
        assert_eq!(simulation_tables().last().map(|t| t.name), Some("simulations"), "the commit marker is written last");
    }
}
