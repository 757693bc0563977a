//! Tree evaluation: walk conditions to a leaf, computing in `f64` as SimCash does.

use super::field::Field;
use super::tree::{Cmp, Compute, Expr, Node, Value};

/// Tolerance of `==`, `!=`, `<=`, `>=` and of `div0`'s zero test.
const EPSILON: f64 = 1e-9;

/// Supplies field values; implemented by the engine for one agent (and one payment).
pub trait Context {
    /// The value of a field.
    fn field(&self, f: &Field) -> f64;
}

/// A run-time evaluation failure (validation rules out everything else).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// `/` by a value that computed to (nearly) zero.
    #[error("division by zero")]
    DivisionByZero,
    /// An action parameter computed to an unusable value.
    #[error("{0}")]
    InvalidParameter(String),
}

/// An evaluation failure at a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node `{node}`: {error}")]
pub struct NodeError {
    /// The node being evaluated.
    pub node: std::sync::Arc<str>,
    /// What failed.
    pub error: EvalError,
}

/// Evaluates a number-valued operand.
pub fn value(v: &Value, ctx: &dyn Context) -> Result<f64, EvalError> {
    match v {
        Value::Field(f) => Ok(ctx.field(f)),
        Value::Const(x) => Ok(*x),
        Value::Compute(c) => compute(c, ctx),
    }
}

fn compute(c: &Compute, ctx: &dyn Context) -> Result<f64, EvalError> {
    let v = |x: &Value| value(x, ctx);
    Ok(match c {
        Compute::Add(l, r) => v(l)? + v(r)?,
        Compute::Sub(l, r) => v(l)? - v(r)?,
        Compute::Mul(l, r) => v(l)? * v(r)?,
        Compute::Div(l, r) => {
            let (a, b) = (v(l)?, v(r)?);
            if b.abs() < f64::EPSILON {
                return Err(EvalError::DivisionByZero);
            }
            a / b
        }
        Compute::Max(xs) => xs.iter().try_fold(f64::NEG_INFINITY, |m, x| v(x).map(|y| if y > m { y } else { m }))?,
        Compute::Min(xs) => xs.iter().try_fold(f64::INFINITY, |m, x| v(x).map(|y| if y < m { y } else { m }))?,
        Compute::Ceil(x) => v(x)?.ceil(),
        Compute::Floor(x) => v(x)?.floor(),
        Compute::Round(x) => v(x)?.round(),
        Compute::Abs(x) => v(x)?.abs(),
        Compute::Clamp(x, lo, hi) => v(x)?.max(v(lo)?).min(v(hi)?),
        Compute::Div0(n, d, default) => {
            let (a, b) = (v(n)?, v(d)?);
            if b.abs() < EPSILON { v(default)? } else { a / b }
        }
    })
}

/// Evaluates a condition, short-circuiting `and` and `or`.
pub fn expr(e: &Expr, ctx: &dyn Context) -> Result<bool, EvalError> {
    Ok(match e {
        Expr::Cmp(op, l, r) => {
            let (a, b) = (value(l, ctx)?, value(r, ctx)?);
            let near = (a - b).abs() < EPSILON;
            match op {
                Cmp::Eq => near,
                Cmp::Ne => !near,
                Cmp::Lt => a < b,
                Cmp::Gt => a > b,
                Cmp::Le => a <= b || near,
                Cmp::Ge => a >= b || near,
            }
        }
        Expr::And(list) => {
            for c in list {
                if !expr(c, ctx)? {
                    return Ok(false);
                }
            }
            true
        }
        Expr::Or(list) => {
            for c in list {
                if expr(c, ctx)? {
                    return Ok(true);
                }
            }
            false
        }
        Expr::Not(c) => !expr(c, ctx)?,
    })
}

