//! Dotted parameter paths (`cost_rates.delay_cost_per_tick_per_cent`,
//! `agents[BANK_A].liquidity_pool`) resolved against a scenario as data: the loaded
//! [`SimConfig`] serialised to JSON. SimCash's YAML section names are accepted as aliases of
//! [`SimConfig`]'s field names.

use serde_json::Value;

use crate::engine::config::SimConfig;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object field.
    Field(String),
    /// A list element: an agent id in `agents`, otherwise a 0-based index.
    Select(String),
}

/// A parsed and resolved path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamPath {
    /// The steps into `SimConfig`'s JSON, aliases already resolved.
    pub steps: Vec<Step>,
}

impl std::fmt::Display for ParamPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                Step::Field(n) if i == 0 => write!(f, "{n}")?,
                Step::Field(n) => write!(f, ".{n}")?,
                Step::Select(x) => write!(f, "[{x}]")?,
            }
        }
        Ok(())
    }
}

/// Why a parameter path is malformed, or names nothing in the scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// `a..b` or `.a`.
    #[error("empty path segment")]
    EmptySegment,
    /// `a.`.
    #[error("the path ends with `.`")]
    TrailingDot,
    /// `[0].a`.
    #[error("a path cannot start with `[`")]
    LeadingSelector,
    /// `a[0`.
    #[error("unclosed `[`")]
    Unclosed,
    /// `a[]`.
    #[error("empty `[]` selector")]
    EmptySelector,
    /// `a[0]b`, `a[0]]`.
    #[error("expected `.` or `[` after `]`")]
    AfterSelector,
    /// `a]`.
    #[error("unmatched `]`")]
    Unmatched,
    /// `a b`.
    #[error("paths contain no spaces")]
    Space,
    /// ``.
    #[error("the path is empty")]
    Empty,
    /// `simulation.rng_seed` or `rng_seed`.
    #[error("the seed is not a parameter: list seeds under `seeds`")]
    Seed,
    /// `simulation.<other>`.
    #[error("under `simulation` only `ticks_per_day` and `num_days` can be swept")]
    SimulationField,
    /// A field of something that has no fields.
    #[error("{at} is {kind}, it has no field `{name}`")]
    NotAMapping {
        /// Where, as the user wrote it.
        at: String,
        /// What is there.
        kind: &'static str,
        /// The field asked for.
        name: String,
    },
    /// A field that does not exist.
    #[error("{at} has no field `{name}` (fields: {known})")]
    NoField {
        /// Where.
        at: String,
        /// The field asked for.
        name: String,
        /// The fields there are, comma-separated.
        known: String,
    },
    /// A selector on something that is not a list.
    #[error("{at} is {kind}, not a list: `[{selector}]` does not apply")]
    NotAList {
        /// Where.
        at: String,
        /// What is there.
        kind: &'static str,
        /// The selector.
        selector: String,
    },
    /// `agents[X]` with no agent `X`.
    #[error("unknown agent `{agent}` (agents: {agents})")]
    UnknownAgent {
        /// The agent asked for.
        agent: String,
        /// The scenario's agents, comma-separated.
        agents: String,
    },
    /// An index past the end of a list.
    #[error("{at} has {len} item(s); `[{selector}]` is not an index 0–{last}", last = len.saturating_sub(1))]
    BadIndex {
        /// Where.
        at: String,
        /// The list's length.
        len: usize,
        /// The selector.
        selector: String,
    },
}

