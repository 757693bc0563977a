//! SimCash scenario YAML → validated [`SimConfig`].
//!
//! Accepts the keys SimCash's loader forwards to its engine (ENGINE-SPEC §9), with its
//! defaults. Keys SimCash ignores are accepted with one [`Warning`] each. Every error names
//! the file, the key path and the line. Knows nothing of the engine's internals.

pub mod generate;
mod policy;
pub(crate) mod yaml;
pub mod yaml11;

use std::path::Path;

use crate::engine::config::{
    AgentConfig, AmountDistribution, ArrivalConfig, CostRates, Extensions, LsmConfig, Penalty, PolicyConfig, PriorityDelayMultipliers, PriorityDistribution,
    PriorityEscalation, ScenarioEvent, Schedule, ScheduledEvent, SimConfig,
};
use yaml::Node;

/// A scenario that cannot be used, located in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {}{problem}", if key.is_empty() { String::new() } else { format!("`{key}`: ") })]
pub struct ScenarioError {
    /// The scenario file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Key path, e.g. `agents[1].arrival_config.rate_per_tick`.
    pub key: String,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a scenario value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// The YAML does not parse.
    #[error("YAML syntax error: {0}")]
    Syntax(String),
    /// A required key is absent.
    #[error("required key `{0}` is missing")]
    Missing(&'static str),
    /// A value has the wrong type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A value is out of its allowed range or inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// A reference to an agent that does not exist.
    #[error("unknown agent `{name}` (agents: {known})")]
    UnknownAgent {
        /// The name used.
        name: String,
        /// The agents defined.
        known: String,
    },
    /// An unknown variant name.
    #[error("unknown {what} `{name}` (expected one of: {expected})")]
    UnknownKind {
        /// What kind of thing.
        what: &'static str,
        /// The name used.
        name: String,
        /// Valid names.
        expected: &'static str,
    },
}

/// A key that is accepted but has no effect, as in SimCash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line.
    pub line: usize,
    /// Key path.
    pub key: String,
    /// Why it has no effect.
    pub reason: &'static str,
}

/// A loaded scenario: the configuration plus warnings about ignored keys.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The validated configuration.
    pub config: SimConfig,
    /// One warning per ignored key.
    pub warnings: Vec<Warning>,
}

/// Reads and validates a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let (name, text) = read_file(path)?;
    load_str(&name, &text)
}

/// A YAML input file's name (for errors) and text; an unreadable file is an error naming it.
pub(crate) fn read_file(path: &Path) -> Result<(String, String), ScenarioError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((name, text)),
        Err(e) => Err(ScenarioError { file: name, line: 0, key: String::new(), problem: Problem::Invalid(format!("cannot read the file: {e}")) }),
    }
}

/// Validates scenario YAML text; `file` names it in errors.
pub fn load_str(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let doc = yaml::parse(file, text)?;
    let mut l = Loader { file, warnings: Vec::new(), agent_collateral: false };
    let config = l.scenario(Node::root(&doc))?;
    Ok(Scenario { config, warnings: l.warnings })
}

const IGNORED: &str = "SimCash's loader does not pass it to the engine";
const ENGINE_ONLY: &str = "an engine-only SimCash feature that its YAML loader drops";
const AGENT_COLLATERAL: &str = "an engine-only SimCash feature that its YAML loader drops (honoured with `simcash: {agent_collateral: true}`)";

struct Loader<'f> {
    file: &'f str,
    warnings: Vec<Warning>,
    /// `simcash.agent_collateral`: agents' `posted_collateral` and `collateral_haircut` apply.
    agent_collateral: bool,
}

/// Mapping entries looked up by key, tracking which were used.
struct Fields<'a> {
    node: Node<'a>,
    entries: Vec<(String, yaml::Child<'a>)>,
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<Node<'_>> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, c)| c.node()).filter(|n| !n.is_null())
    }
}

impl<'f> Loader<'f> {
    fn err(&self, n: Node<'_>, p: Problem) -> ScenarioError {
        n.error(self.file, p)
    }

    fn invalid(&self, n: Node<'_>, msg: impl Into<String>) -> ScenarioError {
        self.err(n, Problem::Invalid(msg.into()))
    }

    /// Reads a mapping and checks its keys: `known` are used, `ignored` warn, others warn too.
    fn fields<'a>(&mut self, n: Node<'a>, known: &[&str], ignored: &[(&str, &'static str)]) -> Result<Fields<'a>, ScenarioError> {
        let entries = n.entries(self.file)?;
        for (k, c) in &entries {
            if known.contains(&k.as_str()) {
                continue;
            }
            let reason = ignored.iter().find(|(i, _)| i == k).map_or(IGNORED, |(_, r)| *r);
            self.warnings.push(Warning { line: c.node().line(), key: c.node().path().to_owned(), reason });
        }
        Ok(Fields { node: n, entries })
    }

    fn req<'a>(&self, f: &'a Fields<'_>, key: &'static str) -> Result<Node<'a>, ScenarioError> {
        f.get(key).ok_or_else(|| self.err(f.node, Problem::Missing(key)))
    }

