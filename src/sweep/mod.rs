//! Parameter sweeps: a grid of scenario parameters × policy files × seeds, each point one
//! simulation stored through the experiment runner's path ([`crate::experiment::evaluate`])
//! under `experiment_id=sweep-<name>-<hash>/iteration=0`, and recorded in the `sweep_points`
//! table once its simulation is committed. See `docs/sweeps.md`.

pub mod path;
#[cfg(feature = "dataset")]
pub mod run;

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::engine::config::SimConfig;
use crate::scenario::yaml::{self, Node, invalid};
use crate::scenario::{Problem, ScenarioError, Warning};
use path::ParamPath;

/// One swept parameter: a path and its values.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// The key as written in the sweep file (the name recorded in `sweep_points`).
    pub key: String,
    /// The resolved path into `SimConfig`.
    pub path: ParamPath,
    /// The values, in file order.
    pub values: Vec<Value>,
    /// Line of each value.
    lines: Vec<usize>,
    /// Line of the key.
    line: usize,
}

/// Policy files given in turn to one agent.
#[derive(Debug, Clone)]
pub struct PolicyAxis {
    /// The agent.
    pub agent: String,
    /// (file as written, document) per file.
    pub files: Vec<(String, Value)>,
}

/// A validated sweep file.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// The sweep file.
    pub file: PathBuf,
    /// The scenario, resolved against the sweep file's directory.
    pub scenario_path: PathBuf,
    /// The loaded scenario.
    pub base: SimConfig,
    /// `seeds`, in order.
    pub seeds: Vec<u64>,
    /// `parameters`, in file order.
    pub parameters: Vec<Parameter>,
    /// `policies`, in file order.
    pub policies: Vec<PolicyAxis>,
    /// Scenario keys that have no effect.
    pub warnings: Vec<Warning>,
}

/// One point of the grid: one simulation.
#[derive(Debug, Clone)]
pub struct Point {
    /// Position in the grid: `configuration × seeds + seed_index`.
    pub index: u32,
    /// Which parameter-and-policy combination.
    pub configuration: u32,
    /// Which seed of `seeds`.
    pub seed_index: u32,
    /// The seed.
    pub seed: u64,
    /// `sim-p<configuration>-s<seed_index>`.
    pub simulation_id: String,
    /// (key as written, value) per parameter.
    pub assignments: Vec<(String, Value)>,
    /// (agent, policy file as written) per policy axis.
    pub policies: Vec<(String, String)>,
    /// The complete configuration.
    pub config: SimConfig,
}

const KEYS: &str = "name, description, scenario, seeds, parameters, policies";

