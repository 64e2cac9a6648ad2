//! Just enough JSON-RPC to relay: which messages expect an answer, and errors in the
//! shape a client matches to its request.

use serde_json::{Value, json};

/// JSON-RPC's own codes, and ours in the server-error range.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const GATEWAY_UNREACHABLE: i64 = -32000;
pub const TOKEN_REFUSED: i64 = -32001;
pub const GATEWAY_ERROR: i64 = -32002;

/// The ids of the requests in a message or batch: each must get exactly one answer.
pub fn request_ids(msg: &Value) -> Vec<Value> {
    let one = |m: &Value| {
        m.get("method")
            .is_some()
            .then(|| m.get("id").cloned())
            .flatten()
    };
    match msg {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        m => one(m).into_iter().collect(),
    }
}

/// The id a response answers (a message with an id and no method).
pub fn response_id(msg: &Value) -> Option<&Value> {
    if msg.get("method").is_some() {
        return None;
    }
    msg.get("id")
}

pub fn is_initialize(msg: &Value) -> bool {
    msg.get("method").and_then(Value::as_str) == Some("initialize") && msg.get("id").is_some()
}

/// What makes a line relayable: a JSON-RPC object or a non-empty batch of them.
pub fn is_message(msg: &Value) -> bool {
    match msg {
        Value::Object(_) => true,
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_object),
        _ => false,
    }
}

pub fn error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// The key under which an id waits for its answer (`1` and `"1"` are different ids).
pub fn id_key(id: &Value) -> String {
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_responses() {
        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call"});
        let note = json!({"jsonrpc": "2.0", "method": "notifications/cancelled"});
        let answer = json!({"jsonrpc": "2.0", "id": "s1", "result": {}});
        assert_eq!(request_ids(&call), vec![json!(7)]);
        assert!(request_ids(&note).is_empty());
        assert!(request_ids(&answer).is_empty());
        assert_eq!(request_ids(&json!([call, note, answer])), vec![json!(7)]);
        assert_eq!(response_id(&answer), Some(&json!("s1")));
        assert_eq!(response_id(&call), None);
        assert_ne!(id_key(&json!(1)), id_key(&json!("1")));
    }

    #[test]
    fn what_is_a_message() {
        assert!(is_message(&json!({"jsonrpc": "2.0"})));
        assert!(is_message(&json!([{"jsonrpc": "2.0"}])));
        assert!(!is_message(&json!([])));
        assert!(!is_message(&json!(42)));
        assert!(!is_message(&json!([1])));
        assert!(is_initialize(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize"})
        ));
        assert!(!is_initialize(
            &json!({"jsonrpc": "2.0", "method": "initialize"})
        ));
    }
}
