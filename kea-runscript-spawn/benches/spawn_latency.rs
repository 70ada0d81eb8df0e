//! Calling-thread time to launch one script (build its [`Program`] from a 24-variable
//! event, then [`spawn`]), while this process has 0, 256 MiB and 1 GiB of touched
//! (resident) memory, next to plain fork+exec measured in the same run. Prints figures,
//! asserts nothing.
//!
//! Run: `cargo bench -p kea-runscript-spawn --bench spawn_latency`
//! (`SPAWN_BENCH_ITERATIONS=n` changes the sample count per cell, default 1000).

use std::ffi::CString;
use std::path::Path;
use std::time::{Duration, Instant};

use kea_runscript_spawn::{spawn, Limits, Program, KILL_GRACE};

const MIB: usize = 1024 * 1024;
const PAGE: usize = 4096;

/// Allocates `bytes` and writes every page so it is resident (4 KiB pages:
/// transparent huge pages are `madvise`-only on the test machine, and a server's
/// heap is mostly small pages anyway).
fn touched(bytes: usize) -> Vec<u8> {
    let mut memory = vec![0u8; bytes];
    for i in (0..bytes).step_by(PAGE) {
        memory[i] = 1;
    }
    memory
}

fn resident_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// A realistic event: about as many variables as a leases4_committed with one lease.
fn event_vars() -> Vec<(String, String)> {
    (0..24)
        .map(|i| (format!("LEASE4_VAR_{i}"), format!("value-{i}-192.0.2.{i}")))
        .collect()
}

/// Ours: time of building the program (the event's `NAME=value` entries) and `spawn`
/// (creating the run's keeper), then wait for the run to end before the next sample.
fn measure_spawn(script: &Path, iterations: usize) -> Vec<Duration> {
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(script.as_os_str().as_bytes()).unwrap();
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let vars = event_vars();
        let start = Instant::now();
        let env = vars
            .iter()
            .map(|(n, v)| CString::new(format!("{n}={v}")).unwrap())
            .collect();
        let program = Program::new(path.clone(), c"lease4_renew".to_owned(), env);
        let limits = Limits {
            timeout: Some(Duration::from_secs(10)),
            grace: KILL_GRACE,
            stop: None,
        };
        let mut child = spawn(program, limits).expect("spawn");
        samples.push(start.elapsed());
        child.wait().expect("the run ended");
    }
    samples.sort();
    samples
}

/// fork+exec: time of `fork()` in the parent (the child execs /bin/true at once),
/// then reap it.
fn measure_fork(iterations: usize) -> Vec<Duration> {
    let path = CString::new("/bin/true").unwrap();
    let arg1 = CString::new("lease4_renew").unwrap();
    let env: Vec<CString> = event_vars()
        .into_iter()
        .map(|(n, v)| CString::new(format!("{n}={v}")).unwrap())
        .collect();
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    let argv = [path.as_ptr(), arg1.as_ptr(), std::ptr::null()];
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let vars = event_vars(); // same preparation work as our sample
        let start = Instant::now();
        // SAFETY: the child only calls execve and _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: path, argv and envp are NUL-terminated and alive (the fork's copy).
            unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
            // SAFETY: _exit ends the forked child without running the parent's handlers.
            unsafe { libc::_exit(127) };
        }
        samples.push(start.elapsed());
        drop(vars);
        assert!(pid > 0, "fork failed");
        let mut status = 0;
        // SAFETY: waitpid on our own child, writing into a live int.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    samples.sort();
    samples
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn main() {
    let iterations: usize = std::env::var("SPAWN_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = std::env::temp_dir().join(format!("spawn-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("quick.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    println!("calling-thread time to launch one script, {iterations} samples per cell (µs)\n");
    println!(
        "| touched memory | RSS MiB | kea-runscript p50 | p99 | fork+exec p50 | p99 | fork/ours p50 | fork/ours p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for mib in [0usize, 256, 1024] {
        let memory = touched(mib * MIB);
        let rss = resident_mib();
        // Warm up both paths.
        measure_spawn(&script, 20);
        measure_fork(20);
        let ours = measure_spawn(&script, iterations);
        let fork = measure_fork(iterations);
        let (o50, o99) = (percentile(&ours, 0.5), percentile(&ours, 0.99));
        let (f50, f99) = (percentile(&fork, 0.5), percentile(&fork, 0.99));
        println!(
            "| {mib} MiB | {rss} | {} | {} | {} | {} | {:.1}x | {:.1}x |",
            us(o50),
            us(o99),
            us(f50),
            us(f99),
            f50.as_secs_f64() / o50.as_secs_f64(),
            f99.as_secs_f64() / o99.as_secs_f64()
        );
        drop(memory);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
