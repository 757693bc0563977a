//! Writing query results: a terminal table, CSV, JSON lines or Parquet.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::parquet::arrow::ArrowWriter;

/// Output formats of `simcash sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per row.
    Json,
    /// A Parquet file (needs -o).
    Parquet,
}

/// Failure writing results.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Arrow could not format the batches.
    #[error("formatting results: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Parquet encoding failed.
    #[error("writing Parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes `batches` to `out` in `format`.
pub fn write(format: Format, batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), OutputError> {
    match format {
        Format::Table => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                writeln!(out, "(no rows)")?;
            } else {
                writeln!(out, "{}", pretty_format_batches(batches)?)?;
            }
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => {
            let Some(first) = batches.first() else { return Ok(()) };
            let mut buf = Vec::new();
            let mut w = ArrowWriter::try_new(&mut buf, first.schema(), None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
            out.write_all(&buf)?;
        }
    }
    Ok(())
}
