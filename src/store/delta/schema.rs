//! Arrow schemas as Delta Lake's JSON struct type (`schemaString` of the table metadata).
//! Delta has no unsigned integers and no dictionary type: dictionaries are `string`
//! (the dictionary is a Parquet encoding), unsigned columns are refused.

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde_json::{Value, json};

/// A column whose Arrow type Delta Lake cannot describe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}`: Arrow type {data_type} has no Delta Lake type")]
pub struct UnsupportedType {
    /// The column (dotted for nested fields).
    pub column: String,
    /// The Arrow type, rendered.
    pub data_type: String,
}

fn delta_type(column: &str, t: &DataType) -> Result<Value, UnsupportedType> {
    Ok(match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => json!("string"),
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8) => json!("string"),
        DataType::Int8 => json!("byte"),
        DataType::Int16 => json!("short"),
        DataType::Int32 => json!("integer"),
        DataType::Int64 => json!("long"),
        DataType::Float32 => json!("float"),
        DataType::Float64 => json!("double"),
        DataType::Boolean => json!("boolean"),
        DataType::Binary | DataType::LargeBinary => json!("binary"),
        DataType::Date32 => json!("date"),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" || tz.as_ref() == "+00:00" => json!("timestamp"),
        DataType::Timestamp(TimeUnit::Microsecond, None) => json!("timestamp_ntz"),
        DataType::List(item) | DataType::LargeList(item) => json!({
            "type": "array",
            "elementType": delta_type(&format!("{column}.element"), item.data_type())?,
            "containsNull": item.is_nullable(),
        }),
        DataType::Struct(fields) => struct_type(column, fields.iter().map(|f| f.as_ref()))?,
        other => return Err(UnsupportedType { column: column.to_owned(), data_type: other.to_string() }),
    })
}

fn struct_type<'a>(prefix: &str, fields: impl Iterator<Item = &'a Field>) -> Result<Value, UnsupportedType> {
    let fields = fields
        .map(|f| {
            let name = if prefix.is_empty() { f.name().clone() } else { format!("{prefix}.{}", f.name()) };
            Ok(json!({"name": f.name(), "type": delta_type(&name, f.data_type())?, "nullable": f.is_nullable(), "metadata": {}}))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"type": "struct", "fields": fields}))
}

/// The Delta `schemaString` of a table: its data columns, then its partition columns.
pub fn schema_string(schema: &Schema, partition: &[(&str, DataType)]) -> Result<String, UnsupportedType> {
    let partition_fields: Vec<Field> = partition.iter().map(|(n, t)| Field::new(*n, t.clone(), false)).collect();
    let all = schema.fields().iter().map(|f| f.as_ref()).chain(partition_fields.iter());
    Ok(struct_type("", all)?.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn arrow_types_map_to_delta_primitives() {
        let schema = Schema::new(vec![
            Field::new("seq", DataType::Int64, false),
            Field::new("agent", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), true),
            Field::new("ids", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true),
            Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
        ]);
        let s: Value = serde_json::from_str(&schema_string(&schema, &[("experiment_id", DataType::Utf8)]).unwrap()).unwrap();
        let types: Vec<&Value> = s["fields"].as_array().unwrap().iter().map(|f| &f["type"]).collect();
        assert_eq!(types[0], "long");
        assert_eq!(types[1], "string");
        assert_eq!(types[2], &json!({"type": "array", "elementType": "string", "containsNull": true}));
        assert_eq!(types[3], "timestamp");
        assert_eq!(s["fields"][4]["name"], "experiment_id");
        assert_eq!(s["fields"][0]["nullable"], false);
    }

    #[test]
    fn unsigned_integers_are_refused_naming_the_column() {
        let schema = Schema::new(vec![Field::new("tick", DataType::UInt32, false)]);
        let e = schema_string(&schema, &[]).unwrap_err();
        assert_eq!(e.column, "tick");
        assert!(e.to_string().contains("UInt32"), "{e}");
    }
}
