//! How things look and read in every view: the shared colours, a stable
//! colour per person, times and sizes in words. A leaf: it imports nothing of
//! the app, so every view and the app may use it. (Without the `gui` feature,
//! only the words: the network worker says sizes in them.)

use std::fmt::Write;

use chrono::TimeZone;
#[cfg(feature = "gui")]
use egui::Color32;

#[cfg(feature = "gui")]
/// Errors, failed items, "Disconnected".
pub const ERROR_COLOR: Color32 = Color32::from_rgb(235, 90, 80);
#[cfg(feature = "gui")]
/// "Connected".
pub const OK_COLOR: Color32 = Color32::from_rgb(90, 200, 120);
#[cfg(feature = "gui")]
/// Connecting, reconnecting, waiting to send.
pub const WAIT_COLOR: Color32 = Color32::from_rgb(230, 180, 60);

#[cfg(feature = "gui")]
/// Name colors: distinct hues that read well on the dark and the light theme.
const PALETTE: [Color32; 10] = [
    Color32::from_rgb(240, 120, 100),
    Color32::from_rgb(110, 180, 250),
    Color32::from_rgb(130, 210, 120),
    Color32::from_rgb(230, 190, 80),
    Color32::from_rgb(200, 140, 240),
    Color32::from_rgb(90, 210, 200),
    Color32::from_rgb(250, 150, 200),
    Color32::from_rgb(170, 200, 90),
    Color32::from_rgb(150, 160, 255),
    Color32::from_rgb(240, 160, 90),
];

#[cfg(feature = "gui")]
/// A stable color per user id (same id, same color, in every window).
pub fn user_color(id: &str) -> Color32 {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    PALETTE[(hash % PALETTE.len() as u32) as usize]
}

/// Relay time (Unix ms) as local "14:05", with the date when not today.
pub fn format_time(ts_ms: u64) -> String {
    let Ok(ms) = i64::try_from(ts_ms) else {
        return String::new();
    };
    match chrono::Local.timestamp_millis_opt(ms).single() {
        Some(t) if t.date_naive() == chrono::Local::now().date_naive() => {
            t.format("%H:%M").to_string()
        }
        Some(t) => {
            // The pattern comes from the catalogue; a bad one must not panic.
            let pattern = crate::t!("time-with-date");
            let mut out = String::new();
            match write!(out, "{}", t.format(&pattern)) {
                Ok(()) => out,
                Err(_) => t.format("%Y-%m-%d %H:%M").to_string(),
            }
        }
        None => String::new(),
    }
}

/// Sizes in words, in binary units as file managers show them: "812 KB", "10.5 MB".
pub fn human_size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.0} KB", b / K)
    } else if b < K * K * K {
        format!("{:.1} MB", b / (K * K))
    } else {
        format!("{:.1} GB", b / (K * K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "gui")]
    #[test]
    fn colors_are_stable_and_differ() {
        assert_eq!(user_color("3f9a1c0b7d2e"), user_color("3f9a1c0b7d2e"));
        let distinct: std::collections::HashSet<_> =
            (0..100).map(|n| user_color(&format!("{n:012x}"))).collect();
        assert_eq!(distinct.len(), PALETTE.len(), "ids spread over the palette");
    }

    #[test]
    fn times_format() {
        assert!(!format_time(1_764_100_000_123).is_empty());
        assert_eq!(format_time(u64::MAX), "");
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(10 * 1024 * 1024 + 512 * 1024), "10.5 MB");
    }
}
