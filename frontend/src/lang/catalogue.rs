//! Lesson texts by name: the catalogue's claims, descriptions, knob help and the comments of
//! the lessons' Python in the chosen language, from `lesson.<lesson>`, `knob.<lesson>.<knob>`
//! and `comment.<lesson>.c<k>` of frontend/locales/. One arm per entry (leptos_i18n's keys
//! are names in code, not strings).

use super::i18n::{td_string, Locale};

/// The lesson's claim and description; `None` for a name the catalogue does not know.
pub fn lesson(locale: Locale, name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "cpu-threads" => (
            td_string!(locale, lesson.cpu_threads.claim),
            td_string!(locale, lesson.cpu_threads.description),
        ),
        "io-threads" => (
            td_string!(locale, lesson.io_threads.claim),
            td_string!(locale, lesson.io_threads.description),
        ),
        "join" => (
            td_string!(locale, lesson.join.claim),
            td_string!(locale, lesson.join.description),
        ),
        "counter-race" => (
            td_string!(locale, lesson.counter_race.claim),
            td_string!(locale, lesson.counter_race.description),
        ),
        "thread-pool-map" => (
            td_string!(locale, lesson.thread_pool_map.claim),
            td_string!(locale, lesson.thread_pool_map.description),
        ),
        "convoy-effect" => (
            td_string!(locale, lesson.convoy_effect.claim),
            td_string!(locale, lesson.convoy_effect.description),
        ),
        "gil-flavours" => (
            td_string!(locale, lesson.gil_flavours.claim),
            td_string!(locale, lesson.gil_flavours.description),
        ),
        "cpu-processes" => (
            td_string!(locale, lesson.cpu_processes.claim),
            td_string!(locale, lesson.cpu_processes.description),
        ),
        "shared-value" => (
            td_string!(locale, lesson.shared_value.claim),
            td_string!(locale, lesson.shared_value.description),
        ),
        "queue-producer-consumer" => (
            td_string!(locale, lesson.queue_producer_consumer.claim),
            td_string!(locale, lesson.queue_producer_consumer.description),
        ),
        "queue-qsize-unreliable" => (
            td_string!(locale, lesson.queue_qsize_unreliable.claim),
            td_string!(locale, lesson.queue_qsize_unreliable.description),
        ),
        "process-pool-map" => (
            td_string!(locale, lesson.process_pool_map.claim),
            td_string!(locale, lesson.process_pool_map.description),
        ),
        "apply-async" => (
            td_string!(locale, lesson.apply_async.claim),
            td_string!(locale, lesson.apply_async.description),
        ),
        "queue-vs-shared-memory" => (
            td_string!(locale, lesson.queue_vs_shared_memory.claim),
            td_string!(locale, lesson.queue_vs_shared_memory.description),
        ),
        "return-values" => (
            td_string!(locale, lesson.return_values.claim),
            td_string!(locale, lesson.return_values.description),
        ),
        _ => return None,
    })
}

