//! Experiment-level tables: `experiments` (one row per experiment), `iterations` (per
//! iteration and optimised agent) and `policy_evaluations` (per iteration, agent and sample).
//! Each is a Delta table partitioned by experiment. An iteration is committed once its
//! `iterations` rows are (recorded with a `txn`, so only once); they are written after every
//! simulation and evaluation of the iteration.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::AsArray;
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Float64Builder, Int64Array, ListArray, ListBuilder, RecordBatch, StringArray, StringBuilder, UInt32Array,
    UInt64Array,
};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::StoreError;
use super::delta::action::Add;
use super::layout::Dataset;
use super::layout::runtime;
use super::registry::{self, Keys};
use super::table::Table;

fn f(name: &str, t: DataType, nullable: bool) -> Field {
    Field::new(name, t, nullable)
}

fn list(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

/// One row per experiment; rewritten when it finishes.
pub static EXPERIMENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        f("name", DataType::Utf8, false),
        f("description", DataType::Utf8, false),
        f("scenario", DataType::Utf8, false),
        f("mode", DataType::Utf8, false),
        f("num_samples", DataType::UInt32, false),
        f("master_seed", DataType::UInt64, false),
        f("optimized_agents", list(DataType::Utf8), false),
        f("proposer", DataType::Utf8, false),
        f("config_json", DataType::Utf8, false),
        f("status", DataType::Utf8, false),
        f("convergence_reason", DataType::Utf8, true),
        f("iterations", DataType::UInt32, false),
        f("started_at", DataType::Int64, false),
        f("finished_at", DataType::Int64, true),
    ]))
});

/// One row per iteration and optimised agent.
pub static ITERATIONS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        f("agent", DataType::Utf8, false),
        f("seed", DataType::UInt64, false),
        f("num_samples", DataType::UInt32, false),
        f("policy_json", DataType::Utf8, false),
        f("parameter_names", list(DataType::Utf8), false),
        f("parameter_values", list(DataType::Float64), false),
        f("cost", DataType::Float64, false),
        f("total_cost", DataType::Float64, false),
        f("settlement_rate", DataType::Float64, false),
        f("proposal_json", DataType::Utf8, true),
        f("proposal_request", DataType::Utf8, true),
        f("proposal_response", DataType::Utf8, true),
        f("accepted", DataType::Boolean, false),
        f("reason", DataType::Utf8, false),
        f("delta_sum", DataType::Float64, true),
        f("mean_old", DataType::Float64, true),
        f("mean_new", DataType::Float64, true),
        f("ci_low", DataType::Float64, true),
        f("ci_high", DataType::Float64, true),
        f("next_policy_json", DataType::Utf8, false),
    ]))
});

/// One row per iteration, agent and sample of a paired evaluation.
pub static POLICY_EVALUATIONS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        f("agent", DataType::Utf8, false),
        f("sample", DataType::UInt32, false),
        f("seed", DataType::UInt64, false),
        f("old_cost", DataType::Int64, false),
        f("new_cost", DataType::Int64, false),
        f("delta", DataType::Int64, false),
        f("old_simulation_id", DataType::Utf8, false),
        f("new_simulation_id", DataType::Utf8, false),
    ]))
});

/// The experiment's row; fields are the columns of [`EXPERIMENTS`].
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct ExperimentRow {
    pub name: String,
    pub description: String,
    pub scenario: String,
    pub mode: String,
    pub num_samples: u32,
    pub master_seed: u64,
    pub optimized_agents: Vec<String>,
    pub proposer: String,
    pub config_json: String,
    pub status: String,
    pub convergence_reason: Option<String>,
    pub iterations: u32,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

/// One agent's record of one iteration; fields are the columns of [`ITERATIONS`].
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub struct IterationRow {
    pub agent: String,
    pub seed: u64,
    pub num_samples: u32,
    pub policy_json: String,
    pub parameters: Vec<(String, f64)>,
    pub cost: f64,
    pub total_cost: f64,
    pub settlement_rate: f64,
    pub proposal_json: Option<String>,
    pub proposal_request: Option<String>,
    pub proposal_response: Option<String>,
    pub accepted: bool,
    pub reason: String,
    pub delta_sum: Option<f64>,
    pub mean_old: Option<f64>,
    pub mean_new: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub next_policy_json: String,
}

/// One sample of a paired evaluation; fields are the columns of [`POLICY_EVALUATIONS`]
/// (`delta` is computed).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRow {
    pub agent: String,
    pub sample: u32,
    pub seed: u64,
    pub old_cost: i64,
    pub new_cost: i64,
    pub old_simulation_id: String,
    pub new_simulation_id: String,
}

