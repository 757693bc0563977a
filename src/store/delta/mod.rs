//! A Delta Lake transaction log for simcash's append-only tables, over object_store: the
//! actions ([`action`]), the schema string ([`schema`]), per-file statistics ([`stats`]), commits as conditional puts of the
//! next version file, and snapshots replayed from the log. Knows nothing of simulations.

pub mod action;
pub mod checkpoint;
pub mod schema;
pub mod stats;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use action::{Action, Add, Metadata, Protocol};

/// What a concurrent commit did that makes ours invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another writer committed one of the same simulations first.
    #[error("the same simulation was committed concurrently")]
    SameSimulation,
    /// Another writer rewrote or removed files this commit replaces.
    #[error("another writer rewrote or removed these files first")]
    FilesReplaced,
    /// Another writer changed the same partition.
    #[error("a concurrent write to the same partition")]
    Partition,
    /// The log already records this application transaction.
    #[error("`{0}` is already committed")]
    AlreadyCommitted(String),
    /// Another writer created the table first.
    #[error("the table was created concurrently")]
    TableCreated,
    /// Every attempt lost to another writer.
    #[error("{log}: gave up after {attempts} concurrent commits")]
    GaveUp {
        /// The log directory.
        log: String,
        /// Attempts made.
        attempts: usize,
    },
}

/// A log that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Object storage failed.
    #[error("{path}: {source}")]
    Object {
        /// The object.
        path: String,
        /// The cause.
        source: object_store::Error,
    },
    /// A commit file holds something that is not a Delta action.
    #[error("{path}, line {line}: not a Delta log action: {problem}")]
    Corrupt {
        /// The commit file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A concurrent commit makes ours invalid (e.g. the same simulation committed twice).
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {source}")]
    Checkpoint {
        /// The checkpoint file.
        path: String,
        /// What went wrong.
        source: checkpoint::CheckpointError,
    },
}

/// The files, schema and application markers of one version of a table.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The version these describe.
    pub version: i64,
    /// Reader/writer versions.
    pub protocol: Option<Protocol>,
    /// Schema and partitioning.
    pub metadata: Option<Metadata>,
    /// Live data files by path.
    pub files: BTreeMap<String, Add>,
    /// The latest batch version of each application (`txn` actions).
    pub txns: BTreeMap<String, i64>,
    /// Files removed from the table and not re-added, by path (what `vacuum` may delete).
    pub tombstones: BTreeMap<String, action::Remove>,
}

impl Snapshot {
    /// Applies one commit's actions.
    pub fn apply(&mut self, version: i64, actions: impl IntoIterator<Item = Action>) {
        self.version = version;
        for a in actions {
            match a {
                Action::Protocol(p) => self.protocol = Some(p),
                Action::MetaData(m) => self.metadata = Some(m),
                Action::Add(add) => {
                    self.tombstones.remove(&add.path);
                    self.files.insert(add.path.clone(), add);
                }
                Action::Remove(r) => {
                    self.files.remove(&r.path);
                    self.tombstones.insert(r.path.clone(), r);
                }
                Action::Txn(t) => {
                    self.txns.insert(t.app_id, t.version);
                }
                Action::CommitInfo(_) => {}
            }
        }
    }
}

/// The log of the Delta table rooted at `table` in `store`.
#[derive(Debug, Clone)]
pub struct DeltaLog {
    store: Arc<dyn ObjectStore>,
    table: Path,
}

/// Commits lost to concurrent writers before giving up (each loss re-reads the winner).
const MAX_COMMIT_ATTEMPTS: usize = 10_000;

/// Commit files fetched at once when replaying the log (round trips overlap on object storage).
const COMMITS_IN_FLIGHT: usize = 16;

impl DeltaLog {
    /// The log of the table at `table`.
    pub fn new(store: Arc<dyn ObjectStore>, table: Path) -> DeltaLog {
        DeltaLog { store, table }
    }

    fn log_dir(&self) -> Path {
        self.table.clone().join("_delta_log")
    }

    /// The commit file of `version`.
    pub fn commit_path(&self, version: i64) -> Path {
        self.log_dir().join(format!("{version:020}.json"))
    }

