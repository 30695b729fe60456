//! Queue depth under the timeline, on the same time axis: the true depth, what `qsize()`
//! reported, and the capacity. Shown only when the lesson has a queue.

use leptos::prelude::*;

use crate::dash::Dash;

#[component]
pub fn QueueDepth(dash: Dash) -> impl IntoView {
    view! {
        <div class="queue" data-testid="queue" class:hidden=move || !dash.has_queue.get()>
            <canvas node_ref=dash.queue data-testid="queue-canvas"></canvas>
        </div>
    }
}
