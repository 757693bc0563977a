//! `simcash report`: one self-contained HTML file of charts and tables about a stored
//! simulation, drawn from SQL over the dataset's views (each chart aggregates in SQL first).
//! Money is shown in currency units (the dataset stores cents).
//!
//! - [`simulation`] builds the page for one simulation, [`sweep`] for a parameter sweep,
//!   [`experiment`] for a policy-optimisation experiment;
//! - [`svg`] draws line charts; [`html`] assembles the page.

pub mod experiment;
pub mod html;
pub mod simulation;
pub mod svg;
pub mod sweep;
pub mod tree;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::prelude::SessionContext;

use crate::query::{self, QueryError};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No committed simulation, sweep or experiment has this id.
    #[error("no committed simulation, sweep or experiment has id {0:?} (`simcash list` shows what is stored)")]
    NotFound(String),
    /// A report query failed.
    #[error("report query failed: {0}")]
    Query(#[from] QueryError),
    /// A report query returned a column of an unexpected type.
    #[error("report query column {column}: {source}")]
    Column {
        /// The column.
        column: String,
        /// What went wrong.
        source: datafusion::arrow::error::ArrowError,
    },
}

/// The report of `target`: a sweep or an experiment (by id or name), or else a simulation.
/// Returns what the target is ("sweep", "experiment" or "simulation") and the page.
pub async fn any(ctx: &SessionContext, target: &str, opts: &simulation::Options) -> Result<(&'static str, String), ReportError> {
    if let Some(id) = sweep::find(ctx, target).await? {
        return Ok(("sweep", sweep::report(ctx, &id).await?));
    }
    if let Some(id) = experiment::find(ctx, target).await? {
        return Ok(("experiment", experiment::report(ctx, &id).await?));
    }
    Ok(("simulation", simulation::report(ctx, target, opts).await?))
}

/// The result of one report query, read column by column.
struct Rows(Vec<RecordBatch>);

impl Rows {
    /// Runs `sql`.
    async fn query(ctx: &SessionContext, sql: &str) -> Result<Rows, ReportError> {
        Ok(Rows(query::run_sql(ctx, sql).await?))
    }

    /// Runs `sql`; no row means `id` is not in the dataset.
    async fn found(ctx: &SessionContext, sql: &str, id: &str) -> Result<Rows, ReportError> {
        let rows = Rows::query(ctx, sql).await?;
        if rows.len() == 0 {
            return Err(ReportError::NotFound(id.to_owned()));
        }
        Ok(rows)
    }

    fn len(&self) -> usize {
        self.0.iter().map(RecordBatch::num_rows).sum()
    }

    fn column(&self, name: &str, to: &DataType) -> Result<Vec<std::sync::Arc<dyn Array>>, ReportError> {
        let err = |source| ReportError::Column { column: name.to_owned(), source };
        self.0
            .iter()
            .map(|b| {
                let c = b.column_by_name(name).ok_or_else(|| err(datafusion::arrow::error::ArrowError::SchemaError("missing".into())))?;
                cast(c, to).map_err(err)
            })
            .collect()
    }

    /// A numeric column as floats (nulls as 0).
    fn numbers(&self, name: &str) -> Result<Vec<f64>, ReportError> {
        Ok(self.optional(name)?.into_iter().map(|v| v.unwrap_or(0.0)).collect())
    }

    /// A numeric column as floats, `None` for nulls.
    fn optional(&self, name: &str) -> Result<Vec<Option<f64>>, ReportError> {
        let arrays = self.column(name, &DataType::Float64)?;
        Ok(arrays.iter().flat_map(|a| a.as_primitive::<Float64Type>().iter().collect::<Vec<_>>()).collect())
    }

    /// The first row's value of a column as text (empty when there are no rows).
    fn first(&self, name: &str) -> Result<String, ReportError> {
        Ok(self.texts(name)?.into_iter().next().unwrap_or_default())
    }

    /// A column as text (nulls as empty).
    fn texts(&self, name: &str) -> Result<Vec<String>, ReportError> {
        let arrays = self.column(name, &DataType::Utf8)?;
        Ok(arrays.iter().flat_map(|a| a.as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_owned()).collect::<Vec<_>>()).collect())
    }
}

/// `text` as an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Cents as currency units, with two decimals and thousands separated.
fn money(cents: f64) -> String {
    let units = cents / 100.0;
    let s = format!("{:.2}", units.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    format!("{}{}.{frac}", if units < 0.0 { "-" } else { "" }, html::thousands(int))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_in_currency_units() {
        assert_eq!(money(123_456_789.0), "1,234,567.89");
        assert_eq!(money(-5.0), "-0.05");
        assert_eq!(money(0.0), "0.00");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
