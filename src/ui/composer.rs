//! The composer: "Send images…", the text box (Enter sends, Shift+Enter adds a
//! line), and the overlay shown while files are dragged over the window.

use egui::{Key, Modifiers, RichText};

use crate::app::SnapwireApp;

pub const TEXT_BOX_ID: &str = "composer-text";

pub fn show(ui: &mut egui::Ui, app: &mut SnapwireApp) {
    egui::Panel::bottom("composer").show(ui, |ui| {
        ui.add_space(6.0);
        if let Some(hint) = &app.room.hint {
            ui.label(RichText::new(hint).italics());
        }
        let id = egui::Id::unique(TEXT_BOX_ID);
        // Enter without modifiers sends; Shift+Enter reaches the text box as a newline.
        let focused = ui.memory(|m| m.has_focus(id));
        // (`consume_key` would also match Shift+Enter: it ignores Shift.)
        let enter = focused
            && ui.input_mut(|i| {
                let before = i.events.len();
                i.events.retain(|e| {
                    !matches!(e, egui::Event::Key { key: Key::Enter, pressed: true, modifiers, .. }
                        if *modifiers == Modifiers::NONE)
                });
                before != i.events.len()
            });
        ui.horizontal(|ui| {
            let label = if app.picking() { "Choosing…" } else { "Send images…" };
            if ui
                .add_enabled(!app.picking(), egui::Button::new(label))
                .on_hover_text("PNG, JPEG, GIF, WebP or BMP. You can also drop files here or paste with Ctrl+V.")
                .clicked()
            {
                app.pick_files();
            }
            let send_width = 60.0;
            let edit = egui::TextEdit::multiline(&mut app.room.composer)
                .id(id)
                .hint_text("Write a message — Enter sends, Shift+Enter for a new line")
                .desired_rows(1)
                .desired_width(ui.available_width() - send_width - 8.0);
            ui.add(edit);
            if ui.add_sized([send_width, 24.0], egui::Button::new("Send")).clicked() || enter {
                app.send_text();
                ui.memory_mut(|m| m.request_focus(id));
            }
        });
        ui.add_space(6.0);
    });
}

/// Dims the window and says what dropping does, while files hover over it.
pub fn drop_overlay(ui: &mut egui::Ui) {
    let hovering = ui.input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let rect = ui.ctx().content_rect();
    let painter = ui.ctx().layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop"),
    ));
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(170));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop images to send them",
        egui::FontId::proportional(26.0),
        egui::Color32::WHITE,
    );
}
