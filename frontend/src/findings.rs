//! "What happened": the run's findings (the shared rules, see `gilscope_shared::findings`),
//! most important first, each a button that zooms the timeline to its evidence and outlines
//! it (again: the next piece of evidence; Escape forgets it). In projector mode the top
//! finding is also one large line under the lesson's claim ([`TopFinding`]).

use gilscope_shared::findings::{Finding, Severity};
use leptos::prelude::*;

use crate::dash::Dash;
use crate::lang::findings::sentence;
use crate::lang::{fill, tr, Locale};

/// The severity as a mark, a word and a CSS class: never colour alone.
fn severity(l: Locale, s: Severity) -> (&'static str, &'static str, &'static str) {
    match s {
        Severity::Wrong => ("!!", tr!(l, panel.wrong), "sev-wrong"),
        Severity::Slow => ("!", tr!(l, panel.slow), "sev-slow"),
        Severity::Note => ("i", tr!(l, panel.note), "sev-note"),
    }
}

fn badge(l: Locale, s: Severity) -> impl IntoView {
    let (mark, word, class) = severity(l, s);
    view! {
        <span class=format!("sev {class}")>
            <span class="sev-mark" aria-hidden="true">{mark}</span>
            <span class="sev-word">{word}</span>
        </span>
    }
}

#[component]
pub fn Findings(dash: Dash) -> impl IntoView {
    // A new list (a new run) forgets the finding shown.
    Effect::new(move |_| {
        dash.findings.track();
        dash.focus.set(None);
    });
    let rows = move || {
        let list = dash.findings.get();
        let l = dash.locale();
        if list.is_empty() {
            let text = if dash
                .info
                .with(|i| i.as_ref().is_some_and(|i| i.state.is_over()))
            {
                tr!(l, panel.empty_after)
            } else {
                tr!(l, panel.empty_before)
            };
            return view! { <p class="findings-empty">{text}</p> }.into_any();
        }
        list.into_iter()
            .enumerate()
            .map(|(i, f)| row(dash, l, i, f))
            .map(IntoAny::into_any)
            .collect_view()
            .into_any()
    };
    view! {
        <section
            class="findings"
            data-testid="findings"
            aria-label=move || tr!(dash.locale(), panel.title)
        >
            <h2>{move || tr!(dash.locale(), panel.title)}</h2>
            <ol class="finding-list">{rows}</ol>
        </section>
    }
}

fn row(dash: Dash, l: Locale, i: usize, f: Finding) -> impl IntoView {
    let pieces = f.evidence.len();
    let focused = move || dash.focus.get().filter(|x| x.finding == i);
    let where_ = move || match (focused(), pieces) {
        (_, 0) => tr!(l, panel.not_on_timeline).to_string(),
        (Some(x), n) if n > 1 => fill(
            tr!(l, panel.shown_of),
            &[("k", &(x.item + 1).to_string()), ("n", &n.to_string())],
        ),
        (Some(_), _) => tr!(l, panel.shown).to_string(),
        (None, 1) => tr!(l, panel.show).to_string(),
        (None, n) => fill(tr!(l, panel.show_n), &[("n", &n.to_string())]),
    };
    view! {
        <li>
            <button
                class="finding"
                class:focused=move || focused().is_some()
                data-testid=format!("finding-{}", f.facts.rule())
                aria-pressed=move || focused().is_some().to_string()
                disabled=pieces == 0
                title=tr!(l, panel.zoom_title)
                on:click=move |_| dash.show_evidence(i)
            >
                {badge(l, f.severity)}
                <span class="finding-text">{sentence(l, &f.facts)}</span>
                <span class="finding-where">{where_}</span>
            </button>
        </li>
    }
}

/// The top finding as one line, shown in projector mode under the lesson's claim.
#[component]
pub fn TopFinding(dash: Dash) -> impl IntoView {
    move || {
        if !dash.projector.get() {
            return None;
        }
        let top = dash.findings.with(|f| f.first().cloned())?;
        let l = dash.locale();
        // The mark alone (its word as a tooltip): the line is the sentence's.
        let (mark, word, class) = severity(l, top.severity);
        Some(view! {
            <span class="top-finding" data-testid="top-finding">
                <span class=format!("sev {class}") title=word>
                    <span class="sev-mark">{mark}</span>
                </span>
                <span class="top-finding-text" data-testid="top-finding-text">
                    {sentence(l, &top.facts)}
                </span>
            </span>
        })
    }
}