    fn object_err(path: &Path) -> impl FnOnce(object_store::Error) -> LogError + '_ {
        move |source| LogError::Object { path: path.to_string(), source }
    }

    /// The checkpoint file of `version`.
    pub fn checkpoint_path(&self, version: i64) -> Path {
        self.log_dir().join(format!("{version:020}.checkpoint.parquet"))
    }

    /// The versions whose commit files exist, ascending, and the newest checkpoint's version.
    async fn listing(&self) -> Result<(Vec<i64>, Option<i64>), LogError> {
        let dir = self.log_dir();
        let metas: Vec<_> = self.store.list(Some(&dir)).try_collect().await.map_err(Self::object_err(&dir))?;
        let version = |name: &str| Some(name).filter(|v| v.len() == 20 && v.bytes().all(|b| b.is_ascii_digit())).and_then(|v| v.parse().ok());
        let names = || metas.iter().filter_map(|m| m.location.filename());
        let mut versions: Vec<i64> = names().filter_map(|f| f.strip_suffix(".json")).filter_map(version).collect();
        versions.sort_unstable();
        let checkpoint = names().filter_map(|f| f.strip_suffix(".checkpoint.parquet")).filter_map(version).max();
        Ok((versions, checkpoint))
    }

    /// The versions whose commit files exist, ascending.
    pub async fn versions(&self) -> Result<Vec<i64>, LogError> {
        Ok(self.listing().await?.0)
    }

    /// The actions of one commit.
    pub async fn read_commit(&self, version: i64) -> Result<Vec<Action>, LogError> {
        self.parse_commit(version, &self.commit_bytes(version).await?)
    }

    async fn commit_bytes(&self, version: i64) -> Result<bytes::Bytes, LogError> {
        let path = self.commit_path(version);
        self.store.get(&path).await.map_err(Self::object_err(&path))?.bytes().await.map_err(Self::object_err(&path))
    }

    fn parse_commit(&self, version: i64, bytes: &[u8]) -> Result<Vec<Action>, LogError> {
        let path = self.commit_path(version);
        let text = std::str::from_utf8(bytes).map_err(|e| LogError::Corrupt { path: path.to_string(), line: 0, problem: e.to_string() })?;
        let mut actions = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match Action::from_line(line) {
                Ok(Some(a)) => actions.push(a),
                Ok(None) => {}
                Err(e) => return Err(LogError::Corrupt { path: path.to_string(), line: i + 1, problem: e.to_string() }),
            }
        }
        Ok(actions)
    }

    /// The table as of its latest version, `None` when it has no commit yet: the newest
    /// checkpoint, then the commits after it. The tombstones of the checkpoint are read only
    /// `with_tombstones` (vacuum, checkpoints); those of later commits always are.
    pub async fn snapshot_with(&self, with_tombstones: bool) -> Result<Option<Snapshot>, LogError> {
        let (versions, checkpoint) = self.listing().await?;
        let mut snap = Snapshot::default();
        let after = match checkpoint {
            Some(c) => {
                snap.apply(c, self.read_checkpoint(c, with_tombstones).await?);
                c
            }
            None if versions.is_empty() => return Ok(None),
            None => -1,
        };
        self.replay(&mut snap, versions.into_iter().filter(|v| *v > after).collect()).await?;
        Ok(Some(snap))
    }

    /// The table as of its latest version, without the checkpoint's tombstones (see
    /// [`DeltaLog::snapshot_with`]).
    pub async fn snapshot(&self) -> Result<Option<Snapshot>, LogError> {
        self.snapshot_with(false).await
    }

    async fn read_checkpoint(&self, version: i64, tombstones: bool) -> Result<Vec<action::Action>, LogError> {
        let path = self.checkpoint_path(version);
        let bytes = self.store.get(&path).await.map_err(Self::object_err(&path))?.bytes().await.map_err(Self::object_err(&path))?;
        checkpoint::decode(bytes, tombstones).map_err(|source| LogError::Checkpoint { path: path.to_string(), source })
    }

    /// Writes a checkpoint of the latest version (and `_last_checkpoint`), so that readers
    /// start there. Returns its version.
    pub async fn checkpoint(&self, now_ms: i64) -> Result<Option<i64>, LogError> {
        let Some(snap) = self.snapshot_with(true).await? else { return Ok(None) };
        let path = self.checkpoint_path(snap.version);
        let actions = checkpoint::actions(&snap, now_ms - checkpoint::TOMBSTONE_RETENTION_MS);
        let cerr = |source| LogError::Checkpoint { path: path.to_string(), source };
        let file = checkpoint::encode(&actions).map_err(cerr)?;
        // A whole-object put: readers see the file complete or not at all.
        self.store.put(&path, PutPayload::from(file)).await.map_err(Self::object_err(&path))?;
        let last = self.log_dir().join("_last_checkpoint");
        let body = checkpoint::last_checkpoint(snap.version, actions.len());
        self.store.put(&last, PutPayload::from(body.into_bytes())).await.map_err(Self::object_err(&last))?;
        Ok(Some(snap.version))
    }

    /// Brings `snap` up to the latest version.
    pub async fn update(&self, snap: &mut Snapshot) -> Result<(), LogError> {
        let from = snap.version;
        let newer = self.versions().await?.into_iter().filter(|v| *v > from).collect();
        self.replay(snap, newer).await
    }

    /// Applies the commits `versions` (ascending) to `snap`, fetching several at once.
    async fn replay(&self, snap: &mut Snapshot, versions: Vec<i64>) -> Result<(), LogError> {
        let mut commits =
            futures::stream::iter(versions.into_iter().map(|v| async move { Ok::<_, LogError>((v, self.read_commit(v).await?)) })).buffered(COMMITS_IN_FLIGHT);
        while let Some((v, actions)) = commits.try_next().await? {
            snap.apply(v, actions);
        }
        Ok(())
    }

    /// Commits `actions` as the version after `read_version` (`None`: the first commit).
    /// When another writer took that version first, `check` sees the winner's actions and
    /// refuses a real conflict; otherwise the commit is retried one version later. Returns
    /// the version written.
    pub async fn commit(&self, read_version: Option<i64>, actions: &[Action], check: impl Fn(&[Action]) -> Result<(), Conflict>) -> Result<i64, LogError> {
        let mut body = String::new();
        for a in actions {
            body.push_str(&a.to_line());
            body.push('\n');
        }
        let body = bytes::Bytes::from(body.into_bytes());
        let mut version = read_version.map_or(0, |v| v + 1);
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            let path = self.commit_path(version);
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            match self.store.put_opts(&path, PutPayload::from(body.clone()), opts).await {
                Ok(_) => return Ok(version),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let winner = self.commit_bytes(version).await?;
                    // This very commit (its commitInfo's timestamp and its files' ids make it
                    // unique): a request retried after its answer was lost, which found the
                    // object its first attempt created.
                    if winner == body {
                        return Ok(version);
                    }
                    check(&self.parse_commit(version, &winner)?)?;
                    version += 1;
                }
                Err(source) => return Err(LogError::Object { path: path.to_string(), source }),
            }
        }
        Err(Conflict::GaveUp { log: self.log_dir().to_string(), attempts: MAX_COMMIT_ATTEMPTS }.into())
    }

    /// Creates the table with `protocol` and `metadata` as version 0, unless another writer
    /// already did; returns whether this call created it.
    pub async fn create_if_absent(&self, protocol: Protocol, metadata: Metadata) -> Result<bool, LogError> {
        if !self.versions().await?.is_empty() {
            return Ok(false);
        }
        let actions = [Action::Protocol(protocol), Action::MetaData(metadata)];
        match self.commit(None, &actions, |_| Err(Conflict::TableCreated)).await {
            Ok(_) => Ok(true),
            Err(LogError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::action::{Format, Remove, Txn};
    use super::*;

    fn log() -> (tempfile::TempDir, DeltaLog) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        (dir, DeltaLog::new(store, Path::from("events")))
    }

    fn metadata() -> Metadata {
        Metadata {
            id: "t".into(),
            name: Some("events".into()),
            format: Format { provider: "parquet".into(), options: BTreeMap::new() },
            schema_string: r#"{"type":"struct","fields":[]}"#.into(),
            partition_columns: vec!["experiment_id".into()],
            configuration: BTreeMap::new(),
            created_time: None,
        }
    }

    fn add(path: &str) -> Action {
        Action::Add(Add { path: path.into(), partition_values: BTreeMap::new(), size: 1, modification_time: 0, data_change: true, stats: None, tags: None })
    }

    fn protocol() -> Protocol {
        Protocol { min_reader_version: 1, min_writer_version: 2 }
    }

    #[tokio::test]
    async fn commits_replay_into_a_snapshot() {
        let (_dir, log) = log();
        assert!(log.snapshot().await.unwrap().is_none());
        assert!(log.create_if_absent(protocol(), metadata()).await.unwrap());
        assert!(!log.create_if_absent(protocol(), metadata()).await.unwrap(), "the second creator finds the table");
        assert_eq!(log.commit(Some(0), &[add("a"), add("b")], |_| Ok(())).await.unwrap(), 1);
        let remove = Action::Remove(Remove { path: "a".into(), deletion_timestamp: Some(9), data_change: false, partition_values: None, size: None });
        let txn = Action::Txn(Txn { app_id: "shard-1".into(), version: 3, last_updated: None });
        assert_eq!(log.commit(Some(1), &[remove, add("c"), txn], |_| Ok(())).await.unwrap(), 2);
        let snap = log.snapshot().await.unwrap().unwrap();
        assert_eq!(snap.version, 2);
        assert_eq!(snap.files.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(snap.txns.get("shard-1"), Some(&3));
        assert_eq!(snap.metadata.unwrap().partition_columns, ["experiment_id"]);
        assert_eq!(log.versions().await.unwrap(), [0, 1, 2]);
    }

    #[tokio::test]
    async fn a_lost_race_retries_after_the_winner_unless_it_conflicts() {
        let (_dir, log) = log();
        log.create_if_absent(protocol(), metadata()).await.unwrap();
        // Two writers read version 0; the first takes version 1.
        assert_eq!(log.commit(Some(0), &[add("first")], |_| Ok(())).await.unwrap(), 1);
        // The second sees the winner's actions, finds no conflict, and lands at 2.
        let seen = std::sync::Mutex::new(Vec::new());
        let v = log
            .commit(Some(0), &[add("second")], |winner| {
                seen.lock().unwrap().extend(winner.iter().filter_map(|a| if let Action::Add(a) = a { Some(a.path.clone()) } else { None }));
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(v, 2);
        assert_eq!(seen.into_inner().unwrap(), ["first"]);
        // A third that conflicts with what it finds is refused, and writes nothing.
        let e = log.commit(Some(0), &[add("third")], |_| Err(Conflict::SameSimulation)).await.unwrap_err();
        assert!(matches!(e, LogError::Conflict(Conflict::SameSimulation)), "{e}");
        let snap = log.snapshot().await.unwrap().unwrap();
        assert_eq!((snap.version, snap.files.len()), (2, 2));
    }

    #[tokio::test]
    async fn concurrent_writers_each_land_exactly_once() {
        let (_dir, log) = log();
        log.create_if_absent(protocol(), metadata()).await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move { log.commit(Some(0), &[add(&format!("f{i}"))], |_| Ok(())).await.unwrap() })
            })
            .collect();
        let mut versions: Vec<i64> = Vec::new();
        for t in tasks {
            versions.push(t.await.unwrap());
        }
        versions.sort_unstable();
        assert_eq!(versions, (1..=8).collect::<Vec<_>>());
        assert_eq!(log.snapshot().await.unwrap().unwrap().files.len(), 8);
    }

    #[tokio::test]
    async fn a_corrupt_commit_is_named_with_its_line() {
        let (dir, log) = log();
        log.create_if_absent(protocol(), metadata()).await.unwrap();
        std::fs::write(dir.path().join("events/_delta_log/00000000000000000001.json"), "{\"add\":{}}\n").unwrap();
        let e = log.snapshot().await.unwrap_err();
        assert!(e.to_string().contains("00000000000000000001.json, line 1"), "{e}");
    }
}
