//! Validated simulation configuration: what the engine runs. Built by `scenario` from YAML.

use std::sync::Arc;

/// Money in integer cents.
pub type Cents = i64;

/// A complete, validated simulation configuration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimConfig {
    /// Ticks in one business day.
    pub ticks_per_day: u32,
    /// Number of days simulated.
    pub num_days: u32,
    /// Seed of the one engine RNG.
    pub rng_seed: u64,
    /// Agents in configuration (YAML) order.
    pub agents: Vec<AgentConfig>,
    /// Cost rates.
    pub costs: CostRates,
    /// Liquidity-saving mechanism settings.
    pub lsm: LsmConfig,
    /// Scheduled scenario events, in configuration order.
    pub scenario_events: Vec<ScheduledEvent>,
    /// Credits are applied at the end of the tick instead of immediately.
    pub deferred_crediting: bool,
    /// Deadlines never span midnight.
    pub deadline_cap_at_eod: bool,
    /// Engine features SimCash's YAML cannot reach, turned on in the `simcash:` section.
    #[serde(default)]
    pub extensions: Extensions,
}

/// Engine features that SimCash has but its YAML loader drops (ENGINE-SPEC §9.4). The
/// defaults are what every SimCash run gets; a scenario's `simcash:` section changes them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Extensions {
    /// Day progress from which `is_eod_rush` is 1.
    pub eod_rush_threshold: f64,
    /// Pools are returned at end of day and re-allocated at the next start of day.
    pub daily_liquidity_reallocation: bool,
    /// Queue 1 is evaluated in (priority desc, deadline asc) order instead of arrival order.
    pub queue1_priority_deadline: bool,
    /// Queue 2 is ordered by RTGS priority, then submission tick, before each pass.
    pub priority_mode: bool,
    /// Priorities of queued payments rise as deadlines approach.
    pub priority_escalation: Option<PriorityEscalation>,
    /// Bounds that stop a runaway run (left out of the serialized form while at their
    /// defaults, so configs and the identities derived from them stay as they were).
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
}

/// Bounds that stop a runaway run (a policy that splits without end, say) with an error
/// instead of exhausting memory; a scenario's `simcash: {limits: …}` raises them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Events one tick may emit.
    pub max_events_per_tick: u32,
    /// Payments waiting in Queue 1 or Queue 2 at once, over all agents.
    pub max_queued_payments: u32,
}

impl Default for Limits {
    /// Far above any scenario of SimCash's kit (the busiest emits a few thousand events in
    /// a tick and queues a few thousand payments), far below what exhausts memory.
    fn default() -> Self {
        Limits { max_events_per_tick: 1_000_000, max_queued_payments: 1_000_000 }
    }
}

impl Limits {
    fn is_default(&self) -> bool {
        *self == Limits::default()
    }
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            eod_rush_threshold: 0.8,
            daily_liquidity_reallocation: true,
            queue1_priority_deadline: false,
            priority_mode: false,
            priority_escalation: None,
            limits: Limits::default(),
        }
    }
}

/// Linear priority escalation: `boost = round(max_boost × (1 − ticks_left / start))` once
/// `ticks_left ≤ start`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PriorityEscalation {
    /// Ticks before the deadline at which escalation starts.
    pub start_escalating_at_ticks: u32,
    /// Largest boost.
    pub max_boost: u8,
}

impl SimConfig {
    /// Total ticks in the episode.
    pub fn total_ticks(&self) -> u32 {
        self.ticks_per_day * self.num_days
    }
}

/// One agent (bank).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentConfig {
    /// Unique id.
    pub id: String,
    /// Balance at tick 0 before any pool allocation, in cents.
    pub opening_balance: Cents,
    /// Unsecured intraday overdraft limit.
    pub unsecured_cap: Cents,
    /// External liquidity pool, if any.
    pub liquidity_pool: Option<Cents>,
    /// Fraction of the pool allocated at tick 0.
    pub liquidity_allocation_fraction: f64,
    /// Upper bound on posted collateral; `None` means 10 × unsecured_cap.
    pub max_collateral_capacity: Option<Cents>,
    /// Collateral posted at start (engine feature; not reachable from SimCash YAML).
    pub posted_collateral: Cents,
    /// Collateral haircut in [0, 1].
    pub collateral_haircut: f64,
    /// The agent's policy.
    pub policy: PolicyConfig,
    /// Generated arrivals (legacy `arrival_config`), if any.
    pub arrivals: Option<ArrivalConfig>,
    /// Generated arrivals by priority band (`arrival_bands`: urgent, normal, low).
    #[serde(default)]
    pub arrival_bands: Vec<ArrivalConfig>,
}

