//! The views, one file per view. Each is a function of what it shows and its
//! own view state, and returns what the person asked for as
//! [`Intent`](crate::intent::Intent)s; none of them knows the app.

pub mod bubble;
pub mod composer;
pub mod connect;
pub mod gallery;
pub mod language;
pub mod send_sheet;
pub mod status;
pub mod tabs;
pub mod timeline;
pub mod viewer;

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
            ui.label("× ⬅ ➡ − + … 1600×1000 · Zoom: 37% (fit) ☑");
            // Every character of every language's words (é, ñ, ¿, «»…), but
            // the browser page's own (`web-…`), which the browser's fonts draw.
            for ftl in [crate::i18n::EN_FTL, crate::i18n::ES_FTL] {
                for line in ftl.lines().filter(|l| !l.starts_with("web-")) {
                    ui.label(line);
                }
            }
        });
        output.textures_delta.clear();
    }
}