/// A knob's help in one lesson; `None` for one the catalogue does not know.
pub fn knob(locale: Locale, lesson: &str, knob: &str) -> Option<&'static str> {
    Some(match (lesson, knob) {
        ("cpu-threads", "threads") => td_string!(locale, knob.cpu_threads.threads),
        ("cpu-threads", "work") => td_string!(locale, knob.cpu_threads.work),
        ("cpu-threads", "gil") => td_string!(locale, knob.cpu_threads.gil),
        ("cpu-threads", "switch_interval_ms") => {
            td_string!(locale, knob.cpu_threads.switch_interval_ms)
        }
        ("cpu-threads", "check_ticks") => td_string!(locale, knob.cpu_threads.check_ticks),
        ("io-threads", "threads") => td_string!(locale, knob.io_threads.threads),
        ("io-threads", "tasks") => td_string!(locale, knob.io_threads.tasks),
        ("io-threads", "io_ms") => td_string!(locale, knob.io_threads.io_ms),
        ("io-threads", "work") => td_string!(locale, knob.io_threads.work),
        ("join", "threads") => td_string!(locale, knob.join.threads),
        ("join", "io_ms") => td_string!(locale, knob.join.io_ms),
        ("join", "work") => td_string!(locale, knob.join.work),
        ("counter-race", "threads") => td_string!(locale, knob.counter_race.threads),
        ("counter-race", "increments") => td_string!(locale, knob.counter_race.increments),
        ("counter-race", "form") => td_string!(locale, knob.counter_race.form),
        ("counter-race", "lock") => td_string!(locale, knob.counter_race.lock),
        ("counter-race", "check_every_bytecode") => {
            td_string!(locale, knob.counter_race.check_every_bytecode)
        }
        ("counter-race", "switch_interval_ms") => {
            td_string!(locale, knob.counter_race.switch_interval_ms)
        }
        ("counter-race", "gil") => td_string!(locale, knob.counter_race.gil),
        ("thread-pool-map", "pool_size") => td_string!(locale, knob.thread_pool_map.pool_size),
        ("thread-pool-map", "tasks") => td_string!(locale, knob.thread_pool_map.tasks),
        ("thread-pool-map", "work") => td_string!(locale, knob.thread_pool_map.work),
        ("thread-pool-map", "io_ms") => td_string!(locale, knob.thread_pool_map.io_ms),
        ("thread-pool-map", "api") => td_string!(locale, knob.thread_pool_map.api),
        ("convoy-effect", "work") => td_string!(locale, knob.convoy_effect.work),
        ("convoy-effect", "switch_interval_ms") => {
            td_string!(locale, knob.convoy_effect.switch_interval_ms)
        }
        ("convoy-effect", "gil") => td_string!(locale, knob.convoy_effect.gil),
        ("gil-flavours", "gil") => td_string!(locale, knob.gil_flavours.gil),
        ("gil-flavours", "threads") => td_string!(locale, knob.gil_flavours.threads),
        ("gil-flavours", "work") => td_string!(locale, knob.gil_flavours.work),
        ("gil-flavours", "io_ms") => td_string!(locale, knob.gil_flavours.io_ms),
        ("gil-flavours", "switch_interval_ms") => {
            td_string!(locale, knob.gil_flavours.switch_interval_ms)
        }
        ("gil-flavours", "check_ticks") => td_string!(locale, knob.gil_flavours.check_ticks),
        ("cpu-processes", "processes") => td_string!(locale, knob.cpu_processes.processes),
        ("cpu-processes", "work") => td_string!(locale, knob.cpu_processes.work),
        ("cpu-processes", "start_method") => td_string!(locale, knob.cpu_processes.start_method),
        ("shared-value", "processes") => td_string!(locale, knob.shared_value.processes),
        ("shared-value", "increments") => td_string!(locale, knob.shared_value.increments),
        ("shared-value", "lock") => td_string!(locale, knob.shared_value.lock),
        ("queue-producer-consumer", "producers") => {
            td_string!(locale, knob.queue_producer_consumer.producers)
        }
        ("queue-producer-consumer", "consumers") => {
            td_string!(locale, knob.queue_producer_consumer.consumers)
        }
        ("queue-producer-consumer", "items") => {
            td_string!(locale, knob.queue_producer_consumer.items)
        }
        ("queue-producer-consumer", "capacity") => {
            td_string!(locale, knob.queue_producer_consumer.capacity)
        }
        ("queue-producer-consumer", "produce_work") => {
            td_string!(locale, knob.queue_producer_consumer.produce_work)
        }
        ("queue-producer-consumer", "consume_work") => {
            td_string!(locale, knob.queue_producer_consumer.consume_work)
        }
        ("queue-qsize-unreliable", "items") => {
            td_string!(locale, knob.queue_qsize_unreliable.items)
        }
        ("queue-qsize-unreliable", "capacity") => {
            td_string!(locale, knob.queue_qsize_unreliable.capacity)
        }
        ("queue-qsize-unreliable", "produce_work") => {
            td_string!(locale, knob.queue_qsize_unreliable.produce_work)
        }
        ("process-pool-map", "processes") => td_string!(locale, knob.process_pool_map.processes),
        ("process-pool-map", "items") => td_string!(locale, knob.process_pool_map.items),
        ("process-pool-map", "chunksize") => td_string!(locale, knob.process_pool_map.chunksize),
        ("process-pool-map", "work") => td_string!(locale, knob.process_pool_map.work),
        ("apply-async", "processes") => td_string!(locale, knob.apply_async.processes),
        ("apply-async", "items") => td_string!(locale, knob.apply_async.items),
        ("apply-async", "work") => td_string!(locale, knob.apply_async.work),
        ("queue-vs-shared-memory", "items") => {
            td_string!(locale, knob.queue_vs_shared_memory.items)
        }
        ("queue-vs-shared-memory", "message_bytes") => {
            td_string!(locale, knob.queue_vs_shared_memory.message_bytes)
        }
        ("return-values", "processes") => td_string!(locale, knob.return_values.processes),
        ("return-values", "items") => td_string!(locale, knob.return_values.items),
        ("return-values", "shared") => td_string!(locale, knob.return_values.shared),
        _ => return None,
    })
}

