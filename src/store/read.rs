//! Reading stored Parquet synchronously, wherever the dataset lives: one file, or one
//! simulation's rows of a table.

use std::fs::File;

use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowFilter,
};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, RowGroupMetaData};
use datafusion::parquet::file::reader::ChunkReader;
use datafusion::parquet::file::statistics::Statistics;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::StoreError;
use super::commit::{committed_groups, string_bounds, visible};
use super::delta::action::Add;
use super::layout::{Dataset, SimulationKey, block_on};
use super::registry::{self, TableDef};
use super::table::Table;

/// Readers turning panics into errors right now (see [`unpanic`]): while any is, the panic
/// hook stays silent, on every thread (DataFusion decodes on its runtime's threads).
static QUIET: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Silences the panic hook while alive.
struct Quiet;

impl Quiet {
    fn new() -> Quiet {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let report = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if QUIET.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    report(info)
                }
            }));
        });
        QUIET.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Quiet
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A panic caught by [`unpanic`]: its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Panicked(pub String);

/// `f()`, or the message of its panic.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        Panicked(p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into()))
    })
}

/// Runs `f`, turning a panic inside it into `Err` with the panic's message, without the
/// panic hook's report. The Parquet decoders panic on some damaged pages (out-of-range
/// offsets in level or value data) instead of returning errors; readers of stored data go
/// through this so that a damaged file is an error, not a crash.
pub fn unpanic<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    let _quiet = Quiet::new();
    caught(f)
}

/// [`unpanic`] for a future (and the tasks it waits for): every poll is caught.
pub async fn unpanic_async<F: std::future::Future>(f: F) -> Result<F::Output, Panicked> {
    let _quiet = Quiet::new();
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(|cx| match caught(|| f.as_mut().poll(cx)) {
        Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
        Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
        Err(e) => std::task::Poll::Ready(Err(e)),
    })
    .await
}

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

/// A reader builder for a Parquet file whose footer passed [`check_footer`].
pub fn checked_builder<T: ChunkReader + 'static>(reader: T, options: ArrowReaderOptions) -> Result<ParquetRecordBatchReaderBuilder<T>, ParquetError> {
    let size = reader.len();
    // The footer is parsed without its Arrow schema, checked, and only then is the schema read.
    let raw = ArrowReaderMetadata::load(&reader, options.clone().with_skip_arrow_metadata(true))?;
    check_footer(raw.metadata(), size)?;
    let meta = ArrowReaderMetadata::try_new(raw.metadata().clone(), options)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(reader, meta))
}

/// Refuses a damaged footer the Parquet reader would otherwise accept and then panic on: its
/// column chunks must lie inside the file (`size` bytes), its page index must put pages
/// inside their column chunk, and its Arrow schema (`ARROW:schema`) must hold only types the
/// Arrow decoder knows.
pub fn check_footer(meta: &ParquetMetaData, size: u64) -> Result<(), ParquetError> {
    check_chunks(meta, size)?;
    check_arrow_schema(meta)?;
    check_strings(meta)
}

/// Refuses a byte-array column read as strings (by its logical type or the stored Arrow
/// schema) without the converted type `UTF8`: the Parquet reader decides by the converted
/// type alone whether to check that values are UTF-8, so such a column would yield unchecked
/// strings (a panic in debug builds, invalid arrays in release).
fn check_strings(meta: &ParquetMetaData) -> Result<(), ParquetError> {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::basic::{ConvertedType, LogicalType, Type};
    fn has_string(t: &DataType) -> bool {
        match t {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, v) => has_string(v),
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::Map(f, _) => has_string(f.data_type()),
            DataType::Struct(fs) => fs.iter().any(|f| has_string(f.data_type())),
            _ => false,
        }
    }
    let file = meta.file_metadata();
    let arrow = datafusion::parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
    for c in file.schema_descr().columns() {
        if c.physical_type() != Type::BYTE_ARRAY || c.converted_type() == ConvertedType::UTF8 {
            continue;
        }
        let root = c.path().parts().first().map(String::as_str).unwrap_or_default();
        if matches!(c.logical_type_ref(), Some(LogicalType::String)) || arrow.field_with_name(root).is_ok_and(|f| has_string(f.data_type())) {
            return Err(ParquetError::General(format!("damaged footer: column `{}` is read as text but not marked UTF-8", c.path())));
        }
    }
    Ok(())
}

