//! The decision-tree document (ENGINE-SPEC §6.2–6.3): parsed from JSON and validated once,
//! before the run. Parameters are resolved to constants and field names to [`Field`]s here,
//! so evaluation never looks anything up by name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::field::Field;
use crate::engine::event::RtgsPriority;

/// Deepest allowed tree (SimCash's limit).
const MAX_DEPTH: usize = 100;

/// A tree document that cannot be used: which policy, which node, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("policy `{policy}`{}: {message}", node.as_ref().map(|n| format!(", node `{n}`")).unwrap_or_default())]
pub struct TreeError {
    /// The policy id (or its source when the id is unknown).
    pub policy: String,
    /// The node at fault, when there is one.
    pub node: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// A number-valued operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A context field.
    Field(Field),
    /// A literal, or a parameter resolved at parse time.
    Const(f64),
    /// An arithmetic computation.
    Compute(Box<Compute>),
}

/// Arithmetic (ENGINE-SPEC §6.3).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Compute {
    Add(Value, Value),
    Sub(Value, Value),
    Mul(Value, Value),
    Div(Value, Value),
    Max(Vec<Value>),
    Min(Vec<Value>),
    Ceil(Value),
    Floor(Value),
    Round(Value),
    Abs(Value),
    Clamp(Value, Value, Value),
    /// Division with a default when the denominator is (nearly) zero.
    Div0(Value, Value, Value),
}

/// Comparison operators.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A boolean condition.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp(Cmp, Value, Value),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

/// Which tree of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// Per payment (Queue 1, and Queue 2 in step 2b).
    Payment,
    /// Per bank per tick.
    Bank,
    /// Collateral before settlement (step 1.5).
    StrategicCollateral,
    /// Collateral after settlement (step 5.6).
    EndOfTickCollateral,
}

impl TreeKind {
    /// The document key.
    pub fn key(self) -> &'static str {
        match self {
            TreeKind::Payment => "payment_tree",
            TreeKind::Bank => "bank_tree",
            TreeKind::StrategicCollateral => "strategic_collateral_tree",
            TreeKind::EndOfTickCollateral => "end_of_tick_collateral_tree",
        }
    }
}

/// A leaf's action with its parameters (ENGINE-SPEC §6.5–6.6).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `Release` / `ReleaseWithCredit`.
    Release {
        priority_flag: Option<u8>,
        timed_for_tick: Option<Value>,
    },
    /// `Hold`; the reason text as written (`None`: SimCash's "Policy decision").
    Hold {
        reason: Option<Arc<str>>,
    },
    Drop,
    /// `Split` / `PaceAndRelease`.
    Split {
        num_splits: Value,
    },
    StaggerSplit {
        num_splits: Value,
        first_now: Value,
        gap_ticks: Value,
        priority_boost: Value,
    },
    Reprioritize {
        new_priority: Value,
    },
    WithdrawFromRtgs,
    ResubmitToRtgs {
        rtgs_priority: RtgsPriority,
    },
    PostCollateral {
        amount: Value,
        reason: Arc<str>,
        auto_withdraw_after_ticks: Option<Value>,
    },
    WithdrawCollateral {
        amount: Value,
        reason: Arc<str>,
    },
    HoldCollateral,
    SetReleaseBudget {
        max_value: Value,
        focus: Option<Vec<String>>,
        max_per_counterparty: Option<Value>,
    },
    /// `SetState` (`add: false`) or `AddState` (`add: true`, value is a delta).
    SetState {
        key: Arc<str>,
        value: Value,
        reason: Arc<str>,
        add: bool,
    },
    NoAction,
}

/// A tree node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A branch.
    Condition {
        /// Node id.
        id: Arc<str>,
        /// The test.
        condition: Expr,
        /// Taken when true.
        on_true: Box<Node>,
        /// Taken when false.
        on_false: Box<Node>,
    },
    /// A leaf.
    Action {
        /// Node id.
        id: Arc<str>,
        /// What to do.
        action: Action,
    },
}

