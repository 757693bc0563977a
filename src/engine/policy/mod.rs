//! Payment policies: SimCash's decision trees (ENGINE-SPEC §6) and the native `Fifo`.
//!
//! A tree document is parsed and validated once ([`tree`]), reads the simulation through the
//! [`eval::Context`] the engine implements, and ends in an [`tree::Action`] that the engine
//! applies. Built-in policies are SimCash's own JSON trees, embedded ([`builtin`]).

pub mod builtin;
pub mod eval;
pub mod field;
pub mod tree;

use std::collections::BTreeMap;
use std::sync::Arc;

use tree::{TreeError, TreePolicy};

use super::config::PolicyConfig;

/// An agent's policy, ready to run.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Releases every payment at once (SimCash's `Fifo`, without evaluating a tree).
    Fifo,
    /// A decision-tree policy.
    Tree(Arc<TreePolicy>),
}

impl Policy {
    /// Builds the policy a configuration names.
    pub fn build(cfg: &PolicyConfig) -> Result<Policy, TreeError> {
        match cfg {
            PolicyConfig::Fifo => Ok(Policy::Fifo),
            PolicyConfig::Tree { document, params, .. } => Ok(Policy::Tree(Arc::new(TreePolicy::parse(document, params)?))),
        }
    }

    /// The decision tree, unless the policy is the native `Fifo`.
    pub fn tree(&self) -> Option<&TreePolicy> {
        match self {
            Policy::Fifo => None,
            Policy::Tree(t) => Some(t),
        }
    }

    /// Fraction of the liquidity pool allocated at each later start of day.
    pub fn initial_liquidity_fraction(&self) -> f64 {
        match self {
            // SimCash's fifo.json carries `initial_liquidity_fraction: 1.0`.
            Policy::Fifo => 1.0,
            Policy::Tree(t) => t.initial_liquidity_fraction().unwrap_or(1.0),
        }
    }
}

/// Parameter overrides from a scenario's built-in policy keys.
pub type Overrides = BTreeMap<String, f64>;
