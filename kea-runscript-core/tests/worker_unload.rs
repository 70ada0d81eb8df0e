//! Load and unload a worker engine repeatedly, and restart a worker repeatedly: no
//! thread, fd, child, zombie or keeper is left behind. (Own test binary so that
//! /proc shows only this test.)

mod common;

use std::sync::Arc;

use common::{children, js, wait_until};
use kea_runscript_core::{log, Engine};
use kea_runscript_env::HookPoint;

#[test]
fn unload_leaves_no_worker_thread_fd_or_process() {
    let dir = tempfile::tempdir().unwrap();
    let w = common::script(
        dir.path(),
        "acker",
        // Answers {"seq":N} for each line, in shell.
        r#"while IFS= read -r line; do
  seq=${line#*\"seq\":}; seq=${seq%%,*}
  printf '{"seq":%s}\n' "$seq"
done"#,
    );
    let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let (threads_before, fds_before) = (threads(), fds());
    // Restarts leave nothing behind either: a worker that exits at once, five times.
    {
        let quitter = common::script(dir.path(), "quitter", "exit 1");
        let engine = Engine::from_json(
            &format!(r#"{{"name": {}, "mode": "worker"}}"#, js(&quitter)),
            Arc::new(log::StderrSink),
        )
        .unwrap();
        wait_until("five restarts", || engine.counters().worker_restarts >= 5);
        // A keeper whose worker just exited is a zombie until the reaper collects it
        // (milliseconds, longer on a loaded machine); a lasting one fails here.
        wait_until("no zombie children", || {
            common::zombie_children().is_empty()
        });
        engine.shutdown();
        drop(engine);
        assert_eq!(children(), Vec::<i32>::new());
        assert_eq!(threads(), threads_before);
        assert_eq!(fds(), fds_before);
    }
    for round in 0..5 {
        let engine = Engine::from_json(
            &format!(
                r#"{{"scripts": [{{"name": {0}, "mode": "worker"}}, {{"name": {0}, "mode": "worker", "sync": true, "log-output": true}}]}}"#,
                js(&w)
            ),
            Arc::new(log::StderrSink),
        )
        .unwrap();
        for _ in 0..20 {
            engine.handle_vars(HookPoint::Lease4Renew, vec![]);
        }
        wait_until("acked", || engine.counters().acked == 40);
        assert_eq!(children().len(), 2, "round {round}: one keeper per worker");
        engine.shutdown();
        assert_eq!(children(), Vec::<i32>::new(), "round {round}");
        assert_eq!(threads(), threads_before, "round {round}");
        // The engine's own eventfds live until it is dropped.
        drop(engine);
        assert_eq!(threads(), threads_before, "round {round}");
        assert_eq!(fds(), fds_before, "round {round}");
    }
}