/// A parsed, validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct TreePolicy {
    /// `policy_id`.
    pub policy_id: String,
    /// Parameters after overrides.
    pub parameters: BTreeMap<String, f64>,
    /// `payment_tree`.
    pub payment: Option<Node>,
    /// `bank_tree`.
    pub bank: Option<Node>,
    /// `strategic_collateral_tree`.
    pub strategic_collateral: Option<Node>,
    /// `end_of_tick_collateral_tree`.
    pub end_of_tick_collateral: Option<Node>,
    /// Whether the payment tree can withdraw or resubmit a Queue-2 payment; step 2b, which
    /// ignores every other outcome, is skipped for trees that cannot.
    pub acts_on_queue2: bool,
}

fn acts_on_queue2(n: &Node) -> bool {
    match n {
        Node::Action { action, .. } => matches!(action, Action::WithdrawFromRtgs | Action::ResubmitToRtgs { .. }),
        Node::Condition { on_true, on_false, .. } => acts_on_queue2(on_true) || acts_on_queue2(on_false),
    }
}

impl TreePolicy {
    /// Parses and validates a document; `overrides` replace entries of its `parameters`.
    pub fn parse(doc: &Json, overrides: &BTreeMap<String, f64>) -> Result<TreePolicy, TreeError> {
        let mut p = Parser { policy: "<unnamed>".into(), node: None, params: BTreeMap::new(), ids: BTreeSet::new() };
        let obj = doc.as_object().ok_or_else(|| p.err("the policy document must be a JSON object"))?;
        if let Some(id) = obj.get("policy_id").and_then(Json::as_str) {
            p.policy = id.to_owned();
        }
        for key in ["version", "policy_id"] {
            match obj.get(key) {
                Some(Json::String(_)) => {}
                Some(_) => return Err(p.err(format!("`{key}` must be a string"))),
                None => return Err(p.err(format!("required key `{key}` is missing"))),
            }
        }
        if let Some(params) = obj.get("parameters").filter(|v| !v.is_null()) {
            let params = params.as_object().ok_or_else(|| p.err("`parameters` must be a mapping of names to numbers"))?;
            for (k, v) in params {
                let x = v.as_f64().ok_or_else(|| p.err(format!("parameter `{k}` must be a number")))?;
                p.params.insert(k.clone(), x);
            }
        }
        p.params.extend(overrides.iter().map(|(k, v)| (k.clone(), *v)));
        let tree = |kind: TreeKind, p: &mut Parser| -> Result<Option<Node>, TreeError> {
            match obj.get(kind.key()) {
                None | Some(Json::Null) => Ok(None),
                Some(n) => p.node(n, kind, 0).map(Some),
            }
        };
        let payment = tree(TreeKind::Payment, &mut p)?;
        let strategic_collateral = tree(TreeKind::StrategicCollateral, &mut p)?;
        let end_of_tick_collateral = tree(TreeKind::EndOfTickCollateral, &mut p)?;
        // Bank-tree node ids are not required to differ from the others (as in SimCash).
        p.ids.clear();
        let bank = tree(TreeKind::Bank, &mut p)?;
        if payment.is_none() {
            p.node = None;
            return Err(p.err("`payment_tree` is required (SimCash fails on the first queued payment without one)"));
        }
        let acts_on_queue2 = payment.as_ref().is_some_and(acts_on_queue2);
        Ok(TreePolicy { policy_id: p.policy, parameters: p.params, payment, bank, strategic_collateral, end_of_tick_collateral, acts_on_queue2 })
    }

    /// The tree of one kind.
    pub fn tree(&self, kind: TreeKind) -> Option<&Node> {
        match kind {
            TreeKind::Payment => self.payment.as_ref(),
            TreeKind::Bank => self.bank.as_ref(),
            TreeKind::StrategicCollateral => self.strategic_collateral.as_ref(),
            TreeKind::EndOfTickCollateral => self.end_of_tick_collateral.as_ref(),
        }
    }

