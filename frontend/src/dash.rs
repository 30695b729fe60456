//! The page's state, shared by every component through context: the run store (plain data,
//! mutated by frames, read by the painters), the navigation state, and the signals the DOM
//! views react to. Also the actions (choose a lesson, run, run on CPython, stop) the keys and
//! buttons share. A pinned run (a copy the page keeps, see [`crate::pin`]) is drawn beside the
//! run shown.

use std::collections::BTreeMap;

use gilscope_shared::findings::{findings, Finding};
use gilscope_shared::protocol::{ClassState, ClientMsg, ErrorMsg, RunId, RunInfo, ServerMsg};
use gilscope_shared::spec::{Engine, PresetInfo};
use leptos::html;
use leptos::prelude::*;

use crate::connection::Connection;
use crate::edits;
use crate::evidence::{self, Focus};
use crate::lang::Locale;
use crate::render::{Raster, Row, Window};
use crate::setup::{self, Setup};
use crate::store::Store;

/// Where the views look, and whether they follow a live run by themselves.
#[derive(Clone, Copy, Debug)]
pub struct Nav {
    pub win: Window,
    /// Follow the live edge (live runs), or show the whole run (after it): until the user
    /// zooms or pans; double-click gives it back.
    pub follow: bool,
    /// The store's `now` and the page clock (ms) when it arrived: the live edge is
    /// extrapolated from them between frames, so the view moves smoothly.
    pub anchor: (f64, f64),
    /// Something changed that the canvases must show.
    pub dirty: bool,
}

/// What the pointer is over, for the tooltip.
#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    pub x: f64,
    pub y: f64,
    pub lines: Vec<String>,
}

#[derive(Clone, Copy)]
pub struct Dash {
    pub conn: Connection,
    pub store: StoredValue<Store>,
    pub nav: StoredValue<Nav>,
    pub raster: StoredValue<Raster>,
    /// The timeline's rows as last drawn, for hit testing.
    pub rows: StoredValue<Vec<Row>>,
    /// The run shown, as last announced.
    pub info: RwSignal<Option<RunInfo>>,
    /// The pinned run: the page's own copy, drawn above the run shown on the same axis.
    pub pinned: StoredValue<Option<Store>>,
    /// The pinned run's info, for the views.
    pub pinned_info: RwSignal<Option<RunInfo>>,
    /// The pinned block's rows as last drawn, for hit testing.
    pub pinned_rows: StoredValue<Vec<Row>>,
    /// The student's edit of the lesson's code (runs on CPython only), kept per lesson.
    pub edited: RwSignal<Option<String>>,
    /// Why "Run on CPython" sent nothing, last time it was pressed.
    pub cpython_refusal: RwSignal<Option<String>>,
    /// The live edge, updated with each frame (for the progress text).
    pub now: RwSignal<u64>,
    pub has_queue: RwSignal<bool>,
    pub projector: RwSignal<bool>,
    /// The dashboard's language (see [`crate::lang`]).
    pub lang: RwSignal<Locale>,
    /// The header's switch was used: the link keeps the language.
    pub lang_chosen: RwSignal<bool>,
    pub lesson: RwSignal<Option<String>>,
    /// The knobs of the lesson, as typed.
    pub knobs: RwSignal<BTreeMap<String, String>>,
    /// The server's last complaint about a run this page asked for.
    pub server_error: RwSignal<Option<ErrorMsg>>,
    /// Run was pressed while a knob was wrong.
    pub blocked: RwSignal<bool>,
    pub hover: RwSignal<Option<Hover>>,
    /// What the run shown's summary and trace say (the shared rules), once it is over.
    pub findings: Memo<Vec<Finding>>,
    /// The finding whose evidence the timeline shows, outlined: until Escape or another run.
    pub focus: RwSignal<Option<Focus>>,
    /// Knob values from the URL, applied once the presets are known.
    pub pending: StoredValue<Option<Setup>>,
    /// The past run the URL opened (`?run=ID`), kept in the URL while it is the run shown.
    pub opened: RwSignal<Option<gilscope_shared::protocol::RunId>>,
    /// The last problem with the history or a run file, until dismissed.
    pub notice: RwSignal<Option<String>>,
    /// Bumped when a run file was imported (the history asks again).
    pub imported: RwSignal<u32>,
    pub timeline: NodeRef<html::Canvas>,
    pub queue: NodeRef<html::Canvas>,
    pub cores: NodeRef<html::Canvas>,
    /// In a class: the teacher's latest shared state ([`crate::follow`]).
    pub class: StoredValue<Option<ClassState>>,
    /// A student's page shows the teacher's state (until the student explores).
    pub following: RwSignal<bool>,
    /// Viewers connected (told to the teacher).
    pub viewers: RwSignal<u32>,
    /// The run last asked for to follow the teacher's.
    pub asked: StoredValue<Option<RunId>>,
}

