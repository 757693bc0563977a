//! The dataset's Delta tables as DataFusion sees them. A [`SnapshotTable`] plans each scan
//! from its table's latest snapshot (the log is consulted at every scan, so each statement
//! sees the latest commits; data directories are never listed): files the log's statistics and
//! partition values rule out are never opened, and the rest become a Parquet scan with row
//! counts taken from the log. Reads go through a [`CheckedStore`], which refuses a file whose
//! size is not the one its log records.
//!
//! Two views of each simulation table are registered: `raw` scans every live file;
//! `committed` leaves out the data files of simulation groups whose `simulations` commit has
//! not landed (a run killed between the two commits).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::{Column, DFSchema, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetFileReaderFactory, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use serde_json::Value;

use super::live::{LiveFile, LiveTables};
use crate::store::Dataset;
use crate::store::commit::{group, visible};
use crate::store::registry::{self, PARTITION, TableDef};
use crate::store::table::Table;

/// A Delta table of the dataset, scanned at its latest snapshot (see the module docs).
#[derive(Debug)]
pub struct SnapshotTable {
    shared: Shared,
    def: &'static TableDef,
    committed_only: bool,
    /// The stored columns, then the partition column.
    schema: SchemaRef,
}

/// What every table of a session shares: the dataset, its logs as last read, and the store
/// data files are read through (registered at `store_url`).
#[derive(Debug, Clone)]
pub struct Shared {
    /// The dataset.
    pub dataset: Dataset,
    /// The logs as last read.
    pub live: Arc<LiveTables>,
    /// Where `store` is registered.
    pub store_url: ObjectStoreUrl,
    /// The read-only store.
    pub store: Arc<CheckedStore>,
}

impl SnapshotTable {
    /// The table `def`; `committed_only` hides uncommitted simulation groups.
    pub fn new(shared: &Shared, def: &'static TableDef, committed_only: bool) -> SnapshotTable {
        let stored = def.stored_schema();
        let mut fields: Vec<Field> = stored.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(partition_field());
        let schema = Arc::new(Schema::new_with_metadata(fields, stored.metadata().clone()));
        SnapshotTable { shared: shared.clone(), def, committed_only, schema }
    }

    /// The live files of the latest snapshot.
    async fn files(&self) -> DfResult<Vec<Arc<LiveFile>>> {
        Ok(self.shared.live.get(&self.shared.dataset, self.def).await.map_err(external)?.files.clone())
    }

    /// `files` without those of uncommitted simulation groups, if this view hides them. The
    /// `simulations` log is read only when a file belongs to a group (files that compaction
    /// or migration wrote hold committed rows only).
    async fn committed(&self, files: Vec<Arc<LiveFile>>) -> DfResult<Vec<Arc<LiveFile>>> {
        if !self.committed_only || files.iter().all(|f| group(&f.add).is_none()) {
            return Ok(files);
        }
        let sims = self.shared.live.get(&self.shared.dataset, registry::get("simulations").expect("registered")).await.map_err(external)?;
        let groups = sims.committed_groups();
        Ok(files.into_iter().filter(|f| visible(&f.add, groups)).collect())
    }

    /// The files `filters` may match, judged by the log's statistics and partition values.
    fn prune(&self, state: &dyn Session, filters: &[Expr], files: Vec<Arc<LiveFile>>) -> DfResult<Vec<Arc<LiveFile>>> {
        let Some(predicate) = conjunction(filters.iter().cloned()) else { return Ok(files) };
        let df_schema = DFSchema::try_from(self.schema.clone())?;
        // Pruning only saves work: a filter it cannot use leaves every file in.
        let Ok(physical) = state.create_physical_expr(predicate, &df_schema) else { return Ok(files) };
        let max_in_list = state.config_options().execution.parquet.max_in_list_size;
        let builder = PruningPredicateBuilder::new().with_file_schema(self.schema.clone()).with_max_in_list_size(max_in_list);
        // No predicate: the filters cannot rule out a file by its statistics.
        let Some(pruning) = builder.build(physical) else { return Ok(files) };
        let Ok(keep) = pruning.prune(&LogStatistics { schema: &self.schema, files: &files }) else { return Ok(files) };
        Ok(files.into_iter().zip(keep).filter_map(|(f, k)| k.then_some(f)).collect())
    }
}

