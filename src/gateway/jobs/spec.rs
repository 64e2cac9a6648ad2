//! What to run, and what makes two runs the same run (dedup).

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::providers::Provider;

/// What to run, fully decided: the tools layer validated and resolved everything.
pub struct JobSpec {
    pub provider: &'static dyn Provider,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Where the CLI runs; `None`: a fresh empty scratch directory made for this run
    /// (outside the gateway's home) and removed when it ends.
    pub cwd: Option<PathBuf>,
    pub output_format: String,
    pub model: Option<String>,
    pub correlation_id: String,
    pub idle_timeout: Duration,
    /// Total time the run may take, output or not.
    pub max_runtime: Duration,
    /// What set `max_runtime`, for the reason a timed-out job gives.
    pub max_runtime_source: &'static str,
    pub force_refresh: bool,
    /// The gateway session this run continues; its CLI session id is learned at the end.
    pub gateway_session: Option<String>,
    /// Notes for the caller (ignored parameters, unknown model); not part of the identity.
    pub warnings: Vec<String>,
}

impl JobSpec {
    /// Identity for dedup: what makes two runs do the same thing. The prompt is in the
    /// argv; the model may be in the environment (Vibe); the cwd changes what the CLI sees.
    pub fn request_key(&self) -> String {
        let mut env = self.env.clone();
        env.sort();
        let identity = serde_json::json!([
            self.provider.id(),
            self.args,
            env,
            self.cwd
                .as_deref()
                .map(|c| c.to_string_lossy())
                .unwrap_or_default(),
            self.output_format,
        ]);
        hex::encode(Sha256::digest(identity.to_string().as_bytes()))
    }
}