/// Reads and validates a sweep file, the scenario it names and its policy files.
pub fn load_file(path: &Path) -> Result<SweepConfig, ScenarioError> {
    let (file, text) = crate::scenario::read_file(path)?;
    let f = file.as_str();
    let doc = yaml::parse(f, &text)?;
    let root = Node::root(&doc);
    let entries = root.entries(f)?;
    for (k, c) in &entries {
        if !KEYS.split(", ").any(|x| x == k) {
            return Err(c.node().error(f, Problem::UnknownKind { what: "sweep key", name: k.clone(), expected: KEYS }));
        }
    }
    let get = |k: &str| entries.iter().find(|(key, _)| key == k).map(|(_, c)| c.node()).filter(|n| !n.is_null());
    let req = |k: &'static str| get(k).ok_or_else(|| root.error(f, Problem::Missing(k)));
    let name = req("name")?.str(f)?.to_owned();
    if name.trim().is_empty() {
        return Err(invalid(f, req("name")?, "must not be empty"));
    }
    let description = get("description").map(|n| n.str(f).map(str::to_owned)).transpose()?.unwrap_or_default();
    let scen = req("scenario")?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let scenario_path = dir.join(scen.str(f)?);
    if !scenario_path.is_file() {
        return Err(invalid(f, scen, format!("no such scenario file: {}", scenario_path.display())));
    }
    let scenario = crate::scenario::load_file(&scenario_path)?;
    let base = scenario.config;

    let seeds = match get("seeds") {
        None => vec![base.rng_seed],
        Some(n) => seeds(f, n)?,
    };

    let base_json = serde_json::to_value(&base).expect("configs serialize");
    let mut parameters: Vec<Parameter> = Vec::new();
    if let Some(pn) = get("parameters") {
        for (key, c) in pn.entries(f)? {
            let n = c.node();
            let path = path::parse(&key).map_err(|e| invalid(f, n, format!("bad parameter path: {e}")))?;
            if let Some(other) = parameters.iter().find(|p| p.path == path) {
                return Err(invalid(f, n, format!("`{path}` is already swept as `{}` (line {})", other.key, other.line)));
            }
            // The path must exist in the scenario.
            path::locate(&mut base_json.clone(), &path).map_err(|e| invalid(f, n, e.to_string()))?;
            let items = n.items(f)?;
            if items.is_empty() {
                return Err(invalid(f, n, "give at least one value"));
            }
            let mut values = Vec::new();
            let mut lines = Vec::new();
            for item in &items {
                let vn = item.node();
                let v = vn.to_json(f)?;
                // Each value alone must make a valid scenario (type and range).
                assign(&base_json, &[(&path, &v)]).map_err(|e| invalid(f, vn, format!("value {v} for `{path}`: {e}")))?;
                values.push(v);
                lines.push(vn.line());
            }
            parameters.push(Parameter { key, path, values, lines, line: n.line() });
        }
    }

    let mut policies: Vec<PolicyAxis> = Vec::new();
    if let Some(pn) = get("policies") {
        for item in pn.items(f)? {
            let n = item.node();
            let e = n.entries(f)?;
            for (k, c) in &e {
                if k != "agent" && k != "files" {
                    return Err(c.node().error(f, Problem::UnknownKind { what: "policies key", name: k.clone(), expected: "agent, files" }));
                }
            }
            let field = |k: &'static str| e.iter().find(|(key, _)| key == k).map(|(_, c)| c.clone()).ok_or_else(|| n.error(f, Problem::Missing(k)));
            let agent_c = field("agent")?;
            let agent = agent_c.node().str(f)?.to_owned();
            if !base.agents.iter().any(|a| a.id == agent) {
                let known: Vec<&str> = base.agents.iter().map(|a| a.id.as_str()).collect();
                return Err(agent_c.node().error(f, Problem::UnknownAgent { name: agent, known: known.join(", ") }));
            }
            if policies.iter().any(|p| p.agent == agent) {
                return Err(invalid(f, agent_c.node(), format!("agent `{agent}` already has a policies entry")));
            }
            let files_c = field("files")?;
            let mut files = Vec::new();
            for fc in files_c.node().items(f)? {
                let fnode = fc.node();
                let rel = fnode.str(f)?.to_owned();
                let full = dir.join(&rel);
                let text = std::fs::read_to_string(&full).map_err(|e| invalid(f, fnode, format!("cannot read {}: {e}", full.display())))?;
                let doc: Value = serde_json::from_str(&text).map_err(|e| invalid(f, fnode, format!("{} is not valid JSON: {e}", full.display())))?;
                crate::engine::policy::tree::TreePolicy::parse(&doc, &Default::default()).map_err(|e| invalid(f, fnode, format!("{}: {e}", full.display())))?;
                files.push((rel, doc));
            }
            if files.is_empty() {
                return Err(invalid(f, files_c.node(), "give at least one policy file"));
            }
            policies.push(PolicyAxis { agent, files });
        }
    }

    let cfg = SweepConfig { name, description, file: path.to_owned(), scenario_path, base, seeds, parameters, policies, warnings: scenario.warnings };
    let total = cfg.configurations() as u64 * cfg.seeds.len() as u64;
    if total > u32::MAX as u64 / 2 {
        return Err(invalid(f, root, format!("the grid has {total} points; that is too many")));
    }
    Ok(cfg)
}

