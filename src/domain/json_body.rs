//! Reading a JSON request body field by field, so that a field of the wrong type is
//! reported with its path and the reading goes on: a JSON value that refuses a key given
//! twice, and a [`Reader`] that takes the fields a request knows, records every wrong
//! type and every unknown field, and treats a wrongly typed field as absent.
//!
//! Problems never quote the value; each route words what it expects of a field.

use super::problems::FieldProblem;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// A JSON value in which no object gives the same key twice. serde_json's own `Value`
/// keeps the last of two equal keys without a word; a body that says two things about
/// one field is ambiguous, so it is refused with serde's `duplicate field` error.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonBody(pub Value);

impl<'de> Deserialize<'de> for JsonBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor).map(JsonBody)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this is never `Null` for a parsed body.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        JsonBody::deserialize(d).map(|b| b.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonBody(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let JsonBody(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The path of field `name` inside `parent` (`contact` + `email` → `contact.email`).
pub fn field_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The path of item `index` of the list at `parent` (`labs` + 1 → `labs[1]`).
pub fn item_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Whether a problem with `outer` already speaks for `inner`: the same field, or one
/// inside it (`labs[1]` covers `labs[1].value`; the empty path, the whole body,
/// covers everything).
pub fn covers(outer: &str, inner: &str) -> bool {
    outer.is_empty()
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// The fields of one object of the body, taken one at a time.
#[derive(Debug)]
pub struct Fields {
    path: String,
    map: Map<String, Value>,
}

impl Fields {
    /// Takes field `name`; `None` when it is absent or `null` (the two mean the same).
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    /// The path of field `name` of this object.
    pub fn path(&self, name: &str) -> String {
        field_path(&self.path, name)
    }
}

/// Reads a body's fields into typed values, collecting what is wrong with its shape:
/// fields of the wrong JSON type (with what the route expects of them) and fields the
/// route does not know.
#[derive(Debug, Default)]
pub struct Reader {
    wrong: Vec<FieldProblem>,
    unknown: Vec<FieldProblem>,
}

impl Reader {
    /// A reader that has found nothing wrong yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the field at `path` has the wrong type; `expected` says what it
    /// should be ("must be text").
    pub fn wrong(&mut self, path: &str, expected: &str) {
        self.wrong.push(FieldProblem::new(path, expected));
    }

    /// The object at `path`, whose fields may only be those named in `known` (others
    /// are recorded as unknown). `None` when it is absent, or not an object (recorded).
    pub fn object(
        &mut self,
        path: &str,
        value: Option<Value>,
        known: &[&str],
        expected: &str,
    ) -> Option<Fields> {
        match value? {
            Value::Object(map) => {
                for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
                    self.unknown.push(FieldProblem::new(
                        field_path(path, key),
                        "is not a known field",
                    ));
                }
                Some(Fields {
                    path: path.to_owned(),
                    map,
                })
            }
            _ => {
                self.wrong(path, expected);
                None
            }
        }
    }

    /// The list at `path`; `None` when absent, or not a list (recorded).
    pub fn list(&mut self, path: &str, value: Option<Value>, expected: &str) -> Option<Vec<Value>> {
        match value? {
            Value::Array(items) => Some(items),
            _ => {
                self.wrong(path, expected);
                None
            }
        }
    }

    /// The text at `path`; `None` when absent, or not a string (recorded).
    pub fn string(&mut self, path: &str, value: Option<Value>, expected: &str) -> Option<String> {
        match value? {
            Value::String(s) => Some(s),
            _ => {
                self.wrong(path, expected);
                None
            }
        }
    }

    /// The boolean at `path`; `None` when absent, or not `true`/`false` (recorded).
    pub fn boolean(&mut self, path: &str, value: Option<Value>, expected: &str) -> Option<bool> {
        match value? {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong(path, expected);
                None
            }
        }
    }

    /// The whole number at `path`; `None` when absent, or not a whole number that fits
    /// an `i64` (recorded).
    pub fn integer(&mut self, path: &str, value: Option<Value>, expected: &str) -> Option<i64> {
        let n = value?.as_i64();
        if n.is_none() {
            self.wrong(path, expected);
        }
        n
    }

    /// The whole number at `path` that is not negative; `None` when absent, or not
    /// such a number (recorded).
    pub fn unsigned(&mut self, path: &str, value: Option<Value>, expected: &str) -> Option<u64> {
        let n = value?.as_u64();
        if n.is_none() {
            self.wrong(path, expected);
        }
        n
    }

    /// What was found: `Err` with every unknown field when there is one (the body is
    /// not one this route takes), else `Ok` with the fields of the wrong type, in the
    /// order they were read.
    pub fn finish(self) -> Result<Vec<FieldProblem>, Vec<FieldProblem>> {
        if self.unknown.is_empty() {
            Ok(self.wrong)
        } else {
            Err(self.unknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Result<Value, String> {
        serde_json::from_str::<JsonBody>(text)
            .map(|b| b.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_body_reads_like_serde_json_reads_it() {
        let text = r#"{"a": [1, -2, 3.5, "x", true, null, {"b": {}}], "c": 18446744073709551615}"#;
        assert_eq!(
            body(text),
            serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
        );
    }

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        for text in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"x": [{"a": 1, "b": 2, "a": 1}]}"#,
        ] {
            let err = body(text).err().unwrap_or_default();
            assert!(err.starts_with("duplicate field `a`"), "{text}: {err}");
        }
    }

    #[test]
    fn paths_and_what_covers_what() {
        assert_eq!(field_path("", "age"), "age");
        assert_eq!(field_path(&item_path("labs", 2), "value"), "labs[2].value");
        assert!(covers("labs[1]", "labs[1].value"));
        assert!(covers("labs[1].value", "labs[1].value"));
        assert!(covers("", "consent"));
        assert!(!covers("labs[1]", "labs[10].value"));
        assert!(!covers("contact.name", "contact.names"));
        assert!(!covers("labs[1].value", "labs[1]"));
    }

    #[test]
    fn the_reader_records_wrong_types_and_unknown_fields_and_goes_on() {
        let mut r = Reader::new();
        let value =
            serde_json::json!({"n": "7", "s": 5, "b": "yes", "l": {}, "ok": 3, "nul": null});
        let mut f = r
            .object(
                "",
                Some(value),
                &["n", "s", "b", "l", "ok", "nul"],
                "object",
            )
            .unwrap_or_else(|| panic!("an object"));
        assert_eq!(r.integer("n", f.take("n"), "int"), None);
        assert_eq!(r.string("s", f.take("s"), "text"), None);
        assert_eq!(r.boolean("b", f.take("b"), "bool"), None);
        assert_eq!(r.list("l", f.take("l"), "list"), None);
        assert_eq!(r.unsigned("ok", f.take("ok"), "uint"), Some(3));
        assert_eq!(r.string("nul", f.take("nul"), "text"), None);
        assert_eq!(r.string("gone", f.take("gone"), "text"), None);
        let wrong = r.finish().unwrap_or_default();
        let fields: Vec<(&str, &str)> = wrong
            .iter()
            .map(|p| (p.field.as_str(), p.problem.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("n", "int"), ("s", "text"), ("b", "bool"), ("l", "list")]
        );
    }

    #[test]
    fn unknown_fields_are_each_named_and_win_over_wrong_types() {
        let mut r = Reader::new();
        let value = serde_json::json!({"a": 1, "x": 1, "inner": {"y": 2}});
        let mut f = r
            .object("", Some(value), &["a", "inner"], "object")
            .unwrap_or_else(|| panic!("an object"));
        r.object("inner", f.take("inner"), &[], "object");
        r.string("a", f.take("a"), "text");
        let unknown = r.finish().err().unwrap_or_default();
        let fields: Vec<&str> = unknown.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["x", "inner.y"]);
    }
}
