//! What the fuzz targets share: the data directory of simcash's tests, and running a
//! configuration that loaded, when it is small enough to run within a fuzz iteration.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use simcash::engine::config::SimConfig;
use simcash::sink::{NullSink, SimulationSink};

/// `tests/data` of the simcash crate (scenarios, policies, experiments, sweeps).
pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data")
}

/// Runs `config` with no sink when it is small (a few agents, ticks and arrivals): a
/// configuration the loader accepted must run to the end or stop with an error, never panic.
pub fn run_if_small(config: SimConfig) {
    let ticks = u64::from(config.ticks_per_day) * u64::from(config.num_days);
    let arrivals: f64 = config.agents.iter().filter_map(|a| a.arrivals.as_ref()).map(|a| a.rate_per_tick).sum();
    if config.agents.len() > 8 || ticks > 60 || !(arrivals <= 20.0) || config.scenario_events.len() > 20 {
        return;
    }
    let _ = simcash::run::run_simulation(config, &mut [&mut NullSink as &mut dyn SimulationSink], |_| {});
}

/// The embedded default scenario, one day long.
pub fn default_config() -> SimConfig {
    static CONFIG: OnceLock<SimConfig> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut c = simcash::scenario::load_str("default.yaml", simcash::DEFAULT_SCENARIO).expect("the default loads").config;
            c.num_days = 1;
            c
        })
        .clone()
}

/// Writes `bytes` to a file beside the seed experiments and sweeps (the loaders resolve the
/// scenario and policy paths a file names from its directory) and loads it.
pub fn load_as_file(bytes: &[u8], load: impl FnOnce(&Path)) {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        // <tmp>/simcash -> tests/data/simcash (`../simcash/scenarios/…`), and in <tmp>/inputs
        // links to every file of tests/data/{sweeps,experiments} (`tiny.yaml`, `release.json`).
        let root = std::env::temp_dir().join(format!("simcash-fuzz-{}", std::process::id()));
        let inputs = root.join("inputs");
        std::fs::create_dir_all(&inputs).expect("a temporary directory");
        let _ = std::os::unix::fs::symlink(data().join("simcash"), root.join("simcash"));
        for sub in ["sweeps", "experiments"] {
            for f in std::fs::read_dir(data().join(sub)).expect("tests/data").flatten() {
                let _ = std::os::unix::fs::symlink(f.path(), inputs.join(f.file_name()));
            }
        }
        inputs
    });
    let path = dir.join("fuzz-input.yaml");
    std::fs::write(&path, bytes).expect("the input is written");
    load(&path);
}