    fn positive_u32(&self, n: Node<'_>) -> Result<u32, ScenarioError> {
        let v = n.i64(self.file)?;
        if v <= 0 || v > u32::MAX as i64 {
            return Err(self.invalid(n, format!("must be a positive integer, got {v}")));
        }
        Ok(v as u32)
    }

    fn non_negative_i64(&self, n: Node<'_>) -> Result<i64, ScenarioError> {
        let v = n.i64(self.file)?;
        if v < 0 {
            return Err(self.invalid(n, format!("must not be negative, got {v}")));
        }
        Ok(v)
    }

    fn non_negative_f64(&self, n: Node<'_>) -> Result<f64, ScenarioError> {
        let v = n.f64(self.file)?;
        if v < 0.0 {
            return Err(self.invalid(n, format!("must not be negative, got {v}")));
        }
        Ok(v)
    }

    fn positive_i64(&self, n: Node<'_>) -> Result<i64, ScenarioError> {
        let v = n.i64(self.file)?;
        if v <= 0 {
            return Err(self.invalid(n, format!("must be positive, got {v}")));
        }
        Ok(v)
    }

    fn fraction(&self, n: Node<'_>) -> Result<f64, ScenarioError> {
        let v = n.f64(self.file)?;
        if !(0.0..=1.0).contains(&v) {
            return Err(self.invalid(n, format!("must be between 0 and 1, got {v}")));
        }
        Ok(v)
    }

    fn priority(&self, n: Node<'_>) -> Result<u8, ScenarioError> {
        let v = n.i64(self.file)?;
        if !(0..=10).contains(&v) {
            return Err(self.invalid(n, format!("priority must be between 0 and 10, got {v}")));
        }
        Ok(v as u8)
    }

    fn scenario(&mut self, root: Node<'_>) -> Result<SimConfig, ScenarioError> {
        let f = self.fields(
            root,
            &[
                "simulation",
                "agents",
                "cost_rates",
                "lsm_config",
                "scenario_events",
                "deferred_crediting",
                "deadline_cap_at_eod",
                "policy_feature_toggles",
                "cost_feature_toggles",
                "simcash",
            ],
            &[
                ("cost_model", "SimCash ignores `cost_model`; use `cost_rates`"),
                ("algorithm_sequencing", ENGINE_ONLY),
                ("entry_disposition_offsetting", ENGINE_ONLY),
                ("priority_escalation", ENGINE_ONLY),
                ("priority_mode", ENGINE_ONLY),
                ("queue1_ordering", ENGINE_ONLY),
                ("eod_rush_threshold", ENGINE_ONLY),
                ("daily_liquidity_reallocation", ENGINE_ONLY),
            ],
        )?;
        let sim = self.fields(self.req(&f, "simulation")?, &["ticks_per_day", "num_days", "rng_seed"], &[])?;
        let ticks_per_day = self.positive_u32(self.req(&sim, "ticks_per_day")?)?;
        let num_days = self.positive_u32(self.req(&sim, "num_days")?)?;
        if ticks_per_day as u64 * num_days as u64 > u32::MAX as u64 / 2 {
            return Err(self.invalid(sim.node, "ticks_per_day × num_days is too large"));
        }
        let rng_seed = self.non_negative_i64(self.req(&sim, "rng_seed")?)? as u64;
        let extensions = match f.get("simcash") {
            Some(n) => self.extensions(n)?,
            None => Extensions::default(),
        };

        let agents_node = self.req(&f, "agents")?;
        let items = agents_node.items(self.file)?;
        if items.is_empty() {
            return Err(self.invalid(agents_node, "at least one agent is required"));
        }
        // Ids first, so references to later agents can be checked.
        let mut ids = Vec::with_capacity(items.len());
        for item in &items {
            let n = item.node();
            let entries = n.entries(self.file)?;
            let id_node = entries.iter().find(|(k, _)| k == "id").map(|(_, c)| c.clone());
            let Some(id_node) = id_node else { return Err(self.err(n, Problem::Missing("id"))) };
            let id = id_node.node().str(self.file)?.to_owned();
            if id.trim().is_empty() {
                return Err(self.invalid(id_node.node(), "agent id must not be empty"));
            }
            if ids.contains(&id) {
                return Err(self.invalid(id_node.node(), format!("duplicate agent id `{id}`")));
            }
            ids.push(id);
        }
        let mut agents = Vec::with_capacity(items.len());
        let mut system_money: i64 = 0;
        for (item, id) in items.iter().zip(&ids) {
            let a = self.agent(item.node(), id, &ids)?;
            // Per agent the sum fits (checked in `agent`); over all agents it must too.
            let money = [a.liquidity_pool, Some(a.unsecured_cap), a.max_collateral_capacity, Some(a.posted_collateral)]
                .into_iter()
                .flatten()
                .fold(a.opening_balance, |m, x| m + x);
            system_money = system_money.checked_add(money).ok_or_else(|| {
                self.invalid(item.node(), format!("the money of all agents up to `{id}` (balances, pools, credit, collateral) exceeds {} cents", i64::MAX))
            })?;
            agents.push(a);
        }
        let costs = match f.get("cost_rates") {
            Some(n) => self.cost_rates(n)?,
            None => CostRates::default(),
        };
        let lsm = match f.get("lsm_config") {
            Some(n) => self.lsm(n)?,
            None => LsmConfig::default(),
        };
        let mut scenario_events = Vec::new();
        if let Some(n) = f.get("scenario_events") {
            for item in n.items(self.file)? {
                scenario_events.push(self.scenario_event(item.node(), &ids, ticks_per_day * num_days)?);
            }
        }
        let flag = |key| f.get(key).map(|n| n.bool(self.file)).transpose().map(|v| v.unwrap_or(false));
        Ok(SimConfig {
            ticks_per_day,
            num_days,
            rng_seed,
            agents,
            costs,
            lsm,
            scenario_events,
            deferred_crediting: flag("deferred_crediting")?,
            deadline_cap_at_eod: flag("deadline_cap_at_eod")?,
            extensions,
        })
    }