/// Splits `a.b[X].c` into steps; `Err` explains a malformed path.
fn split(key: &str) -> Result<Vec<Step>, PathError> {
    let mut steps = Vec::new();
    let mut name = String::new();
    let mut chars = key.chars().peekable();
    let mut after_select = false;
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if name.is_empty() && !after_select {
                    return Err(PathError::EmptySegment);
                }
                if !name.is_empty() {
                    steps.push(Step::Field(std::mem::take(&mut name)));
                }
                after_select = false;
                if chars.peek().is_none() {
                    return Err(PathError::TrailingDot);
                }
            }
            '[' => {
                if !name.is_empty() {
                    steps.push(Step::Field(std::mem::take(&mut name)));
                } else if steps.is_empty() {
                    return Err(PathError::LeadingSelector);
                }
                let mut sel = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(c) => sel.push(c),
                        None => return Err(PathError::Unclosed),
                    }
                }
                if sel.trim().is_empty() {
                    return Err(PathError::EmptySelector);
                }
                steps.push(Step::Select(sel.trim().to_owned()));
                after_select = true;
                if let Some(&n) = chars.peek()
                    && n != '.'
                    && n != '['
                {
                    return Err(PathError::AfterSelector);
                }
            }
            ']' => return Err(PathError::Unmatched),
            c if c.is_whitespace() => return Err(PathError::Space),
            c => {
                if after_select {
                    return Err(PathError::AfterSelector);
                }
                name.push(c);
            }
        }
    }
    if !name.is_empty() {
        steps.push(Step::Field(name));
    }
    if steps.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(steps)
}

/// SimCash YAML names → `SimConfig` field names, for the first step (or the step under an
/// agent): `cost_rates` → `costs`, `lsm_config` → `lsm`, `simcash` → `extensions`,
/// `simulation.ticks_per_day` → `ticks_per_day`, `simulation.num_days` → `num_days`,
/// `arrival_config` → `arrivals`, `eod_penalty_per_transaction` → `eod_penalty`.
fn alias(steps: Vec<Step>) -> Result<Vec<Step>, PathError> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    let mut it = steps.into_iter().peekable();
    let mut first = true;
    while let Some(s) = it.next() {
        let s = match s {
            Step::Field(n) => {
                let under_agent = matches!(out.as_slice(), [Step::Field(a), Step::Select(_)] if a == "agents");
                let under_costs = matches!(out.as_slice(), [Step::Field(c)] if c == "costs");
                let renamed = match n.as_str() {
                    "cost_rates" if first => "costs".to_owned(),
                    "lsm_config" if first => "lsm".to_owned(),
                    "simcash" if first => "extensions".to_owned(),
                    "simulation" if first => match it.next() {
                        Some(Step::Field(f)) if f == "ticks_per_day" || f == "num_days" => f,
                        Some(Step::Field(f)) if f == "rng_seed" => return Err(PathError::Seed),
                        _ => return Err(PathError::SimulationField),
                    },
                    "rng_seed" if first => return Err(PathError::Seed),
                    "arrival_config" if under_agent => "arrivals".to_owned(),
                    "eod_penalty_per_transaction" if under_costs => "eod_penalty".to_owned(),
                    _ => n,
                };
                Step::Field(renamed)
            }
            sel => sel,
        };
        first = false;
        out.push(s);
    }
    Ok(out)
}

/// Parses a key as written in a sweep file.
pub fn parse(key: &str) -> Result<ParamPath, PathError> {
    Ok(ParamPath { steps: alias(split(key)?)? })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The location `path` names in `root` (a serialised `SimConfig`); `Err` says why it does not
/// exist, listing what does.
pub fn locate<'v>(root: &'v mut Value, path: &ParamPath) -> Result<&'v mut Value, PathError> {
    let mut cur = root;
    let mut here = String::new();
    for (i, step) in path.steps.iter().enumerate() {
        let shown = if here.is_empty() { "the scenario".to_owned() } else { format!("`{here}`") };
        match step {
            Step::Field(name) => {
                let Value::Object(m) = cur else {
                    return Err(PathError::NotAMapping { at: shown, kind: kind(cur), name: name.clone() });
                };
                if !m.contains_key(name) {
                    let mut known: Vec<&str> = m.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    return Err(PathError::NoField { at: shown, name: name.clone(), known: known.join(", ") });
                }
                if !here.is_empty() {
                    here.push('.');
                }
                here.push_str(name);
                cur = m.get_mut(name).expect("checked");
            }
            Step::Select(sel) => {
                let Value::Array(items) = cur else {
                    return Err(PathError::NotAList { at: shown, kind: kind(cur), selector: sel.clone() });
                };
                let is_agents = i == 1 && matches!(&path.steps[0], Step::Field(a) if a == "agents");
                let idx = if is_agents {
                    let ids: Vec<&str> = items.iter().filter_map(|a| a.get("id").and_then(Value::as_str)).collect();
                    match ids.iter().position(|id| id == sel) {
                        Some(p) => p,
                        None => return Err(PathError::UnknownAgent { agent: sel.clone(), agents: ids.join(", ") }),
                    }
                } else {
                    match sel.parse::<usize>() {
                        Ok(n) if n < items.len() => n,
                        _ => return Err(PathError::BadIndex { at: shown, len: items.len(), selector: sel.clone() }),
                    }
                };
                here.push_str(&format!("[{sel}]"));
                cur = &mut items[idx];
            }
        }
    }
    Ok(cur)
}

