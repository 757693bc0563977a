//! The table registry: one description of every physical table of the dataset (its name,
//! Arrow schema, partition columns and row order). Writers, readers, `gc` and the query
//! layer take what they need from here; `schemas/<table>.json` is rendered from it.

use datafusion::arrow::datatypes::{DataType, SchemaRef};

use super::schema::SCHEMA_VERSION;

/// Which unit of work commits a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Rows of one simulation, visible once its `simulations` row is committed.
    Simulation,
    /// Rows of one experiment iteration, committed by its `iterations` file.
    Iteration,
    /// One row per experiment, or per sweep point.
    Experiment,
}

/// One physical table.
#[derive(Debug)]
pub struct TableDef {
    /// Directory under the dataset root.
    pub name: &'static str,
    /// Columns stored in the data files (the partition columns excluded).
    pub schema: fn() -> SchemaRef,
    /// Partition columns, in path order, with the type the query layer gives them.
    pub partition: &'static [(&'static str, DataType)],
    /// Row order within each data file, `[]` when none is promised.
    pub sort: &'static [&'static str],
    /// What commits its rows.
    pub scope: Scope,
}

const BY_SIMULATION: &[(&str, DataType)] =
    &[("experiment_id", DataType::Utf8), ("iteration", DataType::UInt32), ("simulation_id", DataType::Utf8)];
const BY_ITERATION: &[(&str, DataType)] = &[("experiment_id", DataType::Utf8), ("iteration", DataType::UInt32)];
const BY_EXPERIMENT: &[(&str, DataType)] = &[("experiment_id", DataType::Utf8)];

/// Every physical table, simulation tables first and `simulations` (their commit marker)
/// last among them.
pub static TABLES: &[TableDef] = &[
    TableDef { name: "events", schema: || super::schema::EVENTS.clone(), partition: BY_SIMULATION, sort: &["tick", "seq"], scope: Scope::Simulation },
    TableDef { name: "agent_ticks", schema: || super::schema::AGENT_TICKS.clone(), partition: BY_SIMULATION, sort: &[], scope: Scope::Simulation },
    TableDef { name: "ticks", schema: || super::schema::TICKS.clone(), partition: BY_SIMULATION, sort: &[], scope: Scope::Simulation },
    TableDef { name: "simulations", schema: || super::schema::SIMULATIONS.clone(), partition: BY_SIMULATION, sort: &[], scope: Scope::Simulation },
    TableDef {
        name: "experiments",
        schema: || super::experiment::EXPERIMENTS.clone(),
        partition: BY_EXPERIMENT,
        sort: &[],
        scope: Scope::Experiment,
    },
    TableDef {
        name: "iterations",
        schema: || super::experiment::ITERATIONS.clone(),
        partition: BY_ITERATION,
        sort: &[],
        scope: Scope::Iteration,
    },
    TableDef {
        name: "policy_evaluations",
        schema: || super::experiment::POLICY_EVALUATIONS.clone(),
        partition: BY_ITERATION,
        sort: &[],
        scope: Scope::Iteration,
    },
    TableDef {
        name: "sweep_points",
        schema: || super::sweep::SWEEP_POINTS.clone(),
        partition: BY_EXPERIMENT,
        sort: &[],
        scope: Scope::Experiment,
    },
];

/// The table called `name`.
pub fn get(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().find(|t| t.name == name)
}

/// The tables written per simulation, in writing order (`simulations` last).
pub fn simulation_tables() -> impl Iterator<Item = &'static TableDef> {
    TABLES.iter().filter(|t| t.scope == Scope::Simulation)
}

impl TableDef {
    /// Partition columns as DataFusion's listing options take them.
    pub fn partition_cols(&self) -> Vec<(String, DataType)> {
        self.partition.iter().map(|(n, t)| ((*n).to_owned(), t.clone())).collect()
    }

    /// A stable, human-readable rendering (what `schemas/<table>.json` holds).
    pub fn render(&self) -> String {
        let columns: Vec<serde_json::Value> = (self.schema)()
            .fields()
            .iter()
            .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()}))
            .collect();
        let partitions: Vec<serde_json::Value> =
            self.partition.iter().map(|(n, t)| serde_json::json!({"name": n, "type": t.to_string()})).collect();
        let doc = serde_json::json!({
            "table": self.name,
            "schema_version": SCHEMA_VERSION,
            "partition_columns": partitions,
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
            let schema = (t.schema)();
            for c in t.sort {
                assert!(schema.field_with_name(c).is_ok(), "{}: sort column {c}", t.name);
            }
            for (c, _) in t.partition {
                assert!(schema.field_with_name(c).is_err(), "{}: partition column {c} is not stored in the files", t.name);
            }
        }
        assert_eq!(simulation_tables().last().map(|t| t.name), Some("simulations"), "the commit marker is written last");
    }
}
