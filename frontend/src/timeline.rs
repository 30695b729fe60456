//! The views that share the time axis: the timeline (a lane per thread under its
//! interpreter's GIL track), the queue depth and the core usage, with one set of navigation
//! gestures for all three: wheel zooms around the cursor, drag pans, double-click fits,
//! hovering a span tells what it is. The canvases are painted by [`crate::hooks::use_painter`].

use gilscope_shared::decimal::shortest;
use gilscope_shared::trace::Nanos;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlAnchorElement, HtmlCanvasElement, MouseEvent, WheelEvent};

use crate::dash::{Dash, Hover};
use crate::lang::{fill, tr};
use crate::legend::Legend;
use crate::paint::Theme;
use crate::render::{self, RowKind, Window};
use crate::store::Store;

/// Where the pointer is over the plot: (fraction of the plot's width, plot width, y in the
/// timeline canvas), all in CSS pixels.
fn plot_point(dash: Dash, e: &MouseEvent) -> Option<(f64, f64, f64)> {
    let canvas = dash.timeline.get_untracked()?;
    let rect = canvas.get_bounding_client_rect();
    let theme = Theme::new(dash.projector.get_untracked(), dash.lang.get_untracked());
    let plot_w = (rect.width() - theme.label_w - theme.right_pad).max(10.0);
    let x = e.client_x() as f64 - rect.left() - theme.label_w;
    Some((x / plot_w, plot_w, e.client_y() as f64 - rect.top()))
}

fn hover_lines(dash: Dash, frac: f64, plot_w: f64, y: f64) -> Option<Vec<String>> {
    if !(0.0..=1.0).contains(&frac) {
        return None;
    }
    let win = dash.nav.with_value(|n| n.win);
    let t = win.t(frac * plot_w, plot_w);
    if t < 0.0 {
        return None;
    }
    // The pinned block's rows first (it is drawn above), then the run shown's.
    let in_pinned = dash
        .pinned_rows
        .with_value(|rows| render::row_at(rows, y).copied());
    let (row, pinned) = match in_pinned {
        Some(row) => (row, true),
        None => (
            dash.rows
                .with_value(|rows| render::row_at(rows, y).copied())?,
            false,
        ),
    };
    let RowKind::Lane(i) = row.kind else {
        return None;
    };
    let describe = |store: &Store| {
        let lane = store.lanes.get(i)?;
        let span = lane.span_at(t as Nanos)?;
        let l = dash.locale();
        let name = if pinned {
            fill(tr!(l, ui.pinned_lane), &[("name", &lane.lane.name)])
        } else {
            lane.lane.name.clone()
        };
        let mut lines = vec![
            name,
            crate::legend::label(l, span.state).to_string(),
            fill(
                tr!(l, ui.from_for),
                &[
                    ("t0", &render::fmt_ns(span.t0 as f64)),
                    ("d", &render::fmt_ns(span.duration() as f64)),
                ],
            ),
        ];
        if let Some(task) = span.task {
            lines.push(fill(tr!(l, ui.task), &[("n", &task.to_string())]));
        }
        Some(lines)
    };
    if pinned {
        dash.pinned.with_value(|p| p.as_ref().and_then(describe))
    } else {
        dash.store.with_value(describe)
    }
}

