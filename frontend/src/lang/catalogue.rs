//! Lesson texts by name: the catalogue's claims, descriptions, knob help and the comments of
//! the lessons' Python in the chosen language, from `lesson.<lesson>`, `knob.<lesson>.<knob>`
//! and `comment.<lesson>.c<k>` of frontend/locales/. One arm per entry (the keys are names in
//! code, checked at compile time, not strings).

use super::{tr, Locale};

/// The lesson's claim and description; `None` for a name the catalogue does not know.
pub fn lesson(locale: Locale, name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "cpu-threads" => (
            tr!(locale, lesson.cpu_threads.claim),
            tr!(locale, lesson.cpu_threads.description),
        ),
        "io-threads" => (
            tr!(locale, lesson.io_threads.claim),
            tr!(locale, lesson.io_threads.description),
        ),
        "join" => (
            tr!(locale, lesson.join.claim),
            tr!(locale, lesson.join.description),
        ),
        "counter-race" => (
            tr!(locale, lesson.counter_race.claim),
            tr!(locale, lesson.counter_race.description),
        ),
        "thread-pool-map" => (
            tr!(locale, lesson.thread_pool_map.claim),
            tr!(locale, lesson.thread_pool_map.description),
        ),
        "convoy-effect" => (
            tr!(locale, lesson.convoy_effect.claim),
            tr!(locale, lesson.convoy_effect.description),
        ),
        "gil-flavours" => (
            tr!(locale, lesson.gil_flavours.claim),
            tr!(locale, lesson.gil_flavours.description),
        ),
        "cpu-processes" => (
            tr!(locale, lesson.cpu_processes.claim),
            tr!(locale, lesson.cpu_processes.description),
        ),
        "shared-value" => (
            tr!(locale, lesson.shared_value.claim),
            tr!(locale, lesson.shared_value.description),
        ),
        "queue-producer-consumer" => (
            tr!(locale, lesson.queue_producer_consumer.claim),
            tr!(locale, lesson.queue_producer_consumer.description),
        ),
        "queue-qsize-unreliable" => (
            tr!(locale, lesson.queue_qsize_unreliable.claim),
            tr!(locale, lesson.queue_qsize_unreliable.description),
        ),
        "process-pool-map" => (
            tr!(locale, lesson.process_pool_map.claim),
            tr!(locale, lesson.process_pool_map.description),
        ),
        "apply-async" => (
            tr!(locale, lesson.apply_async.claim),
            tr!(locale, lesson.apply_async.description),
        ),
        "queue-vs-shared-memory" => (
            tr!(locale, lesson.queue_vs_shared_memory.claim),
            tr!(locale, lesson.queue_vs_shared_memory.description),
        ),
        "return-values" => (
            tr!(locale, lesson.return_values.claim),
            tr!(locale, lesson.return_values.description),
        ),
        _ => return None,
    })
}

