//! Counters for `GET /metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::protocol::ErrorCode;

/// Relay-wide counters. Updated with relaxed atomics: exact totals, no ordering needed.
#[derive(Debug, Default)]
pub struct Metrics {
    pub connections_accepted: AtomicU64,
    pub connections_rejected: AtomicU64,
    pub texts_completed: AtomicU64,
    pub images_completed: AtomicU64,
    pub image_bytes_received: AtomicU64,
    pub messages_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub lagging: AtomicU64,
    pub slow_consumer_disconnects: AtomicU64,
    /// TCP connections refused by the per-host limits (`guard.rs`).
    pub host_refusals: AtomicU64,
    /// Browser upgrades refused for their `Origin`.
    pub origin_refusals: AtomicU64,
    /// Uploads cancelled after receiving nothing for `upload_timeout`.
    pub uploads_timed_out: AtomicU64,
    /// Items pruned to keep all rooms within `max_history_bytes`.
    pub budget_prunes: AtomicU64,
    errors: [AtomicU64; ErrorCode::ALL.len()],
}

/// Values that are read from live state when the page is rendered.
#[derive(Debug, Clone, Copy)]
pub struct Gauges {
    pub connections: usize,
    pub rooms: usize,
    /// Bytes waiting in all outboxes (bounded by connections × the outbox bound).
    pub queued_bytes: usize,
    /// The relay-wide memory budget, what is charged to it now, the most ever.
    pub memory_budget: usize,
    pub memory_used: usize,
    pub memory_peak: usize,
    /// Requests that found the budget full.
    pub memory_reached: u64,
    /// Control messages charged past the limit.
    pub memory_forced: u64,
    /// Image reads from retention (catch-up and replay; shared reads count once).
    pub retention_reads: u64,
    /// Retained items found damaged (SHA-256 mismatch) on read-back.
    pub damaged_items: u64,
}

impl Metrics {
    pub fn error(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    pub fn errors_of(&self, code: ErrorCode) -> u64 {
        ErrorCode::ALL
            .iter()
            .position(|c| *c == code)
            .map_or(0, |i| self.errors[i].load(Relaxed))
    }

    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(4096);
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "snapwire_connections",
            "gauge",
            "Connections past hello.",
            gauges.connections as u64,
        );
        metric(
            "snapwire_rooms",
            "gauge",
            "Rooms with at least one connection.",
            gauges.rooms as u64,
        );
        metric(
            "snapwire_queued_bytes",
            "gauge",
            "Bytes waiting in connections' outbound queues.",
            gauges.queued_bytes as u64,
        );
        metric(
            "snapwire_memory_budget_bytes",
            "gauge",
            "The relay-wide memory budget for what is held for connections.",
            gauges.memory_budget as u64,
        );
        metric(
            "snapwire_memory_used_bytes",
            "gauge",
            "Bytes charged to the memory budget now.",
            gauges.memory_used as u64,
        );
        metric(
            "snapwire_memory_peak_bytes",
            "gauge",
            "The most ever charged to the memory budget at once.",
            gauges.memory_peak as u64,
        );
        metric(
            "snapwire_memory_budget_reached_total",
            "counter",
            "Times a read, upload or feeder waited because the memory budget was full.",
            gauges.memory_reached,
        );
        metric(
            "snapwire_memory_forced_total",
            "counter",
            "Control messages charged past the memory budget (its reserve was used up).",
            gauges.memory_forced,
        );
        metric(
            "snapwire_retention_reads_total",
            "counter",
            "Image chunk reads from retention (shared catch-up reads count once).",
            gauges.retention_reads,
        );
        metric(
            "snapwire_damaged_items_total",
            "counter",
            "Retained images whose bytes no longer matched their SHA-256 on read-back.",
            gauges.damaged_items,
        );
        let counters = [
            (
                "snapwire_connections_accepted_total",
                "WebSocket connections accepted.",
                &self.connections_accepted,
            ),
            (
                "snapwire_connections_rejected_total",
                "Connections refused at the connection limit.",
                &self.connections_rejected,
            ),
            (
                "snapwire_texts_total",
                "Text items completed.",
                &self.texts_completed,
            ),
            (
                "snapwire_images_total",
                "Images completed.",
                &self.images_completed,
            ),
            (
                "snapwire_image_bytes_received_total",
                "Image bytes received from senders.",
                &self.image_bytes_received,
            ),
            (
                "snapwire_messages_sent_total",
                "Protocol messages written to sockets.",
                &self.messages_sent,
            ),
            (
                "snapwire_bytes_sent_total",
                "Bytes of protocol messages written to sockets.",
                &self.bytes_sent,
            ),
            (
                "snapwire_lagging_total",
                "Times a receiver's queue was full and it was fed from retention.",
                &self.lagging,
            ),
            (
                "snapwire_slow_consumer_disconnects_total",
                "Connections closed as slow_consumer.",
                &self.slow_consumer_disconnects,
            ),
            (
                "snapwire_host_refusals_total",
                "Connections refused by the per-host limits.",
                &self.host_refusals,
            ),
            (
                "snapwire_origin_refusals_total",
                "Browser upgrades refused for their Origin.",
                &self.origin_refusals,
            ),
            (
                "snapwire_uploads_timed_out_total",
                "Uploads cancelled after making no progress.",
                &self.uploads_timed_out,
            ),
            (
                "snapwire_budget_prunes_total",
                "Items pruned to keep all rooms within the history budget.",
                &self.budget_prunes,
            ),
        ];
        for (name, help, counter) in counters {
            metric(name, "counter", help, counter.load(Relaxed));
        }
        let name = "snapwire_errors_total";
        let _ = writeln!(
            out,
            "# HELP {name} Error messages sent, by code.\n# TYPE {name} counter"
        );
        for (code, counter) in ErrorCode::ALL.iter().zip(&self.errors) {
            let _ = writeln!(out, "{name}{{code=\"{code}\"}} {}", counter.load(Relaxed));
        }
        out
    }
}

