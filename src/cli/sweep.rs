//! `simcash sweep FILE`: run a parameter sweep (grid of parameters × policy files × seeds).

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::DataArgs;
use super::run::InputError;
use crate::store::Dataset;
use crate::store::commit::GroupLimits;
use crate::sweep::run::{self, Options, Progress};
use crate::sweep::{Point, Shard, load_file};

/// Arguments of `simcash sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (YAML: name, scenario, seeds, parameters, policies; see docs/sweeps.md).
    pub file: PathBuf,
    /// Run only the points with index % N == K-1 (1-based K), so that several processes or
    /// machines can fill one dataset without coordinating. `auto` takes K and N from the
    /// batch scheduler (Slurm arrays, Cloud Run and Google Cloud Batch jobs); `auto/N` takes
    /// K from it and N from here (Kubernetes indexed Jobs, AWS Batch array jobs).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Simulations run at once (default: every core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Check the sweep and print its points (index, simulation id, seed, values); run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave the small files of this run as they are (default: compact the sweep's partition
    /// when it finishes; `simcash compact` does it later).
    #[arg(long)]
    pub no_compact: bool,
    /// Each worker commits after this many simulations (or 256 MB of data, or 30 seconds,
    /// whichever is first). A killed sweep keeps every committed point.
    #[arg(long, value_name = "N", default_value_t = GroupLimits::BATCH.simulations as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub commit_every: u32,
    #[command(flatten)]
    pub data: DataArgs,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, points: u64) {
        self.0.set_length(points);
    }

    fn point_done(&self, _: &Point) {
        self.0.inc(1);
    }
}

/// Runs `simcash sweep`.
pub fn cmd_sweep(args: SweepArgs) -> anyhow::Result<()> {
    let cfg = load_file(&args.file)?;
    for w in &cfg.warnings {
        eprintln!("warning: {}:{}: `{}` {}", cfg.scenario_path.display(), w.line, w.key, w.reason);
    }
    // Every point is built and checked before anything runs.
    let points = cfg.points()?;
    let shard = args.shard.unwrap_or(Shard::ALL);
    let id = cfg.experiment_id();
    let mut out = io::stdout().lock();
    if args.dry_run {
        writeln!(out, "sweep {id}: {} configuration(s) × {} seed(s) = {} points", cfg.configurations(), cfg.seeds.len(), points.len())?;
        for p in points.iter().filter(|p| shard.contains(p.index)) {
            let vals: Vec<String> = p.assignments.iter().map(|(k, v)| format!("{k}={v}")).chain(p.policies.iter().map(|(a, f)| format!("{a}:{f}"))).collect();
            writeln!(out, "{:>6}  {}  seed {:<20}  {}", p.index, p.simulation_id, p.seed, vals.join(" "))?;
        }
        return Ok(());
    }
    let dataset = Dataset::open(&args.data.data, true).map_err(|e| InputError(e.to_string()))?;
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    eprintln!("sweep {id} → {} (shard {shard}, {jobs} job(s))", args.data.data);
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("points {bar:40} {pos}/{len} {elapsed_precise} (eta {eta})").expect("static template is valid"));
    let started = Instant::now();
    let result = run::run(
        &cfg,
        &points,
        &dataset,
        Options { jobs, shard, commit: GroupLimits { simulations: args.commit_every as usize, ..GroupLimits::BATCH } },
        &Bar(bar.clone()),
    );
    bar.finish_and_clear();
    let s = result.context("sweep stopped; committed points are kept and the same command continues")?;
    writeln!(
        out,
        "sweep {}: {} points; shard {shard}: {} point(s), {} already committed (skipped), {} run now",
        s.experiment_id, s.total, s.in_shard, s.skipped, s.ran
    )?;
    out.flush()?;
    if !args.no_compact && s.ran > 0 {
        super::compact::after_run(&dataset, &s.experiment_id)?;
    }
    eprintln!("wall time {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
