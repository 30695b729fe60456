//! The renderer's tests: transform, ticks, layout, painting, level of detail, arrows.

use super::spans::HATCH;
use super::*;
use gilscope_shared::coalesce::coalesce;
use gilscope_shared::protocol::FrameMsg;
use gilscope_shared::trace::{GilFlavour, Interpreter, Lane, LaneId, LaneKind, Mark, Trace};
use gilscope_shared::trace::{MarkKind, Nanos, Span, State};

use crate::store::Store;

#[test]
fn time_and_pixels_convert_both_ways() {
    let w = Window::new(1_000.0, 11_000.0);
    assert_eq!(w.x(6_000.0, 100.0), 50.0);
    assert_eq!(w.t(50.0, 100.0), 6_000.0);
    let z = w.zoom_at(0.25, 0.5);
    assert_eq!(z.len(), 5_000.0);
    assert_eq!(
        z.t(25.0, 100.0),
        w.t(25.0, 100.0),
        "the instant under the cursor stays"
    );
    assert_eq!(w.pan(0.1), Window::new(2_000.0, 12_000.0));
    assert_eq!(w.zoom_at(0.5, 1e-9).len(), MIN_WINDOW_NS);
    assert_eq!(Window::fit(100_000_000).t1, 102_000_000.0);
    assert_eq!(Window::live(1e9), Window::new(0.0, 1e9));
    assert_eq!(Window::live(1e6).t1, MIN_LIVE_NS);
}

#[test]
fn ticks_pick_round_steps_and_units() {
    let labels = |w: Window| -> Vec<String> {
        ticks(w, 1000.0, 100.0)
            .into_iter()
            .map(|t| t.label)
            .collect()
    };
    assert_eq!(
        labels(Window::new(0.0, 1e9)),
        [
            "0 ms", "100 ms", "200 ms", "300 ms", "400 ms", "500 ms", "600 ms", "700 ms", "800 ms",
            "900 ms", "1000 ms"
        ]
    );
    assert_eq!(
        labels(Window::new(0.0, 5e9))[..3],
        ["0.0 s", "0.5 s", "1.0 s"]
    );
    assert_eq!(
        labels(Window::new(0.0, 1e6))[..3],
        ["0 µs", "100 µs", "200 µs"]
    );
    assert_eq!(labels(Window::new(2.5e6, 3e6))[..2], ["2500 µs", "2550 µs"]);
    assert_eq!(
        labels(Window::new(0.0, 4e6))[..3],
        ["0.0 ms", "0.5 ms", "1.0 ms"]
    );
    assert!(ticks(Window::new(0.0, 1e6), 0.0, 100.0).is_empty());
}

#[test]
fn durations_read_like_a_person_wrote_them() {
    assert_eq!(fmt_ns(830.0), "830 ns");
    assert_eq!(fmt_ns(12_500.0), "12.5 µs");
    assert_eq!(fmt_ns(5_000_000.0), "5.00 ms");
    assert_eq!(fmt_ns(1.25e9), "1.25 s");
}

fn store() -> Store {
    let mut store = Store::default();
    let lane = |id, name: &str| Lane {
        id: LaneId(id),
        interp: gilscope_shared::trace::InterpId(0),
        name: name.into(),
        kind: LaneKind::Worker,
        tid: None,
    };
    let span = |lane, state, t0, t1| Span {
        lane: LaneId(lane),
        state,
        t0,
        t1,
        task: Some(3),
    };
    let mut spans = vec![
        span(1, State::Running, 0, 500),
        span(1, State::WaitGil, 500, 1000),
        span(2, State::WaitGil, 0, 500),
        span(2, State::Running, 500, 1000),
    ];
    // Sub-pixel chatter on lane 2 after 1000 ns: 1000 spans of 1 ns.
    for k in 0..1000 {
        let state = if k % 2 == 0 {
            State::Running
        } else {
            State::Io
        };
        spans.push(span(2, state, 1000 + k, 1001 + k));
    }
    store.apply_frame(FrameMsg {
        run: 1,
        reset: true,
        resolution: 0,
        delta: Trace {
            interpreters: vec![Interpreter {
                id: gilscope_shared::trace::InterpId(0),
                name: "MainProcess".into(),
                gil: GilFlavour::Current,
                pid: None,
            }],
            lanes: vec![lane(2, "Thread-2"), lane(1, "Thread-1")],
            spans,
            marks: vec![Mark {
                lane: LaneId(2),
                t: 500,
                kind: MarkKind::Handoff {
                    interp: gilscope_shared::trace::InterpId(0),
                    from: Some(LaneId(1)),
                    to: LaneId(2),
                },
            }],
            end: 2000,
            ..Trace::default()
        }
        .into(),
    });
    store
}

