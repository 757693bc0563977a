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

/// Why an experiment or simulation id cannot be used; `kind` says which id it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty, or longer than 128 characters.
    #[error("{kind} id must be 1–128 characters")]
    Length {
        /// `experiment` or `simulation`.
        kind: String,
    },
    /// A character outside letters, digits, '-', '_' and '.', or a leading '.'.
    #[error("{kind} id `{id}` may hold only letters, digits, '-', '_' and '.'")]
    Characters {
        /// `experiment` or `simulation`.
        kind: String,
        /// The id.
        id: String,
    },
    /// Parses as a number, which readers of partition values would turn into one.
    #[error("{kind} id `{id}` looks numeric; readers would turn it into a number (use e.g. `{kind}-{id}`)")]
    Numeric {
        /// `experiment` or `simulation`.
        kind: String,
        /// The id.
        id: String,
    },
}

/// Checks that an id is usable as a partition value and does not look numeric.
pub fn validate_id(kind: &str, id: &str) -> Result<(), IdError> {
    let (kind, owned) = (kind.to_owned(), id.to_owned());
    if id.is_empty() || id.len() > 128 {
        return Err(IdError::Length { kind });
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) || id.starts_with('.') {
        return Err(IdError::Characters { kind, id: owned });
    }
    if id.parse::<f64>().is_ok() {
        return Err(IdError::Numeric { kind, id: owned });
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

/// Where a dataset root lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// A local directory (canonical path).
    Local(std::path::PathBuf),
    /// A prefix in an object-store bucket or container.
    Remote {
        /// `scheme://bucket`, the URL the bucket's store is registered under for queries.
        bucket_url: String,
        /// The store for the whole bucket.
        bucket_store: Arc<dyn ObjectStore>,
        /// The root within the bucket (empty for the bucket itself).
        prefix: Path,
    },
}

/// An opened dataset root.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The object store holding the dataset, rooted at the dataset root.
    pub store: Arc<dyn ObjectStore>,
    /// The root as given by the user (for messages).
    pub display: String,
    /// Where the root lives.
    pub location: Location,
    /// A local root's device and inode when opened (see [`Dataset::check_root`]).
    root_id: Option<(u64, u64)>,
}

/// A directory's device and inode: which directory it is, whatever its path.
fn dir_id(dir: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

/// The object-store URL schemes a dataset root may use, with the cargo feature of each.
pub const REMOTE_SCHEMES: &[(&str, &str)] = &[("s3", "s3"), ("gs", "gcs"), ("az", "azure")];

impl Dataset {
    /// Opens a root given as a plain path, a `file://` URL, or (with the matching cargo
    /// feature) an `s3://`, `gs://` or `az://` URL. `create` makes a local directory;
    /// without it the root must already hold something. A root in the layout of simcash
    /// before schema 3 (hive directories, no Delta log) is refused, naming `simcash migrate`.
    pub fn open(root: &str, create: bool) -> Result<Dataset, StoreError> {
        let dataset = Dataset::open_any_layout(root, create)?;
        if dataset.has_hive_layout()? {
            return Err(StoreError::Root {
                root: root.to_owned(),
                problem: format!(
                    "written by an older simcash (one directory per simulation, no Delta log); \
                     convert it with `simcash migrate {root} NEW_ROOT` and use NEW_ROOT"
                ),
            });
        }
        Ok(dataset)
    }

    /// Whether the root holds tables in the pre-Delta layout (`simulations/experiment_id=…`
    /// without `simulations/_delta_log`).
    pub fn has_hive_layout(&self) -> Result<bool, StoreError> {
        let prefix = Path::from("simulations");
        let listed = block_on(self.store.list_with_delimiter(Some(&prefix))).map_err(|source| StoreError::Object { path: prefix.to_string(), source })?;
        let names: Vec<&str> = listed.common_prefixes.iter().filter_map(|p| p.filename()).collect();
        Ok(!names.contains(&"_delta_log") && names.iter().any(|n| n.starts_with("experiment_id=")))
    }

    /// [`Dataset::open`] without the layout check (`simcash migrate` reads old roots).
    pub fn open_any_layout(root: &str, create: bool) -> Result<Dataset, StoreError> {
        let err = |problem: String| StoreError::Root { root: root.to_owned(), problem };
        let dir = if let Some(rest) = root.strip_prefix("file://") {
            std::path::PathBuf::from(rest)
        } else if let Some((scheme, rest)) = root.split_once("://") {
            return Dataset::open_remote(root, scheme, rest, create);
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
        Ok(Dataset { store: Arc::new(store), display: root.to_owned(), root_id: dir_id(&dir), location: Location::Local(dir) })
    }

    /// Refuses a local root that was removed or replaced since it was opened: the local store
    /// would recreate its directories, and a commit would land in a new, empty dataset.
    pub fn check_root(&self) -> Result<(), StoreError> {
        match (&self.location, self.root_id) {
            (Location::Local(dir), Some(id)) if dir_id(dir) != Some(id) => Err(StoreError::Root {
                root: self.display.clone(),
                problem: "was removed or replaced while simcash was writing to it; nothing more is committed".into(),
            }),
            _ => Ok(()),
        }
    }

    /// The local directory, when the root is on local disk.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        match &self.location {
            Location::Local(dir) => Some(dir),
            Location::Remote { .. } => None,
        }
    }

    /// The URL of a table's directory (`<root>/<table>/`), as DataFusion lists it.
    pub fn table_url(&self, table: &str) -> String {
        match &self.location {
            Location::Local(dir) => format!("{}/{table}/", dir.display()),
            Location::Remote { bucket_url, prefix, .. } if prefix.as_ref().is_empty() => format!("{bucket_url}/{table}/"),
            Location::Remote { bucket_url, prefix, .. } => format!("{bucket_url}/{prefix}/{table}/"),
        }
    }

    fn open_remote(root: &str, scheme: &str, rest: &str, create: bool) -> Result<Dataset, StoreError> {
        let err = |problem: String| StoreError::Root { root: root.to_owned(), problem };
        let Some((_, feature)) = REMOTE_SCHEMES.iter().find(|(s, _)| *s == scheme) else {
            let known: Vec<String> = REMOTE_SCHEMES.iter().map(|(s, _)| format!("{s}://")).collect();
            return Err(err(format!("unknown scheme `{scheme}://` (use a local path, file://, or {})", known.join(", "))));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(err(format!("no bucket: write {scheme}://BUCKET/PREFIX")));
        }
        let bucket_url = format!("{scheme}://{bucket}");
        let bucket_store = remote::bucket_store(scheme, &bucket_url)
            .ok_or_else(|| err(format!("this build cannot open {scheme}:// roots (rebuild with `cargo build --features {feature}`)")))?;
        let bucket_store = bucket_store.map_err(|e| err(e.to_string()))?;
        let prefix = Path::from(prefix.trim_matches('/'));
        let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            bucket_store.clone()
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(bucket_store.clone(), prefix.clone()))
        };
        let dataset = Dataset { store, display: root.to_owned(), location: Location::Remote { bucket_url, bucket_store, prefix }, root_id: None };
        dataset.check_reachable(create)?;
        Ok(dataset)
    }

    /// Lists the root once, so that a wrong bucket, endpoint or credentials fail here with
    /// the store's reason; without `create` an empty root is an error, as a missing directory is.
    fn check_reachable(&self, create: bool) -> Result<(), StoreError> {
        use futures::StreamExt;
        let err = |problem: String| StoreError::Root { root: self.display.clone(), problem };
        match block_on(async { self.store.list(None).next().await.transpose() }) {
            Err(e) => Err(err(e.to_string())),
            Ok(None) if !create => Err(err("nothing stored under this root (run a simulation first, or pass --data)".into())),
            Ok(_) => Ok(()),
        }
    }
}