/// Which policy an agent runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PolicyConfig {
    /// Release every transaction as soon as it is in Queue 1.
    Fifo,
    /// A decision-tree policy: a built-in, `FromJson`, `Inline` or `InlineJson`.
    Tree {
        /// The YAML `type` (e.g. `FromJson`, `Deadline`).
        kind: String,
        /// Where the document came from: the resolved file, or `inline` / `built-in`.
        source: String,
        /// The tree document (ENGINE-SPEC §6.2).
        document: serde_json::Value,
        /// Parameter overrides (a built-in's YAML keys), applied over `document.parameters`.
        params: std::collections::BTreeMap<String, f64>,
    },
}

/// Legacy `arrival_config`: Poisson arrivals per tick.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArrivalConfig {
    /// Poisson mean per tick.
    pub rate_per_tick: f64,
    /// Amount distribution.
    pub amount: AmountDistribution,
    /// Counterparty weights by agent id (unlisted agents weigh 1.0).
    pub counterparty_weights: Vec<(String, f64)>,
    /// Deadline offset range, inclusive.
    pub deadline_range: (u32, u32),
    /// Priority distribution.
    pub priority: PriorityDistribution,
    /// Echoed `divisible` flag (no effect, Q-12).
    pub divisible: bool,
    /// A priority band of `arrival_bands`: a drawn priority 0 stays 0 (legacy configs make it 5).
    #[serde(default)]
    pub band: bool,
}

/// Payment amount distributions (cents).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AmountDistribution {
    /// Uniform integer in [min, max].
    Uniform {
        /// Lower bound.
        min: i64,
        /// Upper bound (inclusive).
        max: i64,
    },
    /// Normal, rounded.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std_dev: f64,
    },
    /// Log-normal with moment parameters of the amount itself.
    LogNormal {
        /// Mean of the amount.
        mean: f64,
        /// Standard deviation of the amount.
        std_dev: f64,
    },
    /// Exponential with rate `lambda` (mean 1/lambda cents).
    Exponential {
        /// Rate.
        lambda: f64,
    },
}

/// How generated priorities are drawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PriorityDistribution {
    /// Always this value (no draw).
    Fixed(u8),
    /// Uniform integer in [min, max].
    Uniform {
        /// Lower bound.
        min: u8,
        /// Upper bound (inclusive).
        max: u8,
    },
    /// Weighted choice (one uniform draw).
    Categorical {
        /// Values.
        values: Vec<u8>,
        /// Weights, same length.
        weights: Vec<f64>,
    },
}

/// A penalty that is a fixed amount or a rate on the amount.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Penalty {
    /// Fixed cents per event.
    Fixed(Cents),
    /// Basis points of the amount.
    Rate {
        /// Basis points per event.
        bps_per_event: f64,
    },
}

impl Penalty {
    /// The penalty for a transaction of `amount` cents.
    pub fn resolve(&self, amount: Cents) -> Cents {
        match *self {
            Penalty::Fixed(c) => c,
            Penalty::Rate { bps_per_event } => {
                if !bps_per_event.is_finite() || bps_per_event < 0.0 {
                    return 0;
                }
                let scaled = (bps_per_event * 1e6).trunc() as u128;
                ((amount.unsigned_abs() as u128 * scaled) / 10_000_000_000u128) as Cents
            }
        }
    }
}

/// Delay-cost multipliers by priority band.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PriorityDelayMultipliers {
    /// Priority 8–10.
    pub urgent: f64,
    /// Priority 4–7.
    pub normal: f64,
    /// Priority 0–3.
    pub low: f64,
}

/// All cost rates (ENGINE-SPEC §5).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CostRates {
    /// Overdraft cost in bps per tick on a negative balance.
    pub overdraft_bps_per_tick: f64,
    /// Delay cost per tick per queued cent.
    pub delay_cost_per_tick_per_cent: f64,
    /// Collateral cost in bps per tick on posted collateral.
    pub collateral_cost_per_tick_bps: f64,
    /// Opportunity cost in bps per tick on allocated pool liquidity.
    pub liquidity_cost_per_tick_bps: f64,
    /// Per-transaction penalty at end of day for past-deadline queued payments.
    pub eod_penalty: Penalty,
    /// One-off penalty when a payment becomes overdue.
    pub deadline_penalty: Penalty,
    /// Cost per extra child when splitting.
    pub split_friction_cost: Cents,
    /// Delay multiplier for overdue payments.
    pub overdue_delay_multiplier: f64,
    /// Optional delay weighting by priority band.
    pub priority_delay_multipliers: Option<PriorityDelayMultipliers>,
}

