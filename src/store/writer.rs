//! Parquet writer settings shared by every table's data files, and the one async runtime
//! the store's object-store I/O runs on.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::{KeyValue, SortingColumn};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use super::schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY};

/// Integer columns (or lists of integers) whose consecutive values are close: keys, ticks,
/// transaction ids (also an LSM event's `tx_ids`), deadlines, balances from one settlement to
/// the next. Delta-encoded, they are 12–35% smaller than plain after zstd. Other integers
/// (amounts, costs, counters of agents interleaved row by row) are stored plain, which zstd
/// compresses better than their deltas.
const DELTA: [&str; 11] = ["iteration", "tick", "day", "seq", "point", "tx", "tx_ids", "deadline", "remaining_amount", "balance_before", "balance_after"];

/// The columns a query of one simulation, tick, agent or transaction filters on: they keep
/// per-page statistics (the column index), so a scan skips the pages they rule out. The
/// others keep per-row-group statistics only, which halves the page index a reader loads.
const FILTERED: [&str; 10] = ["simulation_id", "iteration", "tick", "day", "seq", "point", "event_type", "agent", "counterparty", "tx"];

/// Rows per data page of a file of many simulations: a simulation's rows (2,300 events in the
/// default scenario, 270 in exp2) span one or two pages, so reading it decodes ~10,000 rows
/// per column instead of a whole row group.
const PAGE_ROWS: usize = 8 * 1024;

/// How a data file's pages end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pages {
    /// At [`PAGE_ROWS`] rows: every file written as a run goes (a CLI run's, a batch
    /// runner's, or compacted); a page's buffers stay small however long the run.
    Bounded,
    /// At 1 MB: a file migrated from the old layout, written in one go (1 MB pages made a
    /// 1M-event run's sink ~8% cheaper in CPU, but each column's page buffer grew to 1–2 MB).
    Whole,
}

/// Writer properties for one table: zstd, bounded row groups, pages as `pages` says, declared sort.
/// Dictionary pages only for the dictionary-typed (low-cardinality string) columns and
/// `simulation_id`; the [`DELTA`] integer columns are delta-encoded; page statistics for the
/// [`FILTERED`] columns.
pub fn writer_properties(schema: &Schema, row_group_rows: usize, pages: Pages, sorting: Vec<SortingColumn>) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid zstd level")))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_data_page_row_count_limit(if pages == Pages::Bounded { PAGE_ROWS } else { usize::MAX })
        .set_dictionary_enabled(false);
    for f in schema.fields() {
        let name = f.name().as_str();
        let path = ColumnPath::from(name);
        if FILTERED.contains(&name) {
            b = b.set_column_statistics_enabled(path.clone(), EnabledStatistics::Page);
        }
        match f.data_type() {
            DataType::Dictionary(..) => b = b.set_column_dictionary_enabled(path, true),
            DataType::Utf8 if name == "simulation_id" => b = b.set_column_dictionary_enabled(path, true),
            DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::UInt32 | DataType::UInt64 if DELTA.contains(&name) => {
                b = b.set_column_encoding(path, Encoding::DELTA_BINARY_PACKED)
            }
            DataType::List(item) if DELTA.contains(&name) => {
                b = b.set_column_encoding(ColumnPath::new(vec![name.to_owned(), "list".to_owned(), item.name().clone()]), Encoding::DELTA_BINARY_PACKED)
            }
            _ => {}
        }
    }
    b.set_sorting_columns((!sorting.is_empty()).then_some(sorting))
        .set_created_by(format!("simcash {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_owned())]))
        .build()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int64Array, ListArray, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, UInt32Type};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use datafusion::parquet::basic::Encoding;
    use datafusion::parquet::file::metadata::PageIndexPolicy;
    use datafusion::parquet::file::page_index::column_index::ColumnIndexMetaData;

    use super::{PAGE_ROWS, Pages, writer_properties};

    #[test]
    fn pages_are_bounded_and_encodings_and_page_statistics_follow_the_column_lists() {
        let rows = 2 * PAGE_ROWS + 100;
        let item = Arc::new(Field::new("item", DataType::UInt32, true));
        let schema = Arc::new(Schema::new(vec![
            Field::new("simulation_id", DataType::Utf8, false),
            Field::new("tx", DataType::Int64, true),
            Field::new("amount", DataType::Int64, true),
            Field::new("tx_ids", DataType::List(item), true),
        ]));
        let ids = (0..rows).map(|i| Some(vec![Some(i as u32), Some(i as u32 + 1)]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values((0..rows).map(|i| format!("sim-{:05}", i / 1000)))),
            Arc::new(Int64Array::from_iter_values((0..rows as i64).map(|i| i / 3))),
            Arc::new(Int64Array::from_iter_values((0..rows as i64).map(|i| i * 7919 % 10007))),
            Arc::new(ListArray::from_iter_primitive::<UInt32Type, _, _>(ids)),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, schema, Some(writer_properties(&batch.schema(), 1 << 20, Pages::Bounded, vec![]))).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();

        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes::Bytes::from(buf), options).unwrap();
        let meta = reader.metadata().clone();
        let chunk = meta.row_group(0);
        let delta = |i: usize| chunk.column(i).encodings().any(|e| e == Encoding::DELTA_BINARY_PACKED);
        assert_eq!((0..4).map(delta).collect::<Vec<_>>(), [false, true, false, true], "tx and the items of tx_ids are delta-encoded");
        // Every column is cut into pages of at most PAGE_ROWS rows, all located by the offset index.
        let offsets = &meta.offset_index().unwrap()[0];
        assert!(offsets.iter().all(|c| c.page_locations().len() == 3), "{offsets:?}");
        // Page statistics for the filtered column (simulation_id), none for the others.
        let stats: Vec<bool> = meta.column_index().unwrap()[0].iter().map(|c| !matches!(c, ColumnIndexMetaData::NONE)).collect();
        assert_eq!(stats, [true, true, false, false]);
        let back: Vec<RecordBatch> = reader.build().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(datafusion::arrow::compute::concat_batches(&back[0].schema(), &back).unwrap(), batch);

        // A file of one simulation: pages end by size only (here: one page per column).
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(writer_properties(&batch.schema(), 1 << 20, Pages::Whole, vec![]))).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let meta = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes::Bytes::from(buf), options).unwrap().metadata().clone();
        assert!(meta.offset_index().unwrap()[0].iter().all(|c| c.page_locations().len() == 1));
    }
}
