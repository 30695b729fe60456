//! Pinning a run: the page keeps its own copy of a finished run, so the runs after it are
//! drawn below it on the same time axis and their figures compared with its. Nothing is
//! copied or asked of the server: while the pinned run is the one shown, the store shown holds
//! it; when a newer run arrives, the store hands that data over to the pin
//! ([`crate::store::Store::take`]) instead of forgetting it. (The store always holds the whole run it shows:
//! a viewer that joins during a run is sent it from its start, so no replay is needed.)

use gilscope_shared::protocol::{RunId, ServerMsg};
use leptos::prelude::*;

use crate::dash::Dash;
use crate::lang::tr;

impl Dash {
    /// Pins the run shown, once it is over (replacing any pinned run).
    pub fn pin(&self) {
        let Some(info) = self.info.get_untracked().filter(|i| i.state.is_over()) else {
            return;
        };
        self.pinned.set_value(None);
        self.pinned_info.set(Some(info));
        self.refit();
    }

    pub fn unpin(&self) {
        self.pinned.set_value(None);
        self.pinned_info.set(None);
        self.pinned_rows.set_value(Vec::new());
        self.refit();
    }

    /// The pinned run's id.
    pub fn pinned_id(&self) -> Option<RunId> {
        self.pinned_info.with(|i| i.as_ref().map(|i| i.id))
    }

    /// A run is pinned and another is shown: two blocks, two sets of figures.
    pub fn comparing(&self) -> bool {
        let shown = self.info.with(|i| i.as_ref().map(|i| i.id));
        self.pinned_id().is_some_and(|p| Some(p) != shown)
    }

    /// Before the store takes `msg`: if it is about a newer run than the pinned one the store
    /// holds, the pin takes the pinned run's data.
    pub(crate) fn keep_pinned(&self, msg: &ServerMsg) {
        let about = match msg {
            ServerMsg::Run(info) => info.id,
            ServerMsg::Frame(frame) => frame.run,
            _ => return,
        };
        // Messages about older runs never replace the run shown.
        let pinned = self
            .pinned_info
            .with_untracked(|i| i.as_ref().map(|i| i.id));
        if pinned.is_some_and(|pinned| about > pinned) {
            self.pin_takes_shown(about);
        }
    }

    /// Another run (`next`) is about to be shown: if the store holds the pinned run, the pin
    /// takes its data first.
    pub(crate) fn pin_takes_shown(&self, next: RunId) {
        let Some(pinned) = self
            .pinned_info
            .with_untracked(|i| i.as_ref().map(|i| i.id))
        else {
            return;
        };
        if next == pinned || self.pinned.with_value(Option::is_some) {
            return;
        }
        let kept = self
            .store
            .try_update_value(|store| (store.run == Some(pinned)).then(|| store.take()))
            .flatten();
        self.pinned.set_value(kept);
    }

    /// Follows (fits) again: the time both blocks need changed.
    fn refit(&self) {
        self.nav.update_value(|n| {
            n.follow = true;
            n.dirty = true;
        });
    }
}

/// Pin the run shown, once it is over; unpin the pinned one.
#[component]
pub fn PinButtons(dash: Dash) -> impl IntoView {
    let over = move || {
        dash.info
            .with(|i| i.as_ref().filter(|i| i.state.is_over()).map(|i| i.id))
    };
    let pinned = move || dash.pinned_id();
    let l = move || dash.locale();
    let pin_label = move || match (over(), pinned()) {
        (Some(run), Some(p)) if run == p => tr!(l(), ui.pinned),
        _ => tr!(l(), ui.pin),
    };
    view! {
        <button
            class="export pin"
            data-testid="pin"
            title=move || tr!(l(), ui.pin_title)
            disabled=move || over().is_none() || over() == pinned()
            on:click=move |_| dash.pin()
        >
            {pin_label}
        </button>
        <button
            class="export"
            class:hidden=move || pinned().is_none()
            data-testid="unpin"
            on:click=move |_| dash.unpin()
        >
            {move || tr!(l(), ui.unpin)}
        </button>
    }
}