/// A knob's help in one lesson; `None` for one the catalogue does not know.
pub fn knob(locale: Locale, lesson: &str, knob: &str) -> Option<&'static str> {
    Some(match (lesson, knob) {
        ("cpu-threads", "threads") => tr!(locale, knob.cpu_threads.threads),
        ("cpu-threads", "work") => tr!(locale, knob.cpu_threads.work),
        ("cpu-threads", "gil") => tr!(locale, knob.cpu_threads.gil),
        ("cpu-threads", "switch_interval_ms") => {
            tr!(locale, knob.cpu_threads.switch_interval_ms)
        }
        ("cpu-threads", "check_ticks") => tr!(locale, knob.cpu_threads.check_ticks),
        ("io-threads", "threads") => tr!(locale, knob.io_threads.threads),
        ("io-threads", "tasks") => tr!(locale, knob.io_threads.tasks),
        ("io-threads", "io_ms") => tr!(locale, knob.io_threads.io_ms),
        ("io-threads", "work") => tr!(locale, knob.io_threads.work),
        ("join", "threads") => tr!(locale, knob.join.threads),
        ("join", "io_ms") => tr!(locale, knob.join.io_ms),
        ("join", "work") => tr!(locale, knob.join.work),
        ("counter-race", "threads") => tr!(locale, knob.counter_race.threads),
        ("counter-race", "increments") => tr!(locale, knob.counter_race.increments),
        ("counter-race", "form") => tr!(locale, knob.counter_race.form),
        ("counter-race", "lock") => tr!(locale, knob.counter_race.lock),
        ("counter-race", "check_every_bytecode") => {
            tr!(locale, knob.counter_race.check_every_bytecode)
        }
        ("counter-race", "switch_interval_ms") => {
            tr!(locale, knob.counter_race.switch_interval_ms)
        }
        ("counter-race", "gil") => tr!(locale, knob.counter_race.gil),
        ("thread-pool-map", "pool_size") => tr!(locale, knob.thread_pool_map.pool_size),
        ("thread-pool-map", "tasks") => tr!(locale, knob.thread_pool_map.tasks),
        ("thread-pool-map", "work") => tr!(locale, knob.thread_pool_map.work),
        ("thread-pool-map", "io_ms") => tr!(locale, knob.thread_pool_map.io_ms),
        ("thread-pool-map", "api") => tr!(locale, knob.thread_pool_map.api),
        ("convoy-effect", "work") => tr!(locale, knob.convoy_effect.work),
        ("convoy-effect", "switch_interval_ms") => {
            tr!(locale, knob.convoy_effect.switch_interval_ms)
        }
        ("convoy-effect", "gil") => tr!(locale, knob.convoy_effect.gil),
        ("gil-flavours", "gil") => tr!(locale, knob.gil_flavours.gil),
        ("gil-flavours", "threads") => tr!(locale, knob.gil_flavours.threads),
        ("gil-flavours", "work") => tr!(locale, knob.gil_flavours.work),
        ("gil-flavours", "io_ms") => tr!(locale, knob.gil_flavours.io_ms),
        ("gil-flavours", "switch_interval_ms") => {
            tr!(locale, knob.gil_flavours.switch_interval_ms)
        }
        ("gil-flavours", "check_ticks") => tr!(locale, knob.gil_flavours.check_ticks),
        ("cpu-processes", "processes") => tr!(locale, knob.cpu_processes.processes),
        ("cpu-processes", "work") => tr!(locale, knob.cpu_processes.work),
        ("cpu-processes", "start_method") => tr!(locale, knob.cpu_processes.start_method),
        ("shared-value", "processes") => tr!(locale, knob.shared_value.processes),
        ("shared-value", "increments") => tr!(locale, knob.shared_value.increments),
        ("shared-value", "lock") => tr!(locale, knob.shared_value.lock),
        ("queue-producer-consumer", "producers") => {
            tr!(locale, knob.queue_producer_consumer.producers)
        }
        ("queue-producer-consumer", "consumers") => {
            tr!(locale, knob.queue_producer_consumer.consumers)
        }
        ("queue-producer-consumer", "items") => {
            tr!(locale, knob.queue_producer_consumer.items)
        }
        ("queue-producer-consumer", "capacity") => {
            tr!(locale, knob.queue_producer_consumer.capacity)
        }
        ("queue-producer-consumer", "produce_work") => {
            tr!(locale, knob.queue_producer_consumer.produce_work)
        }
        ("queue-producer-consumer", "consume_work") => {
            tr!(locale, knob.queue_producer_consumer.consume_work)
        }
        ("queue-qsize-unreliable", "items") => {
            tr!(locale, knob.queue_qsize_unreliable.items)
        }
        ("queue-qsize-unreliable", "capacity") => {
            tr!(locale, knob.queue_qsize_unreliable.capacity)
        }
        ("queue-qsize-unreliable", "produce_work") => {
            tr!(locale, knob.queue_qsize_unreliable.produce_work)
        }
        ("process-pool-map", "processes") => tr!(locale, knob.process_pool_map.processes),
        ("process-pool-map", "items") => tr!(locale, knob.process_pool_map.items),
        ("process-pool-map", "chunksize") => tr!(locale, knob.process_pool_map.chunksize),
        ("process-pool-map", "work") => tr!(locale, knob.process_pool_map.work),
        ("apply-async", "processes") => tr!(locale, knob.apply_async.processes),
        ("apply-async", "items") => tr!(locale, knob.apply_async.items),
        ("apply-async", "work") => tr!(locale, knob.apply_async.work),
        ("queue-vs-shared-memory", "items") => {
            tr!(locale, knob.queue_vs_shared_memory.items)
        }
        ("queue-vs-shared-memory", "message_bytes") => {
            tr!(locale, knob.queue_vs_shared_memory.message_bytes)
        }
        ("queue-vs-shared-memory", "pairs") => tr!(locale, knob.queue_vs_shared_memory.pairs),
        ("return-values", "processes") => tr!(locale, knob.return_values.processes),
        ("return-values", "items") => tr!(locale, knob.return_values.items),
        ("return-values", "shared") => tr!(locale, knob.return_values.shared),
        _ => return None,
    })
}

