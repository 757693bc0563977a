//! Commit-aware tables: `committed.events`, `committed.agent_ticks`, `committed.ticks`.
//!
//! Each wraps the table's [`ListingTable`]. At every scan (so once per statement, never
//! cached across statements) it lists the commit markers (`simulations/<partition
//! dirs>/part-0.parquet`) and hands the inner table an extra filter on the partition columns
//! only. Partition-column filters are applied while the files are listed, so an uncommitted
//! simulation's files are never opened and no row is filtered one by one: this replaces the
//! per-row semi-join with `raw.simulations` that the views used to do.
//!
//! Equalities on partition columns in the query (`WHERE simulation_id = 'sim-…'`) narrow the
//! marker lookup (one `head` instead of listing every simulation), and when every committed
//! simulation that can match shares an experiment, iteration or simulation id, that value is
//! passed down too, so the inner table lists only that directory.

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef, UInt32Type};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, ScalarValue, project_schema};
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::listing::helpers::expr_applicable_for_cols;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, TableProviderFilterPushDown, TableType, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::prelude::{col, lit};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::store::SimulationKey;

const PARTS: [&str; 3] = ["experiment_id", "iteration", "simulation_id"];
const MARKER_TABLE: &str = "simulations";
const MARKER_FILE: &str = "part-0.parquet";

/// A physical table that shows committed simulations only (see the module docs).
#[derive(Debug)]
pub struct CommittedTable {
    inner: Arc<ListingTable>,
    store: Arc<dyn ObjectStore>,
}

impl CommittedTable {
    /// Wraps `inner`, a listing table partitioned by the dataset's partition columns, over
    /// the dataset held in `store` (rooted at the dataset root).
    pub fn new(inner: Arc<ListingTable>, store: Arc<dyn ObjectStore>) -> CommittedTable {
        CommittedTable { inner, store }
    }
}

/// Values a query pins a partition column to (`col = 'x'` in a top-level conjunction).
#[derive(Default, Debug)]
struct Pins {
    experiment_id: Option<String>,
    iteration: Option<u32>,
    simulation_id: Option<String>,
}

fn pin(pins: &mut Pins, conflicts: &mut [bool; 3], name: &str, value: &ScalarValue) {
    if value.is_null() {
        return;
    }
    let v = value.to_string();
    let i = PARTS
        .iter()
        .position(|p| *p == name)
        .expect("a partition column");
    let slot_matches = match i {
        0 => pins.experiment_id.get_or_insert_with(|| v.clone()) == &v,
        1 => match v.parse::<u32>() {
            Ok(n) => *pins.iteration.get_or_insert(n) == n,
            Err(_) => false,
        },
        _ => pins.simulation_id.get_or_insert_with(|| v.clone()) == &v,
    };
    if !slot_matches {
        conflicts[i] = true;
    }
}

fn collect_pins(expr: &Expr, pins: &mut Pins, conflicts: &mut [bool; 3]) {
    if let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr {
        match (op, left.as_ref(), right.as_ref()) {
            (Operator::And, l, r) => {
                collect_pins(l, pins, conflicts);
                collect_pins(r, pins, conflicts);
            }
            (Operator::Eq, Expr::Column(c), Expr::Literal(v, _))
            | (Operator::Eq, Expr::Literal(v, _), Expr::Column(c))
                if PARTS.contains(&c.name.as_str()) =>
            {
                pin(pins, conflicts, &c.name, v)
            }
            _ => {}
        }
    }
}

