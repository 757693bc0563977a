//! Experiment-level tables: `experiments` (one row per experiment), `iterations` (per
//! iteration and optimised agent) and `policy_evaluations` (per iteration, agent and sample).
//! Layout: `<root>/experiments/experiment_id=<e>/part-0.parquet` and
//! `<root>/<table>/experiment_id=<e>/iteration=<n>/part-0.parquet`. An iteration is committed
//! once its `iterations` file exists; it is written after every simulation and evaluation of
//! the iteration, create-if-absent.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, ListBuilder, RecordBatch, StringArray, StringBuilder, UInt32Array,
    UInt64Array, Float64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode};

use super::StoreError;
use super::layout::Dataset;
use super::writer::{put_batch, runtime};

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

fn file(table: &str, experiment_id: &str, iteration: Option<u32>) -> Path {
    let dir = match iteration {
        Some(i) => format!("{table}/experiment_id={experiment_id}/iteration={i}"),
        None => format!("{table}/experiment_id={experiment_id}"),
    };
    Path::from(format!("{dir}/part-0.parquet"))
}

/// Writes (or replaces) the experiment's row.
pub fn write_experiment(ds: &Dataset, experiment_id: &str, row: &ExperimentRow) -> Result<(), StoreError> {
    put_batch(ds, &file("experiments", experiment_id, None), &experiment_batch(row)?, PutMode::Overwrite)
}

/// Commits one iteration: its paired evaluations, then its `iterations` rows (the marker).
pub fn commit_iteration(ds: &Dataset, experiment_id: &str, iteration: u32, rows: &[IterationRow], evaluations: &[EvaluationRow]) -> Result<(), StoreError> {
    put_batch(ds, &file("policy_evaluations", experiment_id, Some(iteration)), &evaluations_batch(evaluations)?, PutMode::Overwrite)?;
    put_batch(ds, &file("iterations", experiment_id, Some(iteration)), &iterations_batch(rows)?, PutMode::Create)
}

/// The committed iterations of an experiment, in order, each with its rows.
pub fn read_iterations(ds: &Dataset, experiment_id: &str) -> Result<Vec<(u32, Vec<IterationRow>)>, StoreError> {
    let prefix = Path::from(format!("iterations/experiment_id={experiment_id}"));
    let rt = runtime();
    let metas: Vec<_> = rt
        .block_on(ds.store.list(Some(&prefix)).try_collect::<Vec<_>>())
        .map_err(|source| StoreError::Object { path: prefix.to_string(), source })?;
    let mut out = Vec::new();
    for m in metas {
        let Some(i) = m.location.as_ref().split('/').find_map(|p| p.strip_prefix("iteration=")).and_then(|v| v.parse::<u32>().ok()) else {
            continue;
        };
        let bytes = rt
            .block_on(async { ds.store.get(&m.location).await?.bytes().await })
            .map_err(|source| StoreError::Object { path: m.location.to_string(), source })?;
        let perr = |source| StoreError::Parquet { path: m.location.to_string(), source };
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.build()).map_err(perr)?;
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.map_err(arrow_err("iterations"))?;
            rows.extend(rows_of(&batch).ok_or_else(|| StoreError::Root {
                root: ds.display.clone(),
                problem: format!("{} does not have the iterations schema", m.location),
            })?);
        }
        out.push((i, rows));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
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

/// Whether an iteration's marker exists.
pub fn iteration_committed(ds: &Dataset, experiment_id: &str, iteration: u32) -> Result<bool, StoreError> {
    let path = file("iterations", experiment_id, Some(iteration));
    match runtime().block_on(ds.store.head(&path)) {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(source) => Err(StoreError::Object { path: path.to_string(), source }),
    }
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