const M: Metrics = Metrics {
    axis_h: 20.0,
    lane_h: 10.0,
    gil_h: 10.0,
    group_h: 6.0,
};

#[test]
fn rows_group_lanes_under_their_gil() {
    let store = store();
    let rows = layout(&store, &M);
    assert_eq!(rows.len(), 3);
    assert!(matches!(rows[0].kind, RowKind::Gil(_)));
    assert_eq!(rows[1].kind, RowKind::Lane(0));
    assert_eq!(store.lanes[0].lane.name, "Thread-1");
    assert_eq!(rows_height(&rows, &M), 50.0);
    assert_eq!(row_at(&rows, 25.0).unwrap().kind, rows[0].kind);
    assert_eq!(row_at(&rows, 45.0).unwrap().kind, RowKind::Lane(1));
    assert_eq!(row_at(&rows, 5.0), None);
    assert_eq!(row_at(&rows, 55.0), None);
}

#[test]
fn spans_land_in_their_rows_in_their_colours() {
    let store = store();
    let rows = layout(&store, &M);
    let mut r = Raster::default();
    let white = pixel("#FFFFFF");
    r.reset(120, 50, white);
    // 100 px for 2000 ns: 20 ns per pixel, after a 20 px label column.
    let plot = Plot {
        x0: 20.0,
        width: 100.0,
        dpr: 1.0,
    };
    let labels = paint_spans(&mut r, &store, &rows, Window::new(0.0, 2000.0), plot, 4.0);
    let green = pixel(State::Running.colour());
    let vermillion = pixel(State::WaitGil.colour());
    let hatch = pixel(HATCH);
    // Thread-1 (row y 30..40): running for 25 px, then waiting (hatched).
    assert_eq!(r.get(30, 35), green);
    assert!([vermillion, hatch].contains(&r.get(60, 35)));
    // Hatched in diagonal stripes: a third of every 9 pixels along x + y.
    for (x, y) in (50..70).flat_map(|x| (31..39).map(move |y| (x, y))) {
        let want = if (x + y) % 9 < 3 { hatch } else { vermillion };
        assert_eq!(r.get(x, y), want, "pixel ({x}, {y})");
    }
    // Nothing in the label column, nothing after the data.
    assert_eq!(r.get(10, 35), white);
    // The GIL track (row y 20..30) shows Thread-1 in its top half, Thread-2 in the bottom.
    assert_eq!(r.get(30, 22), green);
    assert_eq!(r.get(30, 27), white);
    assert_eq!(r.get(60, 27), green);
    // Sub-pixel chatter is merged, not dropped: both states stay visible, in proportion.
    let row: Vec<u32> = (70..120).map(|x| r.get(x, 45)).collect();
    let g = row.iter().filter(|&&p| p == green).count();
    let io = row
        .iter()
        .filter(|&&p| p == pixel(State::Io.colour()))
        .count();
    assert!(g >= 20 && io >= 20, "green {g}, io {io}");
    // Task ids where a span is wide enough.
    assert!(labels.iter().any(|l| l.text == "#3"));
    // The raster's bytes are R, G, B, A.
    assert_eq!(&r.bytes()[..4], &[255, 255, 255, 255]);
    assert_eq!(pixel("#009E73").to_le_bytes(), [0x00, 0x9E, 0x73, 0xFF]);
}