/// The page clock, in ms.
pub fn clock() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

impl Dash {
    /// The language chosen, tracked.
    pub fn locale(&self) -> Locale {
        self.lang.get()
    }

    pub fn new(conn: Connection, store: StoredValue<Store>, setup: Setup, lang: Locale) -> Dash {
        let info: RwSignal<Option<RunInfo>> = RwSignal::new(None);
        let now = RwSignal::new(0);
        let compute = move || {
            // A frame after the run's end still counts: read `now` too.
            now.track();
            let summary = info.with(|i| {
                i.as_ref()
                    .filter(|i| i.state.is_over())
                    .and_then(|i| i.summary.clone())
            })?;
            let cores = conn.hello.with(|h| h.as_ref().map(|h| h.cores));
            Some(store.with_value(|s| findings(&summary, &s.trace(), cores)))
        };
        let findings = Memo::new(move |_| compute().unwrap_or_default());
        Dash {
            conn,
            store,
            nav: StoredValue::new(Nav {
                win: Window::live(0.0),
                follow: true,
                anchor: (0.0, 0.0),
                dirty: true,
            }),
            raster: StoredValue::new(Raster::default()),
            rows: StoredValue::new(Vec::new()),
            info,
            pinned: StoredValue::new(None),
            pinned_info: RwSignal::new(None),
            pinned_rows: StoredValue::new(Vec::new()),
            edited: RwSignal::new(None),
            cpython_refusal: RwSignal::new(None),
            now,
            has_queue: RwSignal::new(false),
            projector: RwSignal::new(setup.projector),
            lang: RwSignal::new(lang),
            lang_chosen: RwSignal::new(false),
            lesson: RwSignal::new(None),
            knobs: RwSignal::new(BTreeMap::new()),
            server_error: RwSignal::new(None),
            blocked: RwSignal::new(false),
            hover: RwSignal::new(None),
            findings,
            focus: RwSignal::new(None),
            opened: RwSignal::new(setup.run),
            notice: RwSignal::new(None),
            imported: RwSignal::new(0),
            pending: StoredValue::new(Some(setup)),
            timeline: NodeRef::new(),
            queue: NodeRef::new(),
            cores: NodeRef::new(),
            class: StoredValue::new(None),
            following: RwSignal::new(true),
            viewers: RwSignal::new(0),
            asked: StoredValue::new(None),
        }
    }

    /// Takes a run or frame message from the server into the store.
    pub fn receive(&self, msg: ServerMsg) {
        let msg = match msg {
            ServerMsg::Class(class) => return crate::follow::receive(self, class),
            ServerMsg::Viewers { count } => return self.viewers.set(count),
            msg => msg,
        };
        self.keep_pinned(&msg);
        if self.waiting_for_asked(&msg) {
            return;
        }
        if let ServerMsg::Run(info) = &msg {
            self.follow_opened(info);
        }
        let over = match &msg {
            ServerMsg::Run(info) if info.state.is_over() => Some(info.id),
            _ => None,
        };
        let changed = self.store.try_update_value(|store| match msg {
            ServerMsg::Run(info) => {
                let shown = store.apply_run(info.clone());
                if shown {
                    self.info.set(Some(info));
                }
                shown
            }
            ServerMsg::Frame(frame) => store.apply_frame(frame),
            _ => false,
        });
        if changed == Some(true) {
            let (now, queues) = self.store.with_value(|s| (s.now, !s.queues.is_empty()));
            self.nav.update_value(|nav| {
                nav.anchor = (now as f64, clock());
                nav.dirty = true;
            });
            self.now.set(now);
            if self.has_queue.get_untracked() != queues {
                self.has_queue.set(queues);
            }
        }
        if let Some(id) = over {
            crate::follow::run_over(self, id);
        }
    }