/// The comments of the lesson's Python template, in order (a knob's place as `{knob}`); none
/// for a lesson the catalogue does not know.
pub fn comments(locale: Locale, lesson: &str) -> Vec<&'static str> {
    match lesson {
        "cpu-threads" => vec![
            td_string!(locale, comment.cpu_threads.c1),
            td_string!(locale, comment.cpu_threads.c2),
            td_string!(locale, comment.cpu_threads.c3),
            td_string!(locale, comment.cpu_threads.c4),
        ],
        "io-threads" => vec![
            td_string!(locale, comment.io_threads.c1),
            td_string!(locale, comment.io_threads.c2),
            td_string!(locale, comment.io_threads.c3),
        ],
        "join" => vec![
            td_string!(locale, comment.join.c1),
            td_string!(locale, comment.join.c2),
            td_string!(locale, comment.join.c3),
        ],
        "counter-race" => vec![
            td_string!(locale, comment.counter_race.c1),
            td_string!(locale, comment.counter_race.c2),
            td_string!(locale, comment.counter_race.c3),
            td_string!(locale, comment.counter_race.c4),
            td_string!(locale, comment.counter_race.c5),
        ],
        "thread-pool-map" => vec![
            td_string!(locale, comment.thread_pool_map.c1),
            td_string!(locale, comment.thread_pool_map.c2),
            td_string!(locale, comment.thread_pool_map.c3),
            td_string!(locale, comment.thread_pool_map.c4),
        ],
        "convoy-effect" => vec![
            td_string!(locale, comment.convoy_effect.c1),
            td_string!(locale, comment.convoy_effect.c2),
            td_string!(locale, comment.convoy_effect.c3),
            td_string!(locale, comment.convoy_effect.c4),
        ],
        "gil-flavours" => vec![
            td_string!(locale, comment.gil_flavours.c1),
            td_string!(locale, comment.gil_flavours.c2),
            td_string!(locale, comment.gil_flavours.c3),
            td_string!(locale, comment.gil_flavours.c4),
        ],
        "cpu-processes" => vec![
            td_string!(locale, comment.cpu_processes.c1),
            td_string!(locale, comment.cpu_processes.c2),
        ],
        "shared-value" => vec![
            td_string!(locale, comment.shared_value.c1),
            td_string!(locale, comment.shared_value.c2),
            td_string!(locale, comment.shared_value.c3),
            td_string!(locale, comment.shared_value.c4),
        ],
        "queue-producer-consumer" => vec![
            td_string!(locale, comment.queue_producer_consumer.c1),
            td_string!(locale, comment.queue_producer_consumer.c2),
            td_string!(locale, comment.queue_producer_consumer.c3),
            td_string!(locale, comment.queue_producer_consumer.c4),
            td_string!(locale, comment.queue_producer_consumer.c5),
        ],
        "queue-qsize-unreliable" => vec![
            td_string!(locale, comment.queue_qsize_unreliable.c1),
            td_string!(locale, comment.queue_qsize_unreliable.c2),
            td_string!(locale, comment.queue_qsize_unreliable.c3),
            td_string!(locale, comment.queue_qsize_unreliable.c4),
        ],
        "process-pool-map" => vec![
            td_string!(locale, comment.process_pool_map.c1),
            td_string!(locale, comment.process_pool_map.c2),
            td_string!(locale, comment.process_pool_map.c3),
            td_string!(locale, comment.process_pool_map.c4),
        ],
        "apply-async" => vec![
            td_string!(locale, comment.apply_async.c1),
            td_string!(locale, comment.apply_async.c2),
            td_string!(locale, comment.apply_async.c3),
        ],
        "queue-vs-shared-memory" => vec![
            td_string!(locale, comment.queue_vs_shared_memory.c1),
            td_string!(locale, comment.queue_vs_shared_memory.c2),
            td_string!(locale, comment.queue_vs_shared_memory.c3),
            td_string!(locale, comment.queue_vs_shared_memory.c4),
            td_string!(locale, comment.queue_vs_shared_memory.c5),
            td_string!(locale, comment.queue_vs_shared_memory.c6),
            td_string!(locale, comment.queue_vs_shared_memory.c7),
            td_string!(locale, comment.queue_vs_shared_memory.c8),
        ],
        "return-values" => vec![
            td_string!(locale, comment.return_values.c1),
            td_string!(locale, comment.return_values.c2),
            td_string!(locale, comment.return_values.c3),
            td_string!(locale, comment.return_values.c4),
        ],
        _ => Vec::new(),
    }
}