    /// The `simcash:` section: engine features SimCash's own loader drops (ENGINE-SPEC §9.4),
    /// honoured only when turned on here.
    fn extensions(&mut self, n: Node<'_>) -> Result<Extensions, ScenarioError> {
        let f = self.fields(
            n,
            &["eod_rush_threshold", "daily_liquidity_reallocation", "queue1_ordering", "priority_mode", "priority_escalation", "agent_collateral", "limits"],
            &[],
        )?;
        let mut x = Extensions::default();
        if let Some(v) = f.get("eod_rush_threshold") {
            x.eod_rush_threshold = self.fraction(v)?;
        }
        if let Some(v) = f.get("daily_liquidity_reallocation") {
            x.daily_liquidity_reallocation = v.bool(self.file)?;
        }
        if let Some(v) = f.get("queue1_ordering") {
            x.queue1_priority_deadline = match v.str(self.file)? {
                "fifo" => false,
                "priority_deadline" => true,
                other => {
                    return Err(self.err(v, Problem::UnknownKind { what: "queue1_ordering", name: other.to_owned(), expected: "fifo, priority_deadline" }));
                }
            };
        }
        if let Some(v) = f.get("priority_mode") {
            x.priority_mode = v.bool(self.file)?;
        }
        if let Some(v) = f.get("priority_escalation") {
            let pf = self.fields(v, &["enabled", "curve", "start_escalating_at_ticks", "max_boost"], &[])?;
            if pf.get("enabled").map(|e| e.bool(self.file)).transpose()?.unwrap_or(false) {
                if let Some(c) = pf.get("curve")
                    && c.str(self.file)? != "linear"
                {
                    return Err(self.invalid(c, "only the `linear` curve exists"));
                }
                let start = pf.get("start_escalating_at_ticks").map(|n| self.positive_u32(n)).transpose()?.unwrap_or(20);
                let max_boost = match pf.get("max_boost") {
                    Some(n) => self.priority(n)?,
                    None => 3,
                };
                x.priority_escalation = Some(PriorityEscalation { start_escalating_at_ticks: start, max_boost });
            }
        }
        if let Some(v) = f.get("agent_collateral") {
            self.agent_collateral = v.bool(self.file)?;
        }
        if let Some(v) = f.get("limits") {
            let lf = self.fields(v, &["max_events_per_tick", "max_queued_payments"], &[])?;
            if let Some(n) = lf.get("max_events_per_tick") {
                x.limits.max_events_per_tick = self.positive_u32(n)?;
            }
            if let Some(n) = lf.get("max_queued_payments") {
                x.limits.max_queued_payments = self.positive_u32(n)?;
            }
        }
        Ok(x)
    }

    fn agent_ref(&self, n: Node<'_>, ids: &[String]) -> Result<String, ScenarioError> {
        let name = n.str(self.file)?;
        if !ids.iter().any(|i| i == name) {
            return Err(self.err(n, Problem::UnknownAgent { name: name.to_owned(), known: ids.join(", ") }));
        }
        Ok(name.to_owned())
    }

