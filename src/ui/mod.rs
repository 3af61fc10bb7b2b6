//! One file per view; helpers they share.

pub mod composer;
pub mod connect;
pub mod gallery;
pub mod send_sheet;
pub mod status;
pub mod timeline;
pub mod viewer;

use chrono::TimeZone;

/// Name colors: distinct hues that read well on the dark and the light theme.
const PALETTE: [egui::Color32; 10] = [
    egui::Color32::from_rgb(240, 120, 100),
    egui::Color32::from_rgb(110, 180, 250),
    egui::Color32::from_rgb(130, 210, 120),
    egui::Color32::from_rgb(230, 190, 80),
    egui::Color32::from_rgb(200, 140, 240),
    egui::Color32::from_rgb(90, 210, 200),
    egui::Color32::from_rgb(250, 150, 200),
    egui::Color32::from_rgb(170, 200, 90),
    egui::Color32::from_rgb(150, 160, 255),
    egui::Color32::from_rgb(240, 160, 90),
];

/// A stable color per user id (same id, same color, in every window).
pub fn user_color(id: &str) -> egui::Color32 {
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
        Some(t) => t.format("%b %e, %H:%M").to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

#[cfg(test)]
mod glyph_tests {
    /// Every symbol our own strings use must be in the bundled fonts: on a
    /// machine without system fonts a missing one would draw as a box (and
    /// panic under the test harness).
    #[test]
    fn symbols_we_use_are_in_the_bundled_fonts() {
        let ctx = egui::Context::default();
        ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Panic);
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            ui.label("✔ sent · seen by — “Send images…” ⬇ × ≈");
        });
        output.textures_delta.clear();
    }
}
