//! An RGBA image in device pixels, filled in wasm memory and handed to the canvas at once:
//! a rectangle costs a few memory writes, and pixels are exact (no anti-aliasing), so the
//! tests can look for a state's colour.
//!
//! Rows are not cleared up front: a row shows the backdrop (the background, and below the
//! axis the grid's lines) until it is first written, and the lanes' rows are written whole,
//! backdrop included, from their scanline. Only the rows nothing wrote get the backdrop, when
//! the pixels are taken ([`Raster::bytes`]): each pixel is written once a frame, not twice
//! (at DPR 2 a frame is 13 MB).

/// `#RRGGBB` as a pixel of an RGBA buffer (bytes R, G, B, A in memory).
pub fn pixel(hex: &str) -> u32 {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    let (r, g, b) = ((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    0xff00_0000 | (b << 16) | (g << 8) | r
}

/// An RGBA image in device pixels, filled in wasm memory and handed to the canvas at once.
#[derive(Default)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    px: Vec<u32>,
    background: u32,
    /// A row of the backdrop from row `grid_from` on: the background and the grid's lines.
    backdrop: Vec<u32>,
    grid_from: usize,
    /// Which rows were written since [`Raster::reset`]; the others hold last frame's pixels.
    written: Vec<bool>,
}

impl Raster {
    /// Resizes (keeping the allocation); every row shows `background` until written.
    pub fn reset(&mut self, width: usize, height: usize, background: u32) {
        self.width = width;
        self.height = height;
        self.px.resize(width * height, background);
        self.background = background;
        self.backdrop.clear();
        self.backdrop.resize(width, background);
        self.grid_from = height;
        self.written.clear();
        self.written.resize(height, false);
    }

    /// A vertical line of the backdrop over columns `[x0, x1)`, from row `from_y` down (the
    /// grid starts below the axis: one `from_y` for all lines). Before any row is written.
    pub fn grid_line(&mut self, x0: i64, x1: i64, from_y: i64, colour: u32) {
        debug_assert!(
            !self.written.contains(&true),
            "the grid after a row was written"
        );
        let (x0, x1) = Self::clip(x0, x1, self.width);
        self.grid_from = Self::clip(from_y, from_y, self.height).0;
        self.backdrop[x0..x1].fill(colour);
    }

    /// The backdrop of the rows below the axis, where lanes are.
    pub fn backdrop(&self) -> &[u32] {
        &self.backdrop
    }

    pub fn get(&self, x: usize, y: usize) -> u32 {
        match self.written[y] {
            true => self.px[y * self.width + x],
            false if y >= self.grid_from => self.backdrop[x],
            false => self.background,
        }
    }

    /// Row `y`, showing the backdrop where it was not written yet.
    pub fn row_mut(&mut self, y: usize) -> &mut [u32] {
        let width = self.width;
        let row = &mut self.px[y * width..(y + 1) * width];
        if !self.written[y] {
            self.written[y] = true;
            match y >= self.grid_from {
                true => row.copy_from_slice(&self.backdrop),
                false => row.fill(self.background),
            }
        }
        row
    }

    /// Row `y` to be written whole, backdrop included (below the axis), and every row above
    /// it. The caller must write every pixel of it.
    pub fn overwrite_row(&mut self, y: usize) -> (&[u32], &mut [u32]) {
        debug_assert!(y >= self.grid_from || self.grid_from == self.height);
        self.written[y] = true;
        let (above, rest) = self.px.split_at_mut(y * self.width);
        (above, &mut rest[..self.width])
    }

    fn clip(a: i64, b: i64, max: usize) -> (usize, usize) {
        let a = crate::bound::clamp(a, 0, max as i64) as usize;
        let b = crate::bound::clamp(b, 0, max as i64) as usize;
        (a, b.max(a))
    }

    /// The pixels as bytes R, G, B, A, for `ImageData` (no copy); the rows nothing wrote get
    /// the backdrop first.
    pub fn bytes(&mut self) -> &[u8] {
        for y in 0..self.height {
            self.row_mut(y);
        }
        let px = &self.px[..self.width * self.height];
        // SAFETY: a `u32` is four initialised bytes with no padding, `u8` has no alignment
        // requirement, and the slice borrows `px` for its whole length. Bytes come out in
        // memory order, which on little-endian targets (wasm32, the hosts we test on) is
        // R, G, B, A as [`pixel`] packs them.
        unsafe { std::slice::from_raw_parts(px.as_ptr().cast::<u8>(), px.len() * 4) }
    }
}