/// The rooms and history gauges (`rooms.rs`, `store/budget.rs`), appended to the page.
pub fn render_history(
    loaded_rooms: usize,
    existing_rooms: usize,
    history_bytes: u64,
    history_ram_bytes: u64,
) -> String {
    let mut out = String::new();
    for (name, help, value) in [
        (
            "snapwire_rooms_loaded",
            "Rooms held in RAM (with members, or in use).",
            loaded_rooms as u64,
        ),
        (
            "snapwire_rooms_existing",
            "Rooms that exist, on disk or in memory, loaded or not.",
            existing_rooms as u64,
        ),
        (
            "snapwire_history_bytes",
            "Bytes of history of all rooms, uploads in progress included.",
            history_bytes,
        ),
        (
            "snapwire_history_ram_bytes",
            "Bytes the loaded rooms hold in RAM: items, texts, previews (0 once all are unloaded).",
            history_ram_bytes,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_errors_by_code() {
        let metrics = Metrics::default();
        metrics.error(ErrorCode::BadHash);
        metrics.error(ErrorCode::BadHash);
        metrics.texts_completed.fetch_add(3, Relaxed);
        let text = metrics.render(Gauges {
            connections: 5,
            rooms: 2,
            queued_bytes: 9,
            memory_budget: 64,
            memory_used: 3,
            memory_peak: 7,
            memory_reached: 1,
            memory_forced: 0,
            retention_reads: 4,
            damaged_items: 0,
        });
        assert!(text.contains("snapwire_memory_budget_bytes 64\n"));
        assert!(text.contains("snapwire_memory_peak_bytes 7\n"));
        assert!(text.contains("snapwire_memory_budget_reached_total 1\n"));
        assert!(
            text.contains("snapwire_errors_total{code=\"bad_hash\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("snapwire_errors_total{code=\"bad_frame\"} 0\n"));
        assert!(text.contains("snapwire_texts_total 3\n"));
        assert!(text.contains("snapwire_connections 5\n"));
        assert!(text.contains("snapwire_queued_bytes 9\n"));
        assert!(text.contains("snapwire_queued_bytes 9\n"));
        assert!(text.contains("# TYPE snapwire_rooms gauge\nsnapwire_rooms 2\n"));
        assert_eq!(metrics.errors_of(ErrorCode::BadHash), 2);
    }
}
