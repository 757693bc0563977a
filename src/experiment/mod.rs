//! Experiments: policy optimisation over iterations of seeded simulations (SimCash's
//! experiment files), every simulation stored through the same sink as `simcash run`.

pub mod config;
#[cfg(feature = "dataset")]
pub mod evaluate;
pub mod policy;
#[cfg(feature = "dataset")]
pub mod proposer;
#[cfg(feature = "dataset")]
pub mod runner;
pub mod seeds;
