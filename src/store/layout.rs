//! Where things live: the dataset root (an object_store URL or a local path) and the
//! partition path of each table file. One tested function formats partition paths and one
//! parses them.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

use super::StoreError;

/// The default dataset root.
pub const DEFAULT_ROOT: &str = "./simcash-data";

/// Which simulation a file belongs to (the partition keys).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimulationKey {
    /// Experiment id (`adhoc` for CLI runs unless named).
    pub experiment_id: String,
    /// Iteration within the experiment (0 for CLI runs).
    pub iteration: u32,
    /// Simulation id (`sim-…`).
    pub simulation_id: String,
}

impl SimulationKey {
    /// The directory of this simulation's files in `table`.
    pub fn dir(&self, table: &str) -> Path {
        Path::from(format!(
            "{table}/experiment_id={}/iteration={}/simulation_id={}",
            self.experiment_id, self.iteration, self.simulation_id
        ))
    }

    /// The one file of this simulation in `table`.
    pub fn file(&self, table: &str) -> Path {
        Path::from(format!("{}/part-0.parquet", self.dir(table)))
    }

    /// Parses `<table>/experiment_id=e/iteration=n/simulation_id=s/...` into (table, key).
    pub fn parse(path: &str) -> Option<(String, SimulationKey)> {
        let mut parts = path.split('/');
        let table = parts.next()?.to_owned();
        let experiment_id = parts.next()?.strip_prefix("experiment_id=")?.to_owned();
        let iteration = parts.next()?.strip_prefix("iteration=")?.parse().ok()?;
        let simulation_id = parts.next()?.strip_prefix("simulation_id=")?.to_owned();
        Some((table, SimulationKey { experiment_id, iteration, simulation_id }))
    }
}

/// Checks that an id is usable as a partition value and does not look numeric.
pub fn validate_id(kind: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err(format!("{kind} id must be 1–128 characters"));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) || id.starts_with('.') {
        return Err(format!("{kind} id `{id}` may hold only letters, digits, '-', '_' and '.'"));
    }
    if id.parse::<f64>().is_ok() {
        return Err(format!("{kind} id `{id}` looks numeric; readers would turn it into a number (use e.g. `{kind}-{id}`)"));
    }
    Ok(())
}

/// A fresh simulation id, `sim-<time base36>-<4 hex>`: unique per run, never numeric.
pub fn new_simulation_id(now_ms: i64) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let h = Sha256::digest(format!("{now_ms}:{}:{n}", std::process::id()).as_bytes());
    let mut t = now_ms.max(0) as u64;
    let mut b36 = Vec::new();
    loop {
        b36.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(t % 36) as usize]);
        t /= 36;
        if t == 0 {
            break;
        }
    }
    b36.reverse();
    format!("sim-{}-{:02x}{:02x}", String::from_utf8(b36).expect("ascii"), h[0], h[1])
}

/// An opened dataset root.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The object store holding the dataset.
    pub store: Arc<dyn ObjectStore>,
    /// The root as given by the user (for messages).
    pub display: String,
    /// The local directory, when the root is on local disk.
    pub local_dir: Option<std::path::PathBuf>,
}

impl Dataset {
    /// Opens a root given as a plain path or a `file://` URL; `create` makes the directory.
    pub fn open(root: &str, create: bool) -> Result<Dataset, StoreError> {
        let err = |problem: String| StoreError::Root { root: root.to_owned(), problem };
        let dir = if let Some(rest) = root.strip_prefix("file://") {
            std::path::PathBuf::from(rest)
        } else if let Some((scheme, _)) = root.split_once("://") {
            return Err(err(format!("`{scheme}://` is not supported by this build (supported: local paths and file://)")));
        } else {
            std::path::PathBuf::from(root)
        };
        if create {
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::Io { path: dir.clone(), source: e })?;
        } else if !dir.is_dir() {
            return Err(err("no such directory (run a simulation first, or pass --data)".into()));
        }
        let dir = dir.canonicalize().map_err(|e| err(e.to_string()))?;
        let store = LocalFileSystem::new_with_prefix(&dir).map_err(|e| err(e.to_string()))?;
        Ok(Dataset { store: Arc::new(store), display: root.to_owned(), local_dir: Some(dir) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = new_simulation_id(1_700_000_000_000);
        let b = new_simulation_id(1_700_000_000_000);
        assert!(a.starts_with("sim-") && validate_id("simulation", &a).is_ok(), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn ids_must_not_look_numeric() {
        assert!(validate_id("simulation", "sim-1").is_ok());
        assert!(validate_id("simulation", "0042").is_err());
        assert!(validate_id("simulation", "1e5").is_err());
        assert!(validate_id("simulation", "a/b").is_err());
        assert!(validate_id("simulation", "").is_err());
    }

    proptest! {
        #[test]
        fn partition_paths_round_trip(e in "[a-z][a-z0-9_-]{0,12}", i in any::<u32>(), s in "sim-[a-z0-9]{1,12}") {
            let key = SimulationKey { experiment_id: e, iteration: i, simulation_id: s };
            let file = key.file("events");
            let (table, back) = SimulationKey::parse(file.as_ref()).unwrap();
            prop_assert_eq!(table, "events");
            prop_assert_eq!(back, key);
        }
    }
}