fn strings<'a>(v: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

fn opt_strings<'a>(v: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(v.collect::<StringArray>())
}

fn opt_f64(v: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(v.collect::<Float64Array>())
}

fn arrow_err(table: &'static str) -> impl Fn(datafusion::arrow::error::ArrowError) -> StoreError {
    move |source| StoreError::Arrow { table, source }
}

fn experiment_batch(r: &ExperimentRow) -> Result<RecordBatch, StoreError> {
    let mut agents = ListBuilder::new(StringBuilder::new());
    for a in &r.optimized_agents {
        agents.values().append_value(a);
    }
    agents.append(true);
    let cols: Vec<ArrayRef> = vec![
        strings([r.name.as_str()].into_iter()),
        strings([r.description.as_str()].into_iter()),
        strings([r.scenario.as_str()].into_iter()),
        strings([r.mode.as_str()].into_iter()),
        Arc::new(UInt32Array::from(vec![r.num_samples])),
        Arc::new(UInt64Array::from(vec![r.master_seed])),
        Arc::new(agents.finish()),
        strings([r.proposer.as_str()].into_iter()),
        strings([r.config_json.as_str()].into_iter()),
        strings([r.status.as_str()].into_iter()),
        opt_strings([r.convergence_reason.as_deref()].into_iter()),
        Arc::new(UInt32Array::from(vec![r.iterations])),
        Arc::new(Int64Array::from(vec![r.started_at])),
        Arc::new(Int64Array::from(vec![r.finished_at])),
    ];
    RecordBatch::try_new(EXPERIMENTS.clone(), cols).map_err(arrow_err("experiments"))
}

fn iterations_batch(rows: &[IterationRow]) -> Result<RecordBatch, StoreError> {
    let mut names = ListBuilder::new(StringBuilder::new());
    let mut values = ListBuilder::new(Float64Builder::new());
    for r in rows {
        for (n, v) in &r.parameters {
            names.values().append_value(n);
            values.values().append_value(*v);
        }
        names.append(true);
        values.append(true);
    }
    let cols: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| r.agent.as_str())),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.seed))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.num_samples))),
        strings(rows.iter().map(|r| r.policy_json.as_str())),
        Arc::new(names.finish()),
        Arc::new(values.finish()),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.cost))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.total_cost))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.settlement_rate))),
        opt_strings(rows.iter().map(|r| r.proposal_json.as_deref())),
        opt_strings(rows.iter().map(|r| r.proposal_request.as_deref())),
        opt_strings(rows.iter().map(|r| r.proposal_response.as_deref())),
        Arc::new(BooleanArray::from(rows.iter().map(|r| r.accepted).collect::<Vec<_>>())),
        strings(rows.iter().map(|r| r.reason.as_str())),
        opt_f64(rows.iter().map(|r| r.delta_sum)),
        opt_f64(rows.iter().map(|r| r.mean_old)),
        opt_f64(rows.iter().map(|r| r.mean_new)),
        opt_f64(rows.iter().map(|r| r.ci_low)),
        opt_f64(rows.iter().map(|r| r.ci_high)),
        strings(rows.iter().map(|r| r.next_policy_json.as_str())),
    ];
    RecordBatch::try_new(ITERATIONS.clone(), cols).map_err(arrow_err("iterations"))
}

