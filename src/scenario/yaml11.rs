//! YAML 1.1 scalar resolution as PyYAML's `safe_load` does it, which is how SimCash reads
//! every file: `yes`/`no`/`on`/`off` are booleans, `1_000` is 1000, `0x1E` is hex, `010` is
//! octal 8, `1:30` is sexagesimal 90, `.5` is 0.5, `~` is null, and `<<` merges mappings.
//!
//! The rules follow PyYAML's `resolver.py` (implicit resolvers, tried in its order) and
//! `constructor.py` (`SafeConstructor`): the regular expressions are written out by hand
//! below, one function per resolver.

use saphyr::{AnnotatedMappingOwned, MarkedYamlOwned, ScalarOwned, ScalarStyle, Tag, YamlDataOwned};

/// What a scalar means under PyYAML's `safe_load`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// `yes`/`no`/`true`/`false`/`on`/`off` in PyYAML's three spellings each.
    Bool(bool),
    /// Decimal, `0b` binary, `0` octal, `0x` hex or sexagesimal, with `_` separators.
    Int(i64),
    /// Decimal (with a dot), sexagesimal, `.inf`, `.nan`.
    Float(f64),
    /// Anything else.
    Str(String),
}

/// Why a scalar cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScalarError {
    /// An integer form whose digits do not make a number, or one beyond i64.
    #[error("`{0}` is not an integer SimCash can read (beyond 64 bits, or no digits)")]
    BadInt(String),
    /// An explicitly tagged float that does not parse.
    #[error("`{0}` is not a float")]
    BadFloat(String),
    /// An explicitly tagged boolean that is not one of YAML 1.1's words.
    #[error("`{0}` is not a YAML 1.1 boolean (yes/no/true/false/on/off)")]
    BadBool(String),
    /// A tag PyYAML's safe loader refuses or simcash does not read.
    #[error("the tag `{0}` is not supported (SimCash's safe loader reads plain YAML only)")]
    Tag(String),
    /// PyYAML's `=` value key, which its safe loader cannot construct.
    #[error("a bare `=` is YAML 1.1's value key, which SimCash's loader refuses")]
    ValueKey,
}

/// Resolves a plain (unquoted, untagged) scalar as PyYAML's implicit resolvers do.
pub fn resolve_plain(s: &str) -> Result<Scalar, ScalarError> {
    Ok(if is_null(s) {
        Scalar::Null
    } else if let Some(b) = bool_word(s) {
        Scalar::Bool(b)
    } else if is_float(s) {
        Scalar::Float(construct_float(s).ok_or_else(|| ScalarError::BadFloat(s.to_owned()))?)
    } else if is_int(s) {
        Scalar::Int(construct_int(s)?)
    } else if s == "=" {
        return Err(ScalarError::ValueKey);
    } else {
        Scalar::Str(s.to_owned())
    })
}

/// Constructs a scalar with an explicit tag (`!!int "10"`), as `SafeConstructor` does.
pub fn resolve_tagged(s: &str, tag: &Tag) -> Result<Scalar, ScalarError> {
    let core = tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!";
    match (core, tag.suffix.as_str()) {
        (false, "") if tag.handle == "!" => Ok(Scalar::Str(s.to_owned())),
        (true, "str") => Ok(Scalar::Str(s.to_owned())),
        (true, "null") => Ok(Scalar::Null),
        (true, "bool") => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Ok(Scalar::Bool(true)),
            "no" | "false" | "off" => Ok(Scalar::Bool(false)),
            _ => Err(ScalarError::BadBool(s.to_owned())),
        },
        (true, "int") => construct_int(s).map(Scalar::Int),
        (true, "float") => construct_float(s).map(Scalar::Float).ok_or_else(|| ScalarError::BadFloat(s.to_owned())),
        _ => Err(ScalarError::Tag(tag.to_string())),
    }
}

fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn bool_word(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn strip_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// `[0-9][0-9_]*` (or `[1-9]…` when `nonzero_first`): the length it spans at the start of `s`.
fn digits_run(s: &[u8], nonzero_first: bool) -> usize {
    match s.first() {
        Some(c) if c.is_ascii_digit() && !(nonzero_first && *c == b'0') => 1 + s[1..].iter().take_while(|c| c.is_ascii_digit() || **c == b'_').count(),
        _ => 0,
    }
}

/// `(:[0-5]?[0-9])+`: the length it spans at the start of `s` (0 when absent).
fn sexagesimal_tail(s: &[u8]) -> usize {
    let mut i = 0;
    loop {
        if s.get(i) != Some(&b':') {
            return i;
        }
        match (s.get(i + 1), s.get(i + 2)) {
            (Some(a), Some(b)) if (b'0'..=b'5').contains(a) && b.is_ascii_digit() => i += 3,
            (Some(a), _) if a.is_ascii_digit() => i += 2,
            _ => return i,
        }
    }
}

/// `[eE][-+][0-9]+` (the sign is required in YAML 1.1) spanning all of `s`, or `s` empty.
fn exponent_or_nothing(s: &[u8]) -> bool {
    s.is_empty() || (matches!(s[0], b'e' | b'E') && s.len() > 2 && matches!(s[1], b'-' | b'+') && s[2..].iter().all(u8::is_ascii_digit))
}

fn is_fraction(s: &[u8]) -> bool {
    s.iter().all(|c| c.is_ascii_digit() || *c == b'_')
}

/// PyYAML's float resolver.
fn is_float(s: &str) -> bool {
    let b = s.as_bytes();
    // `\.[0-9][0-9_]*([eE][-+][0-9]+)?` and `\.(nan|NaN|NAN)` take no sign.
    if let Some(rest) = b.strip_prefix(b".") {
        if matches!(rest, b"nan" | b"NaN" | b"NAN" | b"inf" | b"Inf" | b"INF") {
            return true;
        }
        let n = digits_run(rest, false);
        return n > 0 && exponent_or_nothing(&rest[n..]);
    }
    let (_, unsigned) = strip_sign(s);
    let u = unsigned.as_bytes();
    if matches!(u, b".inf" | b".Inf" | b".INF") {
        return true;
    }
    let n = digits_run(u, false);
    if n == 0 {
        return false;
    }
    let rest = &u[n..];
    // `[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?`
    if let Some(after) = rest.strip_prefix(b".") {
        let f = after.iter().take_while(|c| c.is_ascii_digit() || **c == b'_').count();
        return exponent_or_nothing(&after[f..]);
    }
    // `[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*`
    let t = sexagesimal_tail(rest);
    t > 0 && rest[t..].strip_prefix(b".").is_some_and(is_fraction)
}

/// PyYAML's int resolver.
fn is_int(s: &str) -> bool {
    let (_, u) = strip_sign(s);
    let b = u.as_bytes();
    let body = |p: &[u8], ok: fn(&u8) -> bool| !p.is_empty() && p.iter().all(|c| ok(c) || *c == b'_');
    if let Some(p) = b.strip_prefix(b"0b") {
        return body(p, |c| matches!(c, b'0' | b'1'));
    }
    if let Some(p) = b.strip_prefix(b"0x") {
        return body(p, u8::is_ascii_hexdigit);
    }
    if b == b"0" {
        return true;
    }
    if let Some(p) = b.strip_prefix(b"0") {
        return body(p, |c| (b'0'..=b'7').contains(c));
    }
    let n = digits_run(b, true);
    n > 0 && (n == b.len() || sexagesimal_tail(&b[n..]) == b.len() - n)
}

/// PyYAML's `construct_yaml_int`: underscores dropped, then sign, `0b`, `0x`, leading-zero
/// octal, sexagesimal or decimal.
fn construct_int(s: &str) -> Result<i64, ScalarError> {
    let bad = || ScalarError::BadInt(s.to_owned());
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    let (negative, v) = strip_sign(&cleaned);
    let magnitude: i128 = if v == "0" {
        0
    } else if let Some(d) = v.strip_prefix("0b") {
        i128::from_str_radix(d, 2).map_err(|_| bad())?
    } else if let Some(d) = v.strip_prefix("0x") {
        i128::from_str_radix(d, 16).map_err(|_| bad())?
    } else if v.starts_with('0') {
        i128::from_str_radix(v, 8).map_err(|_| bad())?
    } else if v.contains(':') {
        let mut total: i128 = 0;
        for part in v.split(':') {
            let d: i128 = part.parse().map_err(|_| bad())?;
            total = total.checked_mul(60).and_then(|t| t.checked_add(d)).ok_or_else(bad)?;
        }
        total
    } else {
        v.parse().map_err(|_| bad())?
    };
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| bad())
}

