//! A backed-up collection schema as the protobuf `CollectionSchema` that `CreateCollection`
//! takes: fields in their original order (the import matches binlog folders by field id, and the
//! server assigns ids in creation order), the `$meta` field left out (the dynamic flag recreates
//! it), every type parameter, key flag, nullability and default value kept.

use ferry_core::backup::schema::{CollectionSchema, FieldSchema, KeyValue};
use milvus::proto::common::KeyValuePair;
use milvus::proto::schema as pb;
use serde_json::Value;

use crate::error::{MilvusError, Result};

/// Key/value pairs in the protobuf form.
pub fn pairs(values: &[KeyValue]) -> Vec<KeyValuePair> {
    values
        .iter()
        .map(|kv| KeyValuePair {
            key: kv.key.clone(),
            value: kv.value.clone(),
        })
        .collect()
}

/// The protobuf schema for `schema`, created under `name`.
pub fn to_proto(schema: &CollectionSchema, name: &str) -> Result<pb::CollectionSchema> {
    if schema.primary_key().is_none() {
        return Err(MilvusError::InvalidBackup(format!(
            "collection {name}: the backed-up schema has no primary-key field"
        )));
    }
    if !schema.struct_array_fields.is_empty() {
        return Err(MilvusError::Unsupported(format!(
            "collection {name}: struct-array fields are not restored by this Ferry"
        )));
    }
    if !schema.functions.is_empty() {
        return Err(MilvusError::Unsupported(format!(
            "collection {name}: schema functions (BM25, embeddings) are not restored by this Ferry"
        )));
    }
    let fields = schema
        .created_fields()
        .map(|f| field(f, name))
        .collect::<Result<Vec<_>>>()?;
    Ok(pb::CollectionSchema {
        name: name.to_string(),
        description: schema.description.clone(),
        fields,
        enable_dynamic_field: schema.enable_dynamic_field,
        ..Default::default()
    })
}

fn field(f: &FieldSchema, collection: &str) -> Result<pb::FieldSchema> {
    Ok(pb::FieldSchema {
        field_id: f.field_id,
        name: f.name.clone(),
        is_primary_key: f.is_primary_key,
        description: f.description.clone(),
        data_type: f.data_type,
        type_params: pairs(&f.type_params),
        index_params: pairs(&f.index_params),
        auto_id: f.auto_id,
        element_type: f.element_type,
        default_value: f
            .default_value
            .as_ref()
            .map(|v| default_value(v, f, collection))
            .transpose()?,
        is_dynamic: false,
        is_partition_key: f.is_partition_key,
        is_clustering_key: f.is_clustering_key,
        nullable: f.nullable,
        is_function_output: f.is_function_output,
        ..Default::default()
    })
}

/// A `schemapb.ValueField` written as JSON (`{"long_data": "5"}`, `{"string_data": "x"}`, …;
/// protobuf-JSON writes 64-bit integers as strings).
fn default_value(v: &Value, f: &FieldSchema, collection: &str) -> Result<pb::ValueField> {
    use pb::value_field::Data;
    let bad = || {
        MilvusError::InvalidBackup(format!(
            "collection {collection}: field {} has a default value Ferry cannot read: {v}",
            f.name
        ))
    };
    let obj = v.as_object().ok_or_else(bad)?;
    let Some((key, value)) = obj.iter().find(|(_, v)| !v.is_null()) else {
        return Ok(pb::ValueField { data: None });
    };
    let int = || -> Option<i64> {
        value
            .as_i64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
    };
    let float = || -> Option<f64> {
        value
            .as_f64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
    };
    let data = match key.as_str() {
        "bool_data" | "boolData" => Data::BoolData(value.as_bool().ok_or_else(bad)?),
        "int_data" | "intData" => {
            Data::IntData(int().and_then(|n| i32::try_from(n).ok()).ok_or_else(bad)?)
        }
        "long_data" | "longData" => Data::LongData(int().ok_or_else(bad)?),
        "float_data" | "floatData" => Data::FloatData(float().ok_or_else(bad)? as f32),
        "double_data" | "doubleData" => Data::DoubleData(float().ok_or_else(bad)?),
        "string_data" | "stringData" => Data::StringData(value.as_str().ok_or_else(bad)?.into()),
        _ => return Err(bad()),
    };
    Ok(pb::ValueField { data: Some(data) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(json: &str) -> CollectionSchema {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn keeps_order_and_parameters_and_drops_meta() {
        let s = schema(
            r#"{"name":"docs","description":"d","enable_dynamic_field":true,"fields":[
              {"fieldID":100,"name":"pk","is_primary_key":true,"data_type":5},
              {"fieldID":101,"name":"vec","data_type":101,"type_params":[{"key":"dim","value":"8"}]},
              {"fieldID":102,"name":"n","data_type":5,"default_value":{"long_data":"7"},"nullable":true},
              {"fieldID":103,"name":"$meta","data_type":23,"is_dynamic":true}]}"#,
        );
        let p = to_proto(&s, "docs_copy").unwrap();
        assert_eq!(p.name, "docs_copy");
        let names: Vec<_> = p.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["pk", "vec", "n"]);
        assert!(p.enable_dynamic_field);
        assert_eq!(p.fields[1].type_params[0].value, "8");
        assert_eq!(
            p.fields[2].default_value.as_ref().unwrap().data,
            Some(pb::value_field::Data::LongData(7))
        );
    }

    #[test]
    fn a_schema_without_primary_key_is_refused() {
        let s = schema(r#"{"fields":[{"name":"v","data_type":101}]}"#);
        assert!(to_proto(&s, "x")
            .unwrap_err()
            .to_string()
            .contains("primary"));
    }
}
