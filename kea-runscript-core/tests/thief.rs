//! Kea's ProcessSpawn reaps with `waitpid(-1, WNOHANG)` from its SIGCHLD handler.
//! With such a thief looping in another thread, our exit codes must stay exact, our
//! children must never be stolen, and the host must get no SIGCHLD for them.
//! (Own test binary: the thief reaps every ordinary child of the process.)

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::{engine, js, script, wait_idle};
use kea_runscript_core::Verdict;
use kea_runscript_env::HookPoint;

static SIGCHLD_SEEN: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigchld(_: libc::c_int) {
    SIGCHLD_SEEN.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn waitpid_minus_one_thief_steals_nothing_and_no_sigchld() {
    // SAFETY: the handler only bumps an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGCHLD, on_sigchld as *const () as libc::sighandler_t);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stolen = Arc::new(AtomicU64::new(0));
    let thief = {
        let (stop, stolen) = (stop.clone(), stolen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut status = 0;
                // SAFETY: waitpid writes into a live int; stealing is the point here.
                let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
                if pid > 0 {
                    stolen.fetch_add(1, Ordering::Relaxed);
                }
                std::hint::spin_loop();
            }
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let sync = script(dir.path(), "sync", "exit \"$CODE\"");
    let asy = script(dir.path(), "async", "exit 3");
    let (engine, _) = engine(&format!(
        r#"{{"scripts": [
            {{"name": {}, "sync": true, "exit-codes": {{"1": "skip", "2": "drop"}}}},
            {{"name": {}, "max-in-flight": 16, "max-queued": 100000}}
        ]}}"#,
        js(&sync),
        js(&asy)
    ));
    let rounds = 300u64;
    for i in 0..rounds {
        let code = i % 3;
        let expected = [Verdict::Continue, Verdict::Skip, Verdict::Drop][code as usize];
        let got = engine.handle_vars(
            HookPoint::Lease4Renew,
            vec![("CODE".into(), code.to_string())],
        );
        assert_eq!(got, expected, "round {i}");
    }
    let c = wait_idle(&engine);
    // Every async child was reaped by us with its real status (exit 3 = non-zero),
    // every sync one by us with its code: 1 and 2 in two thirds of the rounds.
    assert_eq!(c.started, 2 * rounds, "{c}");
    assert_eq!(c.exited, 2 * rounds, "{c}");
    assert_eq!(c.non_zero_exits, rounds + rounds * 2 / 3, "{c}");
    assert_eq!(
        stolen.load(Ordering::Relaxed),
        0,
        "the thief reaped one of ours"
    );
    assert_eq!(
        SIGCHLD_SEEN.load(Ordering::Relaxed),
        0,
        "SIGCHLD for a clone child"
    );

    // Control: the thief does steal an ordinary fork child, and SIGCHLD does arrive,
    // so the zeros above are not vacuous.
    // SAFETY: the forked child only calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: _exit ends the forked child without running the parent's handlers.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0);
    common::wait_until("thief steals an ordinary child", || {
        stolen.load(Ordering::Relaxed) == 1 && SIGCHLD_SEEN.load(Ordering::Relaxed) >= 1
    });
    stop.store(true, Ordering::Relaxed);
    thief.join().unwrap();
}
