//! The query layer: a DataFusion [`SessionContext`] over the dataset. Each Delta table is
//! registered in schema `raw` as a scan of its latest snapshot ([`snapshot::SnapshotTable`]:
//! every live file); schema `committed` holds the simulation
//! tables restricted to committed simulation groups, and the user-facing views
//! (`queries/views/*.sql`) are registered on top of those. The only module that imports
//! DataFusion's SQL engine.

pub mod export;
pub mod live;
pub mod output;
pub mod snapshot;
mod views;

use std::sync::Arc;

use datafusion::catalog::MemorySchemaProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::store::Dataset;
use crate::store::registry::{self, Scope};
use snapshot::{CheckedStore, Shared, SnapshotTable};

/// A query failure.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// DataFusion refused or failed the query; its reason is kept.
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
}

/// View definitions (a view may use others; each is planned when first named).
pub const VIEWS: &[(&str, &str)] = &[
    ("simulations", include_str!("../../queries/views/simulations.sql")),
    ("simulation_events", include_str!("../../queries/views/simulation_events.sql")),
    ("agent_ticks", include_str!("../../queries/views/agent_ticks.sql")),
    ("ticks", include_str!("../../queries/views/ticks.sql")),
    ("transactions", include_str!("../../queries/views/transactions.sql")),
    ("daily_agent_metrics", include_str!("../../queries/views/daily_agent_metrics.sql")),
    ("agent_costs", include_str!("../../queries/views/agent_costs.sql")),
    ("experiments", include_str!("../../queries/views/experiments.sql")),
    ("experiment_iterations", include_str!("../../queries/views/experiment_iterations.sql")),
    ("policy_evaluations", include_str!("../../queries/views/policy_evaluations.sql")),
    ("experiment_convergence", include_str!("../../queries/views/experiment_convergence.sql")),
    ("policy_evolution", include_str!("../../queries/views/policy_evolution.sql")),
    ("experiment_comparison", include_str!("../../queries/views/experiment_comparison.sql")),
    ("sweep_points", include_str!("../../queries/views/sweep_points.sql")),
];

/// Named analyses (`queries/analyses/*.sql`).
pub const ANALYSES: &[(&str, &str)] = &[
    ("agent_performance", include_str!("../../queries/analyses/agent_performance.sql")),
    ("settlement_rate_by_day", include_str!("../../queries/analyses/settlement_rate_by_day.sql")),
    ("delay_percentiles", include_str!("../../queries/analyses/delay_percentiles.sql")),
    ("cost_breakdown", include_str!("../../queries/analyses/cost_breakdown.sql")),
    ("compare_simulations", include_str!("../../queries/analyses/compare_simulations.sql")),
];

/// Where the dataset's read-only [`snapshot::CheckedStore`] is registered.
const STORE_URL: &str = "simcash://dataset/";