fn evaluations_batch(rows: &[EvaluationRow]) -> Result<RecordBatch, StoreError> {
    let cols: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| r.agent.as_str())),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.sample))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.seed))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.old_cost))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.new_cost))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.old_cost - r.new_cost))),
        strings(rows.iter().map(|r| r.old_simulation_id.as_str())),
        strings(rows.iter().map(|r| r.new_simulation_id.as_str())),
    ];
    RecordBatch::try_new(POLICY_EVALUATIONS.clone(), cols).map_err(arrow_err("policy_evaluations"))
}

fn table(ds: &Dataset, name: &str) -> Table {
    Table::new(ds, registry::get(name).expect("registered"))
}

fn stored(name: &str, iteration: u32, batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    let def = registry::get(name).expect("registered");
    def.to_stored(Keys { simulation_id: "", iteration }, batch).map_err(arrow_err(def.name))
}

/// Whether a file holds exactly iteration `i` (from its statistics).
fn holds_iteration(add: &Add, i: u32) -> bool {
    let (lo, hi) = super::commit::int_bounds(add, "iteration");
    lo == Some(i64::from(i)) && hi == Some(i64::from(i))
}

/// Writes (or replaces) the experiment's row.
pub fn write_experiment(ds: &Dataset, experiment_id: &str, row: &ExperimentRow) -> Result<(), StoreError> {
    let batch = stored("experiments", 0, &experiment_batch(row)?)?;
    runtime().block_on(table(ds, "experiments").replace(experiment_id, &[batch], |_| true, None))
}

/// Commits one iteration: its paired evaluations, then its `iterations` rows (once).
pub fn commit_iteration(ds: &Dataset, experiment_id: &str, iteration: u32, rows: &[IterationRow], evaluations: &[EvaluationRow]) -> Result<(), StoreError> {
    let evaluations = stored("policy_evaluations", iteration, &evaluations_batch(evaluations)?)?;
    let rows = stored("iterations", iteration, &iterations_batch(rows)?)?;
    let rt = runtime();
    rt.block_on(table(ds, "policy_evaluations").replace(experiment_id, &[evaluations], |a| holds_iteration(a, iteration), None))?;
    let once = iteration_app(experiment_id, iteration);
    rt.block_on(table(ds, "iterations").replace(experiment_id, &[rows], |_| false, Some(&once)))
}

/// The committed iterations of an experiment, in order, each with its rows.
pub fn read_iterations(ds: &Dataset, experiment_id: &str) -> Result<Vec<(u32, Vec<IterationRow>)>, StoreError> {
    let t = table(ds, "iterations");
    let rt = runtime();
    let snap = rt.block_on(t.snapshot())?;
    let mut by_iteration: std::collections::BTreeMap<u32, Vec<IterationRow>> = std::collections::BTreeMap::new();
    for add in Table::partition_files(&snap, experiment_id) {
        for batch in rt.block_on(t.read_file(add))? {
            let iterations = batch.column_by_name("iteration").and_then(|c| c.as_primitive_opt::<Int64Type>().cloned());
            let logical = t.def.from_stored(&batch).map_err(arrow_err("iterations"))?;
            let (Some(iterations), Some(rows)) = (iterations, rows_of(&logical)) else {
                return Err(StoreError::Root {
                    root: ds.display.clone(),
                    problem: format!("{} does not have the iterations schema", t.object_path(&add.path)),
                });
            };
            for (i, row) in iterations.values().iter().zip(rows) {
                by_iteration.entry(*i as u32).or_default().push(row);
            }
        }
    }
    Ok(by_iteration.into_iter().collect())
}

