//! Changes to a record of a register (vendors, agreements, breaches), as JSON merge patches
//! (RFC 7396): the fields given replace the kept ones, `null` removes an optional one, and the
//! result is checked as a whole, as if it had been written so.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::AppError;

/// `current` with `patch` applied, read back as its type, and the top-level fields whose value
/// changed. A field the type does not have, or a value of the wrong form, is answered naming
/// that field.
pub(crate) fn merged<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: &Value,
) -> Result<(T, Vec<String>), AppError> {
    let Value::Object(changes) = patch else {
        return Err(AppError::invalid(
            "body",
            "a change is a JSON object of the fields to replace",
        ));
    };
    let base = serde_json::to_value(current).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut doc = base.clone();
    merge(&mut doc, patch);
    match serde_json::from_value::<T>(doc.clone()) {
        Ok(value) => {
            let mut changed: Vec<String> = changes
                .keys()
                .filter(|k| base.get(k.as_str()) != doc.get(k.as_str()))
                .cloned()
                .collect();
            changed.sort_unstable();
            Ok((value, changed))
        }
        Err(_) => Err(at_fault::<T>(&base, changes)),
    }
}

/// The first field whose change alone makes the record unreadable: serde's own message would
/// repeat the value, so the field is found by trying each change on its own.
fn at_fault<T: DeserializeOwned>(base: &Value, changes: &Map<String, Value>) -> AppError {
    for (key, value) in changes {
        let mut one = base.clone();
        merge(
            &mut one,
            &Value::Object(Map::from_iter([(key.clone(), value.clone())])),
        );
        if serde_json::from_value::<T>(one).is_err() {
            let message = if base.get(key).is_some() {
                "does not have the form this field takes"
            } else {
                "is not a field of this record"
            };
            return AppError::invalid(key.as_str(), message);
        }
    }
    AppError::invalid("body", "the fields given do not fit together")
}

fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(kept) = target {
        for (key, value) in changes {
            if value.is_null() {
                kept.remove(key);
            } else {
                merge(kept.entry(key.as_str()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Thing {
        name: String,
        #[serde(default)]
        note: Option<String>,
        limits: Limits,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Limits {
        low: u8,
        high: u8,
    }

    fn thing() -> Thing {
        Thing {
            name: "a".into(),
            note: Some("n".into()),
            limits: Limits { low: 1, high: 9 },
        }
    }

    fn field_of(e: AppError) -> String {
        match e {
            AppError::Invalid(errors) => {
                assert!(!errors[0].message.contains("secret"), "{errors:?}");
                errors[0].field.clone()
            }
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn given_fields_replace_nested_ones_merge_and_null_removes() {
        let (changed, keys) = merged(
            &thing(),
            &json!({"name": "b", "note": null, "limits": {"high": 5}}),
        )
        .expect("merged");
        assert_eq!(
            changed,
            Thing {
                name: "b".into(),
                note: None,
                limits: Limits { low: 1, high: 5 },
            }
        );
        assert_eq!(keys, ["limits", "name", "note"]);
        let (_, none) = merged(&thing(), &json!({"name": "a"})).expect("same");
        assert!(none.is_empty(), "a value given as it was is no change");
    }

    #[test]
    fn the_field_at_fault_is_named() {
        let unknown = merged(&thing(), &json!({"name": "b", "colour": "red"}));
        assert_eq!(field_of(unknown.expect_err("unknown")), "colour");
        let wrong = merged(&thing(), &json!({"limits": {"low": "secret"}}));
        assert_eq!(field_of(wrong.expect_err("wrong form")), "limits");
        let removed = merged(&thing(), &json!({"name": null}));
        assert_eq!(field_of(removed.expect_err("required")), "name");
        assert_eq!(
            field_of(merged(&thing(), &json!([1])).expect_err("not an object")),
            "body"
        );
    }
}
