//! Kea's text formats for the values rendered into variables.
