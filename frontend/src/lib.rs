//! gilscope's dashboard: a Leptos client-side app, compiled to WebAssembly and served by
//! `gilscope serve`. One component per view, one module for the websocket.

use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

pub mod connection;
mod header;
mod legend;
mod sidebar;
mod timeline;

use connection::Connection;

/// The whole page: header across the top, lessons on the left, the run on the right.
#[component]
pub fn App() -> impl IntoView {
    let conn: Connection = connection::connect(connection::ws_url());
    provide_context(conn);
    view! {
        <div class="app">
            <header::Header conn=conn />
            <sidebar::Sidebar />
            <timeline::Timeline />
        </div>
    }
}

/// Entry point, run by wasm-bindgen's `init()` in index.html.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
