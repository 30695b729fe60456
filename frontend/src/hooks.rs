//! Lifecycles the page owns: the animation-frame loop that moves the live view and repaints
//! the canvases, and the keyboard shortcuts.

use gilscope_shared::decimal::{fixed, shortest};
use std::cell::RefCell;
use std::rc::Rc;

use leptos::ev;
use leptos::prelude::*;

use crate::dash::{clock, Dash};
use crate::paint::{self, Theme};
use crate::render::{Row, RowKind, Window};
use crate::runname;

/// How far past the last frame the live edge may be extrapolated, in ms.
const EXTRAPOLATE_MS: f64 = 100.0;

/// Calls `f` once per display frame, for the life of the page.
pub fn use_animation_frame(f: impl FnMut() + 'static) {
    fn schedule(f: Rc<RefCell<dyn FnMut()>>) {
        request_animation_frame(move || {
            (f.borrow_mut())();
            schedule(f);
        });
    }
    schedule(Rc::new(RefCell::new(f)));
}

/// Repaints the views whenever something changed; while a run is live and followed, every
/// frame, with the live edge extrapolated between the server's frames.
pub fn use_painter(dash: Dash) {
    let mut last_state = None;
    let mut last_size = (0.0, 0.0, false);
    use_animation_frame(move || {
        // A new run, or the run's state changed (when it ends, following means showing all
        // of it).
        let state = dash.store.with_value(|s| (s.run, s.state()));
        if Some(state) != last_state {
            last_state = Some(state);
            dash.nav.update_value(|n| {
                n.follow = true;
                n.dirty = true;
            });
        }
        let live = dash.store.with_value(|s| s.is_live());
        // A pinned run shares the axis: the view is as long as the longer of the two.
        let pinned_end = dash
            .pinned
            .with_value(|p| p.as_ref().map_or(0, |p| p.data_end()));
        let mut nav = dash.nav.get_value();
        if nav.follow {
            nav.win = if live {
                let ahead = crate::bound::clamp(clock() - nav.anchor.1, 0.0, EXTRAPOLATE_MS);
                nav.dirty = true;
                Window::live((nav.anchor.0 + ahead * 1e6).max(pinned_end as f64 * 1.02))
            } else {
                Window::fit(dash.store.with_value(|s| s.data_end()).max(pinned_end))
            };
        }
        let Some(canvas) = dash.timeline.get_untracked() else {
            return;
        };
        let css_w = canvas.client_width() as f64;
        let dpr = window().device_pixel_ratio();
        let projector = dash.projector.get_untracked();
        if (css_w, dpr, projector) != last_size {
            last_size = (css_w, dpr, projector);
            nav.dirty = true;
        }
        if !nav.dirty || css_w <= 0.0 {
            dash.nav.set_value(nav);
            return;
        }
        nav.dirty = false;
        dash.nav.set_value(nav);
        let theme = Theme::new(projector, dash.lang.get_untracked());
        let (pinned_title, shown_title) = titles(dash);
        dash.store.with_value(|store| {
            dash.pinned.with_value(|pinned| {
                let mut blocks = Vec::with_capacity(2);
                let pinned = pinned.as_ref().filter(|_| pinned_title.is_some());
                if let Some(p) = pinned {
                    blocks.push(paint::Block {
                        store: p,
                        title: pinned_title.clone(),
                        pinned: true,
                    });
                }
                blocks.push(paint::Block {
                    store,
                    title: shown_title.clone(),
                    pinned: false,
                });
                let drawn = dash.raster.try_update_value(|raster| {
                    paint::timeline(&canvas, css_w, dpr, &blocks, nav.win, &theme, raster)
                });
                let mut drawn = drawn.unwrap_or_default();
                let rows = drawn.pop().unwrap_or_default();
                let pinned_rows = drawn.pop().unwrap_or_default();
                // Where the lanes are, for tests that look at the pixels: "y0:y1,..." (CSS px),
                // and each block's title.
                set_data(&canvas, "data-lane-rows", &lane_rows(&rows));
                set_data(&canvas, "data-pinned-lane-rows", &lane_rows(&pinned_rows));
                let titles: Vec<&str> = blocks.iter().filter_map(|b| b.title.as_deref()).collect();
                set_data(&canvas, "data-blocks", &titles.join("\n"));
                // The visible window (ns), which a class's students follow, and the finding's
                // evidence outlined on it.
                set_data(
                    &canvas,
                    "data-window",
                    &format!("{}:{}", fixed(nav.win.t0, 0), fixed(nav.win.t1, 0)),
                );
                let focused = focused_evidence(dash);
                let outlines =
                    paint::outlines(&canvas, dpr, store, &rows, nav.win, &theme, &focused);
                let focus: Vec<String> = focused
                    .iter()
                    .map(|e| format!("{}:{}", e.t0, e.t1))
                    .collect();
                set_data(&canvas, "data-focus", &focus.join(","));
                set_data(&canvas, "data-outlines", &outlines.to_string());
                dash.rows.set_value(rows);
                dash.pinned_rows.set_value(pinned_rows);
            });
            if let Some(c) = dash.cores.get_untracked() {
                paint::cores(&c, css_w, dpr, store, nav.win, &theme);
            }
            if let Some(q) = dash.queue.get_untracked() {
                if !store.queues.is_empty() {
                    paint::queue(&q, css_w, dpr, store, nav.win, &theme);
                }
            }
        });
    });
}

