//! Per-file statistics for the log's `add` actions (`numRecords`, `minValues`, `maxValues`,
//! `nullCount`), folded from a Parquet file's row-group statistics, so readers (simcash's
//! own, deltalake, polars, Spark) skip files without opening them.

use datafusion::parquet::basic::{LogicalType, Type as PhysicalType};
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::statistics::Statistics;
use serde_json::{Map, Value, json};

/// One column's folded statistics.
#[derive(Default)]
struct Column {
    min: Option<Value>,
    max: Option<Value>,
    nulls: Option<u64>,
    /// A row group without min/max makes the file's bounds unknown.
    unbounded: bool,
}

/// Orders two JSON scalars of one column (integers or strings).
fn less(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x < y,
        (Value::Number(x), Value::Number(y)) => x.as_i64() < y.as_i64(),
        _ => false,
    }
}

/// Min and max of one row group as JSON, for integers and strings; `None` for booleans,
/// timestamps, binary, bounds that are not valid UTF-8, and floats (Parquet leaves NaN out
/// of its bounds, so they cannot say whether a file holds one).
fn bounds(s: &Statistics, logical: Option<&LogicalType>) -> Option<(Value, Value)> {
    if matches!(logical, Some(LogicalType::Timestamp { .. } | LogicalType::Date)) {
        return None;
    }
    let utf8 = |b: Option<&[u8]>| b.and_then(|b| std::str::from_utf8(b).ok()).map(|s| json!(s));
    match s {
        Statistics::Int32(v) => Some((json!(*v.min_opt()?), json!(*v.max_opt()?))),
        Statistics::Int64(v) => Some((json!(*v.min_opt()?), json!(*v.max_opt()?))),
        Statistics::ByteArray(v) if matches!(logical, Some(LogicalType::String)) => Some((utf8(v.min_bytes_opt())?, utf8(v.max_bytes_opt())?)),
        _ => None,
    }
}

/// The `stats` text of a file from its Parquet metadata. Only top-level columns are
/// described (Delta keeps no bounds for lists); a column without statistics in some row
/// group gets no bounds.
pub fn from_parquet(meta: &ParquetMetaData) -> String {
    let schema = meta.file_metadata().schema_descr();
    let mut columns: Vec<(String, Column)> = Vec::new();
    for i in 0..schema.num_columns() {
        let d = schema.column(i);
        let parts = d.path().parts();
        if parts.len() != 1 || d.physical_type() == PhysicalType::BOOLEAN {
            continue;
        }
        // Null counts add up only while every row group reports one.
        let mut c = Column { nulls: Some(0), ..Column::default() };
        for rg in meta.row_groups() {
            let Some(s) = rg.column(i).statistics() else {
                c.unbounded = true;
                c.nulls = None;
                break;
            };
            c.nulls = c.nulls.zip(s.null_count_opt()).map(|(acc, n)| acc + n);
            // A row group of nulls only has no bounds and narrows nothing.
            if rg.column(i).num_values() == s.null_count_opt().unwrap_or(0) as i64 {
                continue;
            }
            match bounds(s, d.logical_type_ref()) {
                Some((lo, hi)) => {
                    if c.min.as_ref().is_none_or(|m| less(&lo, m)) {
                        c.min = Some(lo);
                    }
                    if c.max.as_ref().is_none_or(|m| less(m, &hi)) {
                        c.max = Some(hi);
                    }
                }
                None => c.unbounded = true,
            }
        }
        columns.push((parts[0].clone(), c));
    }
    let (mut min, mut max, mut nulls) = (Map::new(), Map::new(), Map::new());
    for (name, c) in columns {
        if let Some(n) = c.nulls {
            nulls.insert(name.clone(), json!(n));
        }
        if c.unbounded {
            continue;
        }
        if let (Some(lo), Some(hi)) = (c.min, c.max) {
            min.insert(name.clone(), lo);
            max.insert(name, hi);
        }
    }
    json!({"numRecords": meta.file_metadata().num_rows(), "minValues": min, "maxValues": max, "nullCount": nulls}).to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int32Array, ListArray, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;

    use super::*;

    #[test]
    fn statistics_fold_over_row_groups() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("simulation_id", DataType::Utf8, false),
            Field::new("tick", DataType::Int32, true),
            Field::new("cost", DataType::Float64, true),
            Field::new("settled", DataType::Boolean, true),
            Field::new("agent", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), true),
            Field::new("ids", DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), true),
            Field::new("empty", DataType::Int32, true),
        ]));
        let agent: datafusion::arrow::array::DictionaryArray<Int32Type> = vec![Some("B"), None, Some("A"), Some("C")].into_iter().collect();
        let ids = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)]), None, Some(vec![]), None]);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["sim-b", "sim-b", "sim-a", "sim-c"])),
            Arc::new(Int32Array::from(vec![Some(7), None, Some(-3), Some(2)])),
            Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None, Some(0.5)])),
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false), None])),
            Arc::new(agent),
            Arc::new(ids),
            Arc::new(Int32Array::from(vec![None, None, None, None])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
        let mut buf = Vec::new();
        // Two rows a row group: bounds must fold across groups.
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(2)).build();
        let mut w = ArrowWriter::try_new(&mut buf, schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        let meta = w.close().unwrap();
        assert_eq!(meta.num_row_groups(), 2);
        let stats: Value = serde_json::from_str(&from_parquet(&meta)).unwrap();
        assert_eq!(stats["numRecords"], 4);
        assert_eq!(stats["minValues"]["simulation_id"], "sim-a");
        assert_eq!(stats["maxValues"]["simulation_id"], "sim-c");
        assert_eq!((&stats["minValues"]["tick"], &stats["maxValues"]["tick"]), (&json!(-3), &json!(7)));
        assert_eq!((&stats["minValues"]["agent"], &stats["maxValues"]["agent"]), (&json!("A"), &json!("C")));
        assert_eq!(stats["nullCount"]["tick"], 1);
        assert_eq!(stats["nullCount"]["agent"], 1);
        assert_eq!(stats["nullCount"]["empty"], 4);
        // No bounds for booleans, lists, floats (NaN is outside Parquet's bounds), a column of
        // nulls only.
        for c in ["settled", "ids", "empty", "cost"] {
            assert!(stats["minValues"].get(c).is_none(), "{c}: {stats}");
        }
    }
}
