//! Generated arrivals: amount, counterparty, deadline and priority draws in SimCash's order.

use super::config::{AmountDistribution, PriorityDistribution};
use super::event::AgentIdx;
use super::model::ArrivalState;
use super::rng::Rng;

/// One drawn payment, before it becomes a transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawnPayment {
    /// Amount in cents (≥ 1).
    pub amount: i64,
    /// Receiver.
    pub receiver: AgentIdx,
    /// Deadline offset from the arrival tick.
    pub deadline_offset: u32,
    /// Priority, or `None` to keep the default (generated 0 ⇒ 5, Q-13).
    pub priority: u8,
}

/// Samples an amount (ENGINE-SPEC §4.3); the result is always ≥ 1.
pub fn sample_amount(rng: &mut Rng, dist: &AmountDistribution) -> i64 {
    match *dist {
        AmountDistribution::Uniform { min, max } => rng.range(min, max + 1).max(1),
        AmountDistribution::Normal { mean, std_dev } => {
            let z = rng.standard_normal();
            let v = (mean + std_dev * z).round();
            if !v.is_finite() || v <= 0.0 { 1 } else { v as i64 }
        }
        AmountDistribution::LogNormal { mean, std_dev } => {
            if !(mean > 0.0) || !(std_dev >= 0.0) {
                // Invalid parameters still consume the normal draw's uniforms in SimCash? No:
                // the sampler returns before drawing.
                return 1;
            }
            let sigma2 = (1.0 + (std_dev * std_dev) / (mean * mean)).ln();
            let mu = mean.ln() - sigma2 / 2.0;
            let z = rng.standard_normal();
            let v = (mu + sigma2.sqrt() * z).exp().round();
            if !v.is_finite() {
                mean.round().max(1.0) as i64
            } else if v < 1.0 {
                1
            } else {
                v as i64
            }
        }
        AmountDistribution::Exponential { lambda } => {
            let mut u = rng.next_f64();
            if u == 0.0 {
                u = f64::MIN_POSITIVE;
            }
            let v = (-u.ln() / lambda).round();
            if !v.is_finite() || v < 1.0 { 1 } else { v as i64 }
        }
    }
}

/// Picks a counterparty: uniform over candidates, or weighted (unlisted agents weigh 1.0).
pub fn sample_counterparty(rng: &mut Rng, state: &ArrivalState) -> AgentIdx {
    let c = &state.candidates;
    if !state.weighted {
        return c[rng.range(0, c.len() as i64) as usize].0;
    }
    let total: f64 = c.iter().map(|(_, w)| w).sum();
    let mut target = rng.next_f64() * total;
    for &(idx, w) in c {
        target -= w;
        if target <= 0.0 {
            return idx;
        }
    }
    c[c.len() - 1].0
}

/// Samples a priority (Fixed: no draw; Uniform: one range draw; Categorical: one uniform).
pub fn sample_priority(rng: &mut Rng, dist: &PriorityDistribution) -> u8 {
    match dist {
        PriorityDistribution::Fixed(p) => *p,
        PriorityDistribution::Uniform { min, max } => rng.range(*min as i64, *max as i64 + 1) as u8,
        PriorityDistribution::Categorical { values, weights } => {
            let total: f64 = weights.iter().sum();
            let mut target = rng.next_f64() * total;
            for (v, w) in values.iter().zip(weights) {
                target -= w;
                if target <= 0.0 {
                    return *v;
                }
            }
            *values.last().expect("validated non-empty")
        }
    }
}

/// Draws one tick's arrivals for one agent: count, then per payment amount → counterparty →
/// deadline offset → priority.
pub fn draw(rng: &mut Rng, state: &ArrivalState, out: &mut Vec<DrawnPayment>) {
    let n = rng.poisson(state.rate);
    let cfg = &state.config;
    for _ in 0..n {
        let amount = sample_amount(rng, &cfg.amount);
        let receiver = sample_counterparty(rng, state);
        let (lo, hi) = cfg.deadline_range;
        let deadline_offset = rng.range(lo as i64, hi as i64 + 1) as u32;
        let priority = sample_priority(rng, &cfg.priority).min(10);
        out.push(DrawnPayment { amount, receiver, deadline_offset, priority });
    }
}
