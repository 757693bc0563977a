//! `simcash migrate OLD NEW`: convert a dataset written before schema 3 into Delta tables.

use clap::Args;

use super::run::InputError;
use crate::store::Dataset;

/// Arguments of `simcash migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The old dataset root (only read).
    pub old: String,
    /// The new dataset root (must not hold a dataset yet).
    pub new: String,
}

/// Runs `simcash migrate`.
pub fn cmd_migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let old = Dataset::open_any_layout(&args.old, false).map_err(|e| InputError(e.to_string()))?;
    if !old.has_hive_layout()? {
        return Err(InputError(format!("{}: not a dataset in the old layout (nothing to migrate)", args.old)).into());
    }
    let new = Dataset::open(&args.new, true).map_err(|e| InputError(e.to_string()))?;
    let sims = crate::store::registry::get("simulations").expect("registered");
    let existing = crate::store::layout::block_on(crate::store::table::Table::new(&new, sims).snapshot())?;
    if existing.version >= 0 {
        return Err(InputError(format!("{}: already holds a dataset; migrate into an empty root", args.new)).into());
    }
    let m = crate::store::migrate::migrate(&old, &new, &|n| {
        if n % 1000 == 0 {
            eprintln!("{n} simulations…");
        }
    })?;
    println!("migrated {} simulation(s) and {} experiment/sweep file(s) from {} to {}", m.simulations, m.other_files, args.old, args.new);
    Ok(())
}
