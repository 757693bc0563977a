//! The context fields a decision tree can read (ENGINE-SPEC §6.4), resolved from their names
//! once, when the tree is parsed.

use std::sync::Arc;

/// One context field. Every value is an `f64` when evaluated.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    // Transaction.
    Amount,
    RemainingAmount,
    SettledAmount,
    ArrivalTick,
    DeadlineTick,
    Priority,
    IsSplit,
    IsPastDeadline,
    IsOverdue,
    IsInQueue2,
    OverdueDuration,
    TicksToDeadline,
    QueueAge,
    CostDeadlinePenalty,
    CostEodPenalty,
    CostDelayThisTxOneTick,
    CostOverdraftThisAmountOneTick,
    MyQ2OutValueToCounterparty,
    MyQ2InValueFromCounterparty,
    MyBilateralNetQ2,
    MyQ2OutValueTop(u8),
    MyQ2InValueTop(u8),
    MyBilateralNetQ2Top(u8),
    TopCptyIdHash(u8),
    TxCounterpartyId,
    TxIsTopCounterparty,
    LsmRunRateLast10Ticks,
    SystemThroughputGuidanceFractionByTick,
    // Agent.
    Balance,
    CreditLimit,
    AvailableLiquidity,
    CreditUsed,
    EffectiveLiquidity,
    CreditHeadroom,
    IsUsingCredit,
    LiquidityBuffer,
    OutgoingQueueSize,
    IncomingExpectedCount,
    LiquidityPressure,
    IsOverdraftCapped,
    // Queues.
    Queue1TotalValue,
    Queue1LiquidityGap,
    Headroom,
    RtgsQueueSize,
    RtgsQueueValue,
    Queue2Size,
    Queue2CountForAgent,
    Queue2NearestDeadline,
    TicksToNearestQueue2Deadline,
    // Collateral.
    PostedCollateral,
    MaxCollateralCapacity,
    RemainingCollateralCapacity,
    CollateralUtilization,
    CollateralHaircut,
    UnsecuredCap,
    AllowedOverdraftLimit,
    OverdraftHeadroom,
    OverdraftUtilization,
    RequiredCollateralForUsage,
    ExcessCollateral,
    // Cost rates.
    CostOverdraftBpsPerTick,
    CostDelayPerTickPerCent,
    CostCollateralBpsPerTick,
    CostSplitFriction,
    // Time and system.
    CurrentTick,
    SystemTicksPerDay,
    SystemCurrentDay,
    SystemTickInDay,
    TicksRemainingInDay,
    DayProgressFraction,
    IsEodRush,
    TotalAgents,
    SystemQueue2PressureIndex,
    MyThroughputFractionToday,
    ExpectedThroughputFractionByNow,
    ThroughputGap,
    /// A `bank_state_*` register (0 until set).
    Register(Arc<str>),
}