fn partition_field() -> Field {
    Field::new(PARTITION.0, PARTITION.1, false)
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Files are pruned and row groups skipped, but rows are still filtered above the scan.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(&self, state: &dyn Session, projection: Option<&Vec<usize>>, filters: &[Expr], limit: Option<usize>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let files = self.committed(self.prune(state, filters, self.files().await?)?).await?;
        if files.is_empty() {
            let schema = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let table = Table::new(&self.shared.dataset, self.def);
        let mut total_rows = Some(0usize);
        let mut total_bytes = 0usize;
        let mut parts = Vec::with_capacity(files.len());
        for file in &files {
            let add = &file.add;
            let rows = file.rows();
            total_rows = total_rows.zip(rows).map(|(t, r)| t + r);
            total_bytes += add.size.max(0) as usize;
            let location = table.object_path(&add.path);
            self.shared.store.expect_size(&location, add.size.max(0) as u64);
            let meta = ObjectMeta {
                location,
                last_modified: chrono::DateTime::from_timestamp_millis(add.modification_time).unwrap_or_default(),
                size: add.size.max(0) as u64,
                e_tag: None,
                version: None,
            };
            let experiment = Table::experiment_of(add).map(str::to_owned);
            let mut file_stats = Statistics::new_unknown(&self.schema);
            file_stats.num_rows = rows.map_or(Precision::Absent, Precision::Exact);
            file_stats.total_byte_size = Precision::Inexact(meta.size as usize);
            let file = PartitionedFile::new_from_meta(meta).with_partition_values(vec![ScalarValue::Utf8(experiment)]);
            parts.push(file.with_statistics(Arc::new(file_stats)));
        }
        let mut statistics = Statistics::new_unknown(&self.schema);
        statistics.num_rows = total_rows.map_or(Precision::Absent, Precision::Exact);
        statistics.total_byte_size = Precision::Inexact(total_bytes);
        let options = state.table_options().parquet.clone();
        let schema = TableSchema::builder(self.def.stored_schema()).with_table_partition_cols(vec![Arc::new(partition_field())]).build();
        // What `ParquetFormat::create_physical_plan` sets up, with footers checked (below).
        let mut source = ParquetSource::new(schema).with_table_parquet_options(options.clone());
        let cache = state.runtime_env().cache_manager.get_file_metadata_cache();
        let store = state.runtime_env().object_store(&self.shared.store_url)?;
        source = source.with_parquet_file_reader_factory(Arc::new(CheckedFooters(CachedParquetFileReaderFactory::new(store, cache))));
        if let Some(hint) = options.global.metadata_size_hint {
            source = source.with_metadata_size_hint(hint);
        }
        let groups = balance(parts, state.config().target_partitions());
        self.read_split_footers(state, &groups).await?;
        let config = FileScanConfigBuilder::new(self.shared.store_url.clone(), Arc::new(source))
            .with_file_groups(groups)
            .with_statistics(statistics)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

/// Readers whose footers are checked ([`crate::store::footer::check_footer`]) before a scan
/// reads by them: a damaged footer is an error naming the file, not a panic in the reader.
#[derive(Debug)]
struct CheckedFooters(CachedParquetFileReaderFactory);

impl ParquetFileReaderFactory for CheckedFooters {
    fn create_reader(
        &self,
        partition_index: usize,
        file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> DfResult<Box<dyn AsyncFileReader + Send>> {
        let (size, path) = (file.object_meta.size, file.object_meta.location.to_string());
        let inner = self.0.create_reader(partition_index, file, metadata_size_hint, metrics)?;
        Ok(Box::new(CheckedReader { inner, size, path }))
    }
}

struct CheckedReader {
    inner: Box<dyn AsyncFileReader + Send>,
    size: u64,
    path: String,
}

impl AsyncFileReader for CheckedReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, datafusion::parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, datafusion::parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(&'a mut self, options: Option<&'a ArrowReaderOptions>) -> BoxFuture<'a, datafusion::parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let meta = self.inner.get_metadata(options).await?;
            crate::store::footer::check_footer(&meta, self.size)
                .map_err(|e| datafusion::parquet::errors::ParquetError::General(format!("{}: {e}", self.path)))?;
            Ok(meta)
        }
        .boxed()
    }
}

impl SnapshotTable {
    /// Reads the footer of each file a scan splits into byte ranges into the session's
    /// metadata cache, once: the ranges' readers then share it instead of each reading it.
    async fn read_split_footers(&self, state: &dyn Session, groups: &[FileGroup]) -> DfResult<()> {
        let cache = state.runtime_env().cache_manager.get_file_metadata_cache();
        let hint = state.table_options().parquet.global.metadata_size_hint;
        let mut seen = HashSet::new();
        for f in groups.iter().flat_map(|g| g.iter()).filter(|f| f.range.is_some()) {
            if seen.insert(&f.object_meta.location) {
                let footer = DFParquetMetadata::new(self.shared.store.as_ref(), &f.object_meta);
                footer.with_metadata_size_hint(hint).with_file_metadata_cache(Some(cache.clone())).fetch_metadata().await?;
            }
        }
        Ok(())
    }
}

/// Smallest byte range a file is split into when a scan has fewer files than partitions
/// (DataFusion's own minimum for repartitioning a file scan).
const MIN_RANGE: u64 = 10 << 20;

/// Spreads files over at most `n` groups of about equal bytes (largest first, each to the
/// lightest group). Files are split into byte ranges only when there are fewer files than
/// groups, so that a scan of one large file still uses every core, while a scan of a few
/// files opens each file once (each range of a file reads its footer again).
fn balance(files: Vec<PartitionedFile>, n: usize) -> Vec<FileGroup> {
    let n = n.max(1);
    let mut files = if files.len() < n { split(files, n) } else { files };
    files.sort_by(|a, b| b.effective_size().cmp(&a.effective_size()).then_with(|| a.object_meta.location.cmp(&b.object_meta.location)));
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> = (0..n.min(files.len())).map(|_| (0, Vec::new())).collect();
    for f in files {
        let lightest = groups.iter_mut().min_by_key(|(bytes, _)| *bytes).expect("there are groups when there are files");
        lightest.0 += f.effective_size();
        lightest.1.push(f);
    }
    groups.into_iter().map(|(_, files)| FileGroup::new(files)).collect()
}

/// Splits files into byte ranges of at least `total / n` bytes and [`MIN_RANGE`].
fn split(files: Vec<PartitionedFile>, n: usize) -> Vec<PartitionedFile> {
    let total: u64 = files.iter().map(|f| f.object_meta.size).sum();
    let piece = total.div_ceil(n as u64).max(MIN_RANGE);
    files
        .into_iter()
        .flat_map(|f| {
            let size = f.object_meta.size;
            let k = (size / piece).max(1);
            let bounds = move |i: u64| (size * i / k) as i64;
            (0..k).map(move |i| if k == 1 { f.clone() } else { f.clone().with_range(bounds(i), bounds(i + 1)) })
        })
        .collect()
}

/// The log's per-file statistics and partition values, as DataFusion's pruning reads them.
struct LogStatistics<'a> {
    schema: &'a Schema,
    files: &'a [Arc<LiveFile>],
}

