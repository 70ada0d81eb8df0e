//! What a worker runs and how: its part of one script's configuration, as the
//! supervisor and the process launcher need it.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{OverflowSettings, SyncSettings};

/// What a worker runs and how (built from one script's configuration).
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The executable, started as `path worker`.
    pub path: PathBuf,
    /// The script's name in logs.
    pub label: String,
    /// Its environment (`env` of the configuration); `KEA_RUNSCRIPT_PROTOCOL` is added.
    pub env: Vec<(String, String)>,
    /// Most events held unanswered (`max-queued`); more are dropped.
    pub max_queued: usize,
    /// What happens to an async event when the buffer is full (`overflow`).
    pub overflow: OverflowSettings,
    /// Sync: verdict rules and how long to wait for a verdict (`timeout-ms`).
    pub sync: Option<(SyncSettings, Duration)>,
    /// Log each stderr line (`log-output`); otherwise stderr is the host's.
    pub log_output: bool,
    /// `capabilities`: the worker's exact ambient set (bits); `None`: Kea's is inherited.
    pub ambient: Option<u64>,
    /// `user`, `group`, `limits`: applied before `execve`; `None`: Kea's.
    pub privileges: Option<std::sync::Arc<kea_runscript_spawn::Privileges>>,
}
