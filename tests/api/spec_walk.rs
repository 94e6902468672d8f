//! Walking the served OpenAPI document, so tests cover every operation and
//! field the day it is added: schemas resolved, a well-typed value for each,
//! and the operations with concrete paths.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::unknown_id;

/// Follows `$ref`s into `components.schemas`.
pub fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.strip_prefix("#/components/schemas/").expect("a local schema ref");
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The non-null variant of a nullable schema (`oneOf [X, null]`, `type: [T, "null"]`).
pub fn non_null<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    let schema = resolve(spec, schema);
    // A schema with a type or properties of its own is the object; its
    // combinators only constrain it (`rules::ALTERNATIVES`).
    if schema.get("type").is_some() || schema.get("properties").is_some() {
        return schema;
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema.get(combinator).and_then(Value::as_array) {
            let variant = variants.iter().find(|v| v["type"] != "null").expect("a non-null variant");
            return non_null(spec, variant);
        }
    }
    schema
}

pub fn type_of(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(types) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ if schema.get("enum").is_some() => "string",
        _ => "any",
    }
}

/// A value of the right type for `schema` (valid or not, but one serde takes):
/// objects with their required fields, lists with one item.
pub fn baseline(spec: &Value, schema: &Value) -> Value {
    let schema = non_null(spec, schema);
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match type_of(schema) {
        "object" => {
            let required: Vec<&str> =
                schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if required.contains(&name.as_str()) {
                    object.insert(name.clone(), baseline(spec, property));
                }
            }
            Value::Object(object)
        }
        "array" => json!([baseline(spec, &schema["items"])]),
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(true),
        "string" if schema["format"] == "date-time" => json!("2030-01-01T00:00:00Z"),
        "string" if schema["format"] == "email" => json!("someone@example.com"),
        _ => json!("text"),
    }
}

/// `path` with every `{param}` replaced by an id that names nothing.
pub fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') { unknown_id() } else { segment.to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

pub fn operations(spec: &Value) -> Vec<(Method, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (verb, method) in
            [("get", Method::GET), ("post", Method::POST), ("put", Method::PUT), ("patch", Method::PATCH)]
        {
            if let Some(operation) = item.get(verb) {
                out.push((method, path.clone(), operation.clone()));
            }
        }
    }
    out
}
