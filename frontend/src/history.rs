//! The runs kept by the server, newest first: those of the chosen lesson (or of every lesson),
//! each with the knobs that differ from the lesson's defaults, what ran it, the lesson's key
//! figure and when. Click one to open it (its link is `?run=ID`); star, rename, note,
//! download or delete it; open a run file from disk (or drop one anywhere on the page, see
//! [`crate::drop`]).

use gilscope_shared::history::{Kept, Listed, RunEdit};
use gilscope_shared::protocol::RunId;
use gilscope_shared::spec::PresetInfo;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::api::NotKept;
use crate::dash::Dash;
use crate::lang::{fill, tr, Locale};
use crate::{api, figures, runname, setup};

/// How often, and how long apart, the list is asked again while a run over is not kept yet
/// (a server that keeps nothing never keeps it).
const SAVE_WAITS: u32 = 5;
const SAVE_WAIT_MS: u32 = 300;

/// The list and what it shows, owned by the [`History`] panel.
#[derive(Clone, Copy)]
struct Shown {
    runs: RwSignal<Vec<Listed>>,
    /// Why runs are not being kept, when they are not.
    problem: RwSignal<Option<NotKept>>,
    every_lesson: RwSignal<bool>,
    /// Bumped to ask again (after an edit, a delete, an import).
    asked: RwSignal<u32>,
}

#[component]
pub fn History(dash: Dash) -> impl IntoView {
    let shown = Shown {
        runs: RwSignal::new(Vec::new()),
        problem: RwSignal::new(None),
        every_lesson: RwSignal::new(false),
        asked: RwSignal::new(0),
    };
    // Ask again when the lesson, the filter or the run shown (a run ending is kept) changes.
    // Only the newest answer is taken. A run just over is saved a moment later: while the
    // answer lists one not kept yet, ask again a few times.
    let latest = StoredValue::new(0u32);
    let waited = StoredValue::new(0u32);
    Effect::new(move |_| {
        let lesson = (!shown.every_lesson.get())
            .then(|| dash.lesson.get())
            .flatten();
        let _ = dash.info.with(|i| i.as_ref().map(|i| (i.id, i.state)));
        let _ = dash.imported.get();
        let ask = shown.asked.get();
        latest.set_value(ask);
        spawn_local(async move {
            let answer = api::list(lesson.as_deref()).await;
            let problem = api::store_problem().await.unwrap_or_default();
            if latest.get_value() != ask {
                return;
            }
            shown.problem.set(problem);
            match answer {
                Ok(runs) => {
                    let unsaved = runs
                        .iter()
                        .any(|r| r.info.state.is_over() && r.kept.is_none());
                    shown.runs.set(runs);
                    if !unsaved {
                        waited.set_value(0);
                    } else if waited.get_value() < SAVE_WAITS {
                        waited.update_value(|n| *n += 1);
                        gloo_timers::future::TimeoutFuture::new(SAVE_WAIT_MS).await;
                        if latest.get_value() == ask {
                            shown.asked.update(|n| *n += 1);
                        }
                    }
                }
                Err(err) => dash.notice.set(Some(fill(
                    tr!(dash.lang.get_untracked(), history.unreadable),
                    &[("err", &err)],
                ))),
            }
        });
    });
    let rows = move || {
        let presets = dash.presets();
        let cores = dash.conn.hello.with(|h| h.as_ref().map(|h| h.cores));
        shown
            .runs
            .get()
            .into_iter()
            .map(|run| row(dash, shown, run, &presets, cores))
            .map(IntoAny::into_any)
            .collect_view()
    };
    let empty = move || shown.runs.with(Vec::is_empty);
    view! {
        <section class="history" data-testid="history" aria-label="Past runs">
            <h2>{move || tr!(dash.locale(), history.title)}</h2>
            <div class="history-bar">
                <label class="history-filter">
                    <input
                        type="checkbox"
                        data-testid="history-all"
                        prop:checked=move || shown.every_lesson.get()
                        on:change=move |ev| shown.every_lesson.set(event_target_checked(&ev))
                    />
                    {move || tr!(dash.locale(), history.every_lesson)}
                </label>
                <label class="export open-file" title=move || tr!(dash.locale(), history.open_file_title)>
                    {move || tr!(dash.locale(), history.open_file)}
                    <input
                        type="file"
                        accept=".gilscope"
                        data-testid="history-file"
                        on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                                crate::drop::open_file(dash, file.unchecked_into());
                            }
                            input.set_value("");
                        }
                    />
                </label>
            </div>
            {move || {
                shown.problem.get().map(|p| {
                    let l = dash.locale();
                    // The flag is code, in any language.
                    let (text, flag, rest) = match p {
                        NotKept::Failing(err) => {
                            (fill(tr!(l, history.not_kept), &[("err", &err)]), None, String::new())
                        }
                        NotKept::NoStore => {
                            let (before, after) = tr!(l, history.no_store)
                                .split_once("{flag}")
                                .unwrap_or((tr!(l, history.no_store), ""));
                            (before.to_string(), Some("--no-store"), after.to_string())
                        }
                    };
                    view! {
                        <p class="history-problem" data-testid="history-problem">
                            {text}{flag.map(|f| view! { <code>{f}</code> })}{rest}
                        </p>
                    }
                })
            }}
            <ul>{rows}</ul>
            {move || empty().then(|| view! { <p class="empty">{tr!(dash.locale(), history.none)}</p> })}
        </section>
    }
}