    fn agent(&mut self, n: Node<'_>, id: &str, ids: &[String]) -> Result<AgentConfig, ScenarioError> {
        let f = self.fields(
            n,
            &[
                "id",
                "opening_balance",
                "unsecured_cap",
                "policy",
                "arrival_config",
                "arrival_bands",
                "liquidity_pool",
                "liquidity_allocation_fraction",
                "max_collateral_capacity",
            ],
            &[("posted_collateral", AGENT_COLLATERAL), ("collateral_haircut", AGENT_COLLATERAL), ("limits", ENGINE_ONLY)],
        )?;
        let (mut posted_collateral, mut collateral_haircut) = (0, 0.02);
        if self.agent_collateral {
            if let Some(n) = f.get("posted_collateral") {
                posted_collateral = self.non_negative_i64(n)?;
            }
            if let Some(n) = f.get("collateral_haircut") {
                collateral_haircut = self.fraction(n)?;
            }
        }
        let opening_node = self.req(&f, "opening_balance")?;
        let opening_balance = opening_node.i64(self.file)?;
        let unsecured_cap = f.get("unsecured_cap").map(|n| self.non_negative_i64(n)).transpose()?.unwrap_or(0);
        let liquidity_pool = f.get("liquidity_pool").map(|n| self.non_negative_i64(n)).transpose()?;
        let liquidity_allocation_fraction = f.get("liquidity_allocation_fraction").map(|n| self.fraction(n)).transpose()?.unwrap_or(1.0);
        let max_collateral_capacity = f.get("max_collateral_capacity").map(|n| self.non_negative_i64(n)).transpose()?;
        // Every sum of an agent's money must fit in i64 cents: balance plus pool, credit
        // and collateral (the engine adds them for available liquidity).
        let mut money = opening_balance;
        for (key, amount) in [
            ("liquidity_pool", liquidity_pool),
            ("unsecured_cap", Some(unsecured_cap)),
            ("max_collateral_capacity", max_collateral_capacity),
            ("posted_collateral", Some(posted_collateral)),
        ] {
            money = money.checked_add(amount.unwrap_or(0)).ok_or_else(|| {
                let n = f.get(key).unwrap_or(opening_node);
                self.invalid(n, format!("`{key}` with the agent's other money ({money}) exceeds the largest amount in cents, {}", i64::MAX))
            })?;
        }
        let policy = match f.get("policy") {
            Some(p) => self.policy(p)?,
            None => PolicyConfig::Fifo,
        };
        let arrivals = f.get("arrival_config").map(|a| self.arrival_config(a, id, ids)).transpose()?;
        let arrival_bands = match f.get("arrival_bands") {
            Some(b) if arrivals.is_some() => return Err(self.invalid(b, "give either `arrival_config` or `arrival_bands`, not both")),
            Some(b) => self.arrival_bands(b, id, ids)?,
            None => Vec::new(),
        };
        Ok(AgentConfig {
            id: id.to_owned(),
            opening_balance,
            unsecured_cap,
            liquidity_pool,
            liquidity_allocation_fraction,
            max_collateral_capacity,
            posted_collateral,
            collateral_haircut,
            policy,
            arrivals,
            arrival_bands,
        })
    }

    fn arrival_config(&mut self, n: Node<'_>, me: &str, ids: &[String]) -> Result<ArrivalConfig, ScenarioError> {
        let f = self.fields(
            n,
            &["rate_per_tick", "amount_distribution", "counterparty_weights", "deadline_range", "priority", "priority_distribution", "divisible"],
            &[],
        )?;
        let rate_per_tick = self.non_negative_f64(self.req(&f, "rate_per_tick")?)?;
        let amount = self.amount_distribution(self.req(&f, "amount_distribution")?)?;
        let w = self.req(&f, "counterparty_weights")?;
        let counterparty_weights = self.weights(w, me, ids)?;
        if counterparty_weights.is_empty() {
            return Err(self.invalid(w, "at least one counterparty weight is required"));
        }
        if ids.len() < 2 || counterparty_weights.iter().all(|(k, _)| k == me) {
            return Err(self.invalid(w, format!("agent `{me}` has no counterparty other than itself")));
        }
        let dr = self.req(&f, "deadline_range")?;
        let items = dr.items(self.file)?;
        if items.len() != 2 {
            return Err(self.invalid(dr, format!("expected [min, max], found {} values", items.len())));
        }
        let lo = self.positive_u32(items[0].node())?;
        let hi = self.positive_u32(items[1].node())?;
        if hi < lo {
            return Err(self.invalid(dr, format!("deadline range is inverted: max {hi} < min {lo}")));
        }
        let priority = match (f.get("priority"), f.get("priority_distribution")) {
            (Some(_), Some(pd)) => return Err(self.invalid(pd, "give either `priority` or `priority_distribution`, not both")),
            (Some(p), None) => PriorityDistribution::Fixed(self.priority(p)?),
            (None, Some(pd)) => self.priority_distribution(pd)?,
            (None, None) => PriorityDistribution::Fixed(5),
        };
        let divisible = f.get("divisible").map(|n| n.bool(self.file)).transpose()?.unwrap_or(false);
        Ok(ArrivalConfig { rate_per_tick, amount, counterparty_weights, deadline_range: (lo, hi), priority, divisible, band: false })
    }

