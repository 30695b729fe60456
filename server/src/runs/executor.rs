//! The executor's side of the run manager: a queued run executed in a task of its own, its
//! news appended and broadcast every frame period, and its end recorded and kept.

use std::sync::Arc;

use gilscope_shared::protocol::{RunId, RunState};
use gilscope_shared::trace::{Trace, TraceDelta};

use super::{Book, Runs, Update, FRAME_PERIOD, KEEP_FINISHED};
use crate::engine;
use crate::frames::LiveFrames;

impl Runs {
    /// Runs one queued run in a task of its own: a panic there fails that run, with its
    /// message, and the queue goes on.
    pub(super) async fn execute_isolated(&self, id: RunId) {
        let runs = self.clone();
        let task = tokio::spawn(async move { runs.execute(id).await });
        if let Err(err) = task.await {
            let reason = match err.try_into_panic() {
                Ok(panic) => format!(
                    "the run manager panicked while running it: {}",
                    engine::panic_message(panic.as_ref())
                ),
                Err(err) => format!("the run's task ended early: {err}"),
            };
            tracing::error!(run = id, "{reason}");
            self.finish(id, RunState::Failed, None, Some(reason), None);
        }
    }

    /// Runs one queued run to its end, streaming frames while it goes.
    async fn execute(&self, id: RunId) {
        let Some(program) = self.book().records.get(&id).map(|r| r.program.clone()) else {
            return;
        };
        let handle = match program.start() {
            Ok(handle) => handle,
            Err(err) => {
                self.finish(id, RunState::Failed, None, Some(err.to_string()), None);
                return;
            }
        };
        let info = {
            let mut book = self.book();
            book.live = Some(id);
            let record = book.records.get_mut(&id).expect("queued runs have records");
            record.info.state = RunState::Running;
            record.stop = Some(handle.stop_handle());
            record.info.clone()
        };
        self.announce(Update::Run(info));

        let mut live = LiveFrames::new(id);
        let mut ticker = tokio::time::interval(FRAME_PERIOD);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let finished = handle.is_finished();
            let delta = handle.drain();
            if !delta.is_empty() || !delta.open_spans.is_empty() {
                let frames = Arc::new(live.frames(&delta));
                let seq = self.append(id, delta);
                self.announce(Update::Frame { id, seq, frames });
            }
            if finished {
                break;
            }
        }
        let outcome = match tokio::task::spawn_blocking(move || handle.wait()).await {
            Ok(outcome) => outcome,
            Err(err) => {
                let reason = match err.try_into_panic() {
                    Ok(panic) => format!(
                        "the run panicked: {}",
                        engine::panic_message(panic.as_ref())
                    ),
                    Err(err) => format!("the run's task ended early: {err}"),
                };
                self.finish(id, RunState::Failed, None, Some(reason), None);
                return;
            }
        };
        let state = match &outcome.summary.end {
            gilscope_shared::summary::EndReason::Stopped => RunState::Stopped,
            gilscope_shared::summary::EndReason::Failed { .. } => RunState::Failed,
            _ => RunState::Finished,
        };
        let error = match &outcome.summary.end {
            gilscope_shared::summary::EndReason::Failed { reason } => Some(reason.clone()),
            _ => None,
        };
        self.finish(
            id,
            state,
            Some(outcome.summary),
            error,
            Some(Arc::new(outcome.trace)),
        );
    }

    /// Adds a frame's news to the live run's trace so far; returns the frame's number.
    fn append(&self, id: RunId, mut delta: TraceDelta) -> u64 {
        let mut book = self.book();
        let Some(record) = book.records.get_mut(&id) else {
            return 0;
        };
        record.open = TraceDelta {
            added: Trace {
                end: delta.now(),
                ..Trace::default()
            },
            open_spans: std::mem::take(&mut delta.open_spans),
        };
        Arc::make_mut(&mut record.trace).apply(delta);
        record.seq += 1;
        record.seq
    }

    fn finish(
        &self,
        id: RunId,
        state: RunState,
        summary: Option<gilscope_shared::summary::Summary>,
        error: Option<String>,
        trace: Option<Arc<Trace>>,
    ) {
        let info = {
            let mut book = self.book();
            if book.live == Some(id) {
                book.live = None;
            }
            let Some(record) = book.records.get_mut(&id) else {
                return;
            };
            record.info.state = state;
            record.info.summary = summary.map(Box::new);
            record.info.error = error;
            record.stop = None;
            if let Some(trace) = trace {
                record.trace = trace;
            }
            let info = record.info.clone();
            let trace = record.trace.clone();
            remember_finished(&mut book, id, self.0.keep_bytes);
            (info, trace)
        };
        let (info, trace) = info;
        self.keep(info.clone(), trace);
        self.announce(Update::Run(info));
    }
}

/// Adds a run that is over to the kept ones, then drops the oldest until the traces kept
/// fit in `keep_bytes` and at most [`KEEP_FINISHED`] runs are kept. The newest always stays,
/// whatever its size: a run just over can still be exported.
pub(super) fn remember_finished(book: &mut Book, id: RunId, keep_bytes: usize) {
    let Some(record) = book.records.get_mut(&id) else {
        return;
    };
    record.bytes = record.trace.heap_bytes();
    book.kept_bytes += record.bytes;
    book.finished.push_back(id);
    while book.finished.len() > 1
        && (book.kept_bytes > keep_bytes || book.finished.len() > KEEP_FINISHED)
    {
        let Some(old) = book.finished.pop_front() else {
            break;
        };
        if let Some(record) = book.records.remove(&old) {
            book.kept_bytes -= record.bytes;
        }
    }
}