/// Walks from `root` to a leaf; `path`, when given, records SimCash's decision path
/// (`N1(true) → N2(false) → A3`).
pub fn walk<'n>(root: &'n Node, ctx: &dyn Context, mut path: Option<&mut String>) -> Result<&'n Node, NodeError> {
    let mut node = root;
    loop {
        match node {
            Node::Action { id, .. } => {
                if let Some(p) = path.as_deref_mut() {
                    p.push_str(id);
                }
                return Ok(node);
            }
            Node::Condition { id, condition, on_true, on_false } => {
                let taken = expr(condition, ctx).map_err(|error| NodeError { node: id.clone(), error })?;
                if let Some(p) = path.as_deref_mut() {
                    p.push_str(&format!("{id}({taken}) → "));
                }
                node = if taken { on_true } else { on_false };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(f64);
    impl Context for Fixed {
        fn field(&self, _: &Field) -> f64 {
            self.0
        }
    }

    fn c(x: f64) -> Value {
        Value::Const(x)
    }

    #[test]
    fn comparisons_use_simcash_tolerance() {
        let ctx = Fixed(0.0);
        let t = |op, a, b| expr(&Expr::Cmp(op, c(a), c(b)), &ctx).unwrap();
        assert!(t(Cmp::Eq, 1.0, 1.0 + 1e-10));
        assert!(!t(Cmp::Eq, 1.0, 1.0 + 1e-8));
        assert!(t(Cmp::Ne, 1.0, 1.1));
        assert!(t(Cmp::Le, 1.0 + 1e-10, 1.0));
        assert!(t(Cmp::Ge, 1.0 - 1e-10, 1.0));
        assert!(!t(Cmp::Lt, 1.0, 1.0));
        assert!(!t(Cmp::Gt, 1.0 + 1e-10, 1.0 + 1e-10));
    }

    #[test]
    fn computations() {
        let ctx = Fixed(3.0);
        let v = |comp: Compute| value(&Value::Compute(Box::new(comp)), &ctx);
        let f = || Value::Field(Field::Balance);
        assert_eq!(v(Compute::Sub(f(), c(5.0))), Ok(-2.0));
        assert_eq!(v(Compute::Max(vec![c(1.0), f(), c(2.0)])), Ok(3.0));
        assert_eq!(v(Compute::Min(vec![c(1.0), f()])), Ok(1.0));
        assert_eq!(v(Compute::Div(f(), c(2.0))), Ok(1.5));
        assert_eq!(v(Compute::Div(f(), Value::Compute(Box::new(Compute::Sub(f(), f()))))), Err(EvalError::DivisionByZero));
        assert_eq!(v(Compute::Div0(f(), c(0.0), c(9.0))), Ok(9.0));
        assert_eq!(v(Compute::Clamp(f(), c(0.0), c(2.5))), Ok(2.5));
        assert_eq!(v(Compute::Round(c(2.5))), Ok(3.0));
        assert_eq!(v(Compute::Ceil(c(2.1))), Ok(3.0));
        assert_eq!(v(Compute::Floor(c(-2.1))), Ok(-3.0));
        assert_eq!(v(Compute::Abs(c(-2.0))), Ok(2.0));
    }

    #[test]
    fn logic_short_circuits() {
        // The second operand would fail; `and` stops at the first false, `or` at the first true.
        let bad = Expr::Cmp(Cmp::Eq, Value::Compute(Box::new(Compute::Div(c(1.0), Value::Field(Field::Balance)))), c(0.0));
        let ctx = Fixed(0.0);
        let f = Expr::Cmp(Cmp::Eq, c(1.0), c(2.0));
        let t = Expr::Cmp(Cmp::Eq, c(1.0), c(1.0));
        assert_eq!(expr(&Expr::And(vec![f.clone(), bad.clone()]), &ctx), Ok(false));
        assert_eq!(expr(&Expr::Or(vec![t.clone(), bad.clone()]), &ctx), Ok(true));
        assert_eq!(expr(&Expr::And(vec![t, bad]), &ctx), Err(EvalError::DivisionByZero));
        assert_eq!(expr(&Expr::Not(Box::new(f)), &ctx), Ok(true));
    }

    #[test]
    fn walk_records_the_decision_path() {
        let leaf = |id: &str| Node::Action { id: id.into(), action: super::super::tree::Action::NoAction };
        let tree = Node::Condition {
            id: "N1".into(),
            condition: Expr::Cmp(Cmp::Gt, Value::Field(Field::Balance), c(0.0)),
            on_true: Box::new(leaf("A1")),
            on_false: Box::new(leaf("A2")),
        };
        let mut path = String::new();
        let n = walk(&tree, &Fixed(-1.0), Some(&mut path)).unwrap();
        assert_eq!(n, &leaf("A2"));
        assert_eq!(path, "N1(false) → A2");
    }
}