    /// Whether `msg` is about another run while this page waits for the first message of the
    /// run it asked for to follow the teacher (the teacher's pinned run, older than the one
    /// running). The newer run's live frames would take the store over, and the older run would
    /// then be refused as older: the student would never pin it. The newer run is asked for
    /// again, from its start, once the pin is done ([`crate::follow::run_over`]).
    fn waiting_for_asked(&self, msg: &ServerMsg) -> bool {
        let Some(asked) = self.asked.get_value() else {
            return false;
        };
        let id = match msg {
            ServerMsg::Run(info) => info.id,
            ServerMsg::Frame(frame) => frame.run,
            _ => return false,
        };
        id != asked
            && self
                .store
                .with_value(|s| s.run == Some(asked) && s.info.is_none())
    }

    pub fn presets(&self) -> Vec<PresetInfo> {
        self.conn
            .hello
            .with(|h| h.as_ref().map(|h| h.presets.clone()).unwrap_or_default())
    }

    /// The presets in sidebar order: by group, then as the server lists them.
    pub fn ordered_presets(&self) -> Vec<PresetInfo> {
        let mut presets = self.presets();
        gilscope_shared::sort::sort_by_key(&mut presets, |p| p.group);
        presets
    }

    pub fn preset(&self) -> Option<PresetInfo> {
        let name = self.lesson.get()?;
        self.presets().into_iter().find(|p| p.name == name)
    }

    /// Chooses a lesson, its knobs at their defaults.
    pub fn choose(&self, name: &str) {
        let Some(preset) = self.presets().into_iter().find(|p| p.name == name) else {
            return;
        };
        self.lesson.set(Some(preset.name.clone()));
        self.knobs.set(setup::default_texts(&preset));
        self.edited.set(edits::load(&preset.name));
        self.server_error.set(None);
        self.blocked.set(false);
        self.cpython_refusal.set(None);
    }

    /// Once the presets are known: the lesson and knobs of the URL, or the first lesson.
    pub fn apply_pending(&self) {
        let presets = self.ordered_presets();
        if presets.is_empty() || self.lesson.get_untracked().is_some() {
            return;
        }
        let setup = self
            .pending
            .try_update_value(Option::take)
            .flatten()
            .unwrap_or_default();
        let preset = setup
            .lesson
            .as_deref()
            .and_then(|l| presets.iter().find(|p| p.name == l))
            .unwrap_or(&presets[0]);
        self.choose(&preset.name);
        self.knobs.update(|k| k.extend(setup.knobs));
        if let Some(id) = setup.run {
            self.open_run(id);
        }
    }

    /// Shows a past run (or any run): the server replays it, its lesson and knobs follow, and
    /// the URL names it. A pinned run the page shows stays pinned.
    pub fn open_run(&self, id: gilscope_shared::protocol::RunId) {
        if self.store.with_value(|s| s.run == Some(id)) && self.info.with_untracked(Option::is_some)
        {
            return;
        }
        self.pin_takes_shown(id);
        self.opened.set(Some(id));
        self.store.update_value(|store| store.open(id));
        self.info.set(None);
        self.now.set(0);
        self.touch();
        self.conn.send(ClientMsg::Subscribe { id });
    }

    /// The run the URL opened arrives: show its lesson and knobs. Another run arriving (a new
    /// one started) takes its place, and the URL forgets the opened one.
    fn follow_opened(&self, info: &RunInfo) {
        let Some(opened) = self.opened.get_untracked() else {
            return;
        };
        if info.id > opened {
            self.opened.set(None);
            return;
        }
        if info.id != opened
            || self.lesson.get_untracked().as_deref() == Some(&info.spec.preset)
                && self.knobs.with_untracked(|k| {
                    info.spec
                        .knobs
                        .iter()
                        .all(|(n, v)| k.get(n) == Some(&v.to_string()))
                })
        {
            return;
        }
        if self.presets().iter().any(|p| p.name == info.spec.preset) {
            self.choose(&info.spec.preset);
            self.knobs.update(|k| {
                k.extend(
                    info.spec
                        .knobs
                        .iter()
                        .map(|(n, v)| (n.clone(), v.to_string())),
                )
            });
        }
    }

