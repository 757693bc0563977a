//! `simcash export`: a table or a query result to Parquet, Arrow IPC, CSV or JSON lines.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{ArgGroup, Args};
use indicatif::{ProgressBar, ProgressStyle};

use super::DataArgs;
use super::run::InputError;
use crate::query::export::{ExportFormat, ExportOptions, Source};
use crate::query::{self, export};
use crate::store::Dataset;

/// Arguments of `simcash export` (the help text is on `Command::Export`).
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["table", "query", "file"])))]
pub struct ExportArgs {
    /// A view or physical table (see `simcash schema`), e.g. transactions or raw.events.
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// One SQL query (read-only: SELECT/WITH/VALUES).
    #[arg(long, value_name = "SQL")]
    pub query: Option<String>,
    /// Read the query from a file.
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    pub file: Option<PathBuf>,
    /// Output format (default: from the extension of -o; parquet when partitioned).
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Output file, or directory with --partition-by.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    /// Write a hive-partitioned directory `COL=value/…/part-0.<ext>` (the columns leave the
    /// files, as readers with hive partitioning expect).
    #[arg(long, value_name = "COL,…", value_delimiter = ',')]
    pub partition_by: Vec<String>,
    /// Replace an existing output.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

fn input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InputError(msg.into()))
}

/// Runs `simcash export`.
pub fn cmd_export(args: ExportArgs) -> anyhow::Result<()> {
    let source = match (&args.table, &args.query, &args.file) {
        (Some(t), _, _) => Source::Table(t.clone()),
        (_, Some(q), _) => Source::Sql(q.clone()),
        (_, _, Some(f)) => Source::Sql(std::fs::read_to_string(f).map_err(|e| input(format!("cannot read {}: {e}", f.display())))?),
        _ => unreachable!("clap requires one source"),
    };
    let partition_by: Vec<String> = args.partition_by.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
    let format = match args.format {
        Some(f) => f,
        None if !partition_by.is_empty() => ExportFormat::Parquet,
        None => ExportFormat::from_path(&args.output)
            .ok_or_else(|| input(format!("cannot tell the format from `{}`: give --format parquet|arrow|csv|jsonl", args.output.display())))?,
    };
    let opts = ExportOptions { format, partition_by, overwrite: args.overwrite };
    let dataset = Dataset::open(&args.data.data, false).map_err(|e| input(e.to_string()))?;
    let rt = super::sql::runtime()?;
    let started = Instant::now();
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} exporting: {msg} rows {elapsed_precise}").expect("static template is valid"));
    bar.set_message("0");
    bar.enable_steady_tick(Duration::from_millis(120));
    let result = rt.block_on(async {
        let ctx = query::session(&dataset).await?;
        let df = export::plan(&ctx, &source).await?;
        let mut progress = |rows: u64| bar.set_message(rows.to_string());
        tokio::select! {
            r = export::export(df, &args.output, &opts, &mut progress) => Ok(r?),
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; nothing was written to {}", args.output.display())),
        }
    });
    bar.finish_and_clear();
    let summary = result
        .map_err(|e: anyhow::Error| match e.downcast::<export::ExportError>() {
            Ok(x) if x.is_input() => input(x.to_string()),
            Ok(x) => anyhow::Error::new(x),
            Err(e) => e,
        })
        .with_context(|| format!("export to {} failed", args.output.display()))?;
    eprintln!(
        "exported {} rows to {} ({}, {} file{}) in {:.2} s",
        summary.rows,
        args.output.display(),
        format.extension(),
        summary.files,
        if summary.files == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
