//! GIL hand-offs as arrows between lanes, when zoomed in far enough to tell them apart.

use gilscope_shared::trace::MarkKind;

use super::{Row, RowKind, Window};
use crate::store::Store;

/// A GIL hand-off drawn as an arrow from the releasing lane to the acquiring one (CSS px).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrow {
    pub x: f64,
    pub y_from: f64,
    pub y_to: f64,
}

/// The hand-offs in the window, as arrows, when there is room for them: at most one per
/// `min_gap` CSS pixels on average; none otherwise.
pub fn handoff_arrows(
    store: &Store,
    rows: &[Row],
    win: Window,
    plot_x0: f64,
    width: f64,
    min_gap: f64,
) -> Vec<Arrow> {
    let lo = store.handoffs.partition_point(|m| (m.t as f64) < win.t0);
    let hi = store.handoffs.partition_point(|m| (m.t as f64) <= win.t1);
    if hi <= lo || (hi - lo) as f64 > width / min_gap {
        return Vec::new();
    }
    let centre = |lane| {
        let i = store.lane_index(lane)?;
        rows.iter()
            .find(|r| r.kind == RowKind::Lane(i))
            .map(|r| r.y + r.h / 2.0)
    };
    store.handoffs[lo..hi]
        .iter()
        .filter_map(|m| match m.kind {
            MarkKind::Handoff {
                from: Some(from),
                to,
                ..
            } if from != to => Some(Arrow {
                x: plot_x0 + win.x(m.t as f64, width),
                y_from: centre(from)?,
                y_to: centre(to)?,
            }),
            _ => None,
        })
        .collect()
}