/// The titles of the pinned run's block and the run shown's ([`runname::block_titles`]).
fn titles(dash: Dash) -> (Option<String>, Option<String>) {
    let python = dash.conn.hello.with_untracked(|h| {
        h.as_ref()
            .map(|h| h.cpython.detail.clone())
            .unwrap_or_default()
    });
    dash.pinned_info.with_untracked(|pinned| {
        dash.info.with_untracked(|shown| {
            runname::block_titles(
                dash.lang.get_untracked(),
                pinned.as_ref(),
                shown.as_ref(),
                &python,
            )
        })
    })
}

/// The evidence of the finding shown, the piece zoomed to first.
fn focused_evidence(dash: Dash) -> Vec<gilscope_shared::findings::Evidence> {
    let Some(focus) = dash.focus.get_untracked() else {
        return Vec::new();
    };
    dash.findings.with_untracked(|list| {
        list.get(focus.finding).map_or_else(Vec::new, |f| {
            let mut pieces = f.evidence.clone();
            if focus.item < pieces.len() {
                pieces.swap(0, focus.item);
            }
            pieces
        })
    })
}

/// The lane rows as "y0:y1,..." in CSS pixels.
fn lane_rows(rows: &[Row]) -> String {
    let lanes: Vec<String> = rows
        .iter()
        .filter(|r| matches!(r.kind, RowKind::Lane(_)))
        .map(|r| format!("{}:{}", shortest(r.y), shortest(r.y + r.h)))
        .collect();
    lanes.join(",")
}

fn set_data(canvas: &web_sys::HtmlCanvasElement, name: &str, value: &str) {
    if canvas.get_attribute(name).as_deref() != Some(value) {
        let _ = canvas.set_attribute(name, value);
    }
}

/// Keys: space runs or stops, C runs on CPython, 1–9 choose a lesson, W/S zoom, A/D pan, F fits
/// (on a student's page that explores: follows the teacher again), P toggles projector mode. Ignored while typing (in a knob or the code).
pub fn use_keys(dash: Dash) {
    let handle = window_event_listener(ev::keydown, move |e| {
        if e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        let typing = e
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        if typing {
            return;
        }
        let key = e.key();
        let zoom = |factor: f64| {
            crate::follow::detach(&dash);
            dash.nav.update_value(|n| {
                n.win = n.win.zoom_at(0.5, factor);
                n.follow = false;
                n.dirty = true;
            })
        };
        let pan = |frac: f64| {
            crate::follow::detach(&dash);
            dash.nav.update_value(|n| {
                n.win = n.win.pan(frac);
                n.follow = false;
                n.dirty = true;
            })
        };
        match key.as_str() {
            " " => dash.run_or_stop(),
            "c" | "C" => dash.run_on_cpython(),
            "w" | "W" => zoom(0.8),
            "s" | "S" => zoom(1.25),
            "a" | "A" => pan(-0.1),
            "d" | "D" => pan(0.1),
            "f" | "F" if !dash.following.get_untracked() => crate::follow::refollow(&dash),
            "f" | "F" => dash.nav.update_value(|n| {
                n.follow = true;
                n.dirty = true;
            }),
            "p" | "P" => dash.projector.update(|p| *p = !*p),
            "Escape" => dash.clear_focus(),
            k if k.len() == 1 && ("1"..="9").contains(&k) => {
                let i = k.parse::<usize>().unwrap_or(1) - 1;
                if let Some(p) = dash.ordered_presets().get(i) {
                    dash.choose(&p.name);
                }
            }
            _ => return,
        }
        e.prevent_default();
    });
    // The page lives as long as the listener should.
    std::mem::forget(handle);
}