/// Rows are written once a frame: a lane's rows whole from its scanline (the grid's lines
/// where no span is), the rest from the backdrop when the pixels are taken; nothing of the
/// last frame stays.
#[test]
fn the_grid_shows_where_no_span_is_and_no_frame_leaves_pixels_behind() {
    let store = store();
    let rows = layout(&store, &M);
    let (white, grey) = (pixel("#FFFFFF"), pixel("#D8D8D4"));
    let plot = Plot {
        x0: 20.0,
        width: 100.0,
        dpr: 1.0,
    };
    let mut r = Raster::default();
    r.reset(120, 50, white);
    r.grid_line(12, 13, 10, grey);
    r.grid_line(60, 61, 10, grey);
    paint_spans(&mut r, &store, &rows, Window::new(0.0, 2000.0), plot, 4.0);
    let bytes = r.bytes().to_vec();
    let at = |x: usize, y: usize| {
        u32::from_le_bytes(bytes[(y * 120 + x) * 4..][..4].try_into().unwrap())
    };
    // Above the axis no grid; below it, in the label column of a lane's row and of the GIL
    // track, the grid; under a span, the span.
    assert_eq!(at(12, 5), white);
    assert_eq!(at(12, 35), grey, "a lane's row");
    assert_eq!(at(12, 22), grey, "the GIL track's row");
    assert_eq!(at(11, 35), white);
    assert_eq!(at(30, 35), pixel(State::Running.colour()));
    assert_ne!(at(60, 35), grey, "a span covers the grid");
    // The next frame draws nothing: every pixel is the backdrop again.
    r.reset(120, 50, white);
    assert!(r.bytes().chunks(4).all(|p| p == [255; 4]));
}

#[test]
fn merging_matches_the_shared_coalesce() {
    let mut seed: u64 = 7;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut spans = Vec::new();
    let mut t = 0;
    for _ in 0..5000 {
        let len = 1 + next() % 300;
        let state = State::ALL[(next() % 8) as usize];
        let task = (next() % 3 != 0).then_some((next() % 2) as u32);
        spans.push(Span {
            lane: LaneId(4),
            state,
            t0: t,
            t1: t + len,
            task,
        });
        t += len;
    }
    for res in [0, 1, 50, 100, 1000, 100_000] {
        let mut mine = Vec::new();
        merge_subpixel(&spans, res, |s| mine.push(s));
        assert_eq!(mine, coalesce(&spans, res), "resolution {res}");
    }
}

#[test]
fn arrows_only_when_there_is_room() {
    let store = store();
    let rows = layout(&store, &M);
    let arrows = handoff_arrows(&store, &rows, Window::new(0.0, 2000.0), 20.0, 100.0, 10.0);
    assert_eq!(
        arrows,
        [Arrow {
            x: 45.0,
            y_from: 35.0,
            y_to: 45.0
        }]
    );
    assert!(handoff_arrows(&store, &rows, Window::new(0.0, 2000.0), 20.0, 5.0, 10.0).is_empty());
}

/// Random spans on one lane: runs of sub-microsecond chatter between longer stretches, some
/// spans long enough for a label; about `n` of them.
fn random_lane(n: usize, mut seed: u64) -> Vec<Span> {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut spans = Vec::with_capacity(n);
    let mut t = 0;
    while spans.len() < n {
        let len = match next() % 10 {
            0 => 50_000 + next() % 2_000_000,
            1..=3 => 2_000 + next() % 20_000,
            _ => 1 + next() % 800,
        };
        let state = State::ALL[(next() % 9) as usize];
        spans.push(Span {
            lane: LaneId(0),
            state,
            t0: t,
            t1: t + len,
            task: (next() % 3 != 0).then_some((next() % 50) as u32),
        });
        t += len;
    }
    spans
}

/// The state of each pixel column as painted: the middle row of lane 0.
fn painted(store: &Store, win: Window, width: usize) -> Vec<Option<State>> {
    let rows = layout(store, &M);
    let lane_row = rows.iter().find(|r| r.kind == RowKind::Lane(0)).unwrap();
    let mut r = Raster::default();
    r.reset(width, rows_height(&rows, &M) as usize, 0);
    let plot = Plot {
        x0: 0.0,
        width: width as f64,
        dpr: 1.0,
    };
    paint_spans(&mut r, store, &rows, win, plot, 4.0);
    let y = (lane_row.y + lane_row.h / 2.0) as usize;
    let hatch = pixel(HATCH);
    (0..width)
        .map(|x| match r.get(x, y) {
            0 => None,
            p if p == hatch => Some(State::WaitGil),
            p => State::ALL.into_iter().find(|s| pixel(s.colour()) == p),
        })
        .collect()
}

/// What `coalesce` at the pixel's resolution paints, with the same rounding.
fn reference(spans: &[Span], win: Window, width: usize) -> Vec<Option<State>> {
    let res = (win.len() / width as f64).max(1.0) as Nanos;
    let mut px = vec![None; width];
    let visible: Vec<Span> = spans
        .iter()
        .filter(|s| s.t1 as f64 >= win.t0.max(0.0) && s.t0 as f64 <= win.t1)
        .copied()
        .collect();
    for s in coalesce(&visible, res) {
        if s.state == State::Done {
            continue;
        }
        let x0 = win.x(s.t0 as f64, width as f64).round_ties_even().max(0.0) as usize;
        let x1 = (win.x(s.t1 as f64, width as f64).round_ties_even().max(0.0) as usize).min(width);
        for p in px.iter_mut().take(x1).skip(x0) {
            *p = Some(s.state);
        }
    }
    px
}

