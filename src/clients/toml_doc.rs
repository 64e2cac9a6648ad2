//! Codex's `config.toml`, edited with `toml_edit` so comments, blank lines and the order
//! of everything else survive byte for byte.

use serde_json::Value as Json;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use super::file::Shape;
use super::{Entry, EntryValue};

pub struct TomlDoc {
    doc: DocumentMut,
    table: &'static str,
}

impl TomlDoc {
    pub fn parse(text: &str, table: &'static str) -> Result<Self, Shape> {
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
            Shape::Malformed {
                line,
                column,
                message: e.message().trim_end().to_string(),
            }
        })?;
        if let Some(item) = doc.get(table)
            && !item.is_table_like()
        {
            return Err(Shape::Servers {
                key: table,
                found: toml_kind(item),
            });
        }
        Ok(Self { doc, table })
    }

    pub fn servers(&self) -> Vec<(String, Json)> {
        let Some(servers) = self.doc.get(self.table).and_then(Item::as_table_like) else {
            return vec![];
        };
        servers
            .iter()
            .map(|(k, item)| (k.to_string(), item_to_json(item)))
            .collect()
    }

    pub fn entry(&self, key: &str) -> Option<Json> {
        let servers = self.doc.get(self.table)?.as_table_like()?;
        servers.get(key).map(item_to_json)
    }

    /// Inserts or replaces `key` as a `[table.key]` section (or an inline value when the
    /// user wrote the servers table inline). A replaced section keeps its place.
    pub fn set_entry(&mut self, key: &str, entry: &Entry) {
        if self.doc.get(self.table).is_none() {
            let mut t = Table::new();
            // Only `[mcp_servers.<name>]` headers, no bare `[mcp_servers]` one.
            t.set_implicit(true);
            self.doc.insert(self.table, Item::Table(t));
        }
        let inline = to_inline(entry);
        match &mut self.doc[self.table] {
            Item::Table(servers) => {
                let mut section = Table::new();
                for (k, v) in inline.iter() {
                    section.insert(k, Item::Value(v.clone()));
                }
                if let Some(Item::Table(old)) = servers.get(key) {
                    section.set_position(old.position());
                    *section.decor_mut() = old.decor().clone();
                }
                servers.insert(key, Item::Table(section));
            }
            Item::Value(Value::InlineTable(servers)) => {
                servers.insert(key, Value::InlineTable(inline));
            }
            _ => unreachable!("parse checked that the servers table is table-like"),
        }
    }

    /// Removes `key`; false when it was not there.
    pub fn remove_entry(&mut self, key: &str) -> bool {
        self.doc
            .get_mut(self.table)
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.remove(key))
            .is_some()
    }

    pub fn render(&self) -> String {
        self.doc.to_string()
    }
}

fn to_inline(entry: &Entry) -> InlineTable {
    let mut t = InlineTable::new();
    for (k, v) in &entry.0 {
        let v: Value = match v {
            EntryValue::Str(s) => s.as_str().into(),
            EntryValue::List(l) => Value::Array(l.iter().map(String::as_str).collect::<Array>()),
            EntryValue::Map(m) => {
                let mut map = InlineTable::new();
                for (k, v) in m {
                    map.insert(k, v.as_str().into());
                }
                Value::InlineTable(map)
            }
        };
        t.insert(k, v);
    }
    t
}

fn toml_kind(item: &Item) -> &'static str {
    match item {
        Item::None => "empty",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Table(_) => "a table",
        Item::Value(v) => match v {
            Value::String(_) => "a string",
            Value::Integer(_) | Value::Float(_) => "a number",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date",
            Value::Array(_) => "an array",
            Value::InlineTable(_) => "a table",
        },
    }
}

fn item_to_json(item: &Item) -> Json {
    match item {
        Item::None => Json::Null,
        Item::Value(v) => value_to_json(v),
        Item::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), item_to_json(v)))
                .collect(),
        ),
        Item::ArrayOfTables(a) => Json::Array(
            a.iter()
                .map(|t| item_to_json(&Item::Table(t.clone())))
                .collect(),
        ),
    }
}

fn value_to_json(v: &Value) -> Json {
    match v {
        Value::String(s) => Json::String(s.value().clone()),
        Value::Integer(i) => Json::from(*i.value()),
        Value::Float(f) => Json::from(*f.value()),
        Value::Boolean(b) => Json::Bool(*b.value()),
        Value::Datetime(d) => Json::String(d.value().to_string()),
        Value::Array(a) => Json::Array(a.iter().map(value_to_json).collect()),
        Value::InlineTable(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), value_to_json(v)))
                .collect(),
        ),
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}
