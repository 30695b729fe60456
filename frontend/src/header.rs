//! The bar across the top: title, the lesson's claim, and who we are talking to.

use leptos::prelude::*;

use crate::connection::{ConnState, Connection};

#[component]
pub fn Header(conn: Connection) -> impl IntoView {
    let state = conn.state;
    let version = move || {
        conn.hello
            .get()
            .map_or_else(|| "—".to_string(), |h| h.version)
    };
    let cores = move || {
        conn.hello
            .get()
            .map_or_else(|| "—".to_string(), |h| h.cores.to_string())
    };
    let detail = move || match (state.get(), conn.retry_in.get()) {
        (ConnState::Lost, Some(delay)) => format!("retry in {:.2} s", delay.as_secs_f32()),
        _ => String::new(),
    };
    view! {
        <header class="header">
            <h1 class="brand">"gilscope"<span class="dot">"."</span></h1>
            <p class="lesson-title">"What Python threads and processes really do, live"</p>
            <div class="server-info">
                <span class="fact" title="gilscope server version">
                    <span class="label">"server"</span>
                    <span class="value" data-testid="server-version">{version}</span>
                </span>
                <span class="fact" title="logical cores of the machine that runs the experiments">
                    <span class="label">"cores"</span>
                    <span class="value" data-testid="server-cores">{cores}</span>
                </span>
                <span
                    class=move || format!("conn {}", state.get().label())
                    data-testid="conn-state"
                    title=move || conn.last_error.get().unwrap_or_default()
                >
                    {move || state.get().label()}
                </span>
                <span class="conn-detail">{detail}</span>
            </div>
        </header>
    }
}
