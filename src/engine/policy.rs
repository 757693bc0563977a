//! Payment policies: what a bank does with each payment in its Queue 1.
//!
//! The engine asks a [`Policy`] for one [`Decision`] per queued payment, all against the same
//! snapshot, then applies them in queue order. Decision-tree policies implement the same trait.

use std::fmt;

use super::event::HoldReason;
use super::model::{Agent, Transaction};

/// What a policy sees when deciding about one payment.
#[derive(Debug, Clone, Copy)]
pub struct PolicyView<'a> {
    /// Current tick.
    pub tick: u32,
    /// Ticks per day.
    pub ticks_per_day: u32,
    /// The deciding agent.
    pub agent: &'a Agent,
}

/// A policy's answer for one payment.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Submit to RTGS now.
    Release,
    /// Keep in Queue 1.
    Hold(HoldReason),
    /// Remove and never settle.
    Drop,
    /// Split into `num_splits` children that go straight to RTGS.
    Split {
        /// Number of children (≥ 2).
        num_splits: u32,
    },
    /// Change the internal priority.
    Reprioritize {
        /// New priority (capped at 10).
        new_priority: u8,
    },
}

/// A policy evaluation failure; it aborts the run as in SimCash.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("policy {policy}: {message}")]
pub struct PolicyError {
    /// Policy name.
    pub policy: String,
    /// What went wrong.
    pub message: String,
}

/// Decides what happens to payments waiting in an agent's Queue 1.
pub trait Policy: fmt::Debug + Send + Sync {
    /// Display name.
    fn name(&self) -> &str;
    /// The decision for one payment.
    fn decide(&self, view: &PolicyView<'_>, tx: &Transaction) -> Result<Decision, PolicyError>;
    /// Fraction of the liquidity pool to allocate at each later start of day; `None`
    /// means 1.0.
    fn initial_liquidity_fraction(&self) -> Option<f64> {
        None
    }
    /// A copy for a new engine.
    fn boxed_clone(&self) -> Box<dyn Policy>;
}

/// Releases every payment immediately (SimCash's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

impl Policy for Fifo {
    fn name(&self) -> &str {
        "Fifo"
    }

    fn decide(&self, _view: &PolicyView<'_>, _tx: &Transaction) -> Result<Decision, PolicyError> {
        Ok(Decision::Release)
    }

    fn initial_liquidity_fraction(&self) -> Option<f64> {
        // SimCash's fifo.json carries `initial_liquidity_fraction: 1.0`.
        Some(1.0)
    }

    fn boxed_clone(&self) -> Box<dyn Policy> {
        Box::new(*self)
    }
}