    /// The `initial_liquidity_fraction` parameter, which SimCash uses at each start of day.
    pub fn initial_liquidity_fraction(&self) -> Option<f64> {
        self.parameters.get("initial_liquidity_fraction").copied()
    }
}

struct Parser {
    policy: String,
    node: Option<String>,
    params: BTreeMap<String, f64>,
    ids: BTreeSet<String>,
}

fn as_obj(v: &Json) -> Option<&Map<String, Json>> {
    v.as_object()
}

impl Parser {
    fn err(&self, message: impl Into<String>) -> TreeError {
        TreeError { policy: self.policy.clone(), node: self.node.clone(), message: message.into() }
    }

    fn node(&mut self, v: &Json, kind: TreeKind, depth: usize) -> Result<Node, TreeError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("`{}` is deeper than {MAX_DEPTH} levels", kind.key())));
        }
        let o = as_obj(v).ok_or_else(|| self.err(format!("a node of `{}` must be a JSON object", kind.key())))?;
        let id = match o.get("node_id") {
            Some(Json::String(s)) => s.clone(),
            _ => return Err(self.err(format!("a node of `{}` has no string `node_id`", kind.key()))),
        };
        self.node = Some(id.clone());
        if !self.ids.insert(id.clone()) {
            return Err(self.err("duplicate node_id (node ids must be unique across the payment and collateral trees)"));
        }
        let id: Arc<str> = id.into();
        match o.get("type").and_then(Json::as_str) {
            Some("condition") => {
                let condition = self.expr(o.get("condition").ok_or_else(|| self.err("condition node has no `condition`"))?, kind)?;
                let branch = |key: &str, p: &mut Parser| -> Result<Box<Node>, TreeError> {
                    let b = o.get(key).ok_or_else(|| p.err(format!("condition node has no `{key}`")))?;
                    let n = p.node(b, kind, depth + 1)?;
                    Ok(Box::new(n))
                };
                let on_true = branch("on_true", self)?;
                let on_false = branch("on_false", self)?;
                Ok(Node::Condition { id, condition, on_true, on_false })
            }
            Some("action") => {
                let action = self.action(o, kind)?;
                Ok(Node::Action { id, action })
            }
            Some(other) => Err(self.err(format!("unknown node type `{other}` (expected `condition` or `action`)"))),
            None => Err(self.err("node has no string `type` (`condition` or `action`)")),
        }
    }

    fn expr(&mut self, v: &Json, kind: TreeKind) -> Result<Expr, TreeError> {
        let o = as_obj(v).ok_or_else(|| self.err("a condition must be a JSON object with `op`"))?;
        let op = o.get("op").and_then(Json::as_str).ok_or_else(|| self.err("a condition has no string `op`"))?;
        let cmp = match op {
            "==" => Some(Cmp::Eq),
            "!=" => Some(Cmp::Ne),
            "<" => Some(Cmp::Lt),
            "<=" => Some(Cmp::Le),
            ">" => Some(Cmp::Gt),
            ">=" => Some(Cmp::Ge),
            _ => None,
        };
        if let Some(c) = cmp {
            let l = self.value(o.get("left"), "left", kind)?;
            let r = self.value(o.get("right"), "right", kind)?;
            return Ok(Expr::Cmp(c, l, r));
        }
        match op {
            "and" | "or" => {
                let list = o.get("conditions").and_then(Json::as_array).ok_or_else(|| self.err(format!("`{op}` needs a list `conditions`")))?;
                let list = list.iter().map(|c| self.expr(c, kind)).collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" { Expr::And(list) } else { Expr::Or(list) })
            }
            "not" => {
                let c = o.get("condition").ok_or_else(|| self.err("`not` needs a `condition`"))?;
                Ok(Expr::Not(Box::new(self.expr(c, kind)?)))
            }
            other => Err(self.err(format!("unknown condition operator `{other}` (expected ==, !=, <, <=, >, >=, and, or, not)"))),
        }
    }

    fn value(&mut self, v: Option<&Json>, what: &str, kind: TreeKind) -> Result<Value, TreeError> {
        let v = v.ok_or_else(|| self.err(format!("operand `{what}` is missing")))?;
        let o = as_obj(v).ok_or_else(|| self.err(format!("operand `{what}` must be an object with `field`, `param`, `value` or `compute`")))?;
        if let Some(f) = o.get("field") {
            let name = f.as_str().ok_or_else(|| self.err("`field` must be a string"))?;
            let (field, needs_tx) = Field::parse(name).ok_or_else(|| self.err(format!("unknown field `{name}`")))?;
            if needs_tx && kind == TreeKind::Bank {
                return Err(self.err(format!("field `{name}` describes a payment and cannot be used in `bank_tree`")));
            }
            return Ok(Value::Field(field));
        }
        if let Some(p) = o.get("param") {
            let name = p.as_str().ok_or_else(|| self.err("`param` must be a string"))?;
            let x = self.params.get(name).copied().ok_or_else(|| {
                let known: Vec<&str> = self.params.keys().map(String::as_str).collect();
                self.err(format!("parameter `{name}` is not defined (parameters: {})", if known.is_empty() { "none".into() } else { known.join(", ") }))
            })?;
            return Ok(Value::Const(x));
        }
        if let Some(l) = o.get("value") {
            return match l {
                Json::Number(n) => Ok(Value::Const(n.as_f64().unwrap_or(0.0))),
                Json::Bool(b) => Ok(Value::Const(if *b { 1.0 } else { 0.0 })),
                other => Err(self.err(format!("literal `{other}` is not a number (only numbers and booleans can be compared or computed)"))),
            };
        }
        if let Some(c) = o.get("compute") {
            return Ok(Value::Compute(Box::new(self.compute(c, kind)?)));
        }
        Err(self.err(format!("operand `{what}` has none of `field`, `param`, `value`, `compute`")))
    }

    fn compute(&mut self, v: &Json, kind: TreeKind) -> Result<Compute, TreeError> {
        let o = as_obj(v).ok_or_else(|| self.err("`compute` must be an object with `op`"))?;
        let op = o.get("op").and_then(Json::as_str).ok_or_else(|| self.err("`compute` has no string `op`"))?;
        let arg = |key: &str, p: &mut Parser| p.value(o.get(key), key, kind);
        Ok(match op {
            "+" | "-" | "*" | "/" => {
                let l = arg("left", self)?;
                let r = arg("right", self)?;
                match op {
                    "+" => Compute::Add(l, r),
                    "-" => Compute::Sub(l, r),
                    "*" => Compute::Mul(l, r),
                    _ => {
                        if matches!(r, Value::Const(x) if x.abs() < f64::EPSILON) {
                            return Err(self.err("division by a literal zero"));
                        }
                        Compute::Div(l, r)
                    }
                }
            }
            "max" | "min" => {
                let list = o.get("values").and_then(Json::as_array).ok_or_else(|| self.err(format!("`{op}` needs a list `values`")))?;
                if list.is_empty() {
                    return Err(self.err(format!("`{op}` of an empty list")));
                }
                let vals = list.iter().map(|x| self.value(Some(x), "values[]", kind)).collect::<Result<Vec<_>, _>>()?;
                if op == "max" { Compute::Max(vals) } else { Compute::Min(vals) }
            }
            "ceil" => Compute::Ceil(arg("value", self)?),
            "floor" => Compute::Floor(arg("value", self)?),
            "round" => Compute::Round(arg("value", self)?),
            "abs" => Compute::Abs(arg("value", self)?),
            "clamp" => Compute::Clamp(arg("value", self)?, arg("min", self)?, arg("max", self)?),
            "div0" => Compute::Div0(arg("numerator", self)?, arg("denominator", self)?, arg("default", self)?),
            other => {
                return Err(self.err(format!("unknown computation `{other}` (expected +, -, *, /, max, min, ceil, floor, round, abs, clamp, div0)")));
            }
        })
    }

    /// A literal string action parameter.
    fn text(&self, params: Option<&Map<String, Json>>, key: &str) -> Result<Option<Arc<str>>, TreeError> {
        let Some(v) = params.and_then(|p| p.get(key)) else { return Ok(None) };
        match as_obj(v).and_then(|o| o.get("value")) {
            Some(Json::String(s)) => Ok(Some(s.as_str().into())),
            _ => Err(self.err(format!("action parameter `{key}` must be a literal string: {{\"value\": \"…\"}}"))),
        }
    }

    fn param(&mut self, params: Option<&Map<String, Json>>, key: &str, kind: TreeKind) -> Result<Option<Value>, TreeError> {
        match params.and_then(|p| p.get(key)) {
            None => Ok(None),
            Some(v) => self.value(Some(v), key, kind).map(Some),
        }
    }

    fn required(&mut self, params: Option<&Map<String, Json>>, key: &str, action: &str, kind: TreeKind) -> Result<Value, TreeError> {
        self.param(params, key, kind)?.ok_or_else(|| self.err(format!("action `{action}` needs the parameter `{key}`")))
    }

    fn action(&mut self, o: &Map<String, Json>, kind: TreeKind) -> Result<Action, TreeError> {
        let name = o.get("action").and_then(Json::as_str).ok_or_else(|| self.err("action node has no string `action`"))?;
        let params = match o.get("parameters") {
            None | Some(Json::Null) => None,
            Some(Json::Object(m)) => Some(m),
            Some(_) => return Err(self.err("`parameters` must be a mapping")),
        };
        let action = match name {
            "Release" | "ReleaseWithCredit" => {
                let priority_flag = self.text(params, "priority_flag")?.map(|f| match &*f {
                    "HIGH" => 10,
                    "LOW" => 1,
                    _ => 5,
                });
                Action::Release { priority_flag, timed_for_tick: self.param(params, "timed_for_tick", kind)? }
            }
            "Hold" => Action::Hold { reason: self.text(params, "reason")? },
            "Drop" => Action::Drop,
            "Split" | "PaceAndRelease" => Action::Split { num_splits: self.required(params, "num_splits", name, kind)? },
            "StaggerSplit" => Action::StaggerSplit {
                num_splits: self.required(params, "num_splits", name, kind)?,
                first_now: self.required(params, "stagger_first_now", name, kind)?,
                gap_ticks: self.required(params, "stagger_gap_ticks", name, kind)?,
                priority_boost: self.required(params, "priority_boost_children", name, kind)?,
            },
            "Reprioritize" => Action::Reprioritize { new_priority: self.required(params, "new_priority", name, kind)? },
            "WithdrawFromRtgs" => Action::WithdrawFromRtgs,
            "ResubmitToRtgs" => {
                let p = self.text(params, "rtgs_priority")?.ok_or_else(|| self.err("action `ResubmitToRtgs` needs the parameter `rtgs_priority`"))?;
                let rtgs_priority = match &*p {
                    "HighlyUrgent" => RtgsPriority::HighlyUrgent,
                    "Urgent" => RtgsPriority::Urgent,
                    "Normal" => RtgsPriority::Normal,
                    other => return Err(self.err(format!("`rtgs_priority` must be HighlyUrgent, Urgent or Normal, not `{other}`"))),
                };
                Action::ResubmitToRtgs { rtgs_priority }
            }
            "PostCollateral" => Action::PostCollateral {
                amount: self.required(params, "amount", name, kind)?,
                reason: collateral_reason(self.text(params, "reason")?.as_deref()),
                auto_withdraw_after_ticks: self.param(params, "auto_withdraw_after_ticks", kind)?,
            },
            "WithdrawCollateral" => Action::WithdrawCollateral {
                amount: self.required(params, "amount", name, kind)?,
                reason: collateral_reason(self.text(params, "reason")?.as_deref()),
            },
            "HoldCollateral" => Action::HoldCollateral,
            "SetReleaseBudget" => {
                let focus = match params.and_then(|p| p.get("focus_counterparties")) {
                    None => None,
                    Some(v) => {
                        let list = as_obj(v)
                            .and_then(|o| o.get("value"))
                            .and_then(Json::as_array)
                            .ok_or_else(|| self.err("`focus_counterparties` must be a literal list of agent ids: {\"value\": [\"…\"]}"))?;
                        let ids: Vec<String> = list.iter().filter_map(Json::as_str).map(str::to_owned).collect();
                        (!ids.is_empty()).then_some(ids)
                    }
                };
                Action::SetReleaseBudget {
                    max_value: self.required(params, "max_value_to_release", name, kind)?,
                    focus,
                    max_per_counterparty: self.param(params, "max_per_counterparty", kind)?,
                }
            }
            "SetState" | "AddState" => {
                let key = self.text(params, "key")?.ok_or_else(|| self.err(format!("action `{name}` needs the parameter `key`")))?;
                Action::SetState {
                    key,
                    value: self.required(params, "value", name, kind)?,
                    reason: self.text(params, "reason")?.unwrap_or_else(|| "policy_action".into()),
                    add: name == "AddState",
                }
            }
            "NoAction" => Action::NoAction,
            other => {
                return Err(self.err(format!(
                    "unknown action `{other}` (expected one of: Release, ReleaseWithCredit, Hold, Drop, Split, PaceAndRelease, \
                     StaggerSplit, Reprioritize, WithdrawFromRtgs, ResubmitToRtgs, PostCollateral, WithdrawCollateral, \
                     HoldCollateral, SetReleaseBudget, SetState, AddState, NoAction)"
                )));
            }
        };
        let bank_action = matches!(action, Action::SetReleaseBudget { .. } | Action::SetState { .. } | Action::NoAction);
        if kind == TreeKind::Bank && !bank_action {
            // SimCash turns any other action in a bank tree into NoAction (the shipped
            // sophisticated_adaptive_bank.json has a `Hold` there).
            return Ok(Action::NoAction);
        }
        let allowed = match &action {
            Action::PostCollateral { .. } | Action::WithdrawCollateral { .. } | Action::HoldCollateral => {
                matches!(kind, TreeKind::StrategicCollateral | TreeKind::EndOfTickCollateral)
            }
            _ if bank_action => kind == TreeKind::Bank,
            _ => kind == TreeKind::Payment,
        };
        if !allowed {
            return Err(self.err(format!("action `{name}` cannot be used in `{}`", kind.key())));
        }
        Ok(action)
    }
}

