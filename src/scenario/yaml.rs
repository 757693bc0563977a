//! A YAML node that knows its key path and line, so every error can name both.

use saphyr::{MarkedYamlOwned, ScalarOwned, YamlDataOwned, YamlLoader};
use saphyr_parser::Parser;

use super::{Problem, ScenarioError};

/// A node of the parsed document with its key path (`agents[1].arrival_config`).
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    node: &'a MarkedYamlOwned,
    path: &'a str,
}

/// Owned key path plus node, for iteration results.
#[derive(Debug, Clone)]
pub struct Child<'a> {
    node: &'a MarkedYamlOwned,
    path: String,
}

impl<'a> Child<'a> {
    /// Borrow as a [`Node`].
    pub fn node(&self) -> Node<'_> {
        Node { node: self.node, path: &self.path }
    }
}

/// An out-of-range or inconsistent value at `n`.
pub(crate) fn invalid(file: &str, n: Node<'_>, msg: impl Into<String>) -> ScenarioError {
    n.error(file, Problem::Invalid(msg.into()))
}

/// Parses a file holding one YAML document, resolving scalars as PyYAML's `safe_load` does
/// (YAML 1.1: `yes` is true, `010` is 8, `<<` merges); errors carry the line of the problem.
pub fn parse(file: &str, text: &str) -> Result<MarkedYamlOwned, ScenarioError> {
    let error = |line: usize, key: String, problem: Problem| ScenarioError { file: file.to_owned(), line, key, problem };
    let syntax = |e: &saphyr::ScanError| error(e.marker().line(), String::new(), Problem::Syntax(e.info().to_owned()));
    let mut loader = YamlLoader::<MarkedYamlOwned>::default();
    loader.early_parse(false);
    Parser::new_from_str(text).load(&mut loader, true).map_err(|e| syntax(&e))?;
    if let Some(e) = loader.error() {
        return Err(syntax(e));
    }
    let mut docs = loader.into_documents().into_iter();
    let first = docs.next();
    if let Some(second) = docs.next() {
        return Err(error(
            second.span.start.line(),
            String::new(),
            Problem::Invalid("a second YAML document starts here; the file must hold one document, as SimCash requires".into()),
        ));
    }
    let doc = match first {
        Some(d) => super::yaml11::resolve_document(d).map_err(|l| error(l.line, l.path, Problem::Invalid(l.error.to_string())))?,
        None => MarkedYamlOwned { span: Default::default(), data: YamlDataOwned::Value(ScalarOwned::Null) },
    };
    if matches!(doc.data, YamlDataOwned::Value(ScalarOwned::Null)) {
        return Err(error(1, String::new(), Problem::Invalid("the file is empty".into())));
    }
    Ok(doc)
}

fn describe(d: &YamlDataOwned<MarkedYamlOwned>) -> String {
    match d {
        YamlDataOwned::Value(ScalarOwned::Null) => "null".into(),
        YamlDataOwned::Value(ScalarOwned::Boolean(b)) => format!("boolean {b}"),
        YamlDataOwned::Value(ScalarOwned::Integer(i)) => format!("integer {i}"),
        YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) => format!("number {f}"),
        YamlDataOwned::Value(ScalarOwned::String(s)) => format!("string {s:?}"),
        YamlDataOwned::Sequence(_) => "a list".into(),
        YamlDataOwned::Mapping(_) => "a mapping".into(),
        _ => "an unsupported YAML node".into(),
    }
}

