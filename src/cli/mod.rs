//! The `simcash` command line: parses arguments, calls the library, prints. No simulation
//! logic lives here.

#[cfg(feature = "dataset")]
mod compact;
#[cfg(feature = "dataset")]
mod experiment;
#[cfg(feature = "dataset")]
mod export;
#[cfg(feature = "dataset")]
mod migrate;
mod persist;
#[cfg(feature = "dataset")]
mod replay;
#[cfg(feature = "dataset")]
mod report;
mod run;
#[cfg(feature = "dataset")]
mod serve;
#[cfg(feature = "dataset")]
mod sql;
#[cfg(feature = "dataset")]
mod sweep;

pub use persist::{DataArgs, PersistArgs};

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Deterministic RTGS payment-settlement simulator (SimCash-compatible scenarios and events).
#[derive(Debug, Parser)]
#[command(name = "simcash", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one scenario and print a summary (verbose: every tick).
    ///
    /// Reads SimCash scenario YAML (or runs the embedded default), saves the simulation to
    /// the dataset (unless --no-persist) and prints the settlement rate, the costs per agent
    /// and the event count. Wall time, warnings and where it was saved go to stderr, so
    /// stdout is the same for the same scenario and seed.
    Run(run::RunArgs),
    /// Replay a stored simulation, printing what its live run printed.
    ///
    /// Reads the simulation's Parquet files only (no re-simulation). `-v` prints every tick
    /// exactly as `simcash run -v` did, then the same summary. --from-tick/--to-tick print
    /// exactly those ticks' lines of the full output (no summary); --agent keeps the events
    /// naming the agent and its state line; --event-type keeps events of those types.
    /// End-of-day summaries always count every event.
    #[cfg(feature = "dataset")]
    Replay(replay::ReplayArgs),
    /// Run SQL over every stored simulation.
    ///
    /// Views: simulations, simulation_events, transactions, daily_agent_metrics,
    /// agent_costs, agent_ticks, ticks (committed simulations only); experiments,
    /// experiment_iterations, policy_evaluations, experiment_convergence, policy_evolution,
    /// experiment_comparison, sweep_points. Physical tables: raw.events, raw.agent_ticks,
    /// raw.ticks, raw.simulations, raw.experiments, raw.iterations, raw.policy_evaluations,
    /// raw.sweep_points. `simcash schema` lists them all with their columns. With no query,
    /// reads statements from standard input (a prompt on a terminal; end each with `;`).
    #[cfg(feature = "dataset")]
    Sql(sql::SqlArgs),
    /// List stored simulations and experiments, newest first.
    #[cfg(feature = "dataset")]
    List(sql::ListArgs),
    /// Show the tables and views of the dataset, or one table's columns.
    #[cfg(feature = "dataset")]
    Schema(sql::SchemaArgs),
    /// Remove what crashed runs left, and superseded files past their retention (vacuum).
    #[cfg(feature = "dataset")]
    Gc(sql::GcArgs),
    /// Rewrite small data files into large ones, rows in simulation order (safe while others
    /// read and write; `sweep` and `experiment run` do it when they finish).
    #[cfg(feature = "dataset")]
    Compact(compact::CompactArgs),
    /// Convert a dataset written by simcash before schema 3 (one directory per simulation)
    /// into Delta tables at a new root; the old root is only read.
    #[cfg(feature = "dataset")]
    Migrate(migrate::MigrateArgs),
    /// Policy-optimisation experiments (SimCash experiment files).
    #[cfg(feature = "dataset")]
    #[command(subcommand)]
    Experiment(experiment::ExperimentCommand),
    /// Run a parameter sweep: a grid of scenario parameters × policy files × seeds.
    ///
    /// The sweep file names a scenario and lists values for dotted parameter paths
    /// (`cost_rates.delay_cost_per_tick_per_cent`, `agents[BANK_A].liquidity_pool`, …), policy
    /// files per agent and seeds; every combination is one simulation, saved under experiment
    /// `sweep-<name>-<hash>` (iteration 0, simulation `sim-p<configuration>-s<seed>`) and
    /// recorded in the `sweep_points` table once committed. Every point is checked before
    /// anything runs. --shard K/N runs a disjoint slice, so several processes or machines fill
    /// one dataset; running the same command again skips committed points. See docs/sweeps.md.
    #[cfg(feature = "dataset")]
    Sweep(sweep::SweepArgs),
    /// Write a report of a stored simulation, sweep or experiment: one self-contained HTML file.
    ///
    /// A simulation: balances per agent with their credit floors, Queue-1 and Queue-2 sizes
    /// and values, settlements per tick by mechanism (RTGS, Queue-2 releases, LSM offsets and
    /// cycles), cumulative costs per agent by component, the end-of-day table, each agent's
    /// policy (decision trees drawn node by node) and the event log of a tick range. A sweep
    /// (its experiment id or name): total cost and settlement rate against each swept
    /// parameter (mean and range), parameters to cost in parallel coordinates, the
    /// distribution of total cost, and the best configurations. An experiment (its id or
    /// name): each agent's cost per iteration with accepted and rejected proposals, the paired
    /// evaluation's saving with its confidence interval, the last proposal's sample costs,
    /// policy parameters over the iterations, the final policies. Money in currency units. The file has no scripts and
    /// loads nothing from the network: open it from disk in any browser, or print it.
    #[cfg(feature = "dataset")]
    Report(report::ReportArgs),
    /// Serve a read-only web UI of the dataset on 127.0.0.1: lists, reports, a SQL box.
    ///
    /// The index lists experiments, sweeps and the newest simulations, each linked to its
    /// report (the pages `simcash report` writes); /sql?q=… shows a query's first 1,000
    /// rows and /sql.csv?q=… downloads up to 1,000,000. One warm session answers every
    /// request and sees new commits at once. Only GET is answered, and SQL that would
    /// change anything (CREATE, INSERT, COPY, SET, …) is refused.
    #[cfg(feature = "dataset")]
    Serve(serve::ServeArgs),
    /// Export a table or a query result: Parquet, Arrow IPC (Feather v2), CSV or JSON lines.
    ///
    /// One file, or with --partition-by a hive-partitioned directory. Written under a
    /// temporary name and renamed when complete; an existing output needs --overwrite.
    #[cfg(feature = "dataset")]
    Export(export::ExportArgs),
}

