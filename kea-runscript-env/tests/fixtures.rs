//! `fixtures/events/<hook point>.json`: one fully populated event per hook point (only its
//! arguments), for other
//! crates' tests and for scripts under development. Generated from the same events as the
//! snapshots; this test fails when a file is stale or missing. Regenerate with
//! `UPDATE_DOCS=1 cargo test -p kea-runscript-env --test fixtures`.

mod common;

use std::path::PathBuf;

use kea_runscript_env::{Event, HookPoint};

#[test]
fn event_fixtures_are_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/events");
    // Only UPDATE_DOCS=1 rewrites; unset, 0 or anything else compares.
    let update = std::env::var("UPDATE_DOCS").as_deref() == Ok("1");
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for &hook_point in HookPoint::ALL {
        let event = common::arguments_only(common::full_event(hook_point));
        let path = dir.join(format!("{}.json", hook_point.name()));
        let fresh = serde_json::to_string_pretty(&event).unwrap() + "\n";
        if update {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{} is stale; regenerate with `UPDATE_DOCS=1 cargo test -p kea-runscript-env --test fixtures`",
            path.display()
        );
        let parsed: Event = serde_json::from_str(&committed).unwrap();
        assert_eq!(parsed, event);
        // Dropping the other objects changes nothing rendered.
        assert_eq!(
            kea_runscript_env::render(&parsed),
            kea_runscript_env::render(&common::full_event(hook_point))
        );
        let extras = kea_runscript_env::Extras::new(true, true, true);
        assert_eq!(
            kea_runscript_env::render_extras(&parsed, extras),
            kea_runscript_env::render_extras(&common::full_event(hook_point), extras)
        );
    }
}
