//! The run's figures as big cards, only those that apply, and the time per state as one bar.
//! While a run is pinned and another shown, each card also holds the pinned run's value and
//! how many times the pinned value the value shown is ("0.99×", "pinned 0.91×", "1.09× the
//! pinned").

use gilscope_shared::decimal::fixed;
use gilscope_shared::figures::Card;
use gilscope_shared::trace::State;
use leptos::prelude::*;

use crate::compare;
use crate::dash::Dash;
use crate::figures;
use crate::lang::{tr, Locale};

/// A card's title in the chosen language, by its key (the shared English for a key the
/// catalogue lacks).
pub(crate) fn title(l: Locale, card: &Card) -> &'static str {
    match card.key {
        "speedup" => tr!(l, card.speedup),
        "lost" => tr!(l, card.lost),
        "cores" => tr!(l, card.cores),
        "handoffs" => tr!(l, card.handoffs),
        "rate" => tr!(l, card.rate),
        "wall" => tr!(l, card.wall),
        "exception" => tr!(l, card.exception),
        "way-queue" => tr!(l, card.way_queue),
        "way-value-semaphores" => tr!(l, card.way_value_semaphores),
        "way-value-polled" => tr!(l, card.way_value_polled),
        "way-other" => tr!(l, card.way_other),
        "messages" => tr!(l, card.messages),
        "return-file" => tr!(l, card.return_file),
        "return-queue" => tr!(l, card.return_queue),
        "return-pool" => tr!(l, card.return_pool),
        "return-other" => tr!(l, card.return_other),
        "depth" => tr!(l, card.depth),
        "empty-wrong" => tr!(l, card.empty_wrong),
        "full-wrong" => tr!(l, card.full_wrong),
        "start" => tr!(l, card.start),
        _ => card.label,
    }
}

#[component]
pub fn Cards(dash: Dash) -> impl IntoView {
    let summary = move || {
        dash.info
            .with(|i| i.as_ref().and_then(|i| i.summary.clone()))
    };
    let pinned_summary = move || {
        if !dash.comparing() {
            return None;
        }
        dash.pinned_info
            .with(|i| i.as_ref().and_then(|i| i.summary.clone()))
    };
    let cores = move || dash.conn.hello.with(|h| h.as_ref().map(|h| h.cores));
    let cards = move || {
        let l = dash.locale();
        let Some(s) = summary() else {
            let text = if dash.live() {
                tr!(l, ui.measuring)
            } else {
                tr!(l, ui.run_to_see)
            };
            return view! { <p class="cards-empty">{text}</p> }.into_any();
        };
        let pinned = pinned_summary();
        let shown = figures::cards(&s, cores());
        let mut pinned_cards = pinned
            .as_ref()
            .map(|p| figures::cards(p, cores()))
            .unwrap_or_default();
        // Every figure of either run: those of the run shown, then those only the pinned run has.
        let mut pairs: Vec<(Card, Option<Card>)> = shown
            .into_iter()
            .map(|c| {
                let other = pinned_cards
                    .iter()
                    .position(|p| p.key == c.key)
                    .map(|at| pinned_cards.remove(at));
                (c, other)
            })
            .collect();
        pairs.extend(pinned_cards.into_iter().map(|p| {
            let missing = Card {
                value: "—".to_string(),
                detail: tr!(l, ui.not_measured).to_string(),
                amount: None,
                ..p.clone()
            };
            (missing, Some(p))
        }));
        let list = pairs
            .into_iter()
            .map(|(c, other)| {
                let key = c.key;
                let detail = if c.value == "—" {
                    c.detail.clone()
                } else {
                    crate::lang::cards::detail(l, &s, &c, cores())
                };
                // Empty unless a run is pinned (the CSS hides them then).
                let (pinned, ratio) = other.map_or_else(Default::default, |p| {
                    let ratio = compare::ratio(c.amount, p.amount).map(compare::ratio_text);
                    (p.value, ratio.unwrap_or_default())
                });
                view! {
                    <div class="card" data-testid=format!("card-{key}")>
                        <div class="label">{title(l, &c)}</div>
                        <div class="value" data-testid=format!("card-{key}-value")>{c.value}</div>
                        <div class="pinned-value" data-testid=format!("card-{key}-pinned")>
                            {pinned}
                        </div>
                        <div class="ratio" data-testid=format!("card-{key}-ratio")>{ratio}</div>
                        <div class="detail">{detail}</div>
                    </div>
                }
            })
            .map(IntoAny::into_any)
            .collect_view();
        let shares = figures::state_shares(&s);
        let words = shares
            .iter()
            .take(3)
            .map(|(state, share)| {
                format!(
                    "{} {}%",
                    crate::legend::label(l, *state),
                    fixed(share * 100.0, 0)
                )
            })
            .collect::<Vec<_>>()
            .join(" · ");
        let pinned_bar = pinned.map(|p| {
            view! {
                <div class="label">{tr!(l, ui.pinned)}</div>
                <div class="state-bar pinned" data-testid="card-states-pinned">
                    {state_bar(l, &figures::state_shares(&p))}
                </div>
            }
        });
        view! {
            {list}
            <div class="card states" data-testid="card-states">
                <div class="label">{tr!(l, ui.time_per_state)}</div>
                <div class="state-bar">{state_bar(l, &shares)}</div>
                {pinned_bar}
                <div class="detail">{words}</div>
            </div>
        }
        .into_any()
    };
    view! { <div class="cards" data-testid="summary">{cards}</div> }
}

/// The shares of time per state as segments of one bar.
fn state_bar(l: Locale, shares: &[(State, f64)]) -> impl IntoView {
    shares
        .iter()
        .map(|(state, share)| {
            let class = format!("seg state-{}", crate::legend::css_class(*state));
            let style = format!("width: {}%", fixed(share * 100.0, 2));
            let title = format!(
                "{}: {}%",
                crate::legend::label(l, *state),
                fixed(share * 100.0, 0)
            );
            view! { <span class=class style=style title=title></span> }
        })
        .map(IntoAny::into_any)
        .collect_view()
}
