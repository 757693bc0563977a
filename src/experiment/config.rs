//! Experiment files, SimCash-compatible (PERSISTENCE-NOTES §3.1): which scenario, which
//! agents to optimise, how to evaluate, when to stop, and what a policy may contain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::engine::config::SimConfig;
use crate::scenario::yaml::{self, Node, invalid};
use crate::scenario::{Problem, ScenarioError, Warning};

/// How a set of policies is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Mode {
    /// One simulation with the iteration's seed.
    Deterministic,
    /// `num_samples` simulations with seeds derived from the iteration's seed.
    Bootstrap,
}

/// A parameter the optimiser may set, with its bounds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParameterBound {
    /// Parameter name in the policy's `parameters`.
    pub name: String,
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Whole numbers only (`param_type: int`).
    pub integer: bool,
}

/// What a proposed policy may contain (`policy_constraints`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Constraints {
    /// Parameters and their bounds.
    pub parameters: Vec<ParameterBound>,
    /// Context fields a tree may read (empty: any).
    pub fields: Vec<String>,
    /// Actions allowed per tree key (absent tree: any action).
    pub actions: BTreeMap<String, Vec<String>>,
}

/// A validated experiment file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExperimentConfig {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// The scenario file, resolved against the experiment file's directory.
    pub scenario_path: PathBuf,
    /// The loaded scenario.
    #[serde(skip)]
    pub scenario: SimConfig,
    /// `evaluation.mode`.
    pub mode: Mode,
    /// `evaluation.num_samples` (1 in deterministic mode).
    pub num_samples: u32,
    /// `convergence.max_iterations`.
    pub max_iterations: u32,
    /// `convergence.stability_threshold`: relative change counted as stable.
    pub stability_threshold: f64,
    /// `convergence.stability_window`: consecutive stable iterations that end the run.
    pub stability_window: u32,
    /// `policy_constraints`.
    pub constraints: Constraints,
    /// `optimized_agents`.
    pub optimized_agents: Vec<String>,
    /// `master_seed`.
    pub master_seed: u64,
    /// Keys accepted but not used (e.g. `llm`), one warning each.
    #[serde(skip)]
    pub warnings: Vec<Warning>,
}

const UNUSED: &str = "accepted for SimCash compatibility; simcash's proposers do not use it";