impl LogStatistics<'_> {
    /// One bound (`minValues` or `maxValues`) of a column for every file; `None` for types
    /// the log's statistics do not describe (see `store::delta::stats`).
    fn bounds(&self, column: &Column, key: &str) -> Option<ArrayRef> {
        let field = self.schema.field_with_name(&column.name).ok()?;
        let dtype = field.data_type();
        if column.name == PARTITION.0 {
            let values = self.files.iter().map(|f| ScalarValue::Utf8(Table::experiment_of(&f.add).map(str::to_owned)));
            return ScalarValue::iter_to_array(values).ok();
        }
        if !matches!(dtype, DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Utf8) {
            return None;
        }
        let null = ScalarValue::try_from(dtype).ok()?;
        let values = self.files.iter().map(|f| {
            let text = match f.stats.as_ref().and_then(|s| s.get(key)?.get(&column.name)) {
                Some(Value::String(v)) => v.clone(),
                Some(Value::Number(v)) => v.to_string(),
                _ => return null.clone(),
            };
            ScalarValue::try_from_string(text, dtype).unwrap_or_else(|_| null.clone())
        });
        ScalarValue::iter_to_array(values).ok()
    }
}

impl PruningStatistics for LogStatistics<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, "minValues")
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, "maxValues")
    }

    fn num_containers(&self) -> usize {
        self.files.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        if column.name == PARTITION.0 {
            return Some(Arc::new(UInt64Array::from(vec![0u64; self.files.len()])));
        }
        let counts = self.files.iter().map(|f| f.stats.as_ref()?.get("nullCount")?.get(&column.name)?.as_u64());
        Some(Arc::new(counts.collect::<UInt64Array>()))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(Arc::new(self.files.iter().map(|f| f.rows().map(|n| n as u64)).collect::<UInt64Array>()))
    }

    fn contained(&self, _: &Column, _: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

/// The dataset's store, read only, refusing a data file whose size differs from the one its
/// log records (it was changed or damaged after its commit).
#[derive(Debug)]
pub struct CheckedStore {
    dataset: Dataset,
    /// The size the log gives each scanned file.
    sizes: Mutex<HashMap<Path, u64>>,
}

impl fmt::Display for CheckedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckedStore({})", self.dataset.display)
    }
}

