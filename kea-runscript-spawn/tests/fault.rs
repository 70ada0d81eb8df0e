//! The fault-injection seam (feature `fault-injection`, on for this crate's tests): the
//! next launches fail as the kernel would refuse them. Process-wide, so alone in its own
//! test binary.

use std::ffi::CString;

use kea_runscript_spawn::{fault, spawn, ExitStatus, FailedStep, Limits, Program};

#[test]
fn injected_faults_fail_the_next_launches() {
    fault::fail_next_spawns(2, libc::ENOMEM);
    for _ in 0..2 {
        let err = spawn(truth(), Limits::default()).unwrap_err();
        assert_eq!(err.step, FailedStep::Keeper);
        assert_eq!(err.error.raw_os_error(), Some(libc::ENOMEM));
    }
    let report = spawn(truth(), Limits::default()).unwrap().wait().unwrap();
    assert_eq!(report.status, ExitStatus::Exited(0));
}

fn truth() -> Program {
    Program::new(
        CString::new("/bin/true").unwrap(),
        CString::new("x").unwrap(),
        Vec::new(),
    )
}