impl<'a> Node<'a> {
    /// The document root.
    pub fn root(node: &'a MarkedYamlOwned) -> Node<'a> {
        Node { node, path: "" }
    }

    /// 1-based line of the node.
    pub fn line(&self) -> usize {
        self.node.span.start.line()
    }

    /// Key path of the node.
    pub fn path(&self) -> &str {
        self.path
    }

    /// An error at this node.
    pub fn error(&self, file: &str, problem: Problem) -> ScenarioError {
        ScenarioError { file: file.to_owned(), line: self.line(), key: self.path.to_owned(), problem }
    }

    fn wrong(&self, file: &str, expected: &'static str) -> ScenarioError {
        self.error(file, Problem::WrongType { expected, found: describe(&self.node.data) })
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    /// Whether the node is null.
    pub fn is_null(&self) -> bool {
        matches!(self.node.data, YamlDataOwned::Value(ScalarOwned::Null))
    }

    /// Entries of a mapping, in document order, with string keys.
    pub fn entries(&self, file: &str) -> Result<Vec<(String, Child<'a>)>, ScenarioError> {
        let YamlDataOwned::Mapping(m) = &self.node.data else { return Err(self.wrong(file, "a mapping")) };
        let mut out = Vec::with_capacity(m.len());
        for (k, v) in m.iter() {
            let key = match &k.data {
                YamlDataOwned::Value(ScalarOwned::String(s)) => s.clone(),
                YamlDataOwned::Value(ScalarOwned::Integer(i)) => i.to_string(),
                other => {
                    return Err(ScenarioError {
                        file: file.to_owned(),
                        line: k.span.start.line(),
                        key: self.path.to_owned(),
                        problem: Problem::WrongType { expected: "a string key", found: describe(other) },
                    });
                }
            };
            let path = self.child_path(&key);
            out.push((key, Child { node: v, path }));
        }
        Ok(out)
    }

    /// Items of a list with `path[i]` paths.
    pub fn items(&self, file: &str) -> Result<Vec<Child<'a>>, ScenarioError> {
        let YamlDataOwned::Sequence(s) = &self.node.data else { return Err(self.wrong(file, "a list")) };
        Ok(s.iter().enumerate().map(|(i, n)| Child { node: n, path: format!("{}[{i}]", self.path) }).collect())
    }

    /// A string scalar.
    pub fn str(&self, file: &str) -> Result<&'a str, ScenarioError> {
        match &self.node.data {
            YamlDataOwned::Value(ScalarOwned::String(s)) => Ok(s),
            _ => Err(self.wrong(file, "a string")),
        }
    }

    /// A boolean.
    pub fn bool(&self, file: &str) -> Result<bool, ScenarioError> {
        match &self.node.data {
            YamlDataOwned::Value(ScalarOwned::Boolean(b)) => Ok(*b),
            _ => Err(self.wrong(file, "true or false")),
        }
    }

    /// An integer (an integral float such as `1000.0` is accepted, as Pydantic does).
    pub fn i64(&self, file: &str) -> Result<i64, ScenarioError> {
        match &self.node.data {
            YamlDataOwned::Value(ScalarOwned::Integer(i)) => Ok(*i),
            YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 => Ok(f.into_inner() as i64),
            _ => Err(self.wrong(file, "an integer")),
        }
    }

    /// The subtree as JSON (for inline policy trees).
    pub fn to_json(self, file: &str) -> Result<serde_json::Value, ScenarioError> {
        use serde_json::Value as J;
        Ok(match &self.node.data {
            YamlDataOwned::Value(ScalarOwned::Null) => J::Null,
            YamlDataOwned::Value(ScalarOwned::Boolean(b)) => J::Bool(*b),
            YamlDataOwned::Value(ScalarOwned::Integer(i)) => J::from(*i),
            YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) => {
                serde_json::Number::from_f64(f.into_inner()).map(J::Number).ok_or_else(|| self.wrong(file, "a finite number"))?
            }
            YamlDataOwned::Value(ScalarOwned::String(s)) => J::String(s.clone()),
            YamlDataOwned::Sequence(_) => J::Array(self.items(file)?.iter().map(|c| c.node().to_json(file)).collect::<Result<_, _>>()?),
            YamlDataOwned::Mapping(_) => {
                let mut m = serde_json::Map::new();
                for (k, c) in self.entries(file)? {
                    m.insert(k, c.node().to_json(file)?);
                }
                J::Object(m)
            }
            _ => return Err(self.wrong(file, "plain YAML data")),
        })
    }

    /// A number (integer or float).
    pub fn f64(&self, file: &str) -> Result<f64, ScenarioError> {
        match &self.node.data {
            YamlDataOwned::Value(ScalarOwned::Integer(i)) => Ok(*i as f64),
            YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) if f.is_finite() => Ok(f.into_inner()),
            _ => Err(self.wrong(file, "a number")),
        }
    }
}