/// The process's one tokio runtime: object storage I/O, commits, DataFusion queries.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts"))
}

/// Runs a future to completion from synchronous code, inside or outside a tokio runtime (on
/// a thread of its own, driven by the store's runtime).
pub(crate) fn block_on<F: std::future::Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|s| s.spawn(|| runtime().block_on(f)).join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
}

/// The object stores of the cloud schemes, each behind its cargo feature. Credentials and
/// endpoints come from the usual environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
mod remote {
    use std::sync::Arc;

    use object_store::ObjectStore;

    type Opened = Option<Result<Arc<dyn ObjectStore>, object_store::Error>>;

    /// The store for `bucket_url`, or `None` when this build lacks the scheme's feature.
    pub fn bucket_store(scheme: &str, bucket_url: &str) -> Opened {
        match scheme {
            "s3" => s3(bucket_url),
            "gs" => gcs(bucket_url),
            "az" => azure(bucket_url),
            _ => None,
        }
    }

    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
    fn arc(store: Result<impl ObjectStore, object_store::Error>) -> Opened {
        Some(store.map(|s| Arc::new(s) as Arc<dyn ObjectStore>))
    }

    #[cfg(feature = "s3")]
    fn s3(url: &str) -> Opened {
        arc(object_store::aws::AmazonS3Builder::from_env().with_url(url).build())
    }

    #[cfg(not(feature = "s3"))]
    fn s3(_url: &str) -> Opened {
        None
    }

    #[cfg(feature = "gcs")]
    fn gcs(url: &str) -> Opened {
        arc(object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(url).build())
    }

    #[cfg(not(feature = "gcs"))]
    fn gcs(_url: &str) -> Opened {
        None
    }

    #[cfg(feature = "azure")]
    fn azure(url: &str) -> Opened {
        arc(object_store::azure::MicrosoftAzureBuilder::from_env().with_url(url).build())
    }

    #[cfg(not(feature = "azure"))]
    fn azure(_url: &str) -> Opened {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(validate_id("simulation", "0042"), Err(IdError::Numeric { .. })));
        assert!(matches!(validate_id("simulation", "1e5"), Err(IdError::Numeric { .. })));
        assert!(matches!(validate_id("simulation", "a/b"), Err(IdError::Characters { .. })));
        assert!(matches!(validate_id("simulation", ""), Err(IdError::Length { .. })));
    }

    #[test]
    fn remote_roots_name_their_problem() {
        let msg = |root: &str| Dataset::open(root, true).unwrap_err().to_string();
        assert!(msg("ftp://host/x").contains("unknown scheme `ftp://` (use a local path, file://, or s3://, gs://, az://)"), "{}", msg("ftp://host/x"));
        assert!(msg("s3:///prefix").contains("no bucket: write s3://BUCKET/PREFIX"), "{}", msg("s3:///prefix"));
    }

    #[test]
    fn remote_table_urls_keep_bucket_and_prefix() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let at = |prefix: &str| Dataset {
            store: store.clone(),
            display: String::new(),
            location: Location::Remote { bucket_url: "s3://b".into(), bucket_store: store.clone(), prefix: Path::from(prefix) },
            root_id: None,
        };
        assert_eq!(at("runs/2026").table_url("events"), "s3://b/runs/2026/events/");
        assert_eq!(at("").table_url("events"), "s3://b/events/");
        assert!(at("").local_dir().is_none());
    }
}
