//! [`DeferredEvent`]: an event whose model is made where it is first needed.

use std::fmt;
use std::sync::LazyLock;

use kea_runscript_env::{Event, HookPoint};

/// Makes the event's model.
type MakeEvent = Box<dyn FnOnce() -> Event + Send>;

/// An event for one hook point whose [`Event`] is made when first needed, on that
/// thread: a host copies Kea's objects out on Kea's packet thread and leaves reading them
/// into the model, and rendering it, to the thread that delivers the event (a worker's
/// writer). An `Event` already made converts into one (`Event::into`).
pub struct DeferredEvent {
    hook_point: HookPoint,
    event: LazyLock<Event, MakeEvent>,
    copied_bytes: usize,
}

impl DeferredEvent {
    /// An event for `hook_point` that `make` makes when first needed (`make` returns an
    /// event for `hook_point`).
    pub fn new(hook_point: HookPoint, make: impl FnOnce() -> Event + Send + 'static) -> Self {
        DeferredEvent {
            hook_point,
            event: LazyLock::new(Box::new(make)),
            copied_bytes: 0,
        }
    }

    /// This event, telling the size of the copies it holds until its model is made (the
    /// host's records of Kea's objects), so that a waiting event is estimated by it rather
    /// than by a typical packet's size: a control command's JSON (`command_processed`)
    /// can be a whole configuration.
    pub fn with_copied_bytes(mut self, bytes: usize) -> Self {
        self.copied_bytes = bytes;
        self
    }

    /// The size of the copies given to [`DeferredEvent::with_copied_bytes`] (0: not told).
    pub fn copied_bytes(&self) -> usize {
        self.copied_bytes
    }

    /// The hook point, known without making the event.
    pub fn hook_point(&self) -> HookPoint {
        self.hook_point
    }

    /// The event, made now if it was not yet.
    pub fn event(&self) -> &Event {
        &self.event
    }
}

impl From<Event> for DeferredEvent {
    fn from(event: Event) -> Self {
        let deferred = DeferredEvent::new(event.hook_point, move || event);
        LazyLock::force(&deferred.event);
        deferred
    }
}

impl fmt::Debug for DeferredEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredEvent")
            .field("hook_point", &self.hook_point)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[test]
    fn the_event_is_made_once_and_only_when_asked_for() {
        let made = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&made);
        let deferred = DeferredEvent::new(HookPoint::Lease4Renew, move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Event::new(HookPoint::Lease4Renew)
        });
        assert_eq!(deferred.hook_point(), HookPoint::Lease4Renew);
        assert_eq!(
            made.load(Ordering::SeqCst),
            0,
            "not made for its hook point"
        );
        assert_eq!(deferred.event().hook_point, HookPoint::Lease4Renew);
        assert_eq!(deferred.event().hook_point, HookPoint::Lease4Renew);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_event_converts_as_it_is() {
        let deferred = DeferredEvent::from(Event::new(HookPoint::Pkt4Send));
        assert_eq!(deferred.hook_point(), HookPoint::Pkt4Send);
        assert_eq!(deferred.event(), &Event::new(HookPoint::Pkt4Send));
    }
}
