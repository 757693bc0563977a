//! Cost formulas with SimCash's exact integer rounding (ENGINE-SPEC §5).

use super::config::{Cents, CostRates};

/// `round(x)` as Rust's `f64::round` (half away from zero), as an unsigned scale factor.
fn scale(rate: f64, factor: f64) -> u128 {
    let r = (rate * factor).round();
    if r.is_finite() && r > 0.0 { r as u128 } else { 0 }
}

/// Overdraft cost for one tick on a balance (0 when the balance is not negative).
pub fn overdraft_cost(rates: &CostRates, balance: Cents) -> Cents {
    if balance >= 0 {
        return 0;
    }
    let r = scale(rates.overdraft_bps_per_tick, 1000.0);
    ((balance.unsigned_abs() as u128 * r + 5_000_000) / 10_000_000) as Cents
}

/// Cost of holding `amount` for one tick at a bps-per-tick rate (collateral, pool liquidity).
pub fn bps_holding_cost(bps_per_tick: f64, amount: Cents) -> Cents {
    if amount <= 0 {
        return 0;
    }
    let r = scale(bps_per_tick, 1e6);
    ((amount as u128 * r + 5_000_000_000) / 10_000_000_000) as Cents
}

/// Delay weight of one queued payment: `remaining × (om·pm div 1000)`.
pub fn delay_weight(rates: &CostRates, remaining: Cents, priority: u8, overdue: bool) -> u128 {
    let om = if overdue { scale(rates.overdue_delay_multiplier, 1000.0) } else { 1000 };
    let pm = match rates.priority_delay_multipliers {
        None => 1000,
        Some(m) => scale(
            match priority {
                8.. => m.urgent,
                4..=7 => m.normal,
                _ => m.low,
            },
            1000.0,
        ),
    };
    remaining.max(0) as u128 * (om * pm / 1000)
}

/// Delay cost for a summed delay weight.
pub fn delay_cost(rates: &CostRates, total_weight: u128) -> Cents {
    let rs = scale(rates.delay_cost_per_tick_per_cent, 1e6);
    ((total_weight * rs + 500_000_000) / 1_000_000_000) as Cents
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::{Penalty, PriorityDelayMultipliers};

    #[test]
    fn overdraft_is_bps_per_tick_of_the_negative_balance() {
        let mut r = CostRates { overdraft_bps_per_tick: 0.5, ..CostRates::default() };
        // 0.5 bps of 1,000,000 = 50.
        assert_eq!(overdraft_cost(&r, -1_000_000), 50);
        assert_eq!(overdraft_cost(&r, 1_000_000), 0);
        // Round half up: 0.5 bps of 1,000,100 = 50.005 → 50; of 1,010,000 = 50.5 → 51.
        assert_eq!(overdraft_cost(&r, -1_000_100), 50);
        assert_eq!(overdraft_cost(&r, -1_010_000), 51);
        r.overdraft_bps_per_tick = 0.0;
        assert_eq!(overdraft_cost(&r, -1_000_000), 0);
    }

    #[test]
    fn delay_matches_spec_examples() {
        // ENGINE-SPEC §5: 1,000,000 queued @ 0.0001 → 100; overdue ×5 → 500.
        let r = CostRates::default();
        assert_eq!(delay_cost(&r, delay_weight(&r, 1_000_000, 5, false)), 100);
        assert_eq!(delay_cost(&r, delay_weight(&r, 1_000_000, 5, true)), 500);
    }

    #[test]
    fn delay_priority_bands() {
        let r = CostRates {
            delay_cost_per_tick_per_cent: 0.01,
            priority_delay_multipliers: Some(PriorityDelayMultipliers { urgent: 1.5, normal: 1.0, low: 0.5 }),
            ..CostRates::default()
        };
        assert_eq!(delay_cost(&r, delay_weight(&r, 1_000_000, 9, false)), 15_000);
        assert_eq!(delay_cost(&r, delay_weight(&r, 1_000_000, 5, false)), 10_000);
        assert_eq!(delay_cost(&r, delay_weight(&r, 1_000_000, 2, false)), 5_000);
    }

    #[test]
    fn holding_costs_match_spec_examples() {
        // exp2: 1,000,000 allocated @ 83 bps → 8300; exp1: 100,000 @ 500 bps → 5000.
        assert_eq!(bps_holding_cost(83.0, 1_000_000), 8300);
        assert_eq!(bps_holding_cost(500.0, 100_000), 5000);
        // Default collateral rate 0.0002 bps: 10^10 posted → 200.
        assert_eq!(bps_holding_cost(0.0002, 10_000_000_000), 200);
        assert_eq!(bps_holding_cost(150.0, 0), 0);
    }

    #[test]
    fn penalties_fixed_and_rate() {
        assert_eq!(Penalty::Fixed(50_000).resolve(123), 50_000);
        // 100 bps of 1,000,000 = 10,000; floor.
        assert_eq!(Penalty::Rate { bps_per_event: 100.0 }.resolve(1_000_000), 10_000);
        assert_eq!(Penalty::Rate { bps_per_event: 100.0 }.resolve(999), 9);
        assert_eq!(Penalty::Rate { bps_per_event: -1.0 }.resolve(1_000_000), 0);
        assert_eq!(Penalty::Rate { bps_per_event: f64::NAN }.resolve(1_000_000), 0);
    }
}
