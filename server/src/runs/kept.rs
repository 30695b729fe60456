//! The run manager's side of the store: runs that are over are handed to it, and what the
//! manager no longer holds in memory (an older run, yesterday's, an imported one) is read
//! back from it. Live and queued runs stay in memory only; the store reads run off the async
//! workers.

use std::sync::Arc;

use gilscope_shared::history::{RunEdit, RunEntry};
use gilscope_shared::protocol::{RunId, RunInfo, RunState};
use gilscope_shared::trace::{Trace, TraceDelta};

use super::{Runs, RunsError, Snapshot};
use crate::frames;
use crate::store::{Page, Store, StoreError};

/// Runs `job` on a blocking thread.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, RunsError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|err| RunsError::Store(StoreError::Read(err.to_string())))?
        .map_err(RunsError::from)
}

impl Runs {
    /// Keeps runs that are over in `store` from now on; new runs are numbered after the
    /// highest id it holds, so ids stay unique across restarts.
    pub fn set_store(&self, store: Store) -> Result<(), StoreError> {
        let highest = store.max_id()?;
        {
            let mut book = self.book();
            book.next_id = book.next_id.max(highest + 1);
        }
        *self.0.store.write().unwrap_or_else(|e| e.into_inner()) = Some(store);
        Ok(())
    }