#[component]
pub fn Timeline(dash: Dash) -> impl IntoView {
    let drag: StoredValue<Option<(f64, Window)>> = StoredValue::new(None);
    let on_wheel = move |e: WheelEvent| {
        let Some((frac, _, _)) = plot_point(dash, &e) else {
            return;
        };
        e.prevent_default();
        let lines = if e.delta_mode() == 1 { 16.0 } else { 1.0 };
        let factor = (e.delta_y() * lines * 0.0015).exp();
        crate::follow::detach(&dash);
        dash.nav.update_value(|n| {
            n.win = n.win.zoom_at(crate::bound::clamp(frac, 0.0, 1.0), factor);
            n.follow = false;
            n.dirty = true;
        });
    };
    let on_down = move |e: MouseEvent| {
        if e.button() == 0 {
            drag.set_value(Some((e.client_x() as f64, dash.nav.with_value(|n| n.win))));
        }
    };
    let on_move = move |e: MouseEvent| {
        let Some((frac, plot_w, y)) = plot_point(dash, &e) else {
            return;
        };
        if let Some((x0, win)) = drag.get_value() {
            let dx = e.client_x() as f64 - x0;
            if dx.abs() > 2.0 {
                crate::follow::detach(&dash);
                dash.nav.update_value(|n| {
                    n.win = win.pan(-dx / plot_w);
                    n.follow = false;
                    n.dirty = true;
                });
                dash.hover.set(None);
                return;
            }
        }
        let hover = hover_lines(dash, frac, plot_w, y).map(|lines| Hover {
            x: e.client_x() as f64,
            y: e.client_y() as f64,
            lines,
        });
        if hover != dash.hover.get_untracked() {
            dash.hover.set(hover);
        }
    };
    let on_up = move |_: MouseEvent| drag.set_value(None);
    let on_leave = move |_: MouseEvent| {
        drag.set_value(None);
        dash.hover.set(None);
    };
    let on_dblclick = move |_: MouseEvent| {
        dash.nav.update_value(|n| {
            n.follow = true;
            n.dirty = true;
        })
    };
    let run_id = move || dash.info.with(|i| i.as_ref().map(|i| i.id));
    let tooltip = move || {
        dash.hover.get().map(|h| {
            let style = format!(
                "left: {}px; top: {}px",
                shortest(h.x + 16.0),
                shortest(h.y + 16.0)
            );
            view! {
                <div class="tooltip" data-testid="tooltip" style=style>
                    {h.lines.into_iter().map(|l| view! { <div>{l}</div> }.into_any()).collect_view()}
                </div>
            }
        })
    };
    view! {
        <section class="views" aria-label=move || tr!(dash.locale(), ui.views)>
            <div class="toolbar">
                <Legend dash=dash />
                <span class="hint">{move || tr!(dash.locale(), ui.timeline_hint)}</span>
                <crate::pin::PinButtons dash=dash />
                <button class="export" data-testid="export-png" on:click=move |_| export_png(dash)>
                    "PNG"
                </button>
                {move || {
                    run_id()
                        .map(|id| {
                            view! {
                                <a
                                    class="export"
                                    data-testid="export-trace"
                                    href=format!("/api/runs/{id}/trace")
                                    download=format!("gilscope-run-{id}.json")
                                >
                                    {tr!(dash.locale(), ui.trace_json)}
                                </a>
                            }
                        })
                }}
            </div>
            <div
                class="plots"
                on:wheel=on_wheel
                on:mousedown=on_down
                on:mousemove=on_move
                on:mouseup=on_up
                on:mouseleave=on_leave
                on:dblclick=on_dblclick
            >
                <div class="timeline" data-testid="timeline">
                    <canvas node_ref=dash.timeline data-testid="timeline-canvas"></canvas>
                    {move || {
                        (dash.info.with(|i| i.is_none()) && dash.now.get() == 0)
                            .then(|| {
                                view! {
                                    <p class="timeline-empty">
                                        {tr!(dash.locale(), ui.no_run)}
                                    </p>
                                }
                            })
                    }}
                </div>
                <crate::queue::QueueDepth dash=dash />
                <crate::cores::CoreUsage dash=dash />
            </div>
            {tooltip}
        </section>
    }
}

/// Saves the views as one PNG: the canvases stacked, as drawn.
fn export_png(dash: Dash) {
    let canvases: Vec<HtmlCanvasElement> = [dash.timeline, dash.queue, dash.cores]
        .iter()
        .filter_map(|c| c.get_untracked())
        .filter(|c| c.height() > 0 && c.offset_parent().is_some())
        .collect();
    let document = document();
    let Some(out) = document
        .create_element("canvas")
        .ok()
        .and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok())
    else {
        return;
    };
    out.set_width(canvases.iter().map(|c| c.width()).max().unwrap_or(1));
    out.set_height(canvases.iter().map(|c| c.height()).sum::<u32>().max(1));
    let Some(ctx) = out
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    ctx.set_fill_style_str("#FFFFFF");
    ctx.fill_rect(0.0, 0.0, out.width() as f64, out.height() as f64);
    let mut y = 0.0;
    for c in &canvases {
        let _ = ctx.draw_image_with_html_canvas_element(c, 0.0, y);
        y += c.height() as f64;
    }
    let Ok(url) = out.to_data_url() else { return };
    let name = format!(
        "gilscope-{}-run{}.png",
        dash.lesson.get_untracked().unwrap_or_else(|| "view".into()),
        dash.info.with_untracked(|i| i.as_ref().map_or(0, |i| i.id))
    );
    if let Some(a) = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(&name);
        a.click();
    }
}