/// Sets `path` in `root` to `value`. A number given for a penalty (`costs.eod_penalty`,
/// `costs.deadline_penalty`) means a fixed amount, as in SimCash's YAML.
pub fn set(root: &mut Value, path: &ParamPath, value: &Value) -> Result<(), PathError> {
    let target = locate(root, path)?;
    let is_penalty = matches!(path.steps.as_slice(), [Step::Field(c), Step::Field(p)] if c == "costs" && (p == "eod_penalty" || p == "deadline_penalty"));
    if is_penalty && value.is_number() {
        *target = serde_json::json!({ "Fixed": value });
    } else {
        *target = value.clone();
    }
    Ok(())
}

/// Range checks that the scenario loader makes and `Engine::new` does not: a swept value must
/// be as valid as if it had been written in the scenario file.
pub fn check_ranges(c: &SimConfig) -> Vec<String> {
    let mut bad = Vec::new();
    fn nonneg_into(bad: &mut Vec<String>, name: String, v: f64) {
        if !(v.is_finite() && v >= 0.0) {
            bad.push(format!("`{name}` must be a non-negative number, got {v}"));
        }
    }
    macro_rules! nonneg {
        ($n:expr, $v:expr) => {
            nonneg_into(&mut bad, $n, $v)
        };
    }
    let k = &c.costs;
    for (n, v) in [
        ("overdraft_bps_per_tick", k.overdraft_bps_per_tick),
        ("delay_cost_per_tick_per_cent", k.delay_cost_per_tick_per_cent),
        ("collateral_cost_per_tick_bps", k.collateral_cost_per_tick_bps),
        ("liquidity_cost_per_tick_bps", k.liquidity_cost_per_tick_bps),
        ("overdue_delay_multiplier", k.overdue_delay_multiplier),
        ("split_friction_cost", k.split_friction_cost as f64),
    ] {
        nonneg!(format!("costs.{n}"), v);
    }
    for (n, p) in [("eod_penalty", k.eod_penalty), ("deadline_penalty", k.deadline_penalty)] {
        match p {
            crate::engine::config::Penalty::Fixed(x) => nonneg!(format!("costs.{n}"), x as f64),
            crate::engine::config::Penalty::Rate { bps_per_event } => nonneg!(format!("costs.{n}"), bps_per_event),
        }
    }
    for a in &c.agents {
        nonneg!(format!("agents[{}].unsecured_cap", a.id), a.unsecured_cap as f64);
        if let Some(p) = a.liquidity_pool {
            nonneg!(format!("agents[{}].liquidity_pool", a.id), p as f64);
        }
        if let Some(m) = a.max_collateral_capacity {
            nonneg!(format!("agents[{}].max_collateral_capacity", a.id), m as f64);
        }
        nonneg!(format!("agents[{}].posted_collateral", a.id), a.posted_collateral as f64);
        for (n, v) in [("liquidity_allocation_fraction", a.liquidity_allocation_fraction), ("collateral_haircut", a.collateral_haircut)] {
            if !(0.0..=1.0).contains(&v) {
                bad.push(format!("`agents[{}].{n}` must be between 0 and 1, got {v}", a.id));
            }
        }
        for arr in a.arrivals.iter().chain(&a.arrival_bands) {
            nonneg!(format!("agents[{}].arrivals.rate_per_tick", a.id), arr.rate_per_tick);
            if arr.deadline_range.0 > arr.deadline_range.1 {
                bad.push(format!("`agents[{}].arrivals.deadline_range` must be [min, max] with min ≤ max", a.id));
            }
        }
    }
    if c.ticks_per_day == 0 || c.num_days == 0 {
        bad.push("`ticks_per_day` and `num_days` must be positive".into());
    } else if c.ticks_per_day as u64 * c.num_days as u64 > u32::MAX as u64 / 2 {
        bad.push("ticks_per_day × num_days is too large".into());
    }
    if !(3..=10).contains(&c.lsm.max_cycle_length) {
        bad.push(format!("`lsm.max_cycle_length` must be between 3 and 10, got {}", c.lsm.max_cycle_length));
    }
    if !(1..=100).contains(&c.lsm.max_cycles_per_tick) {
        bad.push(format!("`lsm.max_cycles_per_tick` must be between 1 and 100, got {}", c.lsm.max_cycles_per_tick));
    }
    if !(0.0..=1.0).contains(&c.extensions.eod_rush_threshold) {
        bad.push(format!("`extensions.eod_rush_threshold` must be between 0 and 1, got {}", c.extensions.eod_rush_threshold));
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse(s).map(|p| p.to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn paths_parse_and_aliases_resolve() {
        assert_eq!(p("cost_rates.delay_cost_per_tick_per_cent"), "costs.delay_cost_per_tick_per_cent");
        assert_eq!(p("agents[BANK_A].liquidity_pool"), "agents[BANK_A].liquidity_pool");
        assert_eq!(p("agents[BANK_A].arrival_config.rate_per_tick"), "agents[BANK_A].arrivals.rate_per_tick");
        assert_eq!(p("lsm_config.enable_cycles"), "lsm.enable_cycles");
        assert_eq!(p("simulation.ticks_per_day"), "ticks_per_day");
        assert_eq!(p("cost_rates.eod_penalty_per_transaction"), "costs.eod_penalty");
        assert_eq!(p("scenario_events[0].schedule"), "scenario_events[0].schedule");
        assert!(p("simulation.rng_seed").starts_with("error: the seed"));
        for bad in ["", "a..b", "a.", "[x].b", "a[x", "a]b", "a[x]b", "a b", "a[]"] {
            assert!(p(bad).starts_with("error:"), "{bad:?} → {}", p(bad));
        }
    }

    #[test]
    fn locate_names_what_exists() {
        let cfg = crate::scenario::load_str("default", crate::DEFAULT_SCENARIO).unwrap().config;
        let mut v = serde_json::to_value(&cfg).unwrap();
        let id = cfg.agents[0].id.clone();
        assert!(locate(&mut v, &parse(&format!("agents[{id}].liquidity_pool")).unwrap()).is_ok());
        let e = locate(&mut v, &parse("agents[NOPE].liquidity_pool").unwrap()).unwrap_err();
        assert!(matches!(&e, PathError::UnknownAgent { agent, agents } if agent == "NOPE" && agents.contains(&id)), "{e}");
        assert!(e.to_string().starts_with("unknown agent `NOPE`"), "{e}");
        let e = locate(&mut v, &parse("costs.delay_cost").unwrap()).unwrap_err();
        assert!(matches!(&e, PathError::NoField { name, known, .. } if name == "delay_cost" && known.contains("delay_cost_per_tick_per_cent")), "{e}");
        let e = locate(&mut v, &parse("lsm.enable_cycles.x").unwrap()).unwrap_err();
        assert!(matches!(&e, PathError::NotAMapping { kind: "a boolean", .. }), "{e}");
        assert_eq!(parse("simulation.rng_seed"), Err(PathError::Seed));
        assert_eq!(parse("a[0"), Err(PathError::Unclosed));
        set(&mut v, &parse("cost_rates.eod_penalty_per_transaction").unwrap(), &serde_json::json!(7)).unwrap();
        let back: SimConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back.costs.eod_penalty, crate::engine::config::Penalty::Fixed(7));
    }
}
