//! The Delta Lake log actions simcash writes and reads (protocol reader 1 / writer 2:
//! append-only tables without deletion vectors or column mapping). One action per line of a
//! commit file; actions of other kinds that other writers add are skipped when reading.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The reader and writer versions a client needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// 1: plain Parquet files, JSON statistics.
    pub min_reader_version: u32,
    /// 2: append-only and column invariants may be declared.
    pub min_writer_version: u32,
}

/// The file format of the data files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// Always `parquet`.
    pub provider: String,
    /// Format options (none).
    pub options: BTreeMap<String, String>,
}

/// The table's metadata: schema and partition columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// A unique id of the table.
    pub id: String,
    /// The table name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Data file format.
    pub format: Format,
    /// The schema as Delta's JSON struct type, serialized to a string.
    pub schema_string: String,
    /// Partition columns, in path order.
    pub partition_columns: Vec<String>,
    /// Table properties (`delta.appendOnly`, simcash's schema version).
    #[serde(default)]
    pub configuration: BTreeMap<String, String>,
    /// Creation time, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
}

/// A data file joins the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Add {
    /// Path relative to the table root, URL-encoded.
    pub path: String,
    /// Partition column values as strings (absent value: null).
    pub partition_values: BTreeMap<String, Option<String>>,
    /// Size in bytes.
    pub size: i64,
    /// Milliseconds since the epoch.
    pub modification_time: i64,
    /// False when the rows were already in the table (compaction).
    pub data_change: bool,
    /// Per-file statistics: `numRecords`, `minValues`, `maxValues`, `nullCount`, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Application tags of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, Option<String>>>,
}

/// A data file leaves the table (its rows were rewritten elsewhere, or removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remove {
    /// Path relative to the table root, URL-encoded, as it was added.
    pub path: String,
    /// Milliseconds since the epoch; vacuum keeps the file for a retention period after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<i64>,
    /// False when the rows stay in the table (compaction).
    pub data_change: bool,
    /// Partition values of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_values: Option<BTreeMap<String, Option<String>>>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// An application's idempotent-write marker: the latest version of `app_id` committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Txn {
    /// The writer (e.g. a sweep shard).
    pub app_id: String,
    /// Its monotonically increasing batch number.
    pub version: i64,
    /// Milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<i64>,
}

/// One line of a commit file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Reader/writer versions.
    Protocol(Protocol),
    /// Schema and partitioning.
    MetaData(Metadata),
    /// A file joins the table.
    Add(Add),
    /// A file leaves the table.
    Remove(Remove),
    /// An application's batch marker.
    Txn(Txn),
    /// Free-form provenance (operation, time, engine).
    CommitInfo(serde_json::Map<String, serde_json::Value>),
}

impl Action {
    /// Parses one line of a commit file; `Ok(None)` for an action of a kind simcash does not
    /// use (`cdc`, `domainMetadata`, …), which readers must skip.
    pub fn from_line(line: &str) -> Result<Option<Action>, serde_json::Error> {
        if let Ok(a) = serde_json::from_str(line) {
            return Ok(Some(a));
        }
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)?;
        const KNOWN: &[&str] = &["protocol", "metaData", "add", "remove", "txn", "commitInfo"];
        if !map.keys().any(|k| KNOWN.contains(&k.as_str())) {
            return Ok(None);
        }
        serde_json::from_value(serde_json::Value::Object(map)).map(Some)
    }

    /// The action as one line of a commit file (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("actions serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_use_the_protocols_names() {
        let add = Action::Add(Add {
            path: "experiment_id=adhoc/part-1.parquet".into(),
            partition_values: BTreeMap::from([("experiment_id".into(), Some("adhoc".into()))]),
            size: 10,
            modification_time: 5,
            data_change: true,
            stats: Some("{\"numRecords\":3}".into()),
            tags: None,
        });
        let line = add.to_line();
        assert_eq!(
            line,
            r#"{"add":{"path":"experiment_id=adhoc/part-1.parquet","partitionValues":{"experiment_id":"adhoc"},"size":10,"modificationTime":5,"dataChange":true,"stats":"{\"numRecords\":3}"}}"#
        );
        assert_eq!(Action::from_line(&line).unwrap(), Some(add));
        let p = Action::Protocol(Protocol { min_reader_version: 1, min_writer_version: 2 });
        assert_eq!(p.to_line(), r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#);
    }

    #[test]
    fn actions_of_other_kinds_are_skipped_and_garbage_is_an_error() {
        assert_eq!(Action::from_line(r#"{"domainMetadata":{"domain":"x","configuration":"{}","removed":false}}"#).unwrap(), None);
        assert!(Action::from_line("{not json").is_err());
        assert!(Action::from_line(r#"{"add":{"path":1}}"#).is_err());
    }

    #[test]
    fn a_remove_written_by_another_engine_parses() {
        // Spark writes extendedFileMetadata and tags; unknown fields are ignored.
        let line = r#"{"remove":{"path":"a.parquet","deletionTimestamp":7,"dataChange":false,"extendedFileMetadata":true,"size":3}}"#;
        let Some(Action::Remove(r)) = Action::from_line(line).unwrap() else { panic!() };
        assert_eq!((r.path.as_str(), r.deletion_timestamp, r.data_change, r.size), ("a.parquet", Some(7), false, Some(3)));
    }
}
