//! The row under the status line: Timeline | Gallery, and what saving or
//! copying is doing (the viewer shows the same line in its bottom bar).

use egui::RichText;

use crate::intent::Intent;
use crate::keep::Activity;
use crate::look::ERROR_COLOR;

/// `images`: how many the gallery holds.
pub fn show(
    ui: &mut egui::Ui,
    show_gallery: bool,
    images: usize,
    activity: &Activity,
) -> Vec<Intent> {
    let mut intents = Vec::new();
    egui::Panel::top("keep-tabs").show(ui, |ui| {
        ui.add_space(2.0);
        ui.horizontal(|ui| {
            if ui.selectable_label(!show_gallery, "Timeline").clicked() {
                intents.push(Intent::ShowGallery(false));
            }
            if ui
                .selectable_label(show_gallery, format!("Gallery ({images})"))
                .on_hover_text("All images of the room in a grid")
                .clicked()
            {
                intents.push(Intent::ShowGallery(true));
            }
            if *activity != Activity::Idle {
                ui.separator();
                intents.extend(activity_line(ui, activity));
            }
        });
        ui.add_space(2.0);
    });
    intents
}

/// Saving progress or the latest notice, on one line.
pub fn activity_line(ui: &mut egui::Ui, activity: &Activity) -> Vec<Intent> {
    let mut intents = Vec::new();
    match activity {
        Activity::Idle => {}
        Activity::Choosing => {
            ui.label(RichText::new("Choosing where to save…").weak());
        }
        Activity::Saving { done, total } => {
            let fraction = if *total == 0 {
                0.0
            } else {
                *done as f32 / *total as f32
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(200.0)
                    .text(format!("Saving {done} of {total}…")),
            );
            if *total > 1 && ui.small_button("Stop").clicked() {
                intents.push(Intent::StopSaving);
            }
        }
        Activity::Said(notice) => {
            let text = RichText::new(&notice.text);
            let text = if notice.error {
                text.color(ERROR_COLOR)
            } else {
                text
            };
            ui.add(egui::Label::new(text).truncate())
                .on_hover_text(&notice.text);
            if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                intents.push(Intent::DismissNotice);
            }
        }
    }
    intents
}
