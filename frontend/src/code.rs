//! The Python the lesson mirrors, syntax-highlighted.

use leptos::prelude::*;

use crate::dash::Dash;
use crate::highlight::highlight;

#[component]
pub fn Code(dash: Dash) -> impl IntoView {
    let code = move || {
        let python = dash.preset().map(|p| p.python).unwrap_or_default();
        highlight(&python)
            .into_iter()
            .map(|(tok, text)| view! { <span class=tok.class()>{text.to_string()}</span> })
            .collect_view()
    };
    view! {
        <details class="code-panel" open>
            <summary>"The Python it mirrors"</summary>
            <pre class="code" data-testid="code"><code>{code}</code></pre>
        </details>
    }
}
