//! Integration tests: one binary, modules by topic. They run the real `simcash` binary.

#[cfg(any(feature = "s3", feature = "azure"))]
mod cloud;
#[cfg(feature = "dataset")]
mod dataset;
#[cfg(feature = "dataset")]
mod delta;
mod determinism;
#[cfg(feature = "dataset")]
mod experiment;
#[cfg(feature = "dataset")]
mod export;
mod extensions;
#[cfg(feature = "dataset")]
mod faults;
mod golden;
mod layers;
mod lsm;
mod malformed;
#[cfg(feature = "dataset")]
mod memory;
#[cfg(feature = "dataset")]
mod migrate;
mod policies;
mod properties;
#[cfg(feature = "dataset")]
mod replay;
#[cfg(feature = "dataset")]
mod report;
mod run;
#[cfg(feature = "dataset")]
mod serve;
#[cfg(feature = "dataset")]
mod sweep;
mod util;