fn seeds(f: &str, n: Node<'_>) -> Result<Vec<u64>, ScenarioError> {
    let nonneg = |n: Node<'_>| -> Result<u64, ScenarioError> {
        let v = n.i64(f)?;
        if v < 0 {
            return Err(invalid(f, n, format!("seeds must not be negative, got {v}")));
        }
        Ok(v as u64)
    };
    let out = if let Ok(items) = n.items(f) {
        let mut out: Vec<u64> = Vec::new();
        for i in &items {
            let s = nonneg(i.node())?;
            if out.contains(&s) {
                return Err(invalid(f, i.node(), format!("seed {s} is listed twice")));
            }
            out.push(s);
        }
        out
    } else {
        let e = n.entries(f).map_err(|_| invalid(f, n, "expected a list of seeds or {from: N, count: N}"))?;
        let (mut from, mut count) = (None, None);
        for (k, c) in &e {
            match k.as_str() {
                "from" => from = Some(nonneg(c.node())?),
                "count" => count = Some(nonneg(c.node())?),
                _ => return Err(c.node().error(f, Problem::UnknownKind { what: "seeds key", name: k.clone(), expected: "from, count" })),
            }
        }
        let (Some(from), Some(count)) = (from, count) else {
            return Err(invalid(f, n, "`seeds` as a mapping needs both `from` and `count`"));
        };
        if count > 1_000_000 || from.checked_add(count).is_none() {
            return Err(invalid(f, n, format!("count must be at most 1000000, got {count}")));
        }
        (from..from + count).collect()
    };
    if out.is_empty() {
        return Err(invalid(f, n, "give at least one seed"));
    }
    Ok(out)
}

/// Why swept values cannot make a configuration.
#[derive(Debug, thiserror::Error)]
enum AssignError {
    /// A path names nothing.
    #[error(transparent)]
    Path(#[from] path::PathError),
    /// A value of the wrong type for its place.
    #[error("does not fit the scenario: {0}")]
    Type(#[source] serde_json::Error),
    /// Values out of the range the scenario loader allows, one message each.
    #[error("{}", .0.join("; "))]
    Range(Vec<String>),
}

/// A config with `values` set at `paths`, checked for type and range.
fn assign(base: &Value, assignments: &[(&ParamPath, &Value)]) -> Result<SimConfig, AssignError> {
    let mut v = base.clone();
    for (p, x) in assignments {
        path::set(&mut v, p, x)?;
    }
    let cfg: SimConfig = serde_json::from_value(v).map_err(AssignError::Type)?;
    let bad = path::check_ranges(&cfg);
    if !bad.is_empty() {
        return Err(AssignError::Range(bad));
    }
    Ok(cfg)
}

impl SweepConfig {
    /// Parameter-and-policy combinations (the grid without seeds).
    pub fn configurations(&self) -> u32 {
        let p: u64 = self.parameters.iter().map(|p| p.values.len() as u64).product();
        let q: u64 = self.policies.iter().map(|p| p.files.len() as u64).product();
        (p * q).min(u32::MAX as u64) as u32
    }

    /// Total points.
    pub fn len(&self) -> u32 {
        self.configurations() * self.seeds.len() as u32
    }

    /// Whether the grid is empty (never, for a loaded file).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The experiment id: `sweep-<name>-<hash>`, the hash over the scenario, seeds,
    /// parameters and policy documents, so a changed sweep starts a new experiment and the
    /// same sweep (from any directory, any machine) fills the same one.
    pub fn experiment_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"simcash-sweep-v1\n");
        h.update(serde_json::to_string(&self.base).expect("configs serialize"));
        h.update(serde_json::to_string(&self.seeds).expect("seeds serialize"));
        for p in &self.parameters {
            h.update(format!("\n{}={}", p.path, Value::Array(p.values.clone())));
        }
        for a in &self.policies {
            h.update(format!("\npolicy {}", a.agent));
            for (file, doc) in &a.files {
                h.update(format!("\n{file}={doc}"));
            }
        }
        let hex: String = h.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect();
        let name: String = self.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(60).collect();
        format!("sweep-{name}-{hex}")
    }

