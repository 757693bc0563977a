//! simcash: a deterministic RTGS payment-settlement simulator compatible with SimCash's
//! scenarios and event stream.
//!
//! - [`scenario`] turns SimCash YAML into a validated [`engine::config::SimConfig`].
//! - [`engine`] runs it tick by tick and emits [`engine::event::Event`]s.
//! - [`run::run_simulation`] pushes every tick through [`sink::SimulationSink`]s: the JSONL
//!   event writer, the verbose renderer, and (later) the Parquet dataset.
//! - [`state`] holds the [`state::StateProvider`] trait and the one verbose renderer, which
//!   the live run and [`replay`] share.
//! - [`cli`] is the thin `simcash` command line.
#![warn(missing_docs)]

pub mod cli;
pub mod engine;
pub mod experiment;
#[cfg(feature = "dataset")]
pub mod query;
pub mod replay;
#[cfg(feature = "dataset")]
pub mod report;
pub mod run;
pub mod scenario;
#[cfg(feature = "dataset")]
pub mod serve;
pub mod sink;
pub mod state;
#[cfg(feature = "dataset")]
pub mod store;
pub mod sweep;

/// The scenario `simcash run` uses when no file is given.
pub const DEFAULT_SCENARIO: &str = include_str!("../scenarios/default.yaml");
