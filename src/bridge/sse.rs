//! Server-sent events, decoded incrementally: the gateway answers a POST with a stream
//! whose events each carry one JSON-RPC message in their `data:` lines.
//!
//! Only `data` matters to a relay: `id`, `event` and `retry` fields, comments
//! (keep-alives) and events without data (rmcp's priming event) yield nothing.

/// Refuse events larger than this rather than buffer without bound.
pub const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct Decoder {
    line: Vec<u8>,
    data: String,
    has_data: bool,
    /// The previous byte ended a line with CR; a following LF belongs to it.
    after_cr: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("an event in the gateway's stream is larger than {} MiB", MAX_EVENT_BYTES >> 20)]
pub struct TooLarge;

impl Decoder {
    /// Consumes a chunk (split anywhere, even inside a UTF-8 sequence) and returns the
    /// data of every event it completed.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<Vec<String>, TooLarge> {
        let mut events = Vec::new();
        if std::mem::take(&mut self.after_cr) && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        // Copy whole runs up to each line end: this runs over every byte of every answer.
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.push(&chunk[..end])?;
            if let Some(event) = self.end_line() {
                events.push(event);
            }
            let crlf = chunk[end] == b'\r' && chunk.get(end + 1) == Some(&b'\n');
            self.after_cr = chunk[end] == b'\r' && end + 1 == chunk.len();
            chunk = &chunk[end + if crlf { 2 } else { 1 }..];
        }
        self.push(chunk)?;
        Ok(events)
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), TooLarge> {
        if self.line.len() + self.data.len() + bytes.len() > MAX_EVENT_BYTES {
            return Err(TooLarge);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn end_line(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            let data = std::mem::take(&mut self.data);
            return std::mem::take(&mut self.has_data).then(|| {
                let mut data = data;
                data.pop(); // the newline after the last data line
                data
            });
        }
        let line = String::from_utf8_lossy(&line);
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        if field == "data" {
            self.data.push_str(value);
            self.data.push('\n');
            self.has_data = true;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<String> {
        let mut d = Decoder::default();
        chunks.iter().flat_map(|c| d.feed(c).unwrap()).collect()
    }

    #[test]
    fn events_comments_and_priming() {
        let stream = b": keep-alive\n\nid: 0\nretry: 3000\ndata:\n\nevent: message\nid: 1\ndata: {\"a\":1}\n\n";
        // The priming event has an empty data line: an empty payload, which the relay skips.
        assert_eq!(
            all(&[stream]),
            vec!["".to_string(), "{\"a\":1}".to_string()]
        );
    }

    #[test]
    fn multi_line_data_and_any_split() {
        let stream = "data: {\"text\":\r\ndata:  \"é\"}\r\n\r\ndata: 2\r\r".as_bytes();
        let want = vec!["{\"text\":\n \"é\"}".to_string(), "2".to_string()];
        for split in 0..stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(all(&[a, b]), want, "split at {split}");
        }
    }

    #[test]
    fn unterminated_event_is_not_emitted() {
        assert!(all(&[b"data: {}\n"]).is_empty());
    }

    #[test]
    fn refuses_endless_line() {
        let mut d = Decoder::default();
        let chunk = vec![b'x'; 1 << 20];
        let mut result = Ok(vec![]);
        for _ in 0..=(MAX_EVENT_BYTES >> 20) {
            result = d.feed(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
    }
}