/// Reads and validates an experiment file and the scenario it names.
pub fn load_file(path: &Path) -> Result<ExperimentConfig, ScenarioError> {
    let (file, text) = crate::scenario::read_file(path)?;
    let doc = yaml::parse(&file, &text)?;
    let root = Node::root(&doc);
    let f = &file;
    let mut warnings = Vec::new();
    let mut get = BTreeMap::new();
    for (k, c) in root.entries(f)? {
        match k.as_str() {
            "name" | "description" | "scenario" | "evaluation" | "convergence" | "policy_constraints" | "optimized_agents" | "master_seed" => {
                get.insert(k, c);
            }
            _ => warnings.push(Warning { line: c.node().line(), key: k, reason: UNUSED }),
        }
    }
    let req = |k: &'static str| get.get(k).map(|c| c.node()).ok_or_else(|| root.error(f, Problem::Missing(k)));
    let name = req("name")?.str(f)?.to_owned();
    let description = get.get("description").map(|c| c.node().str(f).map(str::to_owned)).transpose()?.unwrap_or_default();
    let scen = req("scenario")?;
    let scenario_path = path.parent().unwrap_or(Path::new(".")).join(scen.str(f)?);
    let scenario = crate::scenario::load_file(&scenario_path)?;
    warnings.extend(scenario.warnings);
    let scenario = scenario.config;

    let ev = req("evaluation")?;
    let mut mode = Mode::Bootstrap;
    let mut num_samples = 10;
    for (k, c) in ev.entries(f)? {
        let n = c.node();
        match k.as_str() {
            "mode" => {
                mode = match n.str(f)? {
                    "bootstrap" => Mode::Bootstrap,
                    "deterministic" | "deterministic-pairwise" => Mode::Deterministic,
                    other => {
                        return Err(n.error(f, Problem::UnknownKind { what: "evaluation mode", name: other.into(), expected: "bootstrap, deterministic" }));
                    }
                }
            }
            "num_samples" => {
                let v = n.i64(f)?;
                if !(1..=100_000).contains(&v) {
                    return Err(invalid(f, n, format!("must be between 1 and 100000, got {v}")));
                }
                num_samples = v as u32;
            }
            "ticks" => {
                let v = n.i64(f)?;
                let total = scenario.total_ticks() as i64;
                if v != total {
                    return Err(invalid(f, n, format!("must equal the scenario's ticks_per_day × num_days ({total}), got {v}")));
                }
            }
            _ => warnings.push(Warning { line: n.line(), key: n.path().to_owned(), reason: UNUSED }),
        }
    }
    if mode == Mode::Deterministic {
        num_samples = 1;
    }

    let (mut max_iterations, mut stability_threshold, mut stability_window) = (50, 0.05, 5);
    if let Some(c) = get.get("convergence") {
        for (k, c) in c.node().entries(f)? {
            let n = c.node();
            match k.as_str() {
                "max_iterations" | "stability_window" => {
                    let v = n.i64(f)?;
                    if !(1..=100_000).contains(&v) {
                        return Err(invalid(f, n, format!("must be a positive integer, got {v}")));
                    }
                    if k == "max_iterations" { max_iterations = v as u32 } else { stability_window = v as u32 }
                }
                "stability_threshold" => {
                    stability_threshold = n.f64(f)?;
                    if stability_threshold < 0.0 {
                        return Err(invalid(f, n, "must not be negative"));
                    }
                }
                _ => warnings.push(Warning { line: n.line(), key: n.path().to_owned(), reason: UNUSED }),
            }
        }
    }

    let constraints = match get.get("policy_constraints") {
        Some(c) => constraints(f, c.node(), &mut warnings)?,
        None => Constraints::default(),
    };
    let agents_node = req("optimized_agents")?;
    let mut optimized_agents = Vec::new();
    for item in agents_node.items(f)? {
        let n = item.node();
        let id = n.str(f)?;
        if !scenario.agents.iter().any(|a| a.id == id) {
            let known: Vec<&str> = scenario.agents.iter().map(|a| a.id.as_str()).collect();
            return Err(n.error(f, Problem::UnknownAgent { name: id.into(), known: known.join(", ") }));
        }
        if optimized_agents.iter().any(|a| a == id) {
            return Err(invalid(f, n, format!("agent `{id}` is listed twice")));
        }
        optimized_agents.push(id.to_owned());
    }
    if optimized_agents.is_empty() {
        return Err(invalid(f, agents_node, "at least one agent must be optimised"));
    }
    let master_seed = match get.get("master_seed") {
        Some(c) => {
            let v = c.node().i64(f)?;
            if v < 0 {
                return Err(invalid(f, c.node(), format!("must not be negative, got {v}")));
            }
            v as u64
        }
        None => 42,
    };
    Ok(ExperimentConfig {
        name,
        description,
        scenario_path,
        scenario,
        mode,
        num_samples,
        max_iterations,
        stability_threshold,
        stability_window,
        constraints,
        optimized_agents,
        master_seed,
        warnings,
    })
}

fn constraints(f: &str, n: Node<'_>, warnings: &mut Vec<Warning>) -> Result<Constraints, ScenarioError> {
    let mut c = Constraints::default();
    for (k, child) in n.entries(f)? {
        let node = child.node();
        match k.as_str() {
            "allowed_parameters" => {
                for item in node.items(f)? {
                    let p = item.node();
                    let mut b = ParameterBound { name: String::new(), min: f64::NEG_INFINITY, max: f64::INFINITY, integer: false };
                    for (pk, pc) in p.entries(f)? {
                        let pn = pc.node();
                        match pk.as_str() {
                            "name" => b.name = pn.str(f)?.to_owned(),
                            "min_value" => b.min = pn.f64(f)?,
                            "max_value" => b.max = pn.f64(f)?,
                            "param_type" => b.integer = matches!(pn.str(f)?, "int" | "integer"),
                            _ => {}
                        }
                    }
                    if b.name.is_empty() {
                        return Err(p.error(f, Problem::Missing("name")));
                    }
                    if !(b.min.is_finite() && b.max.is_finite()) || b.min > b.max {
                        return Err(invalid(f, p, format!("parameter `{}` needs finite min_value ≤ max_value", b.name)));
                    }
                    c.parameters.push(b);
                }
            }
            "allowed_fields" => {
                for item in node.items(f)? {
                    c.fields.push(item.node().str(f)?.to_owned());
                }
            }
            "allowed_actions" => {
                for (tree, list) in node.entries(f)? {
                    let actions = list.node().items(f)?.iter().map(|i| i.node().str(f).map(str::to_owned)).collect::<Result<_, _>>()?;
                    c.actions.insert(tree, actions);
                }
            }
            _ => warnings.push(Warning { line: node.line(), key: node.path().to_owned(), reason: UNUSED }),
        }
    }
    Ok(c)
}