/// Opens a session over `dataset` with the physical tables and every view registered.
pub async fn session(dataset: &Dataset) -> Result<SessionContext, QueryError> {
    // DATAFUSION_* environment variables tune the engine (e.g. DATAFUSION_EXECUTION_BATCH_SIZE).
    let mut config = SessionConfig::from_env()?.with_information_schema(true);
    if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS").is_none() {
        // Filters (a simulation id, above all) are applied while decoding: the other columns
        // of a row group are decoded only for the rows that match.
        config.options_mut().execution.parquet.pushdown_filters = true;
        config.options_mut().execution.parquet.reorder_filters = true;
    }
    if std::env::var_os("DATAFUSION_OPTIMIZER_REPARTITION_FILE_SCANS").is_none() {
        // Scans are spread over the cores when planned (`snapshot::balance`); splitting the
        // files again would make a scan of two files read a footer three times.
        config.options_mut().optimizer.repartition_file_scans = false;
    }
    if std::env::var_os("DATAFUSION_OPTIMIZER_ENABLE_ROUND_ROBIN_REPARTITION").is_none() {
        // A scan already uses every core when there is work for them (see above); dealing a
        // single file's batches out to the cores again costs tasks and channels, and keeps a
        // view's computed columns out of the scan: a one-simulation query of
        // simulation_events took 14% longer with it, an aggregate over one large file 9% less.
        config.options_mut().optimizer.enable_round_robin_repartition = false;
    }
    let ctx = SessionContext::new_with_config(config);
    let shared = Shared {
        dataset: dataset.clone(),
        live: Arc::default(),
        store_url: ObjectStoreUrl::parse(STORE_URL)?,
        store: Arc::new(CheckedStore::new(dataset.clone())),
    };
    ctx.register_object_store(shared.store_url.as_ref(), shared.store.clone());
    let catalog = ctx.catalog("datafusion").expect("the default catalog exists");
    catalog.register_schema("raw", Arc::new(MemorySchemaProvider::new()))?;
    catalog.register_schema("committed", Arc::new(MemorySchemaProvider::new()))?;
    for table in registry::TABLES {
        let provider = |committed_only| Arc::new(SnapshotTable::new(&shared, table, committed_only));
        ctx.register_table(format!("raw.{}", table.name), provider(false))?;
        if table.scope == Scope::Simulation && table.name != "simulations" {
            ctx.register_table(format!("committed.{}", table.name), provider(true))?;
        }
    }
    let state = ctx.state_weak_ref();
    let views = views::ViewSchema::new(move || state.upgrade().map(|s| s.read().clone()));
    catalog.register_schema("public", Arc::new(views))?;
    Ok(ctx)
}

/// Every experiment, sweep and group of CLI runs (`kind`: experiment, sweep or runs), newest
/// first: what `simcash list` and `simcash serve` show.
pub const EXPERIMENTS_LIST: &str = "SELECT s.experiment_id, \
     COALESCE(e.name, p.sweep_name, s.experiment_id) AS name, \
     CASE WHEN e.experiment_id IS NOT NULL THEN 'experiment' WHEN p.sweep_name IS NOT NULL THEN 'sweep' ELSE 'runs' END AS kind, \
     COALESCE(e.status, 'committed') AS status, MAX(s.iteration) + 1 AS iterations, COUNT(*) AS simulations, \
     MAX(s.finished_at) AS last_finished \
     FROM simulations s LEFT JOIN experiments e ON e.experiment_id = s.experiment_id \
     LEFT JOIN (SELECT DISTINCT experiment_id, sweep_name FROM sweep_points) p ON p.experiment_id = s.experiment_id \
     GROUP BY s.experiment_id, e.experiment_id, e.name, p.sweep_name, e.status ORDER BY last_finished DESC, s.experiment_id";

/// Physical and view names a user can query, for `simcash schema`.
pub fn table_names() -> Vec<&'static str> {
    const RAW: &[&str] =
        &["raw.events", "raw.agent_ticks", "raw.ticks", "raw.simulations", "raw.experiments", "raw.iterations", "raw.policy_evaluations", "raw.sweep_points"];
    debug_assert_eq!(RAW.len(), registry::TABLES.len());
    VIEWS.iter().map(|(n, _)| *n).chain(RAW.iter().copied()).collect()
}

/// Runs one SQL statement and collects its result.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<datafusion::arrow::array::RecordBatch>, QueryError> {
    Ok(guarded(async { ctx.sql(sql).await?.collect().await }).await?)
}

