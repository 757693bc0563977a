//! Exporting a table or a query result: one Parquet, Arrow IPC (Feather v2), CSV or JSON lines
//! file, or a hive-partitioned directory of them (`COL=value/…/part-0.<ext>`).
//!
//! The result is streamed batch by batch (memory stays bounded by the open writers' buffers),
//! written under a hidden temporary name beside the output and renamed into place only when
//! complete, so an output path never holds a half-written export.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringBuilder, UInt32Array};
use datafusion::arrow::compute::{cast, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet (zstd).
    Parquet,
    /// Arrow IPC file format (Feather v2); dictionary columns are written as plain strings.
    Arrow,
    /// Comma-separated values with a header row; nested values (lists) as their text form.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl ExportFormat {
    /// File extension (without the dot) of files in this format.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Arrow => "arrow",
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    /// The format an output path's extension names, if any.
    pub fn from_path(path: &Path) -> Option<ExportFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Some(ExportFormat::Parquet),
            "arrow" | "feather" | "ipc" => Some(ExportFormat::Arrow),
            "csv" => Some(ExportFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(ExportFormat::Jsonl),
            _ => None,
        }
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub enum Source {
    /// A view or physical table (`transactions`, `raw.events`, …).
    Table(String),
    /// One read-only SQL query.
    Sql(String),
}

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Output format.
    pub format: ExportFormat,
    /// Hive partition columns (in directory order); empty: one file.
    pub partition_by: Vec<String>,
    /// Replace an existing output.
    pub overwrite: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Rows written.
    pub rows: u64,
    /// Files written.
    pub files: usize,
}

