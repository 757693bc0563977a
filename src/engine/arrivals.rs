//! Generated arrivals: amount, counterparty, deadline and priority draws in SimCash's order.

#[cfg(test)]
use super::config::ArrivalConfig;
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
    /// Priority as drawn (the engine turns a generated 0 into 5, Q-13).
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
            if mean.is_nan() || mean <= 0.0 || std_dev.is_nan() || std_dev < 0.0 {
                // Invalid parameters yield 1 without drawing (scenario validation rejects them).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(dist: &AmountDistribution, n: usize) -> (f64, i64) {
        let mut r = Rng::new(99);
        let xs: Vec<i64> = (0..n).map(|_| sample_amount(&mut r, dist)).collect();
        (xs.iter().sum::<i64>() as f64 / n as f64, *xs.iter().min().unwrap())
    }

    #[test]
    fn uniform_is_inclusive_and_in_range() {
        let mut r = Rng::new(1);
        let xs: Vec<i64> = (0..5000).map(|_| sample_amount(&mut r, &AmountDistribution::Uniform { min: 10, max: 12 })).collect();
        assert!(xs.iter().all(|x| (10..=12).contains(x)));
        assert!(xs.contains(&10) && xs.contains(&12));
    }

    #[test]
    fn lognormal_uses_moment_parameters() {
        // mean/std_dev describe the amount itself, not its logarithm.
        let (mean, min) = mean_of(&AmountDistribution::LogNormal { mean: 10_000.0, std_dev: 5_000.0 }, 40_000);
        assert!((mean - 10_000.0).abs() < 150.0, "mean {mean}");
        assert!(min >= 1);
        // Configs written for log space give ~10-cent payments, as in SimCash.
        let (small, _) = mean_of(&AmountDistribution::LogNormal { mean: 10.5, std_dev: 0.9 }, 5_000);
        assert!((9.0..12.5).contains(&small), "mean {small}");
    }

    #[test]
    fn normal_and_exponential_means_and_floor_of_one() {
        let (m, min) = mean_of(&AmountDistribution::Normal { mean: 50_000.0, std_dev: 10_000.0 }, 40_000);
        assert!((m - 50_000.0).abs() < 200.0, "normal mean {m}");
        assert!(min >= 1);
        let (_, min) = mean_of(&AmountDistribution::Normal { mean: 0.0, std_dev: 10.0 }, 2_000);
        assert_eq!(min, 1, "non-positive draws become 1");
        let (m, _) = mean_of(&AmountDistribution::Exponential { lambda: 0.001 }, 40_000);
        assert!((m - 1_000.0).abs() < 20.0, "exponential mean {m}");
    }

    #[test]
    fn weighted_counterparty_draws_follow_weights_and_unlisted_weigh_one() {
        let state = ArrivalState {
            config: ArrivalConfig {
                rate_per_tick: 1.0,
                amount: AmountDistribution::Uniform { min: 1, max: 2 },
                counterparty_weights: vec![],
                deadline_range: (1, 2),
                priority: PriorityDistribution::Fixed(5),
                divisible: false,
                band: false,
            },
            rate: 1.0,
            base_rate: 1.0,
            candidates: vec![(1, 3.0), (2, 1.0)],
            weighted: true,
        };
        let mut r = Rng::new(4);
        let n = 40_000;
        let ones = (0..n).filter(|_| sample_counterparty(&mut r, &state) == 1).count();
        let share = ones as f64 / n as f64;
        assert!((share - 0.75).abs() < 0.01, "share {share}");
    }

    #[test]
    fn categorical_priority_follows_weights() {
        let d = PriorityDistribution::Categorical { values: vec![3, 9], weights: vec![1.0, 3.0] };
        let mut r = Rng::new(8);
        let n = 40_000;
        let nines = (0..n).filter(|_| sample_priority(&mut r, &d) == 9).count();
        assert!((nines as f64 / n as f64 - 0.75).abs() < 0.01);
        assert_eq!(sample_priority(&mut r, &PriorityDistribution::Fixed(7)), 7);
    }
}