/// Directory names `name=value` directly under `prefix`.
async fn child_values(store: &dyn ObjectStore, prefix: &Path, name: &str) -> Result<Vec<String>> {
    let listed = store
        .list_with_delimiter(Some(prefix))
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    Ok(listed
        .common_prefixes
        .iter()
        .filter_map(|p| {
            p.filename()
                .and_then(|f| f.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        })
        .collect())
}

/// The committed simulations that can satisfy `pins`, from the commit markers.
async fn committed_keys(store: &dyn ObjectStore, pins: &Pins) -> Result<BTreeSet<SimulationKey>> {
    let ext = |e: object_store::Error| DataFusionError::External(Box::new(e));
    let root = Path::from(MARKER_TABLE);
    let experiments = match &pins.experiment_id {
        Some(e) => vec![e.clone()],
        None => child_values(store, &root, PARTS[0]).await?,
    };
    let mut keys = BTreeSet::new();
    for experiment_id in experiments {
        let exp_dir = Path::from(format!("{MARKER_TABLE}/{}={experiment_id}", PARTS[0]));
        let iterations: Vec<u32> = match pins.iteration {
            Some(n) => vec![n],
            None => child_values(store, &exp_dir, PARTS[1])
                .await?
                .iter()
                .filter_map(|v| v.parse().ok())
                .collect(),
        };
        for iteration in iterations {
            match &pins.simulation_id {
                Some(s) => {
                    let key = SimulationKey {
                        experiment_id: experiment_id.clone(),
                        iteration,
                        simulation_id: s.clone(),
                    };
                    match store.head(&key.file(MARKER_TABLE)).await {
                        Ok(meta) if meta.size > 0 => {
                            keys.insert(key);
                        }
                        Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(ext(e)),
                    }
                }
                None => {
                    let dir = Path::from(format!("{exp_dir}/{}={iteration}", PARTS[1]));
                    let files: Vec<_> = store.list(Some(&dir)).try_collect().await.map_err(ext)?;
                    for meta in files {
                        if meta.size == 0 || meta.location.filename() != Some(MARKER_FILE) {
                            continue;
                        }
                        if let Some((_, key)) = SimulationKey::parse(meta.location.as_ref())
                            && meta.location == key.file(MARKER_TABLE)
                        {
                            keys.insert(key);
                        }
                    }
                }
            }
        }
    }
    Ok(keys)
}

/// `simcash_committed(experiment_id, iteration, simulation_id)`: whether the partition is in
/// one scan's snapshot of committed simulations. Built per scan; evaluated once per listed
/// file, on its partition values.
#[derive(Debug)]
struct CommittedUdf {
    keys: Arc<HashMap<(String, u32), BTreeSet<String>>>,
    signature: Signature,
}

impl PartialEq for CommittedUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.keys, &other.keys)
    }
}

impl Eq for CommittedUdf {}

impl Hash for CommittedUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.keys) as usize).hash(state);
    }
}

