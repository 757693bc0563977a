//! One Delta table of the dataset: its log, its data files (`<table>/experiment_id=<e>/part-<id>.parquet`,
//! written whole or streamed, invisible until a commit lists them) and its commits.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::parquet::arrow::async_writer::AsyncArrowWriter;
use datafusion::parquet::file::metadata::SortingColumn;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use super::StoreError;
use super::delta::action::{Action, Add, Format, Metadata, Protocol, Remove};
use super::delta::{Conflict, DeltaLog, LogError, Snapshot};
use super::layout::Dataset;
use super::registry::{PARTITION, TableDef};
use super::writer::Pages;
use crate::state::now_ms;

/// The tag naming the write group of a data file (see [`crate::store::commit`]).
pub const GROUP_TAG: &str = "simcash.group";

/// Every this many versions a commit also writes a checkpoint.
pub const CHECKPOINT_INTERVAL: i64 = 10;

/// A Delta table of the dataset.
#[derive(Debug, Clone)]
pub struct Table {
    /// What the table holds.
    pub def: &'static TableDef,
    /// The dataset it belongs to (its store, and the root that commits check).
    dataset: Dataset,
    log: DeltaLog,
}

/// A fresh identifier for a file, a group or a table: unique across processes and machines.
pub fn nonce() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let h = Sha256::digest(format!("{t}:{}:{n}:{:?}", std::process::id(), std::thread::current().id()).as_bytes());
    h[..12].iter().map(|b| format!("{b:02x}")).collect()
}

impl Table {
    /// The table `def` of `dataset`.
    pub fn new(dataset: &Dataset, def: &'static TableDef) -> Table {
        Table { def, log: DeltaLog::new(dataset.store.clone(), Path::from(def.name)), dataset: dataset.clone() }
    }

    /// The table's log.
    pub fn log(&self) -> &DeltaLog {
        &self.log
    }

    /// Where a file the log names (relative to the table) is, relative to the dataset root.
    pub fn object_path(&self, rel: &str) -> Path {
        Path::from(format!("{}/{rel}", self.def.name))
    }

    /// Creates the table (version 0: protocol and metadata) unless it exists.
    pub async fn ensure(&self) -> Result<(), StoreError> {
        let metadata = Metadata {
            id: nonce(),
            name: Some(self.def.name.to_owned()),
            format: Format { provider: "parquet".into(), options: BTreeMap::new() },
            schema_string: self.def.delta_schema(),
            partition_columns: vec![PARTITION.0.to_owned()],
            configuration: BTreeMap::new(),
            created_time: Some(now_ms()),
        };
        let protocol = Protocol { min_reader_version: 1, min_writer_version: 2 };
        self.log.create_if_absent(protocol, metadata).await.map_err(|e| self.log_err(e))?;
        Ok(())
    }

