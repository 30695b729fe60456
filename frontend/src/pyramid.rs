//! A lane's multi-resolution summary, so that drawing costs about one entry per device pixel
//! however many spans the lane holds (the idea of Perfetto's timeline cache: bucket to pixels).
//!
//! Level `k` cuts time from 0 into buckets of `2^(shift + k)` ns; each bucket keeps, in order
//! of first appearance, the share of the bucket each state took: the level of detail of
//! [`crate::render::merge_subpixel`] (time per state kept, a 50/50 pixel shows both), on a
//! fixed grid instead of windows that start at a span. Level 0 is summed from the spans,
//! each level above from two buckets of the one below. The view picks the level whose
//! buckets are 1 to 2 device pixels wide (level 0's up to 4); zoomed in further it draws the
//! spans themselves, which are then about one per pixel.
//!
//! Built as frames arrive: spans appended in order only touch the last buckets. Level 0 has
//! a bucket per 3 to 6 spans' average length, so all levels together take about a fifth of
//! the spans' own memory; when the lane's density drifts by 2× the summary is rebuilt.

use gilscope_shared::trace::{Nanos, Span, State};

/// A bucket: up to six (state, share) slots of 10 bits, low slot first, in order of first
/// appearance: 4 bits state (index in [`State::ALL`] + 1, 0 = empty), 6 bits share of the
/// bucket in [`FULL`]ths (a bucket is at most two pixels: a 63rd of it is plenty).
type Cell = u64;
/// The share of a whole bucket.
const FULL: u64 = 63;
const SLOTS: usize = 6;
const SLOT_BITS: u32 = 10;
const SHARE_BITS: u32 = 6;
/// A slot's state bits, once shifted down past its share.
const STATE_MASK: u64 = (1 << (SLOT_BITS - SHARE_BITS)) - 1;
/// Below this many spans a lane is drawn from its spans: there is nothing to save.
const MIN_SPANS: usize = 512;
/// Spans with this many level-0 buckets or more are indexed for their task labels.
const LONG: u64 = 8;

/// Time (or shares) per state, in order of first appearance.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Acc {
    n: usize,
    met: [(u8, u64); State::ALL.len()],
}

impl Acc {
    fn add(&mut self, state: u8, v: u64) {
        match self.met[..self.n].iter_mut().find(|(s, _)| *s == state) {
            Some((_, total)) => *total += v,
            None => {
                self.met[self.n] = (state, v);
                self.n += 1;
            }
        }
    }

    fn add_cell(&mut self, c: Cell) {
        for (state, share) in slots(c) {
            self.add(state, share);
        }
    }

    /// Packs the totals scaled by `num / den`; beyond six states the smallest are dropped.
    fn pack(&self, num: u64, den: u64) -> Cell {
        let mut keep = [true; State::ALL.len()];
        for _ in SLOTS..self.n {
            let smallest = (0..self.n)
                .filter(|&i| keep[i])
                .min_by_key(|&i| self.met[i].1)
                .expect("more than SLOTS kept");
            keep[smallest] = false;
        }
        // Shares rounded cumulatively, so that they add up to the rounded total (rounding each
        // on its own can overfill the bucket and cut the last state short).
        let (mut sum, mut placed) = (0, 0);
        let kept = (0..self.n).filter(|&i| keep[i]).map(|i| self.met[i]);
        kept.enumerate().fold(0, |cell, (slot, (state, v))| {
            sum += v;
            let upto = ((sum * num + den / 2) / den).min(FULL);
            let share = upto - placed;
            placed = upto;
            cell | ((state as u64 + 1) << SHARE_BITS | share) << (SLOT_BITS as usize * slot)
        })
    }
}

