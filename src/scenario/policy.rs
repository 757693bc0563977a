//! Agent `policy:` blocks: SimCash's policy types → a validated [`PolicyConfig`]
//! (ENGINE-SPEC §6.1). Tree documents are validated here, so a bad tree is reported with the
//! scenario line before anything runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::yaml::Node;
use super::{Loader, Problem, ScenarioError};
use crate::engine::config::PolicyConfig;
use crate::engine::policy::builtin;
use crate::engine::policy::tree::TreePolicy;

const TYPES: &str = "Fifo, Deadline, LiquidityAware, LiquiditySplitting, MockSplitting, FromJson, Inline, InlineJson";

/// Where a `FromJson` path is looked for: as given (relative to the working directory, as
/// SimCash does), then relative to the scenario's directory and each of its parents.
pub fn candidates(json_path: &str, scenario_file: &str) -> Vec<PathBuf> {
    let p = Path::new(json_path);
    let mut out = vec![p.to_path_buf()];
    if p.is_relative() {
        let dir = Path::new(scenario_file).parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = std::fs::canonicalize(if dir.as_os_str().is_empty() { Path::new(".") } else { &dir }).unwrap_or(dir);
        out.extend(dir.ancestors().map(|d| d.join(p)));
    }
    out
}

impl Loader<'_> {
    pub(super) fn policy(&mut self, n: Node<'_>) -> Result<PolicyConfig, ScenarioError> {
        let entries = n.entries(self.file)?;
        let Some((_, t)) = entries.iter().find(|(k, _)| k == "type") else { return Err(self.err(n, Problem::Missing("type"))) };
        let t = t.node();
        let kind = t.str(self.file)?;
        // Built-in parameters: (key, lower bound, upper bound, integer).
        let params: &[(&str, f64, f64)] = match kind {
            "Fifo" => {
                self.fields(n, &["type"], &[])?;
                return Ok(PolicyConfig::Fifo);
            }
            "Deadline" => &[("urgency_threshold", 1.0, f64::MAX)],
            "LiquidityAware" => &[("target_buffer", 0.0, f64::MAX), ("urgency_threshold", 1.0, f64::MAX)],
            "LiquiditySplitting" => &[("max_splits", 2.0, 10.0), ("min_split_amount", 1.0, f64::MAX)],
            "MockSplitting" => &[("num_splits", 2.0, 10.0)],
            "FromJson" => return self.json_file(n),
            "Inline" => {
                let f = self.fields(n, &["type", "decision_trees"], &[])?;
                let trees = self.req(&f, "decision_trees")?;
                let document = trees.to_json(self.file)?;
                return self.tree(trees, kind, "inline".into(), document, BTreeMap::new());
            }
            "InlineJson" => {
                let f = self.fields(n, &["type", "json_string"], &[])?;
                let text = self.req(&f, "json_string")?;
                let document = serde_json::from_str(text.str(self.file)?).map_err(|e| self.invalid(text, format!("`json_string` is not valid JSON: {e}")))?;
                return self.tree(text, kind, "inline".into(), document, BTreeMap::new());
            }
            other => {
                return Err(self.err(t, Problem::UnknownKind { what: "policy type", name: other.to_owned(), expected: TYPES }));
            }
        };
        let mut known = vec!["type"];
        known.extend(params.iter().map(|(k, _, _)| *k));
        let f = self.fields(n, &known, &[])?;
        let mut overrides = BTreeMap::new();
        for &(key, lo, hi) in params {
            let node = f.get(key).ok_or_else(|| self.err(n, Problem::Missing(key)))?;
            let v = node.i64(self.file)? as f64;
            if v < lo || v > hi {
                let range = if hi == f64::MAX { format!("at least {lo}") } else { format!("between {lo} and {hi}") };
                return Err(self.invalid(node, format!("must be {range}, got {v}")));
            }
            overrides.insert(key.to_owned(), v);
        }
        let document = builtin::document(kind).expect("every built-in type has a document");
        self.tree(t, kind, "built-in".into(), document, overrides)
    }

    fn json_file(&mut self, n: Node<'_>) -> Result<PolicyConfig, ScenarioError> {
        let f = self.fields(n, &["type", "json_path"], &[("params", "SimCash's FromJson policy ignores it; the file's `parameters` apply")])?;
        let path_node = self.req(&f, "json_path")?;
        let json_path = path_node.str(self.file)?;
        let tried = candidates(json_path, self.file);
        let Some(found) = tried.iter().find(|p| p.is_file()) else {
            let looked: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            return Err(self.invalid(path_node, format!("policy file `{json_path}` not found; looked in: {}", looked.join(", "))));
        };
        let text = std::fs::read_to_string(found).map_err(|e| self.invalid(path_node, format!("cannot read policy file {}: {e}", found.display())))?;
        let document = serde_json::from_str(&text).map_err(|e| self.invalid(path_node, format!("policy file {} is not valid JSON: {e}", found.display())))?;
        self.tree(path_node, "FromJson", json_path.to_owned(), document, BTreeMap::new())
    }

    /// Validates a tree document now, so that its errors point at the scenario.
    fn tree(
        &self,
        at: Node<'_>,
        kind: &str,
        source: String,
        document: serde_json::Value,
        params: BTreeMap<String, f64>,
    ) -> Result<PolicyConfig, ScenarioError> {
        TreePolicy::parse(&document, &params)
            .map_err(|e| self.invalid(at, if source == "inline" || source == "built-in" { e.to_string() } else { format!("{source}: {e}") }))?;
        Ok(PolicyConfig::Tree { kind: kind.to_owned(), source, document, params })
    }
}
