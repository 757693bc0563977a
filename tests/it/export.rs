//! `simcash export`: every format round-trips counts and sums, partitioned exports follow the
//! hive layout, bad input gets exit code 2, and a failed export leaves nothing behind.

use std::path::Path;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};

use crate::util::{simcash, stderr};

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let o = simcash(dir, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stderr(&o)
}

/// Two simulations of the default scenario (different seeds).
fn dataset() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run_ok(dir.path(), &["run", "--simulation-id", "sim-one"]);
    run_ok(dir.path(), &["run", "--simulation-id", "sim-two", "--seed", "7"]);
    dir
}

/// A query's result through `simcash sql`, as CSV lines without the header.
fn sql(dir: &Path, q: &str) -> Vec<String> {
    let o = simcash(dir, &["sql", "--format", "csv", q]);
    assert!(o.status.success(), "{q}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap().lines().skip(1).map(str::to_owned).collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A query's result through an independent DataFusion session, as CSV-like lines.
fn lines(rt: &tokio::runtime::Runtime, ctx: &SessionContext, q: &str) -> Vec<String> {
    let batches = rt.block_on(async { ctx.sql(q).await.unwrap().collect().await.unwrap() });
    let text = pretty_format_batches(&batches).unwrap().to_string();
    text.lines().skip(3).filter(|l| !l.starts_with('+')).map(|l| l.trim_matches('|').split('|').map(str::trim).collect::<Vec<_>>().join(",")).collect()
}

const PER_TYPE: &str = "SELECT CAST(event_type AS VARCHAR) AS t, COUNT(*) AS n, SUM(amount) AS s FROM {T} GROUP BY 1 ORDER BY 1";
const PER_SIM: &str = "SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS s, MAX(tick) AS t FROM {T} GROUP BY 1 ORDER BY 1";

#[test]
fn every_format_round_trips_counts_and_sums() {
    let data = dataset();
    let d = data.path();
    let want_types = sql(d, &PER_TYPE.replace("{T}", "simulation_events"));
    let want_sims = sql(d, &PER_SIM.replace("{T}", "simulation_events"));
    assert!(want_types.len() > 3 && want_sims.len() == 2, "{want_types:?} {want_sims:?}");
    let rt = rt();
    for ext in ["parquet", "arrow", "csv", "jsonl"] {
        let out = format!("events.{ext}");
        let msg = run_ok(d, &["export", "--table", "simulation_events", "-o", &out]);
        assert!(msg.contains(&format!("to events.{ext} ({ext}, 1 file)")), "{msg}");
        let ctx = SessionContext::new();
        let path = d.join(&out);
        let path = path.to_str().unwrap();
        rt.block_on(async {
            match ext {
                "parquet" => ctx.register_parquet("t", path, ParquetReadOptions::default()).await,
                "arrow" => ctx.register_arrow("t", path, Default::default()).await,
                "csv" => ctx.register_csv("t", path, CsvReadOptions::new().file_extension(".csv")).await,
                _ => ctx.register_json("t", path, JsonReadOptions::default().file_extension(".jsonl")).await,
            }
        })
        .unwrap();
        assert_eq!(lines(&rt, &ctx, &PER_TYPE.replace("{T}", "t")), want_types, "{ext}");
        assert_eq!(lines(&rt, &ctx, &PER_SIM.replace("{T}", "t")), want_sims, "{ext}");
    }
    // A query from the command line and from a file; JSON lines keep the result's values.
    std::fs::write(d.join("q.sql"), "SELECT simulation_id, total_cost FROM simulations ORDER BY simulation_id").unwrap();
    run_ok(d, &["export", "-f", "q.sql", "-o", "costs.jsonl"]);
    run_ok(d, &["export", "--query", "SELECT simulation_id, total_cost FROM simulations ORDER BY simulation_id", "--format", "csv", "-o", "costs.out"]);
    let want = sql(d, "SELECT simulation_id, total_cost FROM simulations ORDER BY simulation_id");
    let got: Vec<String> = std::fs::read_to_string(d.join("costs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{},{}", v["simulation_id"].as_str().unwrap(), v["total_cost"])
        })
        .collect();
    assert_eq!(got, want);
    let csv = std::fs::read_to_string(d.join("costs.out")).unwrap();
    assert_eq!(csv.lines().skip(1).map(str::to_owned).collect::<Vec<_>>(), want);
    // An empty result is still a readable file with the columns (CSV: the header).
    run_ok(d, &["export", "--query", "SELECT simulation_id, seed FROM simulations WHERE seed < 0", "-o", "none.csv"]);
    assert_eq!(std::fs::read_to_string(d.join("none.csv")).unwrap(), "simulation_id,seed\n");
}

#[test]
fn partitioned_exports_follow_the_hive_layout() {
    let data = dataset();
    let d = data.path();
    let msg = run_ok(d, &["export", "--table", "agent_ticks", "--partition-by", "experiment_id,simulation_id", "-o", "ticks"]);
    assert!(msg.contains("(parquet, 2 files)"), "{msg}");
    for sim in ["sim-one", "sim-two"] {
        assert!(d.join(format!("ticks/experiment_id=adhoc/simulation_id={sim}/part-0.parquet")).is_file());
    }
    let names: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "no temporary files left: {names:?}");

    // Read back as a hive-partitioned listing table with typed partition columns.
    let q = "SELECT simulation_id, COUNT(*) AS n, SUM(balance) AS b, MAX(tick) AS t FROM {T} GROUP BY 1 ORDER BY 1";
    let want = sql(d, &q.replace("{T}", "agent_ticks"));
    let rt = rt();
    let ctx = SessionContext::new();
    let url = ListingTableUrl::parse(format!("{}/", d.join("ticks").display())).unwrap();
    let cols = vec![
        ("experiment_id".to_owned(), datafusion::arrow::datatypes::DataType::Utf8),
        ("simulation_id".to_owned(), datafusion::arrow::datatypes::DataType::Utf8),
    ];
    let opts = ListingOptions::new(std::sync::Arc::new(ParquetFormat::default())).with_file_extension(".parquet").with_table_partition_cols(cols);
    let table = rt.block_on(async {
        let cfg = ListingTableConfig::new(url).with_listing_options(opts).infer_schema(&ctx.state()).await.unwrap();
        ListingTable::try_new(cfg).unwrap()
    });
    ctx.register_table("t", std::sync::Arc::new(table)).unwrap();
    assert_eq!(lines(&rt, &ctx, &q.replace("{T}", "t")), want);
    let schema = rt.block_on(ctx.table("t")).unwrap().schema().as_arrow().clone();
    let named = |n: &str| schema.fields().iter().filter(|f| f.name() == n).count();
    assert_eq!((named("experiment_id"), named("simulation_id")), (1, 1), "partition columns come back from the paths, once");

    // Other formats partition the same way; an integer partition column names its directories.
    run_ok(d, &["export", "--table", "ticks", "--partition-by", "iteration", "--format", "jsonl", "-o", "by_iter"]);
    assert!(d.join("by_iter/iteration=0/part-0.jsonl").is_file());
    // --overwrite replaces a directory with a file and back.
    run_ok(d, &["export", "--table", "simulations", "-o", "by_iter", "--format", "csv", "--overwrite"]);
    assert!(d.join("by_iter").is_file());
    run_ok(d, &["export", "--table", "simulations", "--partition-by", "simulation_id", "-o", "by_iter", "--overwrite"]);
    assert!(d.join("by_iter/simulation_id=sim-one/part-0.parquet").is_file());
}