    /// The latest snapshot; an empty one (version -1) when the table has no commit yet.
    /// Tombstones are those of commits after the newest checkpoint only.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.snapshot_with(false).await
    }

    /// The latest snapshot with every recent tombstone (what vacuum needs).
    pub async fn snapshot_with_tombstones(&self) -> Result<Snapshot, StoreError> {
        self.snapshot_with(true).await
    }

    async fn snapshot_with(&self, tombstones: bool) -> Result<Snapshot, StoreError> {
        let snap = self.log.snapshot_with(tombstones).await.map_err(|e| self.log_err(e))?;
        Ok(snap.unwrap_or(Snapshot { version: -1, ..Snapshot::default() }))
    }

    /// Commits `actions` on top of `read` (creating the table first if needed). `check` sees
    /// each commit that landed since `read` and refuses a real conflict.
    pub async fn commit(
        &self,
        read: &Snapshot,
        operation: &str,
        mut actions: Vec<Action>,
        check: impl Fn(&[Action]) -> Result<(), Conflict>,
    ) -> Result<i64, StoreError> {
        self.dataset.check_root()?;
        if read.version < 0 {
            self.ensure().await?;
        }
        let info = serde_json::json!({"timestamp": now_ms(), "operation": operation, "engineInfo": concat!("simcash/", env!("CARGO_PKG_VERSION"))});
        let serde_json::Value::Object(info) = info else { unreachable!("a JSON object") };
        actions.push(Action::CommitInfo(info));
        let read_version = if read.version < 0 { Some(0) } else { Some(read.version) };
        let version = self.log.commit(read_version, &actions, check).await.map_err(|e| self.log_err(e))?;
        if version % CHECKPOINT_INTERVAL == 0 {
            // Only saves readers time: the commit stands whether or not this succeeds, and the
            // next interval (or `simcash compact`) writes one again.
            let _ = self.log.checkpoint(now_ms()).await;
        }
        Ok(version)
    }

    /// Writes a checkpoint of the table's latest version (readers start from it).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.log.checkpoint(now_ms()).await.map(|_| ()).map_err(|e| self.log_err(e))
    }

    fn log_err(&self, e: LogError) -> StoreError {
        StoreError::Log { table: self.def.name, source: e }
    }

    /// A streaming writer of a new data file in `experiment_id`'s partition; `sorted`: its
    /// rows will be in the table's sort order, which the file then declares.
    pub fn create_file(&self, experiment_id: &str, row_group_rows: usize, pages: Pages, sorted: bool) -> Result<FileWriter, StoreError> {
        let rel = format!("{}={experiment_id}/part-{}.parquet", PARTITION.0, nonce());
        let path = self.object_path(&rel);
        let schema = self.def.stored_schema();
        let sorting = self
            .def
            .sort
            .iter()
            .filter(|_| sorted)
            .filter_map(|c| schema.index_of(c).ok())
            .map(|i| SortingColumn { column_idx: i as i32, descending: false, nulls_first: false })
            .collect();
        let props = super::writer::writer_properties(&schema, row_group_rows, pages, sorting);
        let upload = BufWriter::with_capacity(self.dataset.store.clone(), path.clone(), UPLOAD_PART_BYTES).with_max_concurrency(2);
        let writer = AsyncArrowWriter::try_new(upload, schema, Some(props)).map_err(|source| StoreError::Parquet { path: path.to_string(), source })?;
        Ok(FileWriter { rel, path, experiment_id: experiment_id.to_owned(), writer, store: self.dataset.store.clone() })
    }

    /// Writes `batches` (stored schema) as one new data file, rows in the table's sort
    /// order; returns its `add` action.
    pub async fn write_file(&self, experiment_id: &str, batches: &[RecordBatch], tags: Tags) -> Result<Add, StoreError> {
        let arrow = |source| StoreError::Arrow { table: self.def.name, source };
        let all = concat_batches(&self.def.stored_schema(), batches).map_err(arrow)?;
        let sorted = self.def.sort_batch(&all).map_err(arrow)?;
        let mut w = self.create_file(experiment_id, 1 << 20, Pages::Bounded, true)?;
        w.write(&sorted).await?;
        w.finish(tags).await
    }

    /// Reads a live file whole (small tables, rewrites).
    pub async fn read_file(&self, add: &Add) -> Result<Vec<RecordBatch>, StoreError> {
        let path = self.object_path(&add.path);
        let bytes =
            async { self.dataset.store.get(&path).await?.bytes().await }.await.map_err(|source| StoreError::Object { path: path.to_string(), source })?;
        let perr = |source| StoreError::Parquet { path: path.to_string(), source };
        let reader = super::footer::checked_builder(bytes, Default::default()).and_then(|b| b.with_batch_size(64 * 1024).build()).map_err(perr)?;
        reader.collect::<Result<Vec<_>, _>>().map_err(|source| StoreError::Arrow { table: self.def.name, source })
    }

    /// The experiment partition a data file is in.
    pub fn experiment_of(add: &Add) -> Option<&str> {
        add.partition_values.get(PARTITION.0)?.as_deref()
    }

    /// The live files of `experiment_id`'s partition.
    pub fn partition_files<'a>(snap: &'a Snapshot, experiment_id: &'a str) -> impl Iterator<Item = &'a Add> + 'a {
        snap.files.values().filter(move |a| Self::experiment_of(a) == Some(experiment_id))
    }

    /// Replaces the live files of `experiment_id`'s partition that `select` picks with one file
    /// of `batches`. With `once`, the commit also records that `txn` and fails with
    /// [`LogError::Conflict`] if it is already recorded.
    pub async fn replace(&self, experiment_id: &str, batches: &[RecordBatch], select: impl Fn(&Add) -> bool, once: Option<&str>) -> Result<(), StoreError> {
        let add = self.write_file(experiment_id, batches, None).await?;
        loop {
            let snap = self.snapshot().await?;
            if let Some(app) = once
                && snap.txns.contains_key(app)
            {
                let _ = self.dataset.store.delete(&self.object_path(&add.path)).await;
                return Err(self.log_err(Conflict::AlreadyCommitted(app.to_owned()).into()));
            }
            let removed: Vec<Action> = Self::partition_files(&snap, experiment_id).filter(|a| select(a)).map(Self::remove).collect();
            let mut actions = removed.clone();
            actions.push(Action::Add(add.clone()));
            if let Some(app) = once {
                actions.push(Action::Txn(super::delta::action::Txn { app_id: app.to_owned(), version: 1, last_updated: None }));
            }
            let in_partition = |a: &Action| match a {
                Action::Add(x) => Self::experiment_of(x) == Some(experiment_id),
                Action::Remove(_) => true,
                Action::Txn(t) => Some(t.app_id.as_str()) == once,
                _ => false,
            };
            let check = |winner: &[Action]| if winner.iter().any(in_partition) { Err(Conflict::Partition) } else { Ok(()) };
            match self.commit(&snap, "WRITE", actions, check).await {
                Err(StoreError::Log { source: LogError::Conflict(_), .. }) => continue,
                r => return r.map(|_| ()),
            }
        }
    }

    /// A `remove` action for a live file.
    pub fn remove(add: &Add) -> Action {
        Action::Remove(Remove {
            path: add.path.clone(),
            deletion_timestamp: Some(now_ms()),
            data_change: true,
            partition_values: Some(add.partition_values.clone()),
            size: Some(add.size),
        })
    }
}

