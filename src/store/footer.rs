//! Checks of a Parquet footer against its file, before any reader trusts it.

use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::reader::ChunkReader;

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
    let text = check_arrow_schema(meta)?;
    check_strings(meta, &text)
}

/// Refuses a byte-array column read as strings (by its logical type, or because its
/// top-level field is one of `text`, the stored Arrow schema's fields holding text) without
/// the converted type `UTF8`: the Parquet reader decides by the converted type alone whether
/// to check that values are UTF-8, so such a column would yield unchecked strings (a panic
/// in debug builds, invalid arrays in release).
fn check_strings(meta: &ParquetMetaData, text: &[String]) -> Result<(), ParquetError> {
    use datafusion::parquet::basic::{ConvertedType, LogicalType, Type};
    for c in meta.file_metadata().schema_descr().columns() {
        if c.physical_type() != Type::BYTE_ARRAY || c.converted_type() == ConvertedType::UTF8 {
            continue;
        }
        let root = c.path().parts().first();
        if matches!(c.logical_type_ref(), Some(LogicalType::String)) || root.is_some_and(|r| text.contains(r)) {
            return Err(ParquetError::General(format!("damaged footer: column `{}` is read as text but not marked UTF-8", c.path())));
        }
    }
    Ok(())
}

/// Checks the stored Arrow schema as far as the Arrow IPC decoder panics on (unknown types,
/// missing parts); what that decoder reports as an error is left to it. Returns the names of
/// its top-level fields that hold text (none without a stored schema).
fn check_arrow_schema(meta: &ParquetMetaData) -> Result<Vec<String>, ParquetError> {
    use base64::Engine;
    use datafusion::arrow::ipc;
    let hint = meta.file_metadata().key_value_metadata().and_then(|kv| kv.iter().find(|kv| kv.key == "ARROW:schema")).and_then(|kv| kv.value.as_deref());
    let Some(Ok(bytes)) = hint.map(|h| base64::engine::general_purpose::STANDARD.decode(h)) else { return Ok(Vec::new()) };
    // The same framing as the Parquet reader's: an optional continuation marker and length.
    let body = if bytes.len() > 8 && bytes[0..4] == [255u8; 4] { &bytes[8..] } else { &bytes[..] };
    let Some(schema) = ipc::root_as_message(body).ok().and_then(|m| m.header_as_schema()) else { return Ok(Vec::new()) };
    /// Checks a field; whether it holds text.
    fn field(f: ipc::Field, depth: usize) -> Result<bool, ParquetError> {
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
        let mut text = matches!(f.type_type(), Type::Utf8 | Type::LargeUtf8 | Type::Utf8View);
        for c in f.children().into_iter().flatten() {
            text |= field(c, depth + 1)?;
        }
        Ok(text)
    }
    let fields = schema.fields().ok_or_else(|| ParquetError::General("damaged footer: its Arrow schema has no fields".into()))?;
    let mut text = Vec::new();
    for f in fields {
        if field(f, 0)? {
            text.push(f.name().unwrap_or_default().to_owned());
        }
    }
    Ok(text)
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
