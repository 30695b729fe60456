//! Where a finding's evidence is on the timeline: the window that shows one piece of it (with
//! room around it), and the boxes that outline every piece on its lanes. Pure: host-tested.

use gilscope_shared::findings::Evidence;

use crate::render::{Row, RowKind, Window};
use crate::store::Store;

/// The narrowest window a piece of evidence is shown in: 40 µs, so an instant has context.
const MIN_SHOWN_NS: f64 = 40_000.0;

/// The finding shown on the timeline: which one, and which piece of its evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Focus {
    pub finding: usize,
    pub item: usize,
}

/// A window showing `ev`, a third of its length on either side (at least 1 % of the run, and
/// never narrower than [`MIN_SHOWN_NS`]), not before the run's start.
pub fn window_for(ev: &Evidence, run_end: u64) -> Window {
    let (t0, t1) = (ev.t0.min(ev.t1) as f64, ev.t0.max(ev.t1) as f64);
    let len = t1 - t0;
    let margin = (len / 3.0)
        .max(run_end as f64 * 0.01)
        .max((MIN_SHOWN_NS - len) / 2.0);
    Window::new((t0 - margin).max(0.0), t1 + margin)
}

/// An outline to draw, in CSS pixels of the timeline canvas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outline {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

/// The outlines of `evidence` over the rows of the run shown: each piece over its lane's row
/// (every lane's for a piece about the whole run), at least `min_w` wide so an instant shows,
/// clipped to the plot (`x0..x0 + plot_w`). Pieces out of view, or on a lane not drawn, give
/// none.
pub fn outlines(
    evidence: &[Evidence],
    store: &Store,
    rows: &[Row],
    win: Window,
    x0: f64,
    plot_w: f64,
    min_w: f64,
) -> Vec<Outline> {
    let lane_rows: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.kind, RowKind::Lane(_)))
        .collect();
    let mut out = Vec::new();
    for ev in evidence {
        let (a, b) = (
            x0 + win.x(ev.t0 as f64, plot_w),
            x0 + win.x(ev.t1 as f64, plot_w),
        );
        let mid = (a + b) / 2.0;
        let half = ((b - a) / 2.0).max(min_w / 2.0);
        let (a, b) = ((mid - half).max(x0), (mid + half).min(x0 + plot_w));
        if b <= a {
            continue;
        }
        let (y0, y1) = match ev.lane {
            Some(id) => {
                let Some(index) = store.lane_index(id) else {
                    continue;
                };
                let Some(row) = lane_rows.iter().find(|r| r.kind == RowKind::Lane(index)) else {
                    continue;
                };
                (row.y, row.y + row.h)
            }
            None => match (lane_rows.first(), lane_rows.last()) {
                (Some(first), Some(last)) => (first.y, last.y + last.h),
                _ => continue,
            },
        };
        out.push(Outline {
            x0: a,
            x1: b,
            y0,
            y1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::trace::LaneId;

    fn ev(lane: Option<u32>, t0: u64, t1: u64) -> Evidence {
        Evidence {
            lane: lane.map(LaneId),
            t0,
            t1,
        }
    }

    #[test]
    fn the_window_holds_the_evidence_with_room() {
        let w = window_for(&ev(Some(1), 3_000_000, 6_000_000), 100_000_000);
        assert!(w.t0 < 3_000_000.0 && w.t1 > 6_000_000.0);
        assert!(w.len() < 10_000_000.0, "{w:?}");
        // An instant at the start: some room, never before 0.
        let w = window_for(&ev(None, 0, 0), 1_000_000);
        assert_eq!(w.t0, 0.0);
        assert!(w.t1 >= 20_000.0);
    }

    #[test]
    fn no_rows_no_outlines() {
        let store = Store::default();
        let win = Window::new(0.0, 1e6);
        let got = outlines(
            &[ev(Some(3), 0, 10), ev(None, 0, 10)],
            &store,
            &[],
            win,
            0.0,
            100.0,
            4.0,
        );
        assert!(got.is_empty());
    }

    #[test]
    fn the_whole_run_outlines_every_lane() {
        let store = Store::default();
        let rows = [
            Row {
                kind: RowKind::Gil(gilscope_shared::trace::InterpId(0)),
                y: 0.0,
                h: 10.0,
            },
            Row {
                kind: RowKind::Lane(0),
                y: 10.0,
                h: 20.0,
            },
            Row {
                kind: RowKind::Lane(1),
                y: 30.0,
                h: 20.0,
            },
        ];
        let win = Window::new(0.0, 10_000.0);
        let got = outlines(
            &[ev(None, 5_000, 5_000)],
            &store,
            &rows,
            win,
            100.0,
            1000.0,
            4.0,
        );
        assert_eq!(
            got,
            vec![Outline {
                x0: 598.0,
                x1: 602.0,
                y0: 10.0,
                y1: 50.0
            }]
        );
        // Out of view: nothing.
        let got = outlines(
            &[ev(None, 50_000, 60_000)],
            &store,
            &rows,
            win,
            100.0,
            1000.0,
            4.0,
        );
        assert!(got.is_empty());
    }
}
