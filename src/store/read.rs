//! Reading stored Parquet synchronously, wherever the dataset lives: one file, or one
//! simulation's rows of a table.

use std::fs::File;

use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{ArrowPredicateFn, ArrowReaderOptions, ParquetRecordBatchReader, RowFilter};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{PageIndexPolicy, RowGroupMetaData};
use datafusion::parquet::file::reader::ChunkReader;
use datafusion::parquet::file::statistics::Statistics;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::StoreError;
use super::commit::{committed_groups, string_bounds, visible};
use super::delta::action::Add;
use super::footer::checked_builder;
use super::layout::{Dataset, SimulationKey, block_on};
use super::registry::{self, TableDef};
use super::table::Table;
use super::unpanic::unpanic;

/// The batches of one Parquet file; a panic of the decoder is an error, and ends them.
pub struct Batches {
    reader: Option<ParquetRecordBatchReader>,
    /// The file, for messages.
    path: String,
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, datafusion::arrow::error::ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        match unpanic(|| reader.next()) {
            Ok(next) => next,
            Err(e) => {
                self.reader = None;
                Some(Err(datafusion::arrow::error::ArrowError::ParquetError(format!("{}: damaged data ({e})", self.path))))
            }
        }
    }
}

impl Dataset {
    /// Where `path` is, for messages: a local file path or the object's URL.
    pub fn describe(&self, path: &Path) -> String {
        match self.local_dir() {
            Some(dir) => dir.join(path.as_ref()).display().to_string(),
            None => format!("{}/{path}", self.display.trim_end_matches('/')),
        }
    }

    /// A reader of the Parquet file at `path` (relative to the root). A local file is read
    /// as it goes; an object in a remote store is fetched whole first.
    pub fn parquet_reader(&self, path: &Path, batch_size: usize) -> Result<Batches, StoreError> {
        self.parquet_reader_of(path, batch_size, None)
    }

    /// [`Dataset::parquet_reader`], over the rows of one simulation when `simulation_id` is
    /// given: row groups and pages whose statistics rule it out are skipped, and the other
    /// columns are decoded only for the rows whose `simulation_id` is it.
    fn parquet_reader_of(&self, path: &Path, batch_size: usize, simulation_id: Option<&str>) -> Result<Batches, StoreError> {
        fn build<T: ChunkReader + 'static>(
            reader: T,
            options: ArrowReaderOptions,
            batch_size: usize,
            id: Option<&str>,
        ) -> Result<ParquetRecordBatchReader, ParquetError> {
            let b = checked_builder(reader, options)?.with_batch_size(batch_size);
            // A file without the key column is refused by the caller, with its name.
            let keyed = b.parquet_schema().columns().iter().any(|c| c.path().string() == "simulation_id");
            let Some(id) = id.filter(|_| keyed) else { return b.build() };
            let groups: Vec<usize> = b.metadata().row_groups().iter().enumerate().filter(|(_, rg)| may_hold(rg, id)).map(|(i, _)| i).collect();
            let mask = ProjectionMask::columns(b.parquet_schema(), ["simulation_id"]);
            let wanted = StringArray::new_scalar(id);
            let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| eq(batch.column(0), &wanted));
            b.with_row_groups(groups).with_row_filter(RowFilter::new(vec![Box::new(predicate)])).build()
        }
        // The page index lets a filtered read skip the pages it selects no row from.
        let options = ArrowReaderOptions::new().with_page_index_policy(if simulation_id.is_some() { PageIndexPolicy::Optional } else { PageIndexPolicy::Skip });
        let perr = |source| StoreError::Parquet { path: self.describe(path), source };
        let built = match self.local_dir() {
            Some(dir) => {
                let file = dir.join(path.as_ref());
                let f = File::open(&file).map_err(|source| StoreError::Read { path: file.display().to_string(), source })?;
                build(f, options, batch_size, simulation_id)
            }
            None => {
                let bytes =
                    block_on(async { self.store.get(path).await?.bytes().await }).map_err(|source| StoreError::Object { path: self.describe(path), source })?;
                build(bytes, options, batch_size, simulation_id)
            }
        };
        built.map(|reader| Batches { reader: Some(reader), path: self.describe(path) }).map_err(perr)
    }
}