fn generic(e: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
    object_store::Error::Generic { store: "simcash dataset", source: Box::new(e) }
}

fn read_only(operation: &str) -> object_store::Error {
    object_store::Error::NotImplemented { operation: operation.to_owned(), implementer: "simcash query store (read only)".to_owned() }
}

/// A data file whose size is not the one its table's log records.
#[derive(Debug, thiserror::Error)]
#[error("{path}: the file has {found} bytes but the Delta log records {logged} (it was changed or damaged after its commit)")]
struct SizeMismatch {
    path: String,
    logged: u64,
    found: u64,
}

impl CheckedStore {
    /// The read-only store over `dataset`.
    pub fn new(dataset: Dataset) -> CheckedStore {
        CheckedStore { dataset, sizes: Mutex::default() }
    }

    fn expect_size(&self, location: &Path, size: u64) {
        self.sizes.lock().expect("not poisoned").insert(location.clone(), size);
    }
}

#[async_trait]
impl ObjectStore for CheckedStore {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> object_store::Result<PutResult> {
        Err(read_only("put"))
    }

    async fn put_multipart_opts(&self, _: &Path, _: PutMultipartOptions) -> object_store::Result<Box<dyn MultipartUpload>> {
        Err(read_only("put_multipart"))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        let result = self.dataset.store.get_opts(location, options).await?;
        let logged = self.sizes.lock().expect("not poisoned").get(location).copied();
        match logged {
            Some(size) if size != result.meta.size => {
                Err(generic(SizeMismatch { path: self.dataset.describe(location), logged: size, found: result.meta.size }))
            }
            _ => Ok(result),
        }
    }

    /// Straight to the dataset's store, so that a local file is read range by range instead
    /// of through the default's 1 MB coalescing (which zero-fills and copies megabytes to
    /// return a few pages per column); an object store's own `get_ranges` coalesces as it
    /// should. Sizes are checked where footers are read (`get_opts`).
    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> object_store::Result<Vec<Bytes>> {
        self.dataset.store.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, object_store::Result<Path>>) -> BoxStream<'static, object_store::Result<Path>> {
        locations.map(|_| Err(read_only("delete"))).boxed()
    }

    fn list(&self, _: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        futures::stream::once(async { Err(read_only("list")) }).boxed()
    }

    async fn list_with_delimiter(&self, _: Option<&Path>) -> object_store::Result<ListResult> {
        Err(read_only("list"))
    }

    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> object_store::Result<()> {
        Err(read_only("copy"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64) -> PartitionedFile {
        PartitionedFile::new(name.to_owned(), size)
    }

    /// Each group's files as `name[start..end]` (or `name` for a whole file).
    fn layout(groups: &[FileGroup]) -> Vec<Vec<String>> {
        let show = |f: &PartitionedFile| match &f.range {
            Some(r) => format!("{}[{}..{}]", f.object_meta.location, r.start, r.end),
            None => f.object_meta.location.to_string(),
        };
        groups.iter().map(|g| g.iter().map(show).collect()).collect()
    }

    #[test]
    fn a_scan_opens_each_file_once_unless_there_are_fewer_files_than_cores() {
        let mb = 1 << 20;
        // Two files, two cores: one each, however uneven (DataFusion would split the larger).
        assert_eq!(layout(&balance(vec![file("a", 33 * mb), file("b", 20 * mb)], 2)), [["a"], ["b"]]);
        // More files than cores: whole files, the largest first into the lightest group.
        let groups = balance(vec![file("a", 10 * mb), file("b", 30 * mb), file("c", 15 * mb), file("d", 5 * mb)], 2);
        assert_eq!(layout(&groups), [vec!["b"], vec!["c", "a", "d"]]);
        // One large file, four cores: four ranges that tile the file.
        let size = 100 * mb;
        let groups = balance(vec![file("a", size)], 4);
        assert_eq!(groups.len(), 4);
        let mut ranges: Vec<_> = groups.iter().flat_map(|g| g.iter().map(|f| f.range.clone().expect("a range"))).collect();
        ranges.sort_by_key(|r| r.start);
        assert_eq!((ranges[0].start, ranges[3].end), (0, size as i64));
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        // A file too small to split is scanned whole, by one core.
        assert_eq!(layout(&balance(vec![file("a", 15 * mb)], 4)), [["a"]]);
        // No files: no groups to scan.
        assert!(balance(Vec::new(), 2).is_empty());
    }
}
