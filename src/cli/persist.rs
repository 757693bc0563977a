//! Dataset options shared by the commands, and the run's dataset sink.

use clap::Args;

/// Where the dataset lives.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Dataset root: a directory, a file:// URL, or s3://BUCKET/PREFIX, gs://BUCKET/PREFIX,
    /// az://CONTAINER/PREFIX (credentials and endpoints from the AWS_*, GOOGLE_* and AZURE_*
    /// environment variables).
    #[arg(long, value_name = "URL", env = "SIMCASH_DATA", default_value = "./simcash-data")]
    pub data: String,
}

/// How `simcash run` saves its simulation.
#[derive(Debug, Clone, Args)]
pub struct PersistArgs {
    /// Do not save the simulation to the dataset.
    #[arg(long)]
    pub no_persist: bool,
    /// Where the dataset lives.
    #[command(flatten)]
    pub data: DataArgs,
    /// Experiment id the simulation is filed under.
    #[arg(long, value_name = "NAME", default_value = "adhoc")]
    pub experiment: String,
    /// Simulation id (default: a fresh `sim-…` id).
    #[arg(long, value_name = "ID")]
    pub simulation_id: Option<String>,
    /// Replace an existing simulation with the same id.
    #[arg(long)]
    pub overwrite: bool,
}

#[cfg(feature = "dataset")]
mod enabled {
    use super::PersistArgs;
    use crate::sink::SimulationSink;
    use crate::sink::{ParquetSink, WriterOptions};
    use crate::store::layout::{new_simulation_id, validate_id};
    use crate::store::{Dataset, SimulationKey};

    /// The dataset sink of one run.
    pub struct RunDataset {
        sink: ParquetSink,
        root: String,
    }

    impl RunDataset {
        /// The sink to add to the run.
        pub fn sink(&mut self) -> &mut dyn SimulationSink {
            &mut self.sink
        }

        /// What to tell the user once the run is saved.
        pub fn saved_message(&self) -> String {
            let k = self.sink.key();
            format!("saved simulation {} (experiment {}, iteration {}) to {}", k.simulation_id, k.experiment_id, k.iteration, self.root)
        }
    }

    impl PersistArgs {
        /// The dataset sink, unless --no-persist; errors are input errors.
        pub fn sink(&self, scenario: &str) -> Result<Option<RunDataset>, String> {
            if self.no_persist {
                return Ok(None);
            }
            let opts = WriterOptions { overwrite: self.overwrite, scenario: scenario.to_owned(), ..WriterOptions::default() };
            validate_id("experiment", &self.experiment).map_err(|e| e.to_string())?;
            let simulation_id = match &self.simulation_id {
                Some(id) => {
                    validate_id("simulation", id).map_err(|e| e.to_string())?;
                    id.clone()
                }
                None => new_simulation_id((opts.clock)()),
            };
            let dataset = Dataset::open(&self.data.data, true).map_err(|e| e.to_string())?;
            let key = SimulationKey { experiment_id: self.experiment.clone(), iteration: 0, simulation_id };
            Ok(Some(RunDataset { sink: ParquetSink::new(dataset, key, opts), root: self.data.data.clone() }))
        }
    }
}

#[cfg(not(feature = "dataset"))]
mod disabled {
    use super::PersistArgs;
    use crate::sink::SimulationSink;

    /// Without the dataset feature there is no dataset sink.
    pub enum RunDataset {}

    impl RunDataset {
        /// Unreachable: no value exists.
        pub fn sink(&mut self) -> &mut dyn SimulationSink {
            match *self {}
        }

        /// Unreachable: no value exists.
        pub fn saved_message(&self) -> String {
            match *self {}
        }
    }

    impl PersistArgs {
        /// This build cannot persist; runs behave as with --no-persist.
        pub fn sink(&self, _scenario: &str) -> Result<Option<RunDataset>, String> {
            Ok(None)
        }
    }
}
