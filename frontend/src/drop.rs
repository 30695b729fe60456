//! Run files dropped on the page (or chosen with "Open file…"): sent to the server, which
//! keeps them like any run, then opened. While a file is dragged over the page, a hint covers
//! it; what went wrong stays in a notice until dismissed.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::dash::Dash;
use crate::lang::{fill, tr};

/// Keeps the run file and opens it.
pub fn open_file(dash: Dash, file: web_sys::Blob) {
    dash.notice.set(None);
    spawn_local(async move {
        match api::import(file).await {
            Ok(id) => {
                dash.imported.update(|n| *n += 1);
                dash.open_run(id);
            }
            Err(err) => dash.notice.set(Some(fill(
                tr!(dash.lang.get_untracked(), history.not_opened),
                &[("err", &err)],
            ))),
        }
    });
}

/// Lets the whole page take a dropped run file. Returns whether a file is being dragged over it.
pub fn use_file_drop(dash: Dash) -> ReadSignal<bool> {
    let (dragging, set_dragging) = signal(false);
    let carries_files = |ev: &web_sys::DragEvent| {
        ev.data_transfer()
            .is_some_and(|d| d.types().includes(&"Files".into(), 0))
    };
    // Without preventing dragover's default the browser would open the file itself.
    let over = window_event_listener(ev::dragover, move |ev| {
        if carries_files(&ev) {
            ev.prevent_default();
            set_dragging.set(true);
        }
    });
    let leave = window_event_listener(ev::dragleave, move |ev| {
        // Leaving the window, not moving between elements of the page.
        if ev.related_target().is_none() {
            set_dragging.set(false);
        }
    });
    let dropped = window_event_listener(ev::drop, move |ev| {
        set_dragging.set(false);
        let file = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0));
        if let Some(file) = file {
            ev.prevent_default();
            open_file(dash, file.into());
        }
    });
    on_cleanup(move || {
        over.remove();
        leave.remove();
        dropped.remove();
    });
    dragging
}

/// The hint while a file is dragged, and the last problem with a run file or the history.
#[component]
pub fn DropHint(dash: Dash) -> impl IntoView {
    let dragging = use_file_drop(dash);
    view! {
        <div class="drop-hint" class:hidden=move || !dragging.get() data-testid="drop-hint">
            <p>{move || tr!(dash.locale(), history.drop_hint)}</p>
        </div>
        {move || {
            dash.notice
                .get()
                .map(|text| {
                    view! {
                        <div class="notice" role="alert" data-testid="notice">
                            <span>{text}</span>
                            <button title=move || tr!(dash.locale(), history.dismiss) on:click=move |_| dash.notice.set(None)>"✕"</button>
                        </div>
                    }
                })
        }}
    }
}
