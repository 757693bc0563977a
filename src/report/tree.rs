//! Decision trees (SimCash policy JSON) drawn as SVG trees: a box per node, conditions with
//! their yes/no branches, actions as leaves.

use std::fmt::Write;

use serde_json::Value;

use super::html::escape;

/// The trees a SimCash policy document may hold, with the names the report gives them.
pub const TREES: [(&str, &str); 4] = [
    ("payment_tree", "payment tree"),
    ("bank_tree", "bank tree"),
    ("strategic_collateral_tree", "strategic collateral tree"),
    ("end_of_tick_collateral_tree", "end-of-tick collateral tree"),
];

const COLUMN: f64 = 170.0;
const ROW: f64 = 70.0;
const BOX_W: f64 = 158.0;
const BOX_H: f64 = 40.0;

/// A node placed on the drawing.
struct Placed {
    x: f64,
    depth: usize,
    lines: [String; 2],
    /// The whole text of the node (its lines may be cut short).
    title: String,
    action: bool,
    id: String,
    /// Index of the parent and whether this is its "yes" branch.
    parent: Option<(usize, bool)>,
}

/// The tree rooted at `node` as an `<svg>` element; `key` names it in `data-tree`.
pub fn render(key: &str, node: &Value) -> String {
    let mut placed = Vec::new();
    let mut next_leaf = 0.0;
    place(node, 0, None, &mut next_leaf, &mut placed);
    let width = (next_leaf * COLUMN).max(COLUMN);
    let depth = placed.iter().map(|p| p.depth).max().unwrap_or(0);
    let height = (depth + 1) as f64 * ROW + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="tree" data-tree="{}" viewBox="0 0 {width} {height}" style="max-width:{width}px" role="img" xmlns="http://www.w3.org/2000/svg">"#,
        escape(key)
    );
    let centre = |p: &Placed| (p.x * COLUMN + COLUMN / 2.0, p.depth as f64 * ROW + 5.0);
    for p in &placed {
        if let Some((parent, yes)) = p.parent {
            let ((x1, y1), (x2, y2)) = (centre(&placed[parent]), centre(p));
            let (y1, label) = (y1 + BOX_H, if yes { "yes" } else { "no" });
            let _ = write!(
                s,
                r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#888"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#555">{label}</text>"##,
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0 - 2.0
            );
        }
    }
    for p in &placed {
        let (cx, y) = centre(p);
        let fill = if p.action { "#e8f3ea" } else { "#eef3fa" };
        let _ = write!(
            s,
            r##"<g class="node" data-node="{}"><title>{}</title><rect x="{:.1}" y="{y:.1}" width="{BOX_W}" height="{BOX_H}" rx="5" fill="{fill}" stroke="#8aa"/><text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="10.5">{}</text><text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="10.5">{}</text></g>"##,
            escape(&p.id),
            escape(&p.title),
            cx - BOX_W / 2.0,
            y + 16.0,
            escape(&p.lines[0]),
            y + 31.0,
            escape(&p.lines[1])
        );
    }
    s.push_str("</svg>");
    s
}

/// Places `node` and its subtree: leaves take the next column, a condition sits over the
/// middle of its two branches. Returns the node's index.
fn place(node: &Value, depth: usize, parent: Option<(usize, bool)>, next_leaf: &mut f64, out: &mut Vec<Placed>) -> usize {
    let id = node.get("node_id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let index = out.len();
    let is_condition = node.get("type").and_then(Value::as_str) == Some("condition");
    let (title, lines) = text(node, is_condition);
    out.push(Placed { x: 0.0, depth, lines, title, action: !is_condition, id, parent });
    out[index].x = match (is_condition, node.get("on_true"), node.get("on_false")) {
        (true, Some(yes), Some(no)) => {
            let a = place(yes, depth + 1, Some((index, true)), next_leaf, out);
            let b = place(no, depth + 1, Some((index, false)), next_leaf, out);
            (out[a].x + out[b].x) / 2.0
        }
        _ => {
            *next_leaf += 1.0;
            *next_leaf - 1.0
        }
    };
    index
}

/// A node's whole text, and the two lines of its box.
fn text(node: &Value, is_condition: bool) -> (String, [String; 2]) {
    let short = |s: &str| if s.chars().count() > 26 { s.chars().take(25).collect::<String>() + "…" } else { s.to_owned() };
    if is_condition {
        let text = node.get("condition").map(expression).unwrap_or_default();
        let cut = text.char_indices().filter(|(_, c)| *c == ' ').map(|(i, _)| i).find(|i| *i >= text.len() / 2).unwrap_or(text.len());
        let (a, b) = text.split_at(cut);
        let lines = [short(a.trim()), short(b.trim())];
        return (text, lines);
    }
    let action = node.get("action").and_then(Value::as_str).unwrap_or("?").to_owned();
    let params =
        node.get("parameters").and_then(Value::as_object).map(|p| p.iter().map(|(k, v)| format!("{k}={}", expression(v))).collect::<Vec<_>>().join(", "));
    let params = params.unwrap_or_default();
    (format!("{action} {params}").trim_end().to_owned(), [action, short(&params)])
}

/// A condition or operand as text: `field`, `param`, values, arithmetic and comparisons.
fn expression(v: &Value) -> String {
    if let Some(f) = v.get("field").and_then(Value::as_str) {
        return f.to_owned();
    }
    if let Some(p) = v.get("param").and_then(Value::as_str) {
        return p.to_owned();
    }
    if let Some(x) = v.get("value") {
        return match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    }
    if let Some(c) = v.get("compute") {
        return format!("({})", expression(c));
    }
    if let Some(conditions) = v.get("conditions").and_then(Value::as_array) {
        let op = v.get("op").and_then(Value::as_str).unwrap_or("and");
        return conditions.iter().map(expression).collect::<Vec<_>>().join(&format!(" {op} "));
    }
    match (v.get("op").and_then(Value::as_str), v.get("left"), v.get("right")) {
        (Some(op), Some(l), Some(r)) => format!("{} {op} {}", expression(l), expression(r)),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_is_drawn_once_with_its_condition_or_action() {
        let tree: Value = serde_json::from_str(
            r#"{"type":"condition","node_id":"N1","condition":{"op":"<=","left":{"field":"ticks_to_deadline"},"right":{"param":"urgency"}},
                "on_true":{"type":"action","node_id":"A1","action":"Release"},
                "on_false":{"type":"condition","node_id":"N2","condition":{"op":">=","left":{"field":"balance"},"right":{"compute":{"op":"*","left":{"field":"amount"},"right":{"value":2}}}},
                   "on_true":{"type":"action","node_id":"A2","action":"Release"},
                   "on_false":{"type":"action","node_id":"A3","action":"Hold","parameters":{"reason":{"value":"wait"}}}}}"#,
        )
        .unwrap();
        let svg = render("payment tree", &tree);
        for id in ["N1", "A1", "N2", "A2", "A3"] {
            assert_eq!(svg.matches(&format!(r#"data-node="{id}""#)).count(), 1, "{id}");
        }
        assert!(svg.contains("<title>ticks_to_deadline &lt;= urgency</title>"), "{svg}");
        assert!(svg.contains("<title>balance &gt;= (amount * 2)</title>"), "{svg}");
        assert!(svg.contains("<title>Hold reason=wait</title>"), "{svg}");
        // Four edges, each labelled yes or no.
        assert_eq!(svg.matches(">yes</text>").count() + svg.matches(">no</text>").count(), 4);
    }
}