#[test]
fn bad_input_is_refused_with_exit_code_2_and_writes_nothing() {
    let data = dataset();
    let d = data.path();
    let fails = |args: &[&str], code: i32, needle: &str| {
        let o = simcash(d, args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    };
    fails(&["export", "--table", "nope", "-o", "x.parquet"], 2, "unknown table `nope`");
    fails(&["export", "--query", "SELEC 1", "-o", "x.parquet"], 2, "SQL error");
    fails(&["export", "--query", "SELECT no_such_column FROM simulations", "-o", "x.parquet"], 2, "no_such_column");
    fails(&["export", "--query", "CREATE VIEW v AS SELECT 1", "-o", "x.parquet"], 2, "DDL not supported");
    fails(&["export", "-f", "missing.sql", "-o", "x.parquet"], 2, "missing.sql");
    fails(&["export", "--table", "simulations", "-o", "x.txt"], 2, "--format");
    fails(&["export", "--table", "simulations", "--partition-by", "nope", "-o", "x"], 2, "no column `nope`");
    fails(&["export", "--table", "simulations", "--data", "nowhere", "-o", "x.csv"], 2, "nowhere");
    fails(&["export", "-o", "x.csv"], 2, "--table");
    // An existing output is kept unless --overwrite.
    std::fs::write(d.join("keep.csv"), "precious").unwrap();
    fails(&["export", "--table", "simulations", "-o", "keep.csv"], 2, "--overwrite");
    assert_eq!(std::fs::read_to_string(d.join("keep.csv")).unwrap(), "precious");
    // A failure while the query runs (an unreadable data file): no output, no temporary file.
    let f = crate::util::data_file(&d.join("simcash-data"), "events", "sim-one");
    std::fs::write(&f, b"not parquet").unwrap();
    let o = simcash(d, &["export", "--table", "simulation_events", "-o", "keep.csv", "--overwrite"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(d.join("keep.csv")).unwrap(), "precious", "the old output survives a failed export");
    let o = simcash(d, &["export", "--table", "simulation_events", "--partition-by", "simulation_id", "-o", "parts"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.starts_with('.') || n == "x.parquet" || n == "x" || n == "parts"), "{names:?}");
}