/// Exit code for bad input (scenario, arguments).
const EXIT_INPUT: u8 = 2;
/// Exit code for a run that failed after it started.
const EXIT_RUN: u8 = 1;

/// Entry point of the binary: parses `std::env::args`, runs, maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::cmd_run(args),
        #[cfg(feature = "dataset")]
        Command::Replay(args) => replay::cmd_replay(args),
        #[cfg(feature = "dataset")]
        Command::Sql(args) => sql::cmd_sql(args),
        #[cfg(feature = "dataset")]
        Command::List(args) => sql::cmd_list(args),
        #[cfg(feature = "dataset")]
        Command::Schema(args) => sql::cmd_schema(args),
        #[cfg(feature = "dataset")]
        Command::Gc(args) => sql::cmd_gc(args),
        #[cfg(feature = "dataset")]
        Command::Compact(args) => compact::cmd_compact(args),
        #[cfg(feature = "dataset")]
        Command::Migrate(args) => migrate::cmd_migrate(args),
        #[cfg(feature = "dataset")]
        Command::Experiment(cmd) => experiment::cmd_experiment(cmd),
        #[cfg(feature = "dataset")]
        Command::Sweep(args) => sweep::cmd_sweep(args),
        #[cfg(feature = "dataset")]
        Command::Export(args) => export::cmd_export(args),
        #[cfg(feature = "dataset")]
        Command::Report(args) => report::cmd_report(args),
        #[cfg(feature = "dataset")]
        Command::Serve(args) => serve::cmd_serve(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", message(&e));
            ExitCode::from(if run::is_input_error(&e) { EXIT_INPUT } else { EXIT_RUN })
        }
    }
}

/// The error and its causes, each cause left out when the text so far already says it (many
/// errors, DataFusion's among them, repeat their source in their own message).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| match c.downcast_ref::<std::io::Error>() {
        Some(io) => io.kind() == std::io::ErrorKind::BrokenPipe,
        None => matches!(
            c.downcast_ref::<crate::sink::SinkError>(),
            Some(crate::sink::SinkError::Stdout(io)) if io.kind() == std::io::ErrorKind::BrokenPipe
        ),
    })
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = anyhow::Error::new(Repeats(std::io::Error::other("disk full"))).context("saving run");
        assert_eq!(super::message(&e), "saving run: outer: disk full");
        let plain = anyhow::Error::new(std::io::Error::other("disk full")).context("saving run");
        assert_eq!(super::message(&plain), "saving run: disk full");
    }

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_parses_its_flags() {
        let cli = Cli::try_parse_from(["simcash", "run", "s.yaml", "--seed", "7", "--events", "e.jsonl", "-v"]).unwrap();
        let Command::Run(a) = cli.command else { panic!("run parses as Run") };
        assert_eq!(a.scenario.as_deref(), Some(std::path::Path::new("s.yaml")));
        assert_eq!(a.seed, Some(7));
        assert!(a.verbose);
        assert!(Cli::try_parse_from(["simcash", "run", "--seed", "minus"]).is_err());
    }
}
