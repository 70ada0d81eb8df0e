//! Micro benchmark of rendering (no criterion): for each fixture event, the time per
//! `render` and its ratio to merely cloning the rendered output (the unavoidable cost of
//! allocating the same strings). Run:
//! `cargo run --release -p kea-runscript-env --example render_bench`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use kea_runscript_env::{render, Event, HookPoint};

fn nanos_per_iteration(iterations: u32, mut work: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        work();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/events");
    println!(
        "{:<20} {:>5} {:>12} {:>12} {:>6}",
        "hook point", "vars", "render ns", "clone ns", "ratio"
    );
    for name in [
        "lease4_renew",
        "leases4_committed",
        "lease6_renew",
        "leases6_committed",
        "pkt4_send",
    ] {
        let hook_point: HookPoint = name.parse().unwrap();
        let path = dir.join(format!("{}.json", hook_point.name()));
        let json =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let event: Event = serde_json::from_str(&json).unwrap();
        let vars = render(&event);
        let iterations = 200_000;
        // Warm up, then measure interleaved so both see the same machine state.
        nanos_per_iteration(iterations / 10, || {
            drop(black_box(render(black_box(&event))))
        });
        let render_ns =
            nanos_per_iteration(iterations, || drop(black_box(render(black_box(&event)))));
        let clone_ns =
            nanos_per_iteration(iterations, || drop(black_box(black_box(&vars).clone())));
        println!(
            "{:<20} {:>5} {:>12.0} {:>12.0} {:>6.2}",
            name,
            vars.len(),
            render_ns,
            clone_ns,
            render_ns / clone_ns
        );
    }
}