/// Tags of a data file.
pub type Tags = Option<BTreeMap<String, Option<String>>>;

/// A data file being written; invisible until its `add` is committed.
pub struct FileWriter {
    rel: String,
    path: Path,
    experiment_id: String,
    writer: AsyncArrowWriter<BufWriter>,
    store: Arc<dyn ObjectStore>,
}

/// Bytes of a data file buffered before its upload turns multipart, and the size of each
/// part (S3's smallest); with two parts in flight, a file being written holds at most ~15 MB.
const UPLOAD_PART_BYTES: usize = 5 << 20;

/// Encoded bytes after which a file's row group is closed early (see [`FileWriter::write`]).
const MAX_ROW_GROUP_BYTES: usize = 32 << 20;

impl FileWriter {
    /// Appends a batch (in the table's stored schema).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        let perr = |source| StoreError::Parquet { path: self.path.to_string(), source };
        self.writer.write(batch).await.map_err(perr)?;
        // A row group is bounded by bytes as well as rows: LSM events of a backed-up queue
        // list thousands of transactions each, and the row group waits in memory.
        if self.writer.in_progress_size() > MAX_ROW_GROUP_BYTES {
            self.writer.flush().await.map_err(perr)?;
        }
        Ok(())
    }

    /// Bytes written so far (buffered row groups excluded).
    pub fn bytes_written(&self) -> usize {
        self.writer.bytes_written() + self.writer.in_progress_size()
    }

    /// Completes the file and returns the `add` action that would make it visible.
    pub async fn finish(mut self, tags: Tags) -> Result<Add, StoreError> {
        let perr = |source| StoreError::Parquet { path: self.path.to_string(), source };
        let meta = self.writer.finish().await.map_err(perr)?;
        Ok(Add {
            path: self.rel,
            partition_values: BTreeMap::from([(PARTITION.0.to_owned(), Some(self.experiment_id))]),
            size: self.writer.bytes_written() as i64,
            modification_time: now_ms(),
            data_change: true,
            stats: Some(super::delta::stats::from_parquet(&meta)),
            tags,
        })
    }

    /// Drops the file unfinished and removes whatever of it was already uploaded.
    pub async fn abandon(self) {
        let FileWriter { path, writer, store, .. } = self;
        let mut inner = writer.into_inner();
        let _ = inner.abort().await;
        let _ = store.delete(&path).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::registry;

    #[tokio::test]
    async fn a_written_file_becomes_live_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path().to_str().unwrap(), true).unwrap();
        let table = Table::new(&ds, registry::get("sweep_points").unwrap());
        assert_eq!(table.snapshot().await.unwrap().version, -1);
        let schema = table.def.stored_schema();
        let empty = RecordBatch::new_empty(schema);
        let add = table.write_file("sweep-a", &[empty], None).await.unwrap();
        assert!(dir.path().join("sweep_points").join(&add.path).is_file());
        assert!(add.path.starts_with("experiment_id=sweep-a/part-"));
        let snap = table.snapshot().await.unwrap();
        assert!(snap.files.is_empty());
        let v = table.commit(&snap, "WRITE", vec![Action::Add(add.clone())], |_| Ok(())).await.unwrap();
        let snap = table.snapshot().await.unwrap();
        assert_eq!(snap.version, v);
        assert_eq!(snap.files.get(&add.path).map(|a| a.size), Some(add.size));
        assert!(snap.metadata.unwrap().schema_string.contains("\"seed\""));
    }
}
