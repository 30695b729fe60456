//! Classroom mode on the page: a student's page follows what the teacher's shows (the
//! lesson, its knobs, the code, the run shown, the time window, projector mode), until the
//! student zooms or pans to explore; `F` follows again. The teacher's page shares what it
//! shows, at most 4 times a second when it changes, and shows the viewer count and the
//! students' QR code.

use gilscope_shared::protocol::{ClassState, ClientMsg, Role, RunId, Window as Span};
use leptos::prelude::*;

use crate::dash::Dash;
use crate::lang::{fill, tr};
use crate::render::Window;

/// How often the teacher's page looks for a change to share, in ms.
const SHARE_MS: u32 = 250;

/// What the page's role lets it do (before the hello: as a local page).
pub fn role(dash: &Dash) -> Role {
    dash.conn
        .hello
        .with_untracked(|h| h.as_ref().map_or(Role::Local, |h| h.role))
}

/// A `class` message: kept, and shown if this page is a student's that follows.
pub fn receive(dash: &Dash, class: ClassState) {
    dash.class.set_value(Some(class));
    if role(dash) == Role::Student && dash.following.get_untracked() {
        apply(dash);
    }
}

/// The student explores on its own (zoom, pan): it stops following.
pub fn detach(dash: &Dash) {
    if role(dash) == Role::Student && dash.following.get_untracked() {
        dash.following.set(false);
    }
}

/// `F` on a student's page: follow the teacher again, from what the teacher shows now.
pub fn refollow(dash: &Dash) {
    if role(dash) == Role::Student {
        dash.following.set(true);
        apply(dash);
    }
}

/// Shows the teacher's latest state.
fn apply(dash: &Dash) {
    let Some(class) = dash.class.get_value() else {
        return;
    };
    if dash.lesson.get_untracked().as_deref() != Some(class.preset.as_str()) {
        dash.choose(&class.preset);
    }
    let mut texts = dash
        .preset()
        .map(|p| crate::setup::default_texts(&p))
        .unwrap_or_default();
    texts.extend(class.knobs.iter().map(|(k, v)| (k.clone(), v.to_string())));
    if dash.knobs.get_untracked() != texts {
        dash.knobs.set(texts);
    }
    if dash.edited.get_untracked() != class.code {
        dash.edited.set(class.code.clone());
    }
    if dash.projector.get_untracked() != class.projector {
        dash.projector.set(class.projector);
    }
    if follow_pin(dash, class.pinned) {
        if let Some(id) = class.run {
            let shown = dash.store.with_value(|s| s.run);
            if shown != Some(id) && dash.asked.get_value() != Some(id) {
                dash.asked.set_value(Some(id));
                dash.conn.send(ClientMsg::Subscribe { id });
            }
        }
    }
    dash.nav.update_value(|n| {
        match class.window {
            Some(Span { t0, t1 }) => {
                n.win = Window::new(t0 as f64, t1 as f64);
                n.follow = false;
            }
            None => n.follow = true,
        }
        n.dirty = true;
    });
}

/// The teacher's pinned run, pinned here too. The run shown is pinned once it is that run and
/// over; a page that does not show it (it joined later) asks for it first and answers false:
/// the teacher's run shown waits until the pinned one is here ([`run_over`] applies again).
fn follow_pin(dash: &Dash, pinned: Option<RunId>) -> bool {
    let here = dash
        .pinned_info
        .with_untracked(|p| p.as_ref().map(|p| p.id));
    match pinned {
        None if here.is_some() => dash.unpin(),
        Some(p) if here != Some(p) => {
            let shown = dash
                .info
                .with_untracked(|i| i.as_ref().map(|i| (i.id, i.state.is_over())));
            match shown {
                Some((id, true)) if id == p => dash.pin(),
                Some((id, false)) if id == p => return false,
                _ => {
                    if dash.asked.get_value() != Some(p) {
                        dash.asked.set_value(Some(p));
                        dash.store.update_value(|s| s.open(p));
                        dash.conn.send(ClientMsg::Subscribe { id: p });
                    }
                    return false;
                }
            }
        }
        _ => {}
    }
    true
}

/// A run is over on this page: if it is the teacher's pinned run a following student waited
/// for, follow again (pin it, then show the teacher's run).
pub fn run_over(dash: &Dash, id: RunId) {
    let waited = dash
        .class
        .with_value(|c| c.as_ref().is_some_and(|c| c.pinned == Some(id)));
    if waited && role(dash) == Role::Student && dash.following.get_untracked() {
        apply(dash);
    }
}

/// What this page shows now, as the class shares it.
fn current(dash: &Dash) -> Option<ClassState> {
    let preset = dash.preset()?;
    let spec = dash
        .knobs
        .with_untracked(|k| crate::setup::spec(&preset, k))?;
    let nav = dash.nav.get_value();
    let window = (!nav.follow).then(|| Span {
        t0: nav.win.t0.max(0.0).round() as u64,
        t1: nav.win.t1.max(1.0).round() as u64,
    });
    let run: Option<RunId> = dash.store.with_value(|s| s.run);
    let pinned = dash
        .pinned_info
        .with_untracked(|p| p.as_ref().map(|p| p.id));
    Some(ClassState {
        preset: preset.name,
        knobs: spec.knobs,
        code: dash.edited.get_untracked(),
        run,
        pinned,
        window,
        projector: dash.projector.get_untracked(),
    })
}

/// On the teacher's page: shares what it shows whenever that changes.
pub fn use_sharing(dash: Dash) {
    let last: StoredValue<Option<ClassState>> = StoredValue::new(None);
    let handle = gloo_timers::callback::Interval::new(SHARE_MS, move || {
        if role(&dash) != Role::Teacher {
            return;
        }
        let now = current(&dash);
        if now.is_some() && now != last.get_value() {
            last.set_value(now.clone());
            if let Some(class) = now {
                dash.conn.send(ClientMsg::Share { class });
            }
        }
    });
    // The page lives as long as the timer should.
    handle.forget();
}

/// The class's line in the header: the teacher sees how many watch and the students' QR
/// code; a student sees whether it follows.
#[component]
pub fn ClassBar(dash: Dash) -> impl IntoView {
    let role = move || dash.conn.hello.with(|h| h.as_ref().map(|h| h.role));
    let students = move || {
        dash.conn.hello.with(|h| {
            h.as_ref()
                .map(|h| h.students.join("  "))
                .unwrap_or_default()
        })
    };
    move || {
        match role() {
        Some(Role::Teacher) => view! {
            <span class="class-bar" data-testid="class-bar">
                <span data-testid="viewers">
                    {move || fill(tr!(dash.locale(), class.watching), &[("n", &dash.viewers.get().to_string())])}
                </span>
                <details class="qr">
                    <summary>{students}</summary>
                    <img src="/api/classroom/qr.svg" alt=move || tr!(dash.locale(), class.qr_alt) width="200" height="200" />
                </details>
            </span>
        }
        .into_any(),
        Some(Role::Student) => view! {
            <span class="class-bar" data-testid="class-bar">
                <span data-testid="following">
                    {move || if dash.following.get() { tr!(dash.locale(), class.following) } else { tr!(dash.locale(), class.exploring) }}
                </span>
            </span>
        }
        .into_any(),
        _ => ().into_any(),
    }
    }
}