    /// The scenario name recorded with each simulation (the file stem).
    pub fn scenario_name(&self) -> String {
        self.scenario_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Every point of the grid, in index order; each configuration is checked (types, ranges,
    /// and that the engine accepts it) before anything runs. Order: parameters in file order,
    /// then policy axes, the first varying slowest; seeds innermost.
    pub fn points(&self) -> Result<Vec<Point>, ScenarioError> {
        let f = self.file.display().to_string();
        let base = serde_json::to_value(&self.base).expect("configs serialize");
        let radices: Vec<usize> = self.parameters.iter().map(|p| p.values.len()).chain(self.policies.iter().map(|a| a.files.len())).collect();
        let n_conf = self.configurations() as usize;
        let mut out = Vec::with_capacity(n_conf * self.seeds.len());
        let np = self.parameters.len();
        for c in 0..n_conf {
            // Mixed-radix digits of c, the first axis most significant.
            let mut digits = vec![0usize; radices.len()];
            let mut rest = c;
            for (d, r) in digits.iter_mut().zip(&radices).rev() {
                *d = rest % r;
                rest /= r;
            }
            let mut config = self.base.clone();
            let mut policies = Vec::new();
            for (axis, &d) in self.policies.iter().zip(&digits[np..]) {
                let (file, doc) = &axis.files[d];
                crate::experiment::policy::apply(&mut config, &axis.agent, doc);
                policies.push((axis.agent.clone(), file.clone()));
            }
            let with_policies = serde_json::to_value(&config).expect("configs serialize");
            let pairs: Vec<(&ParamPath, &Value)> = self.parameters.iter().zip(&digits[..np]).map(|(p, &d)| (&p.path, &p.values[d])).collect();
            let assignments: Vec<(String, Value)> = self.parameters.iter().zip(&digits[..np]).map(|(p, &d)| (p.key.clone(), p.values[d].clone())).collect();
            let shown =
                || assignments.iter().map(|(k, v)| format!("{k}={v}")).chain(policies.iter().map(|(a, p)| format!("{a}←{p}"))).collect::<Vec<_>>().join(", ");
            let line = self.parameters.first().map_or(1, |p| p.line);
            let fail = |msg: String| ScenarioError { file: f.clone(), line, key: "parameters".into(), problem: Problem::Invalid(msg) };
            let config = assign(if self.policies.is_empty() { &base } else { &with_policies }, &pairs)
                .map_err(|e| fail(format!("point {} ({}): {e}", c * self.seeds.len(), shown())))?;
            for (s, &seed) in self.seeds.iter().enumerate() {
                let mut cfg = config.clone();
                cfg.rng_seed = seed;
                if s == 0 {
                    crate::engine::Engine::new(cfg.clone()).map_err(|e| fail(format!("configuration {c} ({}): the engine refuses it: {e}", shown())))?;
                }
                out.push(Point {
                    index: (c * self.seeds.len() + s) as u32,
                    configuration: c as u32,
                    seed_index: s as u32,
                    seed,
                    simulation_id: format!("sim-p{c:04}-s{s:04}"),
                    assignments: assignments.clone(),
                    policies: policies.clone(),
                    config: cfg,
                });
            }
        }
        Ok(out)
    }

    /// The line of a parameter's value (for messages).
    pub fn value_line(&self, parameter: usize, value: usize) -> Option<usize> {
        self.parameters.get(parameter)?.lines.get(value).copied()
    }
}

/// `--shard K/N`: the points with `index % N == K − 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub k: u32,
    /// Number of shards.
    pub n: u32,
}

impl Shard {
    /// Every point.
    pub const ALL: Shard = Shard { k: 1, n: 1 };

