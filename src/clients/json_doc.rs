//! JSON client files, edited through a concrete syntax tree so comments, blank lines,
//! indentation and key order outside our entry survive byte for byte. Many of these files
//! are JSONC in practice (VS Code's `mcp.json`, Gemini's `settings.json`).

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstNode, CstObject, CstRootNode};
use serde_json::Value;

use super::file::{Shape, kind_of};
use super::{Entry, EntryValue};

pub struct JsonDoc {
    /// Must outlive every node taken from it (the CST holds weak parent links).
    root: CstRootNode,
    servers_key: &'static str,
}

/// What the clients accept: comments and trailing commas, but not the JSON5 extras a
/// client's `JSON.parse` would reject.
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

impl JsonDoc {
    pub fn parse(text: &str, servers_key: &'static str) -> Result<Self, Shape> {
        let root = CstRootNode::parse(text, &options()).map_err(|e| Shape::Malformed {
            line: e.line_display(),
            column: e.column_display(),
            message: e.kind().to_string(),
        })?;
        if let Some(value) = root.value() {
            let Some(obj) = value.as_object() else {
                return Err(Shape::TopLevel(json_kind(&value)));
            };
            if let Some(servers) = obj.get(servers_key).and_then(|p| p.value())
                && servers.as_object().is_none()
            {
                return Err(Shape::Servers {
                    key: servers_key,
                    found: json_kind(&servers),
                });
            }
        }
        Ok(Self { root, servers_key })
    }

    fn servers_object(&self) -> Option<CstObject> {
        self.root.object_value()?.object_value(self.servers_key)
    }

    pub fn servers(&self) -> Vec<(String, Value)> {
        let Some(servers) = self.servers_object() else {
            return vec![];
        };
        servers
            .properties()
            .into_iter()
            .filter_map(|p| Some((p.decoded_name()?, p.value()?.to_serde_value()?)))
            .collect()
    }

    pub fn entry(&self, key: &str) -> Option<Value> {
        self.servers_object()?.get(key)?.value()?.to_serde_value()
    }

    /// Inserts or replaces `key`; a new servers object is appended when there is none.
    pub fn set_entry(&mut self, key: &str, entry: &Entry) {
        let root_obj = self.root.object_value_or_set();
        let servers = root_obj
            .object_value_or_create(self.servers_key)
            .expect("parse checked that the servers value is an object");
        match servers.get(key) {
            Some(prop) => prop.set_value(to_input(entry)),
            None => {
                servers.append(key, to_input(entry));
            }
        }
    }

    /// Removes `key`; false when it was not there.
    pub fn remove_entry(&mut self, key: &str) -> bool {
        match self.servers_object().and_then(|s| s.get(key)) {
            Some(prop) => {
                prop.remove();
                true
            }
            None => false,
        }
    }

    pub fn render(&self) -> String {
        self.root.to_string()
    }
}

fn json_kind(node: &CstNode) -> &'static str {
    node.to_serde_value()
        .map(|v| kind_of(&v))
        .unwrap_or("not a value")
}

fn to_input(entry: &Entry) -> CstInputValue {
    let s = |v: &String| CstInputValue::String(v.clone());
    CstInputValue::Object(
        entry
            .0
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    EntryValue::Str(x) => s(x),
                    EntryValue::List(l) => CstInputValue::Array(l.iter().map(s).collect()),
                    EntryValue::Map(m) => {
                        CstInputValue::Object(m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
                    }
                };
                (k.clone(), v)
            })
            .collect(),
    )
}
