//! The `sweep_points` table: one row per committed point of a parameter sweep (which
//! simulation, which seed, which parameter values and policy files).
//! A point's row is committed right after its simulation, in the same group commit, so a
//! point is visible only once its simulation is. Several processes (shards) write disjoint
//! points of one sweep.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::AsArray;
use datafusion::arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringArray, StringBuilder, UInt32Array, UInt64Array};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::StoreError;
use super::delta::action::Action;
use super::layout::Dataset;
use super::layout::runtime;
use super::registry::Keys;
use super::table::Table;

/// The table's name.
pub const TABLE: &str = "sweep_points";

fn f(name: &str, t: DataType, nullable: bool) -> Field {
    Field::new(name, t, nullable)
}

fn list(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

/// One row per committed sweep point.
pub static SWEEP_POINTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        f("point", DataType::UInt32, false),
        f("configuration", DataType::UInt32, false),
        f("seed_index", DataType::UInt32, false),
        f("seed", DataType::UInt64, false),
        f("iteration", DataType::UInt32, false),
        f("simulation_id", DataType::Utf8, false),
        f("sweep_name", DataType::Utf8, false),
        f("scenario", DataType::Utf8, false),
        f("parameter_names", list(DataType::Utf8), false),
        f("parameter_values", list(DataType::Utf8), false),
        f("parameters_json", DataType::Utf8, false),
        f("policy_agents", list(DataType::Utf8), false),
        f("policy_files", list(DataType::Utf8), false),
    ]))
});

/// One point; fields are the columns of [`SWEEP_POINTS`].
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    pub point: u32,
    pub configuration: u32,
    pub seed_index: u32,
    pub seed: u64,
    pub iteration: u32,
    pub simulation_id: String,
    pub sweep_name: String,
    pub scenario: String,
    /// (name as written in the sweep file, value as JSON text).
    pub parameters: Vec<(String, String)>,
    /// (agent, policy file as written).
    pub policies: Vec<(String, String)>,
}

fn batch(r: &PointRow) -> Result<RecordBatch, StoreError> {
    let pairs = |v: &[(String, String)], first: bool| {
        let mut b = ListBuilder::new(StringBuilder::new());
        for (a, x) in v {
            b.values().append_value(if first { a } else { x });
        }
        b.append(true);
        Arc::new(b.finish()) as ArrayRef
    };
    let obj: serde_json::Map<String, serde_json::Value> =
        r.parameters.iter().map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.clone())))).collect();
    let s = |x: &str| Arc::new(StringArray::from_iter_values([x])) as ArrayRef;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(vec![r.point])),
        Arc::new(UInt32Array::from(vec![r.configuration])),
        Arc::new(UInt32Array::from(vec![r.seed_index])),
        Arc::new(UInt64Array::from(vec![r.seed])),
        Arc::new(UInt32Array::from(vec![r.iteration])),
        s(&r.simulation_id),
        s(&r.sweep_name),
        s(&r.scenario),
        pairs(&r.parameters, true),
        pairs(&r.parameters, false),
        s(&serde_json::Value::Object(obj).to_string()),
        pairs(&r.policies, true),
        pairs(&r.policies, false),
    ];
    RecordBatch::try_new(SWEEP_POINTS.clone(), cols).map_err(|source| StoreError::Arrow { table: TABLE, source })
}

fn table(ds: &Dataset) -> Table {
    Table::new(ds, super::registry::get(TABLE).expect("registered"))
}

/// A point's row as stored, to be committed with its simulation
/// (the dataset sink's `WriterOptions::with_rows`).
pub fn stored_row(row: &PointRow) -> Result<RecordBatch, StoreError> {
    let def = super::registry::get(TABLE).expect("registered");
    def.to_stored(Keys { simulation_id: &row.simulation_id, iteration: row.iteration }, &batch(row)?)
        .map_err(|source| StoreError::Arrow { table: TABLE, source })
}

/// Records points whose simulations are already committed (a run that stopped between the
/// two commits).
pub fn write_points(ds: &Dataset, experiment_id: &str, rows: &[PointRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let batches = rows.iter().map(stored_row).collect::<Result<Vec<_>, _>>()?;
    let t = table(ds);
    let rt = runtime();
    let add = rt.block_on(t.write_file(experiment_id, &batches, None))?;
    rt.block_on(super::commit::append(&t, vec![Action::Add(add)], "WRITE"))
}

/// The indices of the points of `experiment_id` already recorded.
pub fn committed_points(ds: &Dataset, experiment_id: &str) -> Result<BTreeSet<u32>, StoreError> {
    let t = table(ds);
    let rt = runtime();
    let snap = rt.block_on(t.snapshot())?;
    let mut points = BTreeSet::new();
    for add in Table::partition_files(&snap, experiment_id) {
        for b in rt.block_on(t.read_file(add))? {
            let Some(p) = b.column_by_name("point").and_then(|c| c.as_primitive_opt::<Int64Type>().cloned()) else { continue };
            points.extend(p.values().iter().map(|v| *v as u32));
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_listed_once_written() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap(), true).unwrap();
        assert!(committed_points(&ds, "sweep-x-1").unwrap().is_empty());
        let row = PointRow {
            point: 3,
            configuration: 1,
            seed_index: 1,
            seed: 9,
            iteration: 0,
            simulation_id: "sim-p0001-s0001".into(),
            sweep_name: "x".into(),
            scenario: "s".into(),
            parameters: vec![("lsm_config.enable_cycles".into(), "true".into())],
            policies: vec![("BANK_A".into(), "a.json".into())],
        };
        write_points(&ds, "sweep-x-1", std::slice::from_ref(&row)).unwrap();
        write_points(&ds, "sweep-x-1", &[PointRow { point: 12, ..row.clone() }]).unwrap();
        assert_eq!(committed_points(&ds, "sweep-x-1").unwrap().into_iter().collect::<Vec<_>>(), vec![3, 12]);
        assert!(committed_points(&ds, "sweep-y-1").unwrap().is_empty());
    }
}
