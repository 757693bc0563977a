//! SimCash's built-in policies as embedded JSON trees (see `builtin/README.md`).

/// `(policy type, JSON text)` of every built-in tree policy.
pub const FILES: &[(&str, &str)] = &[
    ("Fifo", include_str!("builtin/fifo.json")),
    ("Deadline", include_str!("builtin/deadline.json")),
    ("LiquidityAware", include_str!("builtin/liquidity_aware.json")),
    ("LiquiditySplitting", include_str!("builtin/liquidity_splitting.json")),
    ("MockSplitting", include_str!("builtin/mock_splitting.json")),
];

/// The JSON document of a built-in policy type.
pub fn document(kind: &str) -> Option<serde_json::Value> {
    FILES.iter().find(|(k, _)| *k == kind).map(|(_, text)| serde_json::from_str(text).expect("built-in policies are valid JSON"))
}
