//! The variable reference as snapshots: for every hook point, one event with every object
//! populated and one with every object absent.

mod common;

use kea_runscript_env::{render, Event, HookPoint};

#[test]
fn every_hook_point_fully_populated() {
    for &hook_point in HookPoint::ALL {
        let vars = render(&common::full_event(hook_point));
        insta::assert_snapshot!(
            format!("{}_full", hook_point.name()),
            common::env_text(&vars)
        );
    }
}

#[test]
fn every_hook_point_with_absent_objects() {
    for &hook_point in HookPoint::ALL {
        let vars = render(&Event::new(hook_point));
        insta::assert_snapshot!(
            format!("{}_absent", hook_point.name()),
            common::env_text(&vars)
        );
    }
}