    /// `arrival_bands`: up to three streams (urgent, normal, low) with fixed priority ranges.
    fn arrival_bands(&mut self, n: Node<'_>, me: &str, ids: &[String]) -> Result<Vec<ArrivalConfig>, ScenarioError> {
        let f = self.fields(n, &["urgent", "normal", "low"], &[])?;
        let mut out = Vec::new();
        for (band, lo_p, hi_p) in [("urgent", 8, 10), ("normal", 4, 7), ("low", 0, 3)] {
            let Some(b) = f.get(band) else { continue };
            let bf = self.fields(
                b,
                &["rate_per_tick", "amount_distribution", "deadline_offset_min", "deadline_offset_max", "counterparty_weights", "divisible"],
                &[],
            )?;
            let rate_per_tick = self.non_negative_f64(self.req(&bf, "rate_per_tick")?)?;
            let amount = self.amount_distribution(self.req(&bf, "amount_distribution")?)?;
            let lo = self.positive_u32(self.req(&bf, "deadline_offset_min")?)?;
            let hi_node = self.req(&bf, "deadline_offset_max")?;
            let hi = self.positive_u32(hi_node)?;
            if hi < lo {
                return Err(self.invalid(hi_node, format!("deadline_offset_max ({hi}) is below deadline_offset_min ({lo})")));
            }
            let counterparty_weights = match bf.get("counterparty_weights") {
                Some(w) => self.weights(w, me, ids)?,
                None => Vec::new(),
            };
            if ids.len() < 2 {
                return Err(self.invalid(b, format!("agent `{me}` has no counterparty other than itself")));
            }
            let divisible = bf.get("divisible").map(|n| n.bool(self.file)).transpose()?.unwrap_or(false);
            out.push(ArrivalConfig {
                rate_per_tick,
                amount,
                counterparty_weights,
                deadline_range: (lo, hi),
                priority: PriorityDistribution::Uniform { min: lo_p, max: hi_p },
                divisible,
                band: true,
            });
        }
        Ok(out)
    }

    /// A counterparty weight map: known agents, non-negative weights, in document order, with
    /// a positive total over the agent's counterparties (an unlisted one weighs 1).
    fn weights(&mut self, w: Node<'_>, me: &str, ids: &[String]) -> Result<Vec<(String, f64)>, ScenarioError> {
        let mut counterparty_weights = Vec::new();
        for (k, c) in w.entries(self.file)? {
            let c = c.node();
            if !ids.contains(&k) {
                return Err(self.err(c, Problem::UnknownAgent { name: k, known: ids.join(", ") }));
            }
            let weight = c.f64(self.file)?;
            if weight < 0.0 {
                return Err(self.invalid(c, format!("weight must not be negative, got {weight}")));
            }
            counterparty_weights.push((k, weight));
        }
        if !counterparty_weights.is_empty() {
            let weight_of = |id: &String| counterparty_weights.iter().find(|(k, _)| k == id).map_or(1.0, |(_, x)| *x);
            let total: f64 = ids.iter().filter(|id| *id != me).map(weight_of).sum();
            if !(total > 0.0 && total.is_finite()) {
                return Err(self.invalid(w, format!("the weights of agent `{me}`'s counterparties sum to {total}; they must have a positive, finite sum")));
            }
        }
        Ok(counterparty_weights)
    }

    fn amount_distribution(&mut self, n: Node<'_>) -> Result<AmountDistribution, ScenarioError> {
        let entries = n.entries(self.file)?;
        let Some((_, t)) = entries.iter().find(|(k, _)| k == "type") else { return Err(self.err(n, Problem::Missing("type"))) };
        let t = t.node();
        match t.str(self.file)? {
            "Uniform" => {
                let f = self.fields(n, &["type", "min", "max"], &[])?;
                let min = self.non_negative_i64(self.req(&f, "min")?)?;
                let max_node = self.req(&f, "max")?;
                let max = max_node.i64(self.file)?;
                if max <= min {
                    return Err(self.invalid(max_node, format!("max ({max}) must be greater than min ({min})")));
                }
                Ok(AmountDistribution::Uniform { min, max })
            }
            k @ ("Normal" | "LogNormal") => {
                let f = self.fields(n, &["type", "mean", "std_dev"], &[])?;
                let mean_node = self.req(&f, "mean")?;
                let mean = mean_node.f64(self.file)?;
                let sd_node = self.req(&f, "std_dev")?;
                let std_dev = sd_node.f64(self.file)?;
                if std_dev <= 0.0 {
                    return Err(self.invalid(sd_node, format!("std_dev must be positive, got {std_dev}")));
                }
                if k == "LogNormal" && mean <= 0.0 {
                    return Err(self.invalid(mean_node, format!("LogNormal mean must be positive, got {mean}")));
                }
                Ok(if k == "Normal" { AmountDistribution::Normal { mean, std_dev } } else { AmountDistribution::LogNormal { mean, std_dev } })
            }
            "Exponential" => {
                let f = self.fields(n, &["type", "lambda"], &[])?;
                let ln = self.req(&f, "lambda")?;
                let lambda = ln.f64(self.file)?;
                if lambda <= 0.0 {
                    return Err(self.invalid(ln, format!("lambda must be positive, got {lambda}")));
                }
                Ok(AmountDistribution::Exponential { lambda })
            }
            other => {
                Err(self
                    .err(t, Problem::UnknownKind { what: "amount distribution", name: other.to_owned(), expected: "Uniform, Normal, LogNormal, Exponential" }))
            }
        }
    }

