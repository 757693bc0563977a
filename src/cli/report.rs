//! `simcash report`: a stored simulation, sweep or experiment as one self-contained HTML file.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::DataArgs;
use super::run::InputError;
use super::sql::{open, runtime};
use crate::query;
use crate::report::{ReportError, simulation};

/// Arguments of `simcash report` (the help text is on `Command::Report`).
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A simulation id (the end of `simcash run` shows it), or the experiment id or name of
    /// a sweep or an experiment (`simcash list` shows them).
    pub target: String,
    /// Where to write the report [default: report-<TARGET>.html].
    #[arg(short, long, value_name = "FILE.html")]
    pub output: Option<PathBuf>,
    /// Ticks whose events the event log lists, as FIRST..LAST.
    #[arg(long, value_name = "FIRST..LAST", default_value = "0..9", value_parser = parse_ticks)]
    pub ticks: RangeInclusive<i64>,
    #[command(flatten)]
    pub data: DataArgs,
}

fn parse_ticks(s: &str) -> Result<RangeInclusive<i64>, String> {
    let bad = || format!("{s:?} is not a tick range such as 0..9");
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b): (i64, i64) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
    if a > b {
        return Err(format!("tick range {s:?} ends before it starts"));
    }
    Ok(a..=b)
}

/// Runs `simcash report`.
pub fn cmd_report(args: ReportArgs) -> anyhow::Result<()> {
    let dataset = open(&args.data)?;
    let opts = simulation::Options { log_ticks: args.ticks.clone() };
    let report = runtime()?.block_on(async {
        let ctx = query::session(&dataset).await?;
        crate::report::any(&ctx, &args.target, &opts).await
    });
    let (what, html) = match report {
        Err(e @ ReportError::NotFound(_)) => return Err(InputError(e.to_string()).into()),
        other => other?,
    };
    let path = args.output.clone().unwrap_or_else(|| PathBuf::from(format!("report-{}.html", args.target.replace(['/', '\\'], "_"))));
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("report of {what} {} → {}", args.target, path.display());
    Ok(())
}
