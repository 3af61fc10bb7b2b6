//! The row under the status line: Timeline | Gallery, and what saving or
//! copying is doing (the viewer shows the same line in its bottom bar).

use egui::RichText;

use crate::intent::Intent;
use crate::keep::Activity;
use crate::look::ERROR_COLOR;
use crate::t;

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
            if ui
                .selectable_label(!show_gallery, t!("tabs-timeline"))
                .clicked()
            {
                intents.push(Intent::ShowGallery(false));
            }
            if ui
                .selectable_label(show_gallery, t!("tabs-gallery", count = images))
                .on_hover_text(t!("tabs-gallery-hint"))
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
            ui.label(RichText::new(t!("tabs-choosing-where")).weak());
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
                    .text(t!("tabs-saving", done = *done, total = *total)),
            );
            if *total > 1 && ui.small_button(t!("tabs-stop")).clicked() {
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
            if ui.small_button("×").on_hover_text(t!("dismiss")).clicked() {
                intents.push(Intent::DismissNotice);
            }
        }
    }
    intents
}