/// One past run: a button that opens it, then its actions.
fn row(
    dash: Dash,
    shown: Shown,
    run: Listed,
    presets: &[PresetInfo],
    cores: Option<u32>,
) -> impl IntoView {
    let id = run.info.id;
    let preset = presets.iter().find(|p| p.name == run.info.spec.preset);
    // A name people gave it, else the lesson (code, in any language).
    let title = match run.kept.as_ref().and_then(|k| k.name.clone()) {
        Some(name) => view! { <span>{name}</span> }.into_any(),
        None => {
            let lesson = runname::lesson_text(dash.lang.get_untracked(), &run.info);
            view! { <code>{lesson}</code> }.into_any()
        }
    };
    let detail = [
        knobs_changed(&run, preset),
        runname::engine_text(dash.lang.get_untracked(), &run.info, "CPython"),
        key_figure(dash.lang.get_untracked(), &run, cores),
        when(dash.lang.get_untracked(), &run),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    let is_shown = move || dash.info.with(|i| i.as_ref().map(|i| i.id)) == Some(id);
    let note = run.kept.as_ref().and_then(|k| k.note.clone());
    let actions = run.kept.clone().map(|kept| actions(dash, shown, id, kept));
    view! {
        <li class="past" class:shown=is_shown data-testid=format!("history-run-{id}")>
            <button class="past-open" title=move || tr!(dash.locale(), history.open_title) on:click=move |_| dash.open_run(id)>
                <span class="past-title">{title}" #"{id}</span>
                <span class="past-detail">{detail}</span>
                {note.map(|n| view! { <span class="past-note">{n}</span> })}
            </button>
            {actions}
        </li>
    }
}

/// Star, rename, note, download and delete a kept run.
fn actions(dash: Dash, shown: Shown, id: RunId, kept: Kept) -> impl IntoView {
    let edit = move |change: RunEdit| {
        spawn_local(async move {
            match api::edit(id, &change).await {
                Ok(()) => shown.asked.update(|n| *n += 1),
                Err(err) => dash.notice.set(Some(fill(
                    tr!(dash.lang.get_untracked(), history.not_changed),
                    &[("id", &id.to_string()), ("err", &err)],
                ))),
            }
        })
    };
    let starred = kept.starred;
    let rename = {
        let name = kept.name.clone().unwrap_or_default();
        move |_| {
            if let Some(name) = ask(tr!(dash.lang.get_untracked(), history.ask_name), &name) {
                edit(RunEdit {
                    name: Some(name),
                    ..RunEdit::default()
                });
            }
        }
    };
    let annotate = {
        let note = kept.note.clone().unwrap_or_default();
        move |_| {
            if let Some(note) = ask(tr!(dash.lang.get_untracked(), history.ask_note), &note) {
                edit(RunEdit {
                    note: Some(note),
                    ..RunEdit::default()
                });
            }
        }
    };
    let delete = move |_| {
        let sure = window()
            .confirm_with_message(&fill(
                tr!(dash.lang.get_untracked(), history.ask_delete),
                &[("id", &id.to_string())],
            ))
            .unwrap_or(false);
        if sure {
            spawn_local(async move {
                match api::delete(id).await {
                    Ok(()) => shown.asked.update(|n| *n += 1),
                    Err(err) => dash.notice.set(Some(fill(
                        tr!(dash.lang.get_untracked(), history.not_deleted),
                        &[("id", &id.to_string()), ("err", &err)],
                    ))),
                }
            });
        }
    };
    view! {
        <span class="past-actions">
            <button
                class="past-star"
                class:on=starred
                data-testid=format!("history-star-{id}")
                title=move || if starred { tr!(dash.locale(), history.starred_title) } else { tr!(dash.locale(), history.star_title) }
                on:click=move |_| edit(RunEdit { starred: Some(!starred), ..RunEdit::default() })
            >
                {if starred { "★" } else { "☆" }}
            </button>
            <button title=move || tr!(dash.locale(), history.name_title) data-testid=format!("history-rename-{id}") on:click=rename>{move || tr!(dash.locale(), history.name)}</button>
            <button title=move || tr!(dash.locale(), history.note_title) data-testid=format!("history-note-{id}") on:click=annotate>{move || tr!(dash.locale(), history.note)}</button>
            <a
                title=move || tr!(dash.locale(), history.file_title)
                href=format!("/api/runs/{id}/file")
                download=format!("run-{id}.gilscope")
            >
                {move || tr!(dash.locale(), history.file)}
            </a>
            <button title=move || tr!(dash.locale(), history.delete_title) data-testid=format!("history-delete-{id}") on:click=delete>"✕"</button>
        </span>
    }
}

/// `threads=4 gil=none`: the knobs the run changed from its lesson's defaults.
fn knobs_changed(run: &Listed, preset: Option<&PresetInfo>) -> String {
    let defaults = preset.map(setup::default_texts).unwrap_or_default();
    run.info
        .spec
        .knobs
        .iter()
        .map(|(name, value)| (name, value.to_string()))
        .filter(|(name, value)| defaults.get(*name) != Some(value))
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lesson's first card: `speedup 0.98×`; the state while there is no summary.
fn key_figure(l: Locale, run: &Listed, cores: Option<u32>) -> String {
    use gilscope_shared::protocol::RunState;
    match &run.info.summary {
        Some(summary) => figures::cards(summary, cores)
            .into_iter()
            .next()
            .map(|card| format!("{} {}", crate::cards::title(l, &card), card.value))
            .unwrap_or_default(),
        None => match run.info.state {
            RunState::Queued => tr!(l, ui.queued),
            RunState::Stopped => tr!(l, ui.stopped),
            RunState::Failed => tr!(l, ui.failed),
            RunState::Running | RunState::Finished => tr!(l, history.live),
        }
        .to_string(),
    }
}

/// When the run was kept, in the browser's time zone: `14:05` today, else the date too.
fn when(l: Locale, run: &Listed) -> String {
    let Some(ms) = run.kept.as_ref().map(|k| k.saved_at_ms as f64) else {
        return String::new();
    };
    let at = js_sys::Date::new(&ms.into());
    let today = js_sys::Date::new_0();
    let time = format!("{:02}:{:02}", at.get_hours(), at.get_minutes());
    if at.to_date_string() == today.to_date_string() {
        time
    } else {
        let date =
            at.to_locale_date_string(crate::lang::code(l), &wasm_bindgen::JsValue::UNDEFINED);
        format!("{} {time}", String::from(date))
    }
}

/// A one-line question with an answer to start from; `None` when cancelled.
fn ask(question: &str, start: &str) -> Option<String> {
    window()
        .prompt_with_message_and_default(question, start)
        .ok()
        .flatten()
}
