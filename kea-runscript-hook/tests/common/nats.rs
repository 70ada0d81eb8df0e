//! NATS JetStream for the tests: a nats-server in a namespace, the venv with nats-py
//! (scripts/install-deps.sh), and a reader of a stream's messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{wait_for, Scratch};

/// The venv with nats-py that scripts/install-deps.sh makes.
pub fn venv() -> Option<PathBuf> {
    let venv = std::env::var_os("KRS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv"));
    let ok = Command::new(venv.join("bin/python3"))
        .args(["-c", "import nats"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(venv)
}

/// A nats-server with JetStream in namespace `netns`, listening on `address`:4222;
/// killed on drop.
pub struct Nats {
    child: std::process::Child,
}

impl Nats {
    /// Starts it and waits until it is ready.
    pub fn start(netns: &str, address: &str, scratch: &Scratch) -> Nats {
        let store = scratch.join("jetstream");
        let log = scratch.join("nats.log");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                netns,
                "nats-server",
                "-js",
                "-a",
                address,
                "-p",
                "4222",
                "-sd",
            ])
            .arg(&store)
            .arg("-l")
            .arg(&log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let ready = wait_for(Duration::from_secs(20), || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("Server is ready")
                .then_some(())
        });
        assert!(
            ready.is_some(),
            "nats-server did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Nats { child }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every message of `stream` (its Nats-Msg-Id and body) of the server at `url`, read in
/// namespace `netns`; the reader's error when it could not read (the test's instrument,
/// not its subject: a loaded machine can time out a connect, so callers retry).
pub fn stream_messages(
    netns: &str,
    url: &str,
    venv: &Path,
    stream: &str,
) -> Result<Vec<(Option<String>, Value)>, String> {
    const READ: &str = r#"
import asyncio, json, sys, nats
async def main():
    nc = await nats.connect(sys.argv[2], connect_timeout=10)
    js = nc.jetstream(timeout=20)
    info = await js.stream_info(sys.argv[1])
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        m = await js.get_msg(sys.argv[1], seq)
        out.append([(m.headers or {}).get("Nats-Msg-Id"), json.loads(m.data)])
    print(json.dumps(out))
    await nc.close()
asyncio.run(main())
"#;
    let out = Command::new("ip")
        .args(["netns", "exec", netns])
        .arg(venv.join("bin/python3"))
        .args(["-c", READ, stream, url])
        .output()
        .expect("run the stream reader");
    // The worker makes the stream when it first connects: until then (a worker killed
    // again and again may take a while) there is nothing in it yet.
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("err_code=10059") {
        return Ok(Vec::new());
    }
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("the reader's json: {e}"))
}

/// [`stream_messages`], retried for up to 60 s; panics with the last error.
pub fn stream_messages_retried(
    netns: &str,
    url: &str,
    venv: &Path,
    stream: &str,
) -> Vec<(Option<String>, Value)> {
    let mut last_error = String::new();
    let read = wait_for(Duration::from_secs(60), || {
        stream_messages(netns, url, venv, stream)
            .map_err(|e| last_error = e)
            .ok()
    });
    read.unwrap_or_else(|| panic!("the stream could not be read for 60 s: {last_error}"))
}