    /// Whether the point belongs to this shard.
    pub fn contains(&self, index: u32) -> bool {
        index % self.n == self.k - 1
    }
}

/// Where batch schedulers put an array task's index (0-based once `min` is subtracted) and
/// the array's size: (scheduler, index variable, count variable, first-index variable).
const SCHEDULERS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    ("Slurm", "SLURM_ARRAY_TASK_ID", Some("SLURM_ARRAY_TASK_COUNT"), Some("SLURM_ARRAY_TASK_MIN")),
    ("Kubernetes indexed Job", "JOB_COMPLETION_INDEX", None, None),
    ("AWS Batch", "AWS_BATCH_JOB_ARRAY_INDEX", None, None),
    ("Cloud Run job", "CLOUD_RUN_TASK_INDEX", Some("CLOUD_RUN_TASK_COUNT"), None),
    ("Google Cloud Batch", "BATCH_TASK_INDEX", Some("BATCH_TASK_COUNT"), None),
];

/// Why a shard (`K/N`, `auto`, `auto/N`) cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not `K/N` with 1 ≤ K ≤ N, `auto` or `auto/N`.
    #[error("`{0}`: expected K/N with 1 ≤ K ≤ N (e.g. 1/4), or auto (from the batch scheduler)")]
    Syntax(String),
    /// `auto…` but not `auto` or `auto/N`.
    #[error("`{0}`: expected auto or auto/N")]
    AutoSyntax(String),
    /// `0/N`.
    #[error("`{given}`: shards are numbered from 1: use 1/{n} … {n}/{n}")]
    FromZero {
        /// As given.
        given: String,
        /// The count.
        n: u32,
    },
    /// A scheduler variable that is not a non-negative integer.
    #[error("{var}={value:?} is not a non-negative integer")]
    NotANumber {
        /// The variable.
        var: String,
        /// Its value.
        value: String,
    },
    /// The scheduler gives the index but not the count: `auto/N` must give it.
    #[error("{scheduler} sets {index_var} but not the number of tasks: use auto/N")]
    NoCount {
        /// The scheduler.
        scheduler: &'static str,
        /// Its index variable.
        index_var: &'static str,
    },
    /// The index is below the array's first index.
    #[error("{scheduler}: {index_var}={index} is below {min_var}={min}")]
    BelowFirst {
        /// The scheduler.
        scheduler: &'static str,
        /// Its index variable.
        index_var: &'static str,
        /// The index.
        index: u32,
        /// Its first-index variable.
        min_var: &'static str,
        /// The first index.
        min: u32,
    },
    /// More tasks than shards.
    #[error("{scheduler}: task {k} of {n} (from {index_var}) is not a shard; the array has more tasks than N")]
    TooManyTasks {
        /// The scheduler.
        scheduler: &'static str,
        /// Its index variable.
        index_var: &'static str,
        /// The 1-based task.
        k: u32,
        /// The count.
        n: u32,
    },
    /// `auto` with no scheduler's variables set.
    #[error("`auto` found no batch scheduler's task index ({0})")]
    NoScheduler(String),
}

