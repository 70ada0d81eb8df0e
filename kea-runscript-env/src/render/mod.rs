//! Rendering an [`Event`] into `(NAME, value)` pairs.

use crate::Event;

/// Renders the event's hook-point arguments into ordered `(NAME, value)` pairs.
pub fn render(event: &Event) -> Vec<(String, String)> {
    let _ = event;
    Vec::new()
}
