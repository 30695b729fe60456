//! The run's figures as big cards, only those that apply, and the time per state as one bar.

use leptos::prelude::*;

use crate::dash::Dash;
use crate::figures;

#[component]
pub fn Cards(dash: Dash) -> impl IntoView {
    let summary = move || {
        dash.info
            .with(|i| i.as_ref().and_then(|i| i.summary.clone()))
    };
    let cores = move || dash.conn.hello.with(|h| h.as_ref().map(|h| h.cores));
    let cards = move || {
        let Some(s) = summary() else {
            let text = if dash.live() {
                "measuring…"
            } else {
                "Run the lesson to see its figures."
            };
            return view! { <p class="cards-empty">{text}</p> }.into_any();
        };
        let shares = figures::state_shares(&s);
        let bar = shares
            .iter()
            .map(|(state, share)| {
                let class = format!("seg state-{}", crate::legend::css_class(*state));
                let style = format!("width: {:.2}%", share * 100.0);
                let title = format!("{}: {:.0}%", state.label(), share * 100.0);
                view! { <span class=class style=style title=title.clone()></span> }
            })
            .collect_view();
        let words = shares
            .iter()
            .take(3)
            .map(|(state, share)| format!("{} {:.0}%", state.label(), share * 100.0))
            .collect::<Vec<_>>()
            .join(" · ");
        let list = figures::cards(&s, cores())
            .into_iter()
            .map(|c| {
                view! {
                    <div class="card" data-testid=format!("card-{}", c.key)>
                        <div class="label">{c.label}</div>
                        <div class="value" data-testid=format!("card-{}-value", c.key)>{c.value}</div>
                        <div class="detail">{c.detail}</div>
                    </div>
                }
            })
            .collect_view();
        view! {
            {list}
            <div class="card states" data-testid="card-states">
                <div class="label">"time per state"</div>
                <div class="state-bar">{bar}</div>
                <div class="detail">{words}</div>
            </div>
        }
        .into_any()
    };
    view! { <div class="cards" data-testid="summary">{cards}</div> }
}