/// The (state index, share) slots of a bucket.
fn slots(c: Cell) -> impl Iterator<Item = (u8, u64)> {
    (0..SLOTS)
        .map(move |i| (c >> (SLOT_BITS as usize * i)) & ((1 << SLOT_BITS) - 1))
        .take_while(|s| s >> SHARE_BITS != 0)
        .map(|s| (((s >> SHARE_BITS) - 1) as u8, s & FULL))
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pyramid {
    /// log2 of level 0's bucket length, ns.
    shift: u32,
    /// Empty while the lane is drawn from its spans.
    levels: Vec<Vec<Cell>>,
    /// Exact ns per state in level 0's last bucket, which the next spans may add to.
    tail: Acc,
    /// How many of the lane's spans are summed in.
    count: usize,
    /// From this level-0 bucket on, the levels above are out of date.
    dirty: usize,
    /// Indices of the spans at least [`LONG`] buckets long, by `t0`: the only ones wide
    /// enough for a task label at the zooms where the summary is drawn.
    long: Vec<u32>,
}

impl Pyramid {
    /// Takes in the lane's spans after a frame: the ones appended since the last call, or all
    /// of them again when `rebuild` (a span arrived out of order) or the density drifted.
    pub fn update(&mut self, spans: &[Span], rebuild: bool) {
        let n = spans.len();
        if n < MIN_SPANS {
            *self = Pyramid::default();
            return;
        }
        let end = spans.last().map_or(0, |s| s.t1).max(1);
        let cells = |shift: u32| (end >> shift) as usize + 1;
        let drifted = self.levels.is_empty() || {
            let c = cells(self.shift);
            c > n * 2 / 5 || c < n / 16
        };
        if rebuild || drifted {
            // Buckets of 3 to 6 spans' average length: n/6 to n/3 of them.
            let shift = (3 * end / n as u64)
                .max(1)
                .next_power_of_two()
                .trailing_zeros();
            *self = Pyramid {
                shift,
                levels: vec![Vec::with_capacity(cells(shift))],
                ..Pyramid::default()
            };
        }
        for (i, span) in spans.iter().enumerate().skip(self.count) {
            self.add(span);
            if span.duration() >= LONG << self.shift {
                self.long.push(i as u32);
            }
        }
        self.count = n;
        self.propagate();
    }

    fn bucket(&self) -> Nanos {
        1 << self.shift
    }

    /// Sums one span (the lane's next by `t0`) into level 0.
    fn add(&mut self, span: &Span) {
        if span.t1 <= span.t0 {
            return;
        }
        let state = span.state as u8;
        let b = self.bucket();
        let (first, last) = (
            (span.t0 >> self.shift) as usize,
            ((span.t1 - 1) >> self.shift) as usize,
        );
        let level0 = &mut self.levels[0];
        if level0.is_empty() {
            level0.resize(first + 1, 0);
        }
        // Start a new tail bucket (empty ones in between) when the span starts past it.
        if first >= level0.len() {
            level0.resize(first + 1, 0);
            self.tail = Acc::default();
        }
        self.dirty = self.dirty.min(level0.len() - 1);
        let tail_at = level0.len() - 1;
        for i in first.max(tail_at)..=last {
            let (c0, c1) = (i as Nanos * b, (i as Nanos + 1) * b);
            let part = span.t1.min(c1) - span.t0.max(c0);
            if i > tail_at && i < last {
                // A whole bucket of one state.
                level0.push((state as u64 + 1) << SHARE_BITS | FULL);
                continue;
            }
            if i > tail_at {
                level0.push(0);
                self.tail = Acc::default();
            }
            self.tail.add(state, part);
            *level0.last_mut().expect("pushed") = self.tail.pack(FULL, b);
        }
    }

    /// Brings the levels above level 0 up to date from bucket `dirty` on.
    fn propagate(&mut self) {
        let mut from = self.dirty;
        let mut k = 1;
        while self.levels[k - 1].len() > 1 {
            if self.levels.len() == k {
                self.levels.push(Vec::new());
            }
            let (below, above) = self.levels.split_at_mut(k);
            let (below, above) = (&below[k - 1], &mut above[0]);
            from /= 2;
            above.truncate(from);
            for pair in below[from * 2..].chunks(2) {
                let mut acc = Acc::default();
                for &c in pair {
                    acc.add_cell(c);
                }
                above.push(acc.pack(1, 2));
            }
            k += 1;
        }
        self.levels.truncate(k);
        self.dirty = self.levels[0].len();
    }

    /// The level whose buckets are 1 to 2 pixels of `res` ns wide (level 0's up to 4);
    /// `None` when zoomed in further (or the lane is small): draw the spans, then at most
    /// about one and a half per pixel.
    pub fn level_for(&self, res: f64) -> Option<usize> {
        if self.levels.is_empty() || res < self.bucket() as f64 / 4.0 {
            return None;
        }
        let k = (res.log2().ceil() as i64 - self.shift as i64).max(0) as usize;
        Some(k.min(self.levels.len() - 1))
    }

    /// Hands `emit` the pieces of level `k` over `[lo, hi]` ns: per bucket, one per state,
    /// side by side from the bucket's start, each as long as that state's share.
    pub fn pieces(&self, k: usize, lo: f64, hi: f64, mut emit: impl FnMut(State, f64, f64)) {
        let level = &self.levels[k];
        let b = (1u64 << (self.shift + k as u32)) as f64;
        let first = (lo.max(0.0) / b) as usize;
        let last = ((hi.max(0.0) / b) as usize + 1).min(level.len());
        // A plain loop over the slots' bits: this runs about three times per bucket, per
        // lane, per frame, and the wasm is optimised for size (iterator adaptors stay calls).
        for (i, &cell) in level.iter().enumerate().take(last).skip(first) {
            let end = (i + 1) as f64 * b;
            let mut t = i as f64 * b;
            let mut rest = cell;
            while rest >> SHARE_BITS & STATE_MASK != 0 {
                let state = ((rest >> SHARE_BITS & STATE_MASK) - 1) as usize;
                let t1 = (t + (rest & FULL) as f64 * b / FULL as f64).min(end);
                emit(State::ALL[state], t, t1);
                t = t1;
                rest >>= SLOT_BITS;
            }
        }
    }

    /// The spans long enough for a task label that overlap `[lo, hi]`, as indices.
    pub fn long_spans<'a>(&'a self, spans: &'a [Span], lo: Nanos, hi: Nanos) -> &'a [u32] {
        let start = self.long.partition_point(|&i| spans[i as usize].t1 < lo);
        let end = self.long.partition_point(|&i| spans[i as usize].t0 <= hi);
        &self.long[start..end.max(start)]
    }

    /// Bytes held, for the memory budget (a quarter of the spans').
    pub fn bytes(&self) -> usize {
        self.levels.iter().map(|l| l.len()).sum::<usize>() * size_of::<Cell>()
            + self.long.len() * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilscope_shared::trace::LaneId;

    fn spans(lens: impl IntoIterator<Item = Nanos>) -> Vec<Span> {
        let mut t = 0;
        lens.into_iter()
            .enumerate()
            .map(|(k, len)| {
                let span = Span {
                    lane: LaneId(0),
                    state: State::ALL[k % 3],
                    t0: t,
                    t1: t + len,
                    task: None,
                };
                t += len;
                span
            })
            .collect()
    }

    fn built(spans: &[Span]) -> Pyramid {
        let mut p = Pyramid::default();
        p.update(spans, false);
        p
    }

    #[test]
    fn small_lanes_are_drawn_from_their_spans() {
        let p = built(&spans([100; MIN_SPANS - 1]));
        assert_eq!(p.level_for(1e6), None);
        assert_eq!(p.bytes(), 0);
    }

    #[test]
    fn each_level_keeps_the_time_per_state() {
        let lens: Vec<Nanos> = (0..5000).map(|k| 1 + (k * 7919) % 997).collect();
        let all = spans(lens);
        let p = built(&all);
        let end = all.last().unwrap().t1 as f64;
        for k in 0..p.levels.len() {
            let mut per_state = [0.0; State::ALL.len()];
            p.pieces(k, 0.0, end, |s, t0, t1| per_state[s as usize] += t1 - t0);
            for state in [State::Running, State::WaitGil, State::Io] {
                let want: f64 = all
                    .iter()
                    .filter(|s| s.state == state)
                    .map(|s| s.duration() as f64)
                    .sum();
                let got = per_state[state as usize];
                // Shares are in 63rds of a bucket: each level rounds by under one, and halves
                // what the level below rounded, so under two per bucket in all.
                let bucket = (1u64 << (p.shift + k as u32)) as f64;
                let bound = 2.0 * p.levels[k].len() as f64 * bucket / FULL as f64;
                assert!(
                    (got - want).abs() <= bound,
                    "level {k}, {state:?}: {got} ns of {want}"
                );
            }
        }
    }

    #[test]
    fn a_late_span_or_a_change_of_pace_rebuilds_within_the_memory_budget() {
        // A thousand 1 µs spans, then a thousand of 1 ms: the buckets must grow with them.
        let all = spans((0..2000).map(|k| if k < 1000 { 1_000 } else { 1_000_000 }));
        let mut live = Pyramid::default();
        for n in (100..=all.len()).step_by(100) {
            live.update(&all[..n], false);
            assert!(live.bytes() * 4 <= n * size_of::<Span>(), "{n} spans");
        }
        assert_eq!(live, built(&all));
        // A span that arrived out of order: the store asks for a rebuild.
        let mut shuffled = all.clone();
        shuffled.swap(1500, 1501);
        let mut p = built(&shuffled);
        p.update(&all, true);
        assert_eq!(p, built(&all));
    }
}