impl ScalarUDFImpl for CommittedUdf {
    fn name(&self) -> &str {
        "simcash_committed"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let e = cast(&arrays[0], &DataType::Utf8)?;
        let i = cast(&arrays[1], &DataType::UInt32)?;
        let s = cast(&arrays[2], &DataType::Utf8)?;
        let (e, i, s) = (
            e.as_string::<i32>(),
            i.as_primitive::<UInt32Type>(),
            s.as_string::<i32>(),
        );
        let out: BooleanArray = (0..e.len())
            .map(|r| {
                if e.is_null(r) || i.is_null(r) || s.is_null(r) {
                    return Some(false);
                }
                let found = self
                    .keys
                    .get(&(e.value(r).to_owned(), i.value(r)))
                    .is_some_and(|sims| sims.contains(s.value(r)));
                Some(found)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The filters that restrict a scan to `keys`: the membership test, plus an equality for
/// each partition column on which every key agrees (so the listing can use a prefix). Columns
/// the query already pins get no second equality: DataFusion's prefix logic treats a column
/// named twice as unconstrained.
fn commit_filters(keys: &BTreeSet<SimulationKey>, pins: &Pins) -> Vec<Expr> {
    let mut by_iteration: HashMap<(String, u32), BTreeSet<String>> = HashMap::new();
    for k in keys {
        by_iteration.entry((k.experiment_id.clone(), k.iteration)).or_default().insert(k.simulation_id.clone());
    }
    let udf = ScalarUDF::new_from_impl(CommittedUdf {
        keys: Arc::new(by_iteration),
        signature: Signature::exact(vec![DataType::Utf8, DataType::UInt32, DataType::Utf8], Volatility::Immutable),
    });
    let mut filters = vec![udf.call(PARTS.iter().map(|p| col(*p)).collect())];
    let first = keys.first().expect("keys is not empty");
    if keys.iter().all(|k| k.experiment_id == first.experiment_id) {
        if pins.experiment_id.is_none() {
            filters.push(col(PARTS[0]).eq(lit(first.experiment_id.clone())));
        }
        if keys.iter().all(|k| k.iteration == first.iteration) {
            if pins.iteration.is_none() {
                filters.push(col(PARTS[1]).eq(lit(ScalarValue::UInt32(Some(first.iteration)))));
            }
            if keys.len() == 1 && pins.simulation_id.is_none() {
                filters.push(col(PARTS[2]).eq(lit(first.simulation_id.clone())));
            }
        }
    }
    filters
}

#[async_trait]
impl TableProvider for CommittedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut pins = Pins::default();
        let mut conflicts = [false; 3];
        for f in filters
            .iter()
            .filter(|f| expr_applicable_for_cols(&PARTS, f))
        {
            collect_pins(f, &mut pins, &mut conflicts);
        }
        let keys = if conflicts.iter().any(|c| *c) {
            BTreeSet::new()
        } else {
            committed_keys(self.store.as_ref(), &pins).await?
        };
        if keys.is_empty() {
            return Ok(Arc::new(EmptyExec::new(project_schema(
                &self.schema(),
                projection,
            )?)));
        }
        let mut all = filters.to_vec();
        all.extend(commit_filters(&keys, &pins));
        self.inner.scan(state, projection, &all, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(e: &str, i: u32, s: &str) -> SimulationKey {
        SimulationKey {
            experiment_id: e.into(),
            iteration: i,
            simulation_id: s.into(),
        }
    }

    #[test]
    fn equalities_on_partition_columns_are_pins() {
        let f = col("simulation_id")
            .eq(lit("sim-1"))
            .and(lit(ScalarValue::UInt32(Some(3))).eq(col("iteration")));
        let (mut pins, mut conflicts) = (Pins::default(), [false; 3]);
        collect_pins(&f, &mut pins, &mut conflicts);
        assert_eq!(
            (
                pins.experiment_id,
                pins.iteration,
                pins.simulation_id.as_deref()
            ),
            (None, Some(3), Some("sim-1"))
        );
        let f = col("simulation_id")
            .eq(lit("a"))
            .and(col("simulation_id").eq(lit("b")));
        let (mut pins, mut conflicts) = (Pins::default(), [false; 3]);
        collect_pins(&f, &mut pins, &mut conflicts);
        assert_eq!(
            conflicts,
            [false, false, true],
            "two different values match nothing"
        );
    }

    #[test]
    fn shared_partition_values_become_prefix_equalities() {
        let none = Pins::default();
        let one: BTreeSet<_> = [key("e", 0, "s")].into();
        assert_eq!(commit_filters(&one, &none).len(), 4, "membership + three equalities");
        let pinned = Pins { simulation_id: Some("s".into()), ..Pins::default() };
        assert_eq!(commit_filters(&one, &pinned).len(), 3, "no second equality on a pinned column");
        let same_iteration: BTreeSet<_> = [key("e", 0, "s"), key("e", 0, "t")].into();
        assert_eq!(commit_filters(&same_iteration, &none).len(), 3);
        let two_experiments: BTreeSet<_> = [key("e", 0, "s"), key("f", 0, "s")].into();
        assert_eq!(commit_filters(&two_experiments, &none).len(), 1);
    }

    #[tokio::test]
    async fn only_files_with_a_marker_are_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        for (k, marker) in [
            (key("e", 0, "sim-a"), true),
            (key("e", 1, "sim-b"), true),
            (key("f", 0, "sim-c"), false),
        ] {
            for t in ["events", "simulations"] {
                if t == "simulations" && !marker {
                    continue;
                }
                let p = dir.path().join(k.file(t).as_ref());
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, b"x").unwrap();
            }
        }
        // A crashed commit's empty directory and a stray file are not markers.
        std::fs::create_dir_all(
            dir.path()
                .join("simulations/experiment_id=f/iteration=0/simulation_id=sim-d"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join(
                "simulations/experiment_id=f/iteration=0/simulation_id=sim-d/part-0.parquet.tmp",
            ),
            b"x",
        )
        .unwrap();
        let all = committed_keys(&store, &Pins::default()).await.unwrap();
        assert_eq!(all, [key("e", 0, "sim-a"), key("e", 1, "sim-b")].into());
        let pinned = Pins {
            simulation_id: Some("sim-b".into()),
            ..Pins::default()
        };
        assert_eq!(
            committed_keys(&store, &pinned).await.unwrap(),
            [key("e", 1, "sim-b")].into()
        );
        let missing = Pins {
            simulation_id: Some("sim-c".into()),
            ..Pins::default()
        };
        assert!(committed_keys(&store, &missing).await.unwrap().is_empty());
    }
}
