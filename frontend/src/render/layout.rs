//! The rows of the timeline: a GIL track (or a name) per interpreter, a lane per thread.

use gilscope_shared::trace::InterpId;

use crate::store::Store;

/// What a row of the timeline shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowKind {
    /// Who holds this interpreter's GIL.
    Gil(InterpId),
    /// An interpreter without a GIL: its name only.
    Group(InterpId),
    /// A thread: index into [`Store::lanes`].
    Lane(usize),
}

/// A row's place, in CSS pixels from the top of the canvas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub kind: RowKind,
    pub y: f64,
    pub h: f64,
}

/// Heights of the timeline's parts, in CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// The axis labels above the rows.
    pub axis_h: f64,
    pub lane_h: f64,
    pub gil_h: f64,
    pub group_h: f64,
}

/// One row per thread, grouped by interpreter (process), each group led by its GIL track
/// (or its name when it has no GIL), under the axis.
pub fn layout(store: &Store, m: &Metrics) -> Vec<Row> {
    layout_at(store, m, m.axis_h)
}

/// The rows of [`layout`], starting at height `top`: a run's block below another's.
pub fn layout_at(store: &Store, m: &Metrics, top: f64) -> Vec<Row> {
    let mut rows = Vec::with_capacity(store.lanes.len() + store.interpreters.len());
    let mut y = top;
    let mut current: Option<InterpId> = None;
    for (i, lane) in store.lanes.iter().enumerate() {
        let interp = lane.lane.interp;
        if current != Some(interp) {
            current = Some(interp);
            let (kind, h) = if store.has_gil(interp) {
                (RowKind::Gil(interp), m.gil_h)
            } else {
                (RowKind::Group(interp), m.group_h)
            };
            rows.push(Row { kind, y, h });
            y += h;
        }
        rows.push(Row {
            kind: RowKind::Lane(i),
            y,
            h: m.lane_h,
        });
        y += m.lane_h;
    }
    rows
}

/// The row at height `y`, if any.
pub fn row_at(rows: &[Row], y: f64) -> Option<&Row> {
    let i = rows.partition_point(|r| r.y + r.h <= y);
    rows.get(i).filter(|r| r.y <= y)
}

/// Total height of the rows.
pub fn rows_height(rows: &[Row], m: &Metrics) -> f64 {
    rows.last().map_or(m.axis_h, |r| r.y + r.h)
}