/// Whether a row group's `simulation_id` statistics may hold `id` (no statistics: it may).
fn may_hold(rg: &RowGroupMetaData, id: &str) -> bool {
    let Some(c) = rg.columns().iter().find(|c| c.column_path().string() == "simulation_id") else { return true };
    match c.statistics() {
        Some(Statistics::ByteArray(s)) => {
            let lo = s.min_opt().map(|v| v.data());
            let hi = s.max_opt().map(|v| v.data());
            lo.is_none_or(|l| l <= id.as_bytes()) && hi.is_none_or(|h| h >= id.as_bytes())
        }
        _ => true,
    }
}

/// The rows of one simulation in one simulation table, in stored order, as batches of the
/// table's columns in the engine's types. Only the files whose statistics can hold the
/// simulation are opened, and in them only the row groups and pages that can.
pub struct SimulationRows {
    dataset: Dataset,
    def: &'static TableDef,
    key: SimulationKey,
    files: std::collections::VecDeque<Path>,
    current: Option<Batches>,
}

impl std::fmt::Debug for SimulationRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulationRows").field("table", &self.def.name).field("key", &self.key).finish()
    }
}

impl Dataset {
    /// The committed rows of simulation `key` in simulation table `table`.
    pub fn simulation_rows(&self, key: &SimulationKey, table: &str) -> Result<SimulationRows, StoreError> {
        let def = registry::get(table).expect("a registered table");
        let t = Table::new(self, def);
        let (snap, groups) = block_on(async {
            let snap = t.snapshot().await?;
            let sims = Table::new(self, registry::get("simulations").expect("registered")).snapshot().await?;
            Ok::<_, StoreError>((snap, committed_groups(&sims)))
        })?;
        let id = key.simulation_id.as_str();
        let mut files: Vec<&Add> = Table::partition_files(&snap, &key.experiment_id)
            .filter(|a| visible(a, &groups))
            .filter(|a| {
                let (lo, hi) = string_bounds(a, "simulation_id");
                lo.as_deref().is_none_or(|l| l <= id) && hi.as_deref().is_none_or(|h| h >= id)
            })
            .collect();
        files.sort_by_key(|a| a.modification_time);
        Ok(SimulationRows { dataset: self.clone(), def, key: key.clone(), files: files.iter().map(|a| t.object_path(&a.path)).collect(), current: None })
    }
}

impl SimulationRows {
    /// Opens the next candidate file, reading only our simulation's rows.
    fn open_next(&mut self) -> Option<Result<Batches, StoreError>> {
        let path = self.files.pop_front()?;
        Some(self.dataset.parquet_reader_of(&path, 8192, Some(&self.key.simulation_id)))
    }
}

impl Iterator for SimulationRows {
    type Item = Result<RecordBatch, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                match self.open_next()? {
                    Ok(r) => self.current = Some(r),
                    Err(e) => return Some(Err(e)),
                }
            }
            let Some(batch) = self.current.as_mut().and_then(Iterator::next) else {
                self.current = None;
                continue;
            };
            let arrow = |source| StoreError::Arrow { table: self.def.name, source };
            let result = batch.map_err(arrow).and_then(|b| {
                let sims = b.column_by_name("simulation_id").map(|c| c.as_string::<i32>().clone());
                let iters = b.column_by_name("iteration").map(|c| c.as_primitive::<Int64Type>().clone());
                let (Some(sims), Some(iters)) = (sims, iters) else {
                    return Err(StoreError::Root { root: self.dataset.display.clone(), problem: format!("a `{}` file has no key columns", self.def.name) });
                };
                let it = i64::from(self.key.iteration);
                let mine: BooleanArray =
                    sims.iter().zip(iters.iter()).map(|(s, i)| Some(s == Some(self.key.simulation_id.as_str()) && i == Some(it))).collect();
                let b = filter_record_batch(&b, &mine).map_err(arrow)?;
                self.def.from_stored(&b).map_err(arrow)
            });
            match result {
                Ok(b) if b.num_rows() == 0 => continue,
                r => return Some(r),
            }
        }
    }
}