impl Default for CostRates {
    fn default() -> Self {
        CostRates {
            overdraft_bps_per_tick: 0.001,
            delay_cost_per_tick_per_cent: 0.0001,
            collateral_cost_per_tick_bps: 0.0002,
            liquidity_cost_per_tick_bps: 0.0,
            eod_penalty: Penalty::Fixed(10_000),
            deadline_penalty: Penalty::Fixed(50_000),
            split_friction_cost: 1000,
            overdue_delay_multiplier: 5.0,
            priority_delay_multipliers: None,
        }
    }
}

/// Liquidity-saving mechanism settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LsmConfig {
    /// Bilateral offsetting on.
    pub enable_bilateral: bool,
    /// Multilateral cycle settlement on.
    pub enable_cycles: bool,
    /// Longest cycle searched (3–10).
    pub max_cycle_length: u32,
    /// Cycle candidates tried per LSM iteration (1–100).
    pub max_cycles_per_tick: u32,
}

impl Default for LsmConfig {
    fn default() -> Self {
        LsmConfig { enable_bilateral: true, enable_cycles: true, max_cycle_length: 4, max_cycles_per_tick: 10 }
    }
}

/// When a scenario event fires.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Schedule {
    /// Exactly at this tick.
    OneTime {
        /// The tick.
        tick: u32,
    },
    /// At `start_tick` and every `interval` ticks after.
    Repeating {
        /// First tick.
        start_tick: u32,
        /// Interval (> 0).
        interval: u32,
    },
}

impl Schedule {
    /// Whether the event fires at tick `t`.
    pub fn fires_at(&self, t: u32) -> bool {
        match *self {
            Schedule::OneTime { tick } => tick == t,
            Schedule::Repeating { start_tick, interval } => t >= start_tick && (t - start_tick).is_multiple_of(interval),
        }
    }
}

/// A scenario event with its schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScheduledEvent {
    /// What happens.
    pub event: ScenarioEvent,
    /// When.
    pub schedule: Schedule,
}

/// Scenario event kinds (ENGINE-SPEC §7). Agent ids are validated against the agent list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ScenarioEvent {
    /// Move money between two agents without a liquidity check.
    DirectTransfer {
        /// Payer.
        from_agent: String,
        /// Payee.
        to_agent: String,
        /// Amount (> 0).
        amount: Cents,
    },
    /// Inject one payment into the sender's Queue 1.
    CustomTransactionArrival {
        /// Sender.
        from_agent: String,
        /// Receiver.
        to_agent: String,
        /// Amount (> 0).
        amount: Cents,
        /// Priority 0–10.
        priority: u8,
        /// Relative deadline in ticks; `None` means max(tpd/10, 5).
        deadline: Option<u32>,
        /// Echoed divisibility flag.
        is_divisible: bool,
    },
    /// Change an agent's unsecured cap by `delta`.
    CollateralAdjustment {
        /// Agent.
        agent: String,
        /// Change in cents (may be negative).
        delta: Cents,
    },
    /// Scale every agent's base arrival rate.
    GlobalArrivalRateChange {
        /// Multiplier (> 0).
        multiplier: f64,
    },
    /// Scale one agent's current arrival rate.
    AgentArrivalRateChange {
        /// Agent.
        agent: String,
        /// Multiplier (> 0).
        multiplier: f64,
    },
    /// Set one counterparty weight.
    CounterpartyWeightChange {
        /// Agent whose weights change.
        agent: String,
        /// Counterparty.
        counterparty: String,
        /// New weight in [0, 1].
        new_weight: f64,
    },
    /// Scale every deadline range.
    DeadlineWindowChange {
        /// Multiplier of the lower bound.
        min_ticks_multiplier: Option<f64>,
        /// Multiplier of the upper bound.
        max_ticks_multiplier: Option<f64>,
    },
    /// Settle a payment outside the queues if the payer can pay.
    ScheduledSettlement {
        /// Payer.
        from_agent: String,
        /// Payee.
        to_agent: String,
        /// Amount (> 0).
        amount: Cents,
    },
}

/// Shared, immutable configuration handle.
pub type SharedConfig = Arc<SimConfig>;