/// SimCash's collateral reasons; any other text becomes `UrgentLiquidityNeed`.
fn collateral_reason(text: Option<&str>) -> Arc<str> {
    const KNOWN: &[&str] = &["UrgentLiquidityNeed", "PreemptivePosting", "LiquidityRestored", "EndOfDayCleanup", "DeadlineEmergency", "CostOptimization"];
    KNOWN.iter().find(|k| Some(**k) == text).copied().unwrap_or("UrgentLiquidityNeed").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(doc: Json) -> Result<TreePolicy, TreeError> {
        TreePolicy::parse(&doc, &BTreeMap::new())
    }

    fn doc(payment: Json) -> Json {
        json!({"version": "1.0", "policy_id": "p", "parameters": {"k": 2.0}, "payment_tree": payment})
    }

    #[test]
    fn parameters_become_constants_and_overrides_win() {
        let d = doc(json!({"type": "condition", "node_id": "N1",
            "condition": {"op": "<", "left": {"field": "balance"}, "right": {"param": "k"}},
            "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
            "on_false": {"type": "action", "node_id": "A2", "action": "Hold"}}));
        let p = TreePolicy::parse(&d, &BTreeMap::from([("k".to_owned(), 7.0)])).unwrap();
        let Some(Node::Condition { condition: Expr::Cmp(Cmp::Lt, Value::Field(Field::Balance), Value::Const(k)), .. }) = p.payment else { panic!("{p:?}") };
        assert_eq!(k, 7.0);
    }

    fn error_of(payment: Json) -> TreeError {
        parse(doc(payment)).unwrap_err()
    }

    #[test]
    fn errors_name_the_node_and_the_problem() {
        let e = error_of(json!({"type": "action", "node_id": "A1", "action": "Teleport"}));
        assert_eq!(e.node.as_deref(), Some("A1"));
        assert!(e.message.contains("unknown action `Teleport`"), "{e}");
        let e = error_of(json!({"type": "condition", "node_id": "N1",
            "condition": {"op": ">", "left": {"field": "balanse"}, "right": {"value": 0}},
            "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
            "on_false": {"type": "action", "node_id": "A1", "action": "Hold"}}));
        assert_eq!((e.node.as_deref(), e.message.as_str()), (Some("N1"), "unknown field `balanse`"));
        let e = error_of(json!({"type": "condition", "node_id": "N1",
            "condition": {"op": ">", "left": {"field": "balance"}, "right": {"value": 0}},
            "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
            "on_false": {"type": "action", "node_id": "A1", "action": "Hold"}}));
        assert!(e.message.contains("duplicate node_id"), "{e}");
        let e = error_of(json!({"type": "condition", "node_id": "N1",
            "condition": {"op": ">", "left": {"compute": {"op": "/", "left": {"field": "balance"}, "right": {"value": 0}}}, "right": {"value": 0}},
            "on_true": {"type": "action", "node_id": "A1", "action": "Release"},
            "on_false": {"type": "action", "node_id": "A2", "action": "Hold"}}));
        assert!(e.message.contains("division by a literal zero"), "{e}");
        let e = error_of(json!({"type": "action", "node_id": "A1", "action": "Split"}));
        assert!(e.message.contains("needs the parameter `num_splits`"), "{e}");
        let e = error_of(json!({"type": "action", "node_id": "A1", "action": "Split", "parameters": {"num_splits": {"param": "nope"}}}));
        assert!(e.message.contains("parameter `nope` is not defined (parameters: k)"), "{e}");
        let e = error_of(json!({"type": "action", "node_id": "A1", "action": "PostCollateral", "parameters": {"amount": {"value": 1}}}));
        assert!(e.message.contains("cannot be used in `payment_tree`"), "{e}");
    }

    #[test]
    fn other_actions_in_a_bank_tree_are_no_action() {
        let d = json!({"version": "1", "policy_id": "p", "payment_tree": {"type": "action", "node_id": "P1", "action": "Release"},
            "bank_tree": {"type": "action", "node_id": "B_NoOp1", "action": "Hold"}});
        let t = parse(d).unwrap();
        assert!(matches!(t.tree(TreeKind::Bank), Some(Node::Action { action: Action::NoAction, .. })));
    }

    #[test]
    fn bank_tree_may_not_read_payment_fields() {
        let d = json!({"version": "1", "policy_id": "p", "bank_tree": {"type": "condition", "node_id": "B1",
            "condition": {"op": ">", "left": {"field": "amount"}, "right": {"value": 0}},
            "on_true": {"type": "action", "node_id": "B2", "action": "NoAction"},
            "on_false": {"type": "action", "node_id": "B3", "action": "NoAction"}}});
        let e = parse(d).unwrap_err();
        assert!(e.message.contains("cannot be used in `bank_tree`"), "{e}");
    }

    #[test]
    fn collateral_reasons_map_like_simcash() {
        assert_eq!(&*collateral_reason(Some("GapClosed")), "UrgentLiquidityNeed");
        assert_eq!(&*collateral_reason(Some("EndOfDayCleanup")), "EndOfDayCleanup");
        assert_eq!(&*collateral_reason(None), "UrgentLiquidityNeed");
    }

    #[test]
    fn the_shipped_builtins_parse() {
        for (name, text) in super::super::builtin::FILES {
            let d: Json = serde_json::from_str(text).unwrap();
            parse(d).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