impl Shard {
    /// `auto` or `auto/N`: this task's shard from the batch scheduler's variables (`var` looks
    /// one up), with the count from the scheduler when `count` is `None`.
    pub fn from_scheduler(var: impl Fn(&str) -> Option<String>, count: Option<u32>) -> Result<Shard, ShardError> {
        let num = |name: &str| -> Result<Option<u32>, ShardError> {
            var(name).map(|v| v.trim().parse::<u32>().map_err(|_| ShardError::NotANumber { var: name.to_owned(), value: v.clone() })).transpose()
        };
        for &(scheduler, index_var, count_var, min_var) in SCHEDULERS {
            let Some(index) = num(index_var)? else { continue };
            let min = match min_var {
                Some(m) => num(m)?.unwrap_or(0),
                None => 0,
            };
            let n = match (count, count_var) {
                (Some(n), _) => n,
                (None, Some(c)) => num(c)?.ok_or(ShardError::NoCount { scheduler, index_var })?,
                (None, None) => return Err(ShardError::NoCount { scheduler, index_var }),
            };
            let below = ShardError::BelowFirst { scheduler, index_var, index, min_var: min_var.unwrap_or(""), min };
            let k = index.checked_sub(min).ok_or(below)? + 1;
            if n == 0 || k > n {
                return Err(ShardError::TooManyTasks { scheduler, index_var, k, n });
            }
            return Ok(Shard { k, n });
        }
        Err(ShardError::NoScheduler(SCHEDULERS.iter().map(|s| s.1).collect::<Vec<_>>().join(", ")))
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        if let Some(rest) = s.strip_prefix("auto") {
            let count = match rest.strip_prefix('/') {
                Some(n) => Some(n.trim().parse::<u32>().map_err(|_| ShardError::AutoSyntax(s.to_owned()))?),
                None if rest.is_empty() => None,
                None => return Err(ShardError::AutoSyntax(s.to_owned())),
            };
            return Shard::from_scheduler(|v| std::env::var(v).ok(), count);
        }
        let bad = || ShardError::Syntax(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if n > 0 && k == 0 {
            return Err(ShardError::FromZero { given: s.to_owned(), n });
        }
        if n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn batch_schedulers_name_the_shard() {
        // Slurm arrays may start anywhere (--array=1-8): the first id is shard 1.
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "8"), ("SLURM_ARRAY_TASK_MIN", "1")]);
        assert_eq!(Shard::from_scheduler(slurm, None), Ok(Shard { k: 3, n: 8 }));
        let slurm0 = env(&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "0")]);
        assert_eq!(Shard::from_scheduler(slurm0, None), Ok(Shard { k: 1, n: 4 }));
        // Kubernetes and AWS Batch give only the index (0-based): the count comes from auto/N.
        let k8s = env(&[("JOB_COMPLETION_INDEX", "9")]);
        assert_eq!(Shard::from_scheduler(&k8s, Some(10)), Ok(Shard { k: 10, n: 10 }));
        assert_eq!(Shard::from_scheduler(&k8s, None), Err(ShardError::NoCount { scheduler: "Kubernetes indexed Job", index_var: "JOB_COMPLETION_INDEX" }));
        assert!(matches!(Shard::from_scheduler(&k8s, Some(9)), Err(ShardError::TooManyTasks { k: 10, n: 9, .. })));
        assert_eq!(Shard::from_scheduler(env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "0")]), Some(2)), Ok(Shard { k: 1, n: 2 }));
        let run = env(&[("CLOUD_RUN_TASK_INDEX", "1"), ("CLOUD_RUN_TASK_COUNT", "2")]);
        assert_eq!(Shard::from_scheduler(run, None), Ok(Shard { k: 2, n: 2 }));
        assert_eq!(Shard::from_scheduler(env(&[("BATCH_TASK_INDEX", "4"), ("BATCH_TASK_COUNT", "5")]), None), Ok(Shard { k: 5, n: 5 }));
        // Nothing set, or garbage: clear errors.
        assert!(matches!(Shard::from_scheduler(env(&[]), None), Err(ShardError::NoScheduler(_))));
        assert!(
            matches!(Shard::from_scheduler(env(&[("JOB_COMPLETION_INDEX", "x")]), Some(2)), Err(ShardError::NotANumber { var, .. }) if var == "JOB_COMPLETION_INDEX")
        );
    }

    #[test]
    fn shards_partition_the_indices() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { k: 2, n: 3 }));
        for bad in ["0/3", "4/3", "1/0", "x", "1/", "/2", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!("0/2".parse::<Shard>().unwrap_err().to_string().contains("numbered from 1: use 1/2 … 2/2"));
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { k, n: 3 }).collect();
        assert!("auto/x".parse::<Shard>().is_err() && "autox".parse::<Shard>().is_err());
        for i in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(i)).count(), 1);
        }
    }
}
