//! What followers follow: the teacher's latest [`ClassState`] (encoded once, for every
//! viewer) and how many viewers are connected, bounded by [`crate::limits::Limits::max_viewers`].
//! Both are `watch` channels: a slow viewer skips to the latest value, never holds anyone up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gilscope_shared::protocol::{ClassState, ServerMsg};
use tokio::sync::watch;

use crate::frames::{encode_msg, Encoded};

/// The shared state and the viewer count; cheap to clone.
#[derive(Clone, Debug)]
pub struct Follow(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// The latest shared state, and its [`ServerMsg::Class`] encoded.
    class: watch::Sender<Option<(ClassState, Encoded)>>,
    viewers: watch::Sender<u32>,
    count: AtomicUsize,
    max: usize,
}

/// Refused: the class is full.
#[derive(Debug, thiserror::Error)]
#[error(
    "the class is full: {0} viewers are connected, the most this server takes \
     (gilscope serve --max-viewers)"
)]
pub struct Full(pub usize);

/// One viewer's place; dropping it frees it.
#[derive(Debug)]
pub struct Seat(Follow);

impl Drop for Seat {
    fn drop(&mut self) {
        let now = self.0 .0.count.fetch_sub(1, Ordering::AcqRel) - 1;
        self.0 .0.viewers.send_replace(now as u32);
    }
}

impl Follow {
    /// Room for `max` viewers.
    pub fn new(max: usize) -> Follow {
        Follow(Arc::new(Inner {
            class: watch::channel(None).0,
            viewers: watch::channel(0).0,
            count: AtomicUsize::new(0),
            max,
        }))
    }

    /// A seat for one more viewer, unless `max` are connected.
    pub fn join(&self) -> Result<Seat, Full> {
        let inner = &self.0;
        let now = inner
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < inner.max).then_some(n + 1)
            })
            .map_err(Full)?
            + 1;
        inner.viewers.send_replace(now as u32);
        Ok(Seat(self.clone()))
    }

    /// Viewers connected now.
    pub fn viewers(&self) -> u32 {
        *self.0.viewers.borrow()
    }

    /// Follows the viewer count.
    pub fn watch_viewers(&self) -> watch::Receiver<u32> {
        self.0.viewers.subscribe()
    }

    /// Follows the shared state (the current one is marked unseen, so a new viewer gets it).
    pub fn watch_class(&self) -> watch::Receiver<Option<(ClassState, Encoded)>> {
        let mut rx = self.0.class.subscribe();
        rx.mark_changed();
        rx
    }

    /// The teacher's page shows `class` now (already checked).
    pub fn share(&self, class: ClassState) {
        let encoded = encode_msg(&ServerMsg::Class(class.clone()));
        self.0.class.send_replace(Some((class, encoded)));
    }

    /// The latest shared state.
    pub fn class(&self) -> Option<ClassState> {
        self.0
            .class
            .borrow()
            .as_ref()
            .map(|(class, _)| class.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_counted_and_capped() {
        let follow = Follow::new(2);
        let a = follow.join().unwrap();
        let _b = follow.join().unwrap();
        assert_eq!(follow.viewers(), 2);
        assert_eq!(follow.join().unwrap_err().0, 2);
        drop(a);
        assert_eq!(follow.viewers(), 1);
        let _c = follow.join().unwrap();
        assert_eq!(follow.viewers(), 2);
    }

    #[test]
    fn a_new_follower_gets_the_latest_state() {
        let follow = Follow::new(1);
        follow.share(ClassState {
            preset: "join".into(),
            ..Default::default()
        });
        follow.share(ClassState {
            preset: "cpu-threads".into(),
            ..Default::default()
        });
        let mut rx = follow.watch_class();
        assert!(rx.has_changed().unwrap());
        let latest = rx.borrow_and_update().clone().unwrap().0;
        assert_eq!(latest.preset, "cpu-threads");
    }
}