    fn priority_distribution(&mut self, n: Node<'_>) -> Result<PriorityDistribution, ScenarioError> {
        let entries = n.entries(self.file)?;
        let Some((_, t)) = entries.iter().find(|(k, _)| k == "type") else { return Err(self.err(n, Problem::Missing("type"))) };
        let t = t.node();
        match t.str(self.file)? {
            "Fixed" => {
                let f = self.fields(n, &["type", "value"], &[])?;
                Ok(PriorityDistribution::Fixed(self.priority(self.req(&f, "value")?)?))
            }
            "Uniform" => {
                let f = self.fields(n, &["type", "min", "max"], &[])?;
                let min = self.priority(self.req(&f, "min")?)?;
                let max_node = self.req(&f, "max")?;
                let max = self.priority(max_node)?;
                if max < min {
                    return Err(self.invalid(max_node, format!("max ({max}) must not be less than min ({min})")));
                }
                Ok(PriorityDistribution::Uniform { min, max })
            }
            "Categorical" => {
                let f = self.fields(n, &["type", "values", "weights"], &[])?;
                let vn = self.req(&f, "values")?;
                let values = vn.items(self.file)?.iter().map(|c| self.priority(c.node())).collect::<Result<Vec<_>, _>>()?;
                let wn = self.req(&f, "weights")?;
                let weights = wn.items(self.file)?.iter().map(|c| c.node().f64(self.file)).collect::<Result<Vec<_>, _>>()?;
                if values.is_empty() {
                    return Err(self.invalid(vn, "at least one value is required"));
                }
                if values.len() != weights.len() {
                    return Err(self.invalid(wn, format!("{} weights for {} values", weights.len(), values.len())));
                }
                if weights.iter().any(|w| *w < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
                    return Err(self.invalid(wn, "weights must be non-negative with a positive sum"));
                }
                Ok(PriorityDistribution::Categorical { values, weights })
            }
            other => Err(self.err(t, Problem::UnknownKind { what: "priority distribution", name: other.to_owned(), expected: "Fixed, Uniform, Categorical" })),
        }
    }

    fn penalty(&mut self, n: Node<'_>) -> Result<Penalty, ScenarioError> {
        if let Ok(v) = n.i64(self.file) {
            if v < 0 {
                return Err(self.invalid(n, format!("penalty must not be negative, got {v}")));
            }
            return Ok(Penalty::Fixed(v));
        }
        let entries = n.entries(self.file)?;
        let Some((_, m)) = entries.iter().find(|(k, _)| k == "mode") else { return Err(self.err(n, Problem::Missing("mode"))) };
        let m = m.node();
        match m.str(self.file)? {
            "fixed" => {
                let f = self.fields(n, &["mode", "amount"], &[])?;
                Ok(Penalty::Fixed(self.non_negative_i64(self.req(&f, "amount")?)?))
            }
            "rate" => {
                let f = self.fields(n, &["mode", "bps_per_event"], &[])?;
                let b = self.req(&f, "bps_per_event")?;
                let bps_per_event = b.f64(self.file)?;
                if bps_per_event < 0.0 {
                    return Err(self.invalid(b, format!("must not be negative, got {bps_per_event}")));
                }
                Ok(Penalty::Rate { bps_per_event })
            }
            other => Err(self.err(m, Problem::UnknownKind { what: "penalty mode", name: other.to_owned(), expected: "fixed, rate" })),
        }
    }

