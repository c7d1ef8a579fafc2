//! Godot `Dictionary` → `serde_json::Value`, so the option parsing in
//! [`crate::backend::config`] stays engine-free and unit-tested. Only the types a
//! configuration can sensibly hold convert; anything else is an error naming the key.

use crate::backend::Error;
use godot::prelude::*;
use serde_json::{Map, Number, Value};

/// Converts an option dictionary; `what` names it in errors ("configuration", "options").
pub fn dictionary_to_json(dictionary: &VarDictionary, what: &str) -> Result<Value, Error> {
    convert(&dictionary.to_variant(), what, 0)
}

const MAX_DEPTH: usize = 16;

fn convert(value: &Variant, path: &str, depth: usize) -> Result<Value, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::option(path, "nested too deeply"));
    }
    let converted = match value.get_type() {
        VariantType::NIL => Value::Null,
        VariantType::BOOL => Value::Bool(value.to::<bool>()),
        VariantType::INT => Value::Number(Number::from(value.to::<i64>())),
        VariantType::FLOAT => {
            let float = value.to::<f64>();
            Value::Number(Number::from_f64(float).ok_or_else(|| {
                Error::option(path, format!("expected a finite number, got {float}"))
            })?)
        }
        VariantType::STRING | VariantType::STRING_NAME => {
            Value::String(value.to::<GString>().to_string())
        }
        VariantType::PACKED_STRING_ARRAY => Value::Array(
            value
                .to::<PackedStringArray>()
                .as_slice()
                .iter()
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        VariantType::ARRAY => {
            // Typed (`Array[Dictionary]`) or untyped: both hold variants. `VarArray` would
            // refuse a typed one with a panic.
            let array = value.to::<AnyArray>();
            let mut items = Vec::with_capacity(array.len());
            for (index, item) in array.iter_shared().enumerate() {
                items.push(convert(&item, &format!("{path}[{index}]"), depth + 1)?);
            }
            Value::Array(items)
        }
        VariantType::DICTIONARY => {
            // Typed (`Dictionary[String, Variant]`) or untyped, as for arrays.
            let dictionary = value.to::<AnyDictionary>();
            let mut map = Map::new();
            for (key, item) in dictionary.iter_shared() {
                let name = match key.get_type() {
                    VariantType::STRING | VariantType::STRING_NAME => {
                        key.to::<GString>().to_string()
                    }
                    other => {
                        return Err(Error::option(
                            path,
                            format!("keys must be Strings, got {other:?} key {key}"),
                        ))
                    }
                };
                // Top-level keys are reported bare ("iceServers"), nested ones with their path.
                let child = if depth == 0 {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                map.insert(name, convert(&item, &child, depth + 1)?);
            }
            Value::Object(map)
        }
        other => {
            return Err(Error::option(
                path,
                format!("unsupported value {value} of type {other:?}"),
            ))
        }
    };
    Ok(converted)
}
