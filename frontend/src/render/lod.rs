//! Level of detail from the spans themselves, for views zoomed in past the summary's
//! finest buckets (see [`super::summary`]).

use gilscope_shared::trace::{Nanos, Span, State};

/// Level of detail for one lane, without allocating: the same merging as the shared
/// [`coalesce`] (spans at least `res` long pass; a run of shorter ones becomes, per window of
/// about `res`, one span per state met, side by side in order of first appearance, each as
/// long as that state's total, so time per state is kept exactly), handed to `emit` one by
/// one. `spans` must be one lane's, sorted by `t0`. The tests check it against [`coalesce`].
pub fn merge_subpixel<'a>(
    spans: impl IntoIterator<Item = &'a Span>,
    res: Nanos,
    mut emit: impl FnMut(Span),
) {
    /// Per state met in the window: (state, total ns, task while all spans agree).
    struct Win {
        lane: gilscope_shared::trace::LaneId,
        start: Nanos,
        n: usize,
        met: [(State, Nanos, Option<u32>); State::ALL.len()],
    }
    fn flush(w: &Win, emit: &mut impl FnMut(Span)) {
        let mut cursor = w.start;
        for &(state, total, task) in &w.met[..w.n] {
            emit(Span {
                lane: w.lane,
                state,
                t0: cursor,
                t1: cursor + total,
                task,
            });
            cursor += total;
        }
    }
    let mut win: Option<Win> = None;
    for span in spans {
        if res <= 1 || span.duration() >= res {
            if let Some(w) = win.take() {
                flush(&w, &mut emit);
            }
            emit(*span);
            continue;
        }
        if win.as_ref().is_some_and(|w| span.t1 > w.start + res) {
            flush(&win.take().expect("checked above"), &mut emit);
        }
        let w = win.get_or_insert(Win {
            lane: span.lane,
            start: span.t0,
            n: 0,
            met: [(State::Idle, 0, None); State::ALL.len()],
        });
        match w.met[..w.n].iter_mut().find(|(s, ..)| *s == span.state) {
            Some((_, total, task)) => {
                *total += span.duration();
                if *task != span.task {
                    *task = None;
                }
            }
            None => {
                w.met[w.n] = (span.state, span.duration(), span.task);
                w.n += 1;
            }
        }
    }
    if let Some(w) = win {
        flush(&w, &mut emit);
    }
}
