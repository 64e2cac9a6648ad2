//! Our entry as plain ordered data, so the JSON and TOML writers render the same thing in
//! the order people expect (`type`, `command`, `args`, `env`) and compare it exactly.

use serde_json::Value;

/// The few value shapes an MCP server entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryValue {
    Str(String),
    List(Vec<String>),
    /// String-to-string map, e.g. `env` or `headers`.
    Map(Vec<(String, String)>),
}

/// An MCP server entry: ordered keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry(pub Vec<(String, EntryValue)>);

impl Entry {
    pub fn push(&mut self, key: &str, value: EntryValue) {
        self.0.push((key.to_string(), value));
    }

    /// The entry as JSON, for comparing with what a file holds.
    pub fn to_json(&self) -> Value {
        let map = self
            .0
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    EntryValue::Str(s) => Value::String(s.clone()),
                    EntryValue::List(l) => l.iter().cloned().map(Value::String).collect(),
                    EntryValue::Map(m) => Value::Object(
                        m.iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect(),
                    ),
                };
                (k.clone(), v)
            })
            .collect();
        Value::Object(map)
    }
}