/// PyYAML's `construct_yaml_float`.
fn construct_float(s: &str) -> Option<f64> {
    let cleaned: String = s.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
    let (negative, v) = strip_sign(&cleaned);
    let sign = if negative { -1.0 } else { 1.0 };
    let decimal = |p: &str| -> Option<f64> {
        // Python's float() takes `1.` and `.5`; make both explicit for Rust's parser.
        let p = if p.starts_with('.') { format!("0{p}") } else { p.to_owned() };
        let p = p.replace(".e", ".0e");
        let p = if p.ends_with('.') { format!("{p}0") } else { p };
        p.parse::<f64>().ok()
    };
    match v {
        ".inf" => Some(sign * f64::INFINITY),
        ".nan" => Some(f64::NAN),
        _ if v.contains(':') => {
            let mut total = 0.0;
            for part in v.split(':') {
                total = total * 60.0 + decimal(part)?;
            }
            Some(sign * total)
        }
        _ => decimal(v).map(|x| sign * x),
    }
}

/// A problem found while resolving, with the node it concerns.
pub struct Located {
    /// 1-based line.
    pub line: usize,
    /// Key path of the node.
    pub path: String,
    /// What is wrong.
    pub error: ScalarError,
}

/// Resolves every scalar of a document loaded without early parsing, and applies `<<` merge
/// keys, so the tree holds what PyYAML's `safe_load` would return.
pub fn resolve_document(node: MarkedYamlOwned) -> Result<MarkedYamlOwned, Located> {
    resolve_node(node, "")
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn to_data(s: Scalar) -> YamlDataOwned<MarkedYamlOwned> {
    YamlDataOwned::Value(match s {
        Scalar::Null => ScalarOwned::Null,
        Scalar::Bool(b) => ScalarOwned::Boolean(b),
        Scalar::Int(i) => ScalarOwned::Integer(i),
        Scalar::Float(f) => ScalarOwned::FloatingPoint(f.into()),
        Scalar::Str(s) => ScalarOwned::String(s),
    })
}

fn is_merge_key(k: &MarkedYamlOwned) -> bool {
    match &k.data {
        YamlDataOwned::Representation(s, ScalarStyle::Plain, None) => s == "<<",
        YamlDataOwned::Representation(s, ScalarStyle::Plain, Some(t)) => {
            s == "<<" && (t.handle == "tag:yaml.org,2002:" || t.handle == "!!") && t.suffix == "merge"
        }
        _ => false,
    }
}

fn resolve_node(node: MarkedYamlOwned, path: &str) -> Result<MarkedYamlOwned, Located> {
    let line = node.span.start.line();
    let at = |error| Located { line, path: path.to_owned(), error };
    let data = match node.data {
        YamlDataOwned::Representation(s, style, tag) => to_data(match (&tag, style) {
            (Some(t), _) => resolve_tagged(&s, t).map_err(at)?,
            (None, ScalarStyle::Plain) => resolve_plain(&s).map_err(at)?,
            (None, _) => Scalar::Str(s),
        }),
        YamlDataOwned::Sequence(items) => {
            YamlDataOwned::Sequence(items.into_iter().enumerate().map(|(i, n)| resolve_node(n, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?)
        }
        YamlDataOwned::Mapping(m) => YamlDataOwned::Mapping(resolve_mapping(m, path)?),
        YamlDataOwned::Tagged(tag, _) => return Err(at(ScalarError::Tag(tag.to_string()))),
        other => other,
    };
    Ok(MarkedYamlOwned { span: node.span, data })
}

/// PyYAML's `flatten_mapping` then `construct_mapping`: merged pairs come first (for a list
/// of mappings, earlier ones win), the mapping's own keys override them, later keys win.
fn resolve_mapping(m: AnnotatedMappingOwned<MarkedYamlOwned>, path: &str) -> Result<AnnotatedMappingOwned<MarkedYamlOwned>, Located> {
    let mut merged: Vec<(MarkedYamlOwned, MarkedYamlOwned)> = Vec::new();
    let mut own = Vec::new();
    for (k, v) in m {
        if !is_merge_key(&k) {
            own.push((k, v));
            continue;
        }
        let line = v.span.start.line();
        let not_mapping = || Located { line, path: child_path(path, "<<"), error: ScalarError::Tag("<< needs a mapping or a list of mappings".into()) };
        match v.data {
            YamlDataOwned::Mapping(inner) => merged.extend(resolve_mapping(inner, path)?),
            YamlDataOwned::Sequence(list) => {
                let mut parts = Vec::new();
                for item in list {
                    let YamlDataOwned::Mapping(inner) = item.data else { return Err(not_mapping()) };
                    parts.push(resolve_mapping(inner, path)?);
                }
                for part in parts.into_iter().rev() {
                    merged.extend(part);
                }
            }
            _ => return Err(not_mapping()),
        }
    }
    let mut out = AnnotatedMappingOwned::new();
    let mut put = |k: MarkedYamlOwned, v: MarkedYamlOwned| match out.get_mut(&k) {
        Some(slot) => *slot = v,
        None => {
            out.insert(k, v);
        }
    };
    for (k, v) in merged {
        put(k, v);
    }
    for (k, v) in own {
        let key = resolve_node(k, path)?;
        let name = match &key.data {
            YamlDataOwned::Value(ScalarOwned::String(s)) => s.clone(),
            YamlDataOwned::Value(other) => format!("{other:?}"),
            _ => String::new(),
        };
        let value = resolve_node(v, &child_path(path, &name))?;
        put(key, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Scalar::*;

    /// Expected values written from PyYAML's documented rules (resolver.py / constructor.py
    /// and the YAML 1.1 type repository), not from this module's output.
    #[test]
    fn plain_scalars_resolve_as_pyyaml_safe_load() {
        let cases: &[(&str, Scalar)] = &[
            // bool: three spellings of six words; `y`, `n` and mixed case stay strings
            ("yes", Bool(true)),
            ("Yes", Bool(true)),
            ("YES", Bool(true)),
            ("no", Bool(false)),
            ("on", Bool(true)),
            ("On", Bool(true)),
            ("OFF", Bool(false)),
            ("off", Bool(false)),
            ("true", Bool(true)),
            ("False", Bool(false)),
            ("y", Str("y".into())),
            ("n", Str("n".into())),
            ("yEs", Str("yEs".into())),
            ("oN", Str("oN".into())),
            // null
            ("~", Null),
            ("null", Null),
            ("NULL", Null),
            ("", Null),
            ("nul", Str("nul".into())),
            // int: decimal, underscores, sign, binary, octal, hex, sexagesimal
            ("0", Int(0)),
            ("-0", Int(0)),
            ("42", Int(42)),
            ("+42", Int(42)),
            ("-17", Int(-17)),
            ("1_000", Int(1000)),
            ("1_0", Int(10)),
            ("1_", Int(1)),
            ("0b1010", Int(10)),
            ("-0b1_0", Int(-2)),
            ("010", Int(8)),
            ("060", Int(48)),
            ("02", Int(2)),
            ("010000", Int(4096)),
            ("0100000", Int(32768)),
            ("0_7", Int(7)),
            ("0x1E", Int(30)),
            ("0x7530", Int(30000)),
            ("-0x_ff", Int(-255)),
            ("1:30", Int(90)),
            ("190:20:30", Int(685230)),
            ("-1:0", Int(-60)),
            // not ints: 8 and 9 are no octal digits, 1.2 rules don't apply, `0o` is YAML 1.2
            ("08", Str("08".into())),
            ("0o17", Str("0o17".into())),
            ("1__", Int(1)),
            ("1:60", Str("1:60".into())),
            ("0:30", Str("0:30".into())),
            // float: needs a dot; the exponent needs a sign; `.5` but not `-.5`
            (".5", Float(0.5)),
            ("0.5", Float(0.5)),
            ("1.", Float(1.0)),
            ("-1.5", Float(-1.5)),
            ("+1.5", Float(1.5)),
            ("1_000.5", Float(1000.5)),
            ("1.0e-4", Float(1.0e-4)),
            ("1.0E+2", Float(100.0)),
            ("6.8523015e+5", Float(685230.15)),
            ("1.e+2", Float(100.0)),
            (".5e-1", Float(0.05)),
            ("190:20:30.15", Float(685230.15)),
            (".inf", Float(f64::INFINITY)),
            ("-.Inf", Float(f64::NEG_INFINITY)),
            ("1e-4", Str("1e-4".into())),
            ("1.0e4", Str("1.0e4".into())),
            ("1e4", Str("1e4".into())),
            ("-.5", Str("-.5".into())),
            ("+.5", Str("+.5".into())),
            ("1.2.3", Str("1.2.3".into())),
            // strings
            ("BANK_A", Str("BANK_A".into())),
            ("<<x", Str("<<x".into())),
            ("2001-12-14", Str("2001-12-14".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(&resolve_plain(text).unwrap(), expected, "{text:?}");
        }
        assert!(matches!(resolve_plain(".nan").unwrap(), Float(f) if f.is_nan()));
        assert!(matches!(resolve_plain(".NaN").unwrap(), Float(f) if f.is_nan()));
        assert_eq!(resolve_plain("-.nan").unwrap(), Str("-.nan".into()));
    }

    #[test]
    fn forms_without_digits_or_beyond_64_bits_are_errors() {
        for text in ["0b_", "0x_", "99999999999999999999", "-0x8000000000000001"] {
            assert!(matches!(resolve_plain(text), Err(ScalarError::BadInt(_))), "{text}");
        }
        assert_eq!(resolve_plain("-0x8000000000000000").unwrap(), Int(i64::MIN));
        assert_eq!(resolve_plain("="), Err(ScalarError::ValueKey));
    }

    /// A scalar of a parsed document, by key path from the root.
    fn at(doc: &MarkedYamlOwned, path: &[&str]) -> YamlDataOwned<MarkedYamlOwned> {
        let mut n = doc;
        for k in path {
            let YamlDataOwned::Mapping(m) = &n.data else { panic!("{k}: not a mapping") };
            n = m.iter().find(|(key, _)| matches!(&key.data, YamlDataOwned::Value(ScalarOwned::String(s)) if s == k)).expect(k).1;
        }
        n.data.clone()
    }

    #[test]
    fn merge_keys_follow_pyyaml_precedence() {
        // PyYAML: merged pairs first, the mapping's own keys override them; in a list of
        // mappings the earlier one wins. Quoted scalars stay strings.
        let text = "base: &b {x: 1, y: 1, z: 010}\nother: &o {y: 2, w: 2}\n\
                    m: {<<: *b, x: 0x10}\nl: {<<: [*o, *b]}\nq: {s: '010', t: \"yes\", u: yes}\n";
        let doc = crate::scenario::yaml::parse("t.yaml", text).unwrap();
        let int = |i| YamlDataOwned::Value(ScalarOwned::Integer(i));
        assert_eq!(at(&doc, &["m", "x"]), int(16));
        assert_eq!(at(&doc, &["m", "y"]), int(1));
        assert_eq!(at(&doc, &["m", "z"]), int(8));
        assert_eq!(at(&doc, &["l", "y"]), int(2), "the earlier mapping of the list wins");
        assert_eq!(at(&doc, &["l", "w"]), int(2));
        assert_eq!(at(&doc, &["l", "x"]), int(1));
        assert_eq!(at(&doc, &["q", "s"]), YamlDataOwned::Value(ScalarOwned::String("010".into())));
        assert_eq!(at(&doc, &["q", "t"]), YamlDataOwned::Value(ScalarOwned::String("yes".into())));
        assert_eq!(at(&doc, &["q", "u"]), YamlDataOwned::Value(ScalarOwned::Boolean(true)));
        let e = crate::scenario::yaml::parse("t.yaml", "a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, ""), "{e}");
        let e = crate::scenario::yaml::parse("t.yaml", "a:\n  b: !!binary aGk=\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "a.b"), "{e}");
    }

    #[test]
    fn explicit_core_tags_construct_their_type() {
        let core = |suffix: &str| Tag { handle: "tag:yaml.org,2002:".into(), suffix: suffix.into() };
        assert_eq!(resolve_tagged("010", &core("str")).unwrap(), Str("010".into()));
        assert_eq!(resolve_tagged("010", &core("int")).unwrap(), Int(8));
        assert_eq!(resolve_tagged("3", &core("float")).unwrap(), Float(3.0));
        assert_eq!(resolve_tagged("ON", &core("bool")).unwrap(), Bool(true));
        assert_eq!(resolve_tagged("anything", &core("null")).unwrap(), Null);
        assert!(resolve_tagged("maybe", &core("bool")).is_err());
        assert!(resolve_tagged("x", &core("binary")).is_err());
        assert!(resolve_tagged("x", &Tag { handle: "!".into(), suffix: "custom".into() }).is_err());
    }
}
