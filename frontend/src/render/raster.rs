//! An RGBA image in device pixels, filled in wasm memory and handed to the canvas at once:
//! a rectangle costs a few memory writes, and pixels are exact (no anti-aliasing), so the
//! tests can look for a state's colour.

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
    pub px: Vec<u32>,
}

impl Raster {
    /// Resizes (keeping the allocation) and fills with `background`.
    pub fn reset(&mut self, width: usize, height: usize, background: u32) {
        self.width = width;
        self.height = height;
        self.px.clear();
        self.px.resize(width * height, background);
    }

    pub fn get(&self, x: usize, y: usize) -> u32 {
        self.px[y * self.width + x]
    }

    /// Fills `[x0, x1) × [y0, y1)`, clipped to the image.
    pub fn fill(&mut self, x0: i64, x1: i64, y0: i64, y1: i64, colour: u32) {
        let (x0, x1) = self.clip(x0, x1, self.width);
        let (y0, y1) = self.clip(y0, y1, self.height);
        for y in y0..y1 {
            let row = y * self.width;
            self.px[row + x0..row + x1].fill(colour);
        }
    }

    fn clip(&self, a: i64, b: i64, max: usize) -> (usize, usize) {
        let a = crate::bound::clamp(a, 0, max as i64) as usize;
        let b = crate::bound::clamp(b, 0, max as i64) as usize;
        (a, b.max(a))
    }

    /// The pixels as bytes R, G, B, A, for `ImageData` (no copy).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: a `u32` is four initialised bytes with no padding, `u8` has no alignment
        // requirement, and the slice borrows `self.px` for its whole length. Bytes come out
        // in memory order, which on little-endian targets (wasm32, the hosts we test on) is
        // R, G, B, A as [`pixel`] packs them.
        unsafe { std::slice::from_raw_parts(self.px.as_ptr().cast::<u8>(), self.px.len() * 4) }
    }
}