    fn cost_rates(&mut self, n: Node<'_>) -> Result<CostRates, ScenarioError> {
        let f = self.fields(
            n,
            &[
                "overdraft_bps_per_tick",
                "delay_cost_per_tick_per_cent",
                "collateral_cost_per_tick_bps",
                "liquidity_cost_per_tick_bps",
                "eod_penalty",
                "eod_penalty_per_transaction",
                "deadline_penalty",
                "split_friction_cost",
                "overdue_delay_multiplier",
                "priority_delay_multipliers",
            ],
            &[],
        )?;
        let mut c = CostRates::default();
        let rate = |key: &str, slot: &mut f64| -> Result<(), ScenarioError> {
            if let Some(v) = f.get(key) {
                let x = v.f64(self.file)?;
                if x < 0.0 {
                    return Err(self.invalid(v, format!("must not be negative, got {x}")));
                }
                *slot = x;
            }
            Ok(())
        };
        rate("overdraft_bps_per_tick", &mut c.overdraft_bps_per_tick)?;
        rate("delay_cost_per_tick_per_cent", &mut c.delay_cost_per_tick_per_cent)?;
        rate("collateral_cost_per_tick_bps", &mut c.collateral_cost_per_tick_bps)?;
        rate("liquidity_cost_per_tick_bps", &mut c.liquidity_cost_per_tick_bps)?;
        rate("overdue_delay_multiplier", &mut c.overdue_delay_multiplier)?;
        if let (Some(_), Some(b)) = (f.get("eod_penalty"), f.get("eod_penalty_per_transaction")) {
            return Err(self.invalid(b, "give either `eod_penalty` or its alias `eod_penalty_per_transaction`, not both"));
        }
        if let Some(p) = f.get("eod_penalty").or(f.get("eod_penalty_per_transaction")) {
            c.eod_penalty = self.penalty(p)?;
        }
        if let Some(p) = f.get("deadline_penalty") {
            c.deadline_penalty = self.penalty(p)?;
        }
        if let Some(s) = f.get("split_friction_cost") {
            c.split_friction_cost = self.non_negative_i64(s)?;
        }
        if let Some(p) = f.get("priority_delay_multipliers") {
            let pf = self.fields(p, &["urgent_multiplier", "normal_multiplier", "low_multiplier"], &[])?;
            let m = |key| pf.get(key).map(|v| v.f64(self.file)).transpose().map(|v| v.unwrap_or(1.0));
            c.priority_delay_multipliers =
                Some(PriorityDelayMultipliers { urgent: m("urgent_multiplier")?, normal: m("normal_multiplier")?, low: m("low_multiplier")? });
        }
        Ok(c)
    }

    fn lsm(&mut self, n: Node<'_>) -> Result<LsmConfig, ScenarioError> {
        let f = self.fields(n, &["enable_bilateral", "enable_cycles", "max_cycle_length", "max_cycles_per_tick"], &[])?;
        let mut c = LsmConfig::default();
        if let Some(v) = f.get("enable_bilateral") {
            c.enable_bilateral = v.bool(self.file)?;
        }
        if let Some(v) = f.get("enable_cycles") {
            c.enable_cycles = v.bool(self.file)?;
        }
        if let Some(v) = f.get("max_cycle_length") {
            let x = v.i64(self.file)?;
            if !(3..=10).contains(&x) {
                return Err(self.invalid(v, format!("must be between 3 and 10, got {x}")));
            }
            c.max_cycle_length = x as u32;
        }
        if let Some(v) = f.get("max_cycles_per_tick") {
            let x = v.i64(self.file)?;
            if !(1..=100).contains(&x) {
                return Err(self.invalid(v, format!("must be between 1 and 100, got {x}")));
            }
            c.max_cycles_per_tick = x as u32;
        }
        Ok(c)
    }

