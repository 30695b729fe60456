//! The canvas renderer's pure part, testable on the host: the time↔pixel transform, zoom and
//! pan, axis ticks, the rows of the timeline, and painting spans into an RGBA raster with
//! level of detail.
//!
//! Why a raster: a 64-lane trace of millions of spans panned at 60 fps leaves no time for one
//! canvas call per rectangle. Each lane's pieces, about one per device pixel whatever the
//! span count (the lane's multi-resolution summary, [`crate::pyramid`]), are coloured into a
//! scanline copied into the lane's rows of a buffer of device pixels in wasm memory, which the
//! page hands to the canvas in one `putImageData`.

mod arrows;
mod layout;
mod lod;
mod raster;
mod spans;
#[cfg(test)]
mod tests;
mod window;

pub use arrows::{handoff_arrows, Arrow};
pub use layout::{layout, layout_at, row_at, rows_height, Metrics, Row, RowKind};
pub use lod::merge_subpixel;
pub use raster::{pixel, Raster};
pub use spans::{paint_spans, Plot, TaskLabel};
pub use window::{fmt_ns, ticks, Tick, Window, MIN_LIVE_NS, MIN_WINDOW_NS};
