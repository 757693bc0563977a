//! `simcash compact`: rewrite small data files into large ones (also run at the end of
//! `sweep` and `experiment run`).

use clap::Args;

use super::DataArgs;
use super::run::InputError;
use crate::store::Dataset;
use crate::store::compact::{self, Options, Report};

/// Arguments of `simcash compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Only this experiment's partition (default: every experiment).
    #[arg(long, value_name = "ID")]
    pub experiment: Option<String>,
    /// Target size of a compacted file, in MB.
    #[arg(long, value_name = "MB", default_value_t = 64)]
    pub target_size: u64,
    /// Only files smaller than this many MB are rewritten (default: a quarter of the target;
    /// 0 rewrites nothing). Files of committed runs left as they are get marked committed in
    /// the log.
    #[arg(long, value_name = "MB")]
    pub small_size: Option<u64>,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `simcash compact`.
pub fn cmd_compact(args: CompactArgs) -> anyhow::Result<()> {
    let dataset = Dataset::open(&args.data.data, false).map_err(|e| InputError(e.to_string()))?;
    let target_bytes = args.target_size.max(1) << 20;
    let small_bytes = args.small_size.map_or(target_bytes / 4, |mb| mb << 20);
    let opts = Options { target_bytes, small_bytes, ..Options::default() };
    let reports = run(&dataset, args.experiment.as_deref(), opts)?;
    for r in reports.iter().filter(|r| r.files_in > 0) {
        println!("{:<12} {:>6} files ({:.1} MB) → {} ({:.1} MB)", r.table, r.files_in, mb(r.bytes_in), r.files_out, mb(r.bytes_out));
    }
    for r in reports.iter().filter(|r| r.marked > 0) {
        println!("{:<12} {:>6} file(s) kept as they are, marked committed", r.table, r.marked);
    }
    if reports.iter().all(|r| r.files_in == 0 && r.marked == 0) {
        println!("nothing to compact");
    }
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// Compacts `experiment`'s partition (every partition when `None`).
pub fn run(dataset: &Dataset, experiment: Option<&str>, opts: Options) -> anyhow::Result<Vec<Report>> {
    Ok(compact::compact(dataset, experiment, opts)?)
}

/// The end-of-run compaction of `sweep` and `experiment run` (see [`Options::auto`]): one
/// line on stderr.
pub fn after_run(dataset: &Dataset, experiment: &str) -> anyhow::Result<()> {
    let reports = run(dataset, Some(experiment), Options::auto())?;
    let (files_in, files_out) = reports.iter().fold((0, 0), |(a, b), r| (a + r.files_in, b + r.files_out));
    if files_in > 0 {
        eprintln!("compacted {files_in} file(s) into {files_out} (--no-compact skips this)");
    }
    Ok(())
}