    fn schedule(&mut self, n: Node<'_>, total_ticks: u32) -> Result<Schedule, ScenarioError> {
        let entries = n.entries(self.file)?;
        let Some((_, t)) = entries.iter().find(|(k, _)| k == "type") else { return Err(self.err(n, Problem::Missing("type"))) };
        let t = t.node();
        let tick = |l: &Self, v: Node<'_>| -> Result<u32, ScenarioError> {
            let x = v.i64(l.file)?;
            if x < 0 || x >= total_ticks as i64 {
                return Err(l.invalid(v, format!("tick {x} is outside the simulation (0..{total_ticks})")));
            }
            Ok(x as u32)
        };
        match t.str(self.file)? {
            "OneTime" => {
                let f = self.fields(n, &["type", "tick"], &[])?;
                Ok(Schedule::OneTime { tick: tick(self, self.req(&f, "tick")?)? })
            }
            "Repeating" => {
                let f = self.fields(n, &["type", "start_tick", "interval"], &[])?;
                let start_tick = tick(self, self.req(&f, "start_tick")?)?;
                let interval = self.positive_u32(self.req(&f, "interval")?)?;
                Ok(Schedule::Repeating { start_tick, interval })
            }
            other => Err(self.err(t, Problem::UnknownKind { what: "schedule type", name: other.to_owned(), expected: "OneTime, Repeating" })),
        }
    }

    fn scenario_event(&mut self, n: Node<'_>, ids: &[String], total_ticks: u32) -> Result<ScheduledEvent, ScenarioError> {
        let entries = n.entries(self.file)?;
        let Some((_, t)) = entries.iter().find(|(k, _)| k == "type") else { return Err(self.err(n, Problem::Missing("type"))) };
        let t = t.node();
        let kind = t.str(self.file)?;
        let known: &[&str] = match kind {
            "DirectTransfer" | "ScheduledSettlement" => &["type", "schedule", "from_agent", "to_agent", "amount"],
            "CustomTransactionArrival" => &["type", "schedule", "from_agent", "to_agent", "amount", "priority", "deadline", "is_divisible"],
            "CollateralAdjustment" => &["type", "schedule", "agent", "delta"],
            "GlobalArrivalRateChange" => &["type", "schedule", "multiplier"],
            "AgentArrivalRateChange" => &["type", "schedule", "agent", "multiplier"],
            "CounterpartyWeightChange" => &["type", "schedule", "agent", "counterparty", "new_weight", "auto_balance_others"],
            "DeadlineWindowChange" => &["type", "schedule", "min_ticks_multiplier", "max_ticks_multiplier"],
            other => {
                return Err(self.err(
                    t,
                    Problem::UnknownKind {
                        what: "scenario event type",
                        name: other.to_owned(),
                        expected: "DirectTransfer, CustomTransactionArrival, CollateralAdjustment, GlobalArrivalRateChange, \
                                   AgentArrivalRateChange, CounterpartyWeightChange, DeadlineWindowChange, ScheduledSettlement",
                    },
                ));
            }
        };
        let f = self.fields(n, known, &[])?;
        let schedule = self.schedule(self.req(&f, "schedule")?, total_ticks)?;
        let agent = |l: &Self, key: &'static str| -> Result<String, ScenarioError> { l.agent_ref(l.req(&f, key)?, ids) };
        let multiplier = |l: &Self, v: Node<'_>| -> Result<f64, ScenarioError> {
            let x = v.f64(l.file)?;
            if x <= 0.0 {
                return Err(l.invalid(v, format!("multiplier must be positive, got {x}")));
            }
            Ok(x)
        };
        let pair = |l: &Self| -> Result<(String, String), ScenarioError> {
            let (from, to) = (agent(l, "from_agent")?, agent(l, "to_agent")?);
            if from == to {
                return Err(l.invalid(l.req(&f, "to_agent")?, format!("from_agent and to_agent are both `{from}`")));
            }
            Ok((from, to))
        };
        let event = match kind {
            "DirectTransfer" | "ScheduledSettlement" => {
                let (from_agent, to_agent) = pair(self)?;
                let amount = self.positive_i64(self.req(&f, "amount")?)?;
                if kind == "DirectTransfer" {
                    ScenarioEvent::DirectTransfer { from_agent, to_agent, amount }
                } else {
                    ScenarioEvent::ScheduledSettlement { from_agent, to_agent, amount }
                }
            }
            "CustomTransactionArrival" => {
                let (from_agent, to_agent) = pair(self)?;
                let amount = self.positive_i64(self.req(&f, "amount")?)?;
                let priority = f.get("priority").map(|p| self.priority(p)).transpose()?.unwrap_or(5);
                let deadline = f.get("deadline").map(|d| self.positive_u32(d)).transpose()?;
                let is_divisible = f.get("is_divisible").map(|d| d.bool(self.file)).transpose()?.unwrap_or(false);
                ScenarioEvent::CustomTransactionArrival { from_agent, to_agent, amount, priority, deadline, is_divisible }
            }
            "CollateralAdjustment" => ScenarioEvent::CollateralAdjustment { agent: agent(self, "agent")?, delta: self.req(&f, "delta")?.i64(self.file)? },
            "GlobalArrivalRateChange" => ScenarioEvent::GlobalArrivalRateChange { multiplier: multiplier(self, self.req(&f, "multiplier")?)? },
            "AgentArrivalRateChange" => {
                ScenarioEvent::AgentArrivalRateChange { agent: agent(self, "agent")?, multiplier: multiplier(self, self.req(&f, "multiplier")?)? }
            }
            "CounterpartyWeightChange" => {
                let w = self.req(&f, "new_weight")?;
                ScenarioEvent::CounterpartyWeightChange {
                    agent: agent(self, "agent")?,
                    counterparty: agent(self, "counterparty")?,
                    new_weight: self.fraction(w)?,
                }
            }
            "DeadlineWindowChange" => {
                let min_ticks_multiplier = f.get("min_ticks_multiplier").map(|v| multiplier(self, v)).transpose()?;
                let max_ticks_multiplier = f.get("max_ticks_multiplier").map(|v| multiplier(self, v)).transpose()?;
                if min_ticks_multiplier.is_none() && max_ticks_multiplier.is_none() {
                    return Err(self.invalid(n, "give min_ticks_multiplier or max_ticks_multiplier"));
                }
                ScenarioEvent::DeadlineWindowChange { min_ticks_multiplier, max_ticks_multiplier }
            }
            _ => unreachable!("kinds are matched above"),
        };
        Ok(ScheduledEvent { event, schedule })
    }
}
