//! Bounded output capture: what a CLI prints is kept up to a cap per stream.

use crate::store::jobs::Output;

/// A stream's output, bounded: the newest `cap` bytes are kept (a CLI's answer and
/// final JSON come last), older bytes dropped and counted.
pub(super) struct Capture {
    buf: Vec<u8>,
    cap: usize,
    pub(super) total: u64,
}

impl Capture {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap: cap.max(1024),
            total: 0,
        }
    }

    pub(super) fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        self.buf.extend_from_slice(data);
        // Compact in steps so a flood costs amortized O(1) per byte.
        if self.buf.len() > self.cap + self.cap / 4 {
            let excess = self.buf.len() - self.cap;
            self.buf.drain(..excess);
        }
    }

    pub(super) fn truncated(&self) -> bool {
        self.total > self.buf.len() as u64 || self.total > self.cap as u64
    }

    pub(super) fn text(&self) -> String {
        let start = self.buf.len().saturating_sub(self.cap);
        String::from_utf8_lossy(&self.buf[start..]).into_owned()
    }

    pub(super) fn output(&self, err: &Capture) -> OwnedOutput {
        OwnedOutput {
            stdout: self.text(),
            stderr: err.text(),
            stdout_truncated: self.truncated(),
            stderr_truncated: err.truncated(),
            stdout_bytes: self.total,
            stderr_bytes: err.total,
        }
    }
}

/// Output for a throttled flush, owned because it is built from both captures.
pub(super) struct OwnedOutput {
    stdout: String,
    stderr: String,
    stdout_truncated: bool,
    stderr_truncated: bool,
    stdout_bytes: u64,
    stderr_bytes: u64,
}

impl<'a> From<&'a OwnedOutput> for Output<'a> {
    fn from(o: &'a OwnedOutput) -> Self {
        Output {
            stdout: &o.stdout,
            stderr: &o.stderr,
            stdout_truncated: o.stdout_truncated,
            stderr_truncated: o.stderr_truncated,
            stdout_bytes: o.stdout_bytes,
            stderr_bytes: o.stderr_bytes,
        }
    }
}

pub(super) fn empty_output() -> Output<'static> {
    Output {
        stdout: "",
        stderr: "",
        stdout_truncated: false,
        stderr_truncated: false,
        stdout_bytes: 0,
        stderr_bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_newest_bytes() {
        let mut c = Capture::new(1024);
        for _ in 0..100 {
            c.push(&[b'a'; 100]);
        }
        c.push(b"END");
        assert!(c.truncated());
        assert_eq!(c.total, 10_003);
        let t = c.text();
        assert_eq!(t.len(), 1024);
        assert!(t.ends_with("END"));
        assert!(c.buf.len() <= 1024 + 256 + 100);
        let mut small = Capture::new(1024);
        small.push(b"hi");
        assert!(!small.truncated());
    }
}
