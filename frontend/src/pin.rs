//! Pinning a run: the page keeps its own copy of a finished run (its store, as drawn), so the
//! runs after it are drawn below it on the same time axis and their figures compared with
//! its. The copy comes from the frames the page already has; when it has none (it joined
//! after the run), the server replays the run ([`ClientMsg::Subscribe`]) into the copy.

use gilscope_shared::protocol::{ClientMsg, RunId, ServerMsg};
use leptos::prelude::*;

use crate::dash::Dash;
use crate::store::Store;

impl Dash {
    /// Pins the run shown, once it is over.
    pub fn pin(&self) {
        let Some(info) = self.info.get_untracked().filter(|i| i.state.is_over()) else {
            return;
        };
        let held = self
            .store
            .with_value(|s| (s.run == Some(info.id) && s.span_count() > 0).then(|| s.clone()));
        let copy = held.unwrap_or_else(|| {
            let mut store = Store::default();
            store.apply_run(info.clone());
            self.conn.send(ClientMsg::Subscribe { id: info.id });
            store
        });
        self.pinned.set_value(Some(copy));
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

    /// Takes into the pinned copy what the server says of the pinned run (a replay).
    pub(crate) fn receive_pinned(&self, msg: &ServerMsg) {
        let Some(id) = self
            .pinned_info
            .with_untracked(|i| i.as_ref().map(|i| i.id))
        else {
            return;
        };
        let changed = self.pinned.try_update_value(|pinned| {
            let store = pinned.as_mut()?;
            match msg {
                ServerMsg::Run(info) if info.id == id => {
                    store.apply_run(info.clone());
                    Some(info.clone())
                }
                ServerMsg::Frame(frame) if frame.run == id => {
                    store.apply_frame(frame.clone());
                    store.info.clone()
                }
                _ => None,
            }
        });
        if let Some(Some(info)) = changed {
            self.pinned_info.set(Some(info));
            self.touch();
        }
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
    let pin_label = move || match (over(), pinned()) {
        (Some(run), Some(p)) if run == p => "pinned",
        _ => "Pin this run",
    };
    view! {
        <button
            class="export pin"
            data-testid="pin"
            title="Keep this run: the next runs are drawn below it, on the same time axis"
            disabled=move || over().is_none() || over() == pinned()
            on:click=move |_| dash.pin()
        >
            {pin_label}
        </button>
        {move || {
            pinned()
                .map(|_| {
                    view! {
                        <button class="export" data-testid="unpin" on:click=move |_| dash.unpin()>
                            "Unpin"
                        </button>
                    }
                })
        }}
    }
}
