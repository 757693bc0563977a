//! The dataset: one Delta table per table of the registry under `<root>/<table>/`, data files
//! partitioned by `experiment_id` over object_store, event rows ⇄ record batches, group
//! commit, compaction and gc. The dataset sink (`sink/dataset.rs`) streams simulations into
//! it; a simulation is visible once its `simulations` row is committed, after its data.

pub mod batch;
pub mod commit;
pub mod compact;
pub mod delta;
pub mod experiment;
pub mod footer;
pub mod gc;
pub mod layout;
pub mod migrate;
pub mod read;
pub mod registry;
pub mod row;
pub mod schema;
pub mod sweep;
pub mod table;
pub mod unpanic;
pub mod verify;
pub mod writer;

pub use layout::{Dataset, SimulationKey};

use std::path::PathBuf;

/// A dataset failure, naming the table or the path involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The dataset root is not usable.
    #[error("dataset root `{root}`: {problem}")]
    Root {
        /// The root as given.
        root: String,
        /// What is wrong.
        problem: String,
    },
    /// Object storage failed.
    #[error("{path}: {source}")]
    Object {
        /// The object.
        path: String,
        /// The cause.
        source: object_store::Error,
    },
    /// Encoding or writing Parquet failed.
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: String,
        /// The cause.
        source: datafusion::parquet::errors::ParquetError,
    },
    /// Building a record batch failed (a bug: the schema and the builders disagree).
    #[error("building a `{table}` batch: {source}")]
    Arrow {
        /// The table.
        table: &'static str,
        /// The cause.
        source: datafusion::arrow::error::ArrowError,
    },
    /// A table's Delta log could not be read or committed.
    #[error("table `{table}`: {source}")]
    Log {
        /// The table.
        table: &'static str,
        /// The cause.
        source: delta::LogError,
    },
    /// The simulation id is already committed.
    #[error(
        "simulation `{simulation_id}` already exists in experiment `{experiment_id}` iteration {iteration}; \
         choose another id or pass --overwrite to replace it"
    )]
    AlreadyExists {
        /// Experiment id.
        experiment_id: String,
        /// Iteration.
        iteration: u32,
        /// Simulation id.
        simulation_id: String,
    },
    /// The background writer stopped unexpectedly.
    #[error("the dataset writer stopped: {0}")]
    WriterGone(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A local directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use proptest::prelude::*;

    use super::batch::{events_batch, rows_from_batch};
    use super::row::EventRow;
    use super::schema::EVENTS;
    use crate::engine::event::{AgentIdx, Event};

    /// Events → rows → Parquet bytes → rows → events.
    fn round_trip(events: &[Event], names: &[&str], tpd: u32) -> Vec<Event> {
        let rows: Vec<EventRow> = events.iter().enumerate().map(|(i, e)| EventRow::from_event(e, i as u64, tpd)).collect();
        let batch = events_batch(&rows, names).unwrap();
        let file = tempfile::tempfile().unwrap();
        let mut w = ArrowWriter::try_new(file.try_clone().unwrap(), EVENTS.clone(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let index = |n: &str| names.iter().position(|x| *x == n).map(|i| i as AgentIdx);
        let mut out = Vec::new();
        for b in reader {
            for (i, r) in rows_from_batch(&b.unwrap(), &index).unwrap().into_iter().enumerate() {
                assert_eq!(r.seq, out.len() as u64, "row {i} keeps its sequence number");
                out.push(r.into_event().unwrap());
            }
        }
        out
    }

    #[test]
    fn every_event_type_survives_parquet() {
        let events: Vec<Event> =
            crate::engine::event::tests::every_variant().into_iter().enumerate().map(|(i, kind)| Event { tick: i as u32 * 7, kind }).collect();
        // EndOfDay and LiquidityAllocation carry the day; with 7 ticks per day it is tick / 7.
        let back = round_trip(&events, &["BANK_A", "BANK_B", "BANK_C"], 7);
        for (a, b) in events.iter().zip(&back) {
            let mut a = a.clone();
            match &mut a.kind {
                crate::engine::event::EventKind::EndOfDay { day, .. } | crate::engine::event::EventKind::LiquidityAllocation { day, .. } => *day = a.tick / 7,
                _ => {}
            }
            assert_eq!(&a, b);
        }
        assert_eq!(events.len(), back.len());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn simulated_streams_survive_parquet(seed in any::<u64>(), days in 1u32..3) {
            let mut cfg = crate::scenario::load_str("default", crate::DEFAULT_SCENARIO).unwrap().config;
            cfg.rng_seed = seed;
            cfg.num_days = days;
            let mut engine = crate::engine::Engine::new(cfg).unwrap();
            let mut events = Vec::new();
            while !engine.is_finished() {
                engine.step().unwrap();
                events.extend_from_slice(engine.tick_events());
            }
            let ids = engine.agent_ids();
            let names: Vec<&str> = ids.iter().map(String::as_str).collect();
            prop_assert_eq!(round_trip(&events, &names, 100), events);
        }
    }
}