/// The comments of the lesson's Python template, in order (a knob's place as `{knob}`); none
/// for a lesson the catalogue does not know.
pub fn comments(locale: Locale, lesson: &str) -> Vec<&'static str> {
    match lesson {
        "cpu-threads" => vec![
            tr!(locale, comment.cpu_threads.c1),
            tr!(locale, comment.cpu_threads.c2),
            tr!(locale, comment.cpu_threads.c3),
            tr!(locale, comment.cpu_threads.c4),
        ],
        "io-threads" => vec![
            tr!(locale, comment.io_threads.c1),
            tr!(locale, comment.io_threads.c2),
            tr!(locale, comment.io_threads.c3),
        ],
        "join" => vec![
            tr!(locale, comment.join.c1),
            tr!(locale, comment.join.c2),
            tr!(locale, comment.join.c3),
        ],
        "counter-race" => vec![
            tr!(locale, comment.counter_race.c1),
            tr!(locale, comment.counter_race.c2),
            tr!(locale, comment.counter_race.c3),
            tr!(locale, comment.counter_race.c4),
            tr!(locale, comment.counter_race.c5),
        ],
        "thread-pool-map" => vec![
            tr!(locale, comment.thread_pool_map.c1),
            tr!(locale, comment.thread_pool_map.c2),
            tr!(locale, comment.thread_pool_map.c3),
            tr!(locale, comment.thread_pool_map.c4),
        ],
        "convoy-effect" => vec![
            tr!(locale, comment.convoy_effect.c1),
            tr!(locale, comment.convoy_effect.c2),
            tr!(locale, comment.convoy_effect.c3),
            tr!(locale, comment.convoy_effect.c4),
        ],
        "gil-flavours" => vec![
            tr!(locale, comment.gil_flavours.c1),
            tr!(locale, comment.gil_flavours.c2),
            tr!(locale, comment.gil_flavours.c3),
            tr!(locale, comment.gil_flavours.c4),
        ],
        "cpu-processes" => vec![
            tr!(locale, comment.cpu_processes.c1),
            tr!(locale, comment.cpu_processes.c2),
        ],
        "shared-value" => vec![
            tr!(locale, comment.shared_value.c1),
            tr!(locale, comment.shared_value.c2),
            tr!(locale, comment.shared_value.c3),
            tr!(locale, comment.shared_value.c4),
        ],
        "queue-producer-consumer" => vec![
            tr!(locale, comment.queue_producer_consumer.c1),
            tr!(locale, comment.queue_producer_consumer.c2),
            tr!(locale, comment.queue_producer_consumer.c3),
            tr!(locale, comment.queue_producer_consumer.c4),
            tr!(locale, comment.queue_producer_consumer.c5),
        ],
        "queue-qsize-unreliable" => vec![
            tr!(locale, comment.queue_qsize_unreliable.c1),
            tr!(locale, comment.queue_qsize_unreliable.c2),
            tr!(locale, comment.queue_qsize_unreliable.c3),
            tr!(locale, comment.queue_qsize_unreliable.c4),
            tr!(locale, comment.queue_qsize_unreliable.c5),
            tr!(locale, comment.queue_qsize_unreliable.c6),
            tr!(locale, comment.queue_qsize_unreliable.c7),
        ],
        "process-pool-map" => vec![
            tr!(locale, comment.process_pool_map.c1),
            tr!(locale, comment.process_pool_map.c2),
            tr!(locale, comment.process_pool_map.c3),
            tr!(locale, comment.process_pool_map.c4),
        ],
        "apply-async" => vec![
            tr!(locale, comment.apply_async.c1),
            tr!(locale, comment.apply_async.c2),
            tr!(locale, comment.apply_async.c3),
        ],
        "queue-vs-shared-memory" => vec![
            tr!(locale, comment.queue_vs_shared_memory.c1),
            tr!(locale, comment.queue_vs_shared_memory.c2),
            tr!(locale, comment.queue_vs_shared_memory.c3),
            tr!(locale, comment.queue_vs_shared_memory.c4),
            tr!(locale, comment.queue_vs_shared_memory.c5),
            tr!(locale, comment.queue_vs_shared_memory.c6),
            tr!(locale, comment.queue_vs_shared_memory.c7),
            tr!(locale, comment.queue_vs_shared_memory.c8),
            tr!(locale, comment.queue_vs_shared_memory.c9),
            tr!(locale, comment.queue_vs_shared_memory.c10),
        ],
        "return-values" => vec![
            tr!(locale, comment.return_values.c1),
            tr!(locale, comment.return_values.c2),
            tr!(locale, comment.return_values.c3),
            tr!(locale, comment.return_values.c4),
        ],
        _ => Vec::new(),
    }
}