/// `f`, with a panic inside DataFusion or the Parquet decoders (which panic on some damaged
/// pages) as an error.
pub async fn guarded<T>(f: impl std::future::Future<Output = Result<T, DataFusionError>>) -> Result<T, DataFusionError> {
    let damaged = |detail: &str| DataFusionError::Execution(format!("a data file is damaged: the Parquet reader stopped on it{detail}"));
    let task_panic = |x: &(dyn std::error::Error + Send + Sync + 'static)| {
        x.downcast_ref::<std::sync::Arc<tokio::task::JoinError>>().is_some_and(|j| j.is_panic())
            || x.downcast_ref::<tokio::task::JoinError>().is_some_and(|j| j.is_panic())
    };
    match crate::store::unpanic::unpanic_async(f).await {
        Ok(Err(e)) => Err(match e.find_root() {
            // DataFusion's own report of a panic in one of its tasks.
            DataFusionError::ExecutionJoin(j) if j.is_panic() => damaged(""),
            DataFusionError::External(x) if task_panic(x.as_ref()) => damaged(""),
            _ => e,
        }),
        Ok(ok) => ok,
        Err(message) => Err(damaged(&format!(" ({message})"))),
    }
}

/// The SQL text of a named analysis.
pub fn analysis(name: &str) -> Option<&'static str> {
    ANALYSES.iter().find(|(n, _)| *n == name).map(|(_, sql)| *sql)
}