/// An export failure.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Bad input: unknown table or column, a refused or invalid query, an existing output.
    #[error("{0}")]
    Input(String),
    /// The query failed while it ran.
    #[error("query failed: {0}")]
    Query(#[source] DataFusionError),
    /// Encoding the output failed.
    #[error("writing {format}: {message}")]
    Encode {
        /// The format.
        format: &'static str,
        /// The encoder's reason.
        message: String,
    },
    /// File system failure.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl ExportError {
    /// Whether the error is the user's input (exit code 2) rather than a failure while running.
    pub fn is_input(&self) -> bool {
        matches!(self, ExportError::Input(_))
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io { path: path.to_owned(), source }
}

fn encode_err(format: ExportFormat) -> impl Fn(String) -> ExportError {
    move |message| ExportError::Encode { format: format.extension(), message }
}

/// Plans the source in `ctx`. Errors here (unknown table, SQL syntax, unknown column, a
/// statement that is not a query) are input errors carrying DataFusion's reason.
pub async fn plan(ctx: &SessionContext, source: &Source) -> Result<DataFrame, ExportError> {
    match source {
        Source::Table(name) => ctx.table(name.as_str()).await.map_err(|e| match e {
            DataFusionError::Plan(_) | DataFusionError::SQL(..) => ExportError::Input(format!("unknown table `{name}` (run `simcash schema` for the list)")),
            e => ExportError::Input(format!("table `{name}`: {e}")),
        }),
        Source::Sql(sql) => {
            if sql.trim().is_empty() {
                return Err(ExportError::Input("the query is empty".into()));
            }
            let read_only = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
            ctx.sql_with_options(sql, read_only).await.map_err(sql_error)
        }
    }
}

/// Exports `df` to `path`. `progress` is called after each batch with the rows written so far.
pub async fn export(df: DataFrame, path: &Path, opts: &ExportOptions, progress: &mut dyn FnMut(u64)) -> Result<ExportSummary, ExportError> {
    // Check everything about the input before anything runs or is written.
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut part_idx = Vec::new();
    for name in &opts.partition_by {
        let (i, f) = schema
            .column_with_name(name)
            .ok_or_else(|| ExportError::Input(format!("--partition-by: no column `{name}` in the result (columns: {})", column_list(&schema))))?;
        if part_idx.contains(&i) {
            return Err(ExportError::Input(format!("--partition-by: column `{name}` named twice")));
        }
        if f.data_type().is_nested() || f.data_type().is_floating() {
            return Err(ExportError::Input(format!(
                "--partition-by: column `{name}` has type {} (partition by ids, integers, strings or dates)",
                f.data_type()
            )));
        }
        part_idx.push(i);
    }
    if !part_idx.is_empty() && part_idx.len() == schema.fields().len() {
        return Err(ExportError::Input("--partition-by: at least one column must be left for the files".into()));
    }
    let exists = std::fs::symlink_metadata(path).is_ok();
    if exists && !opts.overwrite {
        return Err(ExportError::Input(format!("{} already exists (use --overwrite to replace it)", path.display())));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| ExportError::Input(format!("{}: not a file name", path.display())))?;
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let tmp = Temp(parent.join(format!(".{}.simcash-export-{}", file_name.to_string_lossy(), std::process::id())));
    tmp.clear()?;

    let data_idx: Vec<usize> = (0..schema.fields().len()).filter(|i| !part_idx.contains(i)).collect();
    let file_schema = Arc::new(schema.project(&data_idx).map_err(|e| encode_err(opts.format)(e.to_string()))?);
    let mut stream = df.execute_stream().await.map_err(|e| match e {
        DataFusionError::Plan(_) | DataFusionError::SQL(..) | DataFusionError::SchemaError(..) => sql_error(e),
        e => ExportError::Query(e),
    })?;

    let mut rows = 0u64;
    let summary = if part_idx.is_empty() {
        let mut w = Writer::create(&tmp.0, opts.format, &file_schema)?;
        while let Some(batch) = super::guarded(async { stream.next().await.transpose() }).await.transpose() {
            let batch = batch.map_err(ExportError::Query)?;
            rows += batch.num_rows() as u64;
            w.write(&batch)?;
            progress(rows);
        }
        w.finish()?;
        ExportSummary { rows, files: 1 }
    } else {
        std::fs::create_dir(&tmp.0).map_err(io_err(&tmp.0))?;
        let mut writers: HashMap<Vec<String>, Writer> = HashMap::new();
        while let Some(batch) = super::guarded(async { stream.next().await.transpose() }).await.transpose() {
            let batch = batch.map_err(ExportError::Query)?;
            let keys = partition_keys(&batch, &part_idx).map_err(|e| encode_err(opts.format)(e.to_string()))?;
            let data = batch.project(&data_idx).map_err(|e| encode_err(opts.format)(e.to_string()))?;
            for (key, indices) in keys {
                let part = if indices.len() == data.num_rows() {
                    data.clone()
                } else {
                    take_record_batch(&data, &UInt32Array::from(indices)).map_err(|e| encode_err(opts.format)(e.to_string()))?
                };
                let w = match writers.get_mut(&key) {
                    Some(w) => w,
                    None => {
                        let mut dir = tmp.0.clone();
                        for (i, value) in part_idx.iter().zip(&key) {
                            dir.push(format!("{}={value}", schema.field(*i).name()));
                        }
                        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                        let file = dir.join(format!("part-0.{}", opts.format.extension()));
                        writers.entry(key).or_insert(Writer::create(&file, opts.format, &file_schema)?)
                    }
                };
                w.write(&part)?;
            }
            rows += batch.num_rows() as u64;
            progress(rows);
        }
        let files = writers.len();
        for (_, w) in writers {
            w.finish()?;
        }
        ExportSummary { rows, files }
    };
    tmp.commit(path, exists)?;
    Ok(summary)
}

fn sql_error(e: DataFusionError) -> ExportError {
    let reason = e.strip_backtrace();
    ExportError::Input(format!("SQL error: {}", reason.strip_prefix("SQL error: ").unwrap_or(&reason)))
}

fn column_list(schema: &Schema) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

/// Hive's name for a null (or empty) partition value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// A partition value as a directory name: characters that would break a path or a
/// `key=value` segment are %-escaped (as Hive does); null and empty become Hive's default.
pub fn escape_partition_value(value: Option<&str>) -> String {
    let Some(v) = value.filter(|v| !v.is_empty()) else { return NULL_PARTITION.to_owned() };
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        if matches!(c, '/' | '\\' | '=' | '%' | ':' | '#' | '?' | '*' | '"' | '\'' | '<' | '>' | '|' | '[' | ']' | '{' | '}' | '^')
            || c.is_control()
            || (i == 0 && c == '.')
        {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Groups the rows of `batch` by their partition values, in order of first appearance.
/// Rows of one partition: the escaped directory values and the row indices.
type Group = (Vec<String>, Vec<u32>);

fn partition_keys(batch: &RecordBatch, part_idx: &[usize]) -> Result<Vec<Group>, ArrowError> {
    let opts = FormatOptions::default();
    let formatters = part_idx
        .iter()
        .map(|i| Ok((batch.column(*i).clone(), ArrayFormatter::try_new(batch.column(*i).as_ref(), &opts)?)))
        .collect::<Result<Vec<_>, ArrowError>>()?;
    let mut order: Vec<Group> = Vec::new();
    let mut seen: HashMap<Vec<String>, usize> = HashMap::new();
    for row in 0..batch.num_rows() {
        let key: Vec<String> = formatters
            .iter()
            .map(|(a, f)| {
                let v = (!a.is_null(row)).then(|| f.value(row).to_string());
                escape_partition_value(v.as_deref())
            })
            .collect();
        match seen.get(&key) {
            Some(&i) => order[i].1.push(row as u32),
            None => {
                seen.insert(key.clone(), order.len());
                order.push((key, vec![row as u32]));
            }
        }
    }
    Ok(order)
}

/// The schema a format stores, and how batches are converted to it: Arrow IPC files cannot
/// replace a dictionary between batches (every stored file has its own), so dictionary
/// columns become their values; CSV has no nested values, so lists become their text.
fn stored_field(format: ExportFormat, f: &Field) -> Field {
    match (format, f.data_type()) {
        (ExportFormat::Arrow, DataType::Dictionary(_, v)) => f.clone().with_data_type((**v).clone()),
        (ExportFormat::Csv, t) if t.is_nested() => f.clone().with_data_type(DataType::Utf8),
        _ => f.clone(),
    }
}

fn convert(format: ExportFormat, schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if matches!(format, ExportFormat::Parquet | ExportFormat::Jsonl) {
        return Ok(batch.clone());
    }
    let cols = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(a, f)| -> Result<ArrayRef, ArrowError> {
            if a.data_type() == f.data_type() {
                Ok(a.clone())
            } else if a.data_type().is_nested() {
                let fmt = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())?;
                let mut b = StringBuilder::with_capacity(a.len(), a.len() * 8);
                for i in 0..a.len() {
                    if a.is_null(i) { b.append_null() } else { b.append_value(fmt.value(i).to_string()) }
                }
                Ok(Arc::new(b.finish()))
            } else {
                cast(a, f.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), cols)
}

enum Inner {
    Parquet(ArrowWriter<BufWriter<File>>),
    Arrow(datafusion::arrow::ipc::writer::FileWriter<BufWriter<File>>),
    Csv(datafusion::arrow::csv::Writer<BufWriter<File>>),
    Jsonl(datafusion::arrow::json::LineDelimitedWriter<BufWriter<File>>),
}

/// One output file.
struct Writer {
    format: ExportFormat,
    schema: SchemaRef,
    path: PathBuf,
    inner: Inner,
    empty: bool,
}

impl Writer {
    fn create(path: &Path, format: ExportFormat, schema: &SchemaRef) -> Result<Writer, ExportError> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err(path))?);
        let stored: SchemaRef =
            Arc::new(Schema::new_with_metadata(schema.fields().iter().map(|f| stored_field(format, f)).collect::<Vec<_>>(), schema.metadata().clone()));
        let enc = encode_err(format);
        let inner = match format {
            ExportFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid zstd level")))
                    .set_max_row_group_row_count(Some(128 * 1024))
                    .set_created_by(format!("simcash {} export", env!("CARGO_PKG_VERSION")))
                    .build();
                Inner::Parquet(ArrowWriter::try_new(file, stored.clone(), Some(props)).map_err(|e: ParquetError| enc(e.to_string()))?)
            }
            ExportFormat::Arrow => Inner::Arrow(datafusion::arrow::ipc::writer::FileWriter::try_new(file, &stored).map_err(|e| enc(e.to_string()))?),
            ExportFormat::Csv => Inner::Csv(datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(file)),
            ExportFormat::Jsonl => Inner::Jsonl(datafusion::arrow::json::LineDelimitedWriter::new(file)),
        };
        Ok(Writer { format, schema: stored, path: path.to_owned(), inner, empty: true })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ExportError> {
        let enc = encode_err(self.format);
        let batch = convert(self.format, &self.schema, batch).map_err(|e| enc(e.to_string()))?;
        if batch.num_rows() == 0 && !self.empty {
            return Ok(());
        }
        self.empty = false;
        match &mut self.inner {
            Inner::Parquet(w) => w.write(&batch).map_err(|e| enc(e.to_string())),
            Inner::Arrow(w) => w.write(&batch).map_err(|e| enc(e.to_string())),
            Inner::Csv(w) => w.write(&batch).map_err(|e| enc(e.to_string())),
            Inner::Jsonl(w) => w.write(&batch).map_err(|e| enc(e.to_string())),
        }
    }

    fn finish(mut self) -> Result<(), ExportError> {
        if self.empty && self.format == ExportFormat::Csv {
            // The header row even for an empty result.
            self.write(&RecordBatch::new_empty(self.schema.clone()))?;
        }
        let enc = encode_err(self.format);
        let path = self.path.clone();
        let mut file = match self.inner {
            Inner::Parquet(w) => w.into_inner().map_err(|e| enc(e.to_string()))?,
            Inner::Arrow(mut w) => {
                w.finish().map_err(|e| enc(e.to_string()))?;
                w.into_inner().map_err(|e| enc(e.to_string()))?
            }
            Inner::Csv(w) => w.into_inner(),
            Inner::Jsonl(mut w) => {
                w.finish().map_err(|e| enc(e.to_string()))?;
                w.into_inner()
            }
        };
        file.flush().map_err(io_err(&path))?;
        let file = file.into_inner().map_err(|e| ExportError::Io { path: path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(io_err(&path))
    }
}

/// The temporary output: removed on drop unless committed.
struct Temp(PathBuf);

impl Temp {
    fn clear(&self) -> Result<(), ExportError> {
        remove_any(&self.0)
    }

    /// Moves the finished output into place (replacing an existing one when `replace`).
    fn commit(self, path: &Path, replace: bool) -> Result<(), ExportError> {
        let is_dir = self.0.is_dir();
        // A file renames over a file atomically; anything else moves the old output aside first.
        let aside = if replace && (is_dir || path.is_dir()) {
            let aside = self.0.with_extension("old");
            remove_any(&aside)?;
            std::fs::rename(path, &aside).map_err(io_err(path))?;
            Some(aside)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&self.0, path) {
            if let Some(a) = &aside {
                let _ = std::fs::rename(a, path);
            }
            return Err(io_err(path)(e));
        }
        if let Some(a) = aside {
            remove_any(&a)?;
        }
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = remove_any(&self.0);
    }
}

fn remove_any(path: &Path) -> Result<(), ExportError> {
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(io_err(path)),
        Ok(_) => std::fs::remove_file(path).map_err(io_err(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_escaped_like_hive() {
        assert_eq!(escape_partition_value(Some("sim-a")), "sim-a");
        assert_eq!(escape_partition_value(Some("a/b=c%")), "a%2Fb%3Dc%25");
        assert_eq!(escape_partition_value(Some("..")), "%2E.");
        assert_eq!(escape_partition_value(None), NULL_PARTITION);
        assert_eq!(escape_partition_value(Some("")), NULL_PARTITION);
    }

    #[test]
    fn formats_follow_extensions() {
        assert_eq!(ExportFormat::from_path(Path::new("x/e.feather")), Some(ExportFormat::Arrow));
        assert_eq!(ExportFormat::from_path(Path::new("e.PARQUET")), Some(ExportFormat::Parquet));
        assert_eq!(ExportFormat::from_path(Path::new("e.ndjson")), Some(ExportFormat::Jsonl));
        assert_eq!(ExportFormat::from_path(Path::new("dir")), None);
    }
}
