//! gilscope's dashboard: a Leptos client-side app, compiled to WebAssembly and served by
//! `gilscope serve`. One component per view; the run's data in [`store`]; the canvas
//! renderer's pure part in [`render`] (host-tested) and its drawing in [`paint`]; lifecycles
//! (animation frame, keys) in [`hooks`]; the websocket in [`connection`]; a pinned run beside
//! the run shown in [`pin`]; CPython runs, their output and the student's code in
//! [`cpython`], [`output`], [`code`] and [`edits`]; runs kept by the server in [`history`]
//! (through [`api`]) and run files dropped on the page in [`drop`].

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

mod api;
pub mod bench;
pub mod bound;
mod cards;
mod code;
pub mod compare;
pub mod connection;
mod cores;
mod cpython;
mod dash;
mod drop;
pub mod edits;
pub mod evidence;
mod findings;
mod follow;
pub use gilscope_shared::figures;
mod header;
pub mod highlight;
mod history;
mod hooks;
mod knobs;
pub mod lang;
mod legend;
mod output;
mod paint;
mod pin;
pub mod pyramid;
mod queue;
pub mod render;
pub mod runname;
pub mod setup;
mod sidebar;
pub mod store;
mod timeline;

use dash::Dash;

/// The whole page: header across the top, lessons and knobs on the left, the run on the
/// right; in `locale`, whose texts are loaded.
#[component]
pub fn App(locale: lang::Locale) -> impl IntoView {
    let query = window().location().search().unwrap_or_default();
    let initial = setup::parse_query(&query);
    // `<html lang>` follows the language; the link keeps it once the link chose it.
    let chosen_lang = initial.lang.is_some();
    let store = StoredValue::new(store::Store::default());
    // The connection hands runs and frames to the dash, which exists only after it: a cell
    // in between.
    let target: StoredValue<Option<Dash>, LocalStorage> = StoredValue::new_local(None);
    let on_run: connection::OnRun = Rc::new(move |msg| {
        if let Some(dash) = target.get_value() {
            dash.receive(msg);
        }
    });
    let conn = connection::connect(connection::ws_url(), on_run);
    let dash = Dash::new(conn, store, initial, locale);
    Effect::new(move |_| {
        let code = lang::code(dash.locale());
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", code);
        }
    });
    target.set_value(Some(dash));
    provide_context(dash);

    // Presets known (or known again): apply the URL's lesson and knobs.
    Effect::new(move |_| {
        if conn.hello.with(|h| h.is_some()) {
            dash.apply_pending();
        }
    });
    // A server error about a run this page asked for lands next to its knob.
    Effect::new(move |_| {
        if let Some(err) = conn.last_error.get() {
            dash.server_error.set(Some(err));
        }
    });
    // The URL holds the setup, so a link reproduces it.
    Effect::new(move |_| {
        let lesson = dash.lesson.get();
        if lesson.is_none() {
            return;
        }
        // The language stays in the link once chosen (by the link or the switch).
        let locale = dash.locale();
        let setup = setup::Setup {
            lesson,
            projector: dash.projector.get(),
            knobs: dash.knobs.get(),
            lang: (chosen_lang || dash.lang_chosen.get()).then(|| lang::code(locale).to_string()),
            run: dash.opened.get(),
        };
        let query = setup::to_query(&setup, dash.preset().as_ref());
        let path = window()
            .location()
            .pathname()
            .unwrap_or_else(|_| "/".into());
        if window().location().search().unwrap_or_default() != query {
            if let Ok(history) = window().history() {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("{path}{query}")),
                );
            }
        }
    });
    // Projector mode: larger type everywhere (CSS) and in the canvases (theme).
    Effect::new(move |_| {
        let on = dash.projector.get();
        if let Some(root) = document().document_element() {
            let _ = root.class_list().toggle_with_force("projector", on);
        }
        dash.touch();
    });
    // A student's page has no Run, Stop or code editing (CSS).
    Effect::new(move |_| {
        let student = conn.hello.with(|h| {
            h.as_ref()
                .is_some_and(|h| h.role == gilscope_shared::protocol::Role::Student)
        });
        if let Some(root) = document().document_element() {
            let _ = root.class_list().toggle_with_force("student", student);
        }
    });
    // The canvases' words follow the language.
    Effect::new(move |_| {
        dash.lang.track();
        dash.touch();
    });
    hooks::use_painter(dash);
    hooks::use_keys(dash);
    follow::use_sharing(dash);

    view! {
        <div class="app">
            <header::Header dash=dash />
            <sidebar::Sidebar dash=dash />
            <main class="main">
                <cards::Cards dash=dash />
                <findings::Findings dash=dash />
                <timeline::Timeline dash=dash />
                <output::Output dash=dash />
                <code::Code dash=dash />
            </main>
            <drop::DropHint dash=dash />
        </div>
    }
}

/// Entry point, run by wasm-bindgen's `init()` in index.html: the page is drawn once its
/// language's texts are here (the link's language, else the browser's).
#[wasm_bindgen(start)]
pub fn start() {
    // Reached by a panic only in a wasm built with GILSCOPE_PANIC_MESSAGES=1 (server/build.rs):
    // otherwise a panic is a wasm trap at once, without its message.
    console_error_panic_hook::set_once();
    let query = window().location().search().unwrap_or_default();
    let locale = lang::from_query(&query).unwrap_or_else(lang::browser);
    // Leptos' own executor starts with the mount: wasm-bindgen's until then.
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(err) = lang::texts::load(locale).await {
            leptos::logging::error!("gilscope: the dashboard's texts: {err}");
        }
        leptos::mount::mount_to_body(move || view! { <App locale=locale /> });
    });
}
