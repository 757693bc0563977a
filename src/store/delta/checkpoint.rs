//! Delta checkpoints: a snapshot's live state (protocol, metadata, application markers, live
//! files, recent tombstones) as one Parquet file in the protocol's classic checkpoint schema,
//! so that readers start from it instead of replaying every commit.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::{LineDelimitedWriter, ReaderBuilder};
use datafusion::parquet::arrow::{ArrowWriter, ProjectionMask};
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;

use super::Snapshot;
use super::action::{Action, Txn};

/// Tombstones younger than this stay in a checkpoint (Delta's default
/// `delta.deletedFileRetentionDuration`: a week); older ones are left to `gc` as unlisted files.
pub const TOMBSTONE_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// A checkpoint that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Arrow could not convert the actions.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    /// The Parquet file could not be written or read.
    #[error(transparent)]
    Parquet(#[from] ParquetError),
    /// A row is not an action.
    #[error("row {row}: {problem}")]
    Row {
        /// 0-based row in the checkpoint.
        row: usize,
        /// What is wrong with it.
        problem: String,
    },
}

fn string_map(name: &str) -> Field {
    let entries = Fields::from(vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::Utf8, true)]);
    Field::new(name, DataType::Map(Arc::new(Field::new("key_value", DataType::Struct(entries), false)), false), true)
}

fn strukt(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

fn long(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn string(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn boolean(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}

/// The columns of a checkpoint: one struct per action kind, one action per row.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        strukt("txn", vec![string("appId"), long("version"), long("lastUpdated")]),
        strukt(
            "add",
            vec![
                string("path"),
                string_map("partitionValues"),
                long("size"),
                long("modificationTime"),
                boolean("dataChange"),
                string("stats"),
                string_map("tags"),
            ],
        ),
        strukt("remove", vec![string("path"), long("deletionTimestamp"), boolean("dataChange"), string_map("partitionValues"), long("size")]),
        strukt(
            "metaData",
            vec![
                string("id"),
                string("name"),
                string("description"),
                strukt("format", vec![string("provider"), string_map("options")]),
                string("schemaString"),
                Field::new("partitionColumns", DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))), true),
                string_map("configuration"),
                long("createdTime"),
            ],
        ),
        strukt("protocol", vec![Field::new("minReaderVersion", DataType::Int32, true), Field::new("minWriterVersion", DataType::Int32, true)]),
    ]))
}

/// The actions that rebuild `snap`: protocol, metadata, markers, live files, and tombstones
/// deleted after `tombstones_since_ms`.
pub fn actions(snap: &Snapshot, tombstones_since_ms: i64) -> Vec<Action> {
    let mut out = Vec::with_capacity(2 + snap.txns.len() + snap.files.len());
    out.extend(snap.protocol.clone().map(Action::Protocol));
    out.extend(snap.metadata.clone().map(Action::MetaData));
    out.extend(snap.txns.iter().map(|(app, v)| Action::Txn(Txn { app_id: app.clone(), version: *v, last_updated: None })));
    out.extend(snap.files.values().cloned().map(Action::Add));
    out.extend(snap.tombstones.values().filter(|r| r.deletion_timestamp.unwrap_or(0) >= tombstones_since_ms).cloned().map(Action::Remove));
    out
}

/// `actions` as a checkpoint file.
pub fn encode(actions: &[Action]) -> Result<Vec<u8>, CheckpointError> {
    let schema = schema();
    let mut decoder = ReaderBuilder::new(schema.clone()).with_batch_size(8192).build_decoder()?;
    let mut batches = Vec::new();
    for chunk in actions.chunks(8192) {
        let lines: Vec<String> = chunk.iter().map(Action::to_line).collect();
        decoder.decode(lines.join("\n").as_bytes())?;
        batches.extend(decoder.flush()?);
    }
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid zstd level"))).build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props))?;
    for b in &batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(out)
}

