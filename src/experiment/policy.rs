//! Policies as experiments handle them: JSON tree documents that are given to agents,
//! checked against the experiment's constraints, and tuned through their `parameters`.

use serde_json::{Value, json};

use super::config::Constraints;
use crate::engine::config::{PolicyConfig, SimConfig};
use crate::engine::policy::tree::TreePolicy;

/// The policy every optimised agent starts from: release everything, allocate half the pool.
pub fn initial() -> Value {
    json!({
        "version": "1.0",
        "policy_id": "simcash_initial",
        "description": "Release every payment; allocate half of the liquidity pool",
        "parameters": {"initial_liquidity_fraction": 0.5},
        "payment_tree": {"type": "action", "node_id": "release", "action": "Release"}
    })
}

/// A numeric parameter of a policy document.
pub fn parameter(policy: &Value, name: &str) -> Option<f64> {
    policy.get("parameters")?.get(name)?.as_f64()
}

/// A copy of `policy` with one parameter set.
pub fn with_parameter(policy: &Value, name: &str, value: f64) -> Value {
    let mut p = policy.clone();
    if !p.get("parameters").is_some_and(Value::is_object) {
        p["parameters"] = json!({});
    }
    p["parameters"][name] = json!(value);
    p
}

/// Gives `agent` the policy, as SimCash's experiment runner does: the tree runs as an
/// InlineJson policy and its `initial_liquidity_fraction` (default 1.0) becomes the agent's
/// `liquidity_allocation_fraction`.
pub fn apply(config: &mut SimConfig, agent: &str, policy: &Value) {
    let Some(a) = config.agents.iter_mut().find(|a| a.id == agent) else { return };
    a.liquidity_allocation_fraction = parameter(policy, "initial_liquidity_fraction").unwrap_or(1.0).clamp(0.0, 1.0);
    a.policy = PolicyConfig::Tree { kind: "InlineJson".into(), source: "experiment".into(), document: policy.clone(), params: Default::default() };
}

/// Why a proposer's answer is not a policy document.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Not JSON.
    #[error("the answer is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not an object.
    #[error("the answer is JSON but not an object")]
    NotObject,
}

/// A proposer's answer as a policy document: a JSON object.
pub fn answer(text: &str) -> Result<Value, AnswerError> {
    let v = serde_json::from_str::<Value>(text)?;
    if v.is_object() { Ok(v) } else { Err(AnswerError::NotObject) }
}

/// Why a proposed policy is refused.
pub fn violations(policy: &Value, constraints: &Constraints) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = TreePolicy::parse(policy, &Default::default()) {
        out.push(e.to_string());
        return out;
    }
    if let Some(params) = policy.get("parameters").and_then(Value::as_object) {
        for (name, v) in params {
            let Some(b) = constraints.parameters.iter().find(|b| &b.name == name) else {
                if !constraints.parameters.is_empty() {
                    out.push(format!("parameter `{name}` is not allowed"));
                }
                continue;
            };
            let x = v.as_f64().unwrap_or(f64::NAN);
            if !(b.min..=b.max).contains(&x) || (b.integer && x.fract() != 0.0) {
                out.push(format!("parameter `{name}` = {v} is outside [{}, {}]", b.min, b.max));
            }
        }
    }
    for tree in ["payment_tree", "bank_tree", "strategic_collateral_tree", "end_of_tick_collateral_tree"] {
        let Some(root) = policy.get(tree).filter(|t| !t.is_null()) else { continue };
        let allowed = constraints.actions.get(tree).or_else(|| tree.ends_with("collateral_tree").then(|| constraints.actions.get("collateral_tree")).flatten());
        walk(root, &mut |key, v| match key {
            "field" if !constraints.fields.is_empty() => {
                if let Some(name) = v.as_str()
                    && !constraints.fields.iter().any(|f| f == name)
                    && !name.starts_with("bank_state_")
                {
                    out.push(format!("field `{name}` is not allowed"));
                }
            }
            "action" => {
                if let (Some(list), Some(name)) = (allowed, v.as_str())
                    && !list.iter().any(|a| a == name)
                {
                    out.push(format!("action `{name}` is not allowed in `{tree}`"));
                }
            }
            _ => {}
        });
    }
    out.sort();
    out.dedup();
    out
}

/// Calls `f(key, value)` for every object entry below `v`.
fn walk(v: &Value, f: &mut dyn FnMut(&str, &Value)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                f(k, x);
                walk(x, f);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::config::ParameterBound;

    fn constraints() -> Constraints {
        Constraints {
            parameters: vec![ParameterBound { name: "initial_liquidity_fraction".into(), min: 0.0, max: 1.0, integer: false }],
            fields: vec!["balance".into()],
            actions: [("payment_tree".to_owned(), vec!["Release".to_owned(), "Hold".to_owned()])].into(),
        }
    }

    #[test]
    fn the_initial_policy_satisfies_castro_constraints() {
        assert_eq!(violations(&initial(), &constraints()), Vec::<String>::new());
    }

    #[test]
    fn out_of_bounds_parameters_fields_and_actions_are_named() {
        let p = with_parameter(&initial(), "initial_liquidity_fraction", 1.5);
        assert_eq!(violations(&p, &constraints()), ["parameter `initial_liquidity_fraction` = 1.5 is outside [0, 1]"]);
        let p = json!({"version": "1", "policy_id": "x", "payment_tree": {"type": "condition", "node_id": "N",
            "condition": {"op": ">", "left": {"field": "credit_used"}, "right": {"value": 0}},
            "on_true": {"type": "action", "node_id": "A", "action": "Drop"},
            "on_false": {"type": "action", "node_id": "B", "action": "Release"}}});
        assert_eq!(violations(&p, &constraints()), ["action `Drop` is not allowed in `payment_tree`", "field `credit_used` is not allowed"]);
        let bad = json!({"version": "1", "policy_id": "x"});
        assert_eq!(violations(&bad, &constraints()).len(), 1);
    }

    #[test]
    fn apply_sets_the_tree_and_the_pool_fraction() {
        let mut cfg = crate::scenario::load_str(
            "x.yaml",
            "simulation: {ticks_per_day: 2, num_days: 1, rng_seed: 1}\nagents:\n  - {id: A, opening_balance: 0, liquidity_pool: 1000}\n  - {id: B, opening_balance: 0}\n",
        )
        .unwrap()
        .config;
        apply(&mut cfg, "A", &with_parameter(&initial(), "initial_liquidity_fraction", 0.25));
        assert_eq!(cfg.agents[0].liquidity_allocation_fraction, 0.25);
        assert!(matches!(cfg.agents[0].policy, PolicyConfig::Tree { .. }));
        let e = crate::engine::Engine::new(cfg).unwrap();
        assert_eq!(e.agents()[0].balance, 250);
    }
}