/// Checks the stored Arrow schema as far as the Arrow IPC decoder panics on (unknown types,
/// missing parts); what that decoder reports as an error is left to it.
fn check_arrow_schema(meta: &ParquetMetaData) -> Result<(), ParquetError> {
    use base64::Engine;
    use datafusion::arrow::ipc;
    let hint = meta.file_metadata().key_value_metadata().and_then(|kv| kv.iter().find(|kv| kv.key == "ARROW:schema")).and_then(|kv| kv.value.as_deref());
    let Some(Ok(bytes)) = hint.map(|h| base64::engine::general_purpose::STANDARD.decode(h)) else { return Ok(()) };
    // The same framing as the Parquet reader's: an optional continuation marker and length.
    let body = if bytes.len() > 8 && bytes[0..4] == [255u8; 4] { &bytes[8..] } else { &bytes[..] };
    let Some(schema) = ipc::root_as_message(body).ok().and_then(|m| m.header_as_schema()) else { return Ok(()) };
    fn field(f: ipc::Field, depth: usize) -> Result<(), ParquetError> {
        use ipc::Type;
        let name = f.name().unwrap_or_default();
        let bad = |what: &str| Err(ParquetError::General(format!("damaged footer: its Arrow schema has a damaged field `{name}` ({what})")));
        if depth > 16 {
            return bad("nested too deep");
        }
        if let Some(d) = f.dictionary()
            && !d.indexType().is_some_and(|i| matches!(i.bitWidth(), 8 | 16 | 32 | 64))
        {
            return bad("dictionary index type");
        }
        let children = f.children().map_or(0, |c| c.len());
        let units = |u: ipc::TimeUnit| matches!(u, ipc::TimeUnit::SECOND | ipc::TimeUnit::MILLISECOND | ipc::TimeUnit::MICROSECOND | ipc::TimeUnit::NANOSECOND);
        let ok = match f.type_type() {
            Type::Null | Type::Bool | Type::Utf8 | Type::LargeUtf8 | Type::Binary | Type::LargeBinary | Type::Utf8View | Type::BinaryView | Type::Struct_ => {
                true
            }
            Type::Int => f.type_as_int().is_some_and(|i| matches!(i.bitWidth(), 8 | 16 | 32 | 64)),
            Type::FloatingPoint => {
                f.type_as_floating_point().is_some_and(|p| matches!(p.precision(), ipc::Precision::HALF | ipc::Precision::SINGLE | ipc::Precision::DOUBLE))
            }
            Type::FixedSizeBinary => f.type_as_fixed_size_binary().is_some(),
            Type::Date => f.type_as_date().is_some_and(|d| matches!(d.unit(), ipc::DateUnit::DAY | ipc::DateUnit::MILLISECOND)),
            Type::Time => f.type_as_time().is_some_and(|t| match t.bitWidth() {
                32 => matches!(t.unit(), ipc::TimeUnit::SECOND | ipc::TimeUnit::MILLISECOND),
                64 => matches!(t.unit(), ipc::TimeUnit::MICROSECOND | ipc::TimeUnit::NANOSECOND),
                _ => false,
            }),
            Type::Timestamp => f.type_as_timestamp().is_some_and(|t| units(t.unit())),
            Type::Duration => f.type_as_duration().is_some_and(|d| units(d.unit())),
            Type::Interval => f
                .type_as_interval()
                .is_some_and(|i| matches!(i.unit(), ipc::IntervalUnit::YEAR_MONTH | ipc::IntervalUnit::DAY_TIME | ipc::IntervalUnit::MONTH_DAY_NANO)),
            Type::Decimal => f
                .type_as_decimal()
                .is_some_and(|d| matches!(d.bitWidth(), 32 | 64 | 128 | 256) && u8::try_from(d.precision()).is_ok() && i8::try_from(d.scale()).is_ok()),
            Type::List | Type::LargeList | Type::ListView | Type::LargeListView => children == 1,
            Type::FixedSizeList => children == 1 && f.type_as_fixed_size_list().is_some(),
            Type::Map => children == 1 && f.type_as_map().is_some(),
            Type::RunEndEncoded => children == 2,
            // Unions (which simcash never writes) and types this Arrow does not know.
            t => return bad(&format!("type {t:?}")),
        };
        if !ok {
            return bad(&format!("type {:?}", f.type_type()));
        }
        f.children().into_iter().flatten().try_for_each(|c| field(c, depth + 1))
    }
    let fields = schema.fields().ok_or_else(|| ParquetError::General("damaged footer: its Arrow schema has no fields".into()))?;
    fields.iter().try_for_each(|f| field(f, 0))
}

/// Refuses a footer whose column chunks do not lie inside the file (`size` bytes), or whose
/// page index puts pages outside their column chunk.
fn check_chunks(meta: &ParquetMetaData, size: u64) -> Result<(), ParquetError> {
    let damaged = |what: String| Err(ParquetError::General(format!("damaged footer: {what}")));
    let pages = meta.offset_index();
    for (g, rg) in meta.row_groups().iter().enumerate() {
        for (i, c) in rg.columns().iter().enumerate() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let len = c.compressed_size();
            if start < 0 || len < 0 || (start as u64).saturating_add(len as u64) > size {
                return damaged(format!(
                    "column `{}` of row group {g} is said to be {len} bytes at offset {start}, outside the file's {size} bytes",
                    c.column_path()
                ));
            }
            let end = start.saturating_add(len);
            let index = pages.and_then(|p| p.get(g)).and_then(|cols| cols.get(i));
            for p in index.map_or(&[][..], |x| x.page_locations().as_slice()) {
                if p.offset < start || p.compressed_page_size < 0 || p.offset.saturating_add(i64::from(p.compressed_page_size)) > end {
                    return damaged(format!("the page index puts a page of column `{}` of row group {g} outside its column chunk", c.column_path()));
                }
            }
        }
    }
    Ok(())
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