#[test]
fn the_summary_paints_what_coalesce_paints_at_every_zoom() {
    let spans = random_lane(20_000, 11);
    let end = spans.last().unwrap().t1 as f64;
    let mut store = store_of(&spans);
    assert!(store.lanes[0].summary.bytes() > 0, "the lane is summarised");
    // Summary memory stays under a quarter of the spans' own.
    let own = spans.len() * size_of::<Span>();
    assert!(
        store.lanes[0].summary.bytes() * 4 <= own,
        "{} of {own}",
        store.lanes[0].summary.bytes()
    );
    let width = 1000;
    let mut drawn_from = [0, 0];
    for (k, zoom) in [1.0, 0.55, 0.31, 0.17, 0.1, 0.013, 0.002, 0.0003, 0.00002]
        .into_iter()
        .enumerate()
    {
        let t0 = end * 0.37 * (1.0 - zoom);
        let win = Window::new(t0, t0 + end * zoom);
        let res = win.len() / width as f64;
        let (mine, want) = (painted(&store, win, width), reference(&spans, win, width));
        drawn_from[store.lanes[0].summary.level_for(res).is_some() as usize] += 1;
        if store.lanes[0].summary.level_for(res).is_none() {
            // Zoomed in past the summary: the spans themselves, exactly as before.
            assert_eq!(mine, want, "zoom {zoom}: pixel for pixel");
            continue;
        }
        // From the summary: buckets on a fixed grid instead of windows starting at a span, so
        // a state may shift by a pixel or two; each state keeps its share of the pixels, as
        // close to its share of the time as coalesce's is.
        for state in State::ALL {
            let count = |px: &[Option<State>]| px.iter().filter(|&&p| p == Some(state)).count();
            let (a, b) = (count(&mine) as f64, count(&want) as f64);
            let time: f64 = spans
                .iter()
                .filter(|s| s.state == state && state != State::Done)
                .map(|s| (s.t1 as f64).min(win.t1) - (s.t0 as f64).max(win.t0))
                .filter(|d| *d > 0.0)
                .sum::<f64>()
                / res;
            assert!(
                (a - time).abs() <= 3.0 + time * 0.06 && (a - b).abs() <= 4.0 + b * 0.1,
                "zoom {zoom}, {state:?}: {a} pixels, coalesce paints {b}, its time is {time:.1}"
            );
        }
        // And a state is painted only within two pixels of where it was.
        for (x, &state) in mine.iter().enumerate() {
            let (ta, tb) = (
                win.t(x as f64 - 2.0, width as f64),
                win.t(x as f64 + 3.0, width as f64),
            );
            assert!(
                state.is_none()
                    || spans.iter().any(|s| Some(s.state) == state
                        && (s.t1 as f64) > ta
                        && (s.t0 as f64) < tb),
                "zoom {zoom}, pixel {x}: {state:?} is not there"
            );
        }
        // Frames arriving one by one build the same summary as one big frame.
        if k == 0 {
            let mut live = Store::default();
            for chunk in spans.chunks(777) {
                apply(&mut live, chunk);
            }
            assert_eq!(live.lanes[0].summary, store.lanes[0].summary);
            store = live;
        }
    }
    assert!(
        drawn_from[0] >= 2 && drawn_from[1] >= 2,
        "zooms from spans and summary: {drawn_from:?}"
    );
}

fn apply(store: &mut Store, spans: &[Span]) {
    store.apply_frame(FrameMsg {
        run: 1,
        reset: false,
        resolution: 0,
        delta: Trace {
            lanes: vec![Lane {
                id: LaneId(0),
                interp: gilscope_shared::trace::InterpId(0),
                name: "Thread-0".into(),
                kind: LaneKind::Worker,
                tid: None,
            }],
            spans: spans.to_vec(),
            ..Trace::default()
        }
        .into(),
    });
}

fn store_of(spans: &[Span]) -> Store {
    let mut store = Store::default();
    apply(&mut store, spans);
    store
}