/// Fixed-name fields and whether they need a transaction (absent from `bank_tree`).
const NAMED: &[(&str, Field, bool)] = &[
    ("amount", Field::Amount, true),
    ("remaining_amount", Field::RemainingAmount, true),
    ("settled_amount", Field::SettledAmount, true),
    ("arrival_tick", Field::ArrivalTick, true),
    ("deadline_tick", Field::DeadlineTick, true),
    ("priority", Field::Priority, true),
    ("is_split", Field::IsSplit, true),
    ("is_past_deadline", Field::IsPastDeadline, true),
    ("is_overdue", Field::IsOverdue, true),
    ("is_in_queue2", Field::IsInQueue2, true),
    ("overdue_duration", Field::OverdueDuration, true),
    ("ticks_to_deadline", Field::TicksToDeadline, true),
    ("queue_age", Field::QueueAge, true),
    ("cost_delay_this_tx_one_tick", Field::CostDelayThisTxOneTick, true),
    ("cost_overdraft_this_amount_one_tick", Field::CostOverdraftThisAmountOneTick, true),
    ("my_q2_out_value_to_counterparty", Field::MyQ2OutValueToCounterparty, true),
    ("my_q2_in_value_from_counterparty", Field::MyQ2InValueFromCounterparty, true),
    ("my_bilateral_net_q2", Field::MyBilateralNetQ2, true),
    ("tx_counterparty_id", Field::TxCounterpartyId, true),
    ("tx_is_top_counterparty", Field::TxIsTopCounterparty, true),
    ("lsm_run_rate_last_10_ticks", Field::LsmRunRateLast10Ticks, true),
    ("system_throughput_guidance_fraction_by_tick", Field::SystemThroughputGuidanceFractionByTick, true),
    // In the bank context the two penalties are resolved on an amount of 0.
    ("cost_deadline_penalty", Field::CostDeadlinePenalty, false),
    ("cost_eod_penalty", Field::CostEodPenalty, false),
    ("balance", Field::Balance, false),
    ("credit_limit", Field::CreditLimit, false),
    ("available_liquidity", Field::AvailableLiquidity, false),
    ("credit_used", Field::CreditUsed, false),
    ("effective_liquidity", Field::EffectiveLiquidity, false),
    ("credit_headroom", Field::CreditHeadroom, false),
    ("is_using_credit", Field::IsUsingCredit, false),
    ("liquidity_buffer", Field::LiquidityBuffer, false),
    ("outgoing_queue_size", Field::OutgoingQueueSize, false),
    ("incoming_expected_count", Field::IncomingExpectedCount, false),
    ("liquidity_pressure", Field::LiquidityPressure, false),
    ("is_overdraft_capped", Field::IsOverdraftCapped, false),
    ("queue1_total_value", Field::Queue1TotalValue, false),
    ("queue1_liquidity_gap", Field::Queue1LiquidityGap, false),
    ("headroom", Field::Headroom, false),
    ("rtgs_queue_size", Field::RtgsQueueSize, false),
    ("rtgs_queue_value", Field::RtgsQueueValue, false),
    ("queue2_size", Field::Queue2Size, false),
    ("queue2_count_for_agent", Field::Queue2CountForAgent, false),
    ("queue2_nearest_deadline", Field::Queue2NearestDeadline, false),
    ("ticks_to_nearest_queue2_deadline", Field::TicksToNearestQueue2Deadline, false),
    ("posted_collateral", Field::PostedCollateral, false),
    ("max_collateral_capacity", Field::MaxCollateralCapacity, false),
    ("remaining_collateral_capacity", Field::RemainingCollateralCapacity, false),
    ("collateral_utilization", Field::CollateralUtilization, false),
    ("collateral_haircut", Field::CollateralHaircut, false),
    ("unsecured_cap", Field::UnsecuredCap, false),
    ("allowed_overdraft_limit", Field::AllowedOverdraftLimit, false),
    ("overdraft_headroom", Field::OverdraftHeadroom, false),
    ("overdraft_utilization", Field::OverdraftUtilization, false),
    ("required_collateral_for_usage", Field::RequiredCollateralForUsage, false),
    ("excess_collateral", Field::ExcessCollateral, false),
    ("cost_overdraft_bps_per_tick", Field::CostOverdraftBpsPerTick, false),
    ("cost_delay_per_tick_per_cent", Field::CostDelayPerTickPerCent, false),
    ("cost_collateral_bps_per_tick", Field::CostCollateralBpsPerTick, false),
    ("cost_split_friction", Field::CostSplitFriction, false),
    ("current_tick", Field::CurrentTick, false),
    ("system_ticks_per_day", Field::SystemTicksPerDay, false),
    ("system_current_day", Field::SystemCurrentDay, false),
    ("system_tick_in_day", Field::SystemTickInDay, false),
    ("ticks_remaining_in_day", Field::TicksRemainingInDay, false),
    ("day_progress_fraction", Field::DayProgressFraction, false),
    ("is_eod_rush", Field::IsEodRush, false),
    ("total_agents", Field::TotalAgents, false),
    ("system_queue2_pressure_index", Field::SystemQueue2PressureIndex, false),
    ("my_throughput_fraction_today", Field::MyThroughputFractionToday, false),
    ("expected_throughput_fraction_by_now", Field::ExpectedThroughputFractionByNow, false),
    ("throughput_gap", Field::ThroughputGap, false),
];

/// A numbered family: its name's prefix and suffix around N, and the field of each N.
type Numbered = (&'static str, &'static str, fn(u8) -> Field);

/// Numbered families `prefix_N` (N in 1..=5); all need a transaction context.
const NUMBERED: &[Numbered] = &[
    ("my_q2_out_value_top_", "", Field::MyQ2OutValueTop),
    ("my_q2_in_value_top_", "", Field::MyQ2InValueTop),
    ("my_bilateral_net_q2_top_", "", Field::MyBilateralNetQ2Top),
    ("top_cpty_", "_id_hash", Field::TopCptyIdHash),
];

impl Field {
    /// Resolves a field name; `None` when unknown. The flag says whether the field needs a
    /// transaction (so `bank_tree` may not use it).
    pub fn parse(name: &str) -> Option<(Field, bool)> {
        if let Some((_, f, tx)) = NAMED.iter().find(|(n, _, _)| *n == name) {
            return Some((f.clone(), *tx));
        }
        if name.starts_with("bank_state_") {
            return Some((Field::Register(name.into()), false));
        }
        for (prefix, suffix, make) in NUMBERED {
            let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)) else { continue };
            if let Ok(n @ 1..=5) = rest.parse::<u8>() {
                return Some((make(n), true));
            }
        }
        None
    }

    /// Every fixed field name, for error messages and documentation.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMED.iter().map(|(n, _, _)| *n)
    }
}

/// FNV-1a 64 hash of an agent id, as SimCash encodes counterparties in numeric fields.
pub fn id_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_their_scope() {
        assert_eq!(Field::parse("balance"), Some((Field::Balance, false)));
        assert_eq!(Field::parse("ticks_to_deadline"), Some((Field::TicksToDeadline, true)));
        assert_eq!(Field::parse("my_q2_in_value_top_3"), Some((Field::MyQ2InValueTop(3), true)));
        assert_eq!(Field::parse("top_cpty_5_id_hash"), Some((Field::TopCptyIdHash(5), true)));
        assert_eq!(Field::parse("bank_state_x"), Some((Field::Register("bank_state_x".into()), false)));
        assert_eq!(Field::parse("my_q2_in_value_top_6"), None);
        assert_eq!(Field::parse("balanc"), None);
    }

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<_> = Field::names().collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn id_hash_is_fnv1a() {
        // FNV-1a 64 test vectors.
        assert_eq!(id_hash(""), 0xcbf29ce484222325);
        assert_eq!(id_hash("a"), 0xaf63dc4c8601ec8c);
    }
}