    pub fn set_knob(&self, name: &str, text: String) {
        self.knobs.update(|k| {
            k.insert(name.to_string(), text);
        });
        self.server_error.set(None);
        self.blocked.set(false);
        self.cpython_refusal.set(None);
    }

    /// Knob errors of the chosen lesson.
    pub fn knob_errors(&self) -> BTreeMap<String, String> {
        match self.preset() {
            Some(p) => self.knobs.with(|k| setup::errors(self.locale(), &p, k)),
            None => BTreeMap::new(),
        }
    }

    /// The run shown is queued or running.
    pub fn live(&self) -> bool {
        self.info
            .with(|i| i.as_ref().is_some_and(|i| !i.state.is_over()))
    }

    /// Runs the lesson with its knobs, or stops the live run. Sends nothing while a knob is
    /// wrong.
    pub fn run_or_stop(&self) {
        if !crate::follow::role(self).may_act() {
            return;
        }
        if self.live() {
            if let Some(id) = self.info.with_untracked(|i| i.as_ref().map(|i| i.id)) {
                self.conn.send(ClientMsg::Stop { id });
            }
            return;
        }
        let Some(preset) = self.preset() else { return };
        match self.knobs.with_untracked(|k| setup::spec(&preset, k)) {
            Some(spec) => {
                self.blocked.set(false);
                self.server_error.set(None);
                self.conn.send(ClientMsg::Start { spec });
            }
            None => self.blocked.set(true),
        }
    }

    /// Runs the lesson's Python (the student's edit, if any) on the machine's CPython with the
    /// knobs. Sends nothing while a knob is wrong, the edit is too large, or the server has no
    /// CPython (the button says why).
    pub fn run_on_cpython(&self) {
        let available = self
            .conn
            .hello
            .with_untracked(|h| h.as_ref().is_some_and(|h| h.cpython.available));
        if self.live() || !available || !crate::follow::role(self).may_act() {
            return;
        }
        let Some(preset) = self.preset() else { return };
        let Some(mut spec) = self.knobs.with_untracked(|k| setup::spec(&preset, k)) else {
            self.blocked.set(true);
            return;
        };
        self.blocked.set(false);
        let script = self.edited.get_untracked();
        if let Some(err) = script
            .as_deref()
            .and_then(|s| edits::script_error(self.locale(), s))
        {
            self.cpython_refusal.set(Some(err));
            return;
        }
        self.cpython_refusal.set(None);
        self.server_error.set(None);
        spec.engine = Some(Engine::Cpython);
        spec.script = script;
        self.conn.send(ClientMsg::Start { spec });
    }

    /// Shows finding `finding`'s evidence on the timeline: zooms to its first piece, or to the
    /// next one when it is already shown, and outlines every piece until Escape.
    pub fn show_evidence(&self, finding: usize) {
        let Some(pieces) = self
            .findings
            .with_untracked(|f| f.get(finding).map(|f| f.evidence.clone()))
        else {
            return;
        };
        if pieces.is_empty() {
            return;
        }
        let item = match self.focus.get_untracked() {
            Some(f) if f.finding == finding => (f.item + 1) % pieces.len(),
            _ => 0,
        };
        self.focus.set(Some(Focus { finding, item }));
        let end = self.store.with_value(|s| s.data_end());
        let win = evidence::window_for(&pieces[item], end);
        self.nav.update_value(|n| {
            n.win = win;
            n.follow = false;
            n.dirty = true;
        });
    }

    /// Forgets the finding shown (Escape); the view stays where it is.
    pub fn clear_focus(&self) {
        if self.focus.get_untracked().is_some() {
            self.focus.set(None);
            self.touch();
        }
    }

    /// Marks the canvases for a redraw.
    pub fn touch(&self) {
        self.nav.update_value(|n| n.dirty = true);
    }
}
