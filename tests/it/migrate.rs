//! Datasets in the layout before schema 3 (one hive directory per simulation and table):
//! refused with a message naming `simcash migrate`, and converted by it.

use std::path::Path;

use crate::util::{data, run_ok, simcash, stderr};

fn csv(dir: &Path, root: &str, q: &str) -> String {
    run_ok(dir, &["sql", "--data", root, "--format", "csv", q])
}

/// Rewrites a Delta dataset in the old layout: every simulation's rows of each table in the
/// table's own column types (schema 2 stored exactly these), at
/// `<table>/experiment_id=e/iteration=n/simulation_id=s/part-0.parquet`, and the sweep points
/// at `sweep_points/experiment_id=e/point-N.parquet`.
fn write_old_layout(new_root: &Path, old_root: &Path) {
    use datafusion::parquet::arrow::ArrowWriter;
    use simcash::store::{Dataset, SimulationKey, registry};
    let ds = Dataset::open(new_root.to_str().unwrap(), false).unwrap();
    let write = |path: std::path::PathBuf, batches: &[datafusion::arrow::array::RecordBatch]| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batches[0].schema(), None).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
    };
    let ids = csv(new_root.parent().unwrap(), new_root.to_str().unwrap(), "SELECT experiment_id, iteration, simulation_id FROM simulations");
    for line in ids.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let key = SimulationKey { experiment_id: f[0].into(), iteration: f[1].parse().unwrap(), simulation_id: f[2].into() };
        for def in registry::simulation_tables() {
            let batches: Vec<_> = ds.simulation_rows(&key, def.name).unwrap().map(Result::unwrap).collect();
            let dir = format!("{}/experiment_id={}/iteration={}/simulation_id={}", def.name, key.experiment_id, key.iteration, key.simulation_id);
            write(old_root.join(dir).join("part-0.parquet"), &batches);
        }
    }
    let t = simcash::store::table::Table::new(&ds, registry::get("sweep_points").unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let snap = rt.block_on(t.snapshot()).unwrap();
    let mut n = 0;
    for add in snap.files.values() {
        let experiment = add.partition_values["experiment_id"].clone().unwrap();
        for b in rt.block_on(t.read_file(add)).unwrap() {
            let logical = t.def.from_stored(&b).unwrap();
            write(old_root.join(format!("sweep_points/experiment_id={experiment}/point-{n:08}.parquet")), &[logical]);
            n += 1;
        }
    }
}

#[test]
fn an_old_layout_is_refused_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-one", "--data", "new"]);
    for e in std::fs::read_dir(data("sweeps")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, d.join(p.file_name().unwrap())).unwrap();
    }
    run_ok(d, &["sweep", "grid.yaml", "--data", "new"]);
    write_old_layout(&d.join("new"), &d.join("old"));

    let o = simcash(d, &["sql", "--data", "old", "SELECT COUNT(*) FROM simulations"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("older simcash") && stderr(&o).contains("simcash migrate old NEW_ROOT"), "{}", stderr(&o));

    let out = run_ok(d, &["migrate", "old", "migrated"]);
    assert!(out.contains("migrated 9 simulation(s)"), "{out}");
    for q in [
        "SELECT simulation_id, experiment_id, iteration, seed, total_cost, event_count FROM simulations ORDER BY simulation_id",
        "SELECT event_type, COUNT(*), SUM(amount) FROM simulation_events GROUP BY 1 ORDER BY 1",
        "SELECT simulation_id, agent, day, num_sent FROM daily_agent_metrics ORDER BY 1, 2, 3",
        "SELECT point, configuration, total_cost FROM sweep_points ORDER BY point",
    ] {
        assert_eq!(csv(d, "migrated", q), csv(d, "new", q), "{q}");
    }
    assert_eq!(run_ok(d, &["replay", "sim-one", "--data", "migrated", "-v"]), run_ok(d, &["replay", "sim-one", "--data", "new", "-v"]));
    // Migrating twice, or from a root that is not old, is refused.
    let o = simcash(d, &["migrate", "old", "migrated"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already holds a dataset"), "{}", stderr(&o));
    let o = simcash(d, &["migrate", "new", "elsewhere"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