/// The actions of a checkpoint file (written by simcash or another Delta writer); without
/// `tombstones`, its `remove` actions are not even decoded (only vacuum needs them).
pub fn decode(bytes: Bytes, tombstones: bool) -> Result<Vec<Action>, CheckpointError> {
    let builder = crate::store::footer::checked_builder(bytes, Default::default())?;
    let roots: Vec<usize> = (0..builder.parquet_schema().root_schema().get_fields().len())
        .filter(|&i| tombstones || builder.parquet_schema().root_schema().get_fields()[i].name() != "remove")
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder.with_projection(mask).with_batch_size(8192).build()?;
    let mut actions = Vec::new();
    for batch in reader {
        let batch = batch?;
        // Application markers (most rows of a `simulations` checkpoint) are read straight from
        // their columns; the other rows go through the actions' JSON form.
        let txns = txn_columns(&batch);
        let others = match &txns {
            Some((valid, _, _)) => filter_record_batch(&batch, &datafusion::arrow::compute::not(valid)?)?,
            None => batch.clone(),
        };
        let mut text = Vec::new();
        let mut w = LineDelimitedWriter::new(&mut text);
        w.write(&others)?;
        w.finish()?;
        let text = String::from_utf8_lossy(&text);
        let mut lines = text.lines();
        for i in 0..batch.num_rows() {
            let row = actions.len();
            if let Some((valid, app, version)) = &txns
                && valid.value(i)
            {
                let (Some(app_id), Some(version)) = (app.is_valid(i).then(|| app.value(i)), version.is_valid(i).then(|| version.value(i))) else {
                    return Err(CheckpointError::Row { row, problem: "txn without appId or version".into() });
                };
                actions.push(Action::Txn(Txn { app_id: app_id.to_owned(), version, last_updated: None }));
                continue;
            }
            let line = lines.next().unwrap_or_default();
            match Action::from_line(line) {
                Ok(Some(a)) => actions.push(a),
                Ok(None) => {}
                Err(e) => return Err(CheckpointError::Row { row, problem: e.to_string() }),
            }
        }
    }
    Ok(actions)
}

/// The rows holding a `txn`, and its `appId` and `version` columns, when the batch has them.
fn txn_columns(batch: &RecordBatch) -> Option<(BooleanArray, StringArray, Int64Array)> {
    let txn = batch.column_by_name("txn")?.as_struct_opt()?;
    let app = txn.column_by_name("appId")?.as_string_opt::<i32>()?.clone();
    let version = txn.column_by_name("version")?.as_primitive_opt::<Int64Type>()?.clone();
    let valid = (0..batch.num_rows()).map(|i| Some(txn.is_valid(i))).collect();
    Some((valid, app, version))
}

/// The `_last_checkpoint` file's content for a checkpoint of `rows` actions at `version`.
pub fn last_checkpoint(version: i64, rows: usize) -> String {
    serde_json::json!({"version": version, "size": rows}).to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::action::{Add, Format, Metadata, Protocol, Remove};
    use super::*;

    fn snapshot() -> Snapshot {
        let pv = BTreeMap::from([("experiment_id".to_owned(), Some("e".to_owned()))]);
        let add = |p: &str, tags| Add {
            path: p.into(),
            partition_values: pv.clone(),
            size: 10,
            modification_time: 5,
            data_change: true,
            stats: Some(r#"{"numRecords":3,"minValues":{"tick":0}}"#.into()),
            tags,
        };
        let remove = |p: &str, t| Remove { path: p.into(), deletion_timestamp: Some(t), data_change: false, partition_values: Some(pv.clone()), size: Some(4) };
        Snapshot {
            version: 12,
            protocol: Some(Protocol { min_reader_version: 1, min_writer_version: 2 }),
            metadata: Some(Metadata {
                id: "id".into(),
                name: Some("events".into()),
                format: Format { provider: "parquet".into(), options: BTreeMap::new() },
                schema_string: r#"{"type":"struct","fields":[]}"#.into(),
                partition_columns: vec!["experiment_id".into()],
                configuration: BTreeMap::from([("k".into(), "v".into())]),
                created_time: Some(1),
            }),
            files: BTreeMap::from([
                ("a.parquet".into(), add("a.parquet", None)),
                ("b.parquet".into(), add("b.parquet", Some(BTreeMap::from([("simcash.group".into(), Some("g1".into()))])))),
            ]),
            txns: BTreeMap::from([("simcash.group/g1".into(), 1), ("simcash.simulation/e/0/s".into(), 3)]),
            tombstones: BTreeMap::from([("old.parquet".into(), remove("old.parquet", 100)), ("new.parquet".into(), remove("new.parquet", 900))]),
        }
    }

    #[test]
    fn a_checkpoint_rebuilds_the_snapshot_it_was_made_from() {
        let snap = snapshot();
        let actions = actions(&snap, 500);
        let file = Bytes::from(encode(&actions).unwrap());
        let without = decode(file.clone(), false).unwrap();
        assert_eq!(without, actions.iter().filter(|a| !matches!(a, Action::Remove(_))).cloned().collect::<Vec<_>>());
        let decoded = decode(file, true).unwrap();
        assert_eq!(decoded, actions);
        let mut rebuilt = Snapshot::default();
        rebuilt.apply(snap.version, decoded);
        assert_eq!(rebuilt.files, snap.files);
        assert_eq!(rebuilt.txns, snap.txns);
        assert_eq!((rebuilt.protocol, rebuilt.metadata), (snap.protocol, snap.metadata));
        assert_eq!(rebuilt.tombstones.keys().collect::<Vec<_>>(), ["new.parquet"], "tombstones older than the cut are dropped");
    }
}