/// The one-line `-- grain:` description of a view.
pub fn view_grain(name: &str) -> Option<&'static str> {
    let sql = VIEWS.iter().find(|(n, _)| *n == name)?.1;
    sql.lines().find_map(|l| l.strip_prefix("-- grain: "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{ParquetSink, WriterOptions};
    use crate::store::SimulationKey;

    fn persist(dataset: &Dataset, experiment_id: &str, simulation_id: &str, seed: u64) {
        let key = SimulationKey { experiment_id: experiment_id.into(), iteration: 0, simulation_id: simulation_id.into() };
        let mut sink = ParquetSink::new(dataset.clone(), key, WriterOptions::default());
        // 12 banks at a high rate: Queue 2, LSM offsets and cycles.
        let cfg = crate::scenario::generate::uniform(12, 60, 2, 0.9, seed);
        crate::run::run_simulation(cfg, &mut [&mut sink], |_| {}).unwrap();
    }

    /// A dataset in a temporary directory holding `sims` (experiment, simulation, seed), and a
    /// session over it.
    struct Fixture {
        dir: tempfile::TempDir,
        dataset: Dataset,
        rt: tokio::runtime::Runtime,
        ctx: SessionContext,
    }

    fn fixture(sims: &[(&str, &str, u64)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let dataset = Dataset::open(dir.path().to_str().unwrap(), true).unwrap();
        for (experiment_id, simulation_id, seed) in sims {
            persist(&dataset, experiment_id, simulation_id, *seed);
        }
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let ctx = rt.block_on(session(&dataset)).unwrap();
        Fixture { dir, dataset, rt, ctx }
    }

    fn strings(rt: &tokio::runtime::Runtime, ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = rt.block_on(run_sql(ctx, sql)).unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        text.lines().skip(3).filter(|l| !l.starts_with('+')).map(str::to_owned).collect()
    }

    #[test]
    fn one_session_sees_later_commits_and_never_uncommitted_files() {
        let Fixture { dir, dataset, rt, ctx } = fixture(&[("exp-a", "sim-a", 1)]);
        let views = ["simulations", "simulation_events", "agent_ticks", "ticks", "transactions", "daily_agent_metrics", "agent_costs"];
        let ids = |v: &str| strings(&rt, &ctx, &format!("SELECT DISTINCT simulation_id FROM {v} ORDER BY simulation_id"));
        for v in views {
            assert_eq!(ids(v), vec!["| sim-a         |"], "{v}");
        }
        // Committed after the session opened: visible to the next statement. Data committed
        // but its `simulations` commit undone (a run killed between the two): never visible
        // through the views, even when named.
        persist(&dataset, "exp-a", "sim-b", 2);
        persist(&dataset, "exp-b", "sim-c", 3);
        let log = dir.path().join("simulations/_delta_log");
        let mut commits: Vec<_> = std::fs::read_dir(&log).unwrap().map(|e| e.unwrap().path()).collect();
        commits.sort();
        std::fs::remove_file(commits.last().unwrap()).unwrap();
        for v in views {
            assert_eq!(ids(v), vec!["| sim-a         |", "| sim-b         |"], "{v}");
            let named = strings(&rt, &ctx, &format!("SELECT COUNT(*) FROM {v} WHERE simulation_id = 'sim-c'"));
            assert_eq!(named, vec!["| 0        |"], "{v}");
        }
        assert_eq!(strings(&rt, &ctx, "SELECT COUNT(DISTINCT simulation_id) AS n FROM raw.events"), vec!["| 3 |"]);
        let one_sim = strings(&rt, &ctx, "SELECT COUNT(*) FROM simulation_events WHERE simulation_id = 'sim-b'");
        assert_ne!(one_sim, vec!["| 0        |"]);
        // The aggregate view equals the event-based computation on these LSM-heavy runs.
        let order = "ORDER BY experiment_id, iteration, simulation_id, agent, day";
        let reference = include_str!("../../tests/it/daily_agent_metrics_from_events.sql");
        let want = strings(&rt, &ctx, &format!("SELECT * FROM ({reference}) {order}"));
        let got = strings(&rt, &ctx, &format!("SELECT * FROM daily_agent_metrics {order}"));
        assert_eq!(got.len(), 2 * 12 * 2);
        assert_eq!(got, want);
        let lsm = strings(&rt, &ctx, "SELECT COUNT(DISTINCT event_type) FROM simulation_events WHERE event_type LIKE 'Lsm%'");
        assert_ne!(lsm, vec!["| 0                                             |"], "the runs use the LSM");
    }

    /// The data files a statement's plan reads.
    fn files_read(rt: &tokio::runtime::Runtime, ctx: &SessionContext, sql: &str) -> usize {
        let plan = rt.block_on(async { ctx.sql(sql).await?.create_physical_plan().await }).unwrap();
        datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string().matches(".parquet").count()
    }

    #[test]
    fn a_view_of_one_file_is_one_scan_that_computes_the_view() {
        let Fixture { dir: _dir, rt, ctx, .. } = fixture(&[("exp-a", "sim-a", 1)]);
        // simulation_events computes tx_id: the projection is evaluated by the scan itself,
        // not by operators that deal one file's batches out to the cores and back.
        let sql = "SELECT * FROM simulation_events WHERE simulation_id = 'sim-a'";
        let plan = rt.block_on(async { ctx.sql(sql).await?.create_physical_plan().await }).unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref()).indent(false).to_string();
        assert_eq!(shown.lines().count(), 1, "{shown}");
        assert!(shown.starts_with("DataSourceExec") && shown.contains("as tx_id"), "{shown}");
        let rows = strings(&rt, &ctx, "SELECT COUNT(*), COUNT(tx_id), MIN(tx_id) FROM simulation_events WHERE simulation_id = 'sim-a'");
        let want = strings(&rt, &ctx, "SELECT COUNT(*), COUNT(tx), 'tx-' || lpad(CAST(MIN(tx) AS VARCHAR), 8, '0') FROM raw.events");
        let cells = |row: &str| row.split('|').map(|c| c.trim().to_owned()).collect::<Vec<_>>();
        assert_eq!(rows.iter().map(|r| cells(r)).collect::<Vec<_>>(), want.iter().map(|r| cells(r)).collect::<Vec<_>>());
    }

    #[test]
    fn a_scan_reads_only_the_files_the_log_says_may_match() {
        let Fixture { dir: _dir, rt, ctx, .. } = fixture(&[("exp-a", "sim-a", 1), ("exp-a", "sim-b", 2), ("exp-b", "sim-c", 3)]);
        let cases = [
            ("SELECT * FROM raw.events", 3),
            ("SELECT * FROM raw.events WHERE simulation_id = 'sim-b'", 1),
            ("SELECT * FROM simulation_events WHERE simulation_id IN ('sim-a', 'sim-c')", 2),
            ("SELECT * FROM raw.events WHERE experiment_id = 'exp-b'", 1),
            ("SELECT * FROM raw.events WHERE simulation_id > 'sim-a' AND experiment_id = 'exp-a'", 1),
            ("SELECT * FROM raw.events WHERE tick > 1000000", 0),
            ("SELECT * FROM raw.events WHERE simulation_id = 'sim-z'", 0),
        ];
        for (sql, files) in cases {
            assert_eq!(files_read(&rt, &ctx, sql), files, "{sql}");
        }
        // Pruned or not, the rows are those a full scan filters to; counts from the log's
        // statistics equal counted rows.
        for filter in ["simulation_id = 'sim-b'", "experiment_id = 'exp-b'", "tick > 1000000", "simulation_id IN ('sim-a', 'sim-c')"] {
            let pruned = strings(&rt, &ctx, &format!("SELECT COUNT(*), SUM(seq) FROM raw.events WHERE {filter}"));
            let full = strings(&rt, &ctx, &format!("SELECT COUNT(*), SUM(seq) FROM (SELECT * FROM raw.events WHERE seq >= 0) WHERE {filter}"));
            assert_eq!(pruned, full, "{filter}");
        }
        let counted = strings(&rt, &ctx, "SELECT COUNT(seq) AS n FROM raw.events");
        assert_eq!(strings(&rt, &ctx, "SELECT COUNT(*) AS n FROM raw.events"), counted);
    }

    #[test]
    fn views_are_planned_when_named_and_behave_like_created_views() {
        let Fixture { dir: _dir, dataset, rt, ctx } = fixture(&[]);
        let run = |sql: &str| rt.block_on(run_sql(&ctx, sql));
        for (view, _) in VIEWS {
            run(&format!("SELECT * FROM {view} LIMIT 0")).unwrap_or_else(|e| panic!("{view}: {e}"));
        }
        let listed = strings(&rt, &ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'VIEW'");
        assert_eq!(listed, vec![format!("| {:<8} |", VIEWS.len())]);
        // A built-in view cannot be created twice, but can be replaced or dropped, planned or not.
        let err = run("CREATE VIEW sweep_points AS SELECT 1 AS x").unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        run("CREATE OR REPLACE VIEW simulations AS SELECT 7 AS x").unwrap();
        assert_eq!(strings(&rt, &ctx, "SELECT x FROM simulations"), vec!["| 7 |"]);
        let fresh = rt.block_on(session(&dataset)).unwrap();
        rt.block_on(run_sql(&fresh, "DROP VIEW experiment_comparison")).unwrap();
        let err = rt.block_on(run_sql(&fresh, "SELECT * FROM experiment_comparison")).unwrap_err().to_string();
        assert!(err.contains("not found"), "{err}");
        rt.block_on(run_sql(&fresh, "CREATE VIEW mine AS SELECT COUNT(*) AS n FROM simulation_events")).unwrap();
        assert_eq!(strings(&rt, &fresh, "SELECT n FROM mine"), vec!["| 0 |"]);
    }

    #[test]
    fn every_query_file_has_a_header_and_is_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        for (dir, list, kind) in [("views", VIEWS, "view"), ("analyses", ANALYSES, "analysis")] {
            let mut files: Vec<String> =
                std::fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned()).collect();
            files.sort();
            let mut names: Vec<String> = list.iter().map(|(n, _)| n.to_string()).collect();
            names.sort();
            assert_eq!(files, names, "every file in queries/{dir} is registered, and only those");
            for (name, sql) in list {
                assert!(sql.starts_with(&format!("-- {kind}: {name}\n")), "{name} opens with its header");
            }
        }
        for (name, _) in VIEWS {
            assert!(view_grain(name).is_some(), "{name} has a grain line");
        }
    }
}