    /// The store, when this server keeps runs.
    pub fn store(&self) -> Option<Store> {
        self.0
            .store
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn need_store(&self) -> Result<Store, RunsError> {
        self.store().ok_or(RunsError::NoStore)
    }

    /// Hands a run that is over to the store (queued there; returns at once).
    pub(super) fn keep(&self, info: RunInfo, trace: Arc<Trace>) {
        if let Some(store) = self.store() {
            store.save(info, trace);
        }
    }

    /// The state of a run held in memory, if it is.
    fn held(&self, id: RunId) -> Option<RunState> {
        self.book().records.get(&id).map(|r| r.info.state)
    }

    /// A run, live or kept, with what the store keeps of it.
    pub async fn entry(&self, id: RunId) -> Result<RunEntry, RunsError> {
        let held = self.book().records.get(&id).map(|r| r.info.clone());
        let store = self.store();
        match (held, store) {
            (Some(info), Some(store)) if info.state.is_over() => {
                let kept = blocking(move || match store.get(id) {
                    Ok(entry) => Ok(entry.kept),
                    Err(StoreError::NotFound(_)) => Ok(None),
                    Err(err) => Err(err),
                })
                .await?;
                Ok(RunEntry { info, kept })
            }
            (Some(info), _) => Ok(RunEntry { info, kept: None }),
            (None, Some(store)) => blocking(move || store.get(id))
                .await
                .map_err(|err| match err {
                    RunsError::Store(StoreError::NotFound(id)) => RunsError::NotFound(id),
                    err => err,
                }),
            (None, None) => Err(RunsError::NotFound(id)),
        }
    }

    /// A page of runs: the newest `limit` below `before`, oldest first (as `GET /api/runs`
    /// always listed them), from memory (queued, live, just over) and the store.
    pub async fn entries(&self, page: Page) -> Result<Vec<RunEntry>, RunsError> {
        let below = page.before.unwrap_or(RunId::MAX);
        let held: Vec<RunEntry> = self
            .book()
            .records
            .values()
            .rev()
            .filter(|r| r.info.id < below)
            .filter(|r| {
                page.lesson
                    .as_ref()
                    .is_none_or(|l| *l == r.info.spec.preset)
            })
            .take(page.limit)
            .map(|r| RunEntry {
                info: r.info.clone(),
                kept: None,
            })
            .collect();
        let limit = page.limit;
        let mut all = match self.store() {
            Some(store) => blocking(move || store.list(&page)).await?,
            None => Vec::new(),
        };
        for entry in held {
            if !all.iter().any(|kept| kept.info.id == entry.info.id) {
                all.push(entry);
            }
        }
        all.sort_by_key(|entry| std::cmp::Reverse(entry.info.id));
        all.truncate(limit);
        all.reverse();
        Ok(all)
    }

    /// A run's trace: from memory (so far, while live), else from the store.
    pub async fn trace_any(&self, id: RunId) -> Result<(RunInfo, Arc<Trace>), RunsError> {
        match self.trace(id) {
            Err(RunsError::NotFound(_)) => {}
            found => return found,
        }
        let store = self.store().ok_or(RunsError::NotFound(id))?;
        let (entry, trace) = blocking(move || store.load(id))
            .await
            .map_err(|err| match err {
                RunsError::Store(StoreError::NotFound(id)) => RunsError::NotFound(id),
                err => err,
            })?;
        Ok((entry.info, Arc::new(trace)))
    }

    /// A kept run from its start, as frames; the last one built is shared, as for live runs.
    pub(super) async fn stored_snapshot(&self, id: RunId) -> Result<Arc<Snapshot>, RunsError> {
        let mut latest = self.0.snapshot.lock().await;
        if let Some(cached) = latest.as_ref() {
            if cached.info.id == id && cached.info.state.is_over() {
                return Ok(cached.clone());
            }
        }
        let store = self.store().ok_or(RunsError::NotFound(id))?;
        let (info, frames) = blocking(move || {
            let (entry, trace) = store.load(id)?;
            Ok((
                entry.info,
                frames::snapshot(id, &trace, &TraceDelta::default()),
            ))
        })
        .await
        .map_err(|err| match err {
            RunsError::Store(StoreError::NotFound(id)) => RunsError::NotFound(id),
            err => err,
        })?;
        let snapshot = Arc::new(Snapshot {
            info,
            frames,
            seq: 0,
        });
        *latest = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// `DELETE /api/runs/{id}`: a run that is over is removed, from memory and the store; a
    /// queued or live one is stopped (as before the store existed; delete it once over).
    pub async fn remove(&self, id: RunId) -> Result<RunInfo, RunsError> {
        let removed = {
            let mut book = self.book();
            match book.records.get(&id).map(|r| r.info.state) {
                Some(state) if !state.is_over() => None,
                Some(_) => {
                    book.finished.retain(|&f| f != id);
                    let record = book.records.remove(&id);
                    if let Some(record) = &record {
                        book.kept_bytes -= record.bytes;
                    }
                    record.map(|r| Some(r.info))
                }
                None => Some(None),
            }
        };
        let held = match removed {
            None => return self.stop(id),
            Some(held) => held,
        };
        {
            let mut latest = self.0.snapshot.lock().await;
            if latest.as_ref().is_some_and(|s| s.info.id == id) {
                *latest = None;
            }
        }
        let Some(store) = self.store() else {
            return held.ok_or(RunsError::NotFound(id));
        };
        let kept = {
            let store = store.clone();
            blocking(move || match store.get(id) {
                Ok(entry) => Ok(Some(entry.info)),
                Err(StoreError::NotFound(_)) => Ok(None),
                Err(err) => Err(err),
            })
            .await?
        };
        let gone = blocking(move || store.delete(id)).await?;
        // Gone from the store without its info (damaged): nothing to answer with but 404.
        let _ = gone;
        held.or(kept).ok_or(RunsError::NotFound(id))
    }

    /// `PATCH /api/runs/{id}`: renames, notes or stars a run that is over.
    pub async fn edit(&self, id: RunId, edit: RunEdit) -> Result<RunEntry, RunsError> {
        let held = self.held(id);
        if let Some(state) = held.filter(|s| !s.is_over()) {
            return Err(RunsError::NotOver(id, state));
        }
        let store = self.need_store()?;
        blocking(move || store.edit(id, edit))
            .await
            .map_err(|err| match (err, held) {
                // Held in memory, over, but not in the store: its save failed.
                (RunsError::Store(StoreError::NotFound(id)), Some(_)) => RunsError::NotKept(id),
                (err, _) => not_found(err),
            })
    }

    /// `GET /api/runs/{id}/file`: a run that is over, as a run file: from the store, else
    /// (no store, or its save failed) made from the run held in memory.
    pub async fn file(&self, id: RunId) -> Result<Vec<u8>, RunsError> {
        let held = self
            .book()
            .records
            .get(&id)
            .map(|r| (r.info.clone(), r.trace.clone()));
        if let Some((info, _)) = held.as_ref().filter(|(info, _)| !info.state.is_over()) {
            return Err(RunsError::NotOver(id, info.state));
        }
        let stored = match self.store() {
            Some(store) => blocking(move || store.file(id)).await,
            None => Err(RunsError::NoStore),
        };
        match (stored, held) {
            (Ok(bytes), _) => Ok(bytes),
            (
                Err(RunsError::NoStore | RunsError::Store(StoreError::NotFound(_))),
                Some((info, trace)),
            ) => {
                blocking(move || {
                    let header = crate::store::file::RunHeader {
                        kept: gilscope_shared::history::Kept {
                            events: trace.events() as u64,
                            ..Default::default()
                        },
                        info,
                        made_by: format!("gilscope {}", env!("CARGO_PKG_VERSION")),
                    };
                    Ok(crate::store::file::write(
                        &header,
                        &crate::store::codec::encode(&trace),
                    ))
                })
                .await
            }
            (Err(err), _) => Err(not_found(err)),
        }
    }

    /// `POST /api/runs/import`: keeps the run of a run file under a new id.
    pub async fn import(&self, bytes: axum::body::Bytes) -> Result<RunEntry, RunsError> {
        let store = self.need_store()?;
        // A bad file leaves a gap in the ids, nothing else: ids need not be contiguous.
        let id = {
            let mut book = self.book();
            let id = book.next_id;
            book.next_id += 1;
            id
        };
        blocking(move || store.import(id, &bytes)).await
    }
}

fn not_found(err: RunsError) -> RunsError {
    match err {
        RunsError::Store(StoreError::NotFound(id)) => RunsError::NotFound(id),
        err => err,
    }
}