fn rows_of(b: &RecordBatch) -> Option<Vec<IterationRow>> {
    let s = |name: &str| b.column_by_name(name)?.as_any().downcast_ref::<StringArray>().cloned();
    let fl = |name: &str| b.column_by_name(name)?.as_any().downcast_ref::<Float64Array>().cloned();
    let ostr = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_owned());
    let of = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    let (agent, policy, proposal, request, response, reason, next) =
        (s("agent")?, s("policy_json")?, s("proposal_json")?, s("proposal_request")?, s("proposal_response")?, s("reason")?, s("next_policy_json")?);
    let (cost, total, rate, delta, mold, mnew, lo, hi) =
        (fl("cost")?, fl("total_cost")?, fl("settlement_rate")?, fl("delta_sum")?, fl("mean_old")?, fl("mean_new")?, fl("ci_low")?, fl("ci_high")?);
    let seed = b.column_by_name("seed")?.as_any().downcast_ref::<UInt64Array>()?.clone();
    let n = b.column_by_name("num_samples")?.as_any().downcast_ref::<UInt32Array>()?.clone();
    let acc = b.column_by_name("accepted")?.as_any().downcast_ref::<BooleanArray>()?.clone();
    let names = b.column_by_name("parameter_names")?.as_any().downcast_ref::<ListArray>()?.clone();
    let values = b.column_by_name("parameter_values")?.as_any().downcast_ref::<ListArray>()?.clone();
    (0..b.num_rows())
        .map(|i| {
            let nm = names.value(i);
            let nm = nm.as_any().downcast_ref::<StringArray>()?;
            let vl = values.value(i);
            let vl = vl.as_any().downcast_ref::<Float64Array>()?;
            Some(IterationRow {
                agent: agent.value(i).to_owned(),
                seed: seed.value(i),
                num_samples: n.value(i),
                policy_json: policy.value(i).to_owned(),
                parameters: (0..nm.len()).map(|k| (nm.value(k).to_owned(), vl.value(k))).collect(),
                cost: cost.value(i),
                total_cost: total.value(i),
                settlement_rate: rate.value(i),
                proposal_json: ostr(&proposal, i),
                proposal_request: ostr(&request, i),
                proposal_response: ostr(&response, i),
                accepted: acc.value(i),
                reason: reason.value(i).to_owned(),
                delta_sum: of(&delta, i),
                mean_old: of(&mold, i),
                mean_new: of(&mnew, i),
                ci_low: of(&lo, i),
                ci_high: of(&hi, i),
                next_policy_json: next.value(i).to_owned(),
            })
        })
        .collect()
}

/// The `txn` application id that records a committed iteration.
pub fn iteration_app(experiment_id: &str, iteration: u32) -> String {
    format!("simcash.iteration/{experiment_id}/{iteration}")
}

/// Whether an iteration is committed.
pub fn iteration_committed(ds: &Dataset, experiment_id: &str, iteration: u32) -> Result<bool, StoreError> {
    let snap = runtime().block_on(table(ds, "iterations").snapshot())?;
    Ok(snap.txns.contains_key(&iteration_app(experiment_id, iteration)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(agent: &str, accepted: bool) -> IterationRow {
        IterationRow {
            agent: agent.into(),
            seed: 7,
            num_samples: 3,
            policy_json: "{}".into(),
            parameters: vec![("initial_liquidity_fraction".into(), 0.25)],
            cost: 12.5,
            total_cost: 30.0,
            settlement_rate: 1.0,
            proposal_json: accepted.then(|| "{\"p\":1}".into()),
            proposal_request: None,
            proposal_response: Some("x".into()),
            accepted,
            reason: "r".into(),
            delta_sum: Some(1.0),
            mean_old: None,
            mean_new: Some(2.0),
            ci_low: None,
            ci_high: Some(3.0),
            next_policy_json: "{\"n\":1}".into(),
        }
    }

    #[test]
    fn iterations_round_trip_and_commit_once() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap(), true).unwrap();
        let rows = vec![row("A", true), row("B", false)];
        assert!(!iteration_committed(&ds, "exp-x", 0).unwrap());
        commit_iteration(&ds, "exp-x", 0, &rows, &[]).unwrap();
        commit_iteration(&ds, "exp-x", 1, &rows[..1], &[]).unwrap();
        assert!(iteration_committed(&ds, "exp-x", 0).unwrap());
        assert_eq!(read_iterations(&ds, "exp-x").unwrap(), vec![(0, rows.clone()), (1, rows[..1].to_vec())]);
        // The marker is create-if-absent: a second commit of the same iteration is refused.
        assert!(commit_iteration(&ds, "exp-x", 0, &rows, &[]).is_err());
        assert_eq!(read_iterations(&ds, "exp-y").unwrap(), vec![]);
    }
}
